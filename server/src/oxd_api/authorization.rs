//! The bearer rule of protected commands (`oxd.md` §1.2 step 3): the `AuthorizationOxdId` header, then a token
//! of the same client with scope `oxd`, validated by introspection at the OP and remembered per (site,
//! SHA-256 of the token) until it expires (at most 300 s).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use proxy::oxd::params::text;
use proxy::oxd::{Oxd, OxdError};
use ring::digest;
use serde_json::{Map, Value};

use crate::config::OxdApiSettings;

pub struct Authorization {
    oxd: Arc<Oxd>,
    settings: OxdApiSettings,
    /// Bearer tokens already found valid, by (site, SHA-256 of the token), until their expiry.
    validated: Mutex<HashMap<(String, [u8; 32]), Instant>>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Authorization {
    pub fn new(oxd: Arc<Oxd>, settings: OxdApiSettings) -> Authorization {
        Authorization { oxd, settings, validated: Mutex::default() }
    }

    pub async fn check(&self, headers: &HeaderMap, params: &Map<String, Value>) -> Result<(), OxdError> {
        let named =
            headers.get("authorizationoxdid").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
        if let Some(oxd_id) = named {
            if self.oxd.sites().load(oxd_id).await.ok().flatten().is_none() {
                return Err(OxdError::code(
                    400,
                    "authorization_oxd_id_not_found",
                    "`oxd_id` in `AuthorizationOxdId` header is not registered in oxd.",
                ));
            }
            let allowed = &self.settings.protect_commands_with_oxd_id;
            if !allowed.is_empty() && !allowed.iter().any(|id| id == oxd_id) {
                return Err(OxdError::code(
                    400,
                    "invalid_authorization_oxd_id",
                    "`oxd_id` in `AuthorizationOxdId` header is invalid. The `AuthorizationOxdId` header should \
                     contain `oxd_id` from `protect_commands_with_oxd_id` field in oxd-server.yml.",
                ));
            }
        }
        if !self.settings.protect_commands_with_access_token {
            return Ok(());
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(OxdError::blank_access_token)?;
        let site = self.oxd.site(named.or(text(params, "oxd_id"))).await?;
        let hash: [u8; 32] = digest::digest(&digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .expect("a SHA-256 digest is 32 bytes");
        let key = (site.oxd_id.clone(), hash);
        {
            let mut validated = self.validated.lock().unwrap_or_else(|e| e.into_inner());
            match validated.get(&key) {
                Some(until) if *until > Instant::now() => return Ok(()),
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
            let now = Instant::now();
            validated.retain(|_, until| *until > now);
        }
        validated.insert(key, Instant::now() + Duration::from_secs(left));
        Ok(())
    }
}
