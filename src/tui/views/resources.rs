//! The per-resource table, shared by the dashboard (a running or the last
//! sync) and the job details (with each resource's message). Resources are
//! named for people with their kind in its own column; the counts say what
//! they are (`synced`, `skipped`, `rejected`, a deletion pass's `checked` and
//! `deleted`); the percent is processed / total, as everywhere.

use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Table;

use super::columns::{self, Column};
use super::widgets::{count, inert, rate, ratio};
use crate::store::queue::{ResourceProgress, ResourceStatus};
use crate::tui::names::resource_name;
use crate::tui::theme::Theme;

/// The objects a resource has: its total, or what it moved when the total
/// was not known.
fn total_of(r: &ResourceProgress) -> u64 {
    r.total.max(r.processed)
}

/// Done as a ratio: processed / total (a finished resource is whole).
pub fn done_ratio(r: &ResourceProgress) -> f64 {
    if r.status == ResourceStatus::Done {
        1.0
    } else {
        ratio(r.processed, total_of(r))
    }
}

/// What the counts of a resource mean, in words:
/// `8,197 synced · 3 rejected`, `checked 7,993 · 1 deleted`.
pub fn result_words(theme: &Theme, r: &ResourceProgress) -> String {
    if r.status == ResourceStatus::Pending {
        return String::new();
    }
    let mut parts = Vec::new();
    if resource_name(&r.resource, &r.label).deletions {
        parts.push(format!("checked {}", count(r.processed)));
        parts.push(format!("{} deleted", count(r.synced)));
    } else {
        parts.push(format!("{} synced", count(r.synced)));
        let skipped = r.processed.saturating_sub(r.synced + r.errors);
        if skipped > 0 {
            parts.push(format!("{} skipped", count(skipped)));
        }
    }
    if r.errors > 0 {
        parts.push(format!("{} rejected", count(r.errors)));
    }
    parts.join(&format!(" {} ", theme.dot()))
}

/// `running 41% 4.2k/s`, `done`, `pending`.
fn state_word(r: &ResourceProgress) -> String {
    match r.status {
        // A total learnt while reading (a streamed export) is no more than
        // what was read: no percent then, it would read 100% while running.
        ResourceStatus::Running if r.total <= r.processed => match rate(r.speed).as_str() {
            "-" => "running".into(),
            speed => speed.to_string(),
        },
        ResourceStatus::Running => {
            let pct = (ratio(r.processed, total_of(r)) * 100.0).floor();
            match rate(r.speed).as_str() {
                "-" => format!("{pct:.0}%"),
                speed => format!("{pct:.0}% {speed}"),
            }
        }
        other => other.as_str().to_string(),
    }
}

/// The width (borders included) a pane needs to show these resources'
/// kind, name, state and result whole: what the dashboard keeps for the
/// sync pane beside the config list.
pub fn needed_width(theme: &Theme, resources: &[ResourceProgress]) -> u16 {
    let all = table_columns(theme, &resources.iter().collect::<Vec<_>>(), false);
    let names: Vec<Column> = all
        .into_iter()
        .filter(|c| matches!(c.header, "kind" | "resource"))
        .collect();
    // State and result are sized for what they grow to during the run
    // (`39% 4.2k/s`, `12,345 synced · 12 rejected`), so the layout does not
    // flip as counts grow.
    columns::natural_width(&names, 1, false) + 1 + STATE_WIDTH + 1 + RESULT_WIDTH + 2
}

const STATE_WIDTH: u16 = 10;
const RESULT_WIDTH: u16 = 27;

/// Rows from `skip` on, laid out for `width` cells, `selected` (of the rows
/// shown) under the cursor; `messages` adds each resource's last message as
/// a final column.
pub fn table(
    theme: &Theme,
    resources: &[ResourceProgress],
    skip: usize,
    selected: Option<usize>,
    width: u16,
    messages: bool,
) -> Table<'static> {
    let shown: Vec<&ResourceProgress> = resources.iter().skip(skip).collect();
    let styles: Vec<Style> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| match r.status {
            _ if selected == Some(i) => theme.selected(),
            ResourceStatus::Running => theme.header(),
            ResourceStatus::Failed => theme.error(),
            ResourceStatus::Pending => theme.dim(),
            _ => Style::default(),
        })
        .collect();
    let cols = table_columns(theme, &shown, messages);
    columns::table(theme, cols, &styles, width, 1)
}

fn table_columns(
    theme: &Theme,
    shown: &[&ResourceProgress],
    messages: bool,
) -> Vec<Column<'static>> {
    let names: Vec<_> = shown
        .iter()
        .map(|r| resource_name(&r.resource, &r.label))
        .collect();
    let text = |f: &dyn Fn(&ResourceProgress) -> String| -> Vec<Line<'static>> {
        shown.iter().map(|r| Line::from(f(r))).collect()
    };
    let mut cols = vec![
        Column::text(
            "kind",
            0,
            names.iter().map(|n| Line::from(n.kind)).collect(),
        ),
        Column::text(
            "resource",
            0,
            names
                .iter()
                .map(|n| Line::from(inert(&n.name, 60)))
                .collect(),
        ),
        Column::bars(
            "progress",
            4,
            shown.iter().map(|r| done_ratio(r)).collect(),
            6,
            20,
        ),
        Column::text("state", 0, text(&state_word)),
        Column::text(
            "objects",
            3,
            text(&|r| match (r.processed, total_of(r)) {
                (0, 0) => "-".into(),
                (p, t) => format!("{}/{}", count(p), count(t)),
            }),
        ),
        Column::text("result", 1, text(&|r| result_words(theme, r))),
    ];
    if messages {
        cols.push(
            Column::text(
                "message",
                2,
                text(&|r| inert(r.message.as_deref().unwrap_or(""), 300)),
            )
            .shrinking_fill(12),
        );
    }
    cols
}
