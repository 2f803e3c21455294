//! The compiled configuration the proxy serves from: built once per configuration version from the stored
//! routes and services, swapped in whole, never changed in place.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::model::entities::route::Route;
use crate::model::entities::service::Service;
use crate::router::{Router, RouterError};

pub struct Snapshot {
    /// The store's configuration version this snapshot was built from.
    pub config_version: i64,
    pub router: Router,
    pub services: HashMap<Uuid, Arc<Service>>,
}

impl Snapshot {
    /// A snapshot with nothing configured (every request gets the no-route 404).
    pub fn empty() -> Snapshot {
        Snapshot {
            config_version: 0,
            router: Router::build(Vec::new()).expect("no routes compile"),
            services: HashMap::new(),
        }
    }

    /// Compiles a configuration; an error leaves the caller's current snapshot serving.
    pub fn build(config_version: i64, routes: Vec<Route>, services: Vec<Service>) -> Result<Snapshot, RouterError> {
        Ok(Snapshot {
            config_version,
            router: Router::build(routes)?,
            services: services.into_iter().map(|s| (s.id, Arc::new(s))).collect(),
        })
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::empty()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("config_version", &self.config_version)
            .field("routes", &self.router.routes().len())
            .field("services", &self.services.len())
            .finish()
    }
}
