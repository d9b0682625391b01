//! Every view at the five sizes operators use (80x24 to 200x50) on
//! ratatui's TestBackend while a sync runs, compared with the stored
//! snapshots (`cargo insta review` after an intended change), and checks
//! over those screens: no column header or resource name cut, the ETA shown.

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

/// The sizes every view is drawn and checked at.
const SIZES: [(u16, u16); 5] = [(80, 24), (100, 30), (120, 40), (160, 48), (200, 50)];

fn all_sizes(name: &str, model: &Model) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(model, w, h));
    }
}

#[test]
fn dashboard() {
    all_sizes("dashboard", &sample::model());
}

#[test]
fn dashboard_idle_config_shows_last_result_and_cooldown() {
    let mut m = sample::model();
    m.dashboard.list.cursor = 2;
    m.dashboard.history_of = Some(3);
    m.pane = Pane::Resources;
    all_sizes("dashboard_cooldown", &m);
}

#[test]
fn dashboard_ascii_without_colour() {
    let mut m = sample::model();
    m.theme.ascii = true;
    m.theme.color = false;
    m.session.read_only = true;
    all_sizes("dashboard_ascii", &m);
}

#[test]
fn dashboard_filtered_with_input_line() {
    let mut m = sample::model();
    m.dashboard.list.filter = "man".into();
    m.input = Some(super::model::Input::Filter("man".into()));
    all_sizes("dashboard_filter", &m);
}

#[test]
fn jobs_view() {
    let mut m = sample::model();
    m.view = View::Jobs;
    m.jobs.list.cursor = 3;
    all_sizes("jobs", &m);
}

#[test]
fn job_detail() {
    let mut m = sample::model();
    m.view = View::Jobs;
    let resources = sample::finished_resources();
    let mut job = sample::job(5, 1, crate::store::queue::JobState::Failed, 0, 0);
    // The job's totals are its resources' (as the engine keeps them).
    job.progress.synced = resources.iter().map(|r| r.synced).sum();
    job.progress.errors = resources.iter().map(|r| r.errors).sum();
    job.progress.processed = resources.iter().map(|r| r.processed).sum();
    job.progress.expected = resources.iter().map(|r| r.total).sum();
    m.overlay = Some(Overlay::JobDetail {
        job: Box::new(job),
        resources,
        scroll: 0,
    });
    all_sizes("job_detail", &m);
}

#[test]
fn detections_view() {
    let mut m = sample::model();
    m.view = View::Detections;
    all_sizes("detections", &m);
}

#[test]
fn logs_view_renders_escapes_inert() {
    let mut m = sample::model();
    m.view = View::Logs;
    m.logview.mode = super::state::logview::Mode::Live;
    all_sizes("logs", &m);
    let screen = render(&m, 160, 48);
    assert!(screen.contains("\\u{1b}]0;pwned\\u{7}"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn help_lists_the_live_keymap() {
    let mut m = sample::model();
    m.overlay = Some(Overlay::Help { scroll: 0 });
    all_sizes("help", &m);
}

#[test]
fn confirmation_names_the_target() {
    let mut m = sample::model();
    m.overlay = Some(Overlay::Confirm(Command::Stop {
        id: 1,
        name: "national-to-regional".into(),
    }));
    all_sizes("confirm_stop", &m);
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
    all_sizes("settings", &m);
}

#[test]
fn the_whole_error_and_the_refused_objects() {
    let mut m = sample::model();
    m.dashboard.list.cursor = 2;
    m.overlay = m
        .selected_config()
        .and_then(super::update::failures::config_error)
        .map(Overlay::Error);
    assert!(m.overlay.is_some());
    all_sizes("error_view", &m);
    for (w, h) in SIZES {
        let screen = render(&m, w, h);
        // The root cause, whole (the port too), at every size.
        let flat: String = screen
            .lines()
            .map(|l| l.trim_matches('"').trim_matches(|c| c == '│' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains("(Connection refused)"), "{w}x{h}\n{screen}");
        assert!(
            flat.contains("127.0.0.1:9/api/system/info"),
            "{w}x{h}\n{screen}"
        );
    }
    let rejection = |object: &str, code: &str, message: &str| crate::store::rejections::Rejection {
        job_id: 300,
        resource: "dataValues:VTdjfLXXmoi02".into(),
        object_key: object.into(),
        error_code: code.into(),
        class: "permanent".into(),
        message: message.into(),
        first_seen: sample::NOW,
        last_seen: sample::NOW,
        times_seen: 2,
    };
    m.overlay = Some(Overlay::Rejections {
        job_id: 300,
        resource: "Expanded immunization monthly (data)".into(),
        rows: vec![
            rejection(
                "fbfJHSPpUQD/202401/DiszpKrYNg8/HllvX50cXC0/HllvX50cXC0",
                "E7641",
                "Period 202401 is closed for data entry",
            ),
            rejection(
                "cYeuwXTCPkU/202401/DiszpKrYNg8/HllvX50cXC0/HllvX50cXC0",
                "E7619",
                "Value is not a valid number: 'twelve'",
            ),
        ],
        scroll: 0,
    });
    all_sizes("rejections", &m);
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
    for (w, h) in SIZES {
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
    for (w, h) in SIZES {
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
                    // A match the pane's right edge cuts (lines are not
                    // wrapped here) is highlighted as far as it shows.
                    let at_edge = x == w - 1 || cell.symbol() == "│";
                    runs.push((std::mem::take(&mut run), at_edge));
                }
            }
            if !run.is_empty() {
                runs.push((run, true));
            }
        }
        assert!(runs.len() >= 3, "few highlights: {runs:?}\n{screen}");
        assert!(
            runs.iter()
                .all(|(r, edge)| r == "job" || (*edge && "job".starts_with(r.as_str()))),
            "{runs:?}"
        );
    }
}

#[test]
fn log_viewer_shows_escape_sequences_in_a_file_as_inert_text() {
    for (w, h) in SIZES {
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
            .any(|l| l.contains("categoryCombos") && l.contains("4.2k/s"))
    };
    assert!(running_row(&render(&m, 80, 24)), "{}", render(&m, 80, 24));
    // Scrolled by hand: the operator's position wins.
    m.pane = Pane::Resources;
    m.dashboard.resources_scroll = 0;
    assert!(!running_row(&render(&m, 80, 24)));
}

// ---- layout checks over the rendered screens ----

/// Every header of every table the console draws.
const HEADERS: &[&str] = &[
    // configs
    "name",
    "source → dest",
    "source -> dest",
    "state",
    "queue",
    "last",
    // resources
    "kind",
    "resource",
    "progress",
    "objects",
    "result",
    "message",
    // history strip and jobs
    "job",
    "status",
    "when",
    "took",
    "id",
    "config",
    "attempt",
    "last error",
    // detections
    "at",
    "changes",
    "since",
];

/// The segments of a screen line between pane borders.
fn segments(line: &str) -> Vec<&str> {
    line.split(['│', '|']).collect()
}

/// Header rows of tables (segments with three known headers at least): no
/// word there may be a header cut short (`statu`, `progr`, `ty`) and
/// nothing may end in `…`. Returns how many header rows were seen.
fn check_headers(screen: &str, what: &str) -> usize {
    let mut found = 0;
    for line in screen.lines() {
        for segment in segments(line) {
            let padded = format!(" {segment} ");
            let known = HEADERS
                .iter()
                .filter(|h| padded.contains(&format!(" {h} ")))
                .count();
            if known < 3 {
                continue;
            }
            found += 1;
            for word in segment
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
            {
                let cut = HEADERS
                    .iter()
                    .flat_map(|h| h.split(' '))
                    .any(|h| h.len() > word.len() && h.starts_with(word));
                let whole = HEADERS.iter().flat_map(|h| h.split(' ')).any(|h| h == word);
                assert!(
                    whole || !cut,
                    "{what}: header {word:?} is cut in {segment:?}\n{screen}"
                );
            }
            assert!(!segment.contains('…'), "{what}: {segment:?}\n{screen}");
        }
    }
    found
}

/// Wherever the start of a resource name is on screen, a whole name is.
fn check_names(screen: &str, names: &[String], what: &str) {
    for line in screen.lines() {
        for name in names {
            let prefix: String = name.chars().take(8).collect();
            let mut from = 0;
            while let Some(at) = line[from..].find(&prefix) {
                let here = &line[from + at..];
                assert!(
                    names.iter().any(|n| here.starts_with(n.as_str())),
                    "{what}: resource name cut at {here:?}\n{screen}"
                );
                from += at + prefix.len();
            }
        }
    }
}

#[test]
fn at_every_size_no_header_or_resource_name_is_cut_and_the_eta_shows() {
    use crate::tui::names::resource_name;
    let base = sample::model();
    let mut names: Vec<String> = sample::resources(12)
        .iter()
        .chain(&sample::finished_resources())
        .map(|r| resource_name(&r.resource, &r.label).name)
        .collect();
    names.sort();
    names.dedup();
    let mut cooldown = sample::model();
    cooldown.dashboard.list.cursor = 2;
    cooldown.dashboard.history_of = Some(3);
    let mut all_started = sample::model();
    if let Some(live) = all_started.live.get_mut(&1) {
        for r in &mut live.resources {
            if r.status == crate::store::queue::ResourceStatus::Pending {
                r.status = crate::store::queue::ResourceStatus::Done;
            }
        }
    }
    let mut resources_pane = sample::model();
    resources_pane.pane = Pane::Resources;
    let mut jobs = sample::model();
    jobs.view = View::Jobs;
    let mut detail = sample::model();
    detail.view = View::Jobs;
    detail.overlay = Some(Overlay::JobDetail {
        job: Box::new(sample::job(
            5,
            1,
            crate::store::queue::JobState::Failed,
            0,
            0,
        )),
        resources: sample::finished_resources(),
        scroll: 0,
    });
    let mut detections = sample::model();
    detections.view = View::Detections;
    for (w, h) in SIZES {
        let screen = render(&base, w, h);
        let what = format!("dashboard {w}x{h}");
        assert!(
            check_headers(&screen, &what) >= 2,
            "{what}: tables missing\n{screen}"
        );
        check_names(&screen, &names, &what);
        // Resources still to start: no percent yet, the ETA a bound.
        assert!(screen.contains("ETA ≥42s"), "{what}: no ETA\n{screen}");
        assert!(
            screen.contains("4 of 12 resources (33%)"),
            "{what}\n{screen}"
        );
        // All started: the percent of objects, the ETA as it is.
        let screen = render(&all_started, w, h);
        assert!(screen.contains("ETA 42s"), "{what}: no ETA\n{screen}");
        assert!(
            screen.contains(" 41%  8,200 of 20,000 objects"),
            "{what}: no percent\n{screen}"
        );
        assert!(screen.contains("syncing 41%"), "{what}\n{screen}");
        for (model, view) in [
            (&cooldown, "idle"),
            (&resources_pane, "resources"),
            (&jobs, "jobs"),
            (&detail, "job detail"),
            (&detections, "detections"),
        ] {
            let screen = render(model, w, h);
            let what = format!("{view} {w}x{h}");
            assert!(
                check_headers(&screen, &what) >= 1,
                "{what}: no table\n{screen}"
            );
            check_names(&screen, &names, &what);
        }
        let screen = render(&detail, w, h);
        assert!(
            screen.contains("checked 7,993 · 1 deleted"),
            "job detail {w}x{h}: the deletion pass\n{screen}"
        );
        // Help is always offered, even where the hint bar is short.
        let last = screen.lines().last().unwrap_or_default().to_string();
        assert!(last.contains("? help"), "{w}x{h}: {last:?}");
        let last = render(&base, w, h)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        assert!(last.contains("? help"), "{w}x{h}: {last:?}");
    }
}
