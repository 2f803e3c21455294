//! The proxy's half of the plugin-combination rule (`gluu-plugins.md` §13, `model::plugins::combinations`):
//! the Admin API refuses two PEPs in one scope, but a PEP on a service and another on one of its routes are
//! each allowed, and a request to that route resolves both. The spec asks for a warning then; it is logged
//! when a snapshot is built, once per such route, rather than on every request of the hot path.

use uuid::Uuid;

use super::{PluginSet, Protocol};
use crate::model::entities::route::Route;
use crate::model::plugins::combinations::{self, EXCLUSIVE, ExclusiveGroup};

/// A route whose requests resolve more than one member of an exclusive group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub route: Uuid,
    pub group: &'static str,
    /// The members resolved, with the configuration each comes from.
    pub plugins: Vec<(&'static str, Uuid)>,
}

/// Logs a warning for every route of `routes` that resolves two PEPs.
pub fn warn_conflicts(plugins: &PluginSet, routes: &[Route]) {
    for conflict in conflicts(plugins, routes, EXCLUSIVE) {
        let resolved: Vec<String> = conflict.plugins.iter().map(|(name, id)| format!("{name} ({id})")).collect();
        tracing::warn!(
            route = %conflict.route,
            plugins = %resolved.join(", "),
            "requests to this route resolve more than one {} (the configurations are on different scopes); \
             each of them runs, so keep one",
            conflict.group
        );
    }
}

/// The routes resolving more than one member of one of `groups`, for any of their protocols, before any
/// consumer is known (Gluu plugins never apply to consumers).
pub fn conflicts(plugins: &PluginSet, routes: &[Route], groups: &'static [ExclusiveGroup]) -> Vec<Conflict> {
    // Only a set configuring two members of a group somewhere can conflict: the usual set is skipped at once.
    let configured: Vec<&str> = (0..plugins.len()).filter_map(|index| plugins.name(index)).collect();
    if combinations::conflicts(groups, &configured).is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for route in routes {
        let service = route.service.as_ref().map(|s| s.id);
        let mut resolved: Vec<(&'static str, Uuid)> = Vec::new();
        for protocol in route.protocols.iter().filter_map(|p| Protocol::parse(p)) {
            for index in 0..plugins.len() {
                if let Some(instance) = plugins.resolve(index, Some(route.id), service, None, protocol)
                    && !resolved.contains(&(instance.def.name, instance.id))
                {
                    resolved.push((instance.def.name, instance.id));
                }
            }
        }
        let names: Vec<&str> = resolved.iter().map(|(name, _)| *name).collect();
        for (group, members) in combinations::conflicts(groups, &names) {
            let plugins = resolved.iter().filter(|(name, _)| members.contains(name)).copied().collect();
            found.push(Conflict { route: route.id, group: group.role, plugins });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugins::{PluginConfig, PluginServices};

    /// Two shipped plugins standing in for two PEPs.
    const STAND_INS: &[ExclusiveGroup] =
        &[ExclusiveGroup { key: "test", role: "stand-in", members: &["ip-restriction", "acl"] }];

    fn plugin(id: u128, name: &str, route: Option<Uuid>, service: Option<Uuid>) -> PluginConfig {
        let config = match name {
            "acl" => json!({"allow": ["staff"]}),
            _ => json!({"allow": ["127.0.0.1"]}),
        };
        serde_json::from_value(json!({
            "id": Uuid::from_u128(id), "name": name, "config": config, "enabled": true,
            "route": route.map(|id| json!({"id": id})), "service": service.map(|id| json!({"id": id})),
            "consumer": null, "protocols": ["http", "https"],
        }))
        .unwrap()
    }

    fn route(id: Uuid, service: Uuid) -> Route {
        serde_json::from_value(json!({"id": id, "paths": ["/"], "service": {"id": service}})).unwrap()
    }

    #[test]
    fn a_route_resolving_members_from_two_scopes_conflicts_and_its_sibling_does_not() {
        let (service, one, other) = (Uuid::from_u128(10), Uuid::from_u128(11), Uuid::from_u128(12));
        let set = PluginSet::build(
            vec![plugin(1, "ip-restriction", None, Some(service)), plugin(2, "acl", Some(one), None)],
            &PluginServices::default(),
        );
        let found = conflicts(&set, &[route(one, service), route(other, service)], STAND_INS);
        assert_eq!(
            found,
            vec![Conflict {
                route: one,
                group: "stand-in",
                plugins: vec![("ip-restriction", Uuid::from_u128(1)), ("acl", Uuid::from_u128(2))],
            }]
        );
        assert!(conflicts(&set, &[route(one, service)], EXCLUSIVE).is_empty(), "not PEPs");
    }

    #[test]
    fn one_member_per_route_is_no_conflict() {
        let (service, one) = (Uuid::from_u128(10), Uuid::from_u128(11));
        let set = PluginSet::build(
            vec![plugin(1, "ip-restriction", Some(one), Some(service)), plugin(2, "ip-restriction", None, None)],
            &PluginServices::default(),
        );
        assert!(conflicts(&set, &[route(one, service)], STAND_INS).is_empty());
    }
}
