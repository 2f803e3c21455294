//! A real HTTP upstream on loopback that answers with what it received, as JSON:
//! `{"method", "path", "query", "headers": {name: value}, "body", "server"}`. `?sleep_ms=N` delays the answer, `?via=V` answers with `Via: V`.
//! [`Switchable`] is one that a test can stop and start again; [`start_recording`] one that lists what it
//! served, for tests that must show a request did *not* arrive.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

pub async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, addr, None));
    addr
}

/// `METHOD path body` of every request an upstream served, in arrival order.
pub type Seen = Arc<Mutex<Vec<String>>>;

pub async fn start_recording() -> (SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    tokio::spawn(serve(listener, addr, Some(seen.clone())));
    (addr, seen)
}

/// An echo upstream that can really go away (its listener and every open connection, so pooled keep-alive
/// connections die too) and come back on the same port.
pub struct Switchable {
    pub addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Switchable {
    pub async fn start() -> Switchable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Switchable { addr, task: Some(tokio::spawn(serve(listener, addr, None))) }
    }

    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.task = Some(tokio::spawn(serve(listener, self.addr, None)));
    }
}

impl Drop for Switchable {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Accepts connections until aborted; aborting drops the set, which aborts every connection task.
async fn serve(listener: tokio::net::TcpListener, addr: SocketAddr, seen: Option<Seen>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let seen = seen.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| echo(request, addr, seen.clone()));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn echo(
    request: Request<Incoming>,
    server: SocketAddr,
    seen: Option<Seen>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default().to_string();
    if let Some(ms) = query.split('&').find_map(|p| p.strip_prefix("sleep_ms=")).and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if let Some(seen) = seen {
        let line = format!("{} {} {}", parts.method, parts.uri.path(), String::from_utf8_lossy(&body));
        seen.lock().unwrap().push(line);
    }
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().into()))
        .collect();
    let reply = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
        "server": server.to_string(),
    });
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response.headers_mut().insert("connection", "x-hop".parse().unwrap());
    response.headers_mut().insert("x-hop", "must not reach the client".parse().unwrap());
    if let Some(via) = query.split('&').find_map(|p| p.strip_prefix("via=")) {
        response.headers_mut().insert("via", via.parse().unwrap());
    }
    Ok(response)
}
