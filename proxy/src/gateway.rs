//! The gateway service: what answers client traffic on the proxy listeners.
//!
//! Each request loads the current snapshot with one atomic load, is routed (`proxy.md` §2), checked for
//! protocol (§7), and sent to its service with Kong's upstream path (§3) and headers (§4); the response comes
//! back with hop-by-hop headers removed and the gateway's own headers added (§5, §6), its body streamed.

use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;

use crate::balancer::{Attempt, HashRequest, Hashed};
use crate::errors::{BoxError, GatewayBody, error_page, json_exit};
use crate::headers::HeaderSet;
use crate::listener::ConnInfo;
use crate::plugins::{
    AddedHeaders, Instance, Protocol, RequestCtx, ResponseSummary, any_response_phases, any_writes_forwarding_headers,
};
use crate::request_head::{HeadFacts, HeadLimits, check_host};
use crate::router::{PathHandling, RequestInfo, split_port, upstream_path, uri};
use crate::snapshot::Snapshot;
use crate::trusted::TrustedIps;
use crate::upstream::h1::RequestHead;
use crate::upstream::{Answer, Destination, Keepalive, Timeouts, UpstreamClient, UpstreamError};
use head_lines::{
    Forwarded, GatewayHeaders, ResponseLines, UpstreamHost, X_FORWARDED_PROTO, X_KONG_RESPONSE_LATENCY, X_REAL_IP,
    millis,
};
use in_flight::InFlightBody;
use phases::{LoggedBody, access, rewrite};
use upgrade::WebSocketUpgrade;

mod h1;
mod head_lines;
mod in_flight;
mod phases;
mod upgrade;

pub use h1::GatewayConnections;

/// `Server` and `Via` value.
const PRODUCT: &str = concat!("gatehouse/", env!("CARGO_PKG_VERSION"));

/// Node settings the gateway applies to every request.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub headers: HeaderSet,
    pub trusted_ips: TrustedIps,
    /// Media type of error pages when the client states none (`error_default_type`).
    pub error_default_type: String,
    /// Request heads larger than these get 494 (`large_client_header_buffers`).
    pub head_limits: HeadLimits,
    /// The upstream connection pool (`upstream_keepalive_*`).
    pub keepalive: Keepalive,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            headers: HeaderSet::parse("server_tokens, latency_tokens").expect("Kong's default parses"),
            trusted_ips: TrustedIps::default(),
            error_default_type: "text/plain".into(),
            head_limits: HeadLimits::default(),
            keepalive: Keepalive::default(),
        }
    }
}

struct Shared {
    snapshot: ArcSwap<Snapshot>,
    settings: GatewaySettings,
}

/// The state proxy listeners serve from: the snapshot and settings every worker shares, and an upstream
/// client; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Shared>,
    client: UpstreamClient,
}

impl Gateway {
    pub fn new(snapshot: Snapshot, settings: GatewaySettings) -> Self {
        let client = UpstreamClient::new(settings.keepalive);
        Gateway { inner: Arc::new(Shared { snapshot: ArcSwap::from_pointee(snapshot), settings }), client }
    }

    /// The same gateway (snapshot, settings) with an upstream pool of its own: one per proxy worker, so a
    /// worker's upstream connections are driven by its own runtime and its pool is never contended.
    pub fn with_own_pool(&self) -> Gateway {
        Gateway { inner: self.inner.clone(), client: UpstreamClient::new(self.inner.settings.keepalive) }
    }

    /// Replaces the snapshot; requests already running keep the one they loaded.
    pub fn install(&self, snapshot: Snapshot) {
        self.inner.snapshot.store(Arc::new(snapshot));
    }

    /// The snapshot currently serving.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// The service for one client connection.
    pub fn service(&self, conn: ConnInfo) -> GatewayService {
        GatewayService { bound: Arc::new((self.clone(), Client::new(conn))) }
    }

    /// The response to one request, with the gateway's own header lines kept apart (see [`ResponseLines`]).
    /// `facts`: what the proxy's own HTTP/1.1 parser found while parsing (the head checks passed, headers
    /// absent), [`HeadFacts::UNKNOWN`] otherwise.
    async fn handle<B>(
        &self,
        request: Request<B>,
        client: &Client,
        facts: HeadFacts,
    ) -> (Response<GatewayBody>, ResponseLines)
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let conn = &client.conn;
        let snapshot = self.inner.snapshot.load_full();
        let (parts, body) = request.into_parts();
        let peer = conn.remote.ip();
        let trusted = self.inner.settings.trusted_ips.contains(peer);
        let client_addr = client_address(&parts.headers, peer, trusted);
        let protocol = protocol_of(&parts.headers, conn.tls, facts.content_type);
        let body = body.map_err(Into::into).boxed();
        // Refused heads get the error page before any phase runs, as nginx answers them before Kong's code;
        // the global plugins still see the response and log it.
        let refused = if facts.checked {
            Ok(())
        } else {
            self.inner.settings.head_limits.check(&parts).and_then(|()| check_host(parts.version, &parts.headers))
        };
        let version = parts.version;
        // The global configurations run the rewrite phase, and are all a refused head gets.
        let plugins = !snapshot.plugins.is_empty();
        let mut selected = if plugins { snapshot.plugins.globals(protocol) } else { Vec::new() };
        let mut cx = RequestCtx::new(parts, body, client_addr, protocol, snapshot, started);
        let outcome = match refused {
            Err(status) => Outcome::Error(status),
            Ok(()) if !plugins => self.process(&mut cx, client, trusted, facts, &mut selected).await,
            Ok(()) => {
                // rewrite: global configurations only, before routing.
                match rewrite(&mut cx, &selected) {
                    Some(response) => Outcome::Generated(response),
                    None => self.process(&mut cx, client, trusted, facts, &mut selected).await,
                }
            }
        };
        let (mut response, lines) = self.complete(cx, selected, outcome);
        // Like nginx, no keep-alive after a refused head: whatever follows on the connection is suspect.
        if refused.is_err() && version < Version::HTTP_2 {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        (response, lines)
    }

    /// Routing, the access phase and the upstream exchange.
    async fn process(
        &self,
        cx: &mut RequestCtx,
        client: &Client,
        trusted: bool,
        facts: HeadFacts,
        selected: &mut Vec<Arc<Instance>>,
    ) -> Outcome {
        // The rewrite phase ran plugins (global ones) if any are selected; the access phase may add more.
        let mut plugins_ran = !selected.is_empty();
        let settings = &self.inner.settings;
        let conn = &client.conn;
        let snapshot = cx.snapshot.clone();
        // The path as the client sent it (`X-Forwarded-Path`), whatever plugins do to the URI.
        let original_uri = cx.request.uri.clone();
        let raw_path = original_uri.path();
        let path = uri::normalize(raw_path);
        let host_value = request_host(&cx.request.headers, &cx.request.uri);
        let host = host_value.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default();
        let scheme = if conn.tls { "https" } else { "http" };
        let info = RequestInfo {
            method: cx.request.method.as_str(),
            path: &path,
            host,
            scheme,
            sni: conn.sni.as_deref(),
            headers: &cx.request.headers,
        };
        let Some(mut found) = snapshot.router.find(&info) else {
            return Outcome::Generated(json_exit(StatusCode::NOT_FOUND, "no Route matched with those values"));
        };
        let route = &snapshot.router.routes()[found.route];

        let forwarded_proto: Cow<'static, str> = trusted
            .then(|| header_str(&cx.request.headers, &X_FORWARDED_PROTO))
            .flatten()
            .map_or(Cow::Borrowed(scheme), |proto| Cow::Owned(proto.to_ascii_lowercase()));
        let https_only = route.protocols.iter().any(|p| p == "https") && !route.protocols.iter().any(|p| p == "http");
        if https_only && forwarded_proto != "https" {
            return Outcome::Generated(https_redirect(route.https_redirect_status_code, host, &cx.request.uri));
        }
        cx.route_index = Some(found.route);
        let route_target = &snapshot.route_targets[found.route];
        cx.service = route_target.service.clone();
        let plan = snapshot.plugins.route_plan(found.route);
        if !plan.is_empty() {
            cx.uri_captures = std::mem::take(&mut found.captures);
            cx.named_captures = std::mem::take(&mut found.named_captures);
            let answer = access(cx, &snapshot.plugins, plan, selected).await;
            plugins_ran |= !selected.is_empty();
            if let Some(response) = answer {
                return Outcome::Generated(response);
            }
        }
        let Some(service) = cx.service.clone() else {
            return Outcome::Generated(json_exit(
                StatusCode::SERVICE_UNAVAILABLE,
                "no Service found with those values",
            ));
        };

        let prefix = found.prefix(&path);
        let upstream = cx.upstream_path.take().unwrap_or_else(|| {
            upstream_path(
                service.path.as_deref(),
                &path,
                prefix,
                route.strip_path,
                PathHandling::parse(&route.path_handling),
            )
        });
        // Origin-form: the connection already names the peer.
        let escaped = match uri::escape(&upstream) {
            Cow::Borrowed(_) => None,
            Cow::Owned(escaped) => Some(escaped),
        };
        let mut target = escaped.unwrap_or(upstream);
        if let Some(query) = cx.request.uri.query() {
            target.push('?');
            target.push_str(query);
        }
        // The snapshot looked up the balancer of the route's service; another service (a plugin's) is looked up.
        let balancer = match &route_target.service {
            Some(planned) if Arc::ptr_eq(planned, &service) => route_target.balancer.as_ref(),
            _ => snapshot.balancers.get(lower_case(&service.host).as_ref()),
        };
        if balancer.as_ref().is_some_and(|b| b.hashes_headers()) {
            cx.settle_headers();
        }
        // Hashed once per request, on the headers as the plugins left them (Kong's `get_value_to_hash`).
        let mut hashed = match &balancer {
            Some(balancer) => balancer.hash(&HashRequest {
                headers: &cx.request.headers,
                client_addr: cx.client_addr,
                consumer: cx.consumer.as_ref().map(|c| c.id),
                credential: cx.credential.as_ref().map(|c| c.id.as_str()),
            }),
            None => Hashed::default(),
        };
        let direct = balancer.is_none().then_some((service.host.as_str(), service.port));
        let host_no_port = found.host(host);
        let prefix_header = prefix.filter(|p| route.strip_path && *p != "/");
        let forwarding_written = plugins_ran && any_writes_forwarding_headers(selected);
        // A plugin that set another Host decides the upstream Host.
        let plugin_host = forwarding_written
            .then(|| header_str(&cx.request.headers, header::HOST).filter(|h| *h != host).map(str::to_string))
            .flatten();
        let plugin_host = plugin_host.as_deref();
        let mut websocket = WebSocketUpgrade::take(&mut cx.request);
        let headers = &mut cx.request.headers;
        strip_hop_by_hop(headers);
        if let Some(upgrade) = &websocket {
            upgrade.request_headers(headers);
        }
        let forwarded = Forwarded {
            trusted,
            peer: conn.remote.ip(),
            client,
            client_addr: cx.client_addr,
            proto: &forwarded_proto,
            host: host_no_port,
            path: raw_path,
            prefix: prefix_header,
            // The parser's facts hold for the headers as the client sent them.
            may_have_forwarded_for: facts.forwarded_for || forwarding_written,
        };

        // Headers plugins added outside the map go into the upstream head with the gateway's own.
        let added = cx.added_headers.clone();
        let method = cx.request.method.clone();
        let tls = match service.protocol.as_str() {
            "https" => match snapshot.upstream_tls.get(&service.id) {
                Some(tls) => Some(tls.clone()),
                None => return Outcome::Error(StatusCode::BAD_GATEWAY),
            },
            _ => None,
        };
        // A plugin's path or query may hold what cannot go on a request line.
        if !target.bytes().all(|b| b.is_ascii_graphic()) {
            return Outcome::Error(StatusCode::BAD_GATEWAY);
        }
        let retryable = matches!(method, http::Method::GET | http::Method::HEAD) || body_is_empty(&cx.request.headers);
        let mut body = cx.take_body();
        let timeouts = Timeouts::of(&service);
        let attempts = if retryable { service.retries + 1 } else { 1 };
        let sent_at = Instant::now();
        let proxy_latency = sent_at.duration_since(cx.started);
        let mut last_status = StatusCode::BAD_GATEWAY;
        // The response head may pass through as bytes unless a plugin's response phase or an upgrade needs
        // its header map.
        let raw_ok = websocket.is_none() && !any_response_phases(selected);
        // The balancer member the last attempt went to: reported to health checks, avoided by the retry.
        let mut previous: Option<usize> = None;
        for attempt in 0..attempts {
            let (peer_host, peer_port, member) = match (&balancer, direct) {
                (Some(balancer), _) => {
                    let picked = balancer.pick(hashed.value, previous).and_then(|i| Some((i, balancer.member(i)?)));
                    let Some((index, member)) = picked else {
                        return Outcome::Generated(json_exit(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "failure to get a peer from the ring-balancer",
                        ));
                    };
                    (member.peer.host.as_str(), member.peer.port, Some((index, member.connect_host())))
                }
                (None, Some((host, port))) => (host, port, None),
                (None, None) => break,
            };
            let connect_host = member.map_or(peer_host, |(_, address)| address);
            let member = member.map(|(index, _)| index);
            let report = |attempt: Attempt| {
                if let (Some(balancer), Some(index)) = (&balancer, member) {
                    balancer.report(index, attempt);
                }
            };
            // Host: a plugin's, the client's (preserve_host), the upstream's host_header, or the peer's.
            let upstream_host = if let Some(host) = plugin_host {
                UpstreamHost::Text(host)
            } else if route.preserve_host && !host.is_empty() {
                UpstreamHost::Text(host)
            } else if let Some(header) = balancer.as_ref().and_then(|b| b.upstream.host_header.as_deref()) {
                UpstreamHost::Text(header)
            } else if peer_port == 80 || (peer_port == 443 && service.protocol == "https") {
                UpstreamHost::Text(peer_host)
            } else {
                UpstreamHost::WithPort(peer_host, peer_port)
            };
            let destination = Destination {
                host: connect_host,
                port: peer_port,
                tls: tls.as_deref().map(|tls| (tls, upstream_host.server_name())),
            };
            let in_flight = member.and_then(|index| balancer.as_ref()?.begin(index));
            let extras = GatewayHeaders {
                host: upstream_host,
                forwarded: &forwarded,
                headers: &cx.request.headers,
                added: added.as_deref().map_or(&[], AddedHeaders::lines),
            };
            let head = RequestHead { method: &method, target: &target, headers: &cx.request.headers, extras: &extras };
            match self.client.send(&destination, timeouts, &head, &mut body, raw_ok).await {
                Ok(Answer { response, upgraded, raw }) => {
                    let upstream_latency = sent_at.elapsed();
                    report(Attempt::Responded(response.status().as_u16()));
                    let (mut response_parts, response_body) = response.into_parts();
                    let has_gateway_names = strip_hop_by_hop(&mut response_parts.headers);
                    let upstream_status = response_parts.status.as_u16();
                    let headers = &mut response_parts.headers;
                    let mut lines = ResponseLines {
                        raw,
                        via: settings.headers.via,
                        upstream_latency: settings.headers.upstream_latency.then_some(upstream_latency),
                        proxy_latency: settings.headers.proxy_latency.then_some(proxy_latency),
                    };
                    if has_gateway_names {
                        // The upstream sent one of them: the gateway's replaces it in the map.
                        lines.insert_into(headers);
                        lines = ResponseLines::default();
                    }
                    if let Some(cookie) = hashed.set_cookie.take() {
                        headers.append(header::SET_COOKIE, cookie);
                    }
                    let body = match in_flight {
                        Some(guard) => InFlightBody::wrap(response_body, guard),
                        None => response_body,
                    };
                    let mut response = Response::from_parts(response_parts, body);
                    if let (Some(upstream), Some(upgrade)) = (upgraded, websocket.take()) {
                        upgrade.switch(&mut response, upstream);
                    }
                    return Outcome::Proxied { response, upstream_status, upstream_latency, lines };
                }
                Err(error) => {
                    tracing::debug!(%error, attempt, upstream = %format_args!("{peer_host}:{peer_port}"), "upstream attempt failed");
                    previous = member;
                    if matches!(error, UpstreamError::NameResolution(_)) && balancer.is_none() {
                        tracing::error!("failed the initial dns/balancer resolve for '{peer_host}' with: {error}");
                        return Outcome::Generated(json_exit(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "name resolution failed",
                        ));
                    }
                    if error.is_timeout() {
                        report(Attempt::TimedOut);
                        last_status = StatusCode::GATEWAY_TIMEOUT;
                    } else {
                        report(Attempt::Failed);
                        last_status = StatusCode::BAD_GATEWAY;
                        // A broken exchange is not retried: the upstream may have acted on the request.
                        if !error.is_connect() {
                            break;
                        }
                    }
                }
            }
        }
        Outcome::Error(last_status)
    }

    /// The response phases: header_filter of the selected plugins, the gateway's headers, and a body that
    /// runs body_filter per chunk and the log phase when it is done.
    fn complete(
        &self,
        mut cx: RequestCtx,
        selected: Vec<Arc<Instance>>,
        outcome: Outcome,
    ) -> (Response<GatewayBody>, ResponseLines) {
        let mut lines = ResponseLines::default();
        let (response, summary) = match outcome {
            Outcome::Proxied { response, upstream_status, upstream_latency, lines: proxied } => {
                let summary = summary(response.status(), Some(upstream_status), Some(upstream_latency));
                lines = proxied;
                (response, summary)
            }
            Outcome::Generated(response) => {
                let summary = summary(response.status(), None, None);
                (self.finish(response, Some(cx.started)), summary)
            }
            Outcome::Error(status) => {
                let head = cx.request.method == http::Method::HEAD;
                let headers = &cx.request.headers;
                let page = error_page(
                    status,
                    header_str(headers, header::ACCEPT),
                    header_str(headers, header::CONTENT_TYPE),
                    &self.inner.settings.error_default_type,
                    head,
                );
                (self.finish(page, Some(cx.started)), summary(status, None, None))
            }
        };
        if !any_response_phases(&selected) {
            h1::recycle_header_map(std::mem::take(&mut cx.request.headers));
            return (response, lines);
        }
        // The response and log phases see the headers that went upstream, and the gateway's in the map.
        cx.settle_headers();
        let (mut parts, body) = response.into_parts();
        lines.insert_into(&mut parts.headers);
        for instance in &selected {
            if let Ok(handler) = instance.handler() {
                handler.header_filter(&mut cx, &mut parts);
            }
        }
        (Response::from_parts(parts, LoggedBody::wrap(body, cx, selected, summary)), ResponseLines::default())
    }
    /// Adds the gateway's own headers to a response it made itself.
    fn finish(&self, mut response: Response<GatewayBody>, started: Option<Instant>) -> Response<GatewayBody> {
        let headers = &self.inner.settings.headers;
        if headers.server {
            response.headers_mut().insert(header::SERVER, HeaderValue::from_static(PRODUCT));
        }
        if let (true, Some(started)) = (headers.response_latency, started) {
            response.headers_mut().insert(X_KONG_RESPONSE_LATENCY, millis(started.elapsed()));
        }
        response
    }
}

/// How the gateway's part of an exchange ended.
enum Outcome {
    /// The upstream answered.
    Proxied { response: Response<GatewayBody>, upstream_status: u16, upstream_latency: Duration, lines: ResponseLines },
    /// The gateway or a plugin answered.
    Generated(Response<GatewayBody>),
    /// The upstream failed: an error page in the media type the client's headers ask for (`Accept`,
    /// `Content-Type`; neither is hop-by-hop, so the request's map still has them as the client sent them).
    Error(StatusCode),
}

fn summary(status: StatusCode, upstream_status: Option<u16>, upstream_latency: Option<Duration>) -> ResponseSummary {
    ResponseSummary {
        status: status.as_u16(),
        upstream_status,
        latency: Duration::ZERO,
        upstream_latency,
        body_bytes: 0,
    }
}

/// `http`/`https`, or `grpc`/`grpcs` for gRPC requests.
fn protocol_of(headers: &HeaderMap, tls: bool, may_have_content_type: bool) -> Protocol {
    let grpc = may_have_content_type
        && header_str(headers, header::CONTENT_TYPE).is_some_and(|t| t.starts_with("application/grpc"));
    match (grpc, tls) {
        (false, false) => Protocol::Http,
        (false, true) => Protocol::Https,
        (true, false) => Protocol::Grpc,
        (true, true) => Protocol::Grpcs,
    }
}

/// The client's address: the peer, or the `X-Real-IP` a trusted peer reports.
fn client_address(headers: &HeaderMap, peer: IpAddr, trusted: bool) -> IpAddr {
    if !trusted {
        return peer;
    }
    header_str(headers, &X_REAL_IP).and_then(|v| v.trim().parse().ok()).unwrap_or(peer)
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `Host` header (its value shares the request's bytes), or the authority of an HTTP/2 request.
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<HeaderValue> {
    headers
        .get(header::HOST)
        .filter(|v| v.to_str().is_ok())
        .cloned()
        .or_else(|| uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()))
}

/// A `Host` value without its port (`[::1]` keeps its brackets), as the router splits it.
fn without_port(host: &str) -> &str {
    split_port(host).0
}

/// `text` in lower case, copied only when it has upper-case letters.
fn lower_case(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

fn body_is_empty(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers.get(header::CONTENT_LENGTH).is_none_or(|v| v.as_bytes() == b"0")
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    crate::headers::is_hop_by_hop(name.as_str().as_bytes())
}

/// Removes the hop-by-hop headers of one connection before the message crosses to the other. Returns
/// whether the message has a header the gateway sets on responses (`Via`, `X-Kong-*-Latency`), found in the
/// same pass.
fn strip_hop_by_hop(headers: &mut HeaderMap) -> bool {
    // Most messages have none, or only `Connection: keep-alive`: one pass over the names finds out, and only
    // the names present are removed.
    let (mut connection, mut others, mut gateway_names) = (false, false, false);
    for name in headers.keys() {
        if *name == header::CONNECTION {
            connection = true;
        } else if is_hop_by_hop(name) {
            others = true;
        } else if crate::headers::set_on_proxied_responses(name.as_str().as_bytes()) {
            gateway_names = true;
        }
    }
    if connection {
        let names_headers = headers.get_all(header::CONNECTION).iter().any(|value| {
            value.as_bytes().split(|&b| b == b',').map(<[u8]>::trim_ascii).any(|token| {
                !token.is_empty() && !token.eq_ignore_ascii_case(b"keep-alive") && !token.eq_ignore_ascii_case(b"close")
            })
        });
        if names_headers {
            let named: Vec<HeaderName> = headers
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|token| {
                    let token = token.trim();
                    headers.keys().find(|name| name.as_str().eq_ignore_ascii_case(token)).cloned()
                })
                .collect();
            for name in named {
                headers.remove(name);
            }
        }
        headers.remove(header::CONNECTION);
    }
    if others {
        while let Some(name) = headers.keys().find(|name| is_hop_by_hop(name)).cloned() {
            headers.remove(name);
        }
    }
    gateway_names
}

/// An https-only route reached over http: 426, or a redirect to the https URL.
fn https_redirect(status: u16, host: &str, uri: &Uri) -> Response<GatewayBody> {
    if status == 426 {
        let mut response = json_exit(StatusCode::UPGRADE_REQUIRED, "Please use HTTPS protocol");
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        response.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("TLS/1.2, HTTP/1.1"));
        return response;
    }
    let location = format!("https://{host}{}", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut response = Response::new(crate::errors::full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// One client connection as the gateway sees it: what the listener says about it, and the header values it
/// gives every request on it (built once per connection, then shared by reference count).
struct Client {
    conn: ConnInfo,
    /// `X-Real-IP` and `X-Forwarded-For` when the client is the peer.
    peer_ip: HeaderValue,
    /// `X-Forwarded-Port`.
    local_port: HeaderValue,
    /// The `X-Real-IP`, `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Port` lines of a request from
    /// an untrusted peer that sent no `X-Forwarded-For`: the same for every request on the connection.
    forwarded_lines: Box<[u8]>,
}

impl Client {
    fn new(conn: ConnInfo) -> Client {
        let ip = conn.remote.ip().to_string();
        let scheme = if conn.tls { "https" } else { "http" };
        let port = conn.local.port();
        let forwarded_lines = format!(
            "x-real-ip: {ip}\r\nx-forwarded-for: {ip}\r\nx-forwarded-proto: {scheme}\r\nx-forwarded-port: {port}\r\n"
        );
        let peer_ip =
            HeaderValue::from_maybe_shared(bytes::Bytes::from(ip)).expect("an IP address is a valid header value");
        let local_port = HeaderValue::from(port);
        Client { conn, peer_ip, local_port, forwarded_lines: forwarded_lines.into_bytes().into() }
    }
}

/// [`Gateway`] bound to one connection. Requests clone only this connection's own reference count, never one
/// that other connections (or workers) write too.
#[derive(Clone)]
pub struct GatewayService {
    bound: Arc<(Gateway, Client)>,
}

impl GatewayService {
    /// The response to one request (the proxy's own HTTP/1.1 server calls this without boxing a future).
    async fn respond<B>(&self, request: Request<B>, facts: HeadFacts) -> (Response<GatewayBody>, ResponseLines)
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let (gateway, client) = &*self.bound;
        gateway.handle(request, client, facts).await
    }
}

impl<B> tower::Service<Request<B>> for GatewayService
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<GatewayBody>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let bound = self.bound.clone();
        Box::pin(async move {
            let (gateway, client) = &*bound;
            let (mut response, lines) = gateway.handle(request, client, HeadFacts::UNKNOWN).await;
            lines.insert_into(response.headers_mut());
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests;
