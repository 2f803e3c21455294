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
