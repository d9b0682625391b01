//! Credentials and where their secrets come from.
//!
//! The store only keeps a *reference* to a secret (an env var name or a file
//! path); the value is resolved at run time and never printed: `Secret`'s
//! `Debug`/`Display` show `***`, and errors name the variable or file only.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use reqwest::header::HeaderValue;

use super::error::{Dhis2Error, Result};

/// A password or API token. Printing it shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; only for building the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable name.
    Env(String),
    /// A file holding only the secret (a trailing newline is trimmed).
    File(PathBuf),
}

impl SecretSource {
    /// Reads the secret. Errors name the variable or file, never the value.
    /// Does blocking file I/O: call it at setup, not in a hot async path.
    pub fn resolve(&self) -> Result<Secret> {
        match self {
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(v) if v.is_empty() => Err(Dhis2Error::Config(format!(
                    "environment variable {name} is empty; set it to the DHIS2 password or API token"
                ))),
                Ok(v) => Ok(Secret(v)),
                Err(std::env::VarError::NotPresent) => Err(Dhis2Error::Config(format!(
                    "environment variable {name} is not set; set it to the DHIS2 password or API token"
                ))),
                Err(std::env::VarError::NotUnicode(_)) => Err(Dhis2Error::Config(format!(
                    "environment variable {name} is not valid UTF-8; check its content"
                ))),
            },
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    // io::Error's message never contains file content.
                    Dhis2Error::Config(format!(
                        "cannot read secret file {}: {e}; check that it exists, is readable and is UTF-8",
                        path.display()
                    ))
                })?;
                let trimmed = trim_trailing_newlines(&text);
                if trimmed.is_empty() {
                    return Err(Dhis2Error::Config(format!(
                        "secret file {} is empty; put the DHIS2 password or API token in it",
                        path.display()
                    )));
                }
                Ok(Secret(trimmed.to_string()))
            }
        }
    }
}

/// Editors and `echo` add a final newline; that is never part of the secret.
fn trim_trailing_newlines(s: &str) -> &str {
    s.trim_end_matches(['\n', '\r'])
}

/// How the client logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: Secret },
    /// A personal access token: `Authorization: ApiToken d2pat_…` (2.38.1+).
    Token(Secret),
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(Secret::new(token))
    }

    /// The `Authorization` header, marked sensitive so it is never logged.
    pub fn header_value(&self) -> Result<HeaderValue> {
        let raw = match self {
            Credentials::Basic { username, password } => {
                if username.contains(':') {
                    return Err(Dhis2Error::Config(format!(
                        "username {username:?} contains ':', which Basic authentication cannot carry"
                    )));
                }
                let pair = format!("{username}:{}", password.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Credentials::Token(t) => format!("ApiToken {}", t.expose()),
        };
        let mut value = HeaderValue::from_str(&raw).map_err(|_| {
            Dhis2Error::Config(
                "the password or token contains characters not allowed in an HTTP header (e.g. a newline); check the secret".into(),
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new("district");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        let c = Credentials::basic("admin", "district");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("district"), "{dbg}");
        assert!(dbg.contains("admin"));
        let t = Credentials::token("d2pat_abc");
        assert!(!format!("{t:?}").contains("d2pat"));
    }

    #[test]
    fn headers() {
        let h = Credentials::basic("admin", "district")
            .header_value()
            .unwrap();
        assert_eq!(h.to_str().unwrap(), "Basic YWRtaW46ZGlzdHJpY3Q=");
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("YWRt"));
        let h = Credentials::token("d2pat_abc").header_value().unwrap();
        assert_eq!(h.to_str().unwrap(), "ApiToken d2pat_abc");
        let bad = Credentials::token("a\nb").header_value().unwrap_err();
        assert!(!bad.to_string().contains("a\nb"));
        assert!(Credentials::basic("a:b", "x").header_value().is_err());
    }

    #[test]
    fn env_source_errors_name_the_variable() {
        let name = "SYNCDECK_TEST_SURELY_MISSING_VAR_8841";
        let e = SecretSource::Env(name.into()).resolve().unwrap_err();
        assert!(e.to_string().contains(name));
        assert!(matches!(e, Dhis2Error::Config(_)));
    }

    #[test]
    fn file_source_trims_newline_and_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret value\r\n").unwrap();
        let s = SecretSource::File(p.clone()).resolve().unwrap();
        assert_eq!(s.expose(), "s3cret value");

        std::fs::write(&p, "\n").unwrap();
        let e = SecretSource::File(p.clone()).resolve().unwrap_err();
        assert!(e.to_string().contains("empty"));

        let missing = dir.path().join("nope");
        let e = SecretSource::File(missing.clone()).resolve().unwrap_err();
        assert!(e.to_string().contains(&missing.display().to_string()));
    }
}
