//! The upstream client: HTTP/1.1 to a service's peer over TCP or TLS (`proxy.md` §8.3), with the service's
//! own `connect_timeout`, `write_timeout` and `read_timeout`, a keep-alive pool keyed on the whole upstream
//! identity, and connections that can be upgraded (WebSocket). The protocol itself is in [`h1`].

mod body;
mod deadlines;
pub mod h1;
mod pool;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use self::body::UpstreamBody;
use self::deadlines::{Bounds, Deadlines};
use self::h1::{Connection, ExchangeError, RawHead, RequestHead, Stream, Upgraded};
use self::pool::{KeyRef, Pool};
use crate::errors::GatewayBody;
use crate::model::entities::service::Service;
pub use pool::Keepalive;
pub use tls::{CertificateStore, StoredCertificate, UpstreamTls};

/// A service's timeouts, in Kong's meaning: each bounds one wait, not the whole exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus the TLS handshake.
    pub connect: Duration,
    /// Between two successive writes of the request.
    pub write: Duration,
    /// Between two successive reads of the response, from the end of the request on.
    pub read: Duration,
}

impl Timeouts {
    pub fn of(service: &Service) -> Timeouts {
        let ms = |value: u64| Duration::from_millis(value.max(1));
        Timeouts {
            connect: ms(service.connect_timeout),
            write: ms(service.write_timeout),
            read: ms(service.read_timeout),
        }
    }
}

/// Where one attempt goes.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The service's TLS profile and the server name to ask for (the upstream `Host`).
    pub tls: Option<(&'a UpstreamTls, &'a str)>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("the name '{0}' does not resolve")]
    NameResolution(String),
    #[error("connecting failed: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("invalid server name '{0}' for TLS")]
    ServerName(String),
    #[error("the upstream stopped reading or answering within its timeout")]
    Timeout,
    #[error("the exchange failed: {0}")]
    Exchange(ExchangeError),
}

impl UpstreamError {
    /// A timeout (connect, write or read): a 504, and a timeout for the health checks.
    pub fn is_timeout(&self) -> bool {
        matches!(self, UpstreamError::ConnectTimeout | UpstreamError::Timeout)
    }

    /// The upstream was never reached with the request: any method may go to another peer.
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            UpstreamError::ConnectTimeout
                | UpstreamError::NameResolution(_)
                | UpstreamError::Connect(_)
                | UpstreamError::Handshake(_)
                | UpstreamError::ServerName(_)
        )
    }
}

impl From<ExchangeError> for UpstreamError {
    fn from(error: ExchangeError) -> UpstreamError {
        if error.is_timeout() { UpstreamError::Timeout } else { UpstreamError::Exchange(error) }
    }
}

/// What an upstream answered: the response, and for a 101 the upgraded connection.
pub struct Answer {
    /// Its header map is empty when the head came as bytes (`raw`).
    pub response: Response<GatewayBody>,
    pub upgraded: Option<Upgraded>,
    pub raw: Option<RawHead>,
}

/// The node's upstream client; cheap to clone.
#[derive(Clone)]
pub struct UpstreamClient {
    pool: Arc<Pool>,
}

impl UpstreamClient {
    pub fn new(keepalive: Keepalive) -> UpstreamClient {
        UpstreamClient { pool: Pool::new(keepalive) }
    }

    /// Idle pooled connections (all keys).
    pub fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }

    /// Sends the request (origin-form target, `Host` set) to `to`: on a pooled connection when one is idle,
    /// else on a new one. The body is read only once a connection takes it, so a request that could not
    /// connect still has it for another peer. A pooled connection the upstream had closed meanwhile is
    /// given up for the next one when the request has no body to lose (nginx does the same).
    pub async fn send(
        &self,
        to: &Destination<'_>,
        timeouts: Timeouts,
        head: &RequestHead<'_>,
        body: &mut GatewayBody,
        raw_ok: bool,
    ) -> Result<Answer, UpstreamError> {
        let key = KeyRef { host: to.host, port: to.port, tls: to.tls.map(|(tls, sni)| (tls.fingerprint, sni)) };
        let replayable = body.is_end_stream();
        while let Some(connection) = self.pool.checkout(key) {
            match self.exchange(connection, timeouts, head, body, raw_ok).await {
                Err(error) if replayable && error.is_closed() => continue,
                answered => return answered.map_err(UpstreamError::from),
            }
        }
        // Boxed: connecting (resolution, TCP, TLS) is the rare path, and its state would otherwise make every
        // request's future larger.
        let connection = Box::pin(connect(to, key, timeouts)).await?;
        Ok(self.exchange(connection, timeouts, head, body, raw_ok).await?)
    }

    async fn exchange(
        &self,
        mut connection: Connection,
        timeouts: Timeouts,
        head: &RequestHead<'_>,
        body: &mut GatewayBody,
        raw_ok: bool,
    ) -> Result<Answer, ExchangeError> {
        connection.bounds.set(timeouts.write, timeouts.read);
        connection.exchanges += 1;
        connection.write_request(head, body).await?;
        let parts = connection.read_head(head.method, raw_ok).await?;
        let upgrade = parts.status == StatusCode::SWITCHING_PROTOCOLS;
        let (body, upgraded) = if upgrade {
            (crate::errors::full(bytes::Bytes::new()), Some(connection.into_upgraded()))
        } else {
            (UpstreamBody::new(connection, self.pool.clone(), parts.framing, parts.reusable).boxed(), None)
        };
        let mut response = Response::new(body);
        *response.status_mut() = parts.status;
        *response.version_mut() = parts.version;
        *response.headers_mut() = parts.headers;
        Ok(Answer { response, upgraded, raw: parts.raw })
    }
}

/// A new connection: TCP and, for `https` services, TLS, together bounded by `connect_timeout`.
async fn connect(to: &Destination<'_>, key: KeyRef<'_>, timeouts: Timeouts) -> Result<Connection, UpstreamError> {
    let started = Instant::now();
    let addresses = match to.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, to.port)],
        // A name is resolved apart from connecting, so that a name that does not resolve is told from a peer
        // that refuses (`proxy.md` §8.4: 503 "name resolution failed").
        Err(_) => match tokio::time::timeout(timeouts.connect, tokio::net::lookup_host((to.host, to.port))).await {
            Err(_) => return Err(UpstreamError::ConnectTimeout),
            Ok(Ok(found)) => found.collect(),
            Ok(Err(_)) => Vec::new(),
        },
    };
    if addresses.is_empty() {
        return Err(UpstreamError::NameResolution(to.host.to_string()));
    }
    let remaining = timeouts.connect.saturating_sub(started.elapsed());
    let stream = match tokio::time::timeout(remaining, TcpStream::connect(&addresses[..])).await {
        Err(_) => return Err(UpstreamError::ConnectTimeout),
        Ok(Err(error)) => return Err(UpstreamError::Connect(error)),
        Ok(Ok(stream)) => stream,
    };
    let _ = stream.set_nodelay(true);
    let bounds = Bounds::new(timeouts.write, timeouts.read);
    let socket = Deadlines::new(stream, bounds.clone());
    let stream = match to.tls {
        None => Stream::Plain(socket),
        Some((tls, sni)) => {
            let name = ServerName::try_from(sni.to_string()).map_err(|_| UpstreamError::ServerName(sni.into()))?;
            let remaining = timeouts.connect.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, tls.connector.connect(name, socket)).await {
                Err(_) => return Err(UpstreamError::ConnectTimeout),
                Ok(Err(error)) => return Err(UpstreamError::Handshake(error)),
                Ok(Ok(stream)) => Stream::Tls(Box::new(stream)),
            }
        }
    };
    Ok(Connection::new(stream, bounds, key.owned()))
}
