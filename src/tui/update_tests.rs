//! The pure update function: messages in, model and effects out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

use super::model::{Input, Model, Overlay, Pane, View};
use super::msg::{Command, Effect, Msg};
use super::sample::{self, NOW};
use super::update::update;
use crate::engine::events::EngineEvent;
use crate::store::queue::{JobProgress, JobState};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent {
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

fn keys(m: &mut Model, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| update(m, key(c))).collect()
}

#[test]
fn trigger_runs_at_once_but_stop_asks_first_naming_the_config() {
    let mut m = sample::model();
    assert_eq!(
        update(&mut m, key('t')),
        vec![Effect::Run(Command::Trigger {
            id: 1,
            name: "national-to-regional".into()
        })]
    );
    assert_eq!(update(&mut m, key('x')), vec![]);
    let Some(Overlay::Confirm(cmd)) = &m.overlay else {
        panic!("no confirmation: {:?}", m.overlay);
    };
    assert!(
        cmd.confirmation()
            .unwrap_or_default()
            .contains("national-to-regional")
    );
    // While the dialog is open, other keys do nothing.
    assert_eq!(update(&mut m, key('t')), vec![]);
    assert_eq!(
        update(&mut m, key('y')),
        vec![Effect::Run(Command::Stop {
            id: 1,
            name: "national-to-regional".into()
        })]
    );
    assert_eq!(m.overlay, None);

    update(&mut m, key('x'));
    assert_eq!(update(&mut m, key('n')), vec![]);
    assert_eq!(m.overlay, None);
    assert_eq!(m.flash.as_ref().map(|f| f.text.as_str()), Some("cancelled"));
}

#[test]
fn read_only_refuses_every_command_in_the_dispatcher() {
    let mut m = sample::model();
    m.session.read_only = true;
    for k in ['t', 's', 'x', 'e', 'R', 'D'] {
        assert_eq!(update(&mut m, key(k)), vec![], "key {k}");
        assert_eq!(m.overlay, None, "key {k} opened {:?}", m.overlay);
        let flash = m.flash.take().expect("a message");
        assert!(
            flash.warning && flash.text.starts_with("read-only"),
            "{flash:?}"
        );
    }
    update(&mut m, key('2'));
    m.jobs.list.cursor = 3;
    assert_eq!(update(&mut m, key('r')), vec![]);
    assert!(m.flash.expect("message").text.contains("read-only"));
}

#[test]
fn filter_narrows_the_list_and_esc_clears_it() {
    let mut m = sample::model();
    keys(&mut m, "/man");
    assert_eq!(m.input, Some(Input::Filter("man".into())));
    assert_eq!(m.visible_configs().len(), 1);
    assert_eq!(m.selected_config().map(|c| c.id), Some(2));
    // Letters typed into the filter are not commands.
    assert!(keys(&mut m, "t").is_empty());
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.input, None);
    assert_eq!(m.dashboard.list.filter, "man");
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.dashboard.list.filter, "");
    assert_eq!(m.visible_configs().len(), 3);
}

#[test]
fn views_switch_by_number_command_line_and_esc() {
    let mut m = sample::model();
    assert_eq!(update(&mut m, key('2')), vec![Effect::LoadJobs]);
    assert_eq!(m.view, View::Jobs);
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.view, View::Dashboard);
    keys(&mut m, ":detections");
    assert_eq!(
        update(&mut m, code(KeyCode::Enter)),
        vec![Effect::LoadDetections]
    );
    assert_eq!(m.view, View::Detections);
    keys(&mut m, ":frobnicate");
    update(&mut m, code(KeyCode::Enter));
    let flash = m.flash.clone().expect("message");
    assert!(
        flash.warning && flash.text.contains(":frobnicate"),
        "{flash:?}"
    );
    // Syncs run in this console: quitting asks first.
    keys(&mut m, ":q");
    update(&mut m, code(KeyCode::Enter));
    assert!(!m.quit);
    let Some(Overlay::Confirm(cmd)) = &m.overlay else {
        panic!("no confirmation: {:?}", m.overlay);
    };
    assert!(
        cmd.confirmation()
            .unwrap_or_default()
            .contains("1 sync is running")
    );
    update(&mut m, key('n'));
    assert!(!m.quit && m.overlay.is_none());
    update(&mut m, key('q'));
    update(&mut m, key('y'));
    assert!(m.quit);
    // Nothing running here (a monitor only watches): q quits at once.
    let mut m = sample::model();
    m.session.origin = crate::tui::model::Origin::Monitor { shared: false };
    update(&mut m, key('q'));
    assert!(m.quit);
}

#[test]
fn commands_complete_by_prefix_and_tab() {
    let mut m = sample::model();
    keys(&mut m, ":det");
    assert_eq!(
        update(&mut m, code(KeyCode::Enter)),
        vec![Effect::LoadDetections]
    );
    assert_eq!(m.view, View::Detections);
    keys(&mut m, ":jo");
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.input, Some(Input::Command("jobs".into())));
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.view, View::Jobs);
    keys(&mut m, ":c");
    update(&mut m, code(KeyCode::Enter));
    let flash = m.flash.clone().expect("a message");
    assert!(
        flash.text.contains("ambiguous") && flash.text.contains(":configs, :changes"),
        "{flash:?}"
    );
}

#[test]
fn moving_the_cursor_loads_that_configs_history() {
    let mut m = sample::model();
    assert_eq!(update(&mut m, key('j')), vec![Effect::LoadHistory(2)]);
    assert!(m.dashboard.history.is_empty(), "old history dropped");
    assert_eq!(update(&mut m, key('G')), vec![Effect::LoadHistory(3)]);
    assert_eq!(update(&mut m, key('j')), vec![], "already at the bottom");
    update(
        &mut m,
        Msg::History {
            config_id: 3,
            jobs: vec![sample::job(9, 3, JobState::Failed, 0, 0)],
            resources: Vec::new(),
        },
    );
    assert_eq!(m.dashboard.history.len(), 1);
    // A late reply for a config no longer selected is ignored.
    update(
        &mut m,
        Msg::History {
            config_id: 1,
            jobs: Vec::new(),
            resources: Vec::new(),
        },
    );
    assert_eq!(m.dashboard.history.len(), 1);
}

#[test]
fn progress_events_update_the_live_view_and_a_finished_job_reloads() {
    let mut m = sample::model();
    m.dirty = false;
    let effects = update(
        &mut m,
        Msg::Engine(EngineEvent::Progress {
            job_id: 7,
            config_id: Some(1),
            progress: JobProgress {
                expected: 20_000,
                processed: 19_000,
                synced: 19_000,
                ..Default::default()
            },
            resources: sample::resources(3),
            eta_secs: Some(2),
        }),
    );
    assert!(effects.is_empty());
    assert!(m.dirty);
    let shown = m.progress_of(&m.configs[0].clone()).expect("progress");
    assert_eq!(shown.progress.processed, 19_000);
    assert_eq!(shown.eta_secs, Some(2));

    let effects = update(
        &mut m,
        Msg::Engine(EngineEvent::JobState {
            job_id: 7,
            config_id: Some(1),
            state: JobState::Failed,
            error: Some("destination: 401".into()),
        }),
    );
    assert_eq!(effects, vec![Effect::LoadSnapshot, Effect::LoadHistory(1)]);
    assert!(!m.live.contains_key(&1));
    let flash = m.flash.clone().expect("failure shown");
    assert!(flash.warning && flash.text.contains("national-to-regional"));
}

#[test]
fn ticks_move_the_clock_sample_throughput_and_reload_every_five_seconds() {
    let mut m = sample::model();
    let before = m.dashboard.throughput[&1].len();
    assert_eq!(update(&mut m, Msg::Tick(NOW + 1_000)), vec![]);
    assert_eq!(m.dashboard.throughput[&1].len(), before + 1);
    assert_eq!(m.dashboard.throughput[&1].back(), Some(&4_250));
    assert_eq!(
        update(&mut m, Msg::Tick(NOW + 5_000)),
        vec![Effect::LoadSnapshot]
    );
}

#[test]
fn settings_form_validates_with_apply_rules_before_saving() {
    let mut m = sample::model();
    update(&mut m, key('e'));
    assert!(matches!(m.overlay, Some(Overlay::Settings(_))));
    // check_interval: edit to 30s.
    update(&mut m, key('j'));
    update(&mut m, code(KeyCode::Enter));
    for _ in 0..5 {
        update(&mut m, code(KeyCode::Backspace));
    }
    keys(&mut m, "30s");
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, key('G'));
    assert_eq!(update(&mut m, code(KeyCode::Enter)), vec![], "refused");
    let Some(Overlay::Settings(form)) = &m.overlay else {
        panic!("form closed");
    };
    assert!(
        form.fields[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("at least 60s")
    );
    // Fix it and save.
    update(&mut m, key('g'));
    update(&mut m, key('j'));
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Backspace));
    keys(&mut m, "10m");
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, key('G'));
    let effects = update(&mut m, code(KeyCode::Enter));
    let [
        Effect::Run(Command::Setup {
            id: 1, settings, ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(settings.check_interval, std::time::Duration::from_secs(600));
    assert_eq!(m.overlay, None);
}

#[test]
fn jobs_view_retry_only_failed_and_asks_before_retry_all_and_clear() {
    let mut m = sample::model();
    update(&mut m, key('2'));
    m.jobs.list.cursor = 2; // completed
    assert_eq!(update(&mut m, key('r')), vec![]);
    assert!(
        m.flash
            .clone()
            .expect("why not")
            .text
            .contains("only failed")
    );
    m.jobs.list.cursor = 3; // failed
    assert_eq!(
        update(&mut m, key('r')),
        vec![Effect::Run(Command::Retry { job: 5 })]
    );
    assert_eq!(update(&mut m, key('R')), vec![]);
    assert_eq!(m.overlay, Some(Overlay::Confirm(Command::RetryAll)));
    assert_eq!(
        update(&mut m, code(KeyCode::Enter)),
        vec![Effect::Run(Command::RetryAll)]
    );
    update(&mut m, key('D'));
    assert_eq!(m.overlay, Some(Overlay::Confirm(Command::Clear)));
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.overlay, None);
    assert_eq!(
        update(&mut m, code(KeyCode::Enter)),
        vec![Effect::LoadJob(5)]
    );
}

#[test]
fn tail_scrolls_back_pauses_and_follows_again() {
    let mut m = sample::model();
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.pane, Pane::Tail);
    update(&mut m, key('k'));
    assert!(!m.tail_view.follow);
    assert_eq!(m.tail_view.back, 1);
    update(&mut m, key('G'));
    assert!(m.tail_view.follow);
    update(&mut m, key('v'));
    assert_eq!(m.tail_view.min_level, crate::logs::tail::TailLevel::Warn);
}

#[test]
fn key_releases_are_ignored() {
    let mut m = sample::model();
    let effects = update(
        &mut m,
        Msg::Key(KeyEvent {
            code: KeyCode::Char('t'),
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        }),
    );
    assert!(effects.is_empty());
}

#[test]
fn a_user_keymap_changes_what_a_key_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keymap.toml");
    std::fs::write(&path, "[scheduler]\ntrigger = [\"T\"]\n").expect("write");
    let mut m = sample::model();
    m.keymap = super::keymap::Keymap::load(&path).0;
    assert_eq!(update(&mut m, key('t')), vec![]);
    assert_eq!(update(&mut m, key('T')).len(), 1);
}

// ---- the log viewer: keys in, viewer state and session ops out ----

use super::log_fixture;
use super::state::logview::{
    DocAction, DocFrame, FileView, Jump, ListedFile, LogOp, LogReply, Mode, Top, ViewAt,
};

fn listed(name: &str, rotation: u32) -> ListedFile {
    ListedFile {
        name: name.into(),
        rotation,
        size: 100,
        modified: None,
    }
}

/// The logs view with three listed files.
fn logs_model() -> Model {
    let mut m = sample::model();
    assert_eq!(update(&mut m, key('4')), vec![Effect::Log(LogOp::List)]);
    let files = vec![
        listed("syncdeck.log", 0),
        listed("errors.log", 0),
        listed("syncdeck.log.1", 1),
    ];
    update(&mut m, Msg::Log(LogReply::Listed(Ok(files))));
    m
}

/// A frame of `rows` rows, all on hand, index done.
/// `rows` rows, all of them in the frame.
fn frame(rows: usize, following: bool) -> DocFrame {
    super::log_fixture::doc_frame(rows, 0, rows, following)
}

/// `logs_model` with syncdeck.log opened and answered.
fn opened(rows: usize) -> Model {
    let mut m = logs_model();
    update(&mut m, key('j'));
    let effects = update(&mut m, code(KeyCode::Enter));
    let height = m.logview.height;
    assert_eq!(
        effects,
        vec![Effect::Log(LogOp::Open {
            doc: 1,
            name: "syncdeck.log".into(),
            view: ViewAt {
                top: Top::End,
                height
            },
        })]
    );
    let reply = LogReply::Doc {
        doc: 1,
        frame: Ok(Box::new(frame(rows, true))),
        moved_to: None,
        current: None,
        note: None,
    };
    assert_eq!(update(&mut m, Msg::Log(reply)), vec![]);
    m
}

fn doc_action(effects: &[Effect]) -> Option<&DocAction> {
    effects.iter().find_map(|e| match e {
        Effect::Log(LogOp::Doc { action, .. }) => Some(action),
        _ => None,
    })
}

#[test]
fn logs_view_lists_files_then_opens_from_the_listing_and_esc_goes_back() {
    let mut m = opened(100);
    assert_eq!(m.logview.mode, Mode::File);
    let file = m.logview.open_file().expect("open");
    assert_eq!((file.name.as_str(), file.pending), ("syncdeck.log", 0));
    // Esc: back to the list (the document is closed), then the dashboard.
    assert_eq!(
        update(&mut m, code(KeyCode::Esc)),
        vec![Effect::Log(LogOp::Close)]
    );
    assert_eq!((m.view, m.logview.mode), (View::Logs, Mode::List));
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.view, View::Dashboard);

    // The first entry is the live tail; Esc from it returns to the list.
    let mut m = logs_model();
    update(&mut m, key('g'));
    assert_eq!(update(&mut m, code(KeyCode::Enter)), vec![]);
    assert_eq!(m.logview.mode, Mode::Live);
    update(&mut m, code(KeyCode::Esc));
    assert_eq!((m.view, m.logview.mode), (View::Logs, Mode::List));
}

#[test]
fn clearing_a_log_file_asks_first_naming_it_and_refuses_rotated_files() {
    let mut m = logs_model();
    update(&mut m, key('j'));
    update(&mut m, key('j'));
    assert_eq!(update(&mut m, key('c')), vec![]);
    let Some(Overlay::Confirm(cmd)) = &m.overlay else {
        panic!("no confirmation: {:?}", m.overlay);
    };
    let question = cmd.confirmation().unwrap_or_default();
    assert!(question.contains("errors.log"), "{question}");
    assert_eq!(
        update(&mut m, key('y')),
        vec![Effect::Run(Command::ClearLog {
            name: "errors.log".into()
        })]
    );

    update(&mut m, key('G'));
    assert_eq!(update(&mut m, key('c')), vec![]);
    assert_eq!(m.overlay, None);
    let flash = m.flash.clone().expect("message");
    assert!(
        flash.warning && flash.text.contains("syncdeck.log.1 is a rotated file"),
        "{flash:?}"
    );
}

#[test]
fn read_only_refuses_clearing_and_exporting_logs() {
    let mut m = opened(50);
    m.session.read_only = true;
    for k in ['c', 'S'] {
        assert_eq!(update(&mut m, key(k)), vec![], "key {k}");
        assert_eq!(m.overlay, None);
        let flash = m.flash.take().expect("a message");
        assert!(flash.text.starts_with("read-only"), "{flash:?}");
    }
    m.session.read_only = false;
    assert_eq!(
        update(&mut m, key('S')),
        vec![Effect::Run(Command::ExportLog {
            doc: 1,
            name: "syncdeck.log".into()
        })]
    );
}

#[test]
fn search_jumps_and_goto_become_session_ops() {
    let mut m = opened(100);
    // Typed into the search line, `c` is a letter, not "clear".
    keys(&mut m, "/Job c");
    assert_eq!(m.input, Some(Input::Search("Job c".into())));
    assert_eq!(m.overlay, None);
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Backspace));
    let effects = update(&mut m, code(KeyCode::Enter));
    let Some(DocAction::Search(Some(q))) = doc_action(&effects) else {
        panic!("no search: {effects:?}");
    };
    assert_eq!(
        (q.pattern.as_str(), q.ignore_case, q.regex),
        ("Job", false, false)
    );
    assert_eq!(m.logview.open_file().map(|f| f.pending), Some(1));

    // Lower case searches any case; `re:` is a regular expression.
    let q = super::update::logview::parse_query("re:time(out)?").expect("query");
    assert!(q.regex && q.ignore_case);

    // n from the end: the first match from the top of the screen on.
    let height = m.logview.height;
    let effects = update(&mut m, key('n'));
    assert_eq!(
        doc_action(&effects),
        Some(&DocAction::Jump(Jump::Match {
            from: Some(100 - height - 1),
            forward: true
        }))
    );
    let effects = update(&mut m, key('['));
    assert_eq!(
        doc_action(&effects),
        Some(&DocAction::Jump(Jump::Error {
            from: None,
            forward: false
        }))
    );

    keys(&mut m, ":goto 2026-11-21T10:00");
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        doc_action(&effects),
        Some(&DocAction::Jump(Jump::Time("2026-11-21 10:00".into())))
    );
    // A time of day alone is today's.
    keys(&mut m, ":goto 18:21");
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        doc_action(&effects),
        Some(&DocAction::Jump(Jump::Time("2026-11-21 18:21".into())))
    );
    keys(&mut m, ":go 9:05:30");
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        doc_action(&effects),
        Some(&DocAction::Jump(Jump::Time("2026-11-21 09:05:30".into())))
    );
    keys(&mut m, ":goto yesterday");
    assert_eq!(update(&mut m, code(KeyCode::Enter)), vec![]);
    let flash = m.flash.clone().expect("message");
    assert!(
        flash.warning && flash.text.contains("YYYY-MM-DD"),
        "{flash:?}"
    );
}

#[test]
fn scrolling_draws_from_the_frame_and_asks_only_for_rows_it_lacks() {
    let mut m = opened(100);
    let height = m.logview.height;
    // Rows 0..100 are all in the frame: no op for moving around.
    assert_eq!(update(&mut m, key('k')), vec![]);
    assert_eq!(
        m.logview.open_file().map(|f| f.top),
        Some(Top::Row(100 - height - 1))
    );
    assert_eq!(update(&mut m, key('g')), vec![]);
    assert_eq!(update(&mut m, key('G')), vec![]);
    assert_eq!(m.logview.open_file().map(|f| f.top), Some(Top::End));
    // Sideways and wrap are the view's own.
    update(&mut m, key('l'));
    assert_eq!(m.logview.open_file().map(|f| f.hscroll), Some(8));
    update(&mut m, key('w'));
    assert_eq!(
        m.logview.open_file().map(|f| (f.wrap, f.hscroll)),
        Some((true, 0))
    );

    // A frame holding only the end: going to the top asks for rows.
    let reply = LogReply::Doc {
        doc: 1,
        frame: Ok(Box::new(DocFrame {
            first_row: 5_000,
            ..frame_at_end(5_100)
        })),
        moved_to: None,
        current: None,
        note: None,
    };
    let mut m = opened(100);
    update(&mut m, Msg::Log(reply));
    let effects = update(&mut m, key('g'));
    assert_eq!(doc_action(&effects), Some(&DocAction::Refresh));
    // While that is on its way, more keys ask for nothing more.
    assert_eq!(update(&mut m, key('j')), vec![]);
}

fn frame_at_end(rows: usize) -> DocFrame {
    let mut f = frame(100, true);
    f.rows = rows;
    f
}

#[test]
fn esc_stops_indexing_before_leaving_and_ticks_poll_one_at_a_time() {
    let mut m = opened(10);
    let mut f = frame(10, false);
    f.index.done = false;
    f.index.scanned_bytes = 4;
    let reply = |f: DocFrame| {
        Msg::Log(LogReply::Doc {
            doc: 1,
            frame: Ok(Box::new(f)),
            moved_to: None,
            current: None,
            note: None,
        })
    };
    update(&mut m, reply(f.clone()));
    let effects = update(&mut m, Msg::LogTick);
    assert_eq!(doc_action(&effects), Some(&DocAction::Poll));
    assert_eq!(update(&mut m, Msg::LogTick), vec![], "one poll in flight");
    update(&mut m, reply(f.clone()));
    let effects = update(&mut m, code(KeyCode::Esc));
    assert_eq!(doc_action(&effects), Some(&DocAction::CancelIndex));
    assert_eq!(m.logview.mode, Mode::File);

    // An unchanged frame does not redraw; one for an older document is dropped.
    update(&mut m, reply(f.clone()));
    m.dirty = false;
    update(&mut m, Msg::LogTick);
    update(&mut m, reply(f.clone()));
    assert!(!m.dirty, "nothing changed");
    let stale = Msg::Log(LogReply::Doc {
        doc: 0,
        frame: Ok(Box::new(frame(3, false))),
        moved_to: None,
        current: None,
        note: None,
    });
    update(&mut m, stale);
    assert_eq!(m.logview.open_file().map(FileView::rows), Some(10));
}

#[test]
fn over_real_files_level_filter_export_and_clear_work_end_to_end() {
    let (mut m, mut s, dir) = log_fixture::viewer(24);
    log_fixture::type_keys(&mut m, &mut s, "j");
    log_fixture::send(&mut m, &mut s, code(KeyCode::Enter));
    assert_eq!(
        m.logview.open_file().map(FileView::rows),
        Some(log_fixture::MAIN_LINES)
    );
    // v: INFO, WARN, ERROR.
    log_fixture::type_keys(&mut m, &mut s, "vvv");
    assert_eq!(m.logview.open_file().map(FileView::rows), Some(6));
    // First error from the top, then the next one.
    log_fixture::type_keys(&mut m, &mut s, "g]");
    assert_eq!(m.logview.open_file().and_then(|f| f.current), Some(0));
    log_fixture::type_keys(&mut m, &mut s, "]");
    assert_eq!(m.logview.open_file().and_then(|f| f.current), Some(1));

    // Export: the dispatcher's effect is routed to the session as app does.
    let effects = log_fixture::send(&mut m, &mut s, key('S'));
    assert_eq!(effects.len(), 1, "{effects:?}");
    let reply = s.handle(LogOp::Export { doc: 1 });
    update(&mut m, Msg::Log(reply));
    let flash = m.flash.clone().expect("message");
    assert!(
        flash
            .text
            .starts_with("exported 6 lines of syncdeck.log to exports/syncdeck-"),
        "{flash:?}"
    );
    let exports: Vec<_> = std::fs::read_dir(dir.path().join("exports"))
        .expect("exports dir")
        .flatten()
        .collect();
    assert_eq!(exports.len(), 1);
    let text = std::fs::read_to_string(exports[0].path()).expect("export");
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().all(|l| l.contains("[ERROR]")), "{text}");

    // Clear: confirmed, done by the session's clear, the file reopened empty.
    log_fixture::send(&mut m, &mut s, key('c'));
    let effects = log_fixture::send(&mut m, &mut s, key('y'));
    assert_eq!(
        effects,
        vec![Effect::Run(Command::ClearLog {
            name: "syncdeck.log".into()
        })]
    );
    let result = super::log_session::clear_log(None, dir.path(), "syncdeck.log");
    let reply = LogReply::Cleared {
        name: "syncdeck.log".into(),
        result,
    };
    let effects = update(&mut m, Msg::Log(reply));
    log_fixture::run(&mut m, &mut s, effects);
    log_fixture::settle(&mut m, &mut s);
    assert_eq!(
        std::fs::metadata(dir.path().join("syncdeck.log"))
            .map(|m| m.len())
            .ok(),
        Some(0)
    );
    assert_eq!(m.logview.open_file().map(FileView::rows), Some(0));
    let listed = m.logview.files.iter().find(|f| f.name == "syncdeck.log");
    assert_eq!(listed.map(|f| f.size), Some(0));

    // Names not in the listing are refused by the session's clear.
    for bad in [
        "../syncdeck.log",
        "/etc/passwd",
        "syncdeck.log.1",
        "notes.txt",
    ] {
        let err = super::log_session::clear_log(None, dir.path(), bad).expect_err(bad);
        assert!(!err.is_empty());
    }
}

#[test]
fn keys_pressed_before_the_session_answers_still_step_through_levels_and_follow() {
    use crate::logs::LogLevel;
    let mut m = opened(10);
    let steps: Vec<_> = "vvvv"
        .chars()
        .map(|c| doc_action(&update(&mut m, key(c))).cloned())
        .collect();
    assert_eq!(
        steps,
        [
            Some(LogLevel::Info),
            Some(LogLevel::Warn),
            Some(LogLevel::Error),
            None
        ]
        .map(|l| Some(DocAction::Filter(l)))
    );
    let follows: Vec<_> = "ff"
        .chars()
        .map(|c| doc_action(&update(&mut m, key(c))).cloned())
        .collect();
    assert_eq!(
        follows,
        [
            Some(DocAction::Follow(false)),
            Some(DocAction::Follow(true))
        ]
    );
}

#[test]
fn a_failing_log_writer_shows_once_on_the_status_line_naming_the_file() {
    use crate::logs::{FailureNotice, LogFiles, LogFormat, LogName, LogSettings};
    let dir = tempfile::tempdir().unwrap();
    let files = LogFiles::open(
        dir.path(),
        &LogSettings::default(),
        LogFormat::Text,
        FailureNotice::HealthOnly,
    )
    .unwrap();
    let mut m = sample::model();
    // What the console's loop sends once a second when the state changed.
    let poll = |m: &mut Model| {
        let health = files.health();
        if health != m.log_health {
            assert_eq!(update(m, Msg::LogHealth(health)), vec![]);
        }
    };
    poll(&mut m);
    assert_eq!(m.flash, None);

    // The active file replaced by a directory: its writes fail.
    let path = dir.path().join("errors.log");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert!(files.write_record(LogName::Errors, b"a\n").is_err());
    poll(&mut m);
    let flash = m.flash.clone().expect("a warning");
    assert!(flash.warning);
    assert!(
        flash.text.starts_with(&format!(
            "cannot write the log file {}",
            files.dir().join("errors.log").display()
        )),
        "{}",
        flash.text
    );
    // More losses of the same outage do not repeat it over newer messages.
    update(&mut m, Msg::Done(Ok("job 7 queued again".into())));
    assert!(files.write_record(LogName::Errors, b"b\n").is_err());
    poll(&mut m);
    assert_eq!(m.flash.as_ref().unwrap().text, "job 7 queued again");

    std::fs::remove_dir(&path).unwrap();
    files.write_record(LogName::Errors, b"c\n").unwrap();
    poll(&mut m);
    let text = &m.flash.as_ref().unwrap().text;
    assert!(
        text.starts_with("log files can be written again; 2 log records lost"),
        "{text}"
    );
}

// ---- state shown right (issue 12, part 3) ----

fn hint_keys(m: &Model) -> Vec<String> {
    super::views::hint_pairs(m)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn a_cooldown_is_ended_by_its_key_and_the_row_stops_saying_cooldown() {
    use crate::engine::events::SchedulerStatus;
    let mut m = sample::model();
    // Not in cooldown: the key is not offered and says why when pressed.
    assert!(!hint_keys(&m).contains(&"u".to_string()));
    assert_eq!(update(&mut m, key('u')), vec![]);
    assert!(
        m.flash
            .take()
            .expect("a message")
            .text
            .contains("not in cooldown")
    );

    keys(&mut m, "jj");
    let cooling = m.selected_config().expect("config 3").clone();
    assert!(matches!(
        m.scheduler_of(&cooling),
        SchedulerStatus::Cooldown { .. }
    ));
    assert!(
        hint_keys(&m).contains(&"u".to_string()),
        "{:?}",
        hint_keys(&m)
    );
    assert_eq!(
        update(&mut m, key('u')),
        vec![Effect::Run(Command::ClearCooldown {
            id: 3,
            name: cooling.name.clone()
        })]
    );
    // The engine ends it: its event and the next snapshot both say so.
    update(
        &mut m,
        Msg::Engine(EngineEvent::Scheduler {
            config_id: 3,
            status: SchedulerStatus::Waiting {
                next_check_at: NOW + 60_000,
            },
        }),
    );
    let row = m.selected_config().expect("config 3").clone();
    assert_eq!(
        m.scheduler_of(&row),
        SchedulerStatus::Waiting {
            next_check_at: NOW + 60_000
        }
    );
    assert!(!hint_keys(&m).contains(&"u".to_string()));
    // Read-only refuses it in the dispatcher.
    m.session.read_only = true;
    m.schedulers.remove(&3);
    assert_eq!(update(&mut m, key('u')), vec![]);
    assert!(m.flash.expect("a message").text.starts_with("read-only"));
}

#[test]
fn the_selection_follows_its_item_by_id_across_reloads_and_filters() {
    let mut m = sample::model();
    keys(&mut m, "jj");
    assert_eq!(m.selected_config().map(|c| c.id), Some(3));
    // A reload where a new config sorts first: still config 3.
    let mut configs = m.configs.clone();
    let mut new = configs[1].clone();
    new.id = 9;
    new.name = "aaa-first".into();
    configs.insert(0, new);
    m.configs = configs;
    m.follow_selection();
    assert_eq!(m.dashboard.list.cursor, 3);
    assert_eq!(m.selected_config().map(|c| c.id), Some(3));
    // A filter that keeps it shows it; clearing the filter keeps it too.
    keys(&mut m, "/off");
    assert_eq!(m.selected_config().map(|c| c.id), Some(3));
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.selected_config().map(|c| c.id), Some(3));
    // A filter that hides it selects the first match, which then stays
    // selected when the filter goes, and its history is asked for.
    let effects = keys(&mut m, "/man");
    assert_eq!(m.selected_config().map(|c| c.id), Some(2));
    assert!(effects.contains(&Effect::LoadHistory(2)), "{effects:?}");
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.selected_config().map(|c| c.id), Some(2));

    // Jobs: new jobs arriving on top do not move the cursor off job 5.
    update(&mut m, key('2'));
    m.jobs.list.cursor = 3;
    m.remember_selection();
    assert_eq!(m.selected_job().map(|j| j.id), Some(5));
    let mut rows = m.jobs.rows.clone();
    rows.insert(0, sample::job(10, 1, JobState::Queued, 0, 0));
    rows.insert(0, sample::job(11, 1, JobState::Queued, 0, 0));
    update(&mut m, Msg::Jobs(rows));
    assert_eq!(m.selected_job().map(|j| j.id), Some(5));
}

#[test]
fn status_messages_expire_a_result_sooner_than_a_warning() {
    let mut m = sample::model();
    update(
        &mut m,
        Msg::Done(Ok("national-to-regional: sync queued as job 9".into())),
    );
    update(&mut m, Msg::Tick(NOW + 1_000));
    assert!(m.flash.is_some(), "shown at first");
    update(&mut m, Msg::Tick(NOW + 1_000 + crate::tui::flash::INFO_MS));
    assert_eq!(m.flash, None, "a result goes");

    update(
        &mut m,
        Msg::Done(Err("cannot trigger x: no such config".into())),
    );
    update(&mut m, Msg::Tick(NOW + 10_000));
    update(&mut m, Msg::Tick(NOW + 10_000 + crate::tui::flash::INFO_MS));
    assert!(m.flash.is_some(), "a warning stays longer");
    update(&mut m, Msg::Tick(NOW + 10_000 + crate::tui::flash::WARN_MS));
    assert_eq!(m.flash, None);

    // A lasting condition (log writes failing) stays until it changes.
    m.flash = Some(crate::tui::flash::Flash::lasting(
        "cannot write the log file",
    ));
    update(&mut m, Msg::Tick(NOW + 100_000));
    update(&mut m, Msg::Tick(NOW + 200_000));
    assert!(m.flash.is_some());
}

#[test]
fn read_only_and_manual_configs_are_not_offered_keys_that_would_be_refused() {
    let mut m = sample::model();
    let all = hint_keys(&m);
    for k in ["t", "s", "x", "e"] {
        assert!(all.contains(&k.to_string()), "{k} missing from {all:?}");
    }
    m.session.read_only = true;
    let ro = hint_keys(&m);
    for k in ["t", "s", "x", "e", "u"] {
        assert!(!ro.contains(&k.to_string()), "read-only offers {k}: {ro:?}");
    }
    assert!(ro.contains(&"?".to_string()), "{ro:?}");
    update(&mut m, key('2'));
    let jobs = hint_keys(&m);
    for k in ["r", "R", "D"] {
        assert!(
            !jobs.contains(&k.to_string()),
            "read-only offers {k}: {jobs:?}"
        );
    }
    assert!(jobs.contains(&"enter".to_string()));

    // A manual config has no scheduler: no start, stop or settings, and
    // pressing them says so instead of acting.
    let mut m = sample::model();
    keys(&mut m, "j");
    assert_eq!(
        m.selected_config().map(|c| c.auto.as_str()),
        Some("not configured")
    );
    let manual = hint_keys(&m);
    for k in ["s", "x", "e"] {
        assert!(
            !manual.contains(&k.to_string()),
            "manual offers {k}: {manual:?}"
        );
    }
    assert!(manual.contains(&"t".to_string()));
    for k in ['s', 'x', 'e'] {
        assert_eq!(update(&mut m, key(k)), vec![], "key {k}");
        assert_eq!(m.overlay, None);
        assert!(
            m.flash
                .take()
                .expect("a message")
                .text
                .contains("manual config")
        );
    }
}

// ---- failures explained (issue 12, part 4) ----

#[test]
fn the_whole_error_opens_from_dashboard_and_jobs_copies_and_leads_to_its_log_lines() {
    let mut m = sample::model();
    keys(&mut m, "jj");
    assert_eq!(update(&mut m, key('E')), vec![]);
    let Some(Overlay::Error(view)) = &m.overlay else {
        panic!("no error view: {:?}", m.overlay);
    };
    // The root cause is there, whole, and is the last cause.
    assert!(view.error.contains("(Connection refused)"), "{view:?}");
    assert!(
        view.causes()
            .last()
            .is_some_and(|c| c.contains("Connection refused")),
        "{:?}",
        view.causes()
    );
    let effects = update(&mut m, key('y'));
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(text.contains("http://127.0.0.1:9/api/system/info (Connection refused)"));
    assert!(m.flash.as_ref().is_some_and(|f| f.text.contains("OSC 52")));
    // o: the log tail, filtered to the failed job's lines.
    update(&mut m, key('o'));
    assert_eq!(m.view, View::Logs);
    assert_eq!(m.overlay, None);
    assert_eq!(m.tail_view.filter, "job=300");

    // From the jobs view: the selected job's error.
    update(&mut m, key('2'));
    m.jobs.list.cursor = 4;
    update(&mut m, key('E'));
    let Some(Overlay::Error(view)) = &m.overlay else {
        panic!("no error view: {:?}", m.overlay);
    };
    assert_eq!(view.job_id, Some(300));
    assert!(view.facts.iter().any(|f| f == "kind auth"), "{view:?}");
    update(&mut m, code(KeyCode::Esc));
    // A job without an error says so instead of opening an empty view.
    m.jobs.list.cursor = 2;
    update(&mut m, key('E'));
    assert_eq!(m.overlay, None);
    assert!(
        m.flash
            .expect("a message")
            .text
            .contains("no error recorded")
    );
}

#[test]
fn enter_on_a_resource_lists_what_the_destination_refused_of_it() {
    use crate::store::rejections::Rejection;
    let mut m = sample::model();
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.pane, Pane::Resources);
    update(&mut m, key('j'));
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::LoadRejections {
            job_id: 7,
            resource: "metadata:categories".into(),
            label: "categories (meta)".into(),
        }]
    );
    let rejection = |object: &str| Rejection {
        job_id: 7,
        resource: "metadata:categories".into(),
        object_key: object.into(),
        error_code: "E5002".into(),
        class: "reference".into(),
        message: "Invalid reference [xYz] on object".into(),
        first_seen: NOW,
        last_seen: NOW,
        times_seen: 1,
    };
    update(
        &mut m,
        Msg::Rejections {
            job_id: 7,
            resource: "categories (meta)".into(),
            rows: vec![rejection("abc123"), rejection("def456")],
        },
    );
    let Some(Overlay::Rejections { rows, .. }) = &m.overlay else {
        panic!("{:?}", m.overlay);
    };
    assert_eq!(rows.len(), 2);
    let effects = update(&mut m, key('y'));
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(
        text.contains("abc123\tE5002\treference\tInvalid reference"),
        "{text}"
    );
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.overlay, None);
    // Nothing refused: said, no empty overlay.
    update(
        &mut m,
        Msg::Rejections {
            job_id: 7,
            resource: "categories (meta)".into(),
            rows: Vec::new(),
        },
    );
    assert_eq!(m.overlay, None);
    assert!(m.flash.expect("a message").text.contains("refused nothing"));
}

#[test]
fn lists_sort_and_filter_by_state_and_the_selection_stays_on_its_item() {
    let mut m = sample::model();
    // By state: what needs the operator first (the failed config), then
    // the running one, then the rest; the cursor stays on config 1.
    assert_eq!(m.selected_config().map(|c| c.id), Some(1));
    let order: Vec<i64> = m.visible_configs().iter().map(|c| c.id).collect();
    assert_eq!(order, [1, 2, 3], "as loaded (by name) first");
    update(&mut m, key('O'));
    assert_eq!(m.sort_name(), "state");
    let order: Vec<i64> = m.visible_configs().iter().map(|c| c.id).collect();
    assert_eq!(order, [3, 1, 2]);
    assert_eq!(m.selected_config().map(|c| c.id), Some(1));
    assert_eq!(m.dashboard.list.cursor, 1);
    update(&mut m, key('O'));
    assert_eq!(m.sort_name(), "last run");
    update(&mut m, key('O'));
    assert_eq!(m.sort_name(), "name");
    m.dashboard.list.sort = 1;
    m.follow_selection();
    // Filtering by a state word.
    keys(&mut m, "/cooldown");
    let ids: Vec<i64> = m.visible_configs().iter().map(|c| c.id).collect();
    assert_eq!(ids, [3]);
    update(&mut m, code(KeyCode::Esc));
    keys(&mut m, "/manual");
    let ids: Vec<i64> = m.visible_configs().iter().map(|c| c.id).collect();
    assert_eq!(ids, [2]);
    update(&mut m, code(KeyCode::Esc));

    // Jobs by state: failed first, then running, queued, completed.
    update(&mut m, key('2'));
    update(&mut m, key('O'));
    assert_eq!(m.sort_name(), "state");
    let states: Vec<&str> = m.visible_jobs().iter().map(|j| j.state.as_str()).collect();
    assert_eq!(
        states,
        ["failed", "failed", "running", "queued", "completed"]
    );
    keys(&mut m, "/failed");
    assert_eq!(m.visible_jobs().len(), 2);
    update(&mut m, code(KeyCode::Esc));

    // Detections by changes, and filtered by the resource's name.
    update(&mut m, key('3'));
    keys(&mut m, "OO");
    assert_eq!(m.sort_name(), "changes");
    let counts: Vec<u64> = m
        .visible_detections()
        .iter()
        .map(|d| d.changed_count)
        .collect();
    assert_eq!(counts, [1_000, 3]);
    keys(&mut m, "/child");
    let shown: Vec<&str> = m
        .visible_detections()
        .iter()
        .map(|d| d.resource.as_str())
        .collect();
    assert_eq!(shown, ["dataValues:BfMAe6Itzgt"]);
}
