//! `uma-rs-protect` and `uma-rs-modify`: the resource documents of oxd (`oxd.md` §1.7) registered at the AS, one
//! AS resource per resource × condition, and kept in the site for the access check.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{code, invalid_http_method, invalid_path, invalid_scope_expression, invalid_uma_request, not_protected};
use crate::model::gluu::json_logic;
use crate::oxd::params::{strings, text};
use crate::oxd::{Oxd, OxdError, Site};

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

pub(super) fn find<'a>(site: &'a Site, path: &str, method: &str) -> Option<&'a UmaResource> {
    site.uma_protected_resources
        .iter()
        .find(|r| r.path == path && r.http_methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
}

impl Oxd {
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
}
