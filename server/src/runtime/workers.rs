//! Proxy workers, the shape of nginx's worker processes: `nginx_worker_processes` threads that each run a
//! single-threaded tokio runtime with an upstream pool of its own and accept from every proxy listener (one
//! socket shared by all workers, or with the `reuseport` flag one `SO_REUSEPORT` socket per worker). A
//! connection is served start to end on the thread that accepted it: no work stealing, no cross-thread
//! wake-ups, no pool shared between threads. The control plane (Admin API, oxd API, admin UI, snapshot
//! rebuilds, health checks) stays on the main runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use proxy::gateway::Gateway;
use proxy::gateway::GatewayConnections;
use proxy::listener::{ListenSpec, ListenerStats, ServeOptions, serve};
use proxy::tls::TlsAcceptor;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{oneshot, watch};

/// One proxy listener as bound at start.
pub(super) struct ProxyListener {
    pub spec: ListenSpec,
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
}

/// What every worker serves.
pub(super) struct Serving {
    pub gateway: Gateway,
    pub stats: Arc<ListenerStats>,
    pub shutdown: watch::Receiver<bool>,
    pub options: ServeOptions,
}

/// Starts `workers` threads serving `listeners`; the future resolves when every worker has drained after
/// `shutdown` (or has stopped otherwise).
pub(super) fn start(
    workers: usize,
    listeners: Vec<ProxyListener>,
    serving: Serving,
) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    // Each worker's sockets, deregistered from this runtime so the worker's own runtime can take them.
    let mut sockets: Vec<Vec<(std::net::TcpListener, Option<TlsAcceptor>)>> =
        (0..workers).map(|_| Vec::new()).collect();
    for ProxyListener { spec, listener, tls } in listeners {
        let first = listener.into_std()?;
        for others in sockets.iter_mut().skip(1) {
            let socket = if spec.reuseport { bind_reuseport(spec.addr)?.into_std()? } else { first.try_clone()? };
            others.push((socket, tls.clone()));
        }
        sockets[0].push((first, tls));
    }
    let mut done = Vec::with_capacity(workers);
    for (index, sockets) in sockets.into_iter().enumerate() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (finished, finished_rx) = oneshot::channel::<()>();
        let gateway = serving.gateway.with_own_pool();
        let (stats, shutdown, options) = (serving.stats.clone(), serving.shutdown.clone(), serving.options.clone());
        std::thread::Builder::new().name(format!("proxy-worker-{index}")).spawn(move || {
            runtime.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (socket, tls) in sockets {
                    let listener = match TcpListener::from_std(socket) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!(%error, worker = index, "a proxy worker cannot take its listening socket");
                            continue;
                        }
                    };
                    let connections = GatewayConnections(gateway.clone());
                    tasks.spawn(serve(listener, tls, connections, stats.clone(), shutdown.clone(), options.clone()));
                }
                while tasks.join_next().await.is_some() {}
            });
            drop(runtime);
            let _ = finished.send(());
        })?;
        done.push(finished_rx);
    }
    Ok(async move {
        for worker in done {
            let _ = worker.await;
        }
    })
}

/// A listening socket on `addr` that other sockets may share with `SO_REUSEPORT`.
pub(super) fn bind_reuseport(addr: SocketAddr) -> std::io::Result<TcpListener> {
    listen(addr, true)
}

/// A listening socket as `TcpListener::bind` makes it (`SO_REUSEADDR`, backlog 1024), with `SO_REUSEPORT`
/// when asked.
pub(super) fn listen(addr: SocketAddr, reuseport: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    if reuseport {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}
