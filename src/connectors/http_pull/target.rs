//! The local copy of the pulled document: read at start as the fallback,
//! replaced atomically after a change so a reader (or a crash) only ever sees
//! the old document or the new one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::fetch::{Document, PullError, judge};

/// `TARGET.prev`: the document replaced by the last change.
pub fn previous_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".prev");
    target.with_file_name(name)
}

/// The document in `target`: `Ok(None)` when there is none yet; an error
/// when it is unreadable or not a valid document (the next pull replaces it).
pub fn read_local(
    target: &Path,
    hash_field: &str,
    verify_hash: bool,
) -> Result<Option<Document>, PullError> {
    match fs::read(target) {
        Ok(bytes) => judge(bytes, hash_field, verify_hash)
            .map(Some)
            .map_err(|e| {
                PullError::NotADocument(format!("the local copy {}: {e}", target.display()))
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PullError::Config(format!(
            "cannot read the local copy {}: {e}",
            target.display()
        ))),
    }
}

/// Replaces `target` with `bytes`: a temporary file in the same directory,
/// written and synced, renamed over it; the old document is first copied to
/// `TARGET.prev` the same way. The directory is synced last, so the rename
/// survives a power cut. A new file is private (0600: documents may hold
/// device credentials); a replaced one keeps its mode.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let mode = match fs::metadata(target) {
        Ok(m) => {
            let mode = m.permissions().mode() & 0o7777;
            let old = fs::read(target)?;
            replace(&dir, &previous_path(target), &old, mode)?;
            mode
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0o600,
        Err(e) => return Err(e),
    };
    replace(&dir, target, bytes, mode)?;
    File::open(&dir)?.sync_all()
}

/// The temporary files of `path` start with this; one left by a killed
/// process is removed by the next write (one job writes a target at a time).
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.syncdeck-tmp-",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

fn replace(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let prefix = temp_prefix(path);
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let mut tmp = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_document_is_kept_as_prev_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("site.json");
        assert_eq!(read_local(&target, "config_hash", true).unwrap(), None);
        write_atomically(&target, br#"{"v": 1}"#).unwrap();
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&target, br#"{"v": 2}"#).unwrap();
        assert_eq!(fs::read(&target).unwrap(), br#"{"v": 2}"#);
        assert_eq!(fs::read(previous_path(&target)).unwrap(), br#"{"v": 1}"#);
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains(".syncdeck-tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // A temporary file left by a killed writer goes with the next write.
        let stale = dir.path().join(format!("{}stale", temp_prefix(&target)));
        fs::write(&stale, b"{half").unwrap();
        write_atomically(&target, br#"{"v": 3}"#).unwrap();
        assert!(!stale.exists());
        let local = read_local(&target, "config_hash", true).unwrap().unwrap();
        assert_eq!(local.items, 1);
        fs::write(&target, b"{truncated").unwrap();
        assert!(read_local(&target, "config_hash", true).is_err());
    }
}
