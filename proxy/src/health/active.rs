//! Active health checks (`proxy.md` §9): per upstream, one background task probes its healthy targets every
//! `healthy.interval` seconds and another its unhealthy ones every `unhealthy.interval`, at most
//! `concurrency` probes at a time, each bounded by `timeout`.
//!
//! The tasks follow the installed configuration: an upstream whose checks or targets changed gets new tasks,
//! one that went away (or turned its intervals to 0) has its tasks aborted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{MissedTickBehavior, timeout};
use tokio_rustls::TlsConnector;
use uuid::Uuid;

use super::{Observation, Rules, TargetHealth};
use crate::balancer::{Balancer, Peer};
use crate::model::entities::healthchecks::Active;
use crate::tls::TlsError;
use crate::tls::client::{Verification, client_config};

/// The active checks running on this node, by upstream.
#[derive(Debug, Default)]
pub(super) struct Checks {
    running: HashMap<Uuid, Running>,
}

impl Checks {
    /// Keeps the tasks of upstreams whose checks and targets are unchanged, restarts the others, and stops
    /// those of upstreams no longer listed.
    pub(super) fn follow(&mut self, balancers: &[&Arc<Balancer>]) {
        let mut next = HashMap::new();
        for &balancer in balancers {
            if !balancer.upstream.healthchecks.active_enabled() || balancer.members().is_empty() {
                continue;
            }
            let id = balancer.upstream.id;
            let running = match self.running.remove(&id) {
                Some(running) if same_checks(&running.balancer, balancer) => Some(running),
                _ => Running::start(balancer.clone()),
            };
            if let Some(running) = running {
                next.insert(id, running);
            }
        }
        // Whatever is left behind is dropped, which aborts its tasks.
        self.running = next;
    }
}

fn same_checks(a: &Balancer, b: &Balancer) -> bool {
    a.upstream == b.upstream
        && a.members().len() == b.members().len()
        && a.members()
            .iter()
            .zip(b.members())
            .all(|(x, y)| x.peer == y.peer && x.weight == y.weight && Arc::ptr_eq(&x.health, &y.health))
}

/// The probe tasks of one upstream; dropping it stops them.
#[derive(Debug)]
struct Running {
    balancer: Arc<Balancer>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Running {
    fn start(balancer: Arc<Balancer>) -> Option<Running> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(upstream = %balancer.upstream.name, "[healthchecks] no runtime to run active checks on");
            return None;
        };
        let active = &balancer.upstream.healthchecks.active;
        let probe = match Probe::new(active, balancer.upstream.host_header.clone()) {
            Ok(probe) => Arc::new(probe),
            Err(error) => {
                tracing::error!(upstream = %balancer.upstream.name, %error, "[healthchecks] active checks not started");
                return None;
            }
        };
        let mut tasks = Vec::new();
        for (wants_healthy, interval) in [(true, active.healthy.interval), (false, active.unhealthy.interval)] {
            if let Ok(every) = Duration::try_from_secs_f64(interval)
                && !every.is_zero()
            {
                let task = rounds(balancer.clone(), probe.clone(), wants_healthy, every);
                tasks.push(runtime.spawn(task).abort_handle());
            }
        }
        Some(Running { balancer, tasks })
    }
}

/// Every `every`, probes the targets whose health is `wants_healthy`.
async fn rounds(balancer: Arc<Balancer>, probe: Arc<Probe>, wants_healthy: bool, every: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut probes = JoinSet::new();
        for member in balancer.members().iter().filter(|m| m.health.is_healthy() == wants_healthy) {
            while probes.len() >= probe.concurrency {
                probes.join_next().await;
            }
            let (probe, peer, health) = (probe.clone(), member.peer.clone(), member.health.clone());
            probes.spawn(async move { probe.run(&peer, &health).await });
        }
        while probes.join_next().await.is_some() {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Http,
    Https,
}

/// One upstream's probe, compiled from `healthchecks.active`.
struct Probe {
    kind: Kind,
    timeout: Duration,
    concurrency: usize,
    /// `http_path`.
    path: String,
    host_header: Option<String>,
    sni: Option<String>,
    tls: Option<TlsConnector>,
    rules: Rules,
}

impl Probe {
    fn new(active: &Active, host_header: Option<String>) -> Result<Probe, TlsError> {
        // gRPC services are probed as HTTP/1 services would be: a status line answers either way.
        let kind = match active.kind.as_str() {
            "tcp" => Kind::Tcp,
            "https" | "grpcs" => Kind::Https,
            _ => Kind::Http,
        };
        let tls = match kind {
            Kind::Https => {
                let verification =
                    if active.https_verify_certificate { Verification::PublicRoots } else { Verification::Off };
                Some(TlsConnector::from(Arc::new(client_config(&verification, None)?)))
            }
            _ => None,
        };
        Ok(Probe {
            kind,
            timeout: Duration::try_from_secs_f64(active.timeout).unwrap_or(Duration::from_secs(1)),
            concurrency: usize::try_from(active.concurrency).unwrap_or(usize::MAX).max(1),
            path: active.http_path.clone(),
            host_header,
            sni: active.https_sni.clone(),
            tls,
            rules: Rules::active(active),
        })
    }

    async fn run(&self, peer: &Peer, health: &TargetHealth) {
        if let Some(observation) = self.check(peer).await {
            health.observe(observation, &self.rules.limits, "active");
        }
    }

    /// What one probe shows; `None` when the status is in neither list.
    async fn check(&self, peer: &Peer) -> Option<Observation> {
        let stream = match timeout(self.timeout, TcpStream::connect((peer.host.as_str(), peer.port))).await {
            Err(_) => return Some(Observation::Timeout),
            Ok(Err(_)) => return Some(Observation::TcpFailure),
            Ok(Ok(stream)) => stream,
        };
        match (self.kind, &self.tls) {
            (Kind::Tcp, _) => Some(Observation::Success),
            (Kind::Https, Some(tls)) => {
                let name = self.sni.clone().unwrap_or_else(|| peer.host.clone());
                let Ok(name) = ServerName::try_from(name) else { return Some(Observation::TcpFailure) };
                match timeout(self.timeout, tls.connect(name, stream)).await {
                    Err(_) => Some(Observation::Timeout),
                    Ok(Err(_)) => Some(Observation::TcpFailure),
                    Ok(Ok(stream)) => self.exchange(stream, peer).await,
                }
            }
            _ => self.exchange(stream, peer).await,
        }
    }

    /// `GET <http_path>` and the status of the answer.
    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(&self, mut stream: S, peer: &Peer) -> Option<Observation> {
        let host = match &self.host_header {
            Some(host) => host.clone(),
            None if peer.host.contains(':') => format!("[{}]", peer.host),
            None => peer.host.clone(),
        };
        let request = format!(
            "GET {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: gatehouse/{} (health check)\r\nConnection: close\r\n\r\n",
            self.path,
            crate::VERSION
        );
        let exchange = async {
            stream.write_all(request.as_bytes()).await?;
            read_status(&mut stream).await
        };
        match timeout(self.timeout, exchange).await {
            Err(_) => Some(Observation::Timeout),
            Ok(Err(_)) => Some(Observation::TcpFailure),
            // An answer that is not HTTP counts as an HTTP failure, as Kong's checker has it.
            Ok(Ok(None)) => Some(Observation::HttpFailure),
            Ok(Ok(Some(status))) => self.rules.judge(status),
        }
    }
}

/// The status of the first line the peer sends; `None` when that is no HTTP status line.
async fn read_status<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<u16>> {
    let mut buffer = [0u8; 512];
    let mut len = 0;
    loop {
        if let Some(end) = buffer[..len].windows(2).position(|w| w == b"\r\n") {
            return Ok(status_of(&buffer[..end]));
        }
        if len == buffer.len() {
            return Ok(None);
        }
        let read = stream.read(&mut buffer[len..]).await?;
        if read == 0 {
            return Ok(status_of(&buffer[..len]));
        }
        len += read;
    }
}

fn status_of(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_ascii_whitespace();
    parts.next().filter(|version| version.starts_with("HTTP/"))?;
    parts.next()?.parse().ok().filter(|status| (100..1000).contains(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entities::healthchecks::Healthchecks;
    use tokio::net::TcpListener;

    fn probe(kind: &str, edit: impl FnOnce(&mut Active)) -> Probe {
        let mut active = Healthchecks::default().active;
        active.kind = kind.into();
        active.timeout = 0.5;
        edit(&mut active);
        Probe::new(&active, None).unwrap()
    }

    /// A server that answers every connection with `reply` after reading the request head.
    async fn answering(reply: &'static str) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(reply.as_bytes()).await;
            }
        });
        Peer { host: "127.0.0.1".into(), port }
    }

    fn closed_port() -> Peer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Peer { host: "127.0.0.1".into(), port }
    }

    #[tokio::test]
    async fn http_probes_judge_the_status_by_the_active_lists() {
        let http = probe("http", |_| {});
        assert_eq!(http.check(&answering("HTTP/1.1 200 OK\r\n\r\n").await).await, Some(Observation::Success));
        assert_eq!(http.check(&answering("HTTP/1.0 503 Busy\r\n\r\n").await).await, Some(Observation::HttpFailure));
        assert_eq!(http.check(&answering("HTTP/1.1 201 Created\r\n\r\n").await).await, None, "in neither list");
        assert_eq!(http.check(&answering("garbage\r\n").await).await, Some(Observation::HttpFailure));
        assert_eq!(http.check(&closed_port()).await, Some(Observation::TcpFailure));
    }

    #[tokio::test]
    async fn a_silent_target_is_a_timeout_and_tcp_probes_only_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = Peer { host: "127.0.0.1".into(), port: listener.local_addr().unwrap().port() };
        let http = probe("http", |a| a.timeout = 0.1);
        assert_eq!(http.check(&silent).await, Some(Observation::Timeout));
        let tcp = probe("tcp", |_| {});
        assert_eq!(tcp.check(&silent).await, Some(Observation::Success));
        assert_eq!(tcp.check(&closed_port()).await, Some(Observation::TcpFailure));
        drop(listener);
    }

    #[test]
    fn status_lines_are_parsed_strictly() {
        assert_eq!(status_of(b"HTTP/1.1 302 Found"), Some(302));
        assert_eq!(status_of(b"HTTP/1.1 99 Low"), None);
        assert_eq!(status_of(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(status_of(b""), None);
    }
}
