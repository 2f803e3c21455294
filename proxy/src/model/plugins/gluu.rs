//! Configuration every Gluu plugin shares (`gluu-plugins.md` §1, §4, §6): the oxd site and OP client it names,
//! protection-document fields, and the rule that a Gluu plugin is never attached to a consumer.

use serde_json::Value;

use crate::model::gluu::ProtectionDocument;
use crate::model::schema::{Check, Field};
use crate::model::typedefs;

/// The OP client secret of the plugin's site: sealed at rest.
pub const SECRET_FIELDS: &[&str] = &["client_secret"];

/// Gluu plugins declare `consumer = no_consumer`.
pub const FORBIDDEN_SCOPES: &[&str] = &["consumer"];

/// `oxd_id`, `oxd_url`, `client_id`, `client_secret`, `op_url`: required by every Gluu plugin schema, even
/// where the plugin never calls oxd (the PEPs), so one site's settings fit every plugin of a service.
pub fn oxd_fields() -> Vec<Field> {
    vec![
        Field::string("oxd_id").required(),
        typedefs::url("oxd_url").required(),
        Field::string("client_id").required(),
        Field::string("client_secret").required(),
        typedefs::url("op_url").required(),
    ]
}

/// An optional protection document (§4), stored as a JSON string and refused with GG's messages (§4.2).
pub fn protection_document(name: &'static str) -> Field {
    Field::string(name).check(Check::Custom(check_protection_document))
}

fn check_protection_document(value: &Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    ProtectionDocument::parse(text).map(drop).map_err(|error| error.to_string())
}

/// The Lua parser's message when `return <expression>` does not compile (GG checked with `loadstring`).
///
/// Only the engine embeds Lua, so this calls it directly under `cfg(feature = "engine")`; the wasm build of the
/// model (the admin UI) accepts every expression and the Admin API, always an engine build, decides on write.
/// A direct call rather than a checker registered at start-up: a registration can be forgotten (a test, a
/// tool validating entities), and a forgotten one would silently accept expressions that never run.
pub fn lua_syntax_error(expression: &str) -> Option<String> {
    #[cfg(feature = "engine")]
    return crate::lua::syntax_error(expression);
    #[cfg(not(feature = "engine"))]
    {
        let _ = expression;
        None
    }
}
