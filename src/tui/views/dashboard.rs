//! The dashboard: configs on the left, the selected config's sync on the
//! right, the log tail below. Below 100 columns the panes stack; below 30
//! lines the tail goes (the logs view still has it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};

use super::widgets::{block, count, gauge, inert, rate, ratio, span_ms};
use crate::engine::events::SchedulerStatus;
use crate::store::queue::{JobState, ResourceStatus};
use crate::text::{duration_column, duration_narrow, relative_column, relative_narrow};
use crate::tui::model::{ConfigRow, Model, Pane};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let tail_height = if area.height >= 28 { 9 } else { 0 };
    let [main, tail] =
        Layout::vertical([Constraint::Min(8), Constraint::Length(tail_height)]).areas(area);
    if area.width >= 100 {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(main);
        configs(frame, model, list, true);
        detail_pane(frame, model, detail);
    } else {
        let rows = (model.visible_configs().len() as u16 + 3).clamp(4, main.height / 3 + 1);
        let [list, detail] =
            Layout::vertical([Constraint::Length(rows), Constraint::Min(6)]).areas(main);
        configs(frame, model, list, false);
        detail_pane(frame, model, detail);
    }
    if tail_height > 0 {
        super::tail::tail_pane(frame, model, tail, model.pane == Pane::Tail);
    }
}

/// Short badges: scheduler state, auto settings, cooldown, throttle.
fn badges(model: &Model, c: &ConfigRow) -> Vec<Span<'static>> {
    let theme = &model.theme;
    let now = model.db_now();
    let mut out = Vec::new();
    let mut badge = |text: String, style| {
        if !out.is_empty() {
            out.push(Span::raw(" "));
        }
        out.push(Span::styled(text, style));
    };
    // One word says both the switch and the mode: a stopped config is
    // "stopped"; an active one shows how it runs.
    if !c.active {
        badge("stopped".into(), theme.dim());
    } else {
        match c.auto.as_str() {
            "enabled" => badge("auto".into(), theme.ok()),
            "disabled" => badge("auto off".into(), theme.warn()),
            _ => badge("manual".into(), theme.info()),
        }
    }
    match model.scheduler_of(c) {
        SchedulerStatus::Cooldown { until } => badge(
            format!(
                "cooldown {}",
                duration_narrow(((until - now).max(0) / 1000) as u64)
            ),
            theme.warn(),
        ),
        SchedulerStatus::Throttled { until } => badge(
            format!(
                "throttled {}",
                duration_narrow(((until - now).max(0) / 1000) as u64)
            ),
            theme.warn(),
        ),
        SchedulerStatus::Crashed { .. } => badge("crashed".into(), theme.error()),
        _ => {}
    }
    if c.queued_jobs > 0 {
        badge(format!("+{}q", c.queued_jobs), theme.info());
    }
    out
}

/// When the next check happens, as the scheduler says.
fn next_check(model: &Model, c: &ConfigRow) -> String {
    let now = model.db_now();
    match model.scheduler_of(c) {
        SchedulerStatus::Stopped => "-".into(),
        SchedulerStatus::Waiting { next_check_at } => {
            duration_column(((next_check_at - now).max(0) / 1000) as u64)
        }
        // The state column already says how long.
        SchedulerStatus::Cooldown { .. } | SchedulerStatus::Throttled { .. } => "-".into(),
        SchedulerStatus::Detecting => "checking".into(),
        SchedulerStatus::Delaying { until } => {
            format!(
                "sync {}",
                duration_column(((until - now).max(0) / 1000) as u64)
            )
        }
        SchedulerStatus::Crashed { .. } => "restart".into(),
    }
}

fn last_result(model: &Model, c: &ConfigRow) -> Span<'static> {
    let theme = &model.theme;
    if let Some(live) = model.progress_of(c) {
        let pct = (ratio(live.progress.processed, live.progress.expected) * 100.0).floor();
        return Span::styled(format!("syncing {pct:.0}%"), theme.ok());
    }
    match &c.last_job {
        None => Span::styled("never", theme.dim()),
        Some(j) => {
            let when = j
                .finished_at
                .map(|t| relative_narrow(t, model.db_now()))
                .unwrap_or_default();
            match j.state {
                JobState::Completed if j.progress.errors > 0 => {
                    Span::styled(format!("errors {when}"), theme.warn())
                }
                JobState::Completed => Span::styled(format!("ok {when}"), theme.ok()),
                JobState::Failed => Span::styled(format!("failed {when}"), theme.error()),
                other => Span::styled(format!("{} {when}", other.as_str()), theme.dim()),
            }
        }
    }
}

fn configs(frame: &mut Frame, model: &Model, area: Rect, wide: bool) {
    let theme = &model.theme;
    let focused = model.pane == Pane::Configs;
    let visible = model.visible_configs();
    let mut title = format!(" Configs ({}) ", visible.len());
    if !model.dashboard.list.filter.is_empty() {
        title = format!(
            " Configs ({}) /{} ",
            visible.len(),
            inert(&model.dashboard.list.filter, 30)
        );
    }
    let outer = block(theme, Span::styled(title, theme.title()), focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if visible.is_empty() {
        let text = if !model.loaded {
            "loading…"
        } else if model.configs.is_empty() {
            "No sync configs yet. Create them with `syncdeck apply -f FILE` (see assets/example.toml)."
        } else {
            "Nothing matches the filter (Esc clears it)."
        };
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let show_route = wide && inner.width >= 76;
    let name_width = visible
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(8, 28) as u16
        + 1;
    // Keep the cursor on screen in long lists; build only the rows shown.
    let height = inner.height.saturating_sub(1) as usize;
    let skip = model
        .dashboard
        .list
        .cursor
        .saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = visible
        .iter()
        .enumerate()
        .skip(skip)
        .take(height)
        .map(|(i, c)| {
            let cursor = if i == model.dashboard.list.cursor {
                theme.cursor()
            } else {
                " "
            };
            let mut cells = vec![Cell::from(format!("{cursor}{}", inert(&c.name, 40)))];
            if show_route {
                cells.push(Cell::from(format!(
                    "{} {} {}",
                    inert(&c.source, 20),
                    theme.arrow(),
                    c.destination
                        .as_deref()
                        .map_or_else(|| "-".into(), |d| inert(d, 20))
                )));
            }
            cells.push(Cell::from(Line::from(badges(model, c))));
            cells.push(Cell::from(next_check(model, c)));
            cells.push(Cell::from(last_result(model, c)));
            let row = Row::new(cells);
            if i == model.dashboard.list.cursor && focused {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![Constraint::Length(name_width)];
    let mut header = vec![" name"];
    if show_route {
        let route_width = visible
            .iter()
            .map(|c| {
                c.source.chars().count()
                    + 3
                    + c.destination.as_deref().map_or(1, |d| d.chars().count())
            })
            .max()
            .unwrap_or(10)
            .clamp(12, 30) as u16;
        widths.push(Constraint::Length(route_width));
        header.push("source → dest");
    }
    widths.extend([
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(14),
    ]);
    header.extend(["state", "next", "last"]);
    let header: Vec<String> = header
        .into_iter()
        .map(|h| h.replace('→', theme.arrow()))
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1);
    frame.render_widget(table, inner);
}

fn detail_pane(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let focused = model.pane == Pane::Resources;
    let Some(config) = model.selected_config() else {
        let b = block(theme, " Sync ", focused);
        frame.render_widget(b, area);
        return;
    };
    let title = Line::from(vec![
        Span::styled(format!(" {} ", inert(&config.name, 40)), theme.title()),
        Span::styled(
            format!(
                "{} {} {}, {} ",
                inert(&config.source, 30),
                theme.arrow(),
                config
                    .destination
                    .as_deref()
                    .map_or_else(|| "-".into(), |d| inert(d, 30)),
                config.mode
            ),
            theme.dim(),
        ),
    ]);
    let outer = block(theme, title, focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);

    let history_rows = if inner.height >= 18 { 6 } else { 0 };
    let summary = summary_lines(model, config, inner.width);
    let summary_rows = (summary.len() as u16).clamp(3, 6);
    let [summary_area, resources, history] = Layout::vertical([
        Constraint::Length(summary_rows),
        Constraint::Min(2),
        Constraint::Length(history_rows),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(summary).wrap(ratatui::widgets::Wrap { trim: false }),
        summary_area,
    );
    resource_table(frame, model, config, resources);
    if history_rows > 0 {
        let [jobs, spark] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(history);
        history_table(frame, model, jobs);
        throughput(frame, model, config, spark);
    }
}

/// Gauge, step and figures of the running sync, or the last outcome.
fn summary_lines(model: &Model, config: &ConfigRow, width: u16) -> Vec<Line<'static>> {
    let theme = &model.theme;
    let now = model.db_now();
    match model.progress_of(config) {
        Some(live) => {
            let p = &live.progress;
            let width = (width as usize).saturating_sub(6).min(60);
            let mut first = gauge(theme, ratio(p.processed, p.expected), width);
            first.push(Span::raw(format!(
                "  {}",
                p.current_step.as_deref().map_or("", |s| s)
            )));
            let elapsed = config
                .running_job
                .as_ref()
                .and_then(|j| j.started_at)
                .map_or_else(|| "-".into(), |s| span_ms(s, now));
            let eta = live.eta_secs.map_or_else(|| "-".into(), duration_column);
            let earlier = config.running_job.as_ref().and_then(|j| {
                j.last_error.as_ref().map(|e| {
                    Line::from(vec![
                        Span::styled(
                            format!("attempt {} failed: ", j.attempt.saturating_sub(1)),
                            theme.warn(),
                        ),
                        Span::raw(inert(e, 300)),
                    ])
                })
            });
            let mut lines = vec![
                Line::from(first),
                Line::from(vec![
                    Span::styled("resource ", theme.dim()),
                    Span::raw(
                        p.current_resource
                            .as_deref()
                            .map_or_else(|| "-".into(), |r| inert(r, 80)),
                    ),
                ]),
                Line::from(vec![
                    Span::styled("synced ", theme.dim()),
                    Span::raw(format!("{}/{}", count(p.synced), count(p.expected))),
                    Span::styled("  errors ", theme.dim()),
                    Span::styled(
                        count(p.errors),
                        if p.errors > 0 {
                            theme.warn()
                        } else {
                            theme.ok()
                        },
                    ),
                    Span::styled("  speed ", theme.dim()),
                    Span::raw(rate(p.speed)),
                    Span::styled("  ETA ", theme.dim()),
                    Span::raw(eta),
                    Span::styled("  elapsed ", theme.dim()),
                    Span::raw(elapsed),
                ]),
            ];
            lines.extend(earlier);
            lines
        }
        None => idle_lines(model, config),
    }
}

fn idle_lines(model: &Model, config: &ConfigRow) -> Vec<Line<'static>> {
    let theme = &model.theme;
    let now = model.db_now();
    let mut lines = Vec::new();
    if let Some(pull) = &config.pull {
        lines.extend(super::pull::lines(theme, pull, now));
    }
    match &config.last_job {
        None if config.pull.is_some() => {}
        None => lines.push(Line::from(Span::styled(
            "No sync has run yet.",
            theme.dim(),
        ))),
        Some(j) => {
            let when = j
                .finished_at
                .map_or_else(String::new, |t| relative_column(t, now));
            let took = match (j.started_at, j.finished_at) {
                (Some(s), Some(f)) => format!(" in {}", span_ms(s, f)),
                _ => String::new(),
            };
            let style = match j.state {
                JobState::Completed if j.progress.errors == 0 => theme.ok(),
                JobState::Completed => theme.warn(),
                _ => theme.error(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("Last sync {}", j.state.as_str()), style),
                Span::raw(format!(
                    " {when}{took}: {} synced, {} errors (job {})",
                    count(j.progress.synced),
                    count(j.progress.errors),
                    j.id
                )),
            ]));
        }
    }
    if let Some(next) = &config.next_job
        && let Some(err) = &next.last_error
    {
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "Job {} attempt {}/{} failed, retry {}: ",
                    next.id,
                    next.attempt,
                    next.max_attempts,
                    relative_column(next.run_at, now)
                ),
                theme.warn(),
            ),
            Span::raw(inert(err, 300)),
        ]));
    }
    if let SchedulerStatus::Cooldown { until } = model.scheduler_of(config) {
        lines.push(Line::from(Span::styled(
            format!(
                "Cooldown after an error: checks resume {}.",
                relative_column(until, now)
            ),
            theme.warn(),
        )));
    } else if let SchedulerStatus::Crashed { error } = model.scheduler_of(config) {
        lines.push(Line::from(Span::styled(
            format!("Scheduler crashed: {}", inert(&error, 200)),
            theme.error(),
        )));
    }
    if let Some(err) = &config.lifecycle.last_error {
        lines.push(Line::from(vec![
            Span::styled("Last error: ", theme.error()),
            Span::raw(inert(err, 300)),
        ]));
    } else if lines.len() < 2 {
        let hint = format!(
            "Press {} to sync now.",
            model.keymap.short(crate::tui::keymap::Action::Trigger)
        );
        lines.push(Line::from(Span::styled(hint, theme.dim())));
    }
    lines
}

fn resource_table(frame: &mut Frame, model: &Model, config: &ConfigRow, area: Rect) {
    let theme = &model.theme;
    // The running sync's resources, else those of the newest job.
    let live = model.progress_of(config);
    let resources = match live.as_deref() {
        Some(l) if !l.resources.is_empty() => &l.resources,
        Some(_) => return,
        None => &model.dashboard.history_resources,
    };
    let bar = if area.width >= 90 { 20 } else { 10 };
    // Until the operator scrolls the pane, keep the running resource in view.
    let rows = area.height.saturating_sub(1) as usize;
    let skip = if model.pane == Pane::Resources {
        model.dashboard.resources_scroll
    } else {
        resources
            .iter()
            .position(|r| r.status == ResourceStatus::Running)
            .map_or(0, |i| (i + 2).saturating_sub(rows))
    };
    let table = super::resources::table(theme, resources, skip, bar, false);
    frame.render_widget(table, area);
}

fn history_table(frame: &mut Frame, model: &Model, area: Rect) {
    let theme: &Theme = &model.theme;
    let now = model.db_now();
    let mut rows = vec![
        Row::new(vec!["job", "status", "synced", "errors", "when", "took"]).style(theme.dim()),
    ];
    for j in model
        .dashboard
        .history
        .iter()
        .take(area.height.saturating_sub(1) as usize)
    {
        let style = match j.state {
            JobState::Failed => theme.error(),
            JobState::Completed => theme.ok(),
            JobState::Running => theme.header(),
            _ => theme.dim(),
        };
        rows.push(Row::new(vec![
            Cell::from(format!("#{}", j.id)),
            Cell::from(j.state.as_str()).style(style),
            Cell::from(count(j.progress.synced)),
            Cell::from(count(j.progress.errors)),
            Cell::from(relative_column(
                j.finished_at.or(j.started_at).unwrap_or(j.created_at),
                now,
            )),
            Cell::from(match (j.started_at, j.finished_at) {
                (Some(s), Some(f)) => span_ms(s, f),
                (Some(s), None) => span_ms(s, now),
                _ => "-".into(),
            }),
        ]));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(11),
            Constraint::Length(7),
        ],
    )
    .column_spacing(1);
    frame.render_widget(table, area);
}

fn throughput(frame: &mut Frame, model: &Model, config: &ConfigRow, area: Rect) {
    let theme = &model.theme;
    let samples: Vec<u64> = model
        .dashboard
        .throughput
        .get(&config.id)
        .map(|s| {
            let take = area.width as usize;
            s.iter()
                .skip(s.len().saturating_sub(take))
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let peak = samples.iter().copied().max().unwrap_or(0);
    let [label, chart] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("throughput ", theme.dim()),
            Span::raw(format!("peak {}", rate(peak as f64))),
        ])),
        label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&samples)
            .bar_set(theme.bar_set())
            .style(theme.gauge()),
        chart,
    );
}
