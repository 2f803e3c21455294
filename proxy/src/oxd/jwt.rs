//! JWTs signed by the OP: the JWKS keys (RSA `n`/`e`, EC P-256 `x`/`y`, or either as an `x5c` certificate) and
//! signature checks with `ring`.
//! Only the asymmetric algorithms an OP signs access tokens and id_tokens with are accepted; `none` and HMAC
//! never verify.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// One key of a JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
    /// oxAuth's non-standard key expiry (epoch milliseconds).
    #[serde(default)]
    pub exp: Option<i64>,
    /// The key's certificate chain (standard base64 DER); the first certificate's key stands in for `n`/`e` or
    /// `x`/`y` when a JWKS publishes only the certificate (`gluu-plugins.md` §14 D7).
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
}

impl Jwk {
    /// The public key of the first `x5c` certificate, as its SubjectPublicKeyInfo carries it (an RSAPublicKey
    /// for RSA keys, the uncompressed point for EC keys: the forms `ring` verifies with).
    fn certificate_key(&self) -> Option<Vec<u8>> {
        let der = base64::engine::general_purpose::STANDARD.decode(self.x5c.as_ref()?.first()?).ok()?;
        let (_, certificate) = x509_parser::parse_x509_certificate(&der).ok()?;
        Some(certificate.tbs_certificate.subject_pki.subject_public_key.data.to_vec())
    }
}

impl Jwk {
    /// Whether oxAuth's key expiry (epoch milliseconds) has passed at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.exp.is_some_and(|exp| exp / 1000 < now)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
    /// The keys as the OP published them (`get-jwks` answers with these).
    raw: Vec<Value>,
}

impl Jwks {
    /// Reads a JWKS document; keys that do not parse are skipped.
    pub fn from_json(document: &Value) -> Jwks {
        let raw = document.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
        let keys = raw.iter().filter_map(|key| serde_json::from_value(key.clone()).ok()).collect();
        Jwks { keys, raw }
    }

    pub fn raw_keys(&self) -> &[Value] {
        &self.raw
    }

    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

/// A JWT split into its parts, not yet verified.
#[derive(Debug, Clone)]
pub struct Jwt<'a> {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Three dot-separated base64url parts whose first two decode to JSON objects (`gluu-plugins.md` §3.4).
pub fn parse(token: &str) -> Option<Jwt<'_>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let object = |part: &str| match serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(part).ok()?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    Some(Jwt {
        header: object(header)?,
        payload: object(payload)?,
        signing_input: &token[..header.len() + 1 + payload.len()],
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    })
}

/// The algorithms accepted for OP-signed tokens.
pub const ALGORITHMS: [&str; 4] = ["RS256", "RS384", "RS512", "ES256"];

impl Jwt<'_> {
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Whether `key` signed this token with `alg`.
    pub fn verify_with(&self, alg: &str, key: &Jwk) -> bool {
        let message = self.signing_input.as_bytes();
        let decode = |part: &Option<String>| part.as_deref().and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
        match (alg, key.kty.as_str()) {
            ("RS256" | "RS384" | "RS512", "RSA") => {
                let params = match alg {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                match (decode(&key.n), decode(&key.e)) {
                    (Some(n), Some(e)) => {
                        RsaPublicKeyComponents { n: &n, e: &e }.verify(params, message, &self.signature).is_ok()
                    }
                    _ => key.certificate_key().is_some_and(|public| {
                        UnparsedPublicKey::new(params, public).verify(message, &self.signature).is_ok()
                    }),
                }
            }
            ("ES256", "EC") if key.crv.as_deref().is_none_or(|crv| crv == "P-256") => {
                let point = match (decode(&key.x), decode(&key.y)) {
                    (Some(x), Some(y)) => [&[4u8][..], &x, &y].concat(),
                    _ => match key.certificate_key() {
                        Some(point) => point,
                        None => return false,
                    },
                };
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, &self.signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// An unsigned JWT (`alg: none`) carrying `payload`: the phantom token and the `jwt` header format
/// (`gluu-plugins.md` §3.6, §15 N1: base64url without padding, empty signature).
pub fn unsigned(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"none"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{body}.")
}

/// A JWS in compact form: `header` and `payload` encoded, then `sign` applied to the signing input.
pub fn signed<E>(header: &Value, payload: &Value, sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>) -> Result<String, E> {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = sign(input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair};

    #[test]
    fn es256_tokens_verify_with_their_key_and_fail_when_changed() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref();
        let key = Jwk {
            kty: "EC".into(),
            kid: Some("k1".into()),
            use_: Some("sig".into()),
            alg: Some("ES256".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&public[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&public[33..])),
            exp: None,
            x5c: None,
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"client_id":"c","exp":1}"#)
        );
        let signature = pair.sign(&rng, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
        let jwt = parse(&token).unwrap();
        assert_eq!((jwt.alg(), jwt.kid()), (Some("ES256"), Some("k1")));
        assert!(jwt.verify_with("ES256", &key));
        assert!(!jwt.verify_with("RS256", &key));
        let tampered = token.replacen(&input[..5], "eyJhb", 1).replace(".eyJ", ".eyK");
        assert!(parse(&tampered).is_none_or(|jwt| !jwt.verify_with("ES256", &key)));
    }

    /// A key of the JWKS that publishes only its certificate.
    fn certificate_only(kty: &str, der: &[u8]) -> Jwk {
        Jwk {
            kty: kty.into(),
            kid: Some("k1".into()),
            use_: None,
            alg: None,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
            exp: None,
            x5c: Some(vec![base64::engine::general_purpose::STANDARD.encode(der)]),
        }
    }

    /// A compact JWS over a fixed payload, signed by `sign`.
    fn signed_with(alg: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"k1"}}"#)),
            URL_SAFE_NO_PAD.encode(br#"{"client_id":"c","exp":1}"#)
        );
        let signature = sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn keys_published_only_as_x5c_certificates_verify_rsa_and_ec_tokens() {
        use ring::signature::RsaKeyPair;
        // A throw-away RSA key and its self-signed certificate (`testdata/`; ring cannot make RSA keys).
        let pkcs8 = pem_der(include_str!("testdata/x5c-rsa.key.pem"));
        let rsa = RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
        let certificate =
            base64::engine::general_purpose::STANDARD.encode(pem_der(include_str!("testdata/x5c-rsa.crt.pem")));
        // As a JWKS publishes it: no `n`/`e`.
        let jwks = Jwks::from_json(&serde_json::json!({"keys": [{"kty": "RSA", "kid": "k1", "x5c": [certificate]}]}));
        let rsa_key = jwks.find("k1").unwrap().clone();
        let rng = SystemRandom::new();
        for (alg, padding) in [
            ("RS256", &signature::RSA_PKCS1_SHA256),
            ("RS384", &signature::RSA_PKCS1_SHA384),
            ("RS512", &signature::RSA_PKCS1_SHA512),
        ] {
            let token = signed_with(alg, |input| {
                let mut signature = vec![0; rsa.public().modulus_len()];
                rsa.sign(padding, &rng, input, &mut signature).unwrap();
                signature
            });
            let jwt = parse(&token).unwrap();
            assert!(jwt.verify_with(alg, &rsa_key), "{alg}");
            assert!(!jwt.verify_with(if alg == "RS256" { "RS384" } else { "RS256" }, &rsa_key), "{alg}: other hash");
        }

        let ec = rcgen::KeyPair::generate().unwrap();
        let certificate =
            rcgen::CertificateParams::new(vec!["op.example.com".into()]).unwrap().self_signed(&ec).unwrap();
        let ec_key = certificate_only("EC", certificate.der());
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &ec.serialize_der(), &rng).unwrap();
        let token = signed_with("ES256", |input| pair.sign(&rng, input).unwrap().as_ref().to_vec());
        assert!(parse(&token).unwrap().verify_with("ES256", &ec_key));
        assert!(!parse(&token).unwrap().verify_with("ES256", &rsa_key), "another certificate's key");
        let garbage = Jwk { x5c: Some(vec!["bm90IGEgY2VydGlmaWNhdGU".into()]), ..ec_key };
        assert!(!parse(&token).unwrap().verify_with("ES256", &garbage), "a certificate that does not parse");
    }

    /// The DER inside a PEM block.
    fn pem_der(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }

    #[test]
    fn unsigned_tokens_are_base64url_with_an_empty_signature() {
        let token = unsigned(&serde_json::json!({"active": true}));
        assert!(token.ends_with('.'));
        let jwt = parse(&token).unwrap();
        assert_eq!(jwt.alg(), Some("none"));
        assert_eq!(jwt.payload["active"], true);
    }

    #[test]
    fn things_that_are_not_jwts_do_not_parse() {
        for token in ["opaque-token", "a.b", "a.b.c.d", "e30.e30", "W10.e30.", "e30.W10."] {
            assert!(parse(token).is_none(), "{token}");
        }
        assert!(parse("e30.e30.").is_some(), "empty objects with an empty signature parse");
    }
}
