//! Which plugins may be combined, and where (`gluu-plugins.md` §13), as data over plugin names: the policy
//! enforcement points exclude each other, and gluu-openid-connect protects routes only. The names include
//! plugins Gatehouse does not ship yet, so the rules hold the day they do.
//!
//! Issue 6 asks the Admin API to refuse what the rules forbid (the spec leaves that to the UI): an enabled
//! member of an [`ExclusiveGroup`] holds a unique key for its scope, so a second member in the same scope is
//! refused in the same transaction that would store it, whatever path the write takes (Admin API, decK,
//! `/config`). Members in *different* scopes (one on a service, another on one of its routes) are each
//! allowed; the proxy warns when a route resolves two of them (`plugins::exclusive`).

use serde_json::{Map, Value};

/// Plugins of which at most one, enabled, may be attached to one scope (route, service, both, or global).
#[derive(Debug)]
pub struct ExclusiveGroup {
    /// Names the group in the store's unique keys: `exclusive:<key>`.
    pub key: &'static str,
    /// What each member is, for messages.
    pub role: &'static str,
    pub members: &'static [&'static str],
}

/// "At most one PEP (oauth-pep, uma-pep, opa-pep) per context."
pub const EXCLUSIVE: &[ExclusiveGroup] = &[ExclusiveGroup {
    key: "pep",
    role: "policy enforcement point",
    members: &["gluu-oauth-pep", "gluu-uma-pep", "gluu-opa-pep"],
}];

/// Plugins that may only be attached to a route (alone or with its service): never to a service alone, never
/// globally.
pub const ROUTE_ONLY: &[&str] = &["gluu-openid-connect"];

const KEY_PREFIX: &str = "exclusive:";

impl ExclusiveGroup {
    /// The group `plugin` (a name) belongs to, among `groups`.
    pub fn of(groups: &'static [ExclusiveGroup], plugin: &str) -> Option<&'static ExclusiveGroup> {
        groups.iter().find(|group| group.members.contains(&plugin))
    }

    /// The group whose store key is named `key_name` (see [`exclusive_key`]).
    pub fn by_key_name(key_name: &str) -> Option<&'static ExclusiveGroup> {
        let key = key_name.strip_prefix(KEY_PREFIX)?;
        EXCLUSIVE.iter().find(|group| group.key == key)
    }

    /// Why `plugin` may not join a scope that `existing` already protects.
    pub fn conflict(&self, plugin: &str, existing: &str) -> String {
        format!(
            "{plugin} cannot be added where {existing} is configured: at most one {} ({}) per route, service or \
             global scope",
            self.role,
            self.members.join(", ")
        )
    }
}

/// The unique key an enabled plugin entity of an exclusive group holds: `("exclusive:<group>", <scope>)`, the
/// scope being its route, service and consumer ids. `None` for other plugins and for disabled ones (a
/// disabled member protects nothing, so it blocks nothing: disabling the old PEP is how a scope changes PEP
/// while both are configured).
pub fn exclusive_key(plugin: &Value) -> Option<(String, String)> {
    exclusive_key_in(EXCLUSIVE, plugin)
}

/// [`exclusive_key`] with other groups (tests use shipped plugins as stand-ins for future ones).
pub fn exclusive_key_in(groups: &'static [ExclusiveGroup], plugin: &Value) -> Option<(String, String)> {
    let group = ExclusiveGroup::of(groups, plugin.get("name")?.as_str()?)?;
    if plugin.get("enabled") == Some(&Value::Bool(false)) {
        return None;
    }
    let id = |field: &str| plugin.get(field).and_then(|r| r.get("id")).and_then(Value::as_str).unwrap_or_default();
    Some((format!("{KEY_PREFIX}{}", group.key), format!("{}|{}|{}", id("route"), id("service"), id("consumer"))))
}

/// Entity check of every plugin: a [`ROUTE_ONLY`] plugin needs a route.
pub fn check_placement(plugin: &Map<String, Value>) -> Vec<(String, String)> {
    let name = plugin.get("name").and_then(Value::as_str).unwrap_or_default();
    if !ROUTE_ONLY.contains(&name) || plugin.get("route").is_some_and(|route| !route.is_null()) {
        return Vec::new();
    }
    vec![("route".into(), format!("{name} can only be attached to a route, not to a service alone or globally"))]
}

/// The groups that `names` (the plugins one request resolves) hold more than one member of, with those
/// members.
pub fn conflicts<'a>(
    groups: &'static [ExclusiveGroup],
    names: &[&'a str],
) -> Vec<(&'static ExclusiveGroup, Vec<&'a str>)> {
    groups
        .iter()
        .filter_map(|group| {
            let members: Vec<&str> = names.iter().copied().filter(|name| group.members.contains(name)).collect();
            (members.len() > 1).then_some((group, members))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ROUTE: &str = "8c1d1a3e-5b3f-4d8e-9d6c-0b7a1f2e3d4c";
    const SERVICE: &str = "1f0e2d3c-4b5a-4968-8776-655443322110";

    #[test]
    fn the_three_peps_hold_the_same_key_in_one_scope_and_other_plugins_none() {
        let plugin = |name: &str, route: Value, service: Value| json!({"name": name, "route": route, "service": service, "consumer": null, "enabled": true});
        let on_service = |name| exclusive_key(&plugin(name, Value::Null, json!({"id": SERVICE})));
        let expected = Some(("exclusive:pep".to_string(), format!("|{SERVICE}|")));
        for pep in ["gluu-oauth-pep", "gluu-uma-pep", "gluu-opa-pep"] {
            assert_eq!(on_service(pep), expected, "{pep}");
        }
        for other in ["gluu-oauth-auth", "gluu-uma-auth", "gluu-openid-connect", "rate-limiting", "gluu-metrics"] {
            assert_eq!(on_service(other), None, "{other}");
        }
        let on_route = exclusive_key(&plugin("gluu-uma-pep", json!({"id": ROUTE}), json!({"id": SERVICE})));
        assert_eq!(on_route, Some(("exclusive:pep".to_string(), format!("{ROUTE}|{SERVICE}|"))));
        let global = exclusive_key(&plugin("gluu-opa-pep", Value::Null, Value::Null));
        assert_eq!(global, Some(("exclusive:pep".to_string(), "||".to_string())));
    }

    #[test]
    fn a_disabled_pep_blocks_nothing() {
        let disabled = json!({"name": "gluu-uma-pep", "route": null, "service": null, "enabled": false});
        assert_eq!(exclusive_key(&disabled), None);
    }

    #[test]
    fn the_key_names_its_group_and_the_message_names_both_plugins() {
        let group = ExclusiveGroup::by_key_name("exclusive:pep").unwrap();
        assert!(ExclusiveGroup::by_key_name("name+route+service+consumer").is_none());
        assert_eq!(
            group.conflict("gluu-opa-pep", "gluu-oauth-pep"),
            "gluu-opa-pep cannot be added where gluu-oauth-pep is configured: at most one policy enforcement \
             point (gluu-oauth-pep, gluu-uma-pep, gluu-opa-pep) per route, service or global scope"
        );
    }

    #[test]
    fn openid_connect_needs_a_route() {
        let placed = |route: Value, service: Value| {
            let plugin = json!({"name": "gluu-openid-connect", "route": route, "service": service});
            check_placement(plugin.as_object().unwrap())
        };
        let refused = vec![(
            "route".to_string(),
            "gluu-openid-connect can only be attached to a route, not to a service alone or globally".to_string(),
        )];
        assert_eq!(placed(Value::Null, json!({"id": SERVICE})), refused, "on a service");
        assert_eq!(placed(Value::Null, Value::Null), refused, "global");
        assert!(placed(json!({"id": ROUTE}), Value::Null).is_empty());
        assert!(placed(json!({"id": ROUTE}), json!({"id": SERVICE})).is_empty());
        let other = json!({"name": "gluu-oauth-auth", "route": null, "service": null});
        assert!(check_placement(other.as_object().unwrap()).is_empty(), "other plugins go anywhere");
    }

    #[test]
    fn a_request_resolving_two_peps_conflicts_and_one_pep_with_its_auth_plugin_does_not() {
        let found = conflicts(EXCLUSIVE, &["gluu-oauth-auth", "gluu-oauth-pep", "gluu-uma-pep", "gluu-metrics"]);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].0.key, found[0].1.clone()), ("pep", vec!["gluu-oauth-pep", "gluu-uma-pep"]));
        assert!(conflicts(EXCLUSIVE, &["gluu-oauth-auth", "gluu-oauth-pep", "gluu-metrics"]).is_empty());
        assert!(conflicts(EXCLUSIVE, &["gluu-openid-connect", "gluu-uma-pep"]).is_empty());
    }
}
