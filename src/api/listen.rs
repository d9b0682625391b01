//! Where the API listens: a unix socket (the default, mode 0600, one per
//! database so several daemons on one host do not collide) and, when asked,
//! TCP on loopback (another address only with `--listen-any-address`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::store::DbTarget;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
            Listen::Tcp(a) => write!(f, "http://{a}"),
        }
    }
}

/// `unix:PATH`, `tcp:HOST:PORT` or `HOST:PORT`.
pub fn parse(spec: &str) -> Result<Listen, String> {
    if let Some(path) = spec.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("unix: needs a path, e.g. unix:/run/syncdeck/api.sock".into());
        }
        return Ok(Listen::Unix(PathBuf::from(path)));
    }
    let addr = spec.strip_prefix("tcp:").unwrap_or(spec);
    addr.parse::<SocketAddr>()
        .map(Listen::Tcp)
        .map_err(|_| format!("\"{spec}\" is neither unix:PATH nor HOST:PORT (e.g. 127.0.0.1:8470)"))
}

/// Refuses a TCP address other hosts can reach unless the operator said so:
/// the API has no TLS of its own.
pub fn check_reach(listen: &Listen, any_address: bool) -> Result<(), String> {
    match listen {
        Listen::Tcp(addr) if !addr.ip().is_loopback() && !any_address => Err(format!(
            "{addr} can be reached from other hosts and the API has no TLS; listen on 127.0.0.1 and use an SSH tunnel or a TLS reverse proxy, or pass --listen-any-address if a proxy on this network terminates TLS"
        )),
        _ => Ok(()),
    }
}

/// The daemon's socket for `db`: in `$XDG_RUNTIME_DIR/syncdeck/` (else the
/// data directory's `run/`), named after the database, so `--monitor` on the
/// same database finds it.
pub fn default_socket(db: &DbTarget) -> PathBuf {
    let dir = dirs::runtime_dir()
        .map(|d| d.join("syncdeck"))
        .unwrap_or_else(|| crate::store::default_data_dir().join("run"));
    dir.join(format!("{}.sock", socket_name(db)))
}

fn socket_name(db: &DbTarget) -> String {
    let key = match db {
        DbTarget::Sqlite(p) => std::path::absolute(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        DbTarget::Postgres(url) => url.clone(),
    };
    let mut h = crate::hashing::Md5Hex::default();
    h.update(key.as_bytes());
    let hex = h.finish();
    format!("daemon-{}", &hex[..16])
}

/// Whether something answers on the socket (a daemon already running).
pub async fn socket_in_use(path: &Path) -> bool {
    tokio::net::UnixStream::connect(path).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_only_loopback_is_allowed_by_default() {
        assert_eq!(
            parse("unix:/tmp/a.sock"),
            Ok(Listen::Unix("/tmp/a.sock".into()))
        );
        let local = parse("tcp:127.0.0.1:8470").unwrap();
        assert_eq!(local, parse("127.0.0.1:8470").unwrap());
        assert!(check_reach(&local, false).is_ok());
        let wide = parse("0.0.0.0:8470").unwrap();
        assert!(
            check_reach(&wide, false)
                .unwrap_err()
                .contains("--listen-any-address")
        );
        assert!(check_reach(&wide, true).is_ok());
        assert!(parse("localhost").is_err());
        let a = default_socket(&DbTarget::Sqlite("/var/lib/a.db".into()));
        let b = default_socket(&DbTarget::Sqlite("/var/lib/b.db".into()));
        assert_ne!(a, b, "one socket per database");
    }
}
