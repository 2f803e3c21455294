//! `gluu-oauth-auth` (`gluu-plugins.md` §6): validates OAuth access tokens with the OP (introspection through
//! oxd, or locally for JWTs), maps the client to a consumer and tells the upstream who is calling.

use serde_json::json;

use super::PluginDef;
use super::gluu::{FORBIDDEN_SCOPES, oxd_fields};
use crate::model::schema::Field;
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
        ..PluginDef::new("gluu-oauth-auth", 999, fields)
    }
}
