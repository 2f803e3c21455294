//! Upstreams that fail, stall or hang, and what the client sees: cut connections rather than hung ones,
//! 504s bounded by the service's own timeouts, and nothing left behind in the gateway afterwards. Also the
//! keep-alive pool and WebSocket pass-through.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Gatehouse, configured, echo, faulty, process, service, until};

fn url(node: &Gatehouse, path: &str) -> String {
    format!("http://{}{path}", node.proxy_http)
}

/// Polls `check` until it holds or `within` passes; the last value is returned either way.
async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

#[tokio::test]
async fn an_upstream_that_resets_mid_body_cuts_the_client_connection() {
    let upstream = faulty::resets_mid_body().await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(&node, "reset", json!({"url": format!("http://{}", upstream.addr)})).await;
    configured(&node).await;

    let response = reqwest::get(url(&node, "/reset")).await.unwrap();
    assert_eq!(response.status(), 200, "the head was already on its way");
    let body = tokio::time::timeout(Duration::from_secs(10), response.bytes()).await;
    let body = body.expect("the client connection must be cut, not left hanging");
    assert!(body.is_err(), "a truncated body is an error for the client, not a short success");
    let answered = reqwest::get(url(&node, "/sentinel")).await.unwrap();
    assert_eq!(answered.status(), 200, "the listener serves on");
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_504_after_read_timeout() {
    let upstream = faulty::silent().await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(&node, "silent", json!({"url": format!("http://{}", upstream.addr), "read_timeout": 300})).await;
    configured(&node).await;

    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(url(&node, "/silent"))
        .header("accept", "text/plain")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 504);
    assert_eq!(response.text().await.unwrap(), "The upstream server is timing out\n");
    assert!(waited >= Duration::from_millis(300), "read_timeout is waited out: {waited:?}");
}

#[tokio::test]
async fn read_timeout_bounds_each_wait_between_reads_not_the_whole_response() {
    let steady = faulty::trickling(6, Duration::from_millis(150)).await;
    let stalling = faulty::trickling(2, Duration::from_millis(1500)).await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(&node, "steady", json!({"url": format!("http://{}", steady.addr), "read_timeout": 600})).await;
    service(&node, "stalling", json!({"url": format!("http://{}", stalling.addr), "read_timeout": 600})).await;
    configured(&node).await;

    // 6 chunks 150 ms apart: about a second in all, but never 600 ms without a read.
    let body = reqwest::get(url(&node, "/steady")).await.unwrap().text().await.unwrap();
    assert_eq!(body, "chunk".repeat(6));

    // The head comes at once, then 1.5 s of silence: the response has started, so the client's
    // connection is cut (within the deadline here, not after the upstream's full 3 s).
    let response = reqwest::get(url(&node, "/stalling")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), response.text()).await.expect("cut, not hung");
    assert!(body.is_err(), "a body cut by read_timeout is an error for the client: {body:?}");
}

#[tokio::test]
async fn connect_timeout_bounds_connecting_to_a_peer_that_does_not_answer() {
    let unanswered = faulty::unanswered().await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(
        &node,
        "hang",
        json!({"url": format!("http://{}", unanswered.addr), "connect_timeout": 300, "read_timeout": 60000}),
    )
    .await;
    configured(&node).await;

    let started = Instant::now();
    let response =
        reqwest::Client::new().get(url(&node, "/hang")).timeout(Duration::from_secs(20)).send().await.unwrap();
    assert_eq!(response.status(), 504, "a connect timeout is a timeout");
    assert!(started.elapsed() < Duration::from_secs(20), "connect_timeout, not read_timeout, bounds it");

    // A non-routable address does the same where the network drops the SYN; sandboxes often answer it.
    let probe = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect("10.255.255.1:81")).await;
    if probe.is_ok() {
        eprintln!("10.255.255.1 answers or fails fast here; the full accept queue above stands in for it");
        return;
    }
    service(&node, "blackhole", json!({"url": "http://10.255.255.1:81", "connect_timeout": 300})).await;
    until(&node, "/blackhole", 504).await;
}

#[tokio::test]
async fn write_timeout_bounds_a_request_body_the_upstream_never_reads() {
    let upstream = faulty::never_reads().await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(
        &node,
        "deaf",
        json!({"url": format!("http://{}", upstream.addr), "write_timeout": 300, "read_timeout": 60000}),
    )
    .await;
    configured(&node).await;

    // Far more than the loopback socket buffers hold, so the gateway's writes stall.
    let size = 64 * 1024 * 1024;
    let head = format!("POST /deaf HTTP/1.1\r\nHost: a.example\r\nContent-Length: {size}\r\n\r\n");
    let stream = tokio::net::TcpStream::connect(node.proxy_http).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let upload = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'b'; 1024 * 1024];
        for _ in 0..64 {
            writer.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(writer)
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    upload.abort();
    assert!(read.is_ok(), "the gateway answers instead of waiting on the upstream forever");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 504"), "{text}");
}

#[tokio::test]
async fn bursts_against_dead_and_silent_upstreams_leave_no_sockets_fds_or_threads_behind() {
    let silent = faulty::silent().await;
    let working = echo::start().await;
    let dead = support::free_port();
    let (node, _dir) = Gatehouse::start(&[]);
    service(&node, "silent", json!({"url": format!("http://{}", silent.addr), "read_timeout": 200})).await;
    service(&node, "dead", json!({"url": format!("http://{}", dead)})).await;
    service(&node, "working", json!({"url": format!("http://{}", working)})).await;
    configured(&node).await;

    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let pid = node.pid();
    // Let the process settle (the store, the runtime's threads), then take the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds, threads) = (process::open_fds(pid), process::threads(pid));

    let mut burst = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (client, path) = (client.clone(), if i % 2 == 0 { "/silent" } else { "/dead" });
        let target = url(&node, path);
        burst.spawn(async move { client.get(target).send().await.map(|r| r.status().as_u16()) });
    }
    let mut statuses = std::collections::BTreeMap::new();
    while let Some(done) = burst.join_next().await {
        *statuses.entry(done.unwrap().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(statuses, [(502, 100), (504, 100)].into(), "every request was answered");
    assert_eq!(silent.accepted(), 100, "each silent attempt had its own connection, none was reused");

    let released = eventually(Duration::from_secs(10), || process::established_to(silent.addr.port()) == 0).await;
    assert!(released, "{} connections to the silent upstream left open", process::established_to(silent.addr.port()));
    let fds_back = eventually(Duration::from_secs(10), || process::open_fds(pid) <= fds).await;
    assert!(fds_back, "open fds {} > baseline {fds}", process::open_fds(pid));
    let threads_back = eventually(Duration::from_secs(15), || process::threads(pid) <= threads).await;
    assert!(threads_back, "threads {} > baseline {threads}", process::threads(pid));
    assert_eq!(reqwest::get(url(&node, "/working")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn upstream_connections_are_kept_alive_and_reused() {
    let upstream = faulty::trickling(1, Duration::ZERO).await;
    // One proxy worker: each worker keeps its own pool (as nginx's workers do), and these requests come on
    // new client connections that any worker may accept.
    let (node, _dir) = Gatehouse::start(&["--nginx_worker_processes", "1"]);
    service(&node, "kept", json!({"url": format!("http://{}", upstream.addr)})).await;
    configured(&node).await;
    for _ in 0..5 {
        let body = reqwest::get(url(&node, "/kept")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "chunk");
    }
    assert_eq!(upstream.accepted(), 1, "five sequential requests, one upstream connection");
}

#[tokio::test]
async fn websocket_upgrades_are_proxied_both_ways() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let (upstream, handshakes) = support::ws_echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    service(&node, "ws", json!({"url": format!("http://{}", upstream)})).await;
    configured(&node).await;

    let (mut socket, response) = tokio_tungstenite::connect_async(format!("ws://{}/ws", node.proxy_http))
        .await
        .expect("upgrade through the proxy");
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["upgrade"].to_str().unwrap().to_ascii_lowercase(), "websocket");
    for text in ["hello", "again"] {
        socket.send(Message::text(text)).await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(reply, Message::text(format!("echo: {text}")));
    }
    socket.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(reply, Message::binary(b"echo: \x00\x01\x02".to_vec()));
    socket.close(None).await.unwrap();

    let seen = handshakes.lock().unwrap().clone();
    let headers: std::collections::HashMap<_, _> = seen[0].iter().cloned().collect();
    assert_eq!(headers["connection"], "keep-alive, Upgrade", "Kong's upstream Connection for an upgrade");
    assert_eq!(headers["upgrade"], "websocket");
    assert!(headers.contains_key("sec-websocket-key") && headers.contains_key("x-forwarded-for"));

    // A plain request on the same route still works, and carries no upgrade.
    let plain = reqwest::Client::new().get(url(&node, "/ws")).header("upgrade", "websocket").send().await.unwrap();
    assert_ne!(plain.status(), 101, "without Connection: upgrade there is no upgrade");
}

#[tokio::test]
async fn upstream_responses_are_framed_as_rfc_9112_says() {
    let huge: &'static str =
        Box::leak(format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\nok", "a".repeat(70_000)).into());
    let upstreams = [
        // Interim responses are skipped; the final one is the answer.
        ("interim", faulty::scripted(&[
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ])
        .await),
        // No length: the body is what comes until the upstream closes.
        ("to-close", faulty::scripted(&["HTTP/1.1 200 OK\r\n\r\nread until the upstream closes"]).await),
        // Chunk extensions and trailers are read and not passed on.
        ("chunked", faulty::scripted(&[
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: x\r\n\r\n",
        ])
        .await),
        ("conflicting", faulty::scripted(&["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"]).await),
        ("huge-head", faulty::scripted(std::slice::from_ref(Box::leak(Box::new(huge)))).await),
        ("garbage", faulty::scripted(&["SMTP ready\r\n\r\n"]).await),
    ];
    let (node, _dir) = Gatehouse::start(&[]);
    for (name, upstream) in &upstreams {
        service(&node, name, json!({"url": format!("http://{}", upstream.addr)})).await;
    }
    configured(&node).await;

    let get = |path: &str| {
        let url = url(&node, path);
        async move {
            let response = reqwest::get(url).await.unwrap();
            let status = response.status().as_u16();
            let trailer = response.headers().contains_key("x-trailer");
            (status, response.text().await.unwrap(), trailer)
        }
    };
    assert_eq!(get("/interim").await, (200, "ok".into(), false));
    assert_eq!(get("/to-close").await, (200, "read until the upstream closes".into(), false));
    assert_eq!(get("/chunked").await, (200, "hello world".into(), false));
    for bad in ["/conflicting", "/huge-head", "/garbage"] {
        assert_eq!(get(bad).await.0, 502, "{bad}");
    }
}

#[tokio::test]
async fn a_pooled_connection_the_upstream_closed_is_not_an_error() {
    // One answer per connection, then the upstream closes it without a word (its keep-alive timeout).
    let upstream = faulty::scripted(&["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]).await;
    let (node, _dir) = Gatehouse::start(&["--nginx_worker_processes", "1"]);
    service(&node, "closing", json!({"url": format!("http://{}", upstream.addr)})).await;
    configured(&node).await;
    let client = reqwest::Client::new();
    for round in 0..5 {
        let response = client.get(url(&node, "/closing")).send().await.unwrap();
        assert_eq!(response.status(), 200, "round {round}");
        assert_eq!(response.text().await.unwrap(), "ok");
        if round % 2 == 1 {
            // Sometimes the close has been seen before the next request, sometimes not.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(upstream.accepted(), 5, "each request needed a new connection");
}
