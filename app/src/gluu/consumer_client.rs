//! "Create client" for a consumer (GG UI's consumer page): an OP client registered through the embedded oxd
//! module (`register-site`, client credentials), whose `client_id` becomes the consumer's `custom_id`, the
//! mapping gluu-oauth-auth uses to find the consumer of a token. The secret is shown once, here, and never
//! stored by the UI.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

/// A client just registered for a consumer: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerClient {
    pub oxd_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Registers an OP client at `op_url` with `scopes` (comma- or space-separated) for `consumer` (id or
/// username) and sets the consumer's `custom_id` to its client id; the client is removed again when the
/// consumer cannot take it.
#[server(prefix = "/api", endpoint = "/gluu/create_consumer_client", client = crate::csrf::CsrfClient)]
pub async fn create_consumer_client(
    consumer: String,
    op_url: String,
    scopes: String,
) -> Result<ConsumerClient, ServerFnError> {
    use serde_json::json;
    let backend = crate::backend::from_context()?;
    if op_url.trim().is_empty() {
        return Err(ServerFnError::new("OP URL is required to register an OP client"));
    }
    let path = format!("/consumers/{}", crate::pages::entity_list::encode(&consumer));
    let found = backend.admin_api("GET", &path, None).await.map_err(ServerFnError::new)?;
    if !found.is_success() {
        return Err(ServerFnError::new(format!("no consumer {consumer}")));
    }
    let username = found.body["username"].as_str().unwrap_or(&consumer).to_string();
    let mut scope = vec!["openid".to_string(), "oxd".to_string()];
    scope.extend(super::oauth::words(&scopes).into_iter().filter(|s| s != "openid" && s != "oxd"));
    let redirect = backend.local_oxd_url().unwrap_or_else(|| "https://localhost/".into());
    let site = backend
        .register_site(json!({
            "op_host": op_url.trim(),
            "redirect_uris": [redirect],
            "scope": scope,
            "grant_types": ["client_credentials"],
            "client_name": format!("gatehouse consumer {username}"),
        }))
        .await
        .map_err(|e| ServerFnError::new(format!("the OP client cannot be registered: {e}")))?;
    let text = |field: &str| site[field].as_str().unwrap_or_default().to_string();
    let client =
        ConsumerClient { oxd_id: text("oxd_id"), client_id: text("client_id"), client_secret: text("client_secret") };
    let id = found.body["id"].as_str().unwrap_or(&consumer).to_string();
    let patched = backend
        .admin_api("PATCH", &format!("/consumers/{id}"), Some(json!({"custom_id": client.client_id})))
        .await
        .map_err(ServerFnError::new)?;
    if !patched.is_success() {
        let _ = backend.remove_site(json!({"oxd_id": client.oxd_id})).await;
        return Err(ServerFnError::new(format!("the consumer cannot take the client: {}", patched.message())));
    }
    Ok(client)
}

/// The panel on a consumer's page.
#[component]
pub fn ConsumerClientPanel(consumer: String, custom_id: Option<String>) -> impl IntoView {
    let op_url = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let created = RwSignal::new(None::<ConsumerClient>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        busy.set(true);
        let consumer = consumer.clone();
        spawn_local(async move {
            let result = create_consumer_client(consumer, op_url.get_untracked(), scopes.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(client) => {
                    failure.set(None);
                    created.set(Some(client));
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    view! {
        <form class="panel consumer-client" on:submit=create>
            <h2>"OP client"</h2>
            {custom_id.map(|id| view! {
                <p class="current-client">"custom_id (the client this consumer stands for): "<code>{id}</code></p>
            })}
            <p class="hint">
                "Registers a client-credentials client at the OP through the embedded oxd module and makes its client id \
                this consumer's custom_id, so gluu-oauth-auth maps its tokens to this consumer."
            </p>
            <div class="field">
                <label for="client-op-url">"OP URL"</label>
                <input id="client-op-url" type="url" placeholder="https://op.example.com" required
                    prop:value=move || op_url.get() on:input=move |ev| op_url.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="client-scopes">"Scopes " <span class="hint">"(besides openid and oxd)"</span></label>
                <input id="client-scopes" placeholder="admin, employee"
                    prop:value=move || scopes.get() on:input=move |ev| scopes.set(event_target_value(&ev))/>
            </div>
            <div class="actions"><button type="submit" disabled=move || busy.get()>"Create client"</button></div>
            {move || failure.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            {move || created.get().map(|client| view! {
                <div class="created-client" role="status">
                    <p>"Client created. Copy the secret now: it is not shown again."</p>
                    <dl>
                        <dt>"client_id"</dt><dd class="client-id"><code>{client.client_id}</code></dd>
                        <dt>"client_secret"</dt><dd class="client-secret"><code>{client.client_secret}</code></dd>
                        <dt>"oxd_id"</dt><dd><code>{client.oxd_id}</code></dd>
                    </dl>
                </div>
            })}
        </form>
    }
}
