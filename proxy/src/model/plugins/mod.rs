//! The plugins Gatehouse ships: name, priority, config schema and the scopes each refuses. The engine
//! implements each one; the Admin API accepts only these names.

pub mod acl;
pub mod combinations;
pub mod cors;
pub mod gluu;
pub mod gluu_metrics;
pub mod gluu_oauth_auth;
pub mod gluu_oauth_pep;
pub mod ip_restriction;
pub mod rate_limiting;
pub mod request_transformer;

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::schema::{EntityCheck, Field};

#[derive(Debug, Clone)]
pub struct PluginDef {
    pub name: &'static str,
    /// Kong's execution priority: higher runs first.
    pub priority: i32,
    pub config: Vec<Field>,
    /// Checks over the whole plugin entity (their messages may name `config.<field>`).
    pub checks: Vec<EntityCheck>,
    /// Scopes this plugin may not be attached to (`consumer`, `route`, `service`).
    pub forbidden_scopes: &'static [&'static str],
    /// Config fields holding secrets (client secrets, passwords): stored sealed, never logged.
    pub secret_fields: &'static [&'static str],
    /// Rewrites deprecated config aliases (`whitelist` → `allow`) before validation; aliases are never stored.
    pub shorthands: Option<fn(&mut Map<String, Value>)>,
}

impl PluginDef {
    fn new(name: &'static str, priority: i32, config: Vec<Field>) -> PluginDef {
        PluginDef {
            name,
            priority,
            config,
            checks: Vec::new(),
            forbidden_scopes: &[],
            secret_fields: &[],
            shorthands: None,
        }
    }
}

static SHIPPED: LazyLock<Vec<PluginDef>> = LazyLock::new(|| {
    let mut all = vec![
        cors::definition(),
        gluu_oauth_auth::definition(),
        gluu_metrics::definition(),
        gluu_oauth_pep::definition(),
        ip_restriction::definition(),
        acl::definition(),
        rate_limiting::definition(),
        request_transformer::definition(),
    ];
    all.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(b.name)));
    all
});

/// Every shipped plugin, in execution order (priority descending, then name).
pub fn all() -> &'static [PluginDef] {
    &SHIPPED
}

pub fn find(name: &str) -> Option<&'static PluginDef> {
    SHIPPED.iter().find(|def| def.name == name)
}

/// Moves a deprecated alias to its current name unless the current name is set too.
fn alias(config: &mut Map<String, Value>, old: &str, new: &str) {
    if let Some(value) = config.remove(old)
        && config.get(new).is_none_or(Value::is_null)
    {
        config.insert(new.to_string(), value);
    }
}

/// The `config` object of a plugin entity; `None` when it already failed validation (checks then stay quiet).
fn config(plugin: &Map<String, Value>) -> Option<&Map<String, Value>> {
    plugin.get("config").and_then(Value::as_object)
}

fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests;
