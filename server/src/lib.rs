//! The `gatehouse` binary's library: configuration, the store, the Admin API, the oxd API, the admin UI host
//! and the process wiring that runs them all on one tokio runtime.

pub mod admin_api;
pub mod admin_gui;
pub mod config;
pub mod declarative;
pub mod logging;
pub mod node;
pub mod oxd_api;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod url_text;
