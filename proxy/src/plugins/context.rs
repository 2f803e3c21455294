//! The per-request context plugins share (Kong's `ngx.ctx` and `kong.ctx.shared`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use serde_json::Value;
use uuid::Uuid;

use crate::errors::{GatewayBody, full};
use crate::model::entities::consumer::Consumer;
use crate::model::entities::route::Route;
use crate::model::entities::service::Service;
use crate::snapshot::Snapshot;

/// A bearer token as the request carries it: a part of its `Authorization` value, kept without a copy (the
/// value shares the buffer the request head was read into). Its `Debug` does not show it.
#[derive(Clone)]
pub struct BearerToken {
    value: HeaderValue,
    range: std::ops::Range<usize>,
}

impl BearerToken {
    /// `token` is a part of `text`, which is `value` as text.
    pub fn within(value: &HeaderValue, text: &str, token: &str) -> BearerToken {
        let start = (token.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        assert!(start <= text.len() && token.len() <= text.len() - start, "the token is a part of the value");
        BearerToken { value: value.clone(), range: start..start + token.len() }
    }

    /// A token that is the whole of `value` (a plugin that takes it from elsewhere than `Authorization`).
    pub fn whole(value: HeaderValue) -> BearerToken {
        let range = 0..value.len();
        BearerToken { value, range }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.value.as_bytes()[self.range.clone()]
    }

    /// The token as text; header values this was taken from are visible ASCII.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BearerToken({} bytes)", self.range.len())
    }
}

/// The request's protocol as plugin `protocols` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Https,
    Grpc,
    Grpcs,
}

impl Protocol {
    pub fn parse(name: &str) -> Option<Protocol> {
        Some(match name {
            "http" => Protocol::Http,
            "https" => Protocol::Https,
            "grpc" => Protocol::Grpc,
            "grpcs" => Protocol::Grpcs,
            _ => return None,
        })
    }

    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The credential an authentication plugin accepted (for Gluu plugins, `id` is the OAuth `client_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    /// The consumer the credential belongs to, when it maps to one.
    pub consumer: Option<Uuid>,
}

/// The Gluu plugins' metric flags (`gluu-plugins.md` §2), kept in [`RequestCtx::gluu`] and read by
/// gluu-metrics in the log phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GluuFlags {
    pub oauth_client_authenticated: bool,
    pub oauth_client_granted: bool,
    pub uma_client_authenticated: bool,
    pub uma_client_granted: bool,
    /// The UMA ticket uma-pep answered with.
    pub uma_ticket: Option<String>,
    pub openid_connect_users_authenticated: bool,
    pub opa_client_granted: bool,
}

/// Headers a plugin sets for the upstream outside the request's map (see [`RequestCtx::added_headers`]), with
/// the lines they make in the upstream request head, rendered once.
#[derive(Debug)]
pub struct AddedHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
    lines: Box<[u8]>,
}

impl AddedHeaders {
    pub fn new(headers: Vec<(HeaderName, HeaderValue)>) -> AddedHeaders {
        let mut lines = Vec::new();
        for (name, value) in &headers {
            lines.extend_from_slice(name.as_str().as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
        AddedHeaders { headers, lines: lines.into() }
    }

    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// `name: value\r\n` for each header, in order.
    pub fn lines(&self) -> &[u8] {
        &self.lines
    }
}

/// Everything the phases of one request read and change.
pub struct RequestCtx {
    /// The request as it will be sent upstream: plugins change method, URI and headers here.
    pub request: http::request::Parts,
    body: Option<GatewayBody>,
    /// The client's address after `trusted_ips` (§4.1).
    pub client_addr: IpAddr,
    pub protocol: Protocol,
    pub snapshot: Arc<Snapshot>,
    /// The matched route, by index into the snapshot's router.
    pub route_index: Option<usize>,
    pub service: Option<Arc<Service>>,
    /// The upstream path a plugin chose instead of the one the route and service give (`replace.uri`).
    pub upstream_path: Option<String>,
    /// Regex captures of the matched route path: `[0]` the whole match, then numbered groups.
    pub uri_captures: Vec<Option<String>>,
    pub named_captures: Vec<(String, String)>,
    pub consumer: Option<Arc<Consumer>>,
    pub credential: Option<Credential>,
    pub authenticated_groups: Option<Vec<String>>,
    /// The bearer token an authentication plugin validated, and what the OP said about it.
    pub request_token: Option<BearerToken>,
    pub request_token_data: Option<Arc<Value>>,
    /// The token's scopes, read out of `request_token_data` once per cached token (gluu-oauth-pep tests them on
    /// every request).
    pub request_token_scopes: Option<Arc<[Box<str>]>>,
    pub userinfo: Option<Value>,
    /// Headers a plugin set for the upstream that are not in `request.headers` yet (the gluu-oauth-auth
    /// identity headers of a cached token, shared with its cache entry). They are written straight into the
    /// upstream request head, unless something that reads the header map runs first: then
    /// [`RequestCtx::settle_headers`] puts them into the map, so every phase sees the same headers.
    pub added_headers: Option<Arc<AddedHeaders>>,
    /// The Gluu plugins' flags, once one of them ran (a field, not an extension: every OAuth request sets it).
    pub gluu: Option<GluuFlags>,
    /// Typed per-request state of individual plugins (one private type per plugin).
    pub extensions: http::Extensions,
    pub started: Instant,
}

/// How the exchange ended, for the log phase.
#[derive(Debug, Clone)]
pub struct ResponseSummary {
    pub status: u16,
    /// The upstream's status (last try) when the request was proxied.
    pub upstream_status: Option<u16>,
    /// Time from the request's arrival until the response was complete (or abandoned).
    pub latency: Duration,
    pub upstream_latency: Option<Duration>,
    /// Response body bytes sent to the client.
    pub body_bytes: u64,
}

impl RequestCtx {
    pub fn new(
        request: http::request::Parts,
        body: GatewayBody,
        client_addr: IpAddr,
        protocol: Protocol,
        snapshot: Arc<Snapshot>,
        started: Instant,
    ) -> RequestCtx {
        RequestCtx {
            request,
            body: Some(body),
            client_addr,
            protocol,
            snapshot,
            route_index: None,
            service: None,
            upstream_path: None,
            uri_captures: Vec::new(),
            named_captures: Vec::new(),
            consumer: None,
            credential: None,
            authenticated_groups: None,
            request_token: None,
            request_token_data: None,
            request_token_scopes: None,
            userinfo: None,
            added_headers: None,
            gluu: None,
            extensions: http::Extensions::new(),
            started,
        }
    }

    /// A context for a request from 127.0.0.1 over http, for unit tests of plugins.
    #[cfg(test)]
    pub(crate) fn for_test(method: &str, path: &str, snapshot: Snapshot) -> RequestCtx {
        let (parts, ()) = http::Request::builder().method(method).uri(path).body(()).unwrap().into_parts();
        let body = full(Bytes::new());
        RequestCtx::new(parts, body, "127.0.0.1".parse().unwrap(), Protocol::Http, Arc::new(snapshot), Instant::now())
    }

    pub fn route(&self) -> Option<&Route> {
        self.route_index.map(|i| &self.snapshot.router.routes()[i])
    }

    pub fn route_id(&self) -> Option<Uuid> {
        self.route().map(|r| r.id)
    }

    pub fn service_id(&self) -> Option<Uuid> {
        self.service.as_ref().map(|s| s.id)
    }

    /// The consumer whose configurations apply: the authenticated one, else the credential's.
    pub fn consumer_id(&self) -> Option<Uuid> {
        self.consumer.as_ref().map(|c| c.id).or_else(|| self.credential.as_ref().and_then(|c| c.consumer))
    }

    /// The Gluu metric flags of this request, created unset on first use.
    pub fn gluu_flags(&mut self) -> &mut GluuFlags {
        self.gluu.get_or_insert_default()
    }

    /// Sets headers for the upstream request without touching the map now (see
    /// [`RequestCtx::added_headers`]). The caller has removed any of the same names from the map.
    pub fn add_headers(&mut self, headers: Arc<AddedHeaders>) {
        self.settle_headers();
        debug_assert!(headers.headers().iter().all(|(name, _)| !self.request.headers.contains_key(name)));
        self.added_headers = Some(headers);
    }

    /// Moves [`RequestCtx::added_headers`] into the request's header map.
    pub fn settle_headers(&mut self) {
        if let Some(headers) = self.added_headers.take() {
            self.request.headers.reserve(headers.headers().len());
            for (name, value) in headers.headers() {
                self.request.headers.insert(name.clone(), value.clone());
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Takes the request body for sending upstream.
    pub fn take_body(&mut self) -> GatewayBody {
        self.body.take().unwrap_or_else(|| full(Bytes::new()))
    }

    /// Reads the whole request body (up to `limit` bytes) so a plugin can inspect or rewrite it; the body
    /// sent upstream is then this buffer (or what [`RequestCtx::set_body`] put instead).
    pub async fn read_body(&mut self, limit: usize) -> Result<Bytes, String> {
        let mut body = self.take_body();
        let mut buffer = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Some(data) = frame.data_ref() {
                if buffer.len() + data.len() > limit {
                    return Err(format!("request body larger than {limit} bytes"));
                }
                buffer.extend_from_slice(data);
            }
        }
        let bytes = buffer.freeze();
        self.body = Some(full(bytes.clone()));
        Ok(bytes)
    }

    pub fn set_body(&mut self, bytes: Bytes) {
        self.request.headers.remove(http::header::TRANSFER_ENCODING);
        self.request.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
        self.body = Some(full(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_headers_reach_the_map_once_settled() {
        let mut cx = RequestCtx::for_test("GET", "/", Snapshot::empty());
        let added = AddedHeaders::new(vec![
            (HeaderName::from_static("x-consumer-id"), HeaderValue::from_static("c1")),
            (HeaderName::from_static("x-oauth-client-id"), HeaderValue::from_static("app")),
        ]);
        assert_eq!(added.lines(), b"x-consumer-id: c1\r\nx-oauth-client-id: app\r\n");
        cx.add_headers(Arc::new(added));
        assert!(cx.request.headers.get("x-consumer-id").is_none(), "kept out of the map until needed");
        cx.settle_headers();
        assert_eq!(cx.request.headers["x-consumer-id"], "c1");
        assert!(cx.added_headers.is_none());
        cx.settle_headers();
        assert_eq!(cx.request.headers.get_all("x-consumer-id").iter().count(), 1, "settled once");
    }
}
