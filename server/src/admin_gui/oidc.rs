//! Signing admins in with OpenID Connect (`admin_gui_op_host`), through the embedded oxd module as Gluu
//! Gateway's UI did: the UI's own OP client is registered once (`register-site`, kept in the store per OP and
//! redirect URI), `get-authorization-url` sends the browser to the OP (code flow, state, nonce, PKCE when the
//! OP offers it), `get-tokens-by-code` redeems the code and validates the id_token, and sign-out goes to the
//! OP's end-session endpoint (`get-logout-uri`). The client secret never leaves the node.
//!
//! The state is also bound to the browser that started the sign-in (a short-lived cookie), so a code minted
//! for someone else's browser cannot sign this one in.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::{Auth, RequestFacts, cookie_value};
use crate::config::Config;
use crate::node::Node;

const STATE_COOKIE: &str = "gatehouse_oidc";

/// The OIDC settings of the UI, read once at start.
#[derive(Debug, Clone)]
pub struct OidcLogin {
    pub op_host: String,
    pub redirect_uri: String,
    pub post_logout_uri: String,
    scope: Vec<String>,
    username_claim: String,
    required: Option<(String, String)>,
}

impl OidcLogin {
    pub fn from_config(config: &Config) -> Option<OidcLogin> {
        let op_host = config.admin_gui_op_host.trim().trim_end_matches('/').to_string();
        if op_host.is_empty() {
            return None;
        }
        let base = match config.admin_gui_url.trim() {
            "" => default_url(&config.admin_gui_listen),
            url => url.trim_end_matches('/').to_string(),
        };
        let required = config
            .admin_gui_required_claim
            .split_once('=')
            .map(|(claim, value)| (claim.trim().to_string(), value.trim().to_string()));
        if required.is_none() {
            tracing::warn!(
                op = %op_host,
                "admin_gui_required_claim is empty: anyone the OP authenticates can administer this gateway"
            );
        }
        Some(OidcLogin {
            op_host,
            redirect_uri: format!("{base}/login/callback"),
            post_logout_uri: format!("{base}/login"),
            scope: config.admin_gui_oidc_scope.split_whitespace().map(str::to_string).collect(),
            username_claim: config.admin_gui_username_claim.trim().to_string(),
            required,
        })
    }

    /// The UI's oxd site at the OP: the stored one, or a new registration.
    async fn site(&self, node: &Node) -> Result<String, String> {
        if let Some(oxd_id) =
            node.store.admin_gui_site(&self.op_host, &self.redirect_uri).await.map_err(|e| e.to_string())?
        {
            return Ok(oxd_id);
        }
        let oxd = node.oxd.as_ref().ok_or("the oxd module is not running on this node")?;
        let params = object(json!({
            "op_host": self.op_host,
            "redirect_uris": [self.redirect_uri],
            "post_logout_redirect_uris": [self.post_logout_uri],
            "scope": self.scope,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "client_name": "Gatehouse admin UI",
        }));
        let registered = oxd.register_site(&params).await.map_err(|e| e.body())?;
        let oxd_id = registered["oxd_id"].as_str().ok_or("register-site answered no oxd_id")?;
        tracing::info!(op = %self.op_host, oxd_id, "registered the admin UI's OP client");
        node.store.keep_admin_gui_site(&self.op_host, &self.redirect_uri, oxd_id).await.map_err(|e| e.to_string())
    }

    /// Who the id_token's claims name, if they may administer: `Err` is why not.
    fn admin_of(&self, claims: &Value) -> Result<String, &'static str> {
        if let Some((claim, wanted)) = &self.required {
            let carries = match &claims[claim.as_str()] {
                Value::String(value) => value == wanted,
                Value::Array(values) => values.iter().any(|v| v.as_str() == Some(wanted.as_str())),
                _ => false,
            };
            if !carries {
                return Err("forbidden");
            }
        }
        claims[self.username_claim.as_str()]
            .as_str()
            .or_else(|| claims["sub"].as_str())
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .ok_or("oidc")
    }
}

/// `http://` + the first `admin_gui_listen` address (`https://` when it has `ssl`).
fn default_url(listen: &str) -> String {
    let first = listen.split(',').next().unwrap_or_default().trim();
    let mut words = first.split_whitespace();
    let address = words.next().unwrap_or("127.0.0.1:1338").replace("0.0.0.0", "127.0.0.1");
    let scheme = if words.any(|flag| flag == "ssl") { "https" } else { "http" };
    format!("{scheme}://{address}")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login/oidc`: on to the OP's sign-in page.
pub async fn start(State(auth): State<Arc<Auth>>, headers: HeaderMap, Query(query): Query<StartQuery>) -> Response {
    let Some(oidc) = auth.oidc() else { return Redirect::to("/login").into_response() };
    let node = auth.node();
    let site = match oidc.site(node).await {
        Ok(site) => site,
        Err(error) => {
            tracing::error!(%error, op = %oidc.op_host, "cannot register the admin UI at the OP");
            return Redirect::to("/login?error=oidc").into_response();
        }
    };
    let oxd = node.oxd.as_ref().expect("a site exists only where the oxd module runs");
    let answer = match oxd.get_authorization_url(&object(json!({"oxd_id": site}))).await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::error!(error = %error.body(), op = %oidc.op_host, "get-authorization-url failed");
            return Redirect::to("/login?error=oidc").into_response();
        }
    };
    let url = answer["authorization_url"].as_str().unwrap_or_default().to_string();
    let Some(state) = query_value(&url, "state") else {
        return Redirect::to("/login?error=oidc").into_response();
    };
    let facts = RequestFacts::from_headers(&headers, false);
    let next = crate::url_text::encode_component(&query.next);
    // Lax, not Strict: the OP's redirect back to the callback is a cross-site navigation.
    let cookie = format!(
        "{STATE_COOKIE}={state}.{next}; Path=/login; HttpOnly; SameSite=Lax; Max-Age=600{}",
        if facts.secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&url).into_response();
    response.headers_mut().insert(header::SET_COOKIE, super::auth::header_value(&cookie));
    response
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
}

/// `GET /login/callback`: the OP's answer; a session for the admin it names.
pub async fn callback(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = auth.oidc() else { return Redirect::to("/login").into_response() };
    let bound = cookie_value(&headers, STATE_COOKIE).and_then(|v| {
        let (state, next) = v.split_once('.')?;
        Some((state.to_string(), crate::url_text::decode_component(next)))
    });
    let Some((state, next)) = bound.filter(|(state, _)| !query.state.is_empty() && *state == query.state) else {
        tracing::warn!("admin UI OIDC callback refused: its state was not started by this browser");
        return Redirect::to("/login?error=oidc").into_response();
    };
    if !query.error.is_empty() {
        tracing::warn!(error = %query.error, "the OP refused the admin UI sign-in");
        return Redirect::to("/login?error=oidc").into_response();
    }
    let node = auth.node();
    let tokens = match oidc.site(node).await {
        Ok(site) => {
            let oxd = node.oxd.as_ref().expect("a site exists only where the oxd module runs");
            let params = object(json!({"oxd_id": site, "code": query.code, "state": state}));
            oxd.get_tokens_by_code(&params).await.map_err(|e| e.body())
        }
        Err(error) => Err(error),
    };
    let tokens = match tokens {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(%error, "admin UI OIDC sign-in failed at the code exchange");
            return Redirect::to("/login?error=oidc").into_response();
        }
    };
    let username = match oidc.admin_of(&tokens["id_token_claims"]) {
        Ok(username) => username,
        Err(problem) => {
            tracing::warn!(
                sub = tokens["id_token_claims"]["sub"].as_str().unwrap_or_default(),
                "admin UI OIDC sign-in refused: the id_token lacks admin_gui_required_claim"
            );
            return Redirect::to(&format!("/login?error={problem}")).into_response();
        }
    };
    if let Err(error) = node.store.seen_oidc_admin(&username).await {
        tracing::error!(%error, "cannot record an OIDC admin");
        return Redirect::to("/login?error=unavailable").into_response();
    }
    let id_token = tokens["id_token"].as_str().unwrap_or_default();
    let facts = RequestFacts::from_headers(&headers, false);
    let signed_in = auth.sign_in(&facts, &username, &next, id_token).await;
    // The browser arrives here from the OP, a cross-site navigation that SameSite=Strict cookies do not follow,
    // so the hop to the page is made from this page, same-site.
    let target = signed_in.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("/").to_string();
    let mut page = (
        StatusCode::OK,
        Html(format!(
            "<!DOCTYPE html><meta http-equiv=\"refresh\" content=\"0;url={0}\"><title>Signed in</title>\
             <p>Signed in. <a href=\"{0}\">Continue</a></p>",
            html_escape(&target)
        )),
    )
        .into_response();
    for cookie in signed_in.headers().get_all(header::SET_COOKIE) {
        page.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    let clear = format!("{STATE_COOKIE}=; Path=/login; HttpOnly; SameSite=Lax; Max-Age=0");
    page.headers_mut().append(header::SET_COOKIE, super::auth::header_value(&clear));
    page
}

/// Where sign-out of an OIDC session goes: the OP's end-session URL, back to `/login` after.
pub async fn logout_uri(auth: &Auth, id_token: &str) -> Option<String> {
    let oidc = auth.oidc()?;
    let node = auth.node();
    let site = oidc.site(node).await.ok()?;
    let params = object(json!({
        "oxd_id": site,
        "id_token_hint": id_token,
        "post_logout_redirect_uri": oidc.post_logout_uri,
    }));
    match node.oxd.as_ref()?.get_logout_uri(&params).await {
        Ok(answer) => answer["uri"].as_str().map(str::to_string),
        Err(error) => {
            tracing::warn!(error = %error.body(), "get-logout-uri failed: the OP session stays");
            None
        }
    }
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').filter_map(|pair| pair.split_once('=')).find(|(key, _)| *key == name).map(|(_, v)| v.to_string())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(required: &str) -> OidcLogin {
        let config = Config {
            admin_gui_op_host: "https://op.example/".into(),
            admin_gui_listen: "0.0.0.0:1338 ssl".into(),
            admin_gui_required_claim: required.into(),
            ..Config::default()
        };
        OidcLogin::from_config(&config).unwrap()
    }

    #[test]
    fn redirect_uris_come_from_the_listener_unless_admin_gui_url_is_set() {
        let oidc = login("");
        assert_eq!(oidc.op_host, "https://op.example");
        assert_eq!(oidc.redirect_uri, "https://127.0.0.1:1338/login/callback");
        let config = Config {
            admin_gui_op_host: "https://op.example".into(),
            admin_gui_url: "https://gateway.example/admin/".into(),
            ..Config::default()
        };
        assert_eq!(OidcLogin::from_config(&config).unwrap().post_logout_uri, "https://gateway.example/admin/login");
        assert!(OidcLogin::from_config(&Config::default()).is_none(), "no OP, no OIDC sign-in");
    }

    #[test]
    fn the_required_claim_gates_sign_in_and_the_username_claim_names_the_admin() {
        let oidc = login("role=gateway-admin");
        let admin = json!({"sub": "u1", "email": "alice@example.com", "role": ["staff", "gateway-admin"]});
        assert_eq!(oidc.admin_of(&admin), Ok("alice@example.com".to_string()));
        let staff = json!({"sub": "u2", "email": "bob@example.com", "role": "staff"});
        assert_eq!(oidc.admin_of(&staff), Err("forbidden"));
        assert_eq!(login("").admin_of(&json!({"sub": "u3"})), Ok("u3".to_string()), "no email: the subject");
    }
}
