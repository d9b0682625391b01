//! The rejections table (migration 0004) on SQLite and PostgreSQL: one row per
//! (job, resource, object, code); a refusal seen again in the same job counts
//! once more and keeps its first time; rows go with their job.

use std::time::Duration;

use syncdeck::store::queue::{JobKind, NewJob};
use syncdeck::store::rejections::NewRejection;
use syncdeck::store::{DbTarget, Store};

use crate::common;

fn refusal(object: &str, code: &str) -> NewRejection {
    NewRejection {
        object_key: object.into(),
        error_code: code.into(),
        class: "permanent".into(),
        message: format!("refused {object}"),
    }
}

async fn roundtrip(store: Store) {
    let job = store
        .queue()
        .enqueue(&NewJob {
            queue: "test".into(),
            config_id: None,
            exclusive_key: None,
            kind: JobKind::Noop,
            reason: "rejections test".into(),
            resources: Vec::new(),
            max_attempts: 3,
            delay: Duration::ZERO,
            wait_for_metadata: false,
            priority: 0,
        })
        .await
        .unwrap();
    let first = [
        refusal("de/202401/ou/coc/aoc", "E7640"),
        refusal("abc", "E7619"),
    ];
    store
        .record_rejections(job, "dataValues:ds", &first)
        .await
        .unwrap();
    let before = store.rejections(job).await.unwrap();
    assert_eq!(before.len(), 2);
    // The second record must fall on a later millisecond of the database's
    // clock (SQLite's `unixepoch`, PostgreSQL's `clock_timestamp()`: this
    // machine's wall clock).
    let recorded = before.iter().map(|r| r.last_seen).max().unwrap();
    common::eventually(
        "the clock to pass the first record",
        Duration::from_secs(5),
        async || (now_ms() > recorded).then_some(()),
    )
    .await;
    store
        .record_rejections(job, "dataValues:ds", &first[..1])
        .await
        .unwrap();
    let after = store.rejections(job).await.unwrap();
    assert_eq!(after.len(), 2, "{after:#?}");
    let again = after.iter().find(|r| r.error_code == "E7640").unwrap();
    let was = before.iter().find(|r| r.error_code == "E7640").unwrap();
    assert_eq!(again.times_seen, 2);
    assert_eq!(again.first_seen, was.first_seen, "first seen is kept");
    assert!(again.last_seen > was.last_seen, "{again:?} vs {was:?}");
    assert_eq!(again.object_key, "de/202401/ou/coc/aoc");
    assert_eq!(again.message, "refused de/202401/ou/coc/aoc");
    let other = after.iter().find(|r| r.error_code == "E7619").unwrap();
    assert_eq!(other.times_seen, 1);
    assert!(store.rejections(job + 1000).await.unwrap().is_empty());
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

#[tokio::test]
async fn sqlite_rejections_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbTarget::Sqlite(dir.path().join("r.db")))
        .await
        .unwrap();
    roundtrip(store).await;
}

#[tokio::test]
async fn postgres_rejections_roundtrip() {
    let Some(url) = common::pg::database().await else {
        return;
    };
    let store = Store::open(&DbTarget::Postgres(url)).await.unwrap();
    roundtrip(store).await;
}
