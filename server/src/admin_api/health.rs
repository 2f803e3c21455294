//! Target health on this node (`admin-api.md` §4.7, `proxy.md` §9): `GET /upstreams/{u}/health` reads the
//! live state the proxy keeps, `POST …/targets/{t}[/{address}]/healthy|unhealthy` overrides it.
//!
//! Health is per node: the bodies carry this node's `node_id`, and an override applies to this node (a
//! cluster of Gatehouse nodes sharing one database would need the override broadcast; see the report).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use proxy::health::upstream_is_healthy;
use proxy::model::EntityKind;
use proxy::model::entities::target::normalize_target;
use proxy::model::entities::upstream::Upstream;
use serde_json::{Value, json};

use super::entities::{Entities, Parent};
use super::{AdminError, json};
use crate::store::{ListFilter, StoredEntity};

/// `GET /upstreams/{u}/health[?balancer_health=1]`.
pub async fn get(entities: &Entities, key: &str, query: &HashMap<String, String>) -> Result<Response, AdminError> {
    let stored = entities.resolve(EntityKind::Upstreams, None, key).await?.ok_or(AdminError::NotFound)?;
    let upstream = typed(&stored)?;
    let node_id = entities.node.id.to_string();
    if query.get("balancer_health").map(String::as_str) == Some("1") {
        let targets = all_targets(entities, &stored).await?;
        let data = balancer_health(entities, &upstream, &targets);
        return Ok(json(StatusCode::OK, &json!({"data": data, "next": null, "node_id": node_id})));
    }
    let parent = Parent { id: upstream.id, field: "upstream" };
    let page = entities.page(EntityKind::Targets, Some(parent), query, &format!("/upstreams/{key}/health")).await?;
    let checks_on = upstream.healthchecks.enabled();
    let data: Vec<Value> = page
        .rows
        .iter()
        .map(|target| {
            let mut doc = target.doc.clone();
            let health = if checks_on { health_of(entities, &upstream, target) } else { "HEALTHCHECKS_OFF" };
            doc["health"] = json!(health);
            doc
        })
        .collect();
    let mut body = json!({"data": data, "next": null, "node_id": node_id});
    page.link(&mut body);
    Ok(json(StatusCode::OK, &body))
}

/// `POST /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`: 204, counters reset.
pub async fn set(
    entities: &Entities,
    key: &str,
    target_key: &str,
    address: Option<&str>,
    healthy: bool,
) -> Result<Response, AdminError> {
    let upstream = entities.resolve(EntityKind::Upstreams, None, key).await?.ok_or(AdminError::NotFound)?;
    let parent = Parent { id: upstream.id, field: "upstream" };
    let target = entities.resolve(EntityKind::Targets, Some(parent), target_key).await?.ok_or(AdminError::NotFound)?;
    let name = target.doc["target"].as_str().unwrap_or_default();
    if let Some(address) = address
        && !has_address(name, address).await
    {
        return Err(AdminError::BadRequest(format!("target not found for address {address}")));
    }
    entities.node.health.target(upstream.id, name).set_healthy(healthy);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether `address` (`ip[:port]`, port 8000 when omitted as Kong has it) is the target or one of the
/// addresses its host resolves to. Health is kept per target, so an address stands for its target.
async fn has_address(target: &str, address: &str) -> bool {
    let address = normalize_target(address);
    if address.eq_ignore_ascii_case(target) {
        return true;
    }
    let Ok(wanted) = address.trim_start_matches('[').replacen("]:", ":", 1).parse::<std::net::SocketAddr>() else {
        return false;
    };
    match tokio::net::lookup_host(target.trim_start_matches('[').replacen("]:", ":", 1)).await {
        Ok(mut resolved) => resolved.any(|a| a == wanted),
        Err(_) => false,
    }
}

fn health_of(entities: &Entities, upstream: &Upstream, target: &StoredEntity) -> &'static str {
    let name = target.doc["target"].as_str().unwrap_or_default();
    // A target the proxy has not loaded yet starts healthy, as it will when it is.
    let healthy = entities.node.health.find(upstream.id, name).is_none_or(|state| state.is_healthy());
    if healthy { "HEALTHY" } else { "UNHEALTHY" }
}

/// The whole upstream against its threshold, with the balancer's view of each target (Kong's
/// `get_balancer_health`; `details` only when health checks are on).
fn balancer_health(entities: &Entities, upstream: &Upstream, targets: &[StoredEntity]) -> Value {
    let id = upstream.id.to_string();
    if !upstream.healthchecks.enabled() {
        return json!({"health": "HEALTHCHECKS_OFF", "id": id});
    }
    let mut hosts = Vec::new();
    let mut weights = Vec::new();
    for target in targets {
        let weight = target.doc["weight"].as_u64().and_then(|w| u32::try_from(w).ok()).unwrap_or(0);
        let name = target.doc["target"].as_str().unwrap_or_default();
        if weight == 0 {
            continue;
        }
        let healthy = health_of(entities, upstream, target) == "HEALTHY";
        weights.push((weight, healthy));
        let (host, port) = name.rsplit_once(':').unwrap_or((name, ""));
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: Value = port.parse::<u16>().map(Value::from).unwrap_or(Value::Null);
        let available = if healthy { weight } else { 0 };
        hosts.push(json!({
            "host": host, "port": port,
            "weight": {"total": weight, "available": available, "unavailable": weight - available},
            "addresses": [{"ip": host, "port": port, "weight": weight, "healthy": healthy}],
        }));
    }
    let total: u64 = weights.iter().map(|(w, _)| u64::from(*w)).sum();
    let available: u64 = weights.iter().filter(|(_, h)| *h).map(|(w, _)| u64::from(*w)).sum();
    let healthy = upstream_is_healthy(upstream.healthchecks.threshold, weights.into_iter());
    json!({
        "health": if healthy { "HEALTHY" } else { "UNHEALTHY" },
        "id": id,
        "details": {
            "healthy": healthy,
            "weight": {"total": total, "available": available, "unavailable": total - available},
            "hosts": hosts,
        },
    })
}

async fn all_targets(entities: &Entities, upstream: &StoredEntity) -> Result<Vec<StoredEntity>, AdminError> {
    let filter = ListFilter { parent: Some(("upstream".into(), upstream.id)), tags: None };
    Ok(entities.node.store.page(EntityKind::Targets, &filter, None, u32::MAX).await?)
}

fn typed(stored: &StoredEntity) -> Result<Upstream, AdminError> {
    serde_json::from_value(stored.doc.clone()).map_err(|error| {
        tracing::error!(upstream = %stored.id, %error, "stored upstream is unreadable");
        AdminError::Kong { status: 500, body: json!({"message": "An unexpected error occurred"}) }
    })
}
