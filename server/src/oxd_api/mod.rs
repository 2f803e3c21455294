//! The oxd-compatible HTTP API (`oxd_listen`, `oxd.md` §1): oxd 4.x's commands for client apps and for tools
//! written against oxd, executed by the embedded oxd module. Every request passes, in oxd's order, the
//! caller-IP allow-list (`bind_ip_addresses`), body parsing, and for protected commands the bearer check: a
//! token of the same client with scope `oxd`, validated by introspection and cached.

mod allow_list;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use proxy::listener::ConnInfo;
use proxy::oxd::{Oxd, OxdError, Site};
use ring::digest;
use serde_json::{Map, Value, json};

pub use allow_list::CallerAllowList;

/// Commands that need `Authorization: Bearer` (`oxd.md` §1.3).
const PROTECTED: [&str; 18] = [
    "get-authorization-url",
    "get-authorization-code",
    "get-tokens-by-code",
    "get-user-info",
    "get-logout-uri",
    "get-access-token-by-refresh-token",
    "introspect-access-token",
    "introspect-rpt",
    "uma-rs-protect",
    "uma-rs-modify",
    "uma-rs-check-access",
    "uma-rp-get-rpt",
    "uma-rp-get-claims-gathering-url",
    "authorization-code-flow",
    "check-access-token",
    "check-id-token",
    "get-request-object-uri",
    "initiate-third-party-login",
];

/// Commands open to any allowed caller.
const OPEN: [&str; 8] = [
    "register-site",
    "update-site",
    "remove-site",
    "get-client-token",
    "get-rp",
    "get-jwks",
    "get-discovery",
    "get-issuer",
];

struct OxdApi {
    oxd: Arc<Oxd>,
    /// Bearer tokens already found valid, per (site, SHA-256 of the token), until their expiry (≤ 300 s).
    validated: std::sync::Mutex<std::collections::HashMap<(String, [u8; 32]), std::time::Instant>>,
}

pub fn router(allow_list: Arc<CallerAllowList>, oxd: Option<Arc<Oxd>>) -> Router {
    let commands = match oxd {
        Some(oxd) => Router::new()
            .route("/{command}", post(command))
            .with_state(Arc::new(OxdApi { oxd, validated: Default::default() })),
        None => Router::new(),
    };
    Router::new()
        .route("/health-check", get(health_check))
        .merge(commands)
        .fallback(|| async { oxd_json(StatusCode::NOT_FOUND, json!({"code": 404, "message": "HTTP 404 Not Found"})) })
        .layer(middleware::from_fn_with_state(allow_list, check_caller))
}

async fn health_check() -> Response {
    oxd_json(StatusCode::OK, json!({"application": "oxd", "version": proxy::VERSION, "status": "running"}))
}

async fn check_caller(State(allow_list): State<Arc<CallerAllowList>>, request: Request, next: Next) -> Response {
    let caller = request.extensions().get::<ConnInfo>().map(|conn| conn.remote.ip());
    match caller {
        Some(ip) if allow_list.allows(ip) => next.run(request).await,
        _ => error_response(OxdError::access_denied()),
    }
}

async fn command(
    State(api): State<Arc<OxdApi>>,
    Path(command): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !PROTECTED.contains(&command.as_str()) && !OPEN.contains(&command.as_str()) {
        return oxd_json(StatusCode::NOT_FOUND, json!({"code": 404, "message": "HTTP 404 Not Found"}));
    }
    let params: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(params)) => params,
            Ok(_) => return plain(StatusCode::BAD_REQUEST, "Invalid parameters. Message: expected a JSON object"),
            Err(error) => return plain(StatusCode::BAD_REQUEST, &format!("Invalid parameters. Message: {error}")),
        }
    };
    let outcome = async {
        if PROTECTED.contains(&command.as_str()) {
            api.authorize(&headers, &params).await?;
        }
        api.execute(&command, &params).await
    }
    .await;
    match outcome {
        Ok(answer) => oxd_json(StatusCode::OK, answer),
        Err(error) => error_response(error),
    }
}

fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl OxdApi {
    /// The bearer check of protected commands (`oxd.md` §1.2 step 3).
    async fn authorize(&self, headers: &HeaderMap, params: &Map<String, Value>) -> Result<(), OxdError> {
        let named =
            headers.get("authorizationoxdid").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
        if let Some(oxd_id) = named
            && self.oxd.sites().load(oxd_id).await.ok().flatten().is_none()
        {
            return Err(OxdError::code(
                400,
                "authorization_oxd_id_not_found",
                "`oxd_id` in `AuthorizationOxdId` header is not registered in oxd.",
            ));
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(OxdError::blank_access_token)?;
        let site = self.oxd.site(named.or(text(params, "oxd_id"))).await?;
        let hash: [u8; 32] = digest::digest(&digest::SHA256, token.as_bytes()).as_ref().try_into().unwrap_or([0; 32]);
        let key = (site.oxd_id.clone(), hash);
        {
            let mut validated = self.validated.lock().unwrap_or_else(|e| e.into_inner());
            match validated.get(&key) {
                Some(until) if *until > std::time::Instant::now() => return Ok(()),
                Some(_) => {
                    validated.remove(&key);
                }
                None => {}
            }
        }
        let answer = self.oxd.introspect_access_token(&site, token).await?;
        if answer["active"] != true {
            return Err(OxdError::inactive_access_token());
        }
        let client_id = answer["client_id"]
            .as_str()
            .filter(|c| !c.is_empty())
            .ok_or_else(OxdError::invalid_introspection_response)?;
        let scopes = answer["scope"].as_array().cloned().unwrap_or_default();
        if !scopes.iter().any(|s| s == "oxd") {
            return Err(OxdError::insufficient_scope());
        }
        if client_id != site.client_id {
            return Err(OxdError::invalid_access_token());
        }
        let left = answer["exp"].as_i64().map_or(0, |exp| exp - now()).clamp(0, 300) as u64;
        let mut validated = self.validated.lock().unwrap_or_else(|e| e.into_inner());
        if validated.len() > 10_000 {
            let now = std::time::Instant::now();
            validated.retain(|_, until| *until > now);
        }
        validated.insert(key, std::time::Instant::now() + Duration::from_secs(left));
        Ok(())
    }

    async fn execute(&self, command: &str, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let oxd = &self.oxd;
        match command {
            "register-site" => oxd.register_site(params).await,
            "update-site" => oxd.update_site(params).await,
            "remove-site" => oxd.remove_site(params).await,
            "get-client-token" => oxd.get_client_token(params).await,
            "get-rp" => self.get_rp(params).await,
            "introspect-access-token" => {
                let site = oxd.site(text(params, "oxd_id")).await?;
                let token = text(params, "access_token").ok_or_else(OxdError::invalid_request)?;
                oxd.introspect_access_token(&site, token).await
            }
            "get-discovery" => {
                let url = proxy::oxd::discovery_url(params).ok_or_else(OxdError::invalid_request)?;
                Ok(oxd.discovery(&url).await?.raw.clone())
            }
            "get-authorization-url" => oxd.get_authorization_url(params).await,
            "get-tokens-by-code" => oxd.get_tokens_by_code(params).await,
            "get-user-info" => oxd.get_user_info(params).await,
            "get-logout-uri" => oxd.get_logout_uri(params).await,
            "get-access-token-by-refresh-token" => oxd.get_access_token_by_refresh_token(params).await,
            "uma-rs-protect" => oxd.uma_rs_protect(params).await,
            "uma-rs-modify" => oxd.uma_rs_modify(params).await,
            "uma-rs-check-access" => oxd.uma_rs_check_access(params).await,
            "introspect-rpt" => oxd.introspect_rpt(params).await,
            "uma-rp-get-rpt" => oxd.uma_rp_get_rpt(params).await,
            "uma-rp-get-claims-gathering-url" => oxd.uma_rp_get_claims_gathering_url(params).await,
            "get-jwks" => {
                let url = proxy::oxd::discovery_url(params).ok_or_else(OxdError::invalid_request)?;
                let discovery = oxd.discovery(&url).await?;
                let keys = oxd.jwks(&discovery, false).await?;
                Ok(json!({"keys": keys.raw_keys()}))
            }
            _ => Err(OxdError::unsupported()),
        }
    }

    async fn get_rp(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        if params.get("list") == Some(&Value::Bool(true)) {
            let sites = self.oxd.sites().list().await.map_err(|_| OxdError::internal())?;
            let list: Vec<Value> =
                sites.iter().map(|s: &Site| json!({"oxd_id": s.oxd_id, "client_name": s.client_name})).collect();
            return Ok(json!({ "node": list }));
        }
        let oxd_id = text(params, "oxd_id").ok_or_else(OxdError::blank_oxd_id)?;
        match self.oxd.sites().load(oxd_id).await {
            Ok(Some(site)) => Ok(json!({"node": site.to_rp_json()})),
            Ok(None) => Ok(json!({"node": null})),
            Err(_) => Err(OxdError::internal()),
        }
    }
}

fn error_response(error: OxdError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.body()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = (status, text.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn oxd_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call_from(remote: &str, uri: &str) -> (StatusCode, serde_json::Value) {
        let allow_list = Arc::new(CallerAllowList::parse("").unwrap());
        let mut request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let remote = remote.parse().unwrap();
        request.extensions_mut().insert(ConnInfo { remote, local: remote, tls: true, sni: None });
        let response = router(allow_list, None).oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn health_check_answers_loopback_callers_in_oxd_45_form() {
        let (status, body) = call_from("127.0.0.1:5000", "/health-check").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"application": "oxd", "version": proxy::VERSION, "status": "running"}));
        let (status, _) = call_from("[::1]:5000", "/health-check").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn other_callers_are_denied_even_the_health_check() {
        let (status, body) = call_from("192.0.2.7:5000", "/health-check").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "oxd_access_denied");
        assert!(body["error_description"].as_str().unwrap().contains("bind_ip_addresses"));
    }
}
