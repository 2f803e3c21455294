//! Which oxd command needs a bearer (`oxd.md` §1.3) and what each executes in the embedded oxd module.

use proxy::oxd::params::text;
use proxy::oxd::{Oxd, OxdError, Site, discovery_url};
use serde_json::{Map, Value, json};

/// Commands that need `Authorization: Bearer` (`oxd.md` §1.3).
pub const PROTECTED: [&str; 18] = [
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

/// Commands open to any allowed caller (besides the GET ones: health check, RP JWKS, request objects).
pub const OPEN: [&str; 8] = [
    "register-site",
    "update-site",
    "remove-site",
    "get-client-token",
    "get-rp",
    "get-jwks",
    "get-discovery",
    "get-issuer",
];

/// Runs `command` (already authorized) with `params`.
pub async fn execute(oxd: &Oxd, command: &str, params: &Map<String, Value>) -> Result<Value, OxdError> {
    match command {
        "register-site" => oxd.register_site(params).await,
        "update-site" => oxd.update_site(params).await,
        "remove-site" => oxd.remove_site(params).await,
        "get-client-token" => oxd.get_client_token(params).await,
        "get-rp" => get_rp(oxd, params).await,
        "introspect-access-token" => {
            let site = oxd.site(text(params, "oxd_id")).await?;
            let token = text(params, "access_token").ok_or_else(OxdError::invalid_request)?;
            oxd.introspect_access_token(&site, token).await
        }
        "get-discovery" => {
            let url = discovery_url(params).ok_or_else(OxdError::invalid_request)?;
            Ok(oxd.discovery(&url).await?.raw.clone())
        }
        "get-issuer" => oxd.get_issuer(params).await,
        "get-authorization-url" => oxd.get_authorization_url(params).await,
        "get-tokens-by-code" => oxd.get_tokens_by_code(params).await,
        "get-user-info" => oxd.get_user_info(params).await,
        "get-logout-uri" => oxd.get_logout_uri(params).await,
        "get-access-token-by-refresh-token" => oxd.get_access_token_by_refresh_token(params).await,
        "get-request-object-uri" => oxd.get_request_object_uri(params).await,
        "uma-rs-protect" => oxd.uma_rs_protect(params).await,
        "uma-rs-modify" => oxd.uma_rs_modify(params).await,
        "uma-rs-check-access" => oxd.uma_rs_check_access(params).await,
        "introspect-rpt" => oxd.introspect_rpt(params).await,
        "uma-rp-get-rpt" => oxd.uma_rp_get_rpt(params).await,
        "uma-rp-get-claims-gathering-url" => oxd.uma_rp_get_claims_gathering_url(params).await,
        "get-jwks" => {
            let url = discovery_url(params).ok_or_else(OxdError::invalid_request)?;
            let discovery = oxd.discovery(&url).await?;
            let keys = oxd.jwks(&discovery, false).await?;
            Ok(json!({"keys": keys.raw_keys()}))
        }
        _ => Err(OxdError::unsupported()),
    }
}

async fn get_rp(oxd: &Oxd, params: &Map<String, Value>) -> Result<Value, OxdError> {
    if params.get("list") == Some(&Value::Bool(true)) {
        let sites = oxd.sites().list().await.map_err(|_| OxdError::internal())?;
        let list: Vec<Value> =
            sites.iter().map(|s: &Site| json!({"oxd_id": s.oxd_id, "client_name": s.client_name})).collect();
        return Ok(json!({ "node": list }));
    }
    let oxd_id = text(params, "oxd_id").ok_or_else(OxdError::blank_oxd_id)?;
    match oxd.sites().load(oxd_id).await {
        Ok(Some(site)) => Ok(json!({"node": site.to_rp_json()})),
        Ok(None) => Ok(json!({"node": null})),
        Err(_) => Err(OxdError::internal()),
    }
}
