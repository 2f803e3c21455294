//! Targets: the `host:port` peers of an upstream (`kong/db/dao/targets.lua`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Reference;

use crate::model::EntityKind;
use crate::model::schema::{Check, Field, Schema};
use crate::model::typedefs;

/// A validated target, typed for the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub id: Uuid,
    pub upstream: Reference,
    /// `host:port`, normalized on write.
    pub target: String,
    pub weight: u32,
}

pub fn schema() -> Schema {
    Schema::new(
        "targets",
        vec![
            typedefs::id(),
            Field::number("created_at").auto(),
            typedefs::foreign("upstream", EntityKind::Upstreams).required(),
            Field::string("target").required().check(Check::Custom(check_target)),
            Field::integer("weight").default(json!(100)).check(Check::Between(0, 65535)),
            typedefs::tags(),
        ],
    )
}

fn check_target(value: &Value) -> Result<(), String> {
    let target = value.as_str().unwrap_or_default();
    let (host, port) = typedefs::split_host_port(target);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    if port_ok && (typedefs::is_hostname(host) || host.parse::<std::net::IpAddr>().is_ok()) {
        Ok(())
    } else {
        Err("Invalid target; not a valid hostname or ip address".into())
    }
}

/// `host` becomes `host:8000`, Kong's default target port; IPv6 addresses are bracketed.
pub fn normalize_target(target: &str) -> String {
    let (host, port) = typedefs::split_host_port(target);
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    format!("{host}:{}", port.unwrap_or("8000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_port_defaults_to_8000() {
        assert_eq!(normalize_target("10.0.0.1"), "10.0.0.1:8000");
        assert_eq!(normalize_target("example.com:81"), "example.com:81");
        assert_eq!(normalize_target("::1"), "[::1]:8000");
        assert_eq!(normalize_target("[::1]:9"), "[::1]:9");
    }
}
