//! `gluu-oauth-pep` (`gluu-plugins.md` §8): authorizes requests whose token an authentication plugin
//! validated, by the scope expressions of a protection document.

use serde_json::json;

use super::{PluginDef, gluu};
use crate::model::schema::Field;

pub fn definition() -> PluginDef {
    let mut fields = gluu::oxd_fields();
    fields.extend([
        Field::boolean("deny_by_default").default(json!(true)),
        gluu::protection_document("oauth_scope_expression"),
    ]);
    PluginDef {
        forbidden_scopes: gluu::FORBIDDEN_SCOPES,
        secret_fields: gluu::SECRET_FIELDS,
        ..PluginDef::new("gluu-oauth-pep", 996, fields)
    }
}
