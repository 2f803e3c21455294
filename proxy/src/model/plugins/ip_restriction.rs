//! `ip-restriction` (`proxy.md` §12.3): allow or deny client addresses by IP or CIDR block.

use serde_json::{Map, Value};

use super::{PluginDef, alias, config, is_set};
use crate::model::schema::{Check, EntityCheck, Field};
use crate::model::typedefs;

pub fn definition() -> PluginDef {
    let ips = |name| Field::array(name, Field::string("").check(Check::Custom(typedefs::check_ip_or_cidr)));
    PluginDef {
        checks: vec![EntityCheck::Custom(allow_or_deny)],
        shorthands: Some(shorthands),
        ..PluginDef::new(
            "ip-restriction",
            990,
            vec![ips("allow"), ips("deny"), Field::integer("status"), Field::string("message")],
        )
    }
}

fn shorthands(config: &mut Map<String, Value>) {
    alias(config, "whitelist", "allow");
    alias(config, "blacklist", "deny");
}

fn allow_or_deny(plugin: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(config) = config(plugin) else { return Vec::new() };
    if is_set(config.get("allow")) || is_set(config.get("deny")) {
        return Vec::new();
    }
    vec![("@entity".into(), "at least one of these fields must be non-empty: 'config.allow', 'config.deny'".into())]
}
