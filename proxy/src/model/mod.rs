//! The typed model shared by every part of Gatehouse: entity kinds, error bodies and node information.
//!
//! This module is serde-only so that it compiles to `wasm32-unknown-unknown` for the admin UI.

pub mod civil;
pub mod entities;
mod entity;
mod error;
pub mod gluu;
pub mod plugins;
pub mod schema;
pub mod secrets;
pub mod typedefs;

pub use entity::EntityKind;
pub use error::MessageBody;
