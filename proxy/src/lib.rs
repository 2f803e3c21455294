//! Gatehouse's proxy crate.
//!
//! [`model`] is always built: serde-only types shared by the Admin API, the admin UI (compiled to wasm) and
//! the engine, with [`config_hash`] (std only) for its maps. Everything else sits behind the default `engine` feature: TLS, the listener loop and the
//! gateway service that answers client traffic from the current configuration snapshot.

pub mod config_hash;
pub mod model;

#[cfg(feature = "engine")]
pub mod balancer;
#[cfg(feature = "engine")]
pub mod deadline;
#[cfg(feature = "engine")]
pub mod errors;
#[cfg(feature = "engine")]
pub mod gateway;
#[cfg(feature = "engine")]
pub mod headers;
#[cfg(feature = "engine")]
pub mod health;
#[cfg(feature = "engine")]
pub mod io;
#[cfg(feature = "engine")]
pub mod listener;
#[cfg(feature = "engine")]
pub mod lua;
#[cfg(feature = "engine")]
pub mod metrics;
#[cfg(feature = "engine")]
pub mod oxd;
#[cfg(feature = "engine")]
pub mod plugins;
#[cfg(feature = "engine")]
pub mod request_head;
#[cfg(feature = "engine")]
pub mod router;
#[cfg(feature = "engine")]
pub mod snapshot;
#[cfg(feature = "engine")]
pub mod tls;
#[cfg(feature = "engine")]
pub mod trusted;
#[cfg(feature = "engine")]
pub mod upstream;

/// Gatehouse's own version (`gatehouse/<version>` in `Server`, `GET /` → `gatehouse.version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Kong version Gatehouse is compatible with; clients such as decK and Konga gate features on it.
pub const KONG_COMPAT_VERSION: &str = "2.2.1";
