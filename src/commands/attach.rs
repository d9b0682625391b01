//! Reaching a running daemon: `--connect ADDR`, or the socket `--monitor`
//! finds for the database, with the token to present.

use std::path::Path;
use std::sync::Arc;

use crate::api::Token;
use crate::engine::EngineApi;
use crate::remote::{Endpoint, RemoteEngine};
use crate::store::DbTarget;

/// The token itself, for clients that cannot keep a file.
pub const TOKEN_ENV: &str = "SYNCDECK_API_TOKEN";

/// `SYNCDECK_API_TOKEN`, else the token file (`--token-file`, else the
/// daemon's default `api-token` in the data directory).
pub fn client_token(token_file: Option<&Path>) -> Result<Token, String> {
    if let Ok(secret) = std::env::var(TOKEN_ENV)
        && !secret.trim().is_empty()
    {
        return Ok(Token::from_secret(secret.trim()));
    }
    let path = token_file.map_or_else(crate::api::token::default_path, Path::to_path_buf);
    Token::read(&path).map_err(|e| {
        format!("{e}; the daemon writes its token there on first start (or give --token-file, or {TOKEN_ENV})")
    })
}

/// A remote engine at `spec`, checked once: an operator who names a daemon
/// learns now, not from an empty screen, that it is not there.
pub async fn connect(spec: &str, token_file: Option<&Path>) -> anyhow::Result<Arc<RemoteEngine>> {
    let endpoint = Endpoint::parse(spec).map_err(anyhow::Error::msg)?;
    let token = client_token(token_file).map_err(anyhow::Error::msg)?;
    let engine = RemoteEngine::new(&endpoint, token).map_err(anyhow::Error::msg)?;
    engine.snapshot().await?;
    Ok(Arc::new(engine))
}

/// The daemon serving `db` on this host, if one answers on its socket.
pub async fn local_daemon(db: &DbTarget) -> Option<Endpoint> {
    let socket = crate::api::listen::default_socket(db);
    crate::api::listen::socket_in_use(&socket)
        .await
        .then_some(Endpoint::Unix(socket))
}
