//! Schema migrations, embedded in the binary and run at start, in order, each
//! in its own transaction; `schema_version` records what has been applied.

use super::{Db, Result, Store, StoreError};

/// (version, SQLite script, PostgreSQL script), oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("migrations/sqlite/0001_init.sql"),
        include_str!("migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("migrations/sqlite/0002_instance_timeouts.sql"),
        include_str!("migrations/postgres/0002_instance_timeouts.sql"),
    ),
    (
        4,
        include_str!("migrations/sqlite/0004_rejections.sql"),
        include_str!("migrations/postgres/0004_rejections.sql"),
    ),
    (
        5,
        include_str!("migrations/sqlite/0005_http_pull.sql"),
        include_str!("migrations/postgres/0005_http_pull.sql"),
    ),
    (
        6,
        include_str!("migrations/sqlite/0006_resource_labels.sql"),
        include_str!("migrations/postgres/0006_resource_labels.sql"),
    ),
];

pub(super) async fn run(store: &Store) -> Result<()> {
    let target = store.target().display();
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    let create = "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)";
    let current: Option<i64> = match &store.db {
        Db::Sqlite { write, .. } => {
            sqlx::query(create).execute(write).await?;
            sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                .fetch_one(write)
                .await?
        }
        Db::Postgres(pool) => {
            // Several daemons may start together: one migrates, the others wait.
            sqlx::query(create).execute(pool).await?;
            sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                .fetch_one(pool)
                .await?
        }
    };
    let current = current.unwrap_or(0);
    if current > known {
        return Err(StoreError::TooNew {
            target,
            found: current,
            known,
        });
    }
    for &(version, sqlite, postgres) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let failed = |source| StoreError::Migrate {
            version,
            target: target.clone(),
            source,
        };
        match &store.db {
            Db::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                sqlx::raw_sql(sqlite)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                sqlx::query("INSERT INTO schema_version (version) VALUES (?1)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Serialises concurrent migrators; released at commit.
                sqlx::query("SELECT pg_advisory_xact_lock(7365434)")
                    .execute(&mut *tx)
                    .await?;
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                        .fetch_one(&mut *tx)
                        .await?;
                if done.unwrap_or(0) >= version {
                    continue;
                }
                sqlx::raw_sql(postgres)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
    }
    Ok(())
}
