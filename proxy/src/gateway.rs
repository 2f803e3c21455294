//! The gateway service: what answers client traffic on the proxy listeners.
//!
//! Each request loads the current configuration snapshot with one atomic load; the control plane swaps in a
//! new snapshot whenever the configuration version changes. Routing and the plugin chain hang off the snapshot.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;

use crate::headers::HeaderSet;
use crate::listener::ConnInfo;

/// `Server` on responses the gateway makes itself.
const SERVER: &str = concat!("gatehouse/", env!("CARGO_PKG_VERSION"));
use crate::model::MessageBody;

/// The compiled configuration the proxy serves from. Built once per configuration version, never per request.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store's configuration version this snapshot was built from.
    pub config_version: i64,
}

/// The shared state of every proxy listener; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    snapshot: Arc<ArcSwap<Snapshot>>,
    headers: HeaderSet,
}

impl Gateway {
    pub fn new(snapshot: Snapshot, headers: HeaderSet) -> Self {
        Gateway { snapshot: Arc::new(ArcSwap::from_pointee(snapshot)), headers }
    }

    /// Replaces the snapshot; requests already running keep the one they loaded.
    pub fn install(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    /// The snapshot currently serving.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The service for one client connection.
    pub fn service(&self, conn: ConnInfo) -> GatewayService {
        GatewayService { gateway: self.clone(), conn }
    }

    fn handle<B>(&self, _request: Request<B>, _conn: ConnInfo) -> Response<Full<Bytes>> {
        let _snapshot = self.snapshot.load();
        self.json_exit(StatusCode::NOT_FOUND, "no Route matched with those values")
    }

    /// A core exit with a `{"message":...}` body, sent as JSON whatever the client accepts (proxy spec §7).
    fn json_exit(&self, status: StatusCode, message: &str) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(MessageBody::new(message).to_json())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        if self.headers.server {
            headers.insert(header::SERVER, HeaderValue::from_static(SERVER));
        }
        response
    }
}

/// [`Gateway`] bound to one connection.
#[derive(Clone)]
pub struct GatewayService {
    gateway: Gateway,
    conn: ConnInfo,
}

impl<B> tower::Service<Request<B>> for GatewayService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.gateway.handle(request, self.conn)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn conn() -> ConnInfo {
        let addr = "127.0.0.1:9".parse().unwrap();
        ConnInfo { remote: addr, local: addr, tls: false }
    }

    #[tokio::test]
    async fn with_no_route_answers_kongs_404() {
        let gateway = Gateway::new(Snapshot::default(), HeaderSet::parse("server_tokens").unwrap());
        let response = gateway.service(conn()).oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::SERVER], SERVER);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json; charset=utf-8");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, r#"{"message":"no Route matched with those values"}"#);
        let quiet = Gateway::new(Snapshot::default(), HeaderSet::default());
        let response = quiet.service(conn()).oneshot(Request::new(())).await.unwrap();
        assert!(!response.headers().contains_key(header::SERVER), "headers = off");
    }

    #[test]
    fn install_replaces_the_serving_snapshot() {
        let gateway = Gateway::new(Snapshot::default(), HeaderSet::default());
        gateway.install(Snapshot { config_version: 7 });
        assert_eq!(gateway.snapshot().config_version, 7);
    }
}
