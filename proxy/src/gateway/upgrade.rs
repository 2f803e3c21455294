//! WebSocket pass-through (`proxy.md` §0, §4.2, §5): an HTTP/1.1 request asking for `Upgrade: websocket`
//! keeps its `Upgrade` and goes upstream with `Connection: keep-alive, Upgrade`; when the upstream switches
//! protocols, the client gets the 101 and both upgraded connections are copied into each other until either
//! side closes. The upstream side keeps its `read_timeout`, as nginx's `proxy_read_timeout` applies to
//! WebSocket traffic too.

use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Response, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::errors::GatewayBody;
use crate::upstream::h1::Upgraded;

/// A client's request to switch to WebSocket, taken from the request before it goes upstream.
pub struct WebSocketUpgrade {
    /// The client's `Upgrade` value, sent upstream and expected back.
    protocol: HeaderValue,
    client: OnUpgrade,
}

impl WebSocketUpgrade {
    /// `Some` when the request asks for a WebSocket upgrade over HTTP/1.1 (hyper then left the connection
    /// upgradeable).
    pub fn take(request: &mut Parts) -> Option<WebSocketUpgrade> {
        // Only hyper's connections can switch protocols (the proxy's own parser hands upgrades to hyper).
        if request.version != Version::HTTP_11 || request.extensions.get::<OnUpgrade>().is_none() {
            return None;
        }
        let protocol = request.headers.get(header::UPGRADE)?;
        let websocket = protocol.to_str().ok()?.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket"));
        let asks = request
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
        if !(websocket && asks) {
            return None;
        }
        let protocol = protocol.clone();
        let client = request.extensions.remove::<OnUpgrade>()?;
        Some(WebSocketUpgrade { protocol, client })
    }

    /// The hop-by-hop headers of the upstream request (after the client's were removed).
    pub fn request_headers(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(header::UPGRADE, self.protocol.clone());
    }

    /// Completes a 101 from the upstream: the client is told the same upgrade, and a task joins the two
    /// connections once hyper has handed over the client's.
    pub fn switch(self, response: &mut Response<GatewayBody>, upstream: Upgraded) {
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, self.protocol);
        let client = self.client;
        tokio::spawn(async move {
            let client = match client.await {
                Ok(client) => client,
                Err(error) => {
                    tracing::debug!(%error, "WebSocket upgrade did not complete");
                    return;
                }
            };
            let (mut client, mut upstream) = (TokioIo::new(client), upstream);
            if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                tracing::debug!(%error, "WebSocket tunnel closed with an error");
            }
        });
    }
}
