//! The OP's signing keys and the verification of OP-signed JWT access tokens (`gluu-plugins.md` §3.4 with
//! §14 D7–D8): the JWKS cached per issuer, one forced refresh for an unknown `kid` (at most every 10 s).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::discovery::Discovery;
use super::params::strings;
use super::{Oxd, OxdError, jwt, now};

/// Why an OP-signed JWT was refused (`gluu-plugins.md` §3.4, §14 D7–D8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtRejection {
    /// 401 `Bad JWT`: an unsupported algorithm (`none`, HMAC) or one the key does not allow.
    BadJwt,
    MissedKid,
    UnknownKid,
    /// 401 `JWT is not verified, reason: <reason>`.
    NotVerified(&'static str),
    MalformedPayload,
    /// 502: the OP could not be asked.
    Unavailable(String),
}

/// At most one forced JWKS refresh per issuer every 10 s (`gluu-plugins.md` §14 D7), so tokens with made-up
/// `kid`s cannot make the gateway hammer the OP.
#[derive(Default)]
pub(crate) struct ForcedRefresh {
    last: Mutex<HashMap<String, Instant>>,
}

impl ForcedRefresh {
    /// Whether a forced refresh for `issuer` may happen now (and, if so, records it).
    pub(crate) fn allow(&self, issuer: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.get(issuer).is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
        if due {
            last.insert(issuer.to_string(), Instant::now());
        }
        due
    }
}

impl Oxd {
    /// The OP's JWKS, cached per issuer; `force` refetches (at most once per 10 s per issuer).
    pub async fn jwks(&self, discovery: &Discovery, force: bool) -> Result<Arc<jwt::Jwks>, OxdError> {
        let force = force && self.forced_refresh.allow(&discovery.issuer);
        let uri = discovery.jwks_uri.clone().ok_or_else(OxdError::internal)?;
        let ttl = self.settings.jwks_ttl;
        self.jwks
            .get_or_fetch(&discovery.issuer, force, || async {
                let (_, keys) = self.send_json(self.http.get(&uri)).await?;
                Ok((Arc::new(jwt::Jwks::from_json(&keys)), ttl))
            })
            .await
    }

    /// Verifies an OP-signed JWT access token (`gluu-plugins.md` §3.4 with §14 D7/D8) and returns its payload.
    pub async fn verify_jwt(
        &self,
        op_configuration_endpoint: &str,
        token: &jwt::Jwt<'_>,
        audiences: Option<&[String]>,
    ) -> Result<Map<String, Value>, JwtRejection> {
        let discovery = self.discovery(op_configuration_endpoint).await.map_err(unavailable)?;
        verify_access_token(token, &discovery.issuer, audiences, |force| self.jwks(&discovery, force)).await
    }
}

fn unavailable(error: OxdError) -> JwtRejection {
    JwtRejection::Unavailable(error.to_string())
}

/// The checks of an OP-signed JWT access token, whichever transport fetches the keys: `keys(force)` is the
/// issuer's JWKS, refetched when `force` (asked once, for a `kid` the cached set lacks).
pub(crate) async fn verify_access_token<F, Fut>(
    token: &jwt::Jwt<'_>,
    issuer: &str,
    audiences: Option<&[String]>,
    keys: F,
) -> Result<Map<String, Value>, JwtRejection>
where
    F: Fn(bool) -> Fut,
    Fut: Future<Output = Result<Arc<jwt::Jwks>, OxdError>>,
{
    let alg = token.alg().filter(|alg| jwt::ALGORITHMS.contains(alg)).ok_or(JwtRejection::BadJwt)?;
    let kid = token.kid().ok_or(JwtRejection::MissedKid)?;
    let mut set = keys(false).await.map_err(unavailable)?;
    if set.find(kid).is_none() {
        set = keys(true).await.map_err(unavailable)?;
    }
    let key = set.find(kid).ok_or(JwtRejection::UnknownKid)?;
    if key.alg.as_deref().is_some_and(|a| a != alg) || key.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(JwtRejection::BadJwt);
    }
    let now = now();
    if key.is_expired(now) {
        return Err(JwtRejection::UnknownKid);
    }
    if !token.verify_with(alg, key) {
        return Err(JwtRejection::NotVerified("signature mismatch"));
    }
    let payload = &token.payload;
    let (Some(_), Some(exp)) =
        (payload.get("client_id").and_then(Value::as_str), payload.get("exp").and_then(Value::as_i64))
    else {
        return Err(JwtRejection::MalformedPayload);
    };
    if exp <= now {
        return Err(JwtRejection::NotVerified("token expired"));
    }
    if payload.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now) {
        return Err(JwtRejection::NotVerified("token not yet valid"));
    }
    if payload.get("iss").and_then(Value::as_str).map(|i| i.trim_end_matches('/')) != Some(issuer.trim_end_matches('/'))
    {
        return Err(JwtRejection::NotVerified("issuer mismatch"));
    }
    if let Some(audiences) = audiences {
        let aud = strings(payload.get("aud"));
        if !aud.iter().any(|a| audiences.contains(a)) {
            return Err(JwtRejection::NotVerified("audience mismatch"));
        }
    }
    Ok(payload.clone())
}
