//! `gluu-oauth-auth` (`gluu-plugins.md` §6): validates OAuth access tokens with the OP (introspection through
//! oxd, or locally for JWTs), maps the client to a consumer and tells the upstream who is calling.

use serde_json::{Map, Value, json};

use super::PluginDef;
use super::gluu::{FORBIDDEN_SCOPES, lua_syntax_error, oxd_fields};
use crate::model::schema::{EntityCheck, Field};
use crate::model::typedefs;

/// The `custom_headers` records of the auth plugins (§3.7).
pub fn custom_headers() -> Field {
    Field::array(
        "custom_headers",
        Field::record(
            "",
            vec![
                Field::string("header_name").required(),
                Field::string("value_lua_exp").required(),
                Field::string("format").check(typedefs::one_of(&["string", "jwt", "base64", "urlencoded", "list"])),
                Field::string("sep"),
                Field::boolean("iterate"),
            ],
        ),
    )
}

/// GG's `custom_validator` on `config`: every `value_lua_exp` compiles as `return <exp>`, else the first that
/// does not is reported on `config` with GG's message (§3.7).
pub fn custom_headers_compile() -> EntityCheck {
    EntityCheck::Custom(check_custom_headers)
}

fn check_custom_headers(plugin: &Map<String, Value>) -> Vec<(String, String)> {
    let headers = plugin.get("config").and_then(|config| config.get("custom_headers")).and_then(Value::as_array);
    for header in headers.into_iter().flatten() {
        let (Some(name), Some(expression)) = (header["header_name"].as_str(), header["value_lua_exp"].as_str()) else {
            continue;
        };
        if let Some(error) = lua_syntax_error(expression) {
            return vec![("config".into(), format!("{name} has not a valid lua expression value, Error: {error}"))];
        }
    }
    Vec::new()
}

pub fn definition() -> PluginDef {
    let mut fields = oxd_fields();
    fields.extend([
        Field::string("anonymous").default(json!(" ")),
        Field::string("pass_credentials").default(json!("pass")).check(typedefs::one_of(&[
            "pass",
            "hide",
            "phantom_token",
        ])),
        Field::boolean("consumer_mapping").default(json!(true)),
        custom_headers(),
        Field::array("jwt_audience", Field::string("")),
    ]);
    PluginDef {
        forbidden_scopes: FORBIDDEN_SCOPES,
        secret_fields: super::gluu::SECRET_FIELDS,
        checks: vec![custom_headers_compile()],
        ..PluginDef::new("gluu-oauth-auth", 999, fields)
    }
}
