//! What the viewer does with keys, replies and ticks: state changes in the
//! model and [`LogOp`]s for the session. Pure, like `update`.

use crate::logs::{LogLevel, SearchQuery};
use crate::tui::dispatch::dispatch;
use crate::tui::flash::Flash;
use crate::tui::keymap::Action;
use crate::tui::model::{Input, Model, View};
use crate::tui::msg::{Command, Effect};

use crate::tui::state::logview::state::text_rows;
use crate::tui::state::logview::{
    DocAction, FileView, Jump, ListedFile, LogOp, LogReply, Mode, Top,
};

/// Columns moved by one `h`/`l`.
const HSCROLL_STEP: usize = 8;

/// The viewer's handling of `action` in the logs view, or `None` when the
/// console's own handling applies (quit, help, `:`, view switches, and the
/// live tail's keys).
pub fn on_action(model: &mut Model, action: Action) -> Option<Vec<Effect>> {
    if matches!(
        action,
        Action::Quit
            | Action::Help
            | Action::Command
            | Action::Repaint
            | Action::ViewDashboard
            | Action::ViewJobs
            | Action::ViewDetections
            | Action::ViewLogs
    ) {
        return None;
    }
    match model.logview.mode {
        Mode::List => on_list(model, action),
        Mode::Live => {
            let to_list = action == Action::Back && model.tail_view.filter.is_empty();
            if !to_list {
                return None;
            }
            model.logview.mode = Mode::List;
            Some(vec![Effect::Log(LogOp::List)])
        }
        Mode::File => Some(on_file(model, action)),
    }
}

fn on_list(model: &mut Model, action: Action) -> Option<Vec<Effect>> {
    let state = &mut model.logview;
    let entries = state.files.len() + 1;
    let last = entries - 1;
    let page = state.height.max(2) - 1;
    state.cursor = match action {
        Action::Up => state.cursor.saturating_sub(1),
        Action::Down => (state.cursor + 1).min(last),
        Action::PageUp => state.cursor.saturating_sub(page),
        Action::PageDown => (state.cursor + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        Action::Open => return Some(open_selected(model)),
        Action::ClearFile => {
            let Some((name, rotation)) =
                state.selected_file().map(|f| (f.name.clone(), f.rotation))
            else {
                return Some(warn(
                    model,
                    "the live tail is kept in memory; nothing to clear",
                ));
            };
            return Some(clear(model, name, rotation));
        }
        Action::Refresh => return Some(vec![Effect::Log(LogOp::List)]),
        Action::Filter => {
            return Some(warn(model, "open a file first (Enter), then / searches it"));
        }
        // Esc leaves the view.
        Action::Back => return None,
        _ => return Some(Vec::new()),
    };
    Some(Vec::new())
}

fn open_selected(model: &mut Model) -> Vec<Effect> {
    let state = &mut model.logview;
    let Some(file) = state.selected_file().cloned() else {
        state.mode = Mode::Live;
        model.tail_view.follow = true;
        model.tail_view.back = 0;
        return Vec::new();
    };
    open(model, &file)
}

/// Opens a listed file (a fresh document; replies for an older one are dropped).
fn open(model: &mut Model, file: &ListedFile) -> Vec<Effect> {
    let state = &mut model.logview;
    state.doc_seq += 1;
    let mut view = FileView::new(state.doc_seq, file);
    view.pending = 1;
    let op = LogOp::Open {
        doc: view.doc,
        name: file.name.clone(),
        view: view.view_at(state.height),
    };
    state.file = Some(view);
    state.mode = Mode::File;
    vec![Effect::Log(op)]
}

fn clear(model: &mut Model, name: String, rotation: u32) -> Vec<Effect> {
    if rotation != 0 {
        return warn(
            model,
            &format!("{name} is a rotated file; only active files can be cleared"),
        );
    }
    dispatch(model, Command::ClearLog { name })
}

fn warn(model: &mut Model, text: &str) -> Vec<Effect> {
    model.flash = Some(Flash::warn(text));
    Vec::new()
}

/// An op on the open document, counted as pending.
fn doc_op(model: &mut Model, action: DocAction) -> Vec<Effect> {
    let height = model.logview.height;
    let Some(file) = model.logview.file.as_mut() else {
        return Vec::new();
    };
    file.pending += 1;
    vec![Effect::Log(LogOp::Doc {
        doc: file.doc,
        action,
        view: file.view_at(height),
    })]
}

/// Asks for the rows on screen when the last frame does not hold them and
/// nothing is on its way (whatever comes back will be checked again).
fn refetch(model: &mut Model) -> Vec<Effect> {
    let height = model.logview.height;
    match &model.logview.file {
        Some(f) if f.pending == 0 && f.frame.is_some() && !f.covered(height) => {
            doc_op(model, DocAction::Refresh)
        }
        _ => Vec::new(),
    }
}

fn on_file(model: &mut Model, action: Action) -> Vec<Effect> {
    let height = model.logview.height;
    let Some(file) = model.logview.file.as_mut() else {
        model.logview.mode = Mode::List;
        return vec![Effect::Log(LogOp::List)];
    };
    let page = height.saturating_sub(1).max(1) as isize;
    match action {
        Action::Up => file.scroll(-1, height),
        Action::Down => file.scroll(1, height),
        Action::PageUp => file.scroll(-page, height),
        Action::PageDown => file.scroll(page, height),
        Action::Top => file.top = Top::Row(0),
        Action::Bottom => file.top = Top::End,
        Action::Left if !file.wrap => file.hscroll = file.hscroll.saturating_sub(HSCROLL_STEP),
        Action::Right if !file.wrap => file.hscroll += HSCROLL_STEP,
        Action::Wrap => {
            file.wrap = !file.wrap;
            file.hscroll = 0;
            return Vec::new();
        }
        Action::Follow => {
            if file.rotation != 0 {
                let text = format!(
                    "{} is a rotated file and no longer grows; follow the active file instead",
                    file.name
                );
                return warn(model, &text);
            }
            let on = !file.follow;
            file.follow = on;
            if on {
                file.top = Top::End;
            }
            return doc_op(model, DocAction::Follow(on));
        }
        Action::Level => {
            let next = match file.filter {
                None => Some(LogLevel::Info),
                Some(LogLevel::Info) => Some(LogLevel::Warn),
                Some(LogLevel::Warn) => Some(LogLevel::Error),
                Some(_) => None,
            };
            file.filter = next;
            file.current = None;
            return doc_op(model, DocAction::Filter(next));
        }
        Action::Filter => {
            let pattern = file
                .frame
                .as_ref()
                .and_then(|f| f.search.as_ref())
                .map(|s| query_text(&s.query))
                .unwrap_or_default();
            model.input = Some(Input::Search(pattern));
            return Vec::new();
        }
        Action::NextMatch | Action::PrevMatch => {
            let forward = action == Action::NextMatch;
            let from = jump_origin(file, height, forward);
            return doc_op(model, DocAction::Jump(Jump::Match { from, forward }));
        }
        Action::NextError | Action::PrevError => {
            let forward = action == Action::NextError;
            let from = jump_origin(file, height, forward);
            return doc_op(model, DocAction::Jump(Jump::Error { from, forward }));
        }
        Action::Export => {
            let command = Command::ExportLog {
                doc: file.doc,
                name: file.name.clone(),
            };
            return dispatch(model, command);
        }
        Action::ClearFile => {
            let (name, rotation) = (file.name.clone(), file.rotation);
            return clear(model, name, rotation);
        }
        Action::Back if file.indexing() => return doc_op(model, DocAction::CancelIndex),
        Action::Back => {
            model.logview.file = None;
            model.logview.mode = Mode::List;
            return vec![Effect::Log(LogOp::Close)];
        }
        Action::Refresh => {
            let mut effects = doc_op(model, DocAction::Refresh);
            effects.push(Effect::Log(LogOp::List));
            return effects;
        }
        _ => return Vec::new(),
    }
    refetch(model)
}

/// Where `n`/`N` and the error jumps start: the row of the last jump while
/// it is on screen, else the edge of the screen they move away from
/// (`None`: from the very start or end).
fn jump_origin(file: &FileView, height: usize, forward: bool) -> Option<usize> {
    let top = file.top_row(height);
    let bottom = top + height;
    if let Some(c) = file.current.filter(|c| (top..bottom).contains(c)) {
        return Some(c);
    }
    if forward {
        top.checked_sub(1)
    } else {
        (bottom < file.rows()).then_some(bottom)
    }
}

/// `/` typed and Enter: literal, any case unless the text has a capital;
/// `re:` makes it a regular expression. Empty clears the search.
pub fn search(model: &mut Model, text: &str) -> Vec<Effect> {
    if model.logview.open_file().is_none() {
        return Vec::new();
    }
    if let Some(file) = model.logview.file.as_mut() {
        file.current = None;
    }
    let query = parse_query(text);
    doc_op(model, DocAction::Search(query))
}

pub fn parse_query(text: &str) -> Option<SearchQuery> {
    if text.is_empty() {
        return None;
    }
    let (pattern, regex) = match text.strip_prefix("re:") {
        Some(p) => (p, true),
        None => (text, false),
    };
    Some(SearchQuery {
        pattern: pattern.into(),
        regex,
        ignore_case: !pattern.chars().any(char::is_uppercase),
    })
}

/// The text that gives `query` back through [`parse_query`].
fn query_text(query: &SearchQuery) -> String {
    if query.regex {
        format!("re:{}", query.pattern)
    } else {
        query.pattern.clone()
    }
}

/// `:goto 2026-11-21 10:00`: the first line at or after that time.
pub fn goto(model: &mut Model, when: &str) -> Vec<Effect> {
    if model.view != View::Logs || model.logview.open_file().is_none() {
        return warn(
            model,
            "open a log file first (4, then Enter on a file), then :goto 2026-11-21 10:00",
        );
    }
    let when = on_today(model, when);
    match time_prefix(&when) {
        Some(when) => doc_op(model, DocAction::Jump(Jump::Time(when))),
        None => warn(
            model,
            &format!(
                "cannot read the time {:?}: give a prefix of YYYY-MM-DD HH:MM:SS, e.g. :goto 2026-11-21 10:00",
                crate::text::sanitize(&when, 40)
            ),
        ),
    }
}

/// A time of day alone (`18:21`, `9:05`, `18:21:30`) means today, in the
/// zone the log lines are written in (local time; UTC in snapshot tests).
fn on_today(model: &Model, when: &str) -> String {
    let when = when.trim();
    let clock = |t: &str| {
        let parts: Vec<&str> = t.split(':').collect();
        (2..=3).contains(&parts.len())
            && parts.iter().enumerate().all(|(i, p)| {
                p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 2 || (i == 0 && p.len() == 1))
            })
    };
    if !clock(when) {
        return when.to_string();
    }
    let Some(now) = chrono::DateTime::from_timestamp_millis(model.now) else {
        return when.to_string();
    };
    let today = if model.session.local_time {
        now.with_timezone(&chrono::Local)
            .format("%Y-%m-%d")
            .to_string()
    } else {
        now.format("%Y-%m-%d").to_string()
    };
    let hour = when.split(':').next().map_or(0, str::len);
    format!("{today} {}{when}", if hour == 1 { "0" } else { "" })
}

/// A prefix of `YYYY-MM-DD HH:MM:SS` (at least the year; `T` taken for the
/// space), or `None`.
pub fn time_prefix(text: &str) -> Option<String> {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd";
    let text = text.trim();
    if text.len() < 4 || text.len() > SHAPE.len() {
        return None;
    }
    let fits = text.bytes().zip(SHAPE).all(|(b, &s)| match s {
        b'd' => b.is_ascii_digit(),
        b' ' => b == b' ' || b == b'T',
        s => b == s,
    });
    fits.then(|| text.replacen('T', " ", 1))
}

/// A reply from the session.
pub fn on_reply(model: &mut Model, reply: LogReply) -> Vec<Effect> {
    match reply {
        LogReply::Listed(result) => {
            let state = &mut model.logview;
            let (files, error) = match result {
                Ok(files) => (files, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            if state.files != files || state.list_error != error {
                state.files = files;
                state.list_error = error;
                state.cursor = state.cursor.min(state.files.len());
                model.dirty = true;
            }
            Vec::new()
        }
        LogReply::Doc {
            doc,
            frame,
            moved_to,
            current,
            note,
        } => {
            let height = model.logview.height;
            let Some(file) = model.logview.file.as_mut().filter(|f| f.doc == doc) else {
                return Vec::new();
            };
            file.pending = file.pending.saturating_sub(1);
            match frame {
                Err(e) => {
                    if file.frame.is_none() {
                        // It never opened: back to the list.
                        model.logview.file = None;
                        model.logview.mode = Mode::List;
                    }
                    show(model, Flash::warn(e));
                    return Vec::new();
                }
                Ok(frame) => {
                    if let Some(row) = moved_to {
                        file.top = Top::Row(row);
                    }
                    if current.is_some() {
                        file.current = current;
                    }
                    if let Top::Row(r) = file.top {
                        let last = frame.rows.saturating_sub(height);
                        if r > last {
                            file.top = Top::Row(last);
                        }
                    }
                    if file.pending == 0 {
                        file.filter = frame.filter;
                        file.follow = frame.following;
                    }
                    if file.frame.as_ref() != Some(&*frame) || moved_to.is_some() {
                        file.frame = Some(*frame);
                        model.dirty = true;
                    }
                }
            }
            if let Some(note) = note {
                show(model, note);
            }
            refetch(model)
        }
        LogReply::Unchanged { doc } => {
            if let Some(file) = model.logview.file.as_mut().filter(|f| f.doc == doc) {
                file.pending = file.pending.saturating_sub(1);
            }
            refetch(model)
        }
        LogReply::Crashed(text) => {
            if model.logview.mode == Mode::File {
                model.logview.mode = Mode::List;
            }
            model.logview.file = None;
            show(model, Flash::warn(text));
            vec![Effect::Log(LogOp::List)]
        }
        LogReply::Exported(result) => {
            show(model, Flash::of(result));
            Vec::new()
        }
        LogReply::Cleared { name, result } => {
            let cleared = result.is_ok();
            show(model, Flash::of(result));
            let mut effects = vec![Effect::Log(LogOp::List)];
            let reopen = model
                .logview
                .open_file()
                .filter(|f| cleared && f.name == name)
                .map(|f| ListedFile {
                    name: f.name.clone(),
                    rotation: f.rotation,
                    size: 0,
                    modified: None,
                });
            if let Some(file) = reopen {
                effects.extend(open(model, &file));
            }
            effects
        }
    }
}

fn show(model: &mut Model, note: Flash) {
    model.flash = Some(note);
    model.dirty = true;
}

/// The ≤ 4 Hz poll tick: progress and followed lines, one op at a time.
pub fn on_poll_tick(model: &mut Model) -> Vec<Effect> {
    let idle = model
        .logview
        .open_file()
        .is_none_or(|f| f.pending > 0 || !f.wants_poll());
    if model.view != View::Logs || idle {
        return Vec::new();
    }
    doc_op(model, DocAction::Poll)
}

/// The terminal's size changed: the screen holds a different number of rows.
pub fn on_screen(model: &mut Model, height: u16) -> Vec<Effect> {
    model.logview.height = text_rows(height);
    refetch(model)
}

/// What entering the logs view (or a reload) loads.
pub fn loads() -> Vec<Effect> {
    vec![Effect::Log(LogOp::List)]
}
