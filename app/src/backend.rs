//! The seam between the app and the server: the server implements [`AdminBackend`] over its store and node
//! state and provides it as context to every render and server function. The app never touches the database.

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use std::sync::Arc;

    use crate::dashboard::Dashboard;

    #[async_trait::async_trait]
    pub trait AdminBackend: Send + Sync + 'static {
        async fn dashboard(&self) -> Result<Dashboard, String>;
    }

    /// How the backend travels in Leptos context.
    pub type SharedBackend = Arc<dyn AdminBackend>;
}
