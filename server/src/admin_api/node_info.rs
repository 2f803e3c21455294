//! `GET /` (node information) and `GET /status` (health and counters), as Kong 2.2 shapes them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{AdminError, json};
use crate::node::Node;

pub async fn root(State(node): State<Arc<Node>>) -> Result<Response, AdminError> {
    let enabled_in_cluster = node.store.plugin_names().await?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "tagline": "Welcome to kong",
            "version": proxy::KONG_COMPAT_VERSION,
            "gatehouse": { "version": proxy::VERSION },
            "hostname": node.hostname,
            "node_id": node.id,
            // Kong's timers and Lua VM have no Gatehouse meaning; the keys stay because Konga renders them.
            "timers": { "running": 0, "pending": 0 },
            "plugins": {
                "available_on_server": serde_json::Map::new(),
                "enabled_in_cluster": enabled_in_cluster,
            },
            "lua_version": "LuaJIT 2.1.0-beta3",
            "configuration": node.config.public_view(),
        }),
    ))
}

pub async fn status(
    State(node): State<Arc<Node>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let unit = MemoryUnit::parse(query.get("unit").map(String::as_str).unwrap_or("m"))?;
    let scale = match query.get("scale") {
        None => 2,
        Some(scale) => scale
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= 10)
            .ok_or_else(|| AdminError::BadRequest(format!("invalid scale '{scale}' (expected an integer 0-10)")))?,
    };
    let stats = &node.proxy_stats;
    let active = stats.connections_active.load(Ordering::Relaxed);
    let writing = stats.requests_in_flight.load(Ordering::Relaxed).min(active);
    Ok(json(
        StatusCode::OK,
        &json!({
            "database": { "reachable": node.store.ping().await },
            "memory": {
                "workers_lua_vms": [{
                    "http_allocated_gc": unit.format(resident_memory_bytes(), scale),
                    "pid": std::process::id(),
                }],
                "lua_shared_dicts": serde_json::Map::new(),
            },
            "server": {
                "total_requests": stats.total_requests.load(Ordering::Relaxed),
                "connections_active": active,
                "connections_accepted": stats.connections_accepted.load(Ordering::Relaxed),
                "connections_handled": stats.connections_handled.load(Ordering::Relaxed),
                "connections_reading": 0,
                "connections_writing": writing,
                "connections_waiting": active - writing,
            },
            "configuration_version": node.store.config_version(),
            "configuration_error": node.snapshot_error(),
        }),
    ))
}

/// The `unit` of `GET /status`: bytes as numbers, or KiB/MiB/GiB as strings with `scale` decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
enum MemoryUnit {
    Bytes,
    Kibi,
    Mebi,
    Gibi,
}

impl MemoryUnit {
    fn parse(unit: &str) -> Result<Self, AdminError> {
        match unit {
            "b" | "B" => Ok(MemoryUnit::Bytes),
            "k" | "K" => Ok(MemoryUnit::Kibi),
            "m" | "M" => Ok(MemoryUnit::Mebi),
            "g" | "G" => Ok(MemoryUnit::Gibi),
            other => Err(AdminError::BadRequest(format!("invalid unit '{other}' (expected 'k/K', 'm/M', or 'g/G')"))),
        }
    }

    fn format(self, bytes: u64, scale: usize) -> serde_json::Value {
        let (divisor, suffix) = match self {
            MemoryUnit::Bytes => return bytes.into(),
            MemoryUnit::Kibi => (1024f64, "KiB"),
            MemoryUnit::Mebi => (1024f64 * 1024.0, "MiB"),
            MemoryUnit::Gibi => (1024f64 * 1024.0 * 1024.0, "GiB"),
        };
        format!("{:.*} {suffix}", scale, bytes as f64 / divisor).into()
    }
}

/// The process's resident memory, from `/proc/self/status` (0 where that is unavailable).
fn resident_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

/// `GET /status/ready` (Kong 3.3, adopted): 200 when the database answers, else 503.
pub async fn ready(State(node): State<Arc<Node>>) -> Response {
    if node.store.ping().await {
        json(StatusCode::OK, &json!({"message": "ready"}))
    } else {
        json(StatusCode::SERVICE_UNAVAILABLE, &json!({"message": "failed to connect to database"}))
    }
}

/// The only workspace of Kong OSS 2.x, with an id that is the same on every node.
fn default_workspace(node: &Node) -> serde_json::Value {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, b"gatehouse:workspace:default");
    json!({"id": id, "name": "default", "comment": null, "created_at": node.started_at, "meta": {}, "config": {}})
}

pub async fn workspaces(State(node): State<Arc<Node>>) -> Response {
    json(StatusCode::OK, &json!({"data": [default_workspace(&node)], "next": null}))
}

pub async fn workspace(
    State(node): State<Arc<Node>>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Result<Response, AdminError> {
    let workspace = default_workspace(&node);
    if key == "default" || workspace["id"] == key {
        Ok(json(StatusCode::OK, &workspace))
    } else {
        Err(AdminError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_format_as_kong_does() {
        assert_eq!(MemoryUnit::Mebi.format(5 * 1024 * 1024, 2), "5.00 MiB");
        assert_eq!(MemoryUnit::Kibi.format(1536, 1), "1.5 KiB");
        assert_eq!(MemoryUnit::Bytes.format(1536, 2), 1536);
        assert!(MemoryUnit::parse("x").is_err());
        assert!(resident_memory_bytes() > 0);
    }
}
