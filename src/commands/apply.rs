//! `syncdeck apply` and `syncdeck export`.

use crate::output::outln;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::model::SecretRef;
use crate::config::spec::ConfigFile;
use crate::config::{ValidationError, ValidationErrors, export, file};
use crate::engine::{EngineError, EngineHandle};
use crate::store::{Action, ApplyPlan, Change};

/// Exit code of an invalid file (as opposed to 1, "could not run").
const INVALID: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct ApplyOptions {
    /// The configuration file (TOML); `syncdeck init FILE` writes a commented example.
    #[arg(short = 'f', long = "file", value_name = "FILE.toml")]
    pub file: PathBuf,
    /// Also delete sync configs (with their jobs and history) and unused
    /// instances that the file does not declare.
    #[arg(long)]
    pub prune: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan (or the errors) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExportOptions {
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

/// Validates the file exactly as the engine's `apply` does (here, or in the
/// daemon with `--connect`) and applies it, or says what it would do.
pub async fn apply(engine: &EngineHandle, opts: ApplyOptions) -> anyhow::Result<ExitCode> {
    let name = opts.file.display().to_string();
    let invalid = |errors: ValidationErrors| -> anyhow::Result<ExitCode> {
        if opts.json {
            outln!("{}", serde_json::json!({ "errors": errors.0 }))?;
        } else {
            eprintln!("{errors}");
        }
        eprintln!("{name}: {} error(s); nothing applied", errors.0.len());
        Ok(ExitCode::from(INVALID))
    };
    let text = match std::fs::read_to_string(&opts.file) {
        Ok(t) => t,
        Err(e) => {
            return invalid(ValidationErrors(vec![ValidationError {
                file: name.clone(),
                line: 0,
                col: 0,
                key: String::new(),
                message: format!("cannot read the file: {e}"),
            }]));
        }
    };
    let plan = match engine.apply(&name, &text, opts.prune, opts.dry_run).await {
        Ok(plan) => plan,
        Err(EngineError::InvalidConfig(errors)) => return invalid(errors),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("applying {name}"))),
    };
    if opts.json {
        outln!("{}", serde_json::to_string_pretty(&plan)?)?;
    } else {
        crate::output::text(&render(&plan))?;
    }
    // The warnings read the file again, knowing the instances the plan
    // names (stored, or declared by the file), as the engine did.
    let known: BTreeSet<String> = plan
        .instances
        .iter()
        .filter(|c| c.action != Action::Prune)
        .map(|c| c.name.clone())
        .collect();
    if let Ok(config) = file::parse(&opts.file, &text, &known) {
        warn_unset_env(&config);
        warn_opted_in(&config);
    }
    Ok(ExitCode::SUCCESS)
}

/// `where_` names the database or daemon in the header comment.
pub async fn export(
    engine: &EngineHandle,
    opts: ExportOptions,
    where_: &str,
) -> anyhow::Result<ExitCode> {
    let config = engine.export().await?;
    if config.instances.is_empty() && config.syncs.is_empty() {
        // On stderr: stdout stays the (valid, empty) document.
        eprintln!(
            "note: {where_} holds no configuration yet; `syncdeck init FILE` writes a commented example to edit and apply"
        );
    }
    if opts.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&export::to_json(&config))?
        )?;
    } else {
        crate::output::text(&export::to_toml(&config, where_)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `+ instance national`, `~ sync x (auto.check_interval 5m → 10m)`, … and a summary.
pub fn render(plan: &ApplyPlan) -> String {
    let mut out = String::new();
    let mut line = |what: &str, c: &Change| {
        let (sign, tail) = match c.action {
            Action::Create => ('+', String::new()),
            Action::Update => {
                let fields: Vec<String> = c
                    .fields
                    .iter()
                    .map(|f| format!("{} {} → {}", f.field, shown(&f.from), shown(&f.to)))
                    .collect();
                ('~', format!(" ({})", fields.join(", ")))
            }
            Action::Unchanged => ('=', String::new()),
            Action::Prune => ('-', " (pruned)".to_string()),
            Action::Keep => ('?', String::new()),
        };
        let note = c
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push_str(&format!("{sign} {what} {}{tail}{note}\n", c.name));
    };
    for c in &plan.instances {
        line("instance", c);
    }
    for c in &plan.syncs {
        line("sync", c);
    }
    let summary = format!(
        "{} created, {} updated, {} unchanged, {} pruned",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Unchanged),
        plan.count(Action::Prune),
    );
    if plan.dry_run {
        out.push_str(&format!("dry run, nothing written: would be {summary}\n"));
    } else if plan.is_noop() {
        out.push_str(&format!("nothing to do: {summary}\n"));
    } else {
        out.push_str(&format!("applied: {summary}\n"));
    }
    out
}

fn shown(v: &str) -> &str {
    if v.is_empty() { "(none)" } else { v }
}

/// Naming a type that `*` leaves out (users, credentials, server-local state)
/// moves it: allowed, but said out loud.
fn warn_opted_in(config: &ConfigFile) {
    for s in &config.syncs {
        let named = crate::connectors::dhis2::syncable::opted_in(&s.selection.metadata);
        let named: Vec<&str> = named
            .into_iter()
            .filter(|t| !s.selection.exclude.iter().any(|e| e == t))
            .collect();
        if !named.is_empty() {
            eprintln!(
                "warning: sync {}: metadata names {}, which `*` leaves out (users, credentials or server-local state); \
                 they will be moved and overwrite the destination's own",
                s.name,
                named.join(", ")
            );
        }
    }
}

/// A reference that does not resolve here is not an error (the daemon may run
/// elsewhere), but worth a word. Never prints a value.
fn warn_unset_env(config: &ConfigFile) {
    for i in &config.instances {
        if let SecretRef::PasswordEnv(var) | SecretRef::TokenEnv(var) = &i.secret
            && std::env::var_os(var).is_none_or(|v| v.is_empty())
        {
            eprintln!(
                "note: instance {}: environment variable {var} is not set here; the process that syncs needs it",
                i.name
            );
        }
    }
}
