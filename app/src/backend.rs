//! The seam between the app and the server: the server implements [`AdminBackend`] over its store and node
//! state and provides it as context to every render and server function. The app never touches the database.
//! Every configuration read and write goes through [`AdminBackend::admin_api`], the Admin API's own router run
//! in-process, so the UI validates exactly as the Admin API does.

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use std::sync::Arc;

    use serde_json::Value;

    pub use crate::admin::ApiReply;
    use crate::dashboard::Dashboard;

    #[async_trait::async_trait]
    pub trait AdminBackend: Send + Sync + 'static {
        async fn dashboard(&self) -> Result<Dashboard, String>;

        /// One in-process Admin API call (`method`, `path` with query, JSON `body`), so the UI applies exactly
        /// the Admin API's validation and combination rules.
        async fn admin_api(&self, method: &str, path: &str, body: Option<Value>) -> Result<ApiReply, String>;

        /// oxd `register-site` on the embedded oxd module; `Err` is oxd's error body as text.
        async fn register_site(&self, params: Value) -> Result<Value, String>;

        /// oxd `update-site` (redirect URIs, scopes, …) of an existing site.
        async fn update_site(&self, params: Value) -> Result<Value, String>;

        /// oxd `remove-site`.
        async fn remove_site(&self, params: Value) -> Result<Value, String>;

        /// The URL under which plugins reach this node's own oxd module (GG's default `oxd_url`), if it listens.
        fn local_oxd_url(&self) -> Option<String>;
    }

    /// How the backend travels in Leptos context.
    pub type SharedBackend = Arc<dyn AdminBackend>;

    /// The backend of the request being served (renders and server functions).
    pub fn from_context() -> Result<SharedBackend, leptos::prelude::ServerFnError> {
        leptos::prelude::use_context::<SharedBackend>()
            .ok_or_else(|| leptos::prelude::ServerFnError::new("the admin backend is not available"))
    }
}
