//! The operator's command after a change: argv (no shell), the document's
//! path and hash in its environment, a timeout, its output in the logs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tracing::{info, warn};

/// Lines of output logged at most (the rest is counted).
const MAX_LINES: usize = 50;

/// Runs `argv`; `Err` says why it did not succeed (not found, exit status,
/// timeout). A command still running at the timeout is killed.
pub async fn run(
    config: &str,
    argv: &[String],
    target: &Path,
    hash: &str,
    timeout: Duration,
) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let shown = crate::text::inert(&argv.join(" "));
    let child = tokio::process::Command::new(program)
        .args(args)
        .env("SYNCDECK_CONFIG_FILE", target)
        .env("SYNCDECK_CONFIG_HASH", hash)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("on_change {shown} could not start: {e}"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => {
            return Err(format!(
                "on_change {shown} still ran after {}; killed (raise on_change_timeout if it needs longer)",
                humantime::format_duration(timeout)
            ));
        }
        Ok(Err(e)) => return Err(format!("on_change {shown}: {e}")),
        Ok(Ok(output)) => output,
    };
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.lines().collect();
        for line in lines.iter().take(MAX_LINES) {
            info!(target: "config_sync", config, "on_change {stream}: {}", crate::text::sanitize(line, 500));
        }
        if lines.len() > MAX_LINES {
            info!(target: "config_sync", config, "on_change {stream}: … {} more lines", lines.len() - MAX_LINES);
        }
    }
    if output.status.success() {
        info!(target: "config_sync", config, "on_change {shown} succeeded");
        Ok(())
    } else {
        let why = format!("on_change {shown} failed ({})", output.status);
        warn!(target: "config_sync", config, "{why}");
        Err(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn the_command_gets_the_document_and_its_failures_are_said() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("seen");
        let script = format!(
            "echo \"$SYNCDECK_CONFIG_FILE $SYNCDECK_CONFIG_HASH\" > {}",
            out.display()
        );
        let target = dir.path().join("site.json");
        let secs = Duration::from_secs(10);
        run("site", &argv(&script), &target, "abc", secs)
            .await
            .unwrap();
        let seen = std::fs::read_to_string(&out).unwrap();
        assert_eq!(seen.trim(), format!("{} abc", target.display()));

        let err = run("site", &argv("exit 3"), &target, "abc", secs)
            .await
            .unwrap_err();
        assert!(err.contains("failed (exit status: 3)"), "{err}");
        let err = run("site", &["/no/such/program".into()], &target, "abc", secs)
            .await
            .unwrap_err();
        assert!(err.contains("could not start"), "{err}");
        let err = run(
            "site",
            &argv("sleep 30"),
            &target,
            "abc",
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(err.contains("killed (raise on_change_timeout"), "{err}");
        assert!(
            run("site", &[], &target, "abc", secs).await.is_ok(),
            "none set"
        );
    }
}
