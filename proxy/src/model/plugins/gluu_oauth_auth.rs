//! `gluu-oauth-auth` (`gluu-plugins.md` §6): validates OAuth access tokens with the OP (introspection through
//! oxd, or locally for JWTs), maps the client to a consumer and tells the upstream who is calling.

use serde_json::{Value, json};

use super::PluginDef;
use crate::model::schema::{Check, Field};
use crate::model::typedefs;

/// The fields every Gluu plugin carries: its own client ("site") at oxd (`gluu-plugins.md` §3.2).
pub fn oxd_fields() -> Vec<Field> {
    vec![
        Field::string("oxd_id").required(),
        Field::string("oxd_url").required().check(Check::Custom(check_url)),
        Field::string("client_id").required(),
        Field::string("client_secret").required(),
        Field::string("op_url").required().check(Check::Custom(check_url)),
    ]
}

/// An absolute http(s) URL.
pub fn check_url(value: &Value) -> Result<(), String> {
    let url = value.as_str().unwrap_or_default();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace) => Ok(()),
        _ => Err("missing host in url".into()),
    }
}

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
    PluginDef { forbidden_scopes: &["consumer"], ..PluginDef::new("gluu-oauth-auth", 999, fields) }
}
