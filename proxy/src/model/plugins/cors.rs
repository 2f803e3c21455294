//! `cors` (`proxy.md` §12.2): answers preflights and adds the CORS response headers.

use serde_json::{Value, json};

use super::PluginDef;
use crate::model::schema::{Check, Field};
use crate::model::typedefs;

pub const METHODS: [&str; 9] = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

pub fn definition() -> PluginDef {
    PluginDef {
        forbidden_scopes: &["consumer"],
        ..PluginDef::new(
            "cors",
            2000,
            vec![
                Field::array("origins", Field::string("").check(Check::Custom(check_origin))),
                Field::array("headers", Field::string("")),
                Field::array("exposed_headers", Field::string("")),
                Field::array("methods", Field::string("").check(typedefs::one_of(&METHODS))).default(json!(METHODS)),
                Field::number("max_age"),
                Field::boolean("credentials").required().default(json!(false)),
                Field::boolean("preflight_continue").required().default(json!(false)),
            ],
        )
    }
}

/// `*`, or a string that compiles as a regular expression.
fn check_origin(value: &Value) -> Result<(), String> {
    let origin = value.as_str().unwrap_or_default();
    if origin == "*" || regex::Regex::new(origin).is_ok() {
        Ok(())
    } else {
        Err(format!("'{origin}' is not a valid regex"))
    }
}
