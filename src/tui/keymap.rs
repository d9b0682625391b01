//! Key bindings: `keymap.toml` at the repo root holds the defaults (built in);
//! a user file in the config directory overrides single actions. Every key
//! the console reacts to goes through here, so help and hint bar are generated
//! from the live table and never drift from it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use toml::de::{DeTable, DeValue};

use crate::config::errors::{line_col, suggest};

/// The built-in bindings.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymap.toml");

macro_rules! actions {
    ($( $variant:ident => ($section:literal, $name:literal, $help:literal), )*) => {
        /// Everything a key can ask for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $( $variant, )* }

        impl Action {
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )* ];

            /// The `[section]` of keymap.toml the action lives in.
            pub fn section(self) -> &'static str {
                match self { $( Action::$variant => $section, )* }
            }

            /// The key name in keymap.toml.
            pub fn name(self) -> &'static str {
                match self { $( Action::$variant => $name, )* }
            }

            pub fn help(self) -> &'static str {
                match self { $( Action::$variant => $help, )* }
            }
        }
    };
}

actions! {
    Quit => ("global", "quit", "quit"),
    Help => ("global", "help", "help"),
    Command => ("global", "command", "command (:jobs, :logs, …)"),
    Filter => ("global", "filter", "filter"),
    Back => ("global", "back", "back"),
    Refresh => ("global", "refresh", "reload"),
    Repaint => ("global", "repaint", "repaint"),
    Up => ("navigation", "up", "up"),
    Down => ("navigation", "down", "down"),
    Left => ("navigation", "left", "left / scroll"),
    Right => ("navigation", "right", "right / scroll"),
    PageUp => ("navigation", "page_up", "page up"),
    PageDown => ("navigation", "page_down", "page down"),
    Top => ("navigation", "top", "top"),
    Bottom => ("navigation", "bottom", "bottom"),
    Open => ("navigation", "open", "open"),
    NextPane => ("navigation", "next_pane", "next pane"),
    PrevPane => ("navigation", "prev_pane", "previous pane"),
    ShowError => ("navigation", "error", "the whole error"),
    Copy => ("navigation", "copy", "copy it (OSC 52)"),
    JobLogs => ("navigation", "job_logs", "the job's log lines"),
    Sort => ("navigation", "sort", "sort the list (cycles)"),
    Start => ("scheduler", "start", "start scheduler"),
    Stop => ("scheduler", "stop", "stop scheduler"),
    Trigger => ("scheduler", "trigger", "sync now"),
    Settings => ("scheduler", "settings", "auto-sync settings"),
    Retry => ("scheduler", "retry", "retry job"),
    RetryAll => ("scheduler", "retry_all", "retry all failed"),
    Clear => ("scheduler", "clear", "clear finished jobs"),
    ClearCooldown => ("scheduler", "clear_cooldown", "end the cooldown"),
    ViewDashboard => ("views", "dashboard", "dashboard"),
    ViewJobs => ("views", "jobs", "jobs"),
    ViewDetections => ("views", "detections", "detections"),
    ViewLogs => ("views", "logs", "logs"),
    Follow => ("logs", "follow", "follow / pause"),
    Level => ("logs", "level", "level filter"),
    NextMatch => ("logs", "next_match", "next match"),
    PrevMatch => ("logs", "prev_match", "previous match"),
    NextError => ("logs", "next_error", "next ERROR line"),
    PrevError => ("logs", "prev_error", "previous ERROR line"),
    Wrap => ("logs", "wrap", "wrap long lines"),
    Export => ("logs", "export", "export the view to a file"),
    ClearFile => ("logs", "clear_file", "clear the log file"),
    Confirm => ("dialog", "confirm", "confirm"),
    Cancel => ("dialog", "cancel", "cancel"),
}

impl Action {
    /// Dialog keys are looked up only while a dialog is open; all others
    /// share one table, so a key means the same thing in every view.
    pub fn is_dialog(self) -> bool {
        self.section() == "dialog"
    }

    /// Changes something (goes through the dispatcher, which refuses it in
    /// read-only mode): the hint bar does not offer it then.
    pub fn changes_something(self) -> bool {
        matches!(
            self,
            Action::Start
                | Action::Stop
                | Action::Trigger
                | Action::Settings
                | Action::Retry
                | Action::RetryAll
                | Action::Clear
                | Action::ClearCooldown
                | Action::Export
                | Action::ClearFile
        )
    }

    /// Acts on a config's scheduler, which a manual config does not have.
    pub fn needs_scheduler(self) -> bool {
        matches!(
            self,
            Action::Start | Action::Stop | Action::Settings | Action::ClearCooldown
        )
    }
}

/// A key with its modifiers, normalised (Shift is part of the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// `KeyCode` has no `Ord`; we keep only the codes a binding can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
];

impl Chord {
    pub fn from_event(key: &KeyEvent) -> Option<Chord> {
        let code = match key.code {
            KeyCode::Char(' ') => KeyCodeOrd::Named("space"),
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, k)| *k == other)?.0),
        };
        Some(Chord {
            code,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `q`, `G`, `ctrl-c`, `alt-x`, `pagedown`, `f5`, `space`.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => {
                KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ if rest == "space" => KeyCodeOrd::Named("space"),
            _ => {
                if let Some(n) = rest
                    .strip_prefix('f')
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=12).contains(n))
                {
                    KeyCodeOrd::F(n)
                } else if let Some((name, _)) = NAMED.iter().find(|(n, _)| *n == rest) {
                    KeyCodeOrd::Named(name)
                } else {
                    return Err(format!(
                        "unknown key {text:?}; use a single character, a name like \"enter\", \"pagedown\", \"f5\", or a modifier like \"ctrl-r\""
                    ));
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(n) => f.write_str(n),
        }
    }
}

/// The live table: action → keys (in file order) and the reverse lookups.
#[derive(Debug, Clone)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<Chord>>,
}

/// A problem in a user keymap file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapWarning(pub String);

impl Keymap {
    /// The built-in bindings.
    pub fn defaults() -> Keymap {
        let mut keymap = Keymap {
            keys: BTreeMap::new(),
        };
        // The built-in file is part of the binary and tested; if it were
        // broken the keymap tests fail, so its errors are not reported here.
        let _ = keymap.overlay(Path::new("keymap.toml (built in)"), DEFAULT_KEYMAP);
        keymap
    }

    /// Defaults plus the user file at `path` if it exists. A broken file
    /// leaves the defaults in place and says what is wrong.
    pub fn load(path: &Path) -> (Keymap, Option<KeymapWarning>) {
        let defaults = Keymap::defaults();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (defaults, None),
            Err(e) => {
                return (
                    defaults,
                    Some(KeymapWarning(format!(
                        "{}: cannot read ({e}); using the default keys",
                        path.display()
                    ))),
                );
            }
        };
        let mut keymap = defaults.clone();
        match keymap.overlay(path, &text) {
            Ok(()) => (keymap, None),
            Err(errors) => {
                let more = match errors.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                let first = errors.into_iter().next().unwrap_or_default();
                (
                    defaults,
                    Some(KeymapWarning(format!(
                        "{first}{more}; using the default keys"
                    ))),
                )
            }
        }
    }

    /// Applies the bindings in `text` on top of this table.
    fn overlay(&mut self, path: &Path, text: &str) -> Result<(), Vec<String>> {
        let file = path.display().to_string();
        let at = |offset: usize| {
            let (line, col) = line_col(text, offset);
            format!("{file}:{line}:{col}")
        };
        let (root, syntax) = DeTable::parse_recoverable(text);
        if let Some(e) = syntax.first() {
            let offset = e.span().map_or(0, |s| s.start);
            return Err(vec![format!(
                "{}: TOML syntax: {}",
                at(offset),
                e.message().trim_end()
            )]);
        }
        let sections: Vec<&str> = {
            let mut s: Vec<&str> = Action::ALL.iter().map(|a| a.section()).collect();
            s.dedup();
            s
        };
        let mut errors = Vec::new();
        let mut changes: Vec<(Action, Vec<Chord>)> = Vec::new();
        for (section, value) in root.get_ref().iter() {
            let section_name = section.get_ref().as_ref();
            let DeValue::Table(table) = value.get_ref() else {
                errors.push(format!(
                    "{}: {section_name}: expected a [section] of actions",
                    at(section.span().start)
                ));
                continue;
            };
            if !sections.contains(&section_name) {
                let hint = suggest(section_name, &sections)
                    .map_or_else(String::new, |s| format!(" (did you mean [{s}]?)"));
                errors.push(format!(
                    "{}: [{section_name}]: unknown section{hint}",
                    at(section.span().start)
                ));
                continue;
            }
            let names: Vec<&str> = Action::ALL
                .iter()
                .filter(|a| a.section() == section_name)
                .map(|a| a.name())
                .collect();
            for (key, keys) in table.iter() {
                let key_name = key.get_ref().as_ref();
                let Some(action) = Action::ALL
                    .iter()
                    .copied()
                    .find(|a| a.section() == section_name && a.name() == key_name)
                else {
                    let hint = suggest(key_name, &names)
                        .map_or_else(String::new, |s| format!(" (did you mean {s}?)"));
                    errors.push(format!(
                        "{}: {section_name}.{key_name}: unknown action{hint}",
                        at(key.span().start)
                    ));
                    continue;
                };
                let DeValue::Array(items) = keys.get_ref() else {
                    errors.push(format!(
                        "{}: {section_name}.{key_name}: expected a list of keys, e.g. [\"k\", \"up\"]",
                        at(keys.span().start)
                    ));
                    continue;
                };
                let mut chords = Vec::new();
                for item in items.iter() {
                    match item.get_ref().as_str().map(Chord::parse) {
                        Some(Ok(c)) => chords.push(c),
                        Some(Err(e)) => errors.push(format!(
                            "{}: {section_name}.{key_name}: {e}",
                            at(item.span().start)
                        )),
                        None => errors.push(format!(
                            "{}: {section_name}.{key_name}: keys are strings, e.g. \"ctrl-r\"",
                            at(item.span().start)
                        )),
                    }
                }
                changes.push((action, chords));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (action, chords) in changes {
            // A key given to this action is taken from every other action
            // of the same lookup table, so one key never means two things.
            for (other, keys) in self.keys.iter_mut() {
                if *other != action && other.is_dialog() == action.is_dialog() {
                    keys.retain(|k| !chords.contains(k));
                }
            }
            self.keys.insert(action, chords);
        }
        Ok(())
    }

    /// The action bound to `key`: dialog keys while a dialog is open,
    /// the shared table otherwise.
    pub fn action(&self, key: &KeyEvent, in_dialog: bool) -> Option<Action> {
        let chord = Chord::from_event(key)?;
        self.keys
            .iter()
            .find(|(a, keys)| a.is_dialog() == in_dialog && keys.contains(&chord))
            .map(|(a, _)| *a)
    }

    /// The keys of an action, for help and hints (`k/up`).
    pub fn keys(&self, action: Action) -> &[Chord] {
        self.keys.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `k/up`, or `-` when unbound.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "-".into();
        }
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key of an action, for the compact hint bar.
    pub fn short(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(|| "-".into(), ToString::to_string)
    }
}

/// The user's keymap file: `keymap.toml` in the syncdeck config directory.
pub fn user_keymap_path() -> Option<std::path::PathBuf> {
    std::env::var_os("SYNCDECK_KEYMAP")
        .map(std::path::PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("syncdeck").join("keymap.toml")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: mods,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn defaults_parse_bind_every_action_and_never_share_a_key() {
        let mut km = Keymap {
            keys: BTreeMap::new(),
        };
        km.overlay(Path::new("keymap.toml"), DEFAULT_KEYMAP)
            .expect("built-in keymap parses");
        for a in Action::ALL {
            assert!(!km.keys(*a).is_empty(), "{a:?} has no default key");
        }
        let mut seen = BTreeMap::new();
        for (a, keys) in &km.keys {
            for k in keys {
                if let Some(other) = seen.insert((a.is_dialog(), *k), *a) {
                    panic!("{k} is bound to both {other:?} and {a:?}");
                }
            }
        }
    }

    #[test]
    fn vim_keys_and_arrows_both_work_and_shift_is_in_the_character() {
        let km = Keymap::defaults();
        assert_eq!(km.action(&ch('j'), false), Some(Action::Down));
        assert_eq!(
            km.action(&key(KeyCode::Down, KeyModifiers::NONE), false),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(&key(KeyCode::Char('G'), KeyModifiers::SHIFT), false),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), false),
            Some(Action::Quit)
        );
        assert_eq!(km.action(&ch('y'), true), Some(Action::Confirm));
        // Outside a dialog y copies (dialog keys are a table of their own).
        assert_eq!(km.action(&ch('y'), false), Some(Action::Copy));
    }

    #[test]
    fn a_user_file_overrides_one_action_and_takes_its_key_from_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keymap.toml");
        std::fs::write(&path, "[scheduler]\ntrigger = [\"x\", \"ctrl-t\"]\n").expect("write");
        let (km, warning) = Keymap::load(&path);
        assert_eq!(warning, None);
        assert_eq!(km.action(&ch('x'), false), Some(Action::Trigger));
        assert_eq!(km.action(&ch('t'), false), None);
        assert!(km.keys(Action::Stop).is_empty(), "x was taken from stop");
        assert_eq!(km.action(&ch('q'), false), Some(Action::Quit));
        assert_eq!(km.label(Action::Trigger), "x/ctrl-t");
    }

    #[test]
    fn a_broken_user_file_gives_defaults_and_a_warning_with_file_line_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keymap.toml");
        std::fs::write(&path, "[scheduler]\nstart = [\"s\"]\ntriger = [\"T\"]\n").expect("write");
        let (km, warning) = Keymap::load(&path);
        let warning = warning.expect("a warning").0;
        assert!(warning.contains("keymap.toml:3:1"), "{warning}");
        assert!(warning.contains("scheduler.triger"), "{warning}");
        assert!(warning.contains("did you mean trigger"), "{warning}");
        assert_eq!(km.action(&ch('t'), false), Some(Action::Trigger));

        std::fs::write(&path, "[views]\njobs = [\"ctrl-\"]\n").expect("write");
        let warning = Keymap::load(&path).1.expect("a warning").0;
        assert!(
            warning.contains(":2:9: views.jobs: unknown key"),
            "{warning}"
        );

        std::fs::write(&path, "[views\n").expect("write");
        let warning = Keymap::load(&path).1.expect("a warning").0;
        assert!(warning.contains("TOML syntax"), "{warning}");
    }

    #[test]
    fn chords_round_trip() {
        for text in [
            "q", "G", "ctrl-c", "alt-x", "f5", "pagedown", "space", "?", "-",
        ] {
            assert_eq!(Chord::parse(text).expect(text).to_string(), text);
        }
        assert!(Chord::parse("f13").is_err());
        assert!(Chord::parse("hyper-x").is_err());
    }
}
