//! `syncdeck sim`: a DHIS2-compatible HTTP server on loopback for the demo,
//! tests and benchmarks. It follows dhis2-core (docs/dhis2-conformance.md) where a sync can tell the
//! difference between it and a real DHIS2, for the versions in [`Dhis2Version`].

mod aggregate_api;
mod aggregate_import;
pub mod clock;
pub mod config_backend;
mod datavalues;
mod digest;
mod formats;
mod gate;
mod generate;
mod import_validation;
mod metadata_api;
mod metadata_import;
pub mod model;
mod mutate;
mod options;
mod path;
pub mod periods;
mod query;
mod response;
mod schemas;
mod state;
mod strategy;
mod system_api;
mod task_api;
mod tracker_api;
mod tracker_import;
mod tracker_store;

use crate::output::outln;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use axum::extract::Request;
use axum::routing::{get, post};
use axum::{Router, ServiceExt};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::Layer;

pub use options::{DatasetSize, Dhis2Version, SimOptions};
use state::{SimState, Stats};

/// Everything a request handler can reach.
pub struct Sim {
    pub opts: SimOptions,
    pub base_url: String,
    state: RwLock<SimState>,
    stats: Mutex<Stats>,
    rng: Mutex<ChaCha8Rng>,
    /// Unordered exports answered so far (seeds their row order).
    unordered_exports: std::sync::atomic::AtomicU64,
}

type Shared = Arc<Sim>;

impl Sim {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, SimState> {
        // A panicking handler must not take the whole simulator down with it.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, SimState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn random<T>(&self, f: impl FnOnce(&mut ChaCha8Rng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner()))
    }
    pub fn version(&self) -> Dhis2Version {
        self.opts.version
    }

    /// The order of one unordered export of `n` rows: DHIS2 has no ORDER BY on
    /// `dataValueSets` (2.41.3 dxf2/datavalueset/SpringDataValueSetStore.java
    /// getDataValueSql) nor on `deletedObjects` (HibernateDeletedObjectStore.query,
    /// offset paging), so each request gets a fresh permutation, deterministic
    /// in `--seed` and the number of unordered exports answered before.
    fn export_order(&self, n: usize) -> Vec<u32> {
        use rand::seq::SliceRandom;
        let count = self
            .unordered_exports
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.opts.seed ^ 0x0bde_0bde ^ count.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let mut order: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX)).collect();
        order.shuffle(&mut rng);
        order
    }
}

/// A simulator serving in the background of this process.
pub struct RunningSim {
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Stops serving and waits for in-flight requests to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Generates the dataset, binds 127.0.0.1:`opts.port` and serves in the background.
pub async fn start(opts: SimOptions) -> anyhow::Result<RunningSim> {
    clock::set_zone(opts.time_zone).map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} (is the port in use? --port 0 picks a free one)",
                opts.port
            )
        })?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let gen_opts = opts.clone();
    let state = tokio::task::spawn_blocking(move || generate::populate(&gen_opts))
        .await
        .context("dataset generation failed")?;
    let sim = Arc::new(Sim {
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed)),
        opts,
        base_url: base_url.clone(),
        state: RwLock::new(state),
        stats: Mutex::new(Stats::default()),
        unordered_exports: std::sync::atomic::AtomicU64::new(0),
    });
    if let Some(every) = sim.opts.mutate_every {
        tokio::spawn(mutate::run(sim.clone(), every));
    }
    let app = tower::util::MapRequestLayer::new(path::normalize).layer(router(sim));
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            });
        if let Err(e) = serve.await {
            tracing::error!("simulator stopped: {e}");
        }
    });
    Ok(RunningSim {
        base_url,
        stop: Some(stop_tx),
        task,
    })
}

fn router(sim: Shared) -> Router {
    let api = Router::new()
        .route("/api/system/info", get(system_api::info))
        .route("/api/system/ping", get(system_api::ping))
        .route("/api/me", get(system_api::me))
        .route("/api/schemas", get(system_api::schemas))
        .route(
            "/api/metadata",
            get(metadata_api::export).post(metadata_import::import),
        )
        .route("/api/deletedObjects", get(metadata_api::deleted_objects))
        .route(
            "/api/dataValueSets",
            get(aggregate_api::export).post(aggregate_import::import),
        )
        .route("/api/system/tasks/{job_type}/{id}", get(task_api::tasks))
        .route(
            "/api/system/taskSummaries/{job_type}/{id}",
            get(task_api::task_summary),
        )
        .route("/api/tracker", post(tracker_api::import))
        .route("/api/tracker/jobs/{id}", get(tracker_api::job))
        .route(
            "/api/tracker/jobs/{id}/report",
            get(tracker_api::job_report),
        )
        .route("/api/tracker/{kind}", get(tracker_api::export))
        .route("/api/{plural}", get(metadata_api::list))
        .route("/api/{plural}/{id}", get(metadata_api::one))
        .route("/api/_sim/digest", get(digest::digest))
        .route("/api/_sim/stats", get(digest::stats))
        .route("/api/_sim/mutate", post(digest::mutate))
        .route("/api/_sim/clock", post(digest::advance_clock))
        .fallback(response::not_found)
        // DHIS2 takes whole exports back in one POST (hundreds of MB for a
        // million values); axum's 2 MB default would answer 413 instead.
        .layer(axum::extract::DefaultBodyLimit::max(2 << 30))
        .layer(axum::middleware::from_fn(formats::respond))
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            gate::gate,
        ));
    Router::new()
        .route("/dhis-web-login/", get(system_api::login_page))
        .merge(api)
        .with_state(sim)
}

/// `syncdeck sim`: serve until Ctrl-C, announcing the address on the first line.
pub async fn run(opts: SimOptions) -> anyhow::Result<()> {
    if opts.config_backend {
        let sites = opts.sites;
        return config_backend::run(opts, sites).await;
    }
    let running = start(opts).await?;
    outln!("listening on {}", running.base_url)?;
    let _ = std::io::Write::flush(&mut std::io::stdout());
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    running.stop().await;
    Ok(())
}
