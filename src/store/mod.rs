//! The durable truth: configs, settings, jobs, per-resource results, watermarks,
//! lifecycle state and detection history, in SQLite (default) or PostgreSQL.
//!
//! This module is the only place with SQL. Both dialects share one schema shape
//! (integers for times in ms and for flags), so most statements are written once
//! with `$N` placeholders and adapted for SQLite by [`Sql`]; the queue's
//! statements (`queue/statements.rs`) differ only in the claim.

/// Runs `$body` once per dialect with `$pool` bound to the right pool: `write`
/// (SQLite's single writer) or `read`. The body is type-checked for both, so a
/// statement written once works on both databases.
macro_rules! on_db {
    ($store:expr, write, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { write: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
    ($store:expr, read, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { read: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

pub(crate) mod apply;
pub(crate) mod configs;
mod migrate;
pub mod pull;
pub mod queue;
pub mod rejections;
mod rows;
pub(crate) mod state;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use apply::{Action, ApplyPlan, Change, FieldChange};
pub use rows::RowExt;

/// Errors from the database layer, each saying what to check.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {target}: {source}. Check the path or URL given by --db / SYNCDECK_DB and that the server is reachable"
    )]
    Open {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create the directory {dir} for the database: {source}")]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database migration {version} failed on {target}: {source}")]
    Migrate {
        version: i64,
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the database {target} has schema version {found}, newer than this syncdeck knows ({known}); upgrade syncdeck"
    )]
    TooNew {
        target: String,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database, as given by `--db` / `SYNCDECK_DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbTarget {
    /// `postgres://…` / `postgresql://…` is PostgreSQL; `sqlite://PATH` or any
    /// other text is a SQLite file path.
    pub fn parse(spec: &str) -> DbTarget {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            DbTarget::Postgres(spec.to_string())
        } else {
            let path = spec.strip_prefix("sqlite://").unwrap_or(spec);
            DbTarget::Sqlite(PathBuf::from(path))
        }
    }

    /// The default: `syncdeck.db` in the user's data directory (XDG).
    pub fn default_sqlite() -> DbTarget {
        DbTarget::Sqlite(default_data_dir().join("syncdeck.db"))
    }

    /// For messages: a PostgreSQL URL without its password.
    pub fn display(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => p.display().to_string(),
            DbTarget::Postgres(url) => redact_url(url),
        }
    }
}

/// `$XDG_DATA_HOME/syncdeck` (usually `~/.local/share/syncdeck`).
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("syncdeck")
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<invalid database URL>".to_string(),
    }
}

/// The pools of one database.
#[derive(Clone, Debug)]
pub enum Db {
    /// One writer connection (SQLite allows one writer; a single connection
    /// avoids `SQLITE_BUSY` storms) and a small pool of readers.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    target: DbTarget,
}

impl Store {
    /// Opens (creating a SQLite file and its directory when missing) and migrates.
    pub async fn open(target: &DbTarget) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            target: target.display(),
            source,
        };
        let db = match target {
            DbTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                        dir: dir.to_path_buf(),
                        source,
                    })?;
                }
                let options = sqlite_options(path).map_err(open_err)?;
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    // A COMMIT that failed (disk full) can leave the
                    // connection inside a transaction that sqlx no longer
                    // ends: every later write would land in it, report
                    // success and never be committed. Such a connection is
                    // closed instead of reused.
                    .after_release(|conn, _| {
                        Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
                    })
                    .connect_with(options.clone())
                    .await
                    .map_err(open_err)?;
                let read = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.read_only(true))
                    .await
                    .map_err(open_err)?;
                Db::Sqlite { write, read }
            }
            DbTarget::Postgres(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
                    .map_err(open_err)?;
                Db::Postgres(pool)
            }
        };
        let store = Store {
            db,
            target: target.clone(),
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn target(&self) -> &DbTarget {
        &self.target
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// The database clock in ms since the epoch (due and lease checks use it,
    /// so hosts with skewed clocks agree).
    pub async fn now_ms(&self) -> Result<i64> {
        let sql = Sql::new(self, &format!("SELECT {}", self.now_expr()));
        let v: i64 = on_db!(self, read, |pool| sqlx::query_scalar(sql.text())
            .fetch_one(pool)
            .await?);
        Ok(v)
    }

    /// SQL expression for the database clock in integer ms.
    pub(crate) fn now_expr(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
            Db::Postgres(_) => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

fn sqlite_options(path: &Path) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(
        SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true),
    )
}

/// One statement text for both dialects: written with `$1`, `$2`… (PostgreSQL);
/// SQLite gets `?1`, `?2`…, which binds by the same numbers.
pub(crate) struct Sql(String);

impl Sql {
    pub(crate) fn new(store: &Store, text: &str) -> Sql {
        let text = match store.db {
            Db::Postgres(_) => text.to_string(),
            Db::Sqlite { .. } => sqlite_placeholders(text),
        };
        Sql(text)
    }

    pub(crate) fn text(&self) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(self.0.clone())
    }
}

fn sqlite_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_numbered() {
        assert_eq!(
            sqlite_placeholders("SELECT $1, $12 FROM t WHERE a = $2"),
            "SELECT ?1, ?12 FROM t WHERE a = ?2"
        );
        assert_eq!(sqlite_placeholders("SELECT '$x'"), "SELECT '$x'");
    }

    #[test]
    fn db_targets() {
        assert_eq!(
            DbTarget::parse("postgres://u:secret@h/db"),
            DbTarget::Postgres("postgres://u:secret@h/db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:///tmp/x.db"),
            DbTarget::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(DbTarget::parse("./a.db"), DbTarget::Sqlite("./a.db".into()));
        let shown = DbTarget::parse("postgres://u:secret@h/db").display();
        assert!(!shown.contains("secret"), "{shown}");
    }
}
