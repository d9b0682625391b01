//! The `:` commands: their names, the prefixes that pick one, and Tab
//! completion. `update` runs what a line resolves to; `input` completes.

use super::keymap::Action;

/// Every command by its full name, and what it does (`None`: `goto`, which
/// takes a time and is the log viewer's).
pub const COMMANDS: &[(&str, Option<Action>)] = &[
    ("dashboard", Some(Action::ViewDashboard)),
    ("configs", Some(Action::ViewDashboard)),
    ("jobs", Some(Action::ViewJobs)),
    ("queue", Some(Action::ViewJobs)),
    ("detections", Some(Action::ViewDetections)),
    ("history", Some(Action::ViewDetections)),
    ("changes", Some(Action::ViewDetections)),
    ("logs", Some(Action::ViewLogs)),
    ("goto", None),
    ("help", Some(Action::Help)),
    ("quit", Some(Action::Quit)),
];

/// Short forms that win over prefixes (vim habits).
const ALIASES: &[(&str, &str)] = &[
    ("q", "quit"),
    ("h", "help"),
    ("d", "dashboard"),
    ("j", "jobs"),
    ("l", "logs"),
    ("log", "logs"),
];

/// The command a word names: itself, an alias, or the one command it is a
/// prefix of; else the candidates (none, or several).
pub fn resolve(word: &str) -> Result<&'static str, Vec<&'static str>> {
    if let Some((_, name)) = ALIASES.iter().find(|(a, _)| *a == word) {
        return Ok(name);
    }
    let candidates: Vec<&'static str> = COMMANDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| name.starts_with(word))
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        _ => candidates
            .iter()
            .find(|c| **c == word)
            .copied()
            .ok_or(candidates),
    }
}

/// Tab: the first word completed to the command it names (with a space
/// after `goto`), or to what all its candidates share.
pub fn complete(line: &str) -> String {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    if !rest.is_empty() || line.ends_with(' ') {
        return line.to_string();
    }
    match resolve(word) {
        Ok("goto") => "goto ".into(),
        Ok(name) if name.starts_with(word) => name.into(),
        Ok(_) => line.to_string(),
        Err(candidates) if candidates.is_empty() => line.to_string(),
        Err(candidates) => {
            let first = candidates[0];
            let shared = (word.len()..=first.len())
                .rev()
                .find(|n| candidates.iter().all(|c| c.starts_with(&first[..*n])))
                .unwrap_or(word.len());
            first[..shared].to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_one_command_and_tab_completes_it() {
        assert_eq!(resolve("det"), Ok("detections"));
        assert_eq!(resolve("q"), Ok("quit"));
        assert_eq!(resolve("j"), Ok("jobs"));
        assert_eq!(resolve("c"), Err(vec!["configs", "changes"]));
        assert_eq!(resolve("frob"), Err(vec![]));
        assert_eq!(complete("det"), "detections");
        assert_eq!(complete("go"), "goto ");
        assert_eq!(complete("c"), "c");
        assert_eq!(complete("ch"), "changes");
        assert_eq!(complete("goto 18:"), "goto 18:");
    }
}
