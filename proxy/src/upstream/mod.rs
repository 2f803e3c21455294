//! The upstream client: HTTP/1.1 to a service's peer over TCP or TLS (`proxy.md` §8.3), with the service's
//! own `connect_timeout`, `write_timeout` and `read_timeout`, a keep-alive pool keyed on the whole upstream
//! identity, and connections that can be upgraded (WebSocket).
//!
//! hyper's pooled legacy client takes one connector for every request, so it cannot carry per-service
//! timeouts or TLS; this one drives hyper's connection API directly.

mod body;
mod deadlines;
mod pool;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use self::body::{Checkin, RequestBody, ResponseBody};
use self::deadlines::{Bounds, Deadlines};
use self::pool::{Connection, KeyRef, Pool};
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
    Exchange(hyper::Error),
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

    fn exchange(error: hyper::Error) -> UpstreamError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(cause) = source {
            if cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
                return UpstreamError::Timeout;
            }
            source = cause.source();
        }
        UpstreamError::Exchange(error)
    }
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

    /// Sends `request` (origin-form URI, `Host` set) to `to`: on a pooled connection when one is idle,
    /// else on a new one. A pooled connection the upstream closed meanwhile hands the request back unsent
    /// and the next one is tried.
    pub async fn send(
        &self,
        to: &Destination<'_>,
        timeouts: Timeouts,
        request: Request<GatewayBody>,
    ) -> Result<Response<GatewayBody>, UpstreamError> {
        let key = KeyRef { host: to.host, port: to.port, tls: to.tls.map(|(tls, sni)| (tls.fingerprint, sni)) };
        let mut request = request.map(RequestBody::new);
        while let Some(mut connection) = self.pool.checkout(key) {
            // A connection finishing its previous exchange becomes ready at once; a dead one errs.
            match tokio::time::timeout(timeouts.connect, connection.sender.ready()).await {
                Ok(Ok(())) => {}
                _ => continue,
            }
            match self.exchange(connection, timeouts, request).await {
                Ok(response) => return Ok(response),
                Err(Failed::Unsent(returned)) => request = *returned,
                Err(Failed::Error(error)) => return Err(error),
            }
        }
        // Boxed: connecting (resolution, TCP, TLS) is the rare path, and its state would otherwise make every
        // request's future larger.
        let connection = Box::pin(connect(to, key, timeouts)).await?;
        match self.exchange(connection, timeouts, request).await {
            Ok(response) => Ok(response),
            Err(Failed::Unsent(_)) => Err(UpstreamError::Connect(std::io::ErrorKind::ConnectionAborted.into())),
            Err(Failed::Error(error)) => Err(error),
        }
    }

    async fn exchange(
        &self,
        mut connection: Connection,
        timeouts: Timeouts,
        mut request: Request<RequestBody>,
    ) -> Result<Response<GatewayBody>, Failed> {
        connection.bounds.set(timeouts.write, timeouts.read);
        connection.exchanges += 1;
        request.body_mut().bind(connection.bounds.clone());
        let response = match connection.sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut error) => {
                return Err(match error.take_message() {
                    Some(request) => Failed::Unsent(Box::new(request)),
                    None => Failed::Error(UpstreamError::exchange(error.into_error())),
                });
            }
        };
        let (parts, body) = response.into_parts();
        // A 101 hands the connection over to the upgrade; there is nothing to pool.
        let body = if parts.status == StatusCode::SWITCHING_PROTOCOLS {
            body.map_err(Into::into).boxed()
        } else {
            ResponseBody::new(body, Checkin { pool: self.pool.clone(), connection }).boxed()
        };
        Ok(Response::from_parts(parts, body))
    }
}

/// Why an exchange did not produce a response.
enum Failed {
    /// The connection was closed before the request went out; it can go on another one (boxed: rare).
    Unsent(Box<Request<RequestBody>>),
    Error(UpstreamError),
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
    let sender = match to.tls {
        None => handshake(socket).await?,
        Some((tls, sni)) => {
            let name = ServerName::try_from(sni.to_string()).map_err(|_| UpstreamError::ServerName(sni.into()))?;
            let remaining = timeouts.connect.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, tls.connector.connect(name, socket)).await {
                Err(_) => return Err(UpstreamError::ConnectTimeout),
                Ok(Err(error)) => return Err(UpstreamError::Handshake(error)),
                Ok(Ok(stream)) => handshake(stream).await?,
            }
        }
    };
    Ok(Connection { sender, bounds, exchanges: 0, key: key.owned() })
}

/// Starts HTTP/1.1 on `io`; the connection runs in its own task until either side closes it.
async fn handshake<IO>(io: IO) -> Result<http1::SendRequest<RequestBody>, UpstreamError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        http1::Builder::new().handshake(TokioIo::new(io)).await.map_err(UpstreamError::Exchange)?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}
