//! The seam between the app and the server: the server implements [`AdminBackend`] over its store and node
//! state and provides it as context to every render and server function. The app never touches the database.
//! Every configuration read and write goes through [`AdminBackend::admin_api`], the Admin API's own router run
//! in-process, so the UI validates exactly as the Admin API does.

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use std::sync::Arc;

    use crate::admin::ApiReply;
    use crate::dashboard::Dashboard;

    #[async_trait::async_trait]
    pub trait AdminBackend: Send + Sync + 'static {
        async fn dashboard(&self) -> Result<Dashboard, String>;

        /// One Admin API call (`GET /services?size=20`, `POST /routes` with a JSON body, ...), answered by the
        /// Admin API router as if it had come over `admin_listen`. `Err` only when the call could not be made.
        async fn admin_api(
            &self,
            method: &str,
            path: &str,
            body: Option<serde_json::Value>,
        ) -> Result<ApiReply, String>;
    }

    /// How the backend travels in Leptos context.
    pub type SharedBackend = Arc<dyn AdminBackend>;
}
