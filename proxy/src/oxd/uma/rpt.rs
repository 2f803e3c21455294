//! The client side of UMA: `uma-rp-get-rpt` (the uma-ticket grant, `need_info` passed on as oxd's 403, the
//! site's cached RPT reused for a ticket of the same resources) and `uma-rp-get-claims-gathering-url`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{code, invalid_ticket, op_error_code};
use crate::oxd::expiring::ExpiringKind;
use crate::oxd::op_http::basic_auth;
use crate::oxd::params::{strings, text};
use crate::oxd::{Oxd, OxdError, now, random_token};

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

    #[test]
    fn need_info_keeps_the_as_answer() {
        let error = need_info(r#"{"error":"need_info","ticket":"t2","redirect_user":"https://as/gather?ticket=t2"}"#);
        assert_eq!(error.status(), 403);
        let body: Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!((body["error"].as_str(), body["ticket"].as_str()), (Some("need_info"), Some("t2")));
        assert_eq!(body["details"]["redirect_user"], "https://as/gather?ticket=t2");
    }
}
