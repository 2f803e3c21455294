//! `get-request-object-uri` and the RP's JWKS (`oxd.md` §1.5): an OpenID request object (OIDC Core §6.2)
//! signed as the client asks — `none`, `HS*` with the client secret, or `ES256` with the RP key of
//! `enable_jwks_generation` — kept for `request_object_ttl` and served by reference at
//! `GET /get-request-object/{id}` of the oxd API.

use ring::hmac;
use serde_json::{Map, Value, json};

use super::expiring::ExpiringKind;
use super::params::{strings, text};
use super::{Oxd, OxdError, jwt, now};

fn jwks_generation_disabled() -> OxdError {
    OxdError::code(
        500,
        "jwks_generation_disable",
        "Relying party JWKS generation is disabled in running oxd instance. To enable it set \
         `enable_jwks_generation` field to true in `oxd-server.yml`.",
    )
}

fn failed_to_get_request_uri() -> OxdError {
    OxdError::code(500, "failed_to_get_request_uri", "Failed to create `request_uri`.")
}

impl Oxd {
    /// The RP's JWKS (`GET /get-rp-jwks`).
    pub fn rp_jwks(&self) -> Result<Value, OxdError> {
        self.rp_key.as_ref().map(|key| key.jwks()).ok_or_else(jwks_generation_disabled)
    }

    /// `get-request-object-uri`: signs the site's request object and answers where the OP can fetch it.
    pub async fn get_request_object_uri(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let host = text(params, "oxd_host_url").ok_or_else(|| {
            OxdError::code(400, "bad_request_no_oxd_host", "'oxd_host_url' is empty or not specified.")
        })?;
        let alg = text(params, "request_object_signing_alg")
            .or_else(|| site.metadata.get("request_object_signing_alg").and_then(Value::as_str))
            .ok_or_else(|| OxdError::code(500, "invalid_algorithm", "Invalid algorithm provided (empty or null)."))?;
        let now = now();
        let mut claims = json!({
            "iss": site.client_id,
            "aud": site.op_host,
            "jti": uuid::Uuid::new_v4().to_string(),
            "client_id": site.client_id,
            "iat": now,
            "exp": now + self.settings.request_object_ttl.as_secs() as i64,
            "response_type": strings(site.metadata.get("response_types")).join(" "),
            "oxd_id": site.oxd_id,
        });
        for (name, value) in params.get("params").and_then(Value::as_object).into_iter().flatten() {
            claims[name] = value.clone();
        }
        let hmac_alg = match alg {
            "HS256" => Some(hmac::HMAC_SHA256),
            "HS384" => Some(hmac::HMAC_SHA384),
            "HS512" => Some(hmac::HMAC_SHA512),
            _ => None,
        };
        let request_object = match (alg, hmac_alg) {
            ("none", _) => Ok(jwt::unsigned(&claims)),
            (_, Some(hmac_alg)) => {
                let key = hmac::Key::new(hmac_alg, site.client_secret.as_bytes());
                jwt::signed(&json!({"typ": "JWT", "alg": alg}), &claims, |input| {
                    Ok(hmac::sign(&key, input).as_ref().to_vec())
                })
            }
            ("ES256", _) => {
                let key = self.rp_key.as_ref().ok_or_else(jwks_generation_disabled)?;
                jwt::signed(&json!({"typ": "JWT", "alg": alg, "kid": key.kid()}), &claims, |input| key.sign(input))
            }
            _ => return Err(OxdError::code(500, "algorithm_not_supported", "Algorithm not supported.")),
        };
        let request_object = request_object.map_err(|error| {
            tracing::error!(%error, "cannot sign a request object");
            failed_to_get_request_uri()
        })?;
        let id = uuid::Uuid::new_v4().to_string();
        let ttl = self.settings.request_object_ttl;
        self.expiring.put(ExpiringKind::RequestObject, &id, &request_object, ttl).await.map_err(|error| {
            tracing::error!(%error, "cannot store a request object");
            failed_to_get_request_uri()
        })?;
        let base = if host.starts_with("http") { host.to_string() } else { format!("https://{host}") };
        Ok(json!({"request_uri": format!("{}/get-request-object/{id}", base.trim_end_matches('/'))}))
    }

    /// A stored request object (`GET /get-request-object/{id}`); it stays until it expires, since the OP
    /// may fetch it more than once.
    pub async fn request_object(&self, id: &str) -> Result<String, OxdError> {
        let found = self.expiring.peek(ExpiringKind::RequestObject, id).await.map_err(|error| {
            tracing::error!(%error, "cannot read a request object");
            OxdError::internal()
        })?;
        found.ok_or_else(|| {
            OxdError::code(
                404,
                "request_object_not_found",
                "Request object not found. The `request_uri` has either expired or it does not exist.",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::oxd::{MemoryExpiring, MemorySites, OxdSettings, RpKey, Site};

    async fn oxd_with_site(rp_key: bool) -> Oxd {
        let mut oxd =
            Oxd::new(OxdSettings::default(), Arc::new(MemorySites::default()), Arc::new(MemoryExpiring::default()))
                .unwrap();
        if rp_key {
            oxd = oxd.with_rp_key(RpKey::from_pkcs8(&RpKey::generate().unwrap()).unwrap());
        }
        let site = Site {
            oxd_id: "site-1".into(),
            op_host: "https://op.example.com".into(),
            op_configuration_endpoint: "https://op.example.com/.well-known/openid-configuration".into(),
            client_id: "client-1".into(),
            client_secret: "secret-1".into(),
            metadata: json!({"response_types": ["code"]}).as_object().cloned().unwrap(),
            ..Site::default()
        };
        oxd.sites().save(&site).await.unwrap();
        oxd
    }

    async fn request_object(oxd: &Oxd, alg: &str) -> String {
        let params = json!({"oxd_id": "site-1", "oxd_host_url": "gateway.example.com:8443/", "request_object_signing_alg": alg,
            "params": {"scope": "openid", "claims": {"id_token": {"acr": null}}}});
        let answer = oxd.get_request_object_uri(params.as_object().unwrap()).await.unwrap();
        let uri = answer["request_uri"].as_str().unwrap();
        let id = uri.strip_prefix("https://gateway.example.com:8443/get-request-object/").expect("https:// is added");
        oxd.request_object(id).await.unwrap()
    }

    #[tokio::test]
    async fn request_objects_are_signed_as_asked_and_served_until_they_expire() {
        let oxd = oxd_with_site(false).await;
        let hs256 = request_object(&oxd, "HS256").await;
        let (input, signature) = hs256.rsplit_once('.').unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"secret-1");
        assert!(hmac::verify(&key, input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).unwrap()).is_ok());
        let claims = jwt::parse(&hs256).unwrap().payload;
        assert_eq!(
            (claims["iss"].as_str(), claims["aud"].as_str()),
            (Some("client-1"), Some("https://op.example.com"))
        );
        assert_eq!((claims["response_type"].as_str(), claims["scope"].as_str()), (Some("code"), Some("openid")));
        assert_eq!(claims["claims"], json!({"id_token": {"acr": null}}), "object parameters stay objects");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);

        let unsigned = request_object(&oxd, "none").await;
        assert_eq!(jwt::parse(&unsigned).unwrap().alg(), Some("none"));
        let refused = oxd
            .get_request_object_uri(
                json!({"oxd_id": "site-1", "oxd_host_url": "h",
            "request_object_signing_alg": "ES256"})
                .as_object()
                .unwrap(),
            )
            .await;
        assert_eq!(refused.unwrap_err().status(), 500, "ES256 needs the RP key");
        assert_eq!(oxd.request_object("unknown").await.unwrap_err().status(), 404);

        let with_key = oxd_with_site(true).await;
        let es256 = request_object(&with_key, "ES256").await;
        assert_eq!(jwt::parse(&es256).unwrap().kid(), with_key.rp_jwks().unwrap()["keys"][0]["kid"].as_str());
    }
}
