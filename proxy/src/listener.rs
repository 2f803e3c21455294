//! Listeners: Kong-style listen specifications, and the accept loop every Gatehouse listener runs (plain or
//! TLS, HTTP/1.1 and HTTP/2, connection counters for `/status`, graceful shutdown with a bound).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::request_head::HeadLimits;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One entry of a `*_listen` setting: `ADDRESS:PORT [ssl] [http2] ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    pub addr: SocketAddr,
    pub ssl: bool,
    /// `reuseport`: each proxy worker binds its own socket with `SO_REUSEPORT` (the kernel spreads
    /// connections over them) instead of all accepting from one.
    pub reuseport: bool,
}

impl std::fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.addr,
            if self.ssl { " ssl" } else { "" },
            if self.reuseport { " reuseport" } else { "" }
        )
    }
}

/// Parses a Kong listen setting: comma-separated `ADDRESS:PORT` entries with optional flags, or `off`.
///
/// `http2` is accepted and implied (every listener speaks HTTP/1.1 and HTTP/2); `reuseport` gives each proxy
/// worker its own socket; `deferred`, `bind` and `backlog=N` are nginx socket tuning that Gatehouse accepts
/// and does not need.
pub fn parse_listen(value: &str) -> Result<Vec<ListenSpec>, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("off") {
        return Ok(Vec::new());
    }
    let mut specs = Vec::new();
    for entry in value.split(',') {
        let mut words = entry.split_whitespace();
        let address = words.next().ok_or_else(|| format!("empty entry in '{value}'"))?;
        let addr = parse_socket_addr(address)?;
        let (mut ssl, mut reuseport) = (false, false);
        for flag in words {
            match flag {
                "ssl" => ssl = true,
                "reuseport" => reuseport = true,
                "http2" | "deferred" | "bind" => {}
                f if f.starts_with("backlog=") && f["backlog=".len()..].parse::<u32>().is_ok() => {}
                other => return Err(format!("unknown flag '{other}' in '{}'", entry.trim())),
            }
        }
        specs.push(ListenSpec { addr, ssl, reuseport });
    }
    Ok(specs)
}

fn parse_socket_addr(address: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = address.parse() {
        return Ok(addr);
    }
    // Kong accepts `*:PORT` and `localhost:PORT`.
    if let Some((host, port)) = address.rsplit_once(':') {
        let port: u16 = port.parse().map_err(|_| format!("invalid port in '{address}'"))?;
        match host {
            "*" => return Ok(SocketAddr::from(([0, 0, 0, 0], port))),
            "localhost" => return Ok(SocketAddr::from(([127, 0, 0, 1], port))),
            _ => {}
        }
    }
    Err(format!("'{address}' is not an IP address with a port (for example 127.0.0.1:8001)"))
}

/// What a service learns about the connection a request came in on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
    /// The TLS server name the client asked for.
    pub sni: Option<Arc<str>>,
}

/// Counters of one group of listeners, reported by the Admin API's `GET /status`.
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub total_requests: AtomicU64,
    pub connections_accepted: AtomicU64,
    pub connections_handled: AtomicU64,
    pub connections_active: AtomicU64,
    pub requests_in_flight: AtomicU64,
}

/// Tuning shared by every listener.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long a client may take to send a complete request head (slow-loris bound, `client_header_timeout`).
    /// HTTP/1 only; hyper then closes the connection without an answer, as nginx does (it logs a 408).
    pub header_read_timeout: Duration,
    /// Request head limits; the listener gives hyper's parsers their hard cap.
    pub head_limits: HeadLimits,
    /// How long a TLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// How long in-flight requests may run after shutdown began.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(60),
            head_limits: HeadLimits::default(),
            tls_handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What serves each accepted connection once its TLS handshake (if any) is done.
pub trait Connections: Clone + Send + Sync + 'static {
    fn serve<IO>(self, io: IO, accepted: Accepted) -> impl Future<Output = ()> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

/// One accepted connection: what a service learns about it, and what serving it may need.
pub struct Accepted {
    pub info: ConnInfo,
    /// ALPN chose HTTP/2.
    pub http2: bool,
    pub hyper: Hyper,
    pub stats: Arc<ListenerStats>,
    pub shutdown: watch::Receiver<bool>,
    pub options: Arc<ServeOptions>,
}

/// hyper's HTTP/1.1 and HTTP/2 server, bound to the listener's graceful shutdown.
pub struct Hyper {
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
    stats: Arc<ListenerStats>,
    remote: SocketAddr,
}

impl Hyper {
    /// Serves the connection with `service` until either side closes it.
    pub async fn serve<IO, S, B>(self, io: IO, service: S)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let service = CountingService { inner: TowerToHyperService::new(service), stats: self.stats };
        let connection = self.builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        if let Err(error) = self.watcher.watch(connection).await {
            tracing::debug!(remote = %self.remote, error = %error, "connection ended with an error");
        }
    }
}

/// Serves every connection with hyper and the service `make_service` builds for it.
#[derive(Clone)]
pub struct WithHyper<M>(pub M);

impl<M, S, B> Connections for WithHyper<M>
where
    M: Fn(ConnInfo) -> S + Clone + Send + Sync + 'static,
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn serve<IO>(self, io: IO, accepted: Accepted) -> impl Future<Output = ()> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = (self.0)(accepted.info);
        accepted.hyper.serve(io, service)
    }
}

/// Accepts connections on `listener` until `shutdown` turns true, serving each with `connections`; then
/// waits up to `options.shutdown_grace` for in-flight connections.
pub async fn serve<C: Connections>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    connections: C,
    stats: Arc<ListenerStats>,
    mut shutdown: watch::Receiver<bool>,
    options: ServeOptions,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    let cap = options.head_limits.parser_cap();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        // hyper-util's auto builder has no `max_header_size`; the read buffer bound is the head cap.
        .max_buf_size(cap);
    builder.http2().timer(TokioTimer::new()).max_header_list_size(u32::try_from(cap).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    // Every connection task, hyper's or not, so that shutdown can wait for all of them.
    let tracker = tokio_util::task::TaskTracker::new();
    let local = listener.local_addr().ok();
    let options = Arc::new(options);

    loop {
        let (stream, remote) = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors must not spin or end the listener.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let info = ConnInfo { remote, local: local.unwrap_or(remote), tls: tls.is_some(), sni: None };
        let connection = ConnectionGuard::open(stats.clone());
        let hyper = Hyper { builder: builder.clone(), watcher: graceful.watcher(), stats: stats.clone(), remote };
        let accepted = Accepted {
            info,
            http2: false,
            hyper,
            stats: stats.clone(),
            shutdown: shutdown.clone(),
            options: options.clone(),
        };
        let connections = connections.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            let _connection = connection;
            match tls {
                None => connections.serve(stream, accepted).await,
                Some(acceptor) => {
                    match tokio::time::timeout(accepted.options.tls_handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let session = stream.get_ref().1;
                            let sni = session.server_name().map(Arc::from);
                            let http2 = session.alpn_protocol() == Some(b"h2");
                            let accepted = Accepted { info: ConnInfo { sni, ..accepted.info }, http2, ..accepted };
                            connections.serve(stream, accepted).await
                        }
                        Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    tracker.close();
    let drained = async {
        graceful.shutdown().await;
        tracker.wait().await;
    };
    if tokio::time::timeout(options.shutdown_grace, drained).await.is_err() {
        tracing::warn!(?local, "shutdown grace period elapsed with connections still open");
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Wraps a service so each request carries the [`ConnInfo`] of its connection as an extension, for services
/// (axum routers) that check the caller.
#[derive(Clone)]
pub struct WithConnInfo<S> {
    inner: S,
    conn: ConnInfo,
}

impl<S> WithConnInfo<S> {
    pub fn new(inner: S, conn: ConnInfo) -> Self {
        WithConnInfo { inner, conn }
    }
}

impl<S, B> tower::Service<Request<B>> for WithConnInfo<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        request.extensions_mut().insert(self.conn.clone());
        self.inner.call(request)
    }
}

/// Keeps the connection counters right however the connection task ends.
struct ConnectionGuard(Arc<ListenerStats>);

impl ConnectionGuard {
    fn open(stats: Arc<ListenerStats>) -> Self {
        stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
        stats.connections_active.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(stats)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections_active.fetch_sub(1, Ordering::Relaxed);
        self.0.connections_handled.fetch_add(1, Ordering::Relaxed);
    }
}

/// A request counted in flight until dropped.
pub(crate) struct InFlightGuard(Arc<ListenerStats>);

impl InFlightGuard {
    pub(crate) fn start(stats: &Arc<ListenerStats>) -> InFlightGuard {
        stats.requests_in_flight.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(stats.clone())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.requests_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts requests in total and in flight around the real service.
struct CountingService<S> {
    inner: S,
    stats: Arc<ListenerStats>,
}

impl<S, R> hyper::service::Service<R> for CountingService<S>
where
    S: hyper::service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn call(&self, request: R) -> Self::Future {
        self.stats.total_requests.fetch_add(1, Ordering::Relaxed);
        Counted { inner: self.inner.call(request), _guard: InFlightGuard::start(&self.stats) }
    }
}

pin_project_lite::pin_project! {
    struct Counted<F> {
        #[pin]
        inner: F,
        _guard: InFlightGuard,
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kong_default_proxy_listen() {
        let specs = parse_listen("0.0.0.0:80, 0.0.0.0:443 ssl").unwrap();
        assert_eq!(
            specs,
            vec![
                ListenSpec { addr: "0.0.0.0:80".parse().unwrap(), ssl: false, reuseport: false },
                ListenSpec { addr: "0.0.0.0:443".parse().unwrap(), ssl: true, reuseport: false },
            ]
        );
    }

    #[test]
    fn accepts_ipv6_wildcards_and_nginx_flags() {
        let specs = parse_listen("[::1]:8443 ssl http2 reuseport backlog=16384, *:8000").unwrap();
        assert_eq!(specs[0].addr, "[::1]:8443".parse().unwrap());
        assert!(specs[0].ssl && specs[0].reuseport);
        assert!(!specs[1].reuseport);
        assert_eq!(specs[1].addr, "0.0.0.0:8000".parse().unwrap());
        assert!(parse_listen("off").unwrap().is_empty());
    }

    #[test]
    fn rejects_what_it_cannot_bind() {
        assert!(parse_listen("127.0.0.1").unwrap_err().contains("127.0.0.1"));
        assert!(parse_listen("127.0.0.1:99999").is_err());
        assert!(parse_listen("127.0.0.1:80 sll").unwrap_err().contains("sll"));
        assert!(parse_listen("").is_err());
    }
}
