//! Exports go to one directory under names we make up (`errors-20250304-
//! 050607.log`, then `-2`, `-3` … if taken), created exclusively
//! (`O_EXCL`, so nothing is ever overwritten and no planted symlink is
//! followed) with mode 0600.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::names::LogName;

/// `DIR/exports` beside the logs it was taken from.
pub fn default_exports_dir(logs_dir: &Path) -> PathBuf {
    logs_dir.join("exports")
}

/// Creates a new export file for `log` in `dir`; returns it and its path.
pub fn create_export(dir: &Path, log: LogName) -> io::Result<(File, PathBuf)> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    for n in 1..=1000u32 {
        let name = if n == 1 {
            format!("{}-{stamp}.log", log.stem())
        } else {
            format!("{}-{stamp}-{n}.log", log.stem())
        };
        let path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free export name in {} for this second; try again",
        dir.display()
    )))
}

/// Writes `lines` (raw log lines, newline added where missing) to a new
/// export file.
pub fn export_lines(
    dir: &Path,
    log: LogName,
    lines: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> io::Result<PathBuf> {
    let (file, path) = create_export(dir, log)?;
    let mut w = io::BufWriter::new(file);
    for line in lines {
        let line = line.as_ref();
        w.write_all(line)?;
        if !line.ends_with(b"\n") {
            w.write_all(b"\n")?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn never_overwrites_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let exports = default_exports_dir(dir.path());
        let a = export_lines(&exports, LogName::Errors, [&b"one"[..]]).unwrap();
        let b = export_lines(&exports, LogName::Errors, [&b"two\n"[..]]).unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "one\n");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "two\n");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
