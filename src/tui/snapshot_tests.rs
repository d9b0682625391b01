//! Every view at 80x24 and 160x48 on ratatui's TestBackend, compared with
//! the stored snapshots (`cargo insta review` after an intended change).

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::model::{Command, Model, Overlay, Pane, View};
use super::sample;
use super::settings::SettingsForm;
use super::views;

fn render(model: &Model, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal.draw(|f| views::draw(f, model)).expect("draw");
    terminal.backend().to_string()
}

fn both_sizes(name: &str, model: &Model) {
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(model, w, h));
    }
}

#[test]
fn dashboard() {
    both_sizes("dashboard", &sample::model(160));
}

#[test]
fn dashboard_idle_config_shows_last_result_and_cooldown() {
    let mut m = sample::model(160);
    m.configs_list.cursor = 2;
    m.pane = Pane::Resources;
    both_sizes("dashboard_cooldown", &m);
}

#[test]
fn dashboard_ascii_without_colour() {
    let mut m = sample::model(160);
    m.theme.ascii = true;
    m.theme.color = false;
    m.session.read_only = true;
    both_sizes("dashboard_ascii", &m);
}

#[test]
fn dashboard_filtered_with_input_line() {
    let mut m = sample::model(160);
    m.configs_list.filter = "man".into();
    m.input = Some(super::model::Input::Filter("man".into()));
    both_sizes("dashboard_filter", &m);
}

#[test]
fn jobs_view() {
    let mut m = sample::model(160);
    m.view = View::Jobs;
    m.jobs_list.cursor = 3;
    both_sizes("jobs", &m);
}

#[test]
fn job_detail() {
    let mut m = sample::model(160);
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
    let mut m = sample::model(160);
    m.view = View::Detections;
    both_sizes("detections", &m);
}

#[test]
fn logs_view_renders_escapes_inert() {
    let mut m = sample::model(160);
    m.view = View::Logs;
    both_sizes("logs", &m);
    let screen = render(&m, 160, 48);
    assert!(screen.contains("\\u{1b}]0;pwned\\u{7}"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn help_lists_the_live_keymap() {
    let mut m = sample::model(160);
    m.overlay = Some(Overlay::Help);
    both_sizes("help", &m);
}

#[test]
fn confirmation_names_the_target() {
    let mut m = sample::model(160);
    m.overlay = Some(Overlay::Confirm(Command::Stop {
        id: 1,
        name: "national-to-regional".into(),
    }));
    both_sizes("confirm_stop", &m);
    assert!(render(&m, 80, 24).contains("\"national-to-regional\""));
}

#[test]
fn settings_form_with_errors() {
    let mut m = sample::model(160);
    let mut form = SettingsForm::new(1, "national-to-regional", None);
    form.fields[1].value = "30s".into();
    form.cursor = 1;
    assert!(form.validate().is_none());
    m.overlay = Some(Overlay::Settings(form));
    both_sizes("settings", &m);
}

#[test]
fn too_small_terminal_says_so() {
    let m = sample::model(160);
    insta::assert_snapshot!("too_small_50x12", render(&m, 50, 12));
}
