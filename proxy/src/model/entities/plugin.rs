//! Plugin instances: a plugin name, its scope (route, service, consumer or global) and its `config`, which is
//! validated by the named plugin's own schema (`kong/db/schema/entities/plugins.lua`).

use serde_json::{Value, json};

use crate::model::EntityKind;
use crate::model::plugins::{self, PluginDef};
use crate::model::schema::{Field, Schema, SchemaViolation};
use crate::model::typedefs;

/// Kong's credential plugins that Gluu Gateway removed; Gatehouse refuses them and says what to use instead.
const GLUU_DISABLED: &[&str] = &["key-auth", "basic-auth", "hmac-auth", "jwt", "oauth2", "ldap-auth"];

/// The plugin entity with `config` left open; [`process`] swaps in the named plugin's config schema.
pub fn schema() -> Schema {
    schema_with_config(Field::record("config", Vec::new()).required())
}

fn schema_with_config(config: Field) -> Schema {
    Schema::new(
        "plugins",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            Field::string("name").required(),
            typedefs::foreign("route", EntityKind::Routes),
            typedefs::foreign("service", EntityKind::Services),
            typedefs::foreign("consumer", EntityKind::Consumers),
            config,
            typedefs::plugin_protocols(),
            Field::boolean("enabled").required().default(json!(true)),
            typedefs::tags(),
        ],
    )
}

/// The full schema of the plugin named `name`, or the violation Kong reports for an unknown name.
pub fn schema_for(name: &str) -> Result<Schema, SchemaViolation> {
    let def = plugin_def(name)?;
    let mut schema = schema_with_config(Field::record("config", def.config.clone()).required());
    schema.entity_checks.extend(def.checks.iter().cloned());
    schema.entity_checks.push(crate::model::schema::EntityCheck::Custom(plugins::combinations::check_placement));
    for scope in def.forbidden_scopes {
        schema.entity_checks.push(crate::model::schema::EntityCheck::Custom(match *scope {
            "consumer" => forbid_consumer,
            "route" => forbid_route,
            _ => forbid_service,
        }));
    }
    Ok(schema)
}

pub fn plugin_def(name: &str) -> Result<&'static PluginDef, SchemaViolation> {
    if GLUU_DISABLED.contains(&name) {
        return Err(SchemaViolation::field(
            "name",
            format!(
                "plugin '{name}' is not available: Gatehouse, like Gluu Gateway, does not ship Kong's credential \
                 plugins; protect APIs with gluu-oauth-auth or gluu-uma-auth"
            ),
        ));
    }
    plugins::find(name).ok_or_else(|| {
        SchemaViolation::field(
            "name",
            format!("plugin '{name}' not enabled; add it to the 'plugins' configuration property"),
        )
    })
}

/// Validates a plugin entity: the name first, then the whole entity against that plugin's schema.
pub fn process(body: &Value) -> Result<Value, SchemaViolation> {
    let name = match body.get("name") {
        Some(Value::String(name)) => name.as_str(),
        Some(Value::Null) | None => return Err(SchemaViolation::field("name", "required field missing")),
        Some(_) => return Err(SchemaViolation::field("name", "expected a string")),
    };
    let schema = schema_for(name)?;
    match (plugin_def(name)?.shorthands, body.get("config")) {
        (Some(shorthands), Some(Value::Object(config))) => {
            let mut body = body.clone();
            let mut config = config.clone();
            shorthands(&mut config);
            body["config"] = Value::Object(config);
            schema.process(&body)
        }
        _ => schema.process(body),
    }
}

fn forbid(plugin: &serde_json::Map<String, Value>, scope: &str) -> Vec<(String, String)> {
    if plugin[scope].is_null() { Vec::new() } else { vec![(scope.to_string(), "value must be null".to_string())] }
}

fn forbid_consumer(plugin: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    forbid(plugin, "consumer")
}

fn forbid_route(plugin: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    forbid(plugin, "route")
}

fn forbid_service(plugin: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    forbid(plugin, "service")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_disabled_plugins_are_refused_with_kongs_and_gluus_messages() {
        let err = process(&json!({"name": "no-such-plugin"})).unwrap_err();
        assert_eq!(
            err.fields["name"],
            "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"
        );
        let err = process(&json!({"name": "key-auth"})).unwrap_err();
        assert!(err.fields["name"].as_str().unwrap().contains("gluu-oauth-auth"));
        let err = process(&json!({"config": {}})).unwrap_err();
        assert_eq!(err.fields["name"], "required field missing");
    }
}
