//! The gluu-metrics toggle (`gluu-plugins.md`): one global plugin, on or off, shown on the global OAuth page.

use leptos::form::ActionForm;
use leptos::prelude::*;

/// Whether a global gluu-metrics plugin is attached.
#[server(prefix = "/api", endpoint = "/gluu/get_metrics", client = crate::csrf::CsrfClient)]
pub async fn get_metrics() -> Result<bool, ServerFnError> {
    Ok(server::global_metrics(&server::backend()?).await.map_err(ServerFnError::new)?.is_some())
}

/// Attaches (`enabled` ticked) or removes the global gluu-metrics plugin; the state afterwards.
#[server(prefix = "/api", endpoint = "/gluu/set_metrics", client = crate::csrf::CsrfClient)]
pub async fn set_metrics(enabled: Option<String>) -> Result<bool, ServerFnError> {
    let backend = server::backend()?;
    let current = server::global_metrics(&backend).await.map_err(ServerFnError::new)?;
    let reply = match (enabled.is_some(), current) {
        (true, None) => {
            let body = serde_json::json!({"name": "gluu-metrics"});
            Some(backend.admin_api("POST", "/plugins", Some(body)).await.map_err(ServerFnError::new)?)
        }
        (false, Some(id)) => {
            Some(backend.admin_api("DELETE", &format!("/plugins/{id}"), None).await.map_err(ServerFnError::new)?)
        }
        _ => None,
    };
    if let Some(reply) = reply.filter(|r| !r.is_success()) {
        return Err(ServerFnError::new(reply.message()));
    }
    Ok(enabled.is_some())
}

#[cfg(feature = "ssr")]
mod server {
    use serde_json::Value;

    use crate::backend::SharedBackend;

    pub use crate::backend::from_context as backend;

    /// The id of the global gluu-metrics plugin, if there is one.
    pub async fn global_metrics(backend: &SharedBackend) -> Result<Option<String>, String> {
        let reply = backend.admin_api("GET", "/plugins?size=1000", None).await?;
        if !reply.is_success() {
            return Err(reply.message());
        }
        let global = |p: &&Value| p["name"] == "gluu-metrics" && p["service"].is_null() && p["route"].is_null();
        let found = reply.body["data"].as_array().into_iter().flatten().find(global);
        Ok(found.and_then(|p| p["id"].as_str()).map(str::to_string))
    }
}

#[component]
pub fn MetricsToggle() -> impl IntoView {
    let set = ServerAction::<SetMetrics>::new();
    let state = Resource::new(move || set.version().get(), |_| get_metrics());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match state.await {
                    Ok(enabled) => view! {
                        <ActionForm action=set attr:class="metrics-form">
                            <input id="metrics-enabled" name="enabled" type="checkbox" value="on" checked=enabled/>
                            <label for="metrics-enabled">"gluu-metrics: count requests for /gluu-metrics"</label>
                            <button type="submit">"Apply"</button>
                        </ActionForm>
                    }
                    .into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        {move || set.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
    }
    .into_any()
}
