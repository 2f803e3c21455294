//! The resource server's side: `introspect-rpt` and `uma-rs-check-access` (`oxd.md` §1.10) — granted when the
//! RPT holds a permission for the resource with a required scope, otherwise denied with a new permission ticket.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::resources::find;
use super::{code, invalid_http_method, invalid_path, not_protected};
use crate::oxd::expiring::ExpiringKind;
use crate::oxd::params::{strings, text};
use crate::oxd::{Oxd, OxdError, Site, now};

impl Oxd {
    /// `introspect-rpt`: the AS's RPT introspection, `active` always a boolean.
    pub async fn introspect_rpt(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let rpt = text(params, "rpt").ok_or_else(|| {
            code(400, "invalid_rpt_parameter", "rpt parameter is not specified or otherwise is not valid")
        })?;
        self.rpt_status(&site, rpt).await
    }

    pub(super) async fn rpt_status(&self, site: &Site, rpt: &str) -> Result<Value, OxdError> {
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
}
