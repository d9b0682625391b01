//! The connectors, one per kind of sync, and [`Connectors`], which hands the
//! engine the right one for a config.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{SyncConfig, SyncKind};
use crate::engine::connector::{ConnectorError, SyncConnector};
use crate::engine::worker::ConnectorFactory;
use crate::store::Store;

pub mod dhis2;
pub mod http_pull;

/// Every kind of sync this build runs.
pub struct Connectors {
    pub dhis2: dhis2::adapter::Dhis2Connectors,
    pub http_pull: http_pull::adapter::HttpPullConnectors,
}

impl Connectors {
    pub fn new(store: Store) -> Connectors {
        Connectors {
            dhis2: dhis2::adapter::Dhis2Connectors::new(store.clone()),
            http_pull: http_pull::adapter::HttpPullConnectors::new(store),
        }
    }
}

#[async_trait]
impl ConnectorFactory for Connectors {
    async fn connector(
        &self,
        config: &SyncConfig,
    ) -> Result<Arc<dyn SyncConnector>, ConnectorError> {
        match config.kind {
            SyncKind::Dhis2 => self.dhis2.connector(config).await,
            SyncKind::HttpPull => self.http_pull.connector(config).await,
        }
    }
}
