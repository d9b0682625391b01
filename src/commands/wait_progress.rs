//! How `trigger --wait` shows a running job: a progress bar (indicatif) when
//! stderr is a terminal, otherwise one plain line per resource started (for
//! logs and CI); and the summary after it, without resources that had
//! nothing to do.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::store::queue::{Job, ResourceProgress, ResourceStatus};
use crate::text::inert;

/// Longest resource name shown beside the bar, in characters.
const NAME_CHARS: usize = 48;

pub enum WaitProgress {
    Bar(ProgressBar),
    Lines { shown: Option<String> },
}

impl WaitProgress {
    /// A bar on a terminal stderr (stdout keeps the summary), lines otherwise.
    pub fn new() -> WaitProgress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style());
            bar.enable_steady_tick(Duration::from_millis(200));
            WaitProgress::Bar(bar)
        } else {
            WaitProgress::Lines { shown: None }
        }
    }

    pub fn update(&mut self, job: &Job) {
        let p = &job.progress;
        match self {
            WaitProgress::Bar(bar) => {
                // The total is known once the plan is made; until then the
                // bar only spins.
                if p.expected > 0 {
                    bar.set_length(p.expected);
                }
                bar.set_position(p.processed);
                let name = p
                    .current_resource
                    .as_deref()
                    .map(|r| crate::text::sanitize(r, NAME_CHARS))
                    .unwrap_or_else(|| "starting".into());
                bar.set_message(format!("{} synced · {name}", p.synced));
            }
            WaitProgress::Lines { shown } => {
                if p.current_resource != *shown {
                    shown.clone_from(&p.current_resource);
                    if let Some(r) = shown {
                        eprintln!("job {}: {}", job.id, inert(r));
                    }
                }
            }
        }
    }

    /// Removes the bar (the summary follows on stdout).
    pub fn finish(self) {
        if let WaitProgress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Elapsed, bar, percent of processed / expected, counts, speed, ETA, then
/// what is synced and the resource running.
const TEMPLATE: &str = "{spinner} {elapsed:>4} [{bar:30}] {percent:>3}% {human_pos}/{human_len} {per_sec} ETA {eta}  {wide_msg}";

fn style() -> ProgressStyle {
    ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The rows of a job's summary worth a line: not those where every count is
/// zero (a resource with nothing to send); with how many were left out.
pub fn summary_rows(resources: &[ResourceProgress]) -> (Vec<&ResourceProgress>, usize) {
    let (shown, quiet): (Vec<_>, Vec<_>) = resources.iter().partition(|r| {
        r.total != 0
            || r.processed != 0
            || r.synced != 0
            || r.errors != 0
            || r.message.is_some()
            || r.status == ResourceStatus::Failed
    });
    (shown, quiet.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, total: u64, synced: u64, errors: u64) -> ResourceProgress {
        ResourceProgress {
            resource: name.into(),
            label: String::new(),
            rtype: "metadata".into(),
            position: 0,
            status: ResourceStatus::Done,
            total,
            processed: total,
            synced,
            errors,
            speed: 0.0,
            message: None,
        }
    }

    #[test]
    fn the_summary_leaves_out_rows_with_nothing_to_do() {
        let mut failed = row("metadata:users", 0, 0, 0);
        failed.message = Some("refused".into());
        let rows = [
            row("metadata:dataElements", 12, 12, 0),
            row("metadata:attributes", 0, 0, 0),
            row("dataValues:x", 5, 3, 2),
            row("deletions:dataElements", 0, 0, 0),
            failed,
        ];
        let (shown, hidden) = summary_rows(&rows);
        let names: Vec<&str> = shown.iter().map(|r| r.resource.as_str()).collect();
        assert_eq!(
            names,
            ["metadata:dataElements", "dataValues:x", "metadata:users"]
        );
        assert_eq!(hidden, 2);
    }

    #[test]
    fn the_bar_template_parses() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }
}
