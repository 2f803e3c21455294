//! id_token validation for `get-tokens-by-code` (OIDC Core §3.1.3.7, `oxd.md` §2.6): signature with the OP's
//! key, `iss`, `aud`, `azp`, `exp`, `iat`, `sub`, `nonce` and `at_hash`, each failure with oxd's error code.
//! Kept free of I/O so every rule is unit-tested; the module finds the key and passes it in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde_json::{Map, Value};

use super::OxdError;
use super::jwt::{self, Jwk, Jwt};

/// What the id_token must match.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce stored with the state; `None` when the flow had none.
    pub nonce: Option<&'a str>,
    /// The access token issued with the id_token, for `at_hash`.
    pub access_token: Option<&'a str>,
    pub now: i64,
}

/// Clock skew tolerated for `iat` in the future.
const SKEW: i64 = 60;

fn fail(error: &'static str, description: &'static str) -> OxdError {
    OxdError::code(500, error, description)
}

pub fn bad_signature() -> OxdError {
    fail("invalid_id_token_bad_signature", "Invalid id_token. Bad signature.")
}

pub fn unknown() -> OxdError {
    fail(
        "invalid_id_token_unknown",
        "Invalid id_token, validation fail due to exception, please check oxd-server.log for details.",
    )
}

pub fn key_id_not_found() -> OxdError {
    fail(
        "key_id_not_found",
        "`kid` is missing in `ID_TOKEN`. Unable to find matching key out of the Issuer's published set.",
    )
}

/// `accept_id_token_without_signature` is not offered: an unsigned id_token is always refused.
pub fn unsigned_not_allowed() -> OxdError {
    OxdError::code(
        400,
        "id_token_without_signature_not_allowed",
        "`ID_TOKEN` without signature is not allowed. To allow `ID_TOKEN` without signature set \
         `accept_id_token_without_signature` field to 'true' in oxd-server.yml.",
    )
}

/// The id_token's header and claims; `unknown` when it is not a JWT at all.
pub fn parse(token: &str) -> Result<Jwt<'_>, OxdError> {
    jwt::parse(token).ok_or_else(unknown)
}

/// Checks `token` (signed by `key`) against `expected` and returns its claims.
pub fn validate(token: &Jwt<'_>, key: &Jwk, expected: &Expected<'_>) -> Result<Map<String, Value>, OxdError> {
    let alg = token.alg().unwrap_or_default();
    if alg == "none" {
        return Err(unsigned_not_allowed());
    }
    // A key past oxAuth's `exp` is no longer in the usable published set.
    if key.is_expired(expected.now) {
        return Err(key_id_not_found());
    }
    let key_allows = key.alg.as_deref().is_none_or(|a| a == alg) && key.use_.as_deref().is_none_or(|u| u == "sig");
    if !jwt::ALGORITHMS.contains(&alg) || !key_allows || !token.verify_with(alg, key) {
        return Err(bad_signature());
    }
    let claims = &token.payload;
    let string = |name: &str| claims.get(name).and_then(Value::as_str);
    if string("iss").map(|i| i.trim_end_matches('/')) != Some(expected.issuer.trim_end_matches('/')) {
        return Err(fail("invalid_id_token_bad_issuer", "Invalid id_token. Bad issuer."));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(fail(
            "invalid_id_token_bad_audience",
            "Invalid id_token. Audience value from token does not match audience from request.",
        ));
    }
    // azp must name this client when present, and must be present when other audiences are trusted too.
    let azp = string("azp");
    if azp.is_some_and(|azp| azp != expected.client_id) || (azp.is_none() && audiences.len() > 1) {
        return Err(fail(
            "invalid_id_token_bad_authorized_party",
            "Invalid id_token. Authorized party value from token does not match client_id of client.",
        ));
    }
    if string("sub").is_none_or(str::is_empty) {
        return Err(fail("no_subject_identifier", "ID Token is missing `sub` value."));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > expected.now => {}
        _ => return Err(fail("invalid_id_token_expired", "Invalid id_token. id_token expired.")),
    }
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat <= expected.now + SKEW => {}
        _ => {
            return Err(fail(
                "invalid_id_token_issued_at",
                "`ISSUED_AT` date is either invalid or missing from `ID_TOKEN`.",
            ));
        }
    }
    if let Some(nonce) = expected.nonce
        && string("nonce") != Some(nonce)
    {
        return Err(fail(
            "invalid_id_token_bad_nonce",
            "Invalid id_token. Nonce value from token does not match nonce from request.",
        ));
    }
    if let (Some(at_hash), Some(access_token)) = (string("at_hash"), expected.access_token)
        && token_hash(alg, access_token).as_deref() != Some(at_hash)
    {
        return Err(fail(
            "invalid_access_token_bad_hash",
            "access_token is invalid. Hash of access_token does not match hash from id_token (at_hash).",
        ));
    }
    Ok(claims.clone())
}

/// `at_hash`/`c_hash`: the left half of the value's hash with the id_token's algorithm's SHA-2, base64url.
fn token_hash(alg: &str, value: &str) -> Option<String> {
    let algorithm = match alg.get(alg.len().saturating_sub(3)..)? {
        "256" => &digest::SHA256,
        "384" => &digest::SHA384,
        "512" => &digest::SHA512,
        _ => return None,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let bytes = hash.as_ref();
    Some(URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2]))
}

#[cfg(test)]
mod tests;
