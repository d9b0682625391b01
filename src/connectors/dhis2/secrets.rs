//! Turning an instance's secret *reference* into credentials at run time.
//! Errors name the instance and the variable or file, never the value.

use super::{Credentials, SecretSource};
use crate::config::model::{Instance, SecretRef};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("instance {instance}: {message}")]
    Unavailable { instance: String, message: String },
    #[error(
        "instance {instance} uses a password but has no username; add username = \"...\" to its [[instance]] section and run syncdeck apply again"
    )]
    NoUsername { instance: String },
}

/// The credentials of `instance`, reading its environment variable or file now.
/// Blocking file I/O: call it when a sync starts, not in a hot async path.
pub fn credentials(instance: &Instance) -> Result<Credentials, SecretError> {
    let source = match &instance.secret {
        SecretRef::PasswordEnv(v) | SecretRef::TokenEnv(v) => SecretSource::Env(v.clone()),
        SecretRef::PasswordFile(p) | SecretRef::TokenFile(p) => SecretSource::File(p.clone()),
    };
    let secret = source.resolve().map_err(|e| SecretError::Unavailable {
        instance: instance.name.clone(),
        // SecretSource's messages name the variable or file only.
        message: e.to_string(),
    })?;
    if instance.secret.is_token() {
        return Ok(Credentials::Token(secret));
    }
    match &instance.username {
        Some(username) => Ok(Credentials::Basic {
            username: username.clone(),
            password: secret,
        }),
        None => Err(SecretError::NoUsername {
            instance: instance.name.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(secret: SecretRef, username: Option<&str>) -> Instance {
        Instance {
            id: 1,
            name: "national".into(),
            url: "http://127.0.0.1:1".into(),
            username: username.map(str::to_string),
            secret,
            timeouts: Default::default(),
        }
    }

    #[test]
    fn file_secrets_resolve_and_errors_name_the_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pat");
        std::fs::write(&path, "d2pat_s3cr3t\n").expect("write");
        let creds = credentials(&instance(SecretRef::TokenFile(path), None)).expect("token");
        assert_eq!(creds, Credentials::token("d2pat_s3cr3t"));

        let missing = dir.path().join("nope");
        let err = credentials(&instance(
            SecretRef::PasswordFile(missing.clone()),
            Some("admin"),
        ))
        .expect_err("missing file");
        let msg = err.to_string();
        assert!(
            msg.contains("national") && msg.contains(&missing.display().to_string()),
            "{msg}"
        );

        let err = credentials(&instance(
            SecretRef::PasswordEnv("SYNCDECK_TEST_SURELY_UNSET_VAR".into()),
            Some("admin"),
        ))
        .expect_err("unset var");
        assert!(
            err.to_string()
                .contains("SYNCDECK_TEST_SURELY_UNSET_VAR is not set"),
            "{err}"
        );
    }
}
