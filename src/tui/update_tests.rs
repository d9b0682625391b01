//! The pure update function: messages in, model and effects out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

use super::model::{Command, Input, Model, Overlay, Pane, View};
use super::sample::{self, NOW};
use super::update::{Effect, Msg, update};
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
    let mut m = sample::model(160);
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
    let mut m = sample::model(160);
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
    m.jobs_list.cursor = 3;
    assert_eq!(update(&mut m, key('r')), vec![]);
    assert!(m.flash.expect("message").text.contains("read-only"));
}

#[test]
fn filter_narrows_the_list_and_esc_clears_it() {
    let mut m = sample::model(160);
    keys(&mut m, "/man");
    assert_eq!(m.input, Some(Input::Filter("man".into())));
    assert_eq!(m.visible_configs().len(), 1);
    assert_eq!(m.selected_config().map(|c| c.id), Some(2));
    // Letters typed into the filter are not commands.
    assert!(keys(&mut m, "t").is_empty());
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.input, None);
    assert_eq!(m.configs_list.filter, "man");
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.configs_list.filter, "");
    assert_eq!(m.visible_configs().len(), 3);
}

#[test]
fn views_switch_by_number_command_line_and_esc() {
    let mut m = sample::model(160);
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
    keys(&mut m, ":q");
    update(&mut m, code(KeyCode::Enter));
    assert!(m.quit);
}

#[test]
fn moving_the_cursor_loads_that_configs_history() {
    let mut m = sample::model(160);
    assert_eq!(update(&mut m, key('j')), vec![Effect::LoadHistory(2)]);
    assert!(m.history.is_empty(), "old history dropped");
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
    assert_eq!(m.history.len(), 1);
    // A late reply for a config no longer selected is ignored.
    update(
        &mut m,
        Msg::History {
            config_id: 1,
            jobs: Vec::new(),
            resources: Vec::new(),
        },
    );
    assert_eq!(m.history.len(), 1);
}

#[test]
fn progress_events_update_the_live_view_and_a_finished_job_reloads() {
    let mut m = sample::model(160);
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
    let mut m = sample::model(160);
    let before = m.throughput[&1].len();
    assert_eq!(update(&mut m, Msg::Tick(NOW + 1_000)), vec![]);
    assert_eq!(m.throughput[&1].len(), before + 1);
    assert_eq!(m.throughput[&1].back(), Some(&4_250));
    assert_eq!(
        update(&mut m, Msg::Tick(NOW + 5_000)),
        vec![Effect::LoadSnapshot]
    );
}

#[test]
fn settings_form_validates_with_apply_rules_before_saving() {
    let mut m = sample::model(160);
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
    let mut m = sample::model(160);
    update(&mut m, key('2'));
    m.jobs_list.cursor = 2; // completed
    assert_eq!(update(&mut m, key('r')), vec![]);
    assert!(
        m.flash
            .clone()
            .expect("why not")
            .text
            .contains("only failed")
    );
    m.jobs_list.cursor = 3; // failed
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
    let mut m = sample::model(160);
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.pane, Pane::Tail);
    update(&mut m, key('k'));
    assert!(!m.tail_view.follow);
    assert_eq!(m.tail_view.back, 1);
    update(&mut m, key('G'));
    assert!(m.tail_view.follow);
    update(&mut m, key('v'));
    assert_eq!(m.tail_view.min_level, super::model::TailLevel::Warn);
}

#[test]
fn key_releases_are_ignored() {
    let mut m = sample::model(160);
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
    let mut m = sample::model(160);
    m.keymap = super::keymap::Keymap::load(&path).0;
    assert_eq!(update(&mut m, key('t')), vec![]);
    assert_eq!(update(&mut m, key('T')).len(), 1);
}
