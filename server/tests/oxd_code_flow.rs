//! The authorization-code flow through the oxd API against the real OP of `end2end/op`: the authorization URL,
//! the OP's scripted login, the code exchange with id_token validation, userinfo, logout, refresh tokens, and
//! request objects signed with the RP key and accepted by the OP.

mod support;

use serde_json::{Value, json};
use support::Gatehouse;
use support::op::Op;
use support::oxd_api::{browse, oxd, oxd_at, query_value, site_with_bearer, with};

#[tokio::test]
async fn the_code_flow_signs_alice_in_through_the_real_op_and_validates_her_id_token() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd", "email", "profile"], "response_types": ["code"],
            "grant_types": ["authorization_code", "client_credentials"],
            "post_logout_redirect_uris": ["https://client.example.com/bye"]}),
    )
    .await;
    let bearer = Some(bearer.as_str());

    // get-authorization-url: state, nonce and PKCE (the OP lists S256) are generated; extras are passed on.
    let (status, body) = oxd(
        &node,
        "get-authorization-url",
        json!({"oxd_id": oxd_id, "scope": ["openid", "email"], "acr_values": ["otp"], "prompt": "login",
            "params": {"max_age": 300}, "custom_parameters": {"ui_hint": "x"}}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = body["authorization_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/auth?", op.issuer)), "{url}");
    for (name, value) in [("acr_values", "otp"), ("max_age", "300"), ("prompt", "login"), ("ui_hint", "x")] {
        assert_eq!(query_value(url, name).as_deref(), Some(value), "{name} in {url}");
    }
    assert_eq!(query_value(url, "code_challenge_method").as_deref(), Some("S256"));
    let state = query_value(url, "state").unwrap();
    assert!(state.len() >= 32 && query_value(url, "nonce").is_some());

    // The OP's scriptable login (prompt=login and max_age are the OP's business).
    let mut jar = Vec::new();
    let (status, interaction) = browse(&mut jar, url, None).await;
    assert_eq!(status, 303, "{interaction}");
    let interaction = format!("{}{}", op.issuer, interaction.trim_start_matches(&op.issuer));
    let (status, resume) = browse(&mut jar, &interaction, Some(&[("login", "alice"), ("acr", "otp")])).await;
    assert_eq!(status, 303);
    let (status, callback) =
        browse(&mut jar, &format!("{}{}", op.issuer, resume.trim_start_matches(&op.issuer)), None).await;
    assert_eq!(status, 303);
    assert!(callback.starts_with("https://client.example.com/cb?"), "{callback}");
    assert_eq!(query_value(&callback, "state").as_deref(), Some(state.as_str()));
    let code = query_value(&callback, "code").unwrap();

    // get-tokens-by-code: the code exchange (with the PKCE verifier) and a validated id_token.
    let (status, tokens) =
        oxd(&node, "get-tokens-by-code", json!({"oxd_id": oxd_id, "code": code, "state": state}), bearer).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["id_token_claims"]["sub"], "alice");
    assert_eq!(tokens["id_token_claims"]["acr"], "otp");
    assert_eq!(tokens["id_token_claims"]["nonce"], query_value(url, "nonce").unwrap().as_str());
    let (access_token, id_token) = (tokens["access_token"].as_str().unwrap(), tokens["id_token"].as_str().unwrap());

    // A state is good once.
    let (status, body) =
        oxd(&node, "get-tokens-by-code", json!({"oxd_id": oxd_id, "code": code, "state": state}), bearer).await;
    assert_eq!((status, body["error_description"].as_str()), (400, Some("'state' is not registered.")));

    // get-user-info: the OP's claims; the id_token's sub must match.
    let (status, info) = oxd(
        &node,
        "get-user-info",
        json!({"oxd_id": oxd_id, "access_token": access_token, "id_token": id_token}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!((info["sub"].as_str(), info["email"].as_str()), (Some("alice"), Some("alice@example.com")));
    let bob = proxy::oxd::jwt::unsigned(&json!({"sub": "bob"}));
    let (status, body) =
        oxd(&node, "get-user-info", json!({"oxd_id": oxd_id, "access_token": access_token, "id_token": bob}), bearer)
            .await;
    assert_eq!((status, body["error"].as_str()), (500, Some("invalid_subject_identifier")));

    // get-logout-uri: the OP's end-session endpoint with the parameters.
    let (status, body) = oxd(
        &node,
        "get-logout-uri",
        json!({"oxd_id": oxd_id, "id_token_hint": id_token, "post_logout_redirect_uri": "https://client.example.com/bye",
            "state": "s1"}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let uri = body["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("{}/session/end?", op.issuer)));
    assert_eq!(query_value(uri, "id_token_hint").as_deref(), Some(id_token));
    assert_eq!(query_value(uri, "state").as_deref(), Some("s1"));
}

#[tokio::test]
async fn code_flow_commands_refuse_bad_input_with_oxd_codes() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd"], "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let bearer = Some(bearer.as_str());
    let cases = [
        (
            "get-authorization-url",
            json!({"redirect_uri": "https://evil.example.com/cb"}),
            400,
            "redirect_uri_is_not_registered",
        ),
        ("get-tokens-by-code", json!({"state": "s"}), 400, "bad_request"),
        ("get-tokens-by-code", json!({"code": "c"}), 400, "bad_request"),
        ("get-tokens-by-code", json!({"code": "c", "state": "never-issued"}), 400, "bad_request"),
        ("get-user-info", json!({}), 400, "invalid_request"),
        ("get-access-token-by-refresh-token", json!({}), 400, "bad_request"),
        ("get-authorization-url", json!({"oxd_id": "no-such-site"}), 400, "invalid_oxd_id"),
    ];
    for (command, extra, status, error) in cases {
        let (got, answer) = oxd(&node, command, with(json!({"oxd_id": oxd_id}), extra), bearer).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(error)), "{command}: {answer}");
    }
    // A bad refresh token is the OP's 400, passed through.
    let (status, body) =
        oxd(&node, "get-access-token-by-refresh-token", json!({"oxd_id": oxd_id, "refresh_token": "nope"}), bearer)
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

const CALLBACK: &str = "https://client.example.com/cb";

/// Follows the OP's scripted login from `url` back to [`CALLBACK`], signing in as `user`.
async fn sign_in(op: &Op, url: &str, user: &str) -> String {
    op.sign_in(&mut Vec::new(), url, user, CALLBACK).await
}

#[tokio::test]
async fn a_refresh_token_of_the_code_flow_gets_a_new_access_token_at_the_real_op() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd", "offline_access"], "response_types": ["code"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
    )
    .await;
    let bearer = Some(bearer.as_str());
    // oidc-provider issues refresh tokens for offline_access only with prompt=consent.
    let (status, body) = oxd(
        &node,
        "get-authorization-url",
        json!({"oxd_id": oxd_id, "scope": ["openid", "offline_access"], "prompt": "consent"}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let callback = sign_in(&op, body["authorization_url"].as_str().unwrap(), "alice").await;
    let (code, state) = (query_value(&callback, "code").unwrap(), query_value(&callback, "state").unwrap());
    let (status, tokens) =
        oxd(&node, "get-tokens-by-code", json!({"oxd_id": oxd_id, "code": code, "state": state}), bearer).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().expect("offline_access gives a refresh token");

    let (status, renewed) = oxd(
        &node,
        "get-access-token-by-refresh-token",
        json!({"oxd_id": oxd_id, "refresh_token": refresh_token}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let access_token = renewed["access_token"].as_str().unwrap();
    assert_ne!(access_token, tokens["access_token"].as_str().unwrap());
    assert!(renewed["expires_in"].as_u64().unwrap() > 0);
    assert!(renewed["scope"].as_array().unwrap().contains(&json!("openid")), "{renewed}");
    assert_eq!(op.stats().await["token_by_grant_type"]["refresh_token"], 1);
    // The new token is Alice's.
    let (status, info) =
        oxd(&node, "get-user-info", json!({"oxd_id": oxd_id, "access_token": access_token}), bearer).await;
    assert_eq!((status, info["sub"].as_str()), (200, Some("alice")), "{info}");
}

#[tokio::test]
async fn request_objects_are_signed_with_the_rp_key_served_by_reference_and_accepted_by_the_real_op() {
    let op = Op::start(&[]);
    // A plain-HTTP oxd listener, so the OP can fetch the RP's JWKS from it.
    let listener = support::free_port();
    let (node, _dir) = Gatehouse::start(&["--oxd_enable_jwks_generation", "on", "--oxd_listen", &listener.to_string()]);
    let (base, http) = (format!("http://{listener}"), reqwest::Client::new());
    let (status, site) = oxd_at(
        &http,
        &base,
        "register-site",
        json!({"op_host": op.issuer, "redirect_uris": [CALLBACK], "response_types": ["code"],
            "grant_types": ["authorization_code", "client_credentials"], "scope": ["openid", "oxd"],
            "client_jwks_uri": format!("{base}/get-rp-jwks"), "request_object_signing_alg": "ES256"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{site}");
    let (oxd_id, client_id) = (site["oxd_id"].as_str().unwrap(), site["client_id"].as_str().unwrap());
    let (_, token) = oxd_at(
        &http,
        &base,
        "get-client-token",
        json!({"op_host": op.issuer, "client_id": client_id, "client_secret": site["client_secret"],
            "scope": ["oxd"]}),
        None,
    )
    .await;
    let bearer = token["access_token"].as_str();

    let (status, body) = oxd_at(
        &http,
        &base,
        "get-request-object-uri",
        json!({"oxd_id": oxd_id, "oxd_host_url": base,
            "params": {"redirect_uri": CALLBACK, "scope": "openid", "nonce": "n-1", "state": "s-1"}}),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with(&format!("{base}/get-request-object/")), "{request_uri}");

    // By reference: the signed request object, as text, verifying with the key of GET /get-rp-jwks.
    let response = http.get(request_uri).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let request_object = response.text().await.unwrap();
    let jwks: Value = http.get(format!("{base}/get-rp-jwks")).send().await.unwrap().json().await.unwrap();
    let parsed = proxy::oxd::jwt::parse(&request_object).unwrap();
    assert_eq!((parsed.alg(), parsed.kid()), (Some("ES256"), jwks["keys"][0]["kid"].as_str()));
    let key: proxy::oxd::jwt::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    assert!(parsed.verify_with("ES256", &key));
    assert_eq!(
        (parsed.payload["iss"].as_str(), parsed.payload["aud"].as_str()),
        (Some(client_id), Some(op.issuer.as_str()))
    );
    assert_eq!(parsed.payload["nonce"], "n-1");

    // The real OP takes it: it fetches the RP's JWKS from this node and verifies the signature.
    let authorize = |request: &str| {
        let query = [("client_id", client_id), ("response_type", "code"), ("scope", "openid"), ("request", request)];
        format!("{}/auth?{}", op.issuer, serde_urlencoded::to_string(query).unwrap())
    };
    let (status, location) = browse(&mut Vec::new(), &authorize(&request_object), None).await;
    assert_eq!(status, 303);
    assert!(location.contains("/interaction/"), "accepted, on to the login: {location}");
    assert!(node.log().matches("get-rp-jwks").count() >= 2, "the OP fetched the RP's keys from the node");
    let mut parts: Vec<&str> = request_object.split('.').collect();
    let forged_claims = with(parsed.payload.clone().into(), json!({"nonce": "forged"}));
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    parts[1] = &forged_payload;
    let (status, location) = browse(&mut Vec::new(), &authorize(&parts.join(".")), None).await;
    assert_eq!(status, 303);
    assert!(location.starts_with(CALLBACK), "{location}");
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request_object"));

    let response = http.get(format!("{base}/get-request-object/no-such-id")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request_object_not_found");
}
