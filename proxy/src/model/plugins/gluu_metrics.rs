//! `gluu-metrics` (`gluu-plugins.md` §12): Prometheus counters of the Gluu plugins' outcomes per service,
//! plus request counts and latencies per service and route, at the Admin API's `GET /gluu-metrics`.

use serde_json::json;

use super::PluginDef;
use crate::model::schema::Field;
use crate::model::typedefs;

pub fn definition() -> PluginDef {
    PluginDef {
        forbidden_scopes: super::gluu::FORBIDDEN_SCOPES,
        ..PluginDef::new(
            "gluu-metrics",
            14,
            vec![
                // Gatehouse's `metrics.endpoint_label`: the raw path (GG), the matched route path, or nothing.
                Field::string("endpoint_label")
                    .default(json!("path"))
                    .check(typedefs::one_of(&["path", "pattern", "none"])),
            ],
        )
    }
}
