//! The oxd module and the oxd API against the real OP of `end2end/op`: site registration and RFC 7592
//! management, client tokens, introspection and the bearer protection of commands.

mod support;

use serde_json::{Value, json};
use support::Gatehouse;
use support::op::Op;
use support::oxd_api::{browse, oxd, query_value, site_with_bearer, with};

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
        let request = with(json!({"oxd_id": oxd_id}), body);
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
        let (got, answer) = oxd(&node, command, with(json!({"oxd_id": oxd_id}), extra), bearer).await;
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

#[tokio::test]
async fn get_issuer_finds_the_op_by_webfinger_and_checks_it_against_the_op_location() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&[]);
    let resource = format!("{}/alice", op.issuer);
    let (status, body) = oxd(&node, "get-issuer", json!({"op_host": op.issuer, "resource": resource}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"subject": resource, "links": [{"rel": "http://openid.net/specs/connect/1.0/issuer", "href": op.issuer}]})
    );
    assert_eq!(op.stats().await["webfinger"], 1);

    let (status, body) = oxd(&node, "get-issuer", json!({"op_host": op.issuer}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request_no_resource")), "{body}");
    let (status, body) = oxd(&node, "get-issuer", json!({"resource": resource}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_op_host_and_configuration_endpoint")));
    // WebFinger at the real OP names it, not the OP the caller gave: refused.
    let other = support::fake_op::FakeOp::start().await;
    let (status, body) = oxd(&node, "get-issuer", json!({"op_host": other.issuer, "resource": resource}), None).await;
    assert_eq!((status, body["error"].as_str()), (500, Some("invalid_issuer_discovered")), "{body}");
    // A host without WebFinger.
    let nowhere = format!("{}/bob", other.issuer);
    let (status, body) = oxd(&node, "get-issuer", json!({"op_host": op.issuer, "resource": nowhere}), None).await;
    assert_eq!((status, body["error"].as_str()), (500, Some("failed_to_get_issuer")), "{body}");

    // Without oxd_enable_jwks_generation there is no RP key.
    let client = node.tls_client(node.oxd);
    let response = client.get(format!("https://localhost:{}/get-rp-jwks", node.oxd.port())).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "jwks_generation_disable");
    let (oxd_id, bearer) = site_with_bearer(&node, &op, json!({"scope": ["openid", "oxd"]})).await;
    let request = json!({"oxd_id": oxd_id, "oxd_host_url": "https://localhost:8443"});
    let (status, body) = oxd(
        &node,
        "get-request-object-uri",
        with(request.clone(), json!({"request_object_signing_alg": "ES256"})),
        Some(&bearer),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (500, Some("jwks_generation_disable")), "{body}");
    let (status, body) = oxd(&node, "get-request-object-uri", request.clone(), Some(&bearer)).await;
    assert_eq!((status, body["error"].as_str()), (500, Some("invalid_algorithm")), "{body}");
    let (status, body) = oxd(
        &node,
        "get-request-object-uri",
        with(request, json!({"request_object_signing_alg": "RS256"})),
        Some(&bearer),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (500, Some("algorithm_not_supported")), "{body}");
    let (status, body) = oxd(
        &node,
        "get-request-object-uri",
        json!({"oxd_id": oxd_id, "request_object_signing_alg": "HS256"}),
        Some(&bearer),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request_no_oxd_host")), "{body}");
}

#[tokio::test]
async fn node_settings_restrict_ops_and_authorization_oxd_ids_and_bound_the_code_flow() {
    let op = Op::start(&[]);
    let fake = support::fake_op::FakeOp::start().await;
    let op_port = reqwest::Url::parse(&op.issuer).unwrap().port().unwrap().to_string();
    let allowed = format!("127.0.0.1:{op_port}");
    let (node, _dir) = Gatehouse::start(&[
        "--oxd_allowed_op_hosts",
        &allowed,
        "--oxd_protect_commands_with_oxd_id",
        "some-other-site",
        "--oxd_pkce",
        "off",
        "--oxd_nonce_expiration_in_minutes",
        "0",
    ]);
    let (oxd_id, bearer) = site_with_bearer(
        &node,
        &op,
        json!({"scope": ["openid", "oxd"], "grant_types": ["authorization_code", "client_credentials"]}),
    )
    .await;

    // Only the listed OP may be used.
    let (status, body) = oxd(
        &node,
        "register-site",
        json!({"op_host": fake.issuer, "redirect_uris": ["https://a.example.com/cb"]}),
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("restricted_op_host")), "{body}");

    // AuthorizationOxdId must name a site of oxd_protect_commands_with_oxd_id.
    let client = node.tls_client(node.oxd);
    let response = client
        .post(format!("https://localhost:{}/get-authorization-url", node.oxd.port()))
        .header("AuthorizationOxdId", &oxd_id)
        .bearer_auth(&bearer)
        .json(&json!({"oxd_id": oxd_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_authorization_oxd_id");

    // pkce = off: no code challenge although the OP offers S256.
    let (status, body) = oxd(&node, "get-authorization-url", json!({"oxd_id": oxd_id}), Some(&bearer)).await;
    assert_eq!(status, 200, "{body}");
    let url = body["authorization_url"].as_str().unwrap();
    assert_eq!(query_value(url, "code_challenge"), None, "{url}");
    // The nonce expired at once: the state is still registered, the code is refused with oxd's invalid_nonce.
    let state = query_value(url, "state").unwrap();
    let (status, body) =
        oxd(&node, "get-tokens-by-code", json!({"oxd_id": oxd_id, "code": "c", "state": state}), Some(&bearer)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_nonce")), "{body}");
}
