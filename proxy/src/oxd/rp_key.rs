//! The RP's own signing key (`enable_jwks_generation`, `oxd.md` §1.5): an ES256 key the server keeps sealed in
//! its database, published by `GET /get-rp-jwks` (what a client registers as its `jwks_uri`) and used to sign
//! the request objects of `get-request-object-uri`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

pub struct RpKey {
    pair: EcdsaKeyPair,
    /// The public key as a JWK, `kid` = its RFC 7638 thumbprint.
    jwk: Value,
}

impl std::fmt::Debug for RpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpKey").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

impl RpKey {
    /// A new key as PKCS#8, for the server to store.
    pub fn generate() -> Result<Vec<u8>, String> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map(|pkcs8| pkcs8.as_ref().to_vec())
            .map_err(|_| "cannot generate the RP signing key".to_string())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<RpKey, String> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
            .map_err(|_| "the stored RP signing key is not a P-256 PKCS#8 key".to_string())?;
        // An uncompressed point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        // RFC 7638: the SHA-256 of the required members in lexicographic order, without spaces.
        let thumbprint = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, thumbprint.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"});
        Ok(RpKey { pair, jwk })
    }

    pub fn kid(&self) -> &str {
        self.jwk["kid"].as_str().unwrap_or_default()
    }

    /// The JWKS `GET /get-rp-jwks` answers.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// The ES256 signature of `input` (IEEE P1363 form, as JWS wants it).
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        self.pair
            .sign(&SystemRandom::new(), input)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| "cannot sign with the RP key".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oxd::jwt;

    #[test]
    fn the_key_survives_storage_and_its_signatures_verify_with_its_jwk() {
        let stored = RpKey::generate().unwrap();
        let (key, again) = (RpKey::from_pkcs8(&stored).unwrap(), RpKey::from_pkcs8(&stored).unwrap());
        assert_eq!(key.jwks(), again.jwks(), "the same stored key gives the same JWKS and kid");
        assert_eq!(key.kid().len(), 43, "a base64url SHA-256 thumbprint");
        let token =
            jwt::signed(&json!({"alg": "ES256", "kid": key.kid()}), &json!({"iss": "rp"}), |input| key.sign(input))
                .unwrap();
        let jwk: jwt::Jwk = serde_json::from_value(key.jwks()["keys"][0].clone()).unwrap();
        assert!(jwt::parse(&token).unwrap().verify_with("ES256", &jwk));
        let other = RpKey::from_pkcs8(&RpKey::generate().unwrap()).unwrap();
        let other_jwk: jwt::Jwk = serde_json::from_value(other.jwks()["keys"][0].clone()).unwrap();
        assert!(!jwt::parse(&token).unwrap().verify_with("ES256", &other_jwk));
        assert!(RpKey::from_pkcs8(b"not a key").is_err());
    }
}
