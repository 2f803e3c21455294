//! What the OAuth editor reads and saves: gluu-oauth-auth and gluu-oauth-pep of one scope (a service, a route,
//! or global) edited together, sharing one OP client. The client secret never travels to the browser, except
//! once in [`Saved::new_client_secret`] right after the client was registered.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The scopes the editor works on, as written in its URL: `services/<id>`, `routes/<id>` or `global`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginScope {
    Service(String),
    Route(String),
    Global,
}

impl PluginScope {
    pub fn parse(text: &str) -> Result<PluginScope, String> {
        let valid = |id: &str| {
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        };
        match text.split_once('/') {
            Some(("services", id)) if valid(id) => Ok(PluginScope::Service(id.to_string())),
            Some(("routes", id)) if valid(id) => Ok(PluginScope::Route(id.to_string())),
            None if text == "global" => Ok(PluginScope::Global),
            _ => Err(format!("unknown plugin scope {text:?}: use services/<id>, routes/<id> or global")),
        }
    }

    /// The Admin API path the scope's plugins live under (`` for global).
    pub fn admin_prefix(&self) -> String {
        match self {
            PluginScope::Service(id) => format!("/services/{id}"),
            PluginScope::Route(id) => format!("/routes/{id}"),
            PluginScope::Global => String::new(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            PluginScope::Service(id) => format!("service {id}"),
            PluginScope::Route(id) => format!("route {id}"),
            PluginScope::Global => "all requests (global)".to_string(),
        }
    }
}

/// The editor's fields, with GG's defaults for a scope without the plugins. No secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthSettings {
    pub scope: String,
    pub op_url: String,
    pub oxd_url: String,
    /// Empty until an OP client is registered.
    pub oxd_id: String,
    pub client_id: String,
    pub auth_attached: bool,
    pub anonymous: String,
    pub pass_credentials: String,
    pub consumer_mapping: bool,
    /// Comma-separated.
    pub jwt_audience: String,
    pub custom_headers: Vec<super::headers::CustomHeader>,
    pub pep_attached: bool,
    pub deny_by_default: bool,
    pub oauth_scope_expression: String,
}

impl OAuthSettings {
    /// GG's defaults (`anonymous` " " means none, `pass_credentials` pass, consumer mapping and deny by default on).
    pub fn defaults(scope: String, oxd_url: String) -> OAuthSettings {
        OAuthSettings {
            scope,
            op_url: String::new(),
            oxd_url,
            oxd_id: String::new(),
            client_id: String::new(),
            auth_attached: false,
            anonymous: String::new(),
            pass_credentials: "pass".to_string(),
            consumer_mapping: true,
            jwt_audience: String::new(),
            custom_headers: super::headers::gg_defaults(),
            pep_attached: false,
            deny_by_default: true,
            oauth_scope_expression: String::new(),
        }
    }
}

/// The outcome of a save: what is stored now and, only when this save registered the OP client, its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub settings: OAuthSettings,
    pub new_client_secret: Option<String>,
}

/// The editor's current state for `scope`.
#[server(prefix = "/api", endpoint = "/gluu/get_oauth", client = crate::csrf::CsrfClient)]
pub async fn get_oauth(scope: String) -> Result<OAuthSettings, ServerFnError> {
    super::oauth_server::load(&backend()?, &scope).await.map_err(ServerFnError::new)
}

/// Saves both plugins of `scope`, registering an OP client (oxd `register-site`) when the scope has none.
/// Checkboxes arrive as `Some(_)` when ticked (plain HTML form semantics, so the form also posts without JS).
#[server(prefix = "/api", endpoint = "/gluu/save_oauth", client = crate::csrf::CsrfClient)]
#[allow(clippy::too_many_arguments)]
pub async fn save_oauth(
    scope: String,
    op_url: String,
    oxd_url: String,
    redirect_uri: String,
    client_scopes: String,
    anonymous: String,
    pass_credentials: String,
    consumer_mapping: Option<String>,
    jwt_audience: String,
    custom_headers: String,
    pep: Option<String>,
    deny_by_default: Option<String>,
    oauth_scope_expression: String,
) -> Result<Saved, ServerFnError> {
    let form = SaveForm {
        scope,
        op_url: op_url.trim().to_string(),
        oxd_url: oxd_url.trim().to_string(),
        redirect_uri: redirect_uri.trim().to_string(),
        client_scopes: words(&client_scopes),
        anonymous,
        pass_credentials,
        consumer_mapping: consumer_mapping.is_some(),
        jwt_audience: words(&jwt_audience),
        custom_headers: serde_json::from_str(&custom_headers)
            .map_err(|e| ServerFnError::new(format!("custom_headers: not a list of headers: {e}")))?,
        pep: pep.is_some(),
        deny_by_default: deny_by_default.is_some(),
        oauth_scope_expression,
    };
    super::oauth_server::save(&backend()?, form).await.map_err(ServerFnError::new)
}

/// Removes both plugins of `scope` and their OP client (oxd `remove-site`).
#[server(prefix = "/api", endpoint = "/gluu/delete_oauth", client = crate::csrf::CsrfClient)]
pub async fn delete_oauth(scope: String) -> Result<OAuthSettings, ServerFnError> {
    super::oauth_server::delete(&backend()?, &scope).await.map_err(ServerFnError::new)
}

/// What a save asks for, checkboxes decoded.
#[derive(Debug, Clone)]
pub struct SaveForm {
    pub scope: String,
    pub op_url: String,
    pub oxd_url: String,
    pub redirect_uri: String,
    pub client_scopes: Vec<String>,
    pub anonymous: String,
    pub pass_credentials: String,
    pub consumer_mapping: bool,
    pub jwt_audience: Vec<String>,
    pub custom_headers: Vec<super::headers::CustomHeader>,
    pub pep: bool,
    pub deny_by_default: bool,
    pub oauth_scope_expression: String,
}

/// Comma- or space-separated words.
pub fn words(text: &str) -> Vec<String> {
    text.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

#[cfg(feature = "ssr")]
use crate::backend::from_context as backend;
