//! `https` services (`proxy.md` §8.3): TLS to the upstream with the upstream Host as SNI, verification
//! per service (`tls_verify`, node default `proxy_ssl_verify` off), `ca_certificates` from the store, and
//! `client_certificate` for mTLS — against a real TLS upstream with certificates from a test CA.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::tls_echo::{self, TestCa};
use support::{Gatehouse, admin, configured, service};

/// The upstream's certificate is for `localhost` (and 127.0.0.1), issued by `ca`.
async fn upstream(ca: &TestCa) -> tls_echo::TlsEcho {
    tls_echo::start(ca, &ca.issue("upstream", &["localhost", "127.0.0.1"])).await
}

async fn get(node: &Gatehouse, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{}{path}", node.proxy_http)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn https_services_speak_tls_with_the_upstream_host_as_sni_and_verify_only_when_asked() {
    let ca = TestCa::new("Gatehouse test CA");
    let other_ca = TestCa::new("Someone else's CA");
    let tls = upstream(&ca).await;
    let (node, _dir) = Gatehouse::start(&[]);
    let url = format!("https://localhost:{}", tls.addr.port());
    let trusted = admin(&node, Method::POST, "/ca_certificates", json!({"cert": ca.pem})).await;
    let untrusted = admin(&node, Method::POST, "/ca_certificates", json!({"cert": other_ca.pem})).await;

    service(&node, "default", json!({"url": url})).await;
    service(&node, "public-roots", json!({"url": url, "tls_verify": true})).await;
    service(&node, "our-ca", json!({"url": url, "tls_verify": true, "ca_certificates": [trusted["id"]]})).await;
    service(&node, "wrong-ca", json!({"url": url, "tls_verify": true, "ca_certificates": [untrusted["id"]]})).await;
    service(
        &node,
        "by-ip",
        json!({"url": format!("https://127.0.0.1:{}", tls.addr.port()), "tls_verify": true,
                                   "ca_certificates": [trusted["id"]]}),
    )
    .await;
    configured(&node).await;

    let (status, seen) = get(&node, "/default/x").await;
    assert_eq!(status, 200, "proxy_ssl_verify is off by default, as in Kong");
    assert_eq!(seen["sni"], "localhost", "SNI is the upstream host, without its port");
    assert_eq!(seen["path"], "/x");
    assert_eq!(get(&node, "/public-roots").await.0, 502, "a private CA is not among the public roots");
    assert_eq!(get(&node, "/our-ca").await.0, 200, "the service's CA certificates verify the chain");
    assert_eq!(get(&node, "/wrong-ca").await.0, 502, "a chain to another CA fails verification");
    let (status, seen) = get(&node, "/by-ip").await;
    assert_eq!((status, &seen["sni"]), (200, &Value::Null), "an IP address is verified, and sent as no SNI");
}

#[tokio::test]
async fn the_node_default_proxy_ssl_verify_applies_when_the_service_says_nothing() {
    let ca = TestCa::new("Gatehouse test CA");
    let tls = upstream(&ca).await;
    let (node, _dir) = Gatehouse::start(&["--proxy_ssl_verify", "on"]);
    let url = format!("https://localhost:{}", tls.addr.port());
    service(&node, "strict", json!({"url": url})).await;
    service(&node, "lenient", json!({"url": url, "tls_verify": false})).await;
    configured(&node).await;
    assert_eq!(get(&node, "/strict").await.0, 502, "verification on, and the test CA is not trusted");
    assert_eq!(get(&node, "/lenient").await.0, 200, "the service's tls_verify = false wins");
}

#[tokio::test]
async fn client_certificates_give_mutual_tls_and_connections_are_reused() {
    let ca = TestCa::new("Gatehouse test CA");
    let tls = upstream(&ca).await;
    let client = ca.issue("gatehouse-client", &["gatehouse.client"]);
    // One proxy worker: each worker keeps its own pool (as nginx's workers do), and requests on new client
    // connections may land on any worker.
    let (node, _dir) = Gatehouse::start(&["--nginx_worker_processes", "1"]);
    let certificate =
        admin(&node, Method::POST, "/certificates", json!({"cert": client.cert_pem, "key": client.key_pem})).await;
    let url = format!("https://localhost:{}", tls.addr.port());
    service(&node, "mtls", json!({"url": url, "client_certificate": {"id": certificate["id"]}})).await;
    service(&node, "anonymous", json!({"url": url})).await;
    configured(&node).await;

    let (status, seen) = get(&node, "/mtls").await;
    assert_eq!((status, &seen["client_certificate"]), (200, &json!("gatehouse-client")), "{seen}");
    let (status, seen) = get(&node, "/anonymous").await;
    assert_eq!((status, &seen["client_certificate"]), (200, &Value::Null), "no certificate unless configured");

    // Both services pool separately (different TLS identities); further requests reuse those connections.
    let before = tls.handshakes();
    for _ in 0..5 {
        assert_eq!(get(&node, "/mtls").await.1["client_certificate"], "gatehouse-client");
        assert_eq!(get(&node, "/anonymous").await.1["client_certificate"], Value::Null);
    }
    assert_eq!(tls.handshakes(), before, "ten more requests, no new TLS handshake");
}
