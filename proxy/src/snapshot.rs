//! The compiled configuration the proxy serves from: built once per configuration version from the stored
//! routes and services, swapped in whole, never changed in place.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::balancer::Balancer;
use crate::model::entities::route::Route;
use crate::model::entities::service::Service;
use crate::model::entities::target::Target;
use crate::model::entities::upstream::Upstream;
use crate::router::{Router, RouterError};

pub struct Snapshot {
    /// The store's configuration version this snapshot was built from.
    pub config_version: i64,
    pub router: Router,
    pub services: HashMap<Uuid, Arc<Service>>,
    /// Balancers by upstream name (lower-cased): a service whose host is one of these balances over it.
    pub balancers: HashMap<String, Arc<Balancer>>,
}

/// Everything a snapshot is compiled from.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    pub version: i64,
    pub routes: Vec<Route>,
    pub services: Vec<Service>,
    pub upstreams: Vec<Upstream>,
    pub targets: Vec<Target>,
}

impl Snapshot {
    /// A snapshot with nothing configured (every request gets the no-route 404).
    pub fn empty() -> Snapshot {
        Snapshot {
            config_version: 0,
            router: Router::build(Vec::new()).expect("no routes compile"),
            services: HashMap::new(),
            balancers: HashMap::new(),
        }
    }

    /// Compiles a configuration; an error leaves the caller's current snapshot serving.
    pub fn build(config: Configuration) -> Result<Snapshot, RouterError> {
        let balancers = config
            .upstreams
            .into_iter()
            .map(|upstream| {
                let targets: Vec<Target> =
                    config.targets.iter().filter(|t| t.upstream.id == upstream.id).cloned().collect();
                (upstream.name.to_ascii_lowercase(), Arc::new(Balancer::new(upstream, &targets)))
            })
            .collect();
        Ok(Snapshot {
            config_version: config.version,
            router: Router::build(config.routes)?,
            services: config.services.into_iter().map(|s| (s.id, Arc::new(s))).collect(),
            balancers,
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
