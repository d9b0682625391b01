//! The API's bearer token: generated on first start into a file only its
//! owner can read, compared in constant time, never logged.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

/// Where the daemon keeps its token unless `--token-file` says otherwise.
pub fn default_path() -> PathBuf {
    crate::store::default_data_dir().join("api-token")
}

#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// Reads the token in `path`, creating it (mode 0600, 32 random bytes
    /// as hex) when there is none. A file others can read is refused.
    pub fn load_or_create(path: &Path) -> Result<Token, String> {
        match fs::metadata(path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(format!(
                        "the API token file {} can be read by others (mode {:o}); run chmod 600 on it",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    ));
                }
                Self::read(path)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path)
                .map_err(|e| format!("cannot create the API token file {}: {e}", path.display())),
            Err(e) => Err(format!(
                "cannot read the API token file {}: {e}",
                path.display()
            )),
        }
    }

    /// Reads a token a client was given (`--token-file`).
    pub fn read(path: &Path) -> Result<Token, String> {
        let text = fs::read_to_string(path)
            .map_err(|e| format!("cannot read the API token file {}: {e}", path.display()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(format!("the API token file {} is empty", path.display()));
        }
        Ok(Token(token.to_string()))
    }

    fn create(path: &Path) -> io::Result<Token> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let bytes: [u8; 32] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(token.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        Ok(Token(token))
    }

    /// A token given as text (a client's `SYNCDECK_API_TOKEN`).
    pub fn from_secret(secret: &str) -> Token {
        Token(secret.to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether an `Authorization` header value carries this token.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|v| v.strip_prefix(b"Bearer ")) else {
            return false;
        };
        // Lengths are not secret (every token has 64 characters).
        given.len() == self.0.len() && bool::from(given.ct_eq(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/api-token");
        let token = Token::load_or_create(&path).unwrap();
        assert_eq!(token.expose().len(), 64);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = Token::load_or_create(&path).unwrap();
        assert_eq!(again.expose(), token.expose());
        let header = format!("Bearer {}", token.expose());
        assert!(token.admits(Some(header.as_bytes())));
        assert!(!token.admits(Some(b"Bearer nope")));
        assert!(
            !token.admits(Some(token.expose().as_bytes())),
            "Bearer is required"
        );
        assert!(!token.admits(None));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Token::load_or_create(&path).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
        assert_eq!(format!("{token:?}"), "Token(***)");
    }
}
