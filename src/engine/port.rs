//! The scheduler's view of the store, the queue and the connectors, and the
//! change detector.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;
use tracing::info;

use super::clock::Clock;
use super::connector::PlannedResource;
use super::events::EngineEvent;
use super::scheduler::{Change, SchedulerPort};
use super::worker::ConnectorFactory;
use crate::config::{AutoSettings, SyncConfig};
use crate::store::Store;
use crate::store::queue::{JobKind, NewJob, QueueStore};
use crate::store::state::{Detection, LifecyclePart, LifecycleState};

pub struct StorePort {
    pub store: Store,
    pub queue: Arc<dyn QueueStore>,
    pub factory: Arc<dyn ConnectorFactory>,
    pub events: broadcast::Sender<EngineEvent>,
    pub clock: Clock,
    /// Wakes local workers after an enqueue.
    pub on_enqueue: Box<dyn Fn() + Send + Sync>,
}

/// Whether the detector watches this resource under these settings.
pub fn monitored(resource: &PlannedResource, settings: &AutoSettings) -> bool {
    let named = |list: &[String]| {
        list.iter().any(|name| {
            resource.key == *name
                || resource
                    .key
                    .split_once(':')
                    .is_some_and(|(_, rest)| rest.split('+').any(|part| part == name))
                || resource.key.starts_with(&format!("{name}:"))
        })
    };
    if named(&settings.exclude_resources) {
        return false;
    }
    if resource.is_metadata {
        settings.monitor_metadata
            && (settings.metadata_resources.is_empty() || named(&settings.metadata_resources))
    } else {
        settings.monitor_data_values
    }
}

#[async_trait]
impl SchedulerPort for StorePort {
    async fn configs(&self) -> anyhow::Result<Vec<SyncConfig>> {
        Ok(self.store.list_configs().await?)
    }

    async fn config(&self, id: i64) -> anyhow::Result<Option<SyncConfig>> {
        Ok(self.store.config(id).await?)
    }

    async fn lifecycle(&self, id: i64) -> anyhow::Result<LifecycleState> {
        Ok(self.store.lifecycle(id).await?)
    }

    async fn save_lifecycle(
        &self,
        id: i64,
        state: &LifecycleState,
        part: LifecyclePart,
    ) -> anyhow::Result<()> {
        Ok(self.store.save_lifecycle(id, state, part).await?)
    }

    async fn has_pending(&self, id: i64) -> anyhow::Result<bool> {
        Ok(self.queue.has_pending(id).await?)
    }

    async fn detect(&self, config: &SyncConfig) -> anyhow::Result<Vec<Change>> {
        let settings = config.auto.clone().unwrap_or_default();
        let connector = self.factory.connector(config).await?;
        let plan = connector.plan().await?;
        let watermarks: HashMap<String, String> = self
            .store
            .watermarks(config.id)
            .await?
            .into_iter()
            .collect();
        let at = self.clock.now_ms();
        let mut changes = Vec::new();
        let mut rows = Vec::new();
        for resource in plan.iter().filter(|r| monitored(r, &settings)) {
            let since = watermarks.get(&resource.key).map(String::as_str);
            let count = connector.count_changes(resource, since).await?;
            if count.count == 0 {
                continue;
            }
            // The watermark is the source server's wall time (DHIS2 writes
            // no offset: connectors::dhis2::time), not this host's: the key
            // says whose clock it is.
            info!(target: "changes", config = %config.name, resource = %resource.key, since_source_time = since.unwrap_or("never"), "{}{} changed", count.count, if count.exact { "" } else { "+" });
            rows.push(Detection {
                config_id: config.id,
                at,
                resource: resource.key.clone(),
                changed_count: count.count,
                exact: count.exact,
                since: since.map(str::to_string),
                label: resource.label.clone(),
            });
            changes.push(Change {
                resource: resource.key.clone(),
                count: count.count,
            });
        }
        self.store.record_detections(&rows).await?;
        if !changes.is_empty() {
            self.publish(EngineEvent::Detection {
                config_id: config.id,
                changes: changes
                    .iter()
                    .map(|c| (c.resource.clone(), c.count))
                    .collect(),
            });
        }
        Ok(changes)
    }

    async fn enqueue(
        &self,
        config: &SyncConfig,
        kind: JobKind,
        resources: Vec<String>,
        reason: String,
    ) -> anyhow::Result<i64> {
        let mut job = NewJob::for_config(config, kind, reason);
        job.resources = resources;
        let id = self.queue.enqueue(&job).await?;
        self.publish(EngineEvent::JobQueued {
            job_id: id,
            config_id: Some(config.id),
        });
        (self.on_enqueue)();
        Ok(id)
    }

    fn publish(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }
}
