//! The dashboard: configs on the left, the selected config's sync on the
//! right, the log tail below. The config list is as wide as its content
//! (at most 45% of the screen); when the sync pane would get less than 64
//! columns beside it, the panes stack. Below 28 lines the tail goes (the
//! logs view still has it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use ratatui::style::Style;

use super::columns::{self, Column};
use super::widgets::{block, count, gauge, inert, rate, ratio, span_ms};
use crate::engine::events::SchedulerStatus;
use crate::engine::handle::AutoState;
use crate::store::queue::{Job, JobState, ResourceStatus};
use crate::text::{ago_narrow, duration_column, duration_narrow, relative_narrow};
use crate::tui::keymap::Action;
use crate::tui::model::{ConfigRow, Model, Pane};
use crate::tui::names::resource_name;
use crate::tui::theme::Theme;

/// The sync pane needs at least this much beside the config list (more when
/// its resources' names and results need more); with less the panes stack.
const SYNC_MIN_WIDTH: u16 = 64;

pub fn draw(frame: &mut Frame, model: &Model, area: Rect) {
    let tail_height = if area.height >= 28 { 9 } else { 0 };
    let [main, tail] =
        Layout::vertical([Constraint::Min(8), Constraint::Length(tail_height)]).areas(area);
    let visible = model.visible_configs();
    let columns = config_columns(model, &visible, 0, visible.len());
    // The list is as wide as its content wants (borders included), at most
    // 45% of the screen; the sync pane gets the rest.
    let required = columns::natural_width(&columns, 1, true) + 2;
    let natural = columns::natural_width(&columns, 1, false) + 2;
    // The sync pane beside it must show its resources' names and results
    // whole; else the panes stack.
    let sync_width = model
        .selected_config()
        .map_or(0, |c| match model.progress_of(c) {
            Some(live) => super::resources::needed_width(&model.theme, &live.resources),
            None if model.dashboard.history_of == Some(c.id) => {
                super::resources::needed_width(&model.theme, &model.dashboard.history_resources)
            }
            None => 0,
        })
        .max(SYNC_MIN_WIDTH);
    if area.width >= required + sync_width {
        let width = natural.min((area.width * 45 / 100).max(required));
        let [list, detail] =
            Layout::horizontal([Constraint::Length(width), Constraint::Min(1)]).areas(main);
        configs(frame, model, list);
        detail_pane(frame, model, detail);
    } else {
        let rows = (visible.len() as u16 + 3).clamp(4, main.height / 3 + 1);
        let [list, detail] =
            Layout::vertical([Constraint::Length(rows), Constraint::Min(6)]).areas(main);
        configs(frame, model, list);
        detail_pane(frame, model, detail);
    }
    if tail_height > 0 {
        super::tail::tail_pane(frame, model, tail, model.pane == Pane::Tail);
    }
}

fn secs_until(until: i64, now: i64) -> u64 {
    ((until - now).max(0) / 1000) as u64
}

/// What holds or drives the config now, in a few words: `stopped`,
/// `manual`, `next in 4m`, `cooldown 24m`, `throttled 3m`, `retry in 28s`.
fn state_text(model: &Model, c: &ConfigRow) -> (String, Style) {
    let theme = &model.theme;
    let now = model.db_now();
    let mut parts: Vec<String> = Vec::new();
    let mut style = theme.ok();
    if !c.active {
        parts.push("stopped".into());
        style = theme.dim();
    } else {
        match c.auto {
            AutoState::Enabled => {}
            AutoState::Disabled => {
                parts.push("auto off".into());
                style = theme.warn();
            }
            _ => {
                parts.push("manual".into());
                style = theme.info();
            }
        }
    }
    match model.scheduler_of(c) {
        SchedulerStatus::Stopped => {}
        SchedulerStatus::Waiting { next_check_at } => parts.push(format!(
            "next in {}",
            duration_narrow(secs_until(next_check_at, now))
        )),
        SchedulerStatus::Detecting => parts.push("checking".into()),
        SchedulerStatus::Delaying { until } => parts.push(format!(
            "sync in {}",
            duration_narrow(secs_until(until, now))
        )),
        SchedulerStatus::Cooldown { until } => {
            parts.push(format!(
                "cooldown {}",
                duration_narrow(secs_until(until, now))
            ));
            style = theme.warn();
        }
        SchedulerStatus::Throttled { until } => {
            parts.push(format!(
                "throttled {}",
                duration_narrow(secs_until(until, now))
            ));
            style = theme.warn();
        }
        SchedulerStatus::Crashed { .. } => {
            parts.push("crashed".into());
            style = theme.error();
        }
    }
    // A failed attempt waiting for its retry.
    if let Some(next) = &c.next_job
        && next.last_error.is_some()
        && c.running_job.is_none()
    {
        parts.push(format!(
            "retry in {}",
            duration_narrow(secs_until(next.run_at, now))
        ));
        style = theme.warn();
    }
    if parts.is_empty() {
        parts.push("auto".into());
    }
    (parts.join(&format!(" {} ", theme.dot())), style)
}

fn last_result(model: &Model, c: &ConfigRow) -> Span<'static> {
    let theme = &model.theme;
    if let Some(live) = model.progress_of(c) {
        let planning = live.resources.is_empty() && live.progress.expected == 0;
        return Span::styled(
            match live.done_ratio() {
                _ if planning => "starting".into(),
                // Sizes still unknown: how many resources are done.
                (_, true) => format!(
                    "syncing {}/{}",
                    live.finished_resources(),
                    live.resources.len()
                ),
                (done, false) => format!("syncing {:.0}%", (done * 100.0).floor()),
            },
            theme.ok(),
        );
    }
    match &c.last_job {
        None => Span::styled("never", theme.dim()),
        Some(j) => {
            let when = j
                .finished_at
                .map(|t| ago_narrow(t, model.db_now()))
                .unwrap_or_default();
            match j.state {
                JobState::Completed if j.progress.errors > 0 => Span::styled(
                    format!("{} rejected {when}", count(j.progress.errors)),
                    theme.warn(),
                ),
                JobState::Completed => Span::styled(format!("ok {when}"), theme.ok()),
                JobState::Failed => Span::styled(format!("failed {when}"), theme.error()),
                other => Span::styled(format!("{} {when}", other.as_str()), theme.dim()),
            }
        }
    }
}

/// The config list's columns for rows `skip..skip + take`.
fn config_columns<'a>(
    model: &'a Model,
    visible: &[&ConfigRow],
    skip: usize,
    take: usize,
) -> Vec<Column<'a>> {
    let theme = &model.theme;
    let rows: Vec<(usize, &ConfigRow)> = visible
        .iter()
        .copied()
        .enumerate()
        .skip(skip)
        .take(take)
        .collect();
    let cursor = |i: usize| {
        if i == model.dashboard.list.cursor {
            theme.cursor()
        } else {
            " "
        }
    };
    vec![
        Column::text(
            " name",
            0,
            rows.iter()
                .map(|(i, c)| Line::from(format!("{}{}", cursor(*i), inert(&c.name, 40))))
                .collect(),
        ),
        Column::text(
            if theme.ascii {
                "source -> dest"
            } else {
                "source → dest"
            },
            3,
            rows.iter()
                .map(|(_, c)| {
                    Line::from(format!(
                        "{} {} {}",
                        inert(&c.source, 24),
                        theme.arrow(),
                        c.destination
                            .as_deref()
                            .map_or_else(|| "-".into(), |d| inert(d, 24))
                    ))
                })
                .collect(),
        ),
        Column::text(
            "state",
            0,
            rows.iter()
                .map(|(_, c)| {
                    let (text, style) = state_text(model, c);
                    Line::from(Span::styled(text, style))
                })
                .collect(),
        ),
        Column::text(
            "queue",
            2,
            rows.iter()
                .map(|(_, c)| match c.queued_jobs {
                    0 => Line::from(""),
                    n => Line::from(Span::styled(format!("{n} queued"), theme.info())),
                })
                .collect(),
        ),
        Column::text(
            "last",
            1,
            rows.iter()
                .map(|(_, c)| Line::from(last_result(model, c)))
                .collect(),
        ),
    ]
}

fn configs(frame: &mut Frame, model: &Model, area: Rect) {
    let theme = &model.theme;
    let focused = model.pane == Pane::Configs;
    let visible = model.visible_configs();
    let mut title = format!(" Configs ({}) ", visible.len());
    if let Some(by) = model.sort_label() {
        title.push_str(&format!("by {by} "));
    }
    if !model.dashboard.list.filter.is_empty() {
        title.push_str(&format!("/{} ", inert(&model.dashboard.list.filter, 30)));
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
    // Keep the cursor on screen in long lists; build only the rows shown.
    let height = inner.height.saturating_sub(1) as usize;
    let skip = model
        .dashboard
        .list
        .cursor
        .saturating_sub(height.saturating_sub(1));
    let columns = config_columns(model, &visible, skip, height);
    let styles: Vec<Style> = (skip..(skip + height).min(visible.len()))
        .map(|i| {
            if i == model.dashboard.list.cursor && focused {
                theme.selected()
            } else {
                Style::default()
            }
        })
        .collect();
    frame.render_widget(
        columns::table(theme, columns, &styles, inner.width, 1),
        inner,
    );
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
                config.mode.as_str()
            ),
            theme.dim(),
        ),
    ]);
    let outer = block(theme, title, focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);

    let history_rows = if inner.height >= 18 { 6 } else { 0 };
    let summary = summary_lines(model, config, inner.width);
    // Wrapped lines counted, so an error is shown whole while there is room.
    let wrapped: u16 = summary
        .iter()
        .map(|l| (l.width() as u16).div_ceil(inner.width.max(1)).max(1))
        .sum();
    let summary_rows = wrapped.clamp(3, (inner.height / 2).max(3));
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
        // The jobs strip keeps room for its words; the sparkline gets the rest.
        let jobs_width = (history.width * 3 / 5).max(46.min(history.width));
        let [jobs, spark] =
            Layout::horizontal([Constraint::Length(jobs_width), Constraint::Min(0)]).areas(history);
        if model.dashboard.history_of == Some(config.id) {
            history_table(frame, model, jobs);
        }
        throughput(frame, model, config, spark);
    }
}

/// Gauge, step and figures of the running sync, or the last outcome. The
/// first line keeps percent, objects and ETA whatever the width: the bar
/// takes what is left of it.
fn summary_lines(model: &Model, config: &ConfigRow, width: u16) -> Vec<Line<'static>> {
    let theme = &model.theme;
    let now = model.db_now();
    let dot = || Span::styled(format!(" {} ", theme.dot()), theme.dim());
    match model.progress_of(config) {
        Some(live) => {
            let p = &live.progress;
            // While resources are still to start, expected and the ETA
            // cover what is known so far: they are bounds, and say so.
            // Until every resource has started (a resource's size is learnt
            // when it starts) there is no percent: the bar counts resources,
            // the objects are those so far, the ETA a lower bound.
            let (done, open) = live.done_ratio();
            let eta = match live.eta_secs {
                Some(s) if !open => duration_column(s),
                Some(s) if s > 0 => format!("{}{}", theme.at_least(), duration_column(s)),
                _ => "unknown yet".into(),
            };
            let planning = live.resources.is_empty() && p.expected == 0 && p.processed == 0;
            let first = if planning {
                vec![Span::styled(
                    "starting: asking the source what to sync",
                    theme.dim(),
                )]
            } else if open {
                let all = live.resources.len();
                let finished = live.finished_resources();
                let pct = (ratio(finished as u64, all as u64) * 100.0).floor();
                let figures = format!(
                    " {finished} of {all} resources ({pct:.0}%)  {} objects so far  ETA {eta}",
                    count(p.processed)
                );
                let bar = (width as usize)
                    .saturating_sub(figures.chars().count() + 1)
                    .clamp(4, 40);
                let (full, empty) = theme.gauge_text(ratio(finished as u64, all as u64), bar);
                vec![
                    Span::styled(full, theme.gauge()),
                    Span::styled(empty, theme.dim()),
                    Span::raw(figures),
                ]
            } else {
                let figures = format!(
                    "  {} of {} objects  ETA {eta}",
                    count(p.processed),
                    count(p.expected)
                );
                let bar = (width as usize)
                    .saturating_sub(figures.chars().count() + 5)
                    .clamp(4, 40);
                let mut spans = gauge(theme, done, bar);
                spans.push(Span::raw(figures));
                spans
            };
            let elapsed = config
                .running_job
                .as_ref()
                .and_then(|j| j.started_at)
                .map_or_else(|| "-".into(), |s| span_ms(s, now));
            let mut now_line = vec![Span::styled("now ", theme.dim())];
            match p.current_resource.as_deref() {
                Some(key) => {
                    let label = live
                        .resources
                        .iter()
                        .find(|r| r.resource == key)
                        .map_or("", |r| r.label.as_str());
                    let name = resource_name(key, label);
                    now_line.push(Span::raw(inert(&name.name, 60)));
                    now_line.push(Span::styled(format!(" ({})", name.kind), theme.dim()));
                }
                None => now_line.push(Span::raw("-")),
            }
            if let Some(step) = p.current_step.as_deref() {
                now_line.push(dot());
                now_line.push(Span::raw(inert(step, 60)));
            }
            let mut counts = vec![Span::raw(format!("{} synced", count(p.synced)))];
            if p.errors > 0 {
                counts.push(dot());
                counts.push(Span::styled(
                    format!("{} rejected", count(p.errors)),
                    theme.warn(),
                ));
            }
            counts.extend([
                dot(),
                Span::raw(rate(p.speed)),
                dot(),
                Span::styled("elapsed ", theme.dim()),
                Span::raw(elapsed),
            ]);
            let mut lines = vec![Line::from(first), Line::from(now_line), Line::from(counts)];
            if let Some(j) = &config.running_job
                && let Some(e) = &j.last_error
            {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("attempt {} failed: ", j.attempt.saturating_sub(1)),
                        theme.warn(),
                    ),
                    Span::raw(inert(e, 300)),
                ]));
            }
            lines
        }
        None => idle_lines(model, config),
    }
}

fn idle_lines(model: &Model, config: &ConfigRow) -> Vec<Line<'static>> {
    let theme = &model.theme;
    let now = model.db_now();
    let km = &model.keymap;
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
                .map_or_else(String::new, |t| format!(" {}", ago_narrow(t, now)));
            let took = match (j.started_at, j.finished_at) {
                (Some(s), Some(f)) => format!(", took {}", span_ms(s, f)),
                _ => String::new(),
            };
            let style = match j.state {
                JobState::Completed if j.progress.errors == 0 => theme.ok(),
                JobState::Completed => theme.warn(),
                _ => theme.error(),
            };
            let mut counts = format!("{} synced", count(j.progress.synced));
            if j.progress.errors > 0 {
                counts.push_str(&format!(
                    " {} {} rejected",
                    theme.dot(),
                    count(j.progress.errors)
                ));
            }
            lines.push(Line::from(vec![
                Span::styled(format!("Last sync {}", j.state.as_str()), style),
                Span::raw(format!("{when}{took}: {counts} (job {})", j.id)),
            ]));
            if j.state == JobState::Failed {
                lines.push(Line::from(Span::styled(
                    format!(
                        "It failed for good and will not be retried: fix the cause, then press {} to sync now or {} to retry job {}.",
                        km.short(Action::Trigger),
                        km.short(Action::Retry),
                        j.id
                    ),
                    theme.warn(),
                )));
            }
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
                    relative_narrow(next.run_at, now)
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
                relative_narrow(until, now)
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
        let hint = format!("Press {} to sync now.", km.short(Action::Trigger));
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
        // Loaded for another config (the selection just moved): nothing
        // until this one's arrive, never the other's.
        None if model.dashboard.history_of != Some(config.id) => return,
        None => &model.dashboard.history_resources,
    };
    if resources.is_empty() {
        return;
    }
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
    let shown = &resources[skip.min(resources.len())..];
    let shown = &shown[..rows.min(shown.len())];
    let cursor = (model.pane == Pane::Resources).then_some(0);
    let table = super::resources::table(theme, shown, 0, cursor, area.width, false);
    frame.render_widget(table, area);
}

fn history_table(frame: &mut Frame, model: &Model, area: Rect) {
    let theme: &Theme = &model.theme;
    let now = model.db_now();
    let jobs: Vec<&Job> = model
        .dashboard
        .history
        .iter()
        .take(area.height.saturating_sub(1) as usize)
        .collect();
    let styles: Vec<Style> = jobs.iter().map(|_| Style::default()).collect();
    let lines = |f: &dyn Fn(&Job) -> Line<'static>| jobs.iter().map(|j| f(j)).collect();
    let columns = vec![
        Column::text("job", 0, lines(&|j| Line::from(format!("#{}", j.id)))),
        Column::text(
            "status",
            0,
            lines(&|j| {
                let style = match j.state {
                    JobState::Failed => theme.error(),
                    JobState::Completed => theme.ok(),
                    JobState::Running => theme.header(),
                    _ => theme.dim(),
                };
                Line::from(Span::styled(j.state.as_str(), style))
            }),
        ),
        Column::text(
            "result",
            1,
            lines(&|j| {
                let p = model.job_progress(j);
                let mut text = format!("{} synced", count(p.synced));
                if p.errors > 0 {
                    text.push_str(&format!(" {} {} rejected", theme.dot(), count(p.errors)));
                }
                Line::from(text)
            }),
        ),
        Column::text(
            "when",
            2,
            lines(&|j| {
                Line::from(match j.finished_at {
                    Some(f) => ago_narrow(f, now),
                    None => format!(
                        "started {}",
                        ago_narrow(j.started_at.unwrap_or(j.created_at), now)
                    ),
                })
            }),
        ),
        Column::text(
            "took",
            3,
            lines(&|j| {
                Line::from(match (j.started_at, j.finished_at) {
                    (Some(s), Some(f)) => span_ms(s, f),
                    (Some(s), None) => span_ms(s, now),
                    _ => "-".into(),
                })
            }),
        ),
    ];
    frame.render_widget(columns::table(theme, columns, &styles, area.width, 1), area);
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
    // The words go before the figure does when the strip is narrow.
    let figure = format!("peak {}", rate(peak as f64));
    let mut spans = vec![Span::raw(figure.clone())];
    if label.width as usize >= figure.len() + 11 {
        spans.insert(0, Span::styled("throughput ", theme.dim()));
    } else if (label.width as usize) < figure.len() {
        spans = vec![Span::raw(rate(peak as f64))];
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), label);
    frame.render_widget(
        Sparkline::default()
            .data(&samples)
            .bar_set(theme.bar_set())
            .style(theme.gauge()),
        chart,
    );
}
