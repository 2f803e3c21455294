//! Each id_token rule fails on its own with oxd's code; tokens are ES256-signed with a key made per test.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::*;

struct Signer {
    pair: EcdsaKeyPair,
    key: Jwk,
}

fn signer() -> Signer {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref().to_vec();
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
    Signer { pair, key }
}

impl Signer {
    fn sign(&self, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

const NOW: i64 = 1_700_000_000;

fn claims() -> Value {
    json!({"iss": "http://op", "aud": "client", "sub": "alice", "exp": NOW + 60, "iat": NOW - 1, "nonce": "n1",
        "at_hash": token_hash("ES256", "the-access-token").unwrap()})
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: "http://op",
        client_id: "client",
        nonce: Some("n1"),
        access_token: Some("the-access-token"),
        now: NOW,
    }
}

/// The error code of validating `claims` signed by the test key.
fn outcome(signer: &Signer, claims: Value, expected: &Expected<'_>) -> Result<(), &'static str> {
    let token = signer.sign(&claims);
    let jwt = parse(&token).unwrap();
    validate(&jwt, &signer.key, expected).map(|_| ()).map_err(|e| match e {
        OxdError::Code { error, .. } => error,
        OxdError::Op { .. } => "op",
    })
}

fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut claims = claims();
    change(claims.as_object_mut().unwrap());
    claims
}

#[test]
fn a_valid_id_token_gives_its_claims() {
    let signer = signer();
    let token = signer.sign(&claims());
    let claims = validate(&parse(&token).unwrap(), &signer.key, &expected()).unwrap();
    assert_eq!(claims["sub"], "alice");
    let listed = with(|c| {
        c.insert("aud".into(), json!(["client", "other"]));
        c.insert("azp".into(), json!("client"));
    });
    assert_eq!(outcome(&signer, listed, &expected()), Ok(()), "aud may be a list that contains the client");
}

#[test]
fn a_wrong_nonce_is_bad_nonce() {
    let signer = signer();
    let claims = with(|c| {
        c.insert("nonce".into(), json!("other"));
    });
    assert_eq!(outcome(&signer, claims, &expected()), Err("invalid_id_token_bad_nonce"));
    let missing = with(|c| {
        c.remove("nonce");
    });
    assert_eq!(outcome(&signer, missing, &expected()), Err("invalid_id_token_bad_nonce"));
}

#[test]
fn another_audience_or_authorized_party_is_refused() {
    let signer = signer();
    let other = with(|c| {
        c.insert("aud".into(), json!("someone-else"));
    });
    assert_eq!(outcome(&signer, other, &expected()), Err("invalid_id_token_bad_audience"));
    let azp = with(|c| {
        c.insert("azp".into(), json!("someone-else"));
    });
    assert_eq!(outcome(&signer, azp, &expected()), Err("invalid_id_token_bad_authorized_party"));
    let many_without_azp = with(|c| {
        c.insert("aud".into(), json!(["client", "other"]));
    });
    assert_eq!(outcome(&signer, many_without_azp, &expected()), Err("invalid_id_token_bad_authorized_party"));
}

#[test]
fn another_issuer_is_bad_issuer() {
    let signer = signer();
    let claims = with(|c| {
        c.insert("iss".into(), json!("http://evil"));
    });
    assert_eq!(outcome(&signer, claims, &expected()), Err("invalid_id_token_bad_issuer"));
}

#[test]
fn an_expired_or_future_token_is_refused() {
    let signer = signer();
    let expired = with(|c| {
        c.insert("exp".into(), json!(NOW));
    });
    assert_eq!(outcome(&signer, expired, &expected()), Err("invalid_id_token_expired"));
    let future = with(|c| {
        c.insert("iat".into(), json!(NOW + 3600));
    });
    assert_eq!(outcome(&signer, future, &expected()), Err("invalid_id_token_issued_at"));
    let no_sub = with(|c| {
        c.remove("sub");
    });
    assert_eq!(outcome(&signer, no_sub, &expected()), Err("no_subject_identifier"));
}

#[test]
fn another_key_or_a_changed_token_is_bad_signature() {
    let (signer, stranger) = (signer(), signer());
    let token = signer.sign(&claims());
    let jwt = parse(&token).unwrap();
    let code = |r: Result<_, OxdError>| r.map(|_| ()).map_err(|e| e.body());
    assert!(code(validate(&jwt, &stranger.key, &expected())).unwrap_err().contains("invalid_id_token_bad_signature"));
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_claims = with(|c| {
        c.insert("sub".into(), json!("mallory"));
    });
    let forged = format!("{head}.{}.{signature}", URL_SAFE_NO_PAD.encode(forged_claims.to_string()));
    let error = validate(&parse(&forged).unwrap(), &signer.key, &expected()).unwrap_err();
    assert!(error.body().contains("invalid_id_token_bad_signature"));
    let unsigned = jwt::unsigned(&claims());
    assert_eq!(validate(&parse(&unsigned).unwrap(), &signer.key, &expected()).unwrap_err().status(), 400);
}

#[test]
fn an_at_hash_of_another_access_token_is_bad_hash() {
    let signer = signer();
    let other = Expected { access_token: Some("another-token"), ..expected() };
    assert_eq!(outcome(&signer, claims(), &other), Err("invalid_access_token_bad_hash"));
    let without = with(|c| {
        c.remove("at_hash");
    });
    assert_eq!(outcome(&signer, without, &other), Ok(()), "at_hash is checked only when present");
}
