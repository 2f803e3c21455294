//! `gatehouse start`: opens the store, binds every listener (all or nothing), serves the proxy listeners on
//! the proxy workers (`workers`) and the others on the calling runtime, keeps the proxy's snapshot in step with the configuration version, and shuts down gracefully on
//! SIGINT or SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proxy::gateway::{Gateway, GatewaySettings};
use proxy::health::HealthRegistry;
use proxy::listener::{ListenSpec, ListenerStats, ServeOptions, WithConnInfo, WithHyper, serve, stopped};
use proxy::model::EntityKind;
use proxy::model::entities::consumer::Consumer;
use proxy::model::entities::route::Route;
use proxy::model::entities::service::Service;
use proxy::model::entities::target::Target;
use proxy::model::entities::upstream::Upstream;
use proxy::oxd::{Oxd, RemoteOxds, RpKey};
use proxy::plugins::{PluginConfig, PluginServices};
use proxy::snapshot::{AclGroup, Configuration, Snapshot};
use proxy::tls::{
    CertifiedKey, SniResolver, TlsAcceptor, TlsError, acceptor, from_pem_text, signing, sni_server_config,
};
use proxy::trusted::TrustedIps;
use proxy::upstream::{CertificateStore, Keepalive, StoredCertificate};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Config, ConfigError};
use crate::node::Node;
use crate::oxd_api::CallerAllowList;
use crate::secrets::SecretBox;
use crate::store::{DatabaseExpiring, DatabaseSites, Store, StoreError};
use crate::{admin_api, admin_gui, oxd_api};

mod workers;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up TLS for the {listener} listener: {source}")]
    Tls { listener: &'static str, source: TlsError },
    #[error(transparent)]
    Bind(Box<BindError>),
    #[error("invalid oxd_bind_ip_addresses: {0}")]
    OxdAllowList(String),
    #[error("cannot set up the oxd module: {0}")]
    Oxd(String),
    #[error("cannot install the signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("cannot start the proxy workers: {0}")]
    Workers(std::io::Error),
}

/// A listener address that cannot be bound, with the setting to change.
#[derive(Debug, thiserror::Error)]
#[error(
    "the {listener} listener cannot listen on {addr}: {reason}{hint}; change '{key}' in the configuration \
     (or set GATEHOUSE_{upper_key})"
)]
pub struct BindError {
    listener: &'static str,
    key: &'static str,
    upper_key: String,
    addr: SocketAddr,
    reason: String,
    hint: &'static str,
}

/// The four kinds of listener, each with its setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    AdminGui,
    Oxd,
    Proxy,
}

impl Role {
    fn from_key(key: &str) -> Role {
        match key {
            "admin_listen" => Role::Admin,
            "admin_gui_listen" => Role::AdminGui,
            "oxd_listen" => Role::Oxd,
            _ => Role::Proxy,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Admin => "Admin API",
            Role::AdminGui => "admin UI",
            Role::Oxd => "oxd API",
            Role::Proxy => "proxy",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin_listen",
            Role::AdminGui => "admin_gui_listen",
            Role::Oxd => "oxd_listen",
            Role::Proxy => "proxy_listen",
        }
    }
}

struct Bound {
    role: Role,
    spec: ListenSpec,
    listener: TcpListener,
}

/// Runs Gatehouse until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartError> {
    let (stop, stopped) = watch::channel(false);
    let mut signals = Signals::install().map_err(StartError::Signals)?;
    let running = start(config, stopped).await?;
    signals.recv().await;
    tracing::info!("shutting down: no new connections, waiting for in-flight requests");
    let _ = stop.send(true);
    running.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// A started node: its listener tasks and the node state.
pub struct Running {
    pub node: Arc<Node>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Waits until every listener has drained (each bounded by `shutdown_timeout`).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Opens the store, binds every listener and starts serving; returns once all listeners accept connections.
pub async fn start(config: Config, shutdown: watch::Receiver<bool>) -> Result<Running, StartError> {
    config.validate()?;
    let store = Arc::new(Store::open(&config).await?);
    let mut bound = Vec::new();
    for (key, _) in config.listen_settings() {
        let role = Role::from_key(key);
        for spec in config.listeners(key)? {
            bound.push(bind(role, spec).await?);
        }
    }
    let tls_error = |source| StartError::Tls { listener: "ssl", source };
    let default_certificate = if bound.iter().any(|b| b.spec.ssl) { Some(default_certificate(&config)?) } else { None };
    let tls = default_certificate.as_ref().map(acceptor).transpose().map_err(tls_error)?;
    // The proxy's TLS listeners choose certificates by SNI from the store; the others use the default one.
    let sni = default_certificate.as_ref().map(SniResolver::new).transpose().map_err(tls_error)?.map(Arc::new);
    if let Some(resolver) = &sni {
        resolver.install(load_certificates(&store).await);
    }
    let proxy_tls = sni.clone().map(sni_server_config).transpose().map_err(tls_error)?.map(TlsAcceptor::from);
    let allow_list = Arc::new(CallerAllowList::parse(&config.oxd_bind_ip_addresses).map_err(StartError::OxdAllowList)?);
    let head_limits = config.head_limits()?;
    let options = ServeOptions {
        shutdown_grace: Duration::from_secs(config.shutdown_timeout),
        header_read_timeout: config.client_header_timeout()?,
        head_limits,
        ..ServeOptions::default()
    };

    let secrets = store.secrets().expect("a store opened from the configuration has the secrets key");
    let (oxd, remote_oxd) = oxd_module(&config, &store, secrets).await?;
    let mut node = Node::new(config, store.clone());
    node.plugin_services.oxd = Some(oxd.clone());
    node.plugin_services.remote_oxd = Some(remote_oxd);
    node.plugin_services.local_oxd_urls = local_oxd_urls(&bound);
    node.oxd = Some(oxd);
    let node = Arc::new(node);
    let settings = GatewaySettings {
        headers: node.headers,
        trusted_ips: TrustedIps::parse(&node.config.trusted_ips)
            .map_err(|m| StartError::Config(ConfigError::Invalid(format!("trusted_ips: {m}"))))?,
        error_default_type: node.config.error_default_type.clone(),
        head_limits,
        keepalive: Keepalive {
            pool_size: usize::try_from(node.config.upstream_keepalive_pool_size).unwrap_or(usize::MAX),
            max_requests: node.config.upstream_keepalive_max_requests,
            idle_timeout: Duration::from_secs(node.config.upstream_keepalive_idle_timeout),
        },
    };
    let initial = build_snapshot(&store, &node.plugin_services, &node.health, node.config.proxy_ssl_verify)
        .await
        .map_err(|m| StartError::Config(ConfigError::Invalid(m)))?;
    node.health.follow(initial.balancers.values());
    let gateway = Gateway::new(initial, settings);
    let admin = admin_api::service(node.clone());
    let gui = admin_gui::router(node.clone()).await;
    let oxd = oxd_api::router(allow_list, node.config.oxd_api_settings(), node.oxd.clone());

    let mut tasks = JoinSet::new();
    tasks.spawn(follow_configuration(node.clone(), gateway.clone(), sni, shutdown.clone()));
    let mut proxy_listeners = Vec::new();
    for Bound { role, spec, listener } in bound {
        let acceptor = match (spec.ssl, role) {
            (false, _) => None,
            (true, Role::Proxy) => proxy_tls.clone(),
            (true, _) => tls.clone(),
        };
        tracing::info!(listener = role.name(), address = %spec, "listening");
        let shutdown = shutdown.clone();
        let options = options.clone();
        match role {
            Role::Proxy => proxy_listeners.push(workers::ProxyListener { spec, listener, tls: acceptor }),
            Role::Admin => {
                let admin = admin.clone();
                tasks.spawn(serve(
                    listener,
                    acceptor,
                    WithHyper(move |conn| WithConnInfo::new(admin.clone(), conn)),
                    stats(),
                    shutdown,
                    options,
                ));
            }
            Role::AdminGui => {
                let gui = gui.clone();
                tasks.spawn(serve(
                    listener,
                    acceptor,
                    WithHyper(move |conn| WithConnInfo::new(gui.clone(), conn)),
                    stats(),
                    shutdown,
                    options,
                ));
            }
            Role::Oxd => {
                let oxd = oxd.clone();
                tasks.spawn(serve(
                    listener,
                    acceptor,
                    WithHyper(move |conn| WithConnInfo::new(oxd.clone(), conn)),
                    stats(),
                    shutdown,
                    options,
                ));
            }
        }
    }
    if !proxy_listeners.is_empty() {
        let count = node.config.proxy_workers()?;
        let serving = workers::Serving { gateway, stats: node.proxy_stats.clone(), shutdown, options };
        tasks.spawn(workers::start(count, proxy_listeners, serving).map_err(StartError::Workers)?);
        tracing::info!(workers = count, "proxy workers started");
    }
    tracing::info!(node_id = %node.id, version = proxy::VERSION, database = node.config.database.as_str(), "Gatehouse started");
    Ok(Running { node, tasks })
}

/// The embedded oxd module over the store (with the cluster's RP signing key when `oxd_enable_jwks_generation`),
/// and the client of remote oxd servers, both with the configuration's oxd settings.
async fn oxd_module(
    config: &Config,
    store: &Arc<Store>,
    secrets: Arc<SecretBox>,
) -> Result<(Arc<Oxd>, Arc<RemoteOxds>), StartError> {
    let settings = config.oxd_settings()?;
    let sites = Arc::new(DatabaseSites::new(store.clone(), secrets.clone()));
    let expiring = Arc::new(DatabaseExpiring::new(store.clone(), secrets));
    let mut oxd = Oxd::new(settings.clone(), sites.clone(), expiring).map_err(StartError::Oxd)?;
    if config.oxd_enable_jwks_generation {
        let stored =
            sites.rp_signing_key(&RpKey::generate().map_err(StartError::Oxd)?).await.map_err(StartError::Oxd)?;
        oxd = oxd.with_rp_key(RpKey::from_pkcs8(&stored).map_err(StartError::Oxd)?);
    }
    let remote = RemoteOxds::new(&settings).map_err(StartError::Oxd)?;
    Ok((Arc::new(oxd), Arc::new(remote)))
}

/// The URLs under which plugins reach this node's oxd module (`gluu-plugins.md` §3.2): each oxd listener's
/// address, and `localhost` for loopback ones.
fn local_oxd_urls(bound: &[Bound]) -> Vec<String> {
    let mut urls = Vec::new();
    for Bound { spec, .. } in bound.iter().filter(|b| b.role == Role::Oxd) {
        let scheme = if spec.ssl { "https" } else { "http" };
        let port = spec.addr.port();
        let ip = spec.addr.ip();
        urls.push(match ip {
            std::net::IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}"),
            v4 => format!("{scheme}://{v4}:{port}"),
        });
        if ip.is_loopback() || ip.is_unspecified() {
            urls.push(format!("{scheme}://localhost:{port}"));
            urls.push(format!("{scheme}://127.0.0.1:{port}"));
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

fn stats() -> Arc<ListenerStats> {
    Arc::new(ListenerStats::default())
}

/// Rebuilds the proxy snapshot whenever the configuration version changes. A configuration that does not
/// compile leaves the previous snapshot serving and is reported in the log and `GET /status`.
async fn follow_configuration(
    node: Arc<Node>,
    gateway: Gateway,
    sni: Option<Arc<SniResolver>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut versions = node.store.subscribe();
    let mut dns = tokio::time::interval_at(tokio::time::Instant::now() + TARGET_DNS_REFRESH, TARGET_DNS_REFRESH);
    dns.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => {
                node.health.stop();
                return;
            }
            _ = dns.tick() => {
                // Target host names that now resolve differently rebuild the snapshot (and its balancers).
                let Ok(targets) = typed::<Target>(&node.store, EntityKind::Targets).await else { continue };
                if resolve_target_names(&targets).await == gateway.snapshot().resolved {
                    continue;
                }
                tracing::info!("target host names resolve to other addresses now; rebuilding the balancers");
                let verify = node.config.proxy_ssl_verify;
                if let Ok(snapshot) = build_snapshot(&node.store, &node.plugin_services, &node.health, verify).await {
                    node.health.follow(snapshot.balancers.values());
                    gateway.install(snapshot);
                }
            }
            changed = versions.changed() => {
                if changed.is_err() {
                    node.health.stop();
                    return;
                }
                versions.borrow_and_update();
                if let Some(resolver) = &sni {
                    resolver.install(load_certificates(&node.store).await);
                }
                let verify = node.config.proxy_ssl_verify;
                match build_snapshot(&node.store, &node.plugin_services, &node.health, verify).await {
                    Ok(snapshot) => {
                        tracing::debug!(version = snapshot.config_version, "proxy snapshot installed");
                        node.health.follow(snapshot.balancers.values());
                        gateway.install(snapshot);
                        node.set_snapshot_error(None);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the new configuration does not compile; the previous one keeps serving");
                        node.set_snapshot_error(Some(error));
                    }
                }
            }
        }
    }
}

/// The stored certificates by SNI name, as the proxy's TLS listeners serve them. A certificate that does not
/// load is logged and left out; its names get the default certificate.
async fn load_certificates(store: &Store) -> HashMap<String, Arc<rustls::sign::CertifiedKey>> {
    let mut by_name = HashMap::new();
    let (Ok(certificates), Ok(snis)) = (store.all(EntityKind::Certificates).await, store.all(EntityKind::Snis).await)
    else {
        tracing::error!("cannot read certificates from the store; SNI selection keeps its previous state");
        return by_name;
    };
    let mut keys = HashMap::new();
    for certificate in certificates {
        let (cert, key) =
            (certificate.doc["cert"].as_str().unwrap_or_default(), certificate.doc["key"].as_str().unwrap_or_default());
        match from_pem_text(cert, key).and_then(|c| signing(&c)) {
            Ok(signing_key) => {
                keys.insert(certificate.id, signing_key);
            }
            Err(error) => {
                tracing::error!(certificate = %certificate.id, %error, "certificate left out of SNI selection")
            }
        }
    }
    for sni in snis {
        let certificate = sni.doc["certificate"]["id"].as_str().and_then(|id| uuid::Uuid::parse_str(id).ok());
        if let (Some(name), Some(key)) = (sni.doc["name"].as_str(), certificate.and_then(|id| keys.get(&id))) {
            by_name.insert(name.to_ascii_lowercase(), key.clone());
        }
    }
    by_name
}

/// The PEM texts of `certificates` and `ca_certificates`, for services' upstream TLS.
async fn certificate_store(store: &Store) -> Result<CertificateStore, String> {
    let mut certificates = CertificateStore::default();
    for entity in store.all(EntityKind::Certificates).await.map_err(|e| e.to_string())? {
        let text = |field: &str| entity.doc[field].as_str().unwrap_or_default().to_string();
        certificates.certificates.insert(entity.id, StoredCertificate { cert: text("cert"), key: text("key") });
    }
    for entity in store.all(EntityKind::CaCertificates).await.map_err(|e| e.to_string())? {
        certificates.ca_certificates.insert(entity.id, entity.doc["cert"].as_str().unwrap_or_default().to_string());
    }
    Ok(certificates)
}

/// Every stored entity of `kind`, typed.
async fn typed<T: serde::de::DeserializeOwned>(store: &Store, kind: EntityKind) -> Result<Vec<T>, String> {
    store
        .all(kind)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|entity| serde_json::from_value(entity.doc).map_err(|e| format!("{kind} {}: {e}", entity.id)))
        .collect()
}

/// Compiles the stored configuration into a snapshot. Routes of disabled services are left out.
pub async fn build_snapshot(
    store: &Store,
    plugin_services: &PluginServices,
    health: &HealthRegistry,
    proxy_ssl_verify: bool,
) -> Result<Snapshot, String> {
    let version = store.config_version();
    let mut services = Vec::new();
    for entity in store.all(EntityKind::Services).await.map_err(|e| e.to_string())? {
        let service: Service = serde_json::from_value(entity.doc).map_err(|e| format!("service {}: {e}", entity.id))?;
        if service.enabled {
            services.push(service);
        }
    }
    let mut routes = Vec::new();
    for entity in store.all(EntityKind::Routes).await.map_err(|e| e.to_string())? {
        let route: Route = serde_json::from_value(entity.doc).map_err(|e| format!("route {}: {e}", entity.id))?;
        let disabled = route.service.is_some_and(|s| !services.iter().any(|service| service.id == s.id));
        if !disabled {
            routes.push(route);
        }
    }
    let upstreams: Vec<Upstream> = typed(store, EntityKind::Upstreams).await?;
    let targets: Vec<Target> = typed(store, EntityKind::Targets).await?;
    let plugins: Vec<PluginConfig> = typed(store, EntityKind::Plugins).await?;
    let consumers: Vec<Consumer> = typed(store, EntityKind::Consumers).await?;
    let acls: Vec<AclGroup> = typed(store, EntityKind::Acls).await?;
    let certificates = certificate_store(store).await?;
    let resolved = resolve_target_names(&targets).await;
    let configuration = Configuration {
        version,
        routes,
        services,
        upstreams,
        targets,
        plugins,
        consumers,
        acls,
        certificates,
        proxy_ssl_verify,
        resolved,
    };
    Snapshot::build(configuration, plugin_services, health).map_err(|e| e.to_string())
}

/// How often the addresses of target host names are looked up again while a snapshot serves. The system
/// resolver does not report TTLs, so this stands in for them (Kong honours each record's TTL).
const TARGET_DNS_REFRESH: Duration = Duration::from_secs(30);

/// The addresses each target host name resolves to now (A and AAAA through the system resolver, 2 s at most
/// each); a name that does not resolve is left out, and its requests get `503 name resolution failed`.
async fn resolve_target_names(targets: &[Target]) -> proxy::balancer::Resolved {
    let names = proxy::balancer::target_host_names(targets);
    let lookups = names.into_iter().map(|name| async move {
        let lookup = tokio::net::lookup_host((name.clone(), 0));
        let mut addresses: Vec<std::net::IpAddr> = match tokio::time::timeout(Duration::from_secs(2), lookup).await {
            Ok(Ok(found)) => found.map(|address| address.ip()).collect(),
            _ => Vec::new(),
        };
        addresses.sort();
        addresses.dedup();
        (name, addresses)
    });
    futures_util::future::join_all(lookups).await.into_iter().filter(|(_, addresses)| !addresses.is_empty()).collect()
}

async fn bind(role: Role, spec: ListenSpec) -> Result<Bound, StartError> {
    match workers::listen(spec.addr, spec.reuseport && role == Role::Proxy) {
        Ok(listener) => {
            // Port 0 asks the system for a free port; report and serve the real one.
            let addr = listener.local_addr().unwrap_or(spec.addr);
            Ok(Bound { role, spec: ListenSpec { addr, ..spec }, listener })
        }
        Err(error) => {
            let hint = match error.kind() {
                std::io::ErrorKind::PermissionDenied if spec.addr.port() < 1024 => {
                    " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
                }
                std::io::ErrorKind::AddrInUse => " (another process already uses this port)",
                _ => "",
            };
            Err(StartError::Bind(Box::new(BindError {
                listener: role.name(),
                key: role.key(),
                upper_key: role.key().to_ascii_uppercase(),
                addr: spec.addr,
                reason: io_reason(&error),
                hint,
            })))
        }
    }
}

/// The OS's description of an I/O error without Rust's "(os error N)" suffix.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The default certificate: `ssl_cert`/`ssl_cert_key`, or the self-signed one kept in the prefix.
fn default_certificate(config: &Config) -> Result<CertifiedKey, StartError> {
    let tls_error = |source| StartError::Tls { listener: "ssl", source };
    if config.ssl_cert.is_empty() {
        let mut names = vec!["localhost".to_string()];
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        if !hostname.is_empty() && hostname != "localhost" {
            names.push(hostname);
        }
        CertifiedKey::load_or_generate_default(&config.ssl_dir(), &names).map_err(tls_error)
    } else {
        CertifiedKey::from_pem_files(config.ssl_cert.as_ref(), config.ssl_cert_key.as_ref()).map_err(tls_error)
    }
}

/// SIGINT and SIGTERM, whichever comes first.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!("received SIGINT"),
            _ = self.terminate.recv() => tracing::info!("received SIGTERM"),
        }
    }
}
