//! The detail lines of an `http_pull` config: its last pull, the hashes on
//! both sides, the local copy and its last change.

use ratatui::text::{Line, Span};

use super::widgets::inert;
use crate::engine::PullStatus;
use crate::text::relative_column;
use crate::tui::theme::Theme;

fn short(hash: &Option<String>) -> String {
    hash.as_deref()
        .map_or_else(|| "-".into(), |h| inert(h.get(..12).unwrap_or(h), 12))
}

pub fn lines(theme: &Theme, pull: &PullStatus, now: i64) -> Vec<Line<'static>> {
    let s = &pull.state;
    let mut out = Vec::new();
    let status = match (s.last_sync_at, s.last_sync_ok) {
        (None, _) => Line::from(Span::styled("Not pulled yet.", theme.dim())),
        (Some(at), Some(true)) => Line::from(vec![
            Span::styled("Pull OK", theme.ok()),
            Span::raw(format!(" {}", relative_column(at, now))),
        ]),
        (Some(at), _) => Line::from(vec![
            Span::styled(
                format!("Pull failed ({} in a row)", s.failures.max(1)),
                theme.error(),
            ),
            Span::raw(format!(" {}", relative_column(at, now))),
        ]),
    };
    out.push(status);
    let mut hashes = vec![
        Span::styled("current ", theme.dim()),
        Span::raw(short(&s.current_hash)),
        Span::styled("  backend ", theme.dim()),
    ];
    let differs = s.backend_hash.is_some() && s.backend_hash != s.current_hash;
    hashes.push(Span::styled(
        short(&s.backend_hash),
        if differs { theme.warn() } else { theme.ok() },
    ));
    if let (Some(n), Some(kind)) = (s.items, &s.items_kind) {
        hashes.push(Span::styled(
            format!("  {n} {}", inert(kind, 10)),
            theme.dim(),
        ));
    }
    out.push(Line::from(hashes));
    let mut file = vec![
        Span::styled("into ", theme.dim()),
        Span::raw(inert(&pull.target, 80)),
    ];
    if let Some(at) = s.config_updated_at {
        file.push(Span::styled(
            format!("  changed {}", relative_column(at, now)),
            theme.dim(),
        ));
    }
    out.push(Line::from(file));
    if let Some(e) = &s.last_sync_error {
        out.push(Line::from(vec![
            Span::styled("Last error: ", theme.error()),
            Span::raw(inert(e, 300)),
        ]));
    }
    out
}
