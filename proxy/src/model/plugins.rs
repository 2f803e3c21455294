//! The plugins Gatehouse ships: name, priority, config schema and the scopes each refuses. The engine
//! implements each one; the Admin API accepts only these names.

use std::sync::LazyLock;

use super::schema::Field;

#[derive(Debug, Clone)]
pub struct PluginDef {
    pub name: &'static str,
    /// Kong's execution priority: higher runs first.
    pub priority: i32,
    pub config: Vec<Field>,
    /// Scopes this plugin may not be attached to (`consumer`, `route`, `service`).
    pub forbidden_scopes: &'static [&'static str],
}

static SHIPPED: LazyLock<Vec<PluginDef>> = LazyLock::new(Vec::new);

/// Every shipped plugin, by name.
pub fn all() -> &'static [PluginDef] {
    &SHIPPED
}

pub fn find(name: &str) -> Option<&'static PluginDef> {
    SHIPPED.iter().find(|def| def.name == name)
}
