//! The oxd module and the oxd API against the real OP of `end2end/op`: site registration and RFC 7592
//! management, client tokens, introspection and the bearer protection of commands.

mod support;

use serde_json::{Value, json};
use support::Gatehouse;
use support::op::Op;

/// `POST /<command>` on the node's oxd API (TLS, the node's own certificate).
async fn oxd(node: &Gatehouse, command: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
    let client = node.tls_client(node.oxd);
    let mut request = client.post(format!("https://localhost:{}/{command}", node.oxd.port())).json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn sites_are_registered_updated_used_and_removed_against_the_real_op() {
    let op = Op::start(&["--rotate-rat"]);
    let (node, _dir) = Gatehouse::start(&[]);

    // register-site: dynamic registration at the OP.
    let (status, site) = oxd(
        &node,
        "register-site",
        json!({
            "op_host": op.issuer, "redirect_uris": ["https://client.example.com/cb"],
            "scope": ["openid", "oxd"], "grant_types": ["client_credentials"], "client_name": "gatehouse-test"
        }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{site}");
    assert_eq!(site["op_host"], op.issuer.as_str());
    let oxd_id = site["oxd_id"].as_str().unwrap().to_string();
    let (client_id, client_secret) = (site["client_id"].as_str().unwrap(), site["client_secret"].as_str().unwrap());
    assert!(site["client_registration_access_token"].is_string() && site["client_registration_client_uri"].is_string());

    // The secret is sealed at rest: it is nowhere in the database file in plain text.
    let database = std::fs::read(node.prefix.join("gatehouse.db")).unwrap();
    assert!(!database.is_empty());
    let wal = std::fs::read(node.prefix.join("gatehouse.db-wal")).unwrap_or_default();
    for bytes in [&database, &wal] {
        assert!(!bytes.windows(client_secret.len()).any(|w| w == client_secret.as_bytes()), "secret stored in clear");
    }

    // get-client-token: a token of the client with scope oxd (openid always added).
    let (status, token) = oxd(
        &node,
        "get-client-token",
        json!({
            "op_host": op.issuer, "client_id": client_id, "client_secret": client_secret, "scope": ["oxd"]
        }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], json!(["openid", "oxd"]));
    let access_token = token["access_token"].as_str().unwrap().to_string();

    // Protected commands: no bearer, a garbage one, then the right one.
    let (status, body) =
        oxd(&node, "introspect-access-token", json!({"oxd_id": oxd_id, "access_token": access_token}), None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("blank_access_token")));
    let (status, body) =
        oxd(&node, "introspect-access-token", json!({"oxd_id": oxd_id, "access_token": access_token}), Some("garbage"))
            .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("inactive_access_token")));
    let (status, body) = oxd(
        &node,
        "introspect-access-token",
        json!({"oxd_id": oxd_id, "access_token": access_token}),
        Some(&access_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], client_id);
    assert_eq!(body["scope"], json!(["openid", "oxd"]), "scope is always an array");
    let (_, body) = oxd(
        &node,
        "introspect-access-token",
        json!({"oxd_id": oxd_id, "access_token": "not-a-token"}),
        Some(&access_token),
    )
    .await;
    assert_eq!(body["active"], false);

    // A token of another client is refused for this site.
    let (_, other) = oxd(
        &node,
        "register-site",
        json!({"op_host": op.issuer,
        "redirect_uris": ["https://other.example.com/cb"], "scope": ["openid", "oxd"]}),
        None,
    )
    .await;
    let (_, other_token) = oxd(
        &node,
        "get-client-token",
        json!({"op_host": op.issuer,
        "client_id": other["client_id"], "client_secret": other["client_secret"], "scope": ["oxd"]}),
        None,
    )
    .await;
    let (status, body) = oxd(
        &node,
        "introspect-access-token",
        json!({"oxd_id": oxd_id, "access_token": access_token}),
        other_token["access_token"].as_str(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("invalid_access_token")));

    // update-site twice: the OP rotates the registration access token each time, and the module keeps up.
    for uri in ["https://client.example.com/cb2", "https://client.example.com/cb3"] {
        let (status, body) = oxd(
            &node,
            "update-site",
            json!({"oxd_id": oxd_id, "redirect_uris": [uri],
            "post_logout_redirect_uris": ["https://client.example.com/bye"]}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, rp) = oxd(&node, "get-rp", json!({"oxd_id": oxd_id}), None).await;
    assert_eq!(rp["node"]["redirect_uris"], json!(["https://client.example.com/cb3"]));
    assert_eq!(rp["node"]["client_name"], "gatehouse-test", "a full replacement keeps what was not changed");
    assert_ne!(rp["node"]["client_registration_access_token"], site["client_registration_access_token"]);

    // Bad input: oxd's error bodies.
    let (status, body) = oxd(&node, "update-site", json!({"oxd_id": "no-such-site"}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_oxd_id")));
    let (status, body) = oxd(&node, "register-site", json!({"op_host": op.issuer, "client_id": "x"}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_secret")));
    let (status, body) = oxd(&node, "register-site", json!({"op_host": op.issuer, "redirect_uris": []}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_redirect_uri")));
    let client = node.tls_client(node.oxd);
    let response =
        client.post(format!("https://localhost:{}/get-rp", node.oxd.port())).body("{nope").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().starts_with("Invalid parameters. Message: "));

    // remove-site forgets it.
    let (status, _) = oxd(&node, "remove-site", json!({"oxd_id": oxd_id}), None).await;
    assert_eq!(status, 200);
    let (_, rp) = oxd(&node, "get-rp", json!({"oxd_id": oxd_id}), None).await;
    assert_eq!(rp["node"], Value::Null);
}

#[tokio::test]
async fn sites_survive_a_restart_and_a_missing_op_is_an_oxd_error() {
    let op = Op::start(&[]);
    let (mut node, _dir) = Gatehouse::start(&[]);
    let (_, site) = oxd(
        &node,
        "register-site",
        json!({"op_host": op.issuer,
        "redirect_uris": ["https://client.example.com/cb"], "scope": ["openid", "oxd"]}),
        None,
    )
    .await;
    node.restart();
    let (_, rp) = oxd(&node, "get-rp", json!({"oxd_id": site["oxd_id"]}), None).await;
    assert_eq!(rp["node"]["client_secret"], site["client_secret"]);
    let (status, body) = oxd(
        &node,
        "register-site",
        json!({"op_host": "http://127.0.0.1:9",
        "redirect_uris": ["https://client.example.com/cb"]}),
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (500, Some("no_connect_discovery_response")));
}

/// A site of `op` with a bearer for its protected commands: (oxd_id, bearer).
async fn site_with_bearer(node: &Gatehouse, op: &Op, metadata: Value) -> (String, String) {
    let mut request = json!({"op_host": op.issuer, "redirect_uris": ["https://client.example.com/cb"]});
    request.as_object_mut().unwrap().extend(metadata.as_object().unwrap().clone());
    let (status, site) = oxd(node, "register-site", request, None).await;
    assert_eq!(status, 200, "{site}");
    let (_, token) = oxd(
        node,
        "get-client-token",
        json!({"op_host": op.issuer, "client_id": site["client_id"], "client_secret": site["client_secret"],
            "scope": ["oxd"]}),
        None,
    )
    .await;
    (site["oxd_id"].as_str().unwrap().to_string(), token["access_token"].as_str().unwrap().to_string())
}

/// The OP's answer to `GET`/`POST` without following redirects, keeping its cookies in `jar`: (status, Location).
async fn browse(jar: &mut Vec<String>, url: &str, form: Option<&[(&str, &str)]>) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = match form {
        Some(form) => client.post(url).form(form),
        None => client.get(url),
    };
    if !jar.is_empty() {
        request = request.header("cookie", jar.join("; "));
    }
    let response = request.send().await.unwrap();
    for cookie in response.headers().get_all("set-cookie") {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let name = pair.split('=').next().unwrap().to_string();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        jar.push(pair);
    }
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (response.status().as_u16(), location)
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

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
        let mut body = json!({"oxd_id": oxd_id});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (got, answer) = oxd(&node, command, body, bearer).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(error)), "{command}: {answer}");
    }
    // A bad refresh token is the OP's 400, passed through.
    let (status, body) =
        oxd(&node, "get-access-token-by-refresh-token", json!({"oxd_id": oxd_id, "refresh_token": "nope"}), bearer)
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

/// UMA runs against the OP's UMA extension, a test double of oxAuth's UMA (end2end/op/src/uma.js).
#[tokio::test]
async fn uma_protect_ticket_need_info_claims_gathering_rpt_and_access_against_the_op_uma_double() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd", "uma_protection"],
            "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:uma-ticket"],
            "claims_redirect_uri": ["https://client.example.com/claims"]}),
    )
    .await;
    let bearer = Some(bearer.as_str());
    let call = |command: &'static str, body: Value| {
        let mut request = json!({"oxd_id": oxd_id});
        request.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        let node = &node;
        async move { oxd(node, command, request, bearer).await }
    };
    let resources = json!([{"path": "/photo", "conditions": [
        {"httpMethods": ["GET"], "scopes": ["view"]},
        {"httpMethods": ["PUT", "POST"], "scopes": ["all", "add"], "ticketScopes": ["add"]},
        {"httpMethods": ["DELETE"], "scope_expression": {"rule": {"or": [{"var": 0}, {"var": 1}]},
            "data": ["all", "internal"]}}]}]);

    // uma-rs-protect, then again: refused without overwrite, replaced with it.
    let (status, body) = call("uma-rs-protect", json!({"resources": resources})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call("uma-rs-protect", json!({"resources": resources})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("uma_protection_exists")));
    let (status, body) = call("uma-rs-protect", json!({"resources": resources, "overwrite": true})).await;
    assert_eq!(status, 200, "{body}");
    let (_, rp) = oxd(&node, "get-rp", json!({"oxd_id": oxd_id}), None).await;
    let stored = rp["node"]["uma_protected_resources"].as_array().unwrap().clone();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1]["http_methods"], json!(["PUT", "POST"]));
    assert_eq!(stored[1]["ticketScopes"], json!(["add"]));

    // check-access without an RPT: denied with a ticket.
    let (status, denied) =
        call("uma-rs-check-access", json!({"rpt": "", "path": "/photo", "http_method": "GET"})).await;
    assert_eq!(status, 200, "{denied}");
    assert_eq!(denied["access"], "denied");
    let ticket = denied["ticket"].as_str().unwrap();
    assert_eq!(
        denied["www-authenticate_header"],
        format!("UMA realm=\"rs\",as_uri=\"{}\",error=\"insufficient_scope\",ticket=\"{ticket}\"", op.issuer)
    );

    // get-rpt without claims: need_info, a 403 carrying the AS's answer.
    let (status, need_info) = call("uma-rp-get-rpt", json!({"ticket": ticket})).await;
    assert_eq!((status, need_info["error"].as_str()), (403, Some("need_info")), "{need_info}");
    let ticket = need_info["ticket"].as_str().unwrap();
    assert!(need_info["details"]["redirect_user"].as_str().unwrap().contains(ticket));

    // Claims gathering: the URL, followed at the OP, comes back with a new ticket and the state.
    let (status, gathering) = call(
        "uma-rp-get-claims-gathering-url",
        json!({"ticket": ticket, "claims_redirect_uri": "https://client.example.com/claims"}),
    )
    .await;
    assert_eq!(status, 200, "{gathering}");
    let url = gathering["url"].as_str().unwrap();
    assert_eq!(query_value(url, "client_id").as_deref(), rp["node"]["client_id"].as_str());
    let (status, back) = browse(&mut Vec::new(), url, None).await;
    assert_eq!(status, 302, "{back}");
    assert_eq!(query_value(&back, "state").as_deref(), gathering["state"].as_str());
    let gathered = query_value(&back, "ticket").unwrap();

    let (status, rpt) = call("uma-rp-get-rpt", json!({"ticket": gathered})).await;
    assert_eq!(status, 200, "{rpt}");
    assert_eq!(rpt["token_type"], "Bearer");
    let rpt = rpt["access_token"].as_str().unwrap().to_string();

    // A used ticket is a 400 with the AS's body.
    let (status, body) = call("uma-rp-get-rpt", json!({"ticket": gathered})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    // check-access with the RPT: granted; introspect-rpt shows its permission.
    let (status, body) = call("uma-rs-check-access", json!({"rpt": rpt, "path": "/photo", "http_method": "GET"})).await;
    assert_eq!((status, body), (200, json!({"access": "granted"})));
    let (status, body) = call("introspect-rpt", json!({"rpt": rpt})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["permissions"][0]["resource_id"], stored[0]["id"]);
    assert_eq!(body["permissions"][0]["resource_scopes"], json!(["view"]));
    let (_, body) = call("introspect-rpt", json!({"rpt": "not-an-rpt"})).await;
    assert_eq!(body["active"], false);

    // The same RPT does not grant POST: its ticket asks for the ticketScopes.
    let (_, denied) = call("uma-rs-check-access", json!({"rpt": rpt, "path": "/photo", "http_method": "POST"})).await;
    assert_eq!(denied["access"], "denied");
    // Pushed claims satisfy the policy at once: a new RPT for the POST resource.
    let claims = [
        ("claim_token", "e30.e30."),
        ("claim_token_format", "http://openid.net/specs/openid-connect-core-1_0.html#IDToken"),
    ];
    let pushed = json!({"ticket": denied["ticket"], claims[0].0: claims[0].1, claims[1].0: claims[1].1});
    let (status, post_rpt) = call("uma-rp-get-rpt", pushed).await;
    assert_eq!(status, 200, "{post_rpt}");
    assert_ne!(post_rpt["access_token"], rpt.as_str());
    // A new ticket for the resource the cached RPT was issued for gets that RPT back (oxd.md §1.10 deviation).
    let (_, denied) = call("uma-rs-check-access", json!({"rpt": "", "path": "/photo", "http_method": "POST"})).await;
    let (status, again) = call("uma-rp-get-rpt", json!({"ticket": denied["ticket"]})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["access_token"], post_rpt["access_token"]);
    let stats = op.stats().await;
    assert_eq!(stats["token_by_grant_type"]["urn:ietf:params:oauth:grant-type:uma-ticket"], 4, "{stats}");

    // uma-rs-modify: GET now needs `view2`, which the RPT lacks.
    let (status, body) =
        call("uma-rs-modify", json!({"path": "/photo", "http_method": "GET", "scopes": ["view2"]})).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = call("uma-rs-check-access", json!({"rpt": rpt, "path": "/photo", "http_method": "GET"})).await;
    assert_eq!(body["access"], "denied");
}

#[tokio::test]
async fn uma_commands_refuse_bad_input_with_oxd_codes() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd", "uma_protection"],
            "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:uma-ticket"]}),
    )
    .await;
    let bearer = Some(bearer.as_str());
    let twice = json!([{"path": "/a", "conditions": [{"httpMethods": ["GET"], "scopes": ["x"]},
        {"httpMethods": ["GET"], "scopes": ["y"]}]}]);
    let bad_logic = json!([{"path": "/a", "conditions": [{"httpMethods": ["GET"],
        "scope_expression": {"rule": {"frobnicate": [{"var": 0}]}, "data": ["x"]}}]}]);
    let cases = [
        ("uma-rs-protect", json!({"resources": []}), 400, "invalid_uma_request"),
        ("uma-rs-protect", json!({"resources": twice}), 400, "http_method_not_unique"),
        ("uma-rs-protect", json!({"resources": bad_logic}), 400, "invalid_scope_expression"),
        ("uma-rs-check-access", json!({"rpt": "", "path": "/nowhere", "http_method": "GET"}), 400, "invalid_request"),
        ("uma-rs-check-access", json!({"rpt": "", "http_method": "GET"}), 400, "invalid_path_parameter"),
        ("uma-rs-check-access", json!({"rpt": "", "path": "/a"}), 400, "invalid_http_method"),
        ("uma-rs-check-access", json!({"path": "/a", "http_method": "GET"}), 400, "invalid_rpt_parameter"),
        ("uma-rs-modify", json!({"path": "/nowhere", "http_method": "GET", "scopes": ["x"]}), 400, "invalid_request"),
        ("introspect-rpt", json!({}), 400, "invalid_rpt_parameter"),
        ("uma-rp-get-rpt", json!({}), 400, "invalid_ticket_parameter"),
        ("uma-rp-get-rpt", json!({"ticket": "t", "claim_token": "x"}), 400, "invalid_claim_token_or_claim_token_form"),
        ("uma-rp-get-rpt", json!({"ticket": "never-issued"}), 400, "invalid_grant"),
        ("uma-rp-get-claims-gathering-url", json!({"ticket": "t"}), 400, "invalid_claims_redirect_uri_parameter"),
    ];
    for (command, extra, status, error) in cases {
        let mut body = json!({"oxd_id": oxd_id});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (got, answer) = oxd(&node, command, body, bearer).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(error)), "{command}: {answer}");
    }
    let (_, body) = oxd(
        &node,
        "uma-rs-check-access",
        json!({"oxd_id": oxd_id, "rpt": "", "path": "/nowhere", "http_method": "GET"}),
        bearer,
    )
    .await;
    assert!(body["error_description"].as_str().unwrap().starts_with(
        "Resource is not protected with path: /nowhere and httpMethod: GET. Please protect your resource first"
    ));
}
