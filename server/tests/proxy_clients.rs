//! Clients that break the rules: oversize request heads, stalled request lines, request smuggling and bad
//! `Host` headers. Each is answered (or cut off) without harming the listener or reaching the upstream.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::raw::{self, Exchange};
use support::{Gatehouse, admin, echo, until};

/// Routes every path to `upstream` (no `hosts`, so requests without a Host are routed too).
async fn route_all(node: &Gatehouse, upstream: std::net::SocketAddr) {
    admin(node, Method::PUT, "/services/echo", json!({"url": format!("http://{upstream}"), "retries": 0})).await;
    admin(node, Method::POST, "/services/echo/routes", json!({"paths": ["/"]})).await;
    until(node, "/", 200).await;
}

async fn send(node: &Gatehouse, request: &str) -> Exchange {
    raw::exchange(node.proxy_http, request.as_bytes(), Duration::from_secs(5)).await
}

async fn still_serving(node: &Gatehouse) {
    let response = reqwest::get(format!("http://{}/alive", node.proxy_http)).await.unwrap();
    assert_eq!(response.status(), 200, "the listener keeps serving");
}

#[tokio::test]
async fn oversize_request_heads_get_kongs_494_page_up_to_the_parser_cap_then_hyper_431() {
    let upstream = echo::start().await;
    // 8 KiB per line, 32 KiB per head; hyper's parsers stop at twice that (64 KiB).
    let (node, _dir) = Gatehouse::start(&["--large_client_header_buffers", "4 8k"]);
    route_all(&node, upstream).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/x", node.proxy_http);

    let oversize_cookie = client.get(&url).header("accept", "text/plain").header("cookie", "a".repeat(9 * 1024));
    let response = oversize_cookie.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 494, "one header line over 8 KiB");
    assert_eq!(response.headers()["connection"], "close");
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(response.text().await.unwrap(), "Request header or cookie too large\n");

    let long_uri = format!("http://{}/{}", node.proxy_http, "u".repeat(9 * 1024));
    let response = client.get(&long_uri).header("accept", "application/json").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 494, "a request line over 8 KiB");
    assert_eq!(response.text().await.unwrap(), "{\n  \"message\":\"Request header or cookie too large\"\n}");

    let mut many = client.get(&url);
    for i in 0..5 {
        many = many.header(format!("x-big-{i}"), "b".repeat(7 * 1024));
    }
    assert_eq!(many.send().await.unwrap().status().as_u16(), 494, "each line fits, the head (35 KiB) does not");

    let fits = client.get(&url).header("cookie", "c".repeat(7 * 1024)).send().await.unwrap();
    assert_eq!(fits.status(), 200, "a 7 KiB cookie is fine");

    // Beyond the parser cap hyper answers by itself: a bare 431, and the connection closes.
    let mut huge = String::from("GET /x HTTP/1.1\r\nHost: a.example\r\n");
    for i in 0..10 {
        huge.push_str(&format!("x-huge-{i}: {}\r\n", "h".repeat(7 * 1024)));
    }
    huge.push_str("\r\n");
    let answer = send(&node, &huge).await;
    assert_eq!(answer.statuses(), vec![431], "{}", answer.text());
    assert!(answer.closed);

    // So does hyper for more than 100 header lines, however small.
    let mut numerous = String::from("GET /x HTTP/1.1\r\nHost: a.example\r\n");
    for i in 0..101 {
        numerous.push_str(&format!("x-{i}: 1\r\n"));
    }
    numerous.push_str("\r\n");
    let answer = send(&node, &numerous).await;
    assert_eq!(answer.statuses(), vec![431], "{}", answer.text());
    still_serving(&node).await;
}

#[tokio::test]
async fn http2_heads_follow_the_same_limits() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&["--large_client_header_buffers", "4 8k"]);
    route_all(&node, upstream).await;
    let client = node.tls_client(node.proxy_https);
    let url = format!("https://localhost:{}/x", node.proxy_https.port());

    let ok = client.get(&url).send().await.unwrap();
    assert_eq!((ok.version(), ok.status().as_u16()), (reqwest::Version::HTTP_2, 200));
    let response =
        client.get(&url).header("accept", "text/plain").header("cookie", "a".repeat(9 * 1024)).send().await.unwrap();
    assert_eq!((response.version(), response.status().as_u16()), (reqwest::Version::HTTP_2, 494));
    assert_eq!(response.text().await.unwrap(), "Request header or cookie too large\n");

    // Past the cap (SETTINGS_MAX_HEADER_LIST_SIZE) the h2 layer answers the stream itself with 431 (and
    // resets it); the connection carries on.
    let mut huge = client.get(&url);
    for i in 0..10 {
        huge = huge.header(format!("x-huge-{i}"), "h".repeat(7 * 1024));
    }
    assert_eq!(huge.send().await.unwrap().status().as_u16(), 431);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200, "the connection and listener live on");
}

#[tokio::test]
async fn a_client_that_stalls_mid_request_line_is_disconnected_and_the_listener_stays_up() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&["--client_header_timeout", "500ms"]);
    route_all(&node, upstream).await;

    let mut stalled = tokio::net::TcpStream::connect(node.proxy_http).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stalled, b"GET /half-a-requ").await.unwrap();
    let answer = raw::read_until_closed(&mut stalled, Duration::from_secs(10)).await;
    assert!(answer.closed, "the connection must be closed, not held open");
    // hyper closes without a response, as nginx does for client_header_timeout (it only logs a 408).
    assert!(answer.bytes.is_empty(), "{}", answer.text());

    // A head sent slowly but within the timeout is served.
    let mut slow = tokio::net::TcpStream::connect(node.proxy_http).await.unwrap();
    for part in ["GET /slow HTTP/1.1\r\n", "Host: a.example\r\n", "Connection: close\r\n\r\n"] {
        tokio::io::AsyncWriteExt::write_all(&mut slow, part.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = raw::read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert_eq!(answer.statuses(), vec![200]);
    still_serving(&node).await;
}

#[tokio::test]
async fn smuggling_attempts_are_refused_or_reframed_and_nothing_hidden_reaches_the_upstream() {
    let (upstream, seen) = echo::start_recording().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route_all(&node, upstream).await;
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n";

    // Refused by hyper's parser with a bare 400; the connection closes, so what follows is never parsed.
    let refused = [
        ("differing Content-Length", "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
        ("Content-Length list", "Content-Length: 5, 6\r\n\r\nhello"),
        ("signed Content-Length", "Content-Length: +5\r\n\r\nhello"),
        ("chunked not last", "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
        ("identity after chunked", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"),
        ("unknown coding alone", "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n"),
        ("obs-fold", "X-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        ("space before colon", "Content-Length : 0\r\n\r\n"),
    ];
    for (case, rest) in refused {
        let request = format!("POST /attempt HTTP/1.1\r\nHost: a.example\r\n{rest}{smuggled}");
        let answer = send(&node, &request).await;
        assert_eq!(answer.statuses(), vec![400], "{case}: {}", answer.text());
        assert!(answer.closed, "{case}: the connection closes after a refused head");
    }
    let answer =
        send(&node, &format!("POST /attempt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}")).await;
    assert_eq!(answer.statuses(), vec![400], "HTTP/1.0 with Transfer-Encoding: {}", answer.text());

    // Content-Length with Transfer-Encoding (either order): hyper frames the body by the chunked coding,
    // drops Content-Length and closes the connection after answering, so the bytes after the last chunk
    // are never read as a request (the CL.TE and TE.CL attacks both need them to be).
    for headers in
        ["Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"]
    {
        let request =
            format!("POST /framed HTTP/1.1\r\nHost: a.example\r\n{headers}\r\n3\r\nabc\r\n0\r\n\r\n{smuggled}");
        let answer = send(&node, &request).await;
        assert_eq!(answer.statuses(), vec![200], "one response, then the connection closes: {}", answer.text());
        assert!(answer.closed);
        assert!(answer.text().contains(r#""body":"abc""#), "the chunked body went upstream: {}", answer.text());
    }

    let seen = seen.lock().unwrap().clone();
    assert!(!seen.iter().any(|line| line.contains("/smuggled") || line.contains("/attempt")), "{seen:?}");
    assert_eq!(seen.iter().filter(|line| line.starts_with("POST /framed abc")).count(), 2, "{seen:?}");
    still_serving(&node).await;
}

#[tokio::test]
async fn host_headers_are_checked_as_nginx_does() {
    let (upstream, seen) = echo::start_recording().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route_all(&node, upstream).await;

    for (case, request) in [
        ("HTTP/1.1 without Host", "GET /bad HTTP/1.1\r\nAccept: application/json\r\n\r\n"),
        ("two Hosts", "GET /bad HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nAccept: application/json\r\n\r\n"),
        ("dot dot", "GET /bad HTTP/1.1\r\nHost: a..example\r\nAccept: application/json\r\n\r\n"),
        ("slash", "GET /bad HTTP/1.1\r\nHost: a.example/x\r\nAccept: application/json\r\n\r\n"),
        ("empty", "GET /bad HTTP/1.1\r\nHost: \r\nAccept: application/json\r\n\r\n"),
    ] {
        let answer = send(&node, request).await;
        assert_eq!(answer.statuses(), vec![400], "{case}: {}", answer.text());
        assert!(
            answer.text().ends_with("{\n  \"message\":\"Bad request\"\n}"),
            "{case}: Kong's page: {}",
            answer.text()
        );
        assert!(answer.closed, "{case}: no keep-alive after a refused head");
    }
    let answer = send(&node, "GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(answer.statuses(), vec![200], "HTTP/1.0 without Host is routed: {}", answer.text());

    let seen = seen.lock().unwrap().clone();
    assert!(!seen.iter().any(|line| line.contains("/bad")), "{seen:?}");
    assert!(seen.iter().any(|line| line.starts_with("GET /old")), "{seen:?}");
}

#[tokio::test]
async fn pipelined_keep_alive_requests_are_answered_in_order_and_a_body_hands_the_connection_over() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route_all(&node, upstream).await;

    // Three requests in one write: two bodiless ones (the proxy's own HTTP/1.1 server), then one with a
    // body, which hyper serves from then on, and a last bodiless one after it with `Connection: close`.
    let request = "GET /one HTTP/1.1\r\nHost: a.example\r\n\r\n\
                   HEAD /two HTTP/1.1\r\nHost: a.example\r\n\r\n\
                   POST /three HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello\
                   GET /four HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n";
    let answer = send(&node, request).await;
    let text = answer.text();
    // (Responses after a body do not start a line, so they are counted by their status line.)
    let responses: Vec<&str> = text.split("HTTP/1.1 200 OK\r\n").skip(1).collect();
    assert_eq!(responses.len(), 4, "{text}");
    assert!(answer.closed, "Connection: close ends the connection after its response");
    let order: Vec<usize> = ["\"/one\"", "\"/three\"", "\"/four\""].iter().map(|p| text.find(p).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "answered in order: {text}");
    assert!(text.contains(r#""body":"hello""#), "the body went upstream: {text}");
    // HEAD: the head of a GET, and no body before the next response.
    assert!(responses[1].ends_with("\r\n\r\n") && responses[1].contains("content-length: "), "{text}");
    for response in responses {
        let head = response[..response.find("\r\n\r\n").unwrap()].to_ascii_lowercase();
        assert!(head.contains("date: ") && head.contains("via: 1.1 gatehouse/"), "{head}");
    }
    still_serving(&node).await;
}
