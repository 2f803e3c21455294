//! UMA 2.0 as oxd speaks it to oxAuth (`oxd.md` §1.7, §1.10, §2.7): UMA discovery, the PAT, resource
//! registration (`uma-rs-protect`, `uma-rs-modify`), the resource server's access check with permission
//! tickets, RPT introspection, and the client side (`uma-rp-get-rpt`, claims gathering).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::expiring::ExpiringKind;
use super::{Oxd, OxdError, Site, basic_auth, now, random_token, strings, text};
use crate::model::gluu::json_logic;

/// The UMA discovery document (`/.well-known/uma2-configuration`), the parts the module uses.
#[derive(Debug, Clone, Deserialize)]
pub struct UmaDiscovery {
    pub issuer: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub resource_registration_endpoint: String,
    pub permission_endpoint: String,
    #[serde(default)]
    pub claims_interaction_endpoint: Option<String>,
}

/// A resource registered at the AS for one condition of an `uma-rs-protect` resource, as the site keeps it
/// (oxd's `UmaResource`, its JSON names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UmaResource {
    pub id: String,
    pub path: String,
    pub http_methods: Vec<String>,
    /// The scopes registered at the AS: the condition's `scopes`, or its scope expression's `data`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The condition's JsonLogic scope expression as a JSON string.
    #[serde(default)]
    pub scope_expressions: Vec<String>,
    #[serde(rename = "ticketScopes", default)]
    pub ticket_scopes: Vec<String>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub exp: Option<i64>,
}

/// One condition of a resource document, validated and ready to register.
#[derive(Debug)]
struct Registration {
    path: String,
    http_methods: Vec<String>,
    scopes: Vec<String>,
    scope_expression: Option<String>,
    ticket_scopes: Vec<String>,
    iat: Option<i64>,
    exp: Option<i64>,
}

impl Registration {
    /// The AS resource description (`oxd.md` §1.10): named `"[GET, POST] /photo"`.
    fn description(&self) -> Value {
        let mut body = json!({
            "name": format!("[{}] {}", self.http_methods.join(", "), self.path),
            "resource_scopes": self.scopes,
        });
        for (field, value) in [("iat", self.iat), ("exp", self.exp)] {
            if let Some(value) = value {
                body[field] = json!(value);
            }
        }
        if let Some(expression) = &self.scope_expression {
            body["scope_expression"] = json!(expression);
        }
        body
    }

    fn into_resource(self, id: String) -> UmaResource {
        UmaResource {
            id,
            path: self.path,
            http_methods: self.http_methods,
            scopes: self.scopes,
            scope_expressions: self.scope_expression.into_iter().collect(),
            ticket_scopes: self.ticket_scopes,
            iat: self.iat,
            exp: self.exp,
        }
    }
}

fn code(status: u16, error: &'static str, description: &'static str) -> OxdError {
    OxdError::code(status, error, description)
}

const DOC_URL: &str = "https://gluu.org/docs/oxd";

fn invalid_uma_request() -> OxdError {
    OxdError::code(
        400,
        "invalid_uma_request",
        format!(
            "Resources list to protect is empty or blank. Please check it according to protocol definition at {DOC_URL}"
        ),
    )
}

fn invalid_scope_expression() -> OxdError {
    code(
        400,
        "invalid_scope_expression",
        "The scope expression is invalid. Please check the documentation and make sure it is a valid JsonLogic \
         expression.",
    )
}

fn invalid_http_method() -> OxdError {
    OxdError::code(
        400,
        "invalid_http_method",
        format!(
            "http_method is not specified or otherwise not GET or POST or PUT or DELETE. Please check it according \
             to protocol definition at {DOC_URL}"
        ),
    )
}

fn invalid_path() -> OxdError {
    code(400, "invalid_path_parameter", "path parameter is not specified or otherwise not valid")
}

fn invalid_ticket() -> OxdError {
    code(400, "invalid_ticket_parameter", "ticket parameter is not specified or otherwise is not valid")
}

fn not_protected(path: &str, method: &str) -> OxdError {
    OxdError::code(
        400,
        "invalid_request",
        format!(
            "Resource is not protected with path: {path} and httpMethod: {method}. Please protect your resource \
             first with uma_rs_protect command. Check details on {DOC_URL}"
        ),
    )
}

/// Reads one `uma-rs-protect` resource document (`oxd.md` §1.7) into its registrations.
fn registrations(resource: &Value, seen: &mut HashSet<(String, String)>) -> Result<Vec<Registration>, OxdError> {
    let path = resource.get("path").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty());
    let path = path.ok_or_else(invalid_uma_request)?;
    let conditions = resource.get("conditions").and_then(Value::as_array).filter(|c| !c.is_empty());
    let mut out = Vec::new();
    for condition in conditions.ok_or_else(invalid_uma_request)? {
        let http_methods: Vec<String> =
            strings(condition.get("httpMethods")).iter().map(|m| m.to_ascii_uppercase()).collect();
        if http_methods.is_empty() {
            return Err(invalid_http_method());
        }
        for method in &http_methods {
            if !seen.insert((path.to_string(), method.clone())) {
                return Err(code(
                    400,
                    "http_method_not_unique",
                    "HTTP method defined in JSON must be unique within given PATH (but occurs more then one time).",
                ));
            }
        }
        let (scopes, scope_expression) = match condition.get("scope_expression").filter(|e| !e.is_null()) {
            Some(expression) => {
                let rule = expression.get("rule").ok_or_else(invalid_scope_expression)?;
                json_logic::Rule::compile(rule).map_err(|_| invalid_scope_expression())?;
                let data = strings(expression.get("data").filter(|d| d.is_array()));
                if data.is_empty() {
                    return Err(invalid_scope_expression());
                }
                (data, Some(expression.to_string()))
            }
            None => (strings(condition.get("scopes")), None),
        };
        if scopes.is_empty() {
            return Err(invalid_uma_request());
        }
        out.push(Registration {
            path: path.to_string(),
            http_methods,
            scopes,
            scope_expression,
            ticket_scopes: strings(condition.get("ticketScopes")),
            iat: resource.get("iat").and_then(Value::as_i64),
            exp: resource.get("exp").and_then(Value::as_i64),
        });
    }
    Ok(out)
}

fn find<'a>(site: &'a Site, path: &str, method: &str) -> Option<&'a UmaResource> {
    site.uma_protected_resources
        .iter()
        .find(|r| r.path == path && r.http_methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
}

/// The AS's error code in an OP error body, if it has one.
fn op_error_code(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body).ok()?.get("error")?.as_str().map(str::to_string)
}

/// The resource ids an RPT introspection grants, sorted.
fn permitted_resources(introspection: &Value) -> Vec<String> {
    let mut ids: Vec<String> = introspection["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["resource_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

impl Oxd {
    /// The OP's UMA discovery document, cached like the OpenID one.
    pub async fn uma_discovery(&self, site: &Site) -> Result<Arc<UmaDiscovery>, OxdError> {
        let no_discovery = || {
            code(
                500,
                "no_uma_discovery_response",
                "Unable to fetch UMA discovery response /.well-known/uma2-configuration",
            )
        };
        let url = match site.op_configuration_endpoint.strip_suffix("/.well-known/openid-configuration") {
            Some(base) => format!("{base}/.well-known/uma2-configuration"),
            None => return Err(no_discovery()),
        };
        let ttl = self.settings.discovery_ttl;
        self.uma_discoveries
            .get_or_fetch(&url, false, || async {
                let (_, raw) = self.send_json(self.http.get(&url)).await.map_err(|error| {
                    tracing::error!(%error, url, "UMA discovery failed");
                    no_discovery()
                })?;
                let discovery: UmaDiscovery = serde_json::from_value(raw).map_err(|_| no_discovery())?;
                Ok((Arc::new(discovery), ttl))
            })
            .await
    }

    /// The site's PAT (a client token with `uma_protection`), cached and shared by concurrent callers;
    /// `fresh` drops the cached one first.
    async fn pat(&self, site: &Site, fresh: bool) -> Result<String, OxdError> {
        const SCOPE: [&str; 2] = ["openid", "uma_protection"];
        if fresh {
            self.tokens.remove(&(site.op_host.clone(), site.client_id.clone(), SCOPE.join(" ")));
        }
        let token = self.site_token(site, &SCOPE).await?;
        if !token.scope.iter().any(|s| s == "uma_protection") {
            tracing::error!(oxd_id = %site.oxd_id, "the OP granted no uma_protection scope for the PAT");
            return Err(OxdError::internal());
        }
        Ok(token.access_token)
    }

    /// Sends a protection-API request with the PAT; a 400/401/403 is retried once with a fresh PAT, since
    /// the AS may have revoked or expired the cached one.
    async fn with_pat(
        &self,
        site: &Site,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<(u16, Value), OxdError> {
        let pat = self.pat(site, false).await?;
        match self.send_json(request(&pat)).await {
            Err(OxdError::Op { status: 400 | 401 | 403, .. }) => {
                let pat = self.pat(site, true).await?;
                self.send_json(request(&pat)).await
            }
            other => other,
        }
    }

    /// `uma-rs-protect`: registers one AS resource per resource × condition and keeps them in the site.
    pub async fn uma_rs_protect(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let mut site = self.site(text(params, "oxd_id")).await?;
        let resources = params.get("resources").and_then(Value::as_array).filter(|r| !r.is_empty());
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        for resource in resources.ok_or_else(invalid_uma_request)? {
            wanted.extend(registrations(resource, &mut seen)?);
        }
        let overwrite = params.get("overwrite").and_then(Value::as_bool).unwrap_or(false);
        if !site.uma_protected_resources.is_empty() && !overwrite {
            return Err(code(
                400,
                "uma_protection_exists",
                "Server already has UMA Resources registered for this oxd_id. It is possible to overwrite it if \
                 provide overwrite=true for uma_rs_protect command (existing resources will be removed and new UMA \
                 Resources added).",
            ));
        }
        let uma = self.uma_discovery(&site).await?;
        for old in std::mem::take(&mut site.uma_protected_resources) {
            let url = format!("{}/{}", uma.resource_registration_endpoint, old.id);
            match self.with_pat(&site, |pat| self.http.delete(&url).bearer_auth(pat)).await {
                Ok(_) | Err(OxdError::Op { status: 404, .. }) => {}
                Err(error) => tracing::warn!(%error, id = %old.id, "the AS did not delete an UMA resource"),
            }
        }
        let mut outcome = Ok(());
        for registration in wanted {
            let body = registration.description();
            let endpoint = &uma.resource_registration_endpoint;
            match self.with_pat(&site, |pat| self.http.post(endpoint).bearer_auth(pat).json(&body)).await {
                Ok((_, answer)) => match answer["_id"].as_str() {
                    Some(id) => site.uma_protected_resources.push(registration.into_resource(id.to_string())),
                    None => {
                        tracing::error!("the AS registered a resource without answering its _id");
                        outcome = Err(OxdError::internal());
                        break;
                    }
                },
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        // What was registered is kept even after a failure, so that `overwrite` can remove it later.
        self.save(&site).await?;
        outcome.map(|_| json!({"oxd_id": site.oxd_id}))
    }

    /// `uma-rs-modify`: replaces the scopes (or scope expression) of the resource for (path, method).
    pub async fn uma_rs_modify(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let mut site = self.site(text(params, "oxd_id")).await?;
        let path = text(params, "path").ok_or_else(invalid_path)?;
        let method = text(params, "http_method").ok_or_else(invalid_http_method)?;
        let current = find(&site, path, method).cloned().ok_or_else(|| not_protected(path, method))?;
        let mut condition = json!({"httpMethods": current.http_methods, "ticketScopes": current.ticket_scopes});
        match params.get("scope_expression").filter(|e| !e.is_null()) {
            Some(expression) => condition["scope_expression"] = expression.clone(),
            None => condition["scopes"] = json!(strings(params.get("scopes"))),
        }
        let document = json!({"path": current.path, "conditions": [condition], "iat": current.iat, "exp": current.exp});
        let registration = registrations(&document, &mut HashSet::new())?.pop().ok_or_else(OxdError::internal)?;
        let uma = self.uma_discovery(&site).await?;
        let url = format!("{}/{}", uma.resource_registration_endpoint, current.id);
        let body = registration.description();
        self.with_pat(&site, |pat| self.http.put(&url).bearer_auth(pat).json(&body)).await?;
        let updated = registration.into_resource(current.id.clone());
        for resource in &mut site.uma_protected_resources {
            if resource.id == current.id {
                *resource = updated.clone();
            }
        }
        self.save(&site).await?;
        Ok(json!({"oxd_id": site.oxd_id}))
    }

    /// `introspect-rpt`: the AS's RPT introspection, `active` always a boolean.
    pub async fn introspect_rpt(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let rpt = text(params, "rpt").ok_or_else(|| {
            code(400, "invalid_rpt_parameter", "rpt parameter is not specified or otherwise is not valid")
        })?;
        self.rpt_status(&site, rpt).await
    }

    async fn rpt_status(&self, site: &Site, rpt: &str) -> Result<Value, OxdError> {
        let uma = self.uma_discovery(site).await?;
        let endpoint = &uma.introspection_endpoint;
        let (_, answer) =
            self.with_pat(site, |pat| self.http.post(endpoint).bearer_auth(pat).form(&[("token", rpt)])).await?;
        let Value::Object(mut answer) = answer else { return Ok(json!({"active": false})) };
        let active = answer.get("active").is_some_and(|a| *a == true || *a == "true");
        answer.insert("active".into(), json!(active));
        Ok(Value::Object(answer))
    }

    /// `uma-rs-check-access` (`oxd.md` §1.10): granted when the RPT holds a permission for the resource with
    /// one of the required scopes; otherwise denied with a new permission ticket.
    pub async fn uma_rs_check_access(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let path = text(params, "path").ok_or_else(invalid_path)?;
        let method = text(params, "http_method").ok_or_else(invalid_http_method)?;
        let rpt = match params.get("rpt") {
            Some(Value::String(rpt)) => rpt.trim(),
            Some(Value::Null) | None => {
                return Err(code(
                    400,
                    "invalid_rpt_parameter",
                    "rpt parameter is not specified or otherwise is not valid",
                ));
            }
            Some(_) => return Err(OxdError::bad_request()),
        };
        let resource = find(&site, path, method).ok_or_else(|| not_protected(path, method))?;
        let asked = strings(params.get("scopes"));
        let required = if asked.is_empty() { resource.scopes.clone() } else { asked.clone() };
        if !rpt.is_empty() {
            let status = self.rpt_status(&site, rpt).await?;
            let now = now();
            let granted = status["active"] == true
                && status["permissions"].as_array().into_iter().flatten().any(|permission| {
                    permission["resource_id"] == resource.id.as_str()
                        && permission["exp"].as_i64().is_none_or(|exp| exp > now)
                        && strings(permission.get("resource_scopes")).iter().any(|s| required.contains(s))
                });
            if granted {
                return Ok(json!({"access": "granted"}));
            }
        }
        let ticket_scopes = if asked.is_empty() && !resource.ticket_scopes.is_empty() {
            resource.ticket_scopes.clone()
        } else {
            required
        };
        let uma = self.uma_discovery(&site).await?;
        let body = json!([{"resource_id": resource.id, "resource_scopes": ticket_scopes}]);
        let endpoint = &uma.permission_endpoint;
        let (_, answer) = self.with_pat(&site, |pat| self.http.post(endpoint).bearer_auth(pat).json(&body)).await?;
        let ticket = answer["ticket"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            tracing::error!("the AS answered a permission request without a ticket");
            OxdError::internal()
        })?;
        // Which resource the ticket is for, so that `uma-rp-get-rpt` can reuse a cached RPT for it.
        let resources = json!([resource.id]).to_string();
        if let Err(error) = self.expiring.put(ExpiringKind::Ticket, ticket, &resources, Duration::from_secs(3600)).await
        {
            tracing::warn!(%error, "cannot remember a permission ticket");
        }
        let header =
            format!("UMA realm=\"rs\",as_uri=\"{}\",error=\"insufficient_scope\",ticket=\"{ticket}\"", site.op_host);
        Ok(json!({"access": "denied", "www-authenticate_header": header, "ticket": ticket}))
    }

    /// `uma-rp-get-rpt`: an RPT for a permission ticket. The site's cached RPT is answered instead when it was
    /// obtained for the same resources as the ticket's and is still valid (the Gatehouse deviation of
    /// `oxd.md` §1.10); `need_info` from the AS is a 403 carrying the AS's answer.
    pub async fn uma_rp_get_rpt(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let mut site = self.site(text(params, "oxd_id")).await?;
        let ticket = text(params, "ticket").ok_or_else(invalid_ticket)?;
        let (claim_token, claim_token_format) = (text(params, "claim_token"), text(params, "claim_token_format"));
        if claim_token.is_some() != claim_token_format.is_some() {
            return Err(code(
                400,
                "invalid_claim_token_or_claim_token_form",
                "Claim token or claim token format is invalid.",
            ));
        }
        let ticket_resources: Option<Vec<String>> = match self.expiring.peek(ExpiringKind::Ticket, ticket).await {
            Ok(found) => found.and_then(|r| serde_json::from_str(&r).ok()),
            Err(_) => None,
        };
        if let (Some(rpt), Some(wanted)) = (&site.rpt, &ticket_resources)
            && rpt.expires_at > now() + self.settings.token_margin.as_secs() as i64
            && &rpt.resource_ids == wanted
        {
            return Ok(json!({"access_token": rpt.access_token, "token_type": rpt.token_type, "pct": rpt.pct,
                "updated": rpt.upgraded}));
        }

        let uma = self.uma_discovery(&site).await?;
        let mut form = vec![("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket".to_string())];
        form.push(("ticket", ticket.to_string()));
        for (name, value) in [("claim_token", claim_token), ("claim_token_format", claim_token_format)] {
            if let Some(value) = value {
                form.push((name, value.to_string()));
            }
        }
        for name in ["pct", "rpt"] {
            if let Some(value) = text(params, name) {
                form.push((name, value.to_string()));
            }
        }
        let scope = strings(params.get("scope"));
        if !scope.is_empty() {
            form.push(("scope", scope.join(" ")));
        }
        for (name, value) in params.get("params").and_then(Value::as_object).into_iter().flatten() {
            if let Some(value) = value.as_str() {
                form.push((name.as_str(), value.to_string()));
            }
        }
        let request = self
            .http
            .post(&uma.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, basic_auth(&site.client_id, &site.client_secret))
            .form(&form);
        let answer = match self.send_json(request).await {
            Ok((_, answer)) => answer,
            Err(OxdError::Op { status, body }) => {
                return Err(match op_error_code(&body).as_deref() {
                    Some("need_info") => need_info(&body),
                    Some("invalid_grant" | "invalid_ticket" | "expired_ticket") => OxdError::Op { status: 400, body },
                    _ => OxdError::Op { status, body },
                });
            }
            Err(error) => return Err(error),
        };
        let access_token = answer["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| code(500, "internal_error", "Failed to get RPT."))?;
        let status = self.rpt_status(&site, access_token).await?;
        let cached = CachedRpt {
            access_token: access_token.to_string(),
            token_type: answer["token_type"].as_str().unwrap_or("Bearer").to_string(),
            pct: answer["pct"].as_str().map(str::to_string),
            upgraded: answer["upgraded"].as_bool().unwrap_or(false),
            created_at: now(),
            expires_at: status["exp"]
                .as_i64()
                .or_else(|| answer["expires_in"].as_i64().map(|s| now() + s))
                .unwrap_or_else(now),
            resource_ids: permitted_resources(&status),
        };
        let response = json!({"access_token": cached.access_token, "token_type": cached.token_type,
            "pct": cached.pct, "updated": cached.upgraded});
        site.rpt = Some(cached);
        self.save(&site).await?;
        Ok(response)
    }

    /// `uma-rp-get-claims-gathering-url`: the AS's claims interaction URL for a ticket (no OP call).
    pub async fn uma_rp_get_claims_gathering_url(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let ticket = text(params, "ticket").ok_or_else(invalid_ticket)?;
        let claims_redirect_uri = text(params, "claims_redirect_uri").ok_or_else(|| {
            code(
                400,
                "invalid_claims_redirect_uri_parameter",
                "claims_redirect_uri parameter is not specified or otherwise is not valid",
            )
        })?;
        let uma = self.uma_discovery(&site).await?;
        let endpoint = uma.claims_interaction_endpoint.clone().ok_or_else(|| {
            tracing::error!(op = %site.op_host, "the AS has no claims interaction endpoint");
            OxdError::internal()
        })?;
        let state = text(params, "state").map_or_else(random_token, str::to_string);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", &site.client_id)
            .append_pair("ticket", ticket)
            .append_pair("claims_redirect_uri", claims_redirect_uri)
            .append_pair("state", &state);
        for (name, value) in params.get("custom_parameters").and_then(Value::as_object).into_iter().flatten() {
            if let Some(value) = value.as_str() {
                query.append_pair(name, value);
            }
        }
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(json!({"url": format!("{endpoint}{separator}{}", query.finish()), "state": state}))
    }
}

/// oxd's `need_info` error, with the AS's answer both as `details` and at the top level (where the GG
/// plugins read `ticket` and `redirect_user`).
fn need_info(as_body: &str) -> OxdError {
    let details: Value = serde_json::from_str(as_body).unwrap_or(Value::Null);
    let mut body = json!({
        "error": "need_info",
        "error_description": "The authorization server needs additional information in order to determine whether \
            the client is authorized to have these permissions.",
        "details": details,
        "reason": null,
    });
    for field in ["ticket", "required_claims", "redirect_user"] {
        if let Some(value) = details.get(field) {
            body[field] = value.clone();
        }
    }
    OxdError::Op { status: 403, body: body.to_string() }
}

/// The last RPT the site obtained (oxd's `rpt*` fields of the site) and the resources it grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedRpt {
    #[serde(rename = "rpt")]
    pub access_token: String,
    #[serde(rename = "rpt_token_type")]
    pub token_type: String,
    #[serde(rename = "rpt_pct", default)]
    pub pct: Option<String>,
    #[serde(rename = "rpt_upgraded", default)]
    pub upgraded: bool,
    #[serde(rename = "rpt_created_at")]
    pub created_at: i64,
    #[serde(rename = "rpt_expires_at")]
    pub expires_at: i64,
    #[serde(rename = "rpt_resource_ids", default)]
    pub resource_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protect(document: Value) -> Result<Vec<Registration>, String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for resource in document.as_array().unwrap() {
            out.extend(registrations(resource, &mut seen).map_err(|e| e.body())?);
        }
        Ok(out)
    }

    #[test]
    fn each_condition_is_one_as_resource_named_after_its_methods() {
        let done = protect(json!([{"path": "/photo", "conditions": [
            {"httpMethods": ["GET"], "scopes": ["view"]},
            {"httpMethods": ["PUT", "post"], "scopes": ["all", "add"], "ticketScopes": ["add"]},
            {"httpMethods": ["DELETE"], "scope_expression": {"rule": {"or": [{"var": 0}, {"var": 1}]},
                "data": ["all", "internal"]}}], "iat": 1, "exp": 2}]))
        .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(
            done[1].description(),
            json!({"name": "[PUT, POST] /photo", "resource_scopes": ["all", "add"],
            "iat": 1, "exp": 2})
        );
        assert_eq!(done[1].ticket_scopes, ["add"]);
        let expression = done[2].description();
        assert_eq!(expression["resource_scopes"], json!(["all", "internal"]));
        assert!(expression["scope_expression"].as_str().unwrap().contains("\"or\""), "sent as a JSON string");
    }

    #[test]
    fn bad_documents_get_oxd_codes() {
        let error = |doc: Value| {
            let body: Value = serde_json::from_str(&protect(doc).unwrap_err()).unwrap();
            body["error"].as_str().unwrap().to_string()
        };
        assert_eq!(
            error(json!([{"path": "/a", "conditions": [{"httpMethods": ["GET"], "scopes": ["x"]},
                {"httpMethods": ["get"], "scopes": ["y"]}]}])),
            "http_method_not_unique"
        );
        assert_eq!(
            error(json!([{"path": "/a", "conditions": [{"httpMethods": ["GET"],
                "scope_expression": {"rule": {"frobnicate": [1]}, "data": ["x"]}}]}])),
            "invalid_scope_expression"
        );
        assert_eq!(error(json!([{"path": "", "conditions": []}])), "invalid_uma_request");
        assert_eq!(error(json!([{"path": "/a", "conditions": [{"scopes": ["x"]}]}])), "invalid_http_method");
    }

    #[test]
    fn need_info_keeps_the_as_answer() {
        let error = need_info(r#"{"error":"need_info","ticket":"t2","redirect_user":"https://as/gather?ticket=t2"}"#);
        assert_eq!(error.status(), 403);
        let body: Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!((body["error"].as_str(), body["ticket"].as_str()), (Some("need_info"), Some("t2")));
        assert_eq!(body["details"]["redirect_user"], "https://as/gather?ticket=t2");
    }
}
