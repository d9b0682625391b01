//! The DHIS2 connector seen from the engine: builds clients from a config's
//! instances (secrets resolved at run time) and maps the connector's sync API
//! onto [`SyncConnector`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::secrets;
use crate::config::model::InstanceTimeouts;
use crate::config::{Instance, SyncConfig, SyncKind};
use crate::connectors::dhis2::sync::{self as dsync, Dhis2Sync, ResourceSpec, SyncOptions};
use crate::connectors::dhis2::{
    ClientOptions, Dhis2Client, Dhis2Error, Timeouts, format_timestamp, parse_timestamp,
};
use crate::engine::connector::{
    ChangeCount, ConflictClass, ConnectorError, Outcome, PlannedResource, Rejection,
    ResourceProgressSink, SyncConnector,
};
use crate::engine::worker::ConnectorFactory;
use crate::store::Store;

/// Builds DHIS2 connectors from the stored instances.
pub struct Dhis2Connectors {
    store: Store,
    pub sync_options: SyncOptions,
    pub client_options: ClientOptions,
}

impl Dhis2Connectors {
    pub fn new(store: Store) -> Dhis2Connectors {
        Dhis2Connectors {
            store,
            sync_options: SyncOptions::default(),
            client_options: ClientOptions {
                // A DHIS2 restart loses its async jobs; do not wait an hour for one.
                job_timeout: Duration::from_secs(15 * 60),
                ..ClientOptions::default()
            },
        }
    }

    async fn client(&self, id: i64, role: &str) -> Result<Dhis2Client, ConnectorError> {
        let instance: Instance = self
            .store
            .instance(id)
            .await
            .map_err(|e| {
                ConnectorError::Transient(format!("cannot read the {role} instance: {e}"))
            })?
            .ok_or_else(|| {
                ConnectorError::Other(format!("the {role} instance #{id} no longer exists"))
            })?;
        let credentials = tokio::task::spawn_blocking(move || {
            secrets::credentials(&instance).map(|c| (c, instance))
        })
        .await
        .map_err(|e| ConnectorError::Other(e.to_string()))?
        // A missing secret is a configuration error: retrying cannot fix it.
        .map_err(|e| ConnectorError::Config(e.to_string()))?;
        let (credentials, instance) = credentials;
        let mut options = self.client_options.clone();
        options.timeouts = with_instance_timeouts(options.timeouts, &instance.timeouts);
        Dhis2Client::new(&instance.url, credentials, options)
            .map_err(|e| map_error(e, &instance.name))
    }
}

/// The deadlines an instance sets, the defaults for the rest.
fn with_instance_timeouts(defaults: Timeouts, set: &InstanceTimeouts) -> Timeouts {
    Timeouts {
        connect: set.connect.unwrap_or(defaults.connect),
        first_byte: set.first_byte.unwrap_or(defaults.first_byte),
        import: set.import.unwrap_or(defaults.import),
        idle: set.idle.unwrap_or(defaults.idle),
    }
}

#[async_trait]
impl ConnectorFactory for Dhis2Connectors {
    async fn connector(
        &self,
        config: &SyncConfig,
    ) -> Result<Arc<dyn SyncConnector>, ConnectorError> {
        if config.kind != SyncKind::Dhis2 {
            return Err(ConnectorError::Config(format!(
                "{} is a {} sync, not a DHIS2 one",
                config.name,
                config.kind.as_str()
            )));
        }
        let destination = config.destination_id.ok_or_else(|| {
            ConnectorError::Config(format!("{} has no destination instance", config.name))
        })?;
        let source = self.client(config.source_id, "source").await?;
        let destination = self.client(destination, "destination").await?;
        Ok(Arc::new(Dhis2Connector {
            sync: Dhis2Sync::new(
                source,
                destination,
                config.selection.clone(),
                self.sync_options.clone(),
            ),
            plan: Mutex::new(HashMap::new()),
        }))
    }
}

struct Dhis2Connector {
    sync: Dhis2Sync,
    /// The last plan, to find a resource's spec from its key.
    plan: Mutex<HashMap<String, ResourceSpec>>,
}

impl Dhis2Connector {
    async fn spec(&self, key: &str) -> Result<ResourceSpec, ConnectorError> {
        let known = self
            .plan
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        if let Some(spec) = known {
            return Ok(spec);
        }
        self.plan().await?;
        self.plan
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .ok_or_else(|| {
                ConnectorError::Other(format!("{key} is no longer part of the source's selection"))
            })
    }
}

fn map_error(e: Dhis2Error, what: &str) -> ConnectorError {
    match e {
        Dhis2Error::Auth { .. } => ConnectorError::Auth(format!("{what}: {e}")),
        // A bad base URL, a secret that cannot be read, a TLS certificate
        // that does not verify: the same next time, until someone fixes it.
        Dhis2Error::Config(_) => ConnectorError::Config(format!("{what}: {e}")),
        e if e.is_retryable() => ConnectorError::Transient(format!("{what}: {e}")),
        e => ConnectorError::Other(format!("{what}: {e}")),
    }
}

fn parse_since(since: Option<&str>) -> Result<Option<chrono::NaiveDateTime>, ConnectorError> {
    since
        .map(|s| {
            parse_timestamp(s).ok_or_else(|| {
                ConnectorError::Other(format!("stored watermark {s:?} is not a DHIS2 timestamp"))
            })
        })
        .transpose()
}

struct Sink<'a>(&'a dyn ResourceProgressSink);

impl dsync::ProgressSink for Sink<'_> {
    fn set_total(&self, total: u64) {
        self.0.set_total(total);
    }
    fn add(&self, processed: u64, synced: u64, errors: u64) {
        self.0.add(processed, synced, errors);
    }
    fn step(&self, step: &str) {
        self.0.step(step);
    }
    fn unchanged(&self, objects: u64) {
        self.0.unchanged(objects);
    }
}

#[async_trait]
impl SyncConnector for Dhis2Connector {
    async fn server_time(&self) -> Result<String, ConnectorError> {
        let t = self
            .sync
            .server_time()
            .await
            .map_err(|e| map_error(e, "source"))?;
        Ok(format_timestamp(t))
    }

    async fn plan(&self) -> Result<Vec<PlannedResource>, ConnectorError> {
        let specs = self.sync.plan().await.map_err(|e| map_error(e, "source"))?;
        let planned = specs
            .iter()
            .map(|s| PlannedResource {
                key: s.key.clone(),
                label: s.label.clone(),
                is_metadata: s.is_metadata(),
            })
            .collect();
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) =
            specs.into_iter().map(|s| (s.key.clone(), s)).collect();
        Ok(planned)
    }

    async fn count_changes(
        &self,
        resource: &PlannedResource,
        since: Option<&str>,
    ) -> Result<ChangeCount, ConnectorError> {
        let spec = self.spec(&resource.key).await?;
        let count = self
            .sync
            .count_changes(&spec, parse_since(since)?)
            .await
            .map_err(|e| map_error(e, "source"))?;
        Ok(ChangeCount {
            count: count.count,
            exact: count.exact,
        })
    }

    async fn sync_resource(
        &self,
        resource: &PlannedResource,
        since: Option<&str>,
        progress: &dyn ResourceProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Outcome, ConnectorError> {
        let spec = self.spec(&resource.key).await?;
        let outcome = self
            .sync
            .sync_resource(&spec, parse_since(since)?, &Sink(progress), cancel)
            .await
            .map_err(|e| map_error(e, &resource.key))?;
        if outcome.cancelled {
            return Err(ConnectorError::Cancelled);
        }
        Ok(Outcome {
            processed: outcome.processed,
            synced: outcome.synced,
            deleted: outcome.deleted,
            errors: outcome.errors,
            permanent: outcome.permanent,
            rejections: outcome
                .conflicts
                .iter()
                .map(|c| Rejection {
                    class: match c.class {
                        dsync::ConflictClass::MissingReference => ConflictClass::MissingReference,
                        dsync::ConflictClass::Lock => ConflictClass::Lock,
                        dsync::ConflictClass::Permanent => ConflictClass::Permanent,
                        dsync::ConflictClass::Other => ConflictClass::Other,
                    },
                    code: c.code.clone(),
                    message: c.message.clone(),
                    object: c.uid.clone(),
                })
                .collect(),
        })
    }
}
