//! Every view at 80x24 and 160x48 on ratatui's TestBackend, compared with
//! the stored snapshots (`cargo insta review` after an intended change).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use super::model::{Model, Overlay, Pane, View};
use super::msg::Command;
use super::sample;
use super::state::settings::SettingsForm;
use super::views;

fn render(model: &Model, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal.draw(|f| views::draw(f, model)).expect("draw");
    terminal.backend().to_string()
}

fn render_buffer(model: &Model, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal.draw(|f| views::draw(f, model)).expect("draw");
    terminal.backend().buffer().clone()
}

fn both_sizes(name: &str, model: &Model) {
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(model, w, h));
    }
}

#[test]
fn dashboard() {
    both_sizes("dashboard", &sample::model());
}

#[test]
fn dashboard_idle_config_shows_last_result_and_cooldown() {
    let mut m = sample::model();
    m.dashboard.list.cursor = 2;
    m.pane = Pane::Resources;
    both_sizes("dashboard_cooldown", &m);
}

#[test]
fn dashboard_ascii_without_colour() {
    let mut m = sample::model();
    m.theme.ascii = true;
    m.theme.color = false;
    m.session.read_only = true;
    both_sizes("dashboard_ascii", &m);
}

#[test]
fn dashboard_filtered_with_input_line() {
    let mut m = sample::model();
    m.dashboard.list.filter = "man".into();
    m.input = Some(super::model::Input::Filter("man".into()));
    both_sizes("dashboard_filter", &m);
}

#[test]
fn jobs_view() {
    let mut m = sample::model();
    m.view = View::Jobs;
    m.jobs.list.cursor = 3;
    both_sizes("jobs", &m);
}

#[test]
fn job_detail() {
    let mut m = sample::model();
    m.view = View::Jobs;
    m.overlay = Some(Overlay::JobDetail {
        job: Box::new(sample::job(
            5,
            1,
            crate::store::queue::JobState::Failed,
            0,
            0,
        )),
        resources: sample::resources(6),
        scroll: 0,
    });
    both_sizes("job_detail", &m);
}

#[test]
fn detections_view() {
    let mut m = sample::model();
    m.view = View::Detections;
    both_sizes("detections", &m);
}

#[test]
fn logs_view_renders_escapes_inert() {
    let mut m = sample::model();
    m.view = View::Logs;
    m.logview.mode = super::state::logview::Mode::Live;
    both_sizes("logs", &m);
    let screen = render(&m, 160, 48);
    assert!(screen.contains("\\u{1b}]0;pwned\\u{7}"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn help_lists_the_live_keymap() {
    let mut m = sample::model();
    m.overlay = Some(Overlay::Help { scroll: 0 });
    both_sizes("help", &m);
}

#[test]
fn confirmation_names_the_target() {
    let mut m = sample::model();
    m.overlay = Some(Overlay::Confirm(Command::Stop {
        id: 1,
        name: "national-to-regional".into(),
    }));
    both_sizes("confirm_stop", &m);
    assert!(render(&m, 80, 24).contains("\"national-to-regional\""));
}

#[test]
fn settings_form_with_errors() {
    let mut m = sample::model();
    let mut form = SettingsForm::new(1, "national-to-regional", None);
    form.fields[1].value = "30s".into();
    form.cursor = 1;
    assert!(form.validate().is_none());
    m.overlay = Some(Overlay::Settings(form));
    both_sizes("settings", &m);
}

#[test]
fn too_small_terminal_says_so() {
    let m = sample::model();
    insta::assert_snapshot!("too_small_50x12", render(&m, 50, 12));
}

// ---- the log viewer, over real files in a temporary directory ----

use super::log_fixture::{code, send, type_keys, viewer};
use crossterm::event::KeyCode;

#[test]
fn log_viewer_lists_the_files_with_the_live_tail_first() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (m, _s, _dir) = viewer(h);
        let screen = render(&m, w, h);
        insta::assert_snapshot!(format!("logview_list_{w}x{h}"), screen);
        for name in [
            "live",
            "syncdeck.log",
            "errors.log",
            "auto_sync.log",
            "changes_detected.log",
            "sync_jobs.log",
            "syncdeck.log.1",
        ] {
            assert!(screen.contains(name), "{name} missing:\n{screen}");
        }
    }
}

#[test]
fn log_viewer_search_counts_and_highlights_matches() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (mut m, mut s, _dir) = viewer(h);
        type_keys(&mut m, &mut s, "j");
        send(&mut m, &mut s, code(KeyCode::Enter));
        type_keys(&mut m, &mut s, "/job");
        send(&mut m, &mut s, code(KeyCode::Enter));
        type_keys(&mut m, &mut s, "N");
        let screen = render(&m, w, h);
        insta::assert_snapshot!(format!("logview_search_{w}x{h}"), screen);
        assert!(screen.contains("/job: 84 matches"), "{screen}");
        // Highlighting is a style: every highlighted run spells the match.
        let buffer = render_buffer(&m, w, h);
        let mut runs = Vec::new();
        for y in 0..h {
            let mut run = String::new();
            for x in 0..w {
                let cell = &buffer[(x, y)];
                if cell.bg == Color::Yellow {
                    run.push_str(cell.symbol());
                } else if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
        }
        assert!(runs.len() >= 3, "few highlights: {runs:?}\n{screen}");
        assert!(runs.iter().all(|r| r == "job"), "{runs:?}");
    }
}

#[test]
fn log_viewer_shows_escape_sequences_in_a_file_as_inert_text() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (mut m, mut s, _dir) = viewer(h);
        type_keys(&mut m, &mut s, "jj");
        send(&mut m, &mut s, code(KeyCode::Enter));
        if w < 100 {
            // Wrapped, so the whole of each line is on an 80-column screen.
            type_keys(&mut m, &mut s, "w");
        }
        let screen = render(&m, w, h);
        insta::assert_snapshot!(format!("logview_escapes_{w}x{h}"), screen);
        assert!(screen.contains("\\u{1b}]0;pwned\\u{7}"), "{screen}");
        assert!(screen.contains("\\u{202e}evil"), "{screen}");
        let buffer = render_buffer(&m, w, h);
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(char::is_control),
                "a control character reached the screen: {:?}",
                cell.symbol()
            );
        }
    }
}

#[test]
fn the_running_resource_stays_in_view_until_the_operator_scrolls() {
    let mut m = sample::model();
    if let Some(live) = m.live.get_mut(&1) {
        live.resources = sample::resources(30);
    }
    let running_row = |screen: &str| {
        screen
            .lines()
            .any(|l| l.contains("metadata:categoryC") && l.contains("4.2k/s"))
    };
    assert!(running_row(&render(&m, 80, 24)), "{}", render(&m, 80, 24));
    // Scrolled by hand: the operator's position wins.
    m.pane = Pane::Resources;
    m.dashboard.resources_scroll = 0;
    assert!(!running_row(&render(&m, 80, 24)));
}
