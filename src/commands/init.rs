//! `syncdeck init [FILE]`: the commented example configuration, to edit and
//! then `apply`. Embedded in the binary: a user of a release has no
//! `assets/` directory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// `assets/example.toml`, as shipped.
pub const EXAMPLE: &str = include_str!("../../assets/example.toml");

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Where to write it; `-` or nothing prints it on stdout.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Replace FILE if it exists (without this an existing file is refused).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = args.file.filter(|p| p.as_os_str() != "-") else {
        crate::output::text(EXAMPLE)?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if args.force {
        open.create(true).truncate(true);
    } else {
        // Atomic: a file that appears meanwhile is not overwritten either.
        open.create_new(true);
    }
    let mut file = match open.open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            anyhow::bail!(
                "{} exists; nothing written (--force replaces it, or choose another FILE)",
                path.display()
            )
        }
        other => other.with_context(|| format!("cannot create {}", path.display()))?,
    };
    file.write_all(EXAMPLE.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "wrote {path}: edit its instances and syncs, then `syncdeck apply -f {path} --dry-run` to see the plan and `syncdeck apply -f {path}` to store it",
        path = path.display()
    );
    Ok(ExitCode::SUCCESS)
}
