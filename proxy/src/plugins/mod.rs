//! The plugin chain (`proxy.md` §11): the handlers of the shipped plugins, the per-snapshot index of plugin
//! configurations with Kong's scoping precedence, and the phases a request goes through.
//!
//! A [`PluginSet`] is compiled with the snapshot: every stored plugin configuration becomes an [`Instance`]
//! holding its handler with all compiled state (regexes, templates, counters' keys), built once. A request
//! resolves, plugin name by plugin name in priority order, the most specific enabled configuration for the
//! route, service and consumer known at that moment, so a consumer set by an authentication plugin selects
//! consumer-scoped configurations of the plugins after it.

mod acl;
mod context;
mod cors;
pub mod custom_headers;
pub mod exclusive;
pub mod gluu_metrics;
pub mod gluu_oauth_auth;
mod gluu_oauth_pep;
mod ip_restriction;
pub mod rate_limiting;
mod request_transformer;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::config_hash::ConfigMap;
use crate::errors::{GatewayBody, json_exit};
use crate::model::plugins::{self as defs, PluginDef};

pub use context::{AddedHeaders, BearerToken, Credential, GluuFlags, Protocol, RequestCtx, ResponseSummary};
pub use rate_limiting::{ClusterCounters, CounterKey};

/// What a request phase decided: go on, or answer the client now.
pub enum Flow {
    Continue,
    Respond(Response<GatewayBody>),
}

/// The outcome of `access`: decided at once (no allocation), or after awaiting something (a store, the OP).
pub enum Access<'a> {
    Done(Flow),
    Later(Pin<Box<dyn Future<Output = Flow> + Send + 'a>>),
}

/// One plugin's behaviour in each phase. Every method has a do-nothing default.
pub trait Plugin: Send + Sync + 'static {
    /// Before routing; only global configurations run it.
    fn rewrite(&self, _cx: &mut RequestCtx) -> Flow {
        Flow::Continue
    }
    /// After routing, before the upstream call; may answer the client instead.
    fn access<'a>(&'a self, _cx: &'a mut RequestCtx) -> Access<'a> {
        Access::Done(Flow::Continue)
    }
    /// Whether `access` reads the request's header map: before it runs, headers an earlier plugin added
    /// ([`RequestCtx::added_headers`]) are put into the map. A plugin that only reads the method, the URI and
    /// the context says `false`.
    fn reads_request_headers(&self) -> bool {
        true
    }
    /// The response head, before it is sent (also for responses the gateway or a plugin made).
    fn header_filter(&self, _cx: &mut RequestCtx, _response: &mut http::response::Parts) {}
    /// Whether [`Plugin::body_filter`] must see the response body.
    fn filters_body(&self) -> bool {
        false
    }
    /// Each chunk of the response body; `eof` on the last call.
    fn body_filter(&self, _cx: &mut RequestCtx, _chunk: &mut Bytes, _eof: bool) {}
    /// After the last byte was sent (or the client went away); cannot change the response.
    fn log(&self, _cx: &RequestCtx, _summary: &ResponseSummary) {}
    /// Whether `rewrite` or `access` may set or remove the request's `Host` or `X-Forwarded-For`. Unless a
    /// plugin that ran may have, the gateway takes both as the client sent them (and the head parser noted
    /// whether there is an `X-Forwarded-For`) without looking them up again. A plugin that sets or removes only
    /// other request headers says `false`.
    fn writes_forwarding_headers(&self) -> bool {
        true
    }
    /// Whether `header_filter`, `body_filter` or `log` does anything, so the request context must outlive the
    /// upstream call. A plugin that only acts before it says `false`; when every plugin of a request does, the
    /// response goes back as the upstream sent it and the context is dropped at once.
    fn response_phases(&self) -> bool {
        true
    }
}

/// Whether any of the request's plugins runs a response phase (an invalid configuration runs none).
pub(crate) fn any_response_phases(selected: &[Arc<Instance>]) -> bool {
    selected.iter().any(|instance| instance.handler().is_ok_and(|handler| handler.response_phases()))
}

/// Whether any plugin that ran for the request may have set `Host` or `X-Forwarded-For` (an invalid
/// configuration answers the request, so it counts as not).
pub(crate) fn any_writes_forwarding_headers(selected: &[Arc<Instance>]) -> bool {
    selected.iter().any(|instance| instance.handler().is_ok_and(|handler| handler.writes_forwarding_headers()))
}

/// One stored plugin configuration, compiled.
pub struct Instance {
    pub id: Uuid,
    pub def: &'static PluginDef,
    pub route: Option<Uuid>,
    pub service: Option<Uuid>,
    pub consumer: Option<Uuid>,
    protocols: u8,
    /// `Err` when the stored configuration no longer validates: requests that select it fail closed.
    handler: Result<Arc<dyn Plugin>, String>,
}

impl Instance {
    pub fn handler(&self) -> Result<&dyn Plugin, &str> {
        self.handler.as_deref().map_err(String::as_str)
    }

    fn runs_on(&self, protocol: Protocol) -> bool {
        self.protocols & protocol.bit() != 0
    }
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("id", &self.id).field("name", &self.def.name).finish()
    }
}

/// Node-wide resources plugin handlers share across snapshots (counters and caches must survive a reload).
#[derive(Clone)]
pub struct PluginServices {
    pub local_counters: Arc<rate_limiting::LocalCounters>,
    pub redis: Arc<rate_limiting::RedisPools>,
    /// The database counters of `policy = cluster`; `None` when the node runs without one.
    pub cluster: Option<Arc<dyn ClusterCounters>>,
    /// The embedded oxd module the Gluu plugins call in-process.
    pub oxd: Option<Arc<crate::oxd::Oxd>>,
    /// The URLs that name this node's oxd module in a plugin's `oxd_url` (`gluu-plugins.md` §3.2).
    pub local_oxd_urls: Vec<String>,
    /// The other oxd servers plugins may name; `None` when the node has no outbound oxd client.
    pub remote_oxd: Option<Arc<crate::oxd::RemoteOxds>>,
    pub token_cache: Arc<gluu_oauth_auth::TokenCache>,
    pub token_cache_settings: gluu_oauth_auth::TokenCacheSettings,
    /// What gluu-metrics counts, served at the Admin API's `/gluu-metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Default for PluginServices {
    fn default() -> Self {
        let token_cache_settings = gluu_oauth_auth::TokenCacheSettings::default();
        PluginServices {
            local_counters: Arc::default(),
            redis: Arc::default(),
            cluster: None,
            oxd: None,
            local_oxd_urls: Vec::new(),
            remote_oxd: None,
            token_cache: gluu_oauth_auth::token_cache(&token_cache_settings),
            token_cache_settings,
            metrics: Arc::default(),
        }
    }
}

impl PluginServices {
    /// Whether `url` names this node's own oxd module.
    pub fn is_local_oxd(&self, url: &str) -> bool {
        let url = url.trim_end_matches('/').to_ascii_lowercase();
        self.local_oxd_urls.iter().any(|local| local.trim_end_matches('/').eq_ignore_ascii_case(&url))
    }

    /// How a plugin with `oxd_url` reaches oxd: in-process when it names this node, else over HTTP.
    pub fn oxd_client(&self, oxd_url: &str) -> Result<crate::oxd::OxdClient, String> {
        if self.is_local_oxd(oxd_url) {
            let oxd = self.oxd.clone().ok_or("this node runs no oxd module")?;
            return Ok(crate::oxd::OxdClient::Embedded(oxd));
        }
        let remote = self.remote_oxd.as_ref().ok_or("this node cannot reach a remote oxd server")?;
        Ok(crate::oxd::OxdClient::Remote(remote.server(oxd_url)))
    }
}

/// A stored plugin entity, as the snapshot builder reads it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PluginConfig {
    pub id: Uuid,
    pub name: String,
    pub route: Option<crate::model::entities::Reference>,
    pub service: Option<crate::model::entities::Reference>,
    pub consumer: Option<crate::model::entities::Reference>,
    pub config: Value,
    #[serde(default)]
    pub protocols: Vec<String>,
    pub enabled: bool,
}

type ScopeKey = (Option<Uuid>, Option<Uuid>, Option<Uuid>);

/// Which of route, service and consumer a scope names, as bits.
fn shape(key: &ScopeKey) -> u8 {
    u8::from(key.0.is_some()) | u8::from(key.1.is_some()) << 1 | u8::from(key.2.is_some()) << 2
}

/// The configurations of one plugin name, by scope.
struct Named {
    by_scope: ConfigMap<ScopeKey, Arc<Instance>>,
    consumer_scoped: bool,
    /// Bit `shape(key)` is set for each scope shape that has configurations: resolution only looks up
    /// combinations that can exist (a request on a route without configurations of this name hashes nothing).
    shapes: u8,
}

impl Named {
    fn get(&self, key: &ScopeKey) -> Option<&Arc<Instance>> {
        if self.shapes & (1 << shape(key)) == 0 {
            return None;
        }
        self.by_scope.get(key)
    }
}

/// Every enabled plugin configuration of a snapshot, indexed for resolution.
#[derive(Default)]
pub struct PluginSet {
    /// In execution order: priority descending, then name.
    named: Vec<Named>,
    /// By route index ([`PluginSet::plan_routes`]): what the access phase resolves on each route.
    plans: Vec<RoutePlan>,
    /// The plan of a route the set was not planned for: every plugin name resolved as the phase reaches it.
    unplanned: RoutePlan,
}

/// What the access phase resolves for requests on one route (its route and service are fixed once the
/// request is routed), worked out when the snapshot is built so a request does not look scopes up.
#[derive(Default)]
pub struct RoutePlan {
    /// In execution order; plugin names that cannot apply on the route are left out.
    steps: Vec<Step>,
}

pub enum Step {
    /// A plugin name without consumer-scoped configurations: its configurations that apply to the route and
    /// service, most specific first. The first one that runs on the request's protocol applies.
    Fixed(Box<[Arc<Instance>]>),
    /// A plugin name with consumer-scoped configurations (by index in the set): resolved when the phase
    /// reaches it, with the consumer known at that moment.
    Resolved(usize),
}

impl RoutePlan {
    /// No plugin configuration can apply on the route, whoever the consumer turns out to be.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// In execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl Step {
    /// The configuration this plugin name applies to a request on the planned route, with the consumer
    /// known when the phase reaches it.
    pub fn select<'a>(
        &'a self,
        set: &'a PluginSet,
        route: Option<Uuid>,
        service: Option<Uuid>,
        consumer: Option<Uuid>,
        protocol: Protocol,
    ) -> Option<&'a Arc<Instance>> {
        match self {
            Step::Fixed(candidates) => candidates.iter().find(|instance| instance.runs_on(protocol)),
            Step::Resolved(index) => set.resolve(*index, route, service, consumer, protocol),
        }
    }
}

impl PluginSet {
    /// Compiles the configurations. A configuration that fails to compile is kept as a failing instance.
    pub fn build(configs: Vec<PluginConfig>, services: &PluginServices) -> PluginSet {
        let mut by_name: HashMap<&'static str, Named> = HashMap::new();
        for config in configs.into_iter().filter(|c| c.enabled) {
            let Some(def) = defs::find(&config.name) else {
                tracing::error!(plugin = %config.id, name = %config.name, "stored plugin is not shipped; ignored");
                continue;
            };
            let handler = compile(def, &config, services).inspect_err(|error| {
                tracing::error!(plugin = %config.id, name = def.name, %error,
                    "stored plugin configuration is invalid; requests it applies to get 500");
            });
            let instance = Instance {
                id: config.id,
                def,
                route: config.route.map(|r| r.id),
                service: config.service.map(|s| s.id),
                consumer: config.consumer.map(|c| c.id),
                protocols: config.protocols.iter().filter_map(|p| Protocol::parse(p)).fold(0, |m, p| m | p.bit()),
                handler,
            };
            let named = by_name.entry(def.name).or_insert_with(|| Named {
                by_scope: ConfigMap::default(),
                consumer_scoped: false,
                shapes: 0,
            });
            named.consumer_scoped |= instance.consumer.is_some();
            let key = (instance.route, instance.service, instance.consumer);
            named.shapes |= 1 << shape(&key);
            named.by_scope.insert(key, Arc::new(instance));
        }
        let named: Vec<Named> = defs::all().iter().filter_map(|def| by_name.remove(def.name)).collect();
        let unplanned = RoutePlan { steps: (0..named.len()).map(Step::Resolved).collect() };
        PluginSet { named, plans: Vec::new(), unplanned }
    }

    /// Plans the access phase of each route, given as its id and its service's (in router order).
    pub fn plan_routes(&mut self, routes: impl IntoIterator<Item = (Uuid, Option<Uuid>)>) {
        self.plans = routes.into_iter().map(|(route, service)| self.plan(route, service)).collect();
    }

    fn plan(&self, route: Uuid, service: Option<Uuid>) -> RoutePlan {
        let steps = self.named.iter().enumerate().filter_map(|(index, named)| {
            if named.consumer_scoped {
                return Some(Step::Resolved(index));
            }
            // `resolve`'s order without a consumer; a route without a service repeats a scope, harmlessly.
            let scopes =
                [(Some(route), service, None), (Some(route), None, None), (None, service, None), (None, None, None)];
            let candidates: Vec<Arc<Instance>> = scopes.iter().filter_map(|key| named.get(key)).cloned().collect();
            (!candidates.is_empty()).then(|| Step::Fixed(candidates.into()))
        });
        RoutePlan { steps: steps.collect() }
    }

    /// The access-phase plan of the route with this index in the snapshot's router.
    pub fn route_plan(&self, route_index: usize) -> &RoutePlan {
        self.plans.get(route_index).unwrap_or(&self.unplanned)
    }

    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// The global configurations (for `rewrite`, and for requests that matched no route).
    pub fn globals(&self, protocol: Protocol) -> Vec<Arc<Instance>> {
        self.named
            .iter()
            .filter_map(|named| named.get(&(None, None, None)))
            .filter(|instance| instance.runs_on(protocol))
            .cloned()
            .collect()
    }

    /// How many plugin names have configurations; `resolve(i, ..)` takes `i` below this.
    pub fn len(&self) -> usize {
        self.named.len()
    }

    /// The `index`th plugin name.
    pub fn name(&self, index: usize) -> Option<&'static str> {
        self.named.get(index)?.by_scope.values().next().map(|instance| instance.def.name)
    }

    /// The configuration of the `index`th plugin name for this route, service and consumer (§11.3).
    pub fn resolve(
        &self,
        index: usize,
        route: Option<Uuid>,
        service: Option<Uuid>,
        consumer: Option<Uuid>,
        protocol: Protocol,
    ) -> Option<&Arc<Instance>> {
        let named = &self.named[index];
        let consumer = consumer.filter(|_| named.consumer_scoped);
        let combos: [ScopeKey; 8] = [
            (route, service, consumer),
            (route, None, consumer),
            (None, service, consumer),
            (route, service, None),
            (None, None, consumer),
            (route, None, None),
            (None, service, None),
            (None, None, None),
        ];
        // A scope the request lacks turns its combinations into less specific ones, which come later anyway;
        // without a consumer, only four are distinct.
        let distinct: &[usize] = if consumer.is_some() { &[0, 1, 2, 3, 4, 5, 6, 7] } else { &[0, 1, 2, 7] };
        distinct.iter().find_map(|&i| named.get(&combos[i]).filter(|instance| instance.runs_on(protocol)))
    }
}

/// Builds the handler of one configuration, validating it again with the plugin's schema.
fn compile(
    def: &'static PluginDef,
    config: &PluginConfig,
    services: &PluginServices,
) -> Result<Arc<dyn Plugin>, String> {
    let entity = serde_json::json!({
        "name": config.name,
        "route": config.route,
        "service": config.service,
        "consumer": config.consumer,
        "config": config.config,
    });
    let checked = crate::model::entities::plugin::process(&entity).map_err(|v| v.message())?;
    let settings = &checked["config"];
    let scope = Scope { route: config.route.map(|r| r.id), service: config.service.map(|s| s.id) };
    Ok(match def.name {
        "cors" => Arc::new(cors::Cors::new(settings)?),
        "gluu-oauth-pep" => Arc::new(gluu_oauth_pep::GluuOauthPep::new(settings)?),
        "ip-restriction" => Arc::new(ip_restriction::IpRestriction::new(settings)?),
        "acl" => Arc::new(acl::Acl::new(settings)?),
        "rate-limiting" => Arc::new(rate_limiting::RateLimiting::new(settings, scope, services)?),
        "request-transformer" => Arc::new(request_transformer::RequestTransformer::new(settings)?),
        "gluu-oauth-auth" => Arc::new(gluu_oauth_auth::GluuOauthAuth::new(config.id, settings, services)?),
        "gluu-metrics" => Arc::new(gluu_metrics::GluuMetrics::new(settings, services.metrics.clone())?),
        other => return Err(format!("plugin '{other}' has no handler")),
    })
}

/// The route and service a configuration is attached to (rate-limiting scopes its counters by them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    pub route: Option<Uuid>,
    pub service: Option<Uuid>,
}

/// The answer for a request whose plugin set contains an invalid configuration (§11.4).
pub fn fail_closed() -> Response<GatewayBody> {
    json_exit(StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error occurred")
}

/// Deserializes a validated config into a plugin's typed settings.
fn settings<T: serde::de::DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_json::from_value(config.clone()).map_err(|e| format!("invalid configuration: {e}"))
}

#[cfg(test)]
mod tests;
