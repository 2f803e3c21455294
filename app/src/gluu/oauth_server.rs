//! The OAuth editor's server side: reads and writes the two plugins through the in-process Admin API (its
//! validation and combination rules are the only ones) and manages the OP client through the oxd module.
//! A failed save undoes what it did: a client it registered is removed, a plugin it created is deleted.

use proxy::model::gluu::ProtectionDocument;
use serde_json::{Map, Value, json};

use super::oauth::{OAuthSettings, PluginScope, SaveForm, Saved};
use crate::backend::{ApiReply, SharedBackend};

const AUTH: &str = "gluu-oauth-auth";
const PEP: &str = "gluu-oauth-pep";

/// The two plugins of a scope, as the Admin API returns them (secret included: server side only).
struct Attached {
    auth: Option<Value>,
    pep: Option<Value>,
}

async fn api(backend: &SharedBackend, method: &str, path: &str, body: Option<Value>) -> Result<ApiReply, String> {
    backend.admin_api(method, path, body).await
}

async fn attached(backend: &SharedBackend, scope: &PluginScope) -> Result<Attached, String> {
    let path = format!("{}/plugins?size=1000", scope.admin_prefix());
    let reply = api(backend, "GET", &path, None).await?;
    if !reply.is_success() {
        return Err(reply.message());
    }
    let at_this_scope = |plugin: &&Value| {
        let unset = |field: &str| plugin[field].is_null();
        match scope {
            PluginScope::Service(_) => unset("route") && unset("consumer"),
            PluginScope::Route(_) => unset("consumer"),
            PluginScope::Global => unset("service") && unset("route") && unset("consumer"),
        }
    };
    let plugins: Vec<&Value> = reply.body["data"].as_array().into_iter().flatten().filter(at_this_scope).collect();
    let named = |name: &str| plugins.iter().find(|p| p["name"] == name).map(|p| (*p).clone());
    Ok(Attached { auth: named(AUTH), pep: named(PEP) })
}

fn text(config: &Value, field: &str) -> String {
    config[field].as_str().unwrap_or_default().to_string()
}

fn settings(scope: &str, attached: &Attached, local_oxd: Option<String>) -> OAuthSettings {
    let mut settings = OAuthSettings::defaults(scope.to_string(), local_oxd.unwrap_or_default());
    let shared = attached.auth.as_ref().or(attached.pep.as_ref()).map(|p| &p["config"]);
    if let Some(config) = shared {
        settings.op_url = text(config, "op_url");
        settings.oxd_url = text(config, "oxd_url");
        settings.oxd_id = text(config, "oxd_id");
        settings.client_id = text(config, "client_id");
    }
    if let Some(auth) = &attached.auth {
        let config = &auth["config"];
        settings.auth_attached = true;
        settings.anonymous = text(config, "anonymous").trim().to_string();
        settings.pass_credentials = text(config, "pass_credentials");
        settings.consumer_mapping = config["consumer_mapping"].as_bool().unwrap_or(true);
        let audience = config["jwt_audience"].as_array().into_iter().flatten().filter_map(Value::as_str);
        settings.jwt_audience = audience.collect::<Vec<_>>().join(",");
        settings.custom_headers = serde_json::from_value(config["custom_headers"].clone()).unwrap_or_default();
    }
    if let Some(pep) = &attached.pep {
        let config = &pep["config"];
        settings.pep_attached = true;
        settings.deny_by_default = config["deny_by_default"].as_bool().unwrap_or(true);
        settings.oauth_scope_expression = pretty(&text(config, "oauth_scope_expression"));
    }
    settings
}

/// A stored document indented for editing (stored as compact JSON text).
fn pretty(document: &str) -> String {
    serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}

pub async fn load(backend: &SharedBackend, scope: &str) -> Result<OAuthSettings, String> {
    let parsed = PluginScope::parse(scope)?;
    let attached = attached(backend, &parsed).await?;
    Ok(settings(scope, &attached, backend.local_oxd_url()))
}

/// The OP client a save uses: the scope's existing one, or one registered now (`new` then holds its secret).
struct OpClient {
    oxd_id: String,
    client_id: String,
    new_secret: Option<String>,
}

async fn register(backend: &SharedBackend, form: &SaveForm) -> Result<OpClient, String> {
    if form.op_url.is_empty() {
        return Err("OP URL is required to register an OP client".to_string());
    }
    if form.oxd_url.is_empty() {
        return Err("oxd URL is required".to_string());
    }
    let redirect = if form.redirect_uri.is_empty() { form.oxd_url.clone() } else { form.redirect_uri.clone() };
    let scope = client_scopes(form);
    let site = backend
        .register_site(json!({
            "op_host": form.op_url,
            "redirect_uris": [redirect],
            "scope": scope,
            "grant_types": ["client_credentials"],
            "client_name": format!("gatehouse {}", form.scope),
        }))
        .await
        .map_err(|e| format!("the OP client cannot be registered: {e}"))?;
    Ok(OpClient {
        oxd_id: text(&site, "oxd_id"),
        client_id: text(&site, "client_id"),
        new_secret: Some(text(&site, "client_secret")),
    })
}

/// The client's scopes as registered: `openid` and `oxd` (oxd's own calls need them), then the administrator's.
fn client_scopes(form: &SaveForm) -> Vec<String> {
    let mut scope = vec!["openid".to_string(), "oxd".to_string()];
    scope.extend(form.client_scopes.iter().filter(|s| !scope.contains(s)).cloned().collect::<Vec<_>>());
    scope
}

/// oxd `update-site` of an existing client when the form gives a redirect URI or scopes (empty: unchanged).
async fn update(backend: &SharedBackend, client: &OpClient, form: &SaveForm) -> Result<(), String> {
    let mut params = serde_json::Map::new();
    params.insert("oxd_id".into(), json!(client.oxd_id));
    if !form.redirect_uri.is_empty() {
        params.insert("redirect_uris".into(), json!([form.redirect_uri]));
    }
    if !form.client_scopes.is_empty() {
        params.insert("scope".into(), json!(client_scopes(form)));
    }
    if params.len() == 1 {
        return Ok(());
    }
    backend
        .update_site(Value::Object(params))
        .await
        .map(drop)
        .map_err(|e| format!("the OP client cannot be updated: {e}"))
}

fn auth_config(form: &SaveForm) -> Map<String, Value> {
    let anonymous = if form.anonymous.trim().is_empty() { " ".to_string() } else { form.anonymous.trim().to_string() };
    let mut config = Map::new();
    config.insert("anonymous".into(), json!(anonymous));
    config.insert("pass_credentials".into(), json!(form.pass_credentials));
    config.insert("consumer_mapping".into(), json!(form.consumer_mapping));
    config.insert("jwt_audience".into(), json!(form.jwt_audience));
    config.insert("custom_headers".into(), json!(form.custom_headers));
    config
}

fn pep_config(form: &SaveForm) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("deny_by_default".into(), json!(form.deny_by_default));
    let document = form.oauth_scope_expression.trim();
    let stored = serde_json::from_str::<Value>(document).map_or(Value::Null, |v| json!(v.to_string()));
    config.insert("oauth_scope_expression".into(), stored);
    config
}

/// Creates (POST, with the client's credentials) or updates (PATCH, credentials untouched) one plugin; the id of a
/// plugin it created.
async fn put_plugin(
    backend: &SharedBackend,
    scope: &PluginScope,
    name: &str,
    existing: Option<&Value>,
    mut config: Map<String, Value>,
    credentials: &Map<String, Value>,
) -> Result<Option<String>, String> {
    let reply = match existing {
        Some(plugin) => {
            let path = format!("/plugins/{}", text(plugin, "id"));
            api(backend, "PATCH", &path, Some(json!({"config": config}))).await?
        }
        None => {
            config.extend(credentials.clone());
            let path = format!("{}/plugins", scope.admin_prefix());
            api(backend, "POST", &path, Some(json!({"name": name, "config": config}))).await?
        }
    };
    if !reply.is_success() {
        return Err(format!("{name}: {}", reply.message()));
    }
    Ok(existing.is_none().then(|| text(&reply.body, "id")))
}

pub async fn save(backend: &SharedBackend, form: SaveForm) -> Result<Saved, String> {
    let scope = PluginScope::parse(&form.scope)?;
    // The engine's own parser, with GG's messages, before anything changes.
    let document = form.oauth_scope_expression.trim();
    if form.pep && !document.is_empty() {
        ProtectionDocument::parse(document).map_err(|e| format!("oauth_scope_expression: {e}"))?;
    }
    let current = attached(backend, &scope).await?;
    let existing = current.auth.as_ref().or(current.pep.as_ref()).map(|p| p["config"].clone());
    let client = match &existing {
        Some(config) if !text(config, "oxd_id").is_empty() => {
            let client =
                OpClient { oxd_id: text(config, "oxd_id"), client_id: text(config, "client_id"), new_secret: None };
            update(backend, &client, &form).await?;
            client
        }
        _ => register(backend, &form).await?,
    };
    let mut credentials = Map::new();
    credentials.insert("oxd_id".into(), json!(client.oxd_id));
    credentials.insert("client_id".into(), json!(client.client_id));
    let secret = match (&client.new_secret, &existing) {
        (Some(secret), _) => secret.clone(),
        (None, Some(config)) => text(config, "client_secret"),
        (None, None) => String::new(),
    };
    credentials.insert("client_secret".into(), json!(secret));
    let op_url = existing.as_ref().map_or(form.op_url.clone(), |c| text(c, "op_url"));
    let oxd_url = existing.as_ref().map_or(form.oxd_url.clone(), |c| text(c, "oxd_url"));
    credentials.insert("op_url".into(), json!(op_url));
    credentials.insert("oxd_url".into(), json!(oxd_url));

    let outcome = apply(backend, &scope, &form, &current, &credentials).await;
    if let Err(error) = outcome {
        if client.new_secret.is_some() {
            // Best effort: the refusal is what the administrator must see.
            let _ = backend.remove_site(json!({"oxd_id": client.oxd_id})).await;
        }
        return Err(error);
    }
    let now = attached(backend, &scope).await?;
    Ok(Saved { settings: settings(&form.scope, &now, backend.local_oxd_url()), new_client_secret: client.new_secret })
}

/// Writes both plugins; on a refusal deletes the plugin this call created.
async fn apply(
    backend: &SharedBackend,
    scope: &PluginScope,
    form: &SaveForm,
    current: &Attached,
    credentials: &Map<String, Value>,
) -> Result<(), String> {
    let created = put_plugin(backend, scope, AUTH, current.auth.as_ref(), auth_config(form), credentials).await?;
    let pep = match (form.pep, &current.pep) {
        (true, existing) => {
            put_plugin(backend, scope, PEP, existing.as_ref(), pep_config(form), credentials).await.map(drop)
        }
        (false, Some(plugin)) => {
            let reply = api(backend, "DELETE", &format!("/plugins/{}", text(plugin, "id")), None).await?;
            if reply.is_success() { Ok(()) } else { Err(reply.message()) }
        }
        (false, None) => Ok(()),
    };
    if let (Err(_), Some(id)) = (&pep, created) {
        let _ = api(backend, "DELETE", &format!("/plugins/{id}"), None).await;
    }
    pep
}

pub async fn delete(backend: &SharedBackend, scope: &str) -> Result<OAuthSettings, String> {
    let parsed = PluginScope::parse(scope)?;
    let current = attached(backend, &parsed).await?;
    let oxd_id = current.auth.as_ref().or(current.pep.as_ref()).map(|p| text(&p["config"], "oxd_id"));
    for plugin in [&current.auth, &current.pep].into_iter().flatten() {
        let reply = api(backend, "DELETE", &format!("/plugins/{}", text(plugin, "id")), None).await?;
        if !reply.is_success() {
            return Err(reply.message());
        }
    }
    if let Some(oxd_id) = oxd_id.filter(|id| !id.is_empty()) {
        backend.remove_site(json!({"oxd_id": oxd_id})).await.map_err(|e| format!("the OP client stays: {e}"))?;
    }
    let now = attached(backend, &parsed).await?;
    Ok(settings(scope, &now, backend.local_oxd_url()))
}
