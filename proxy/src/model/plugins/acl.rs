//! `acl` (`proxy.md` §12.4): allow or deny consumers by the groups of the `acls` entity.

use serde_json::{Map, Value, json};

use super::{PluginDef, alias, config, is_set};
use crate::model::schema::{EntityCheck, Field};

pub fn definition() -> PluginDef {
    PluginDef {
        checks: vec![EntityCheck::Custom(exactly_one_list)],
        forbidden_scopes: &["consumer"],
        shorthands: Some(shorthands),
        ..PluginDef::new(
            "acl",
            950,
            vec![
                Field::array("allow", Field::string("")),
                Field::array("deny", Field::string("")),
                Field::boolean("hide_groups_header").required().default(json!(false)),
            ],
        )
    }
}

fn shorthands(config: &mut Map<String, Value>) {
    alias(config, "whitelist", "allow");
    alias(config, "blacklist", "deny");
}

fn exactly_one_list(plugin: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(config) = config(plugin) else { return Vec::new() };
    let set = ["allow", "deny"].iter().filter(|f| is_set(config.get(**f))).count();
    let message = match set {
        0 => "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
        2 => "only one of these fields must be non-empty: 'config.allow', 'config.deny'",
        _ => return Vec::new(),
    };
    vec![("@entity".into(), message.into())]
}
