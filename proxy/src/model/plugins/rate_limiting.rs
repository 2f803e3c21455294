//! `rate-limiting` (`proxy.md` §12.1): request counters per period, kept locally, in the database or in Redis.

use serde_json::{Map, Value, json};

use super::{PluginDef, config, is_set};
use crate::model::schema::{Check, EntityCheck, Field};
use crate::model::typedefs;

/// The periods, shortest first, with their window lengths in seconds (for expiry).
pub const PERIODS: [(&str, u64); 6] =
    [("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400), ("month", 2_592_000), ("year", 31_536_000)];

pub fn definition() -> PluginDef {
    let mut fields: Vec<Field> = PERIODS.iter().map(|(name, _)| Field::number(name).check(Check::Gt(0.0))).collect();
    fields.extend([
        Field::string("limit_by").default(json!("consumer")).check(typedefs::one_of(&[
            "consumer",
            "credential",
            "ip",
            "service",
            "header",
            "path",
        ])),
        Field::string("header_name").check(Check::Custom(typedefs::check_header_name)),
        Field::string("path").check(Check::Custom(typedefs::check_path)),
        Field::string("policy").default(json!("cluster")).check(typedefs::one_of(&["local", "cluster", "redis"])),
        Field::boolean("fault_tolerant").required().default(json!(true)),
        Field::string("redis_host"),
        Field::integer("redis_port").default(json!(6379)).check(Check::Between(0, 65535)),
        Field::string("redis_username"),
        Field::string("redis_password").check(Check::LenMin(0)),
        Field::boolean("redis_ssl").required().default(json!(false)),
        Field::boolean("redis_ssl_verify").required().default(json!(false)),
        Field::string("redis_server_name"),
        Field::number("redis_timeout").default(json!(2000)),
        Field::integer("redis_database").default(json!(0)),
        Field::boolean("hide_client_headers").required().default(json!(false)),
    ]);
    PluginDef {
        checks: vec![EntityCheck::Custom(checks)],
        secret_fields: &["redis_password"],
        ..PluginDef::new("rate-limiting", 901, fields)
    }
}

fn checks(plugin: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(config) = config(plugin) else { return Vec::new() };
    let mut problems = Vec::new();
    if !PERIODS.iter().any(|(name, _)| is_set(config.get(*name))) {
        let names: Vec<String> = PERIODS.iter().map(|(name, _)| format!("'config.{name}'")).collect();
        problems
            .push(("@entity".into(), format!("at least one of these fields must be non-empty: {}", names.join(", "))));
    }
    if let Some(message) = periods_out_of_order(config) {
        problems.push(("config".into(), message));
    }
    let mut required_when = |if_field: &str, equals: &str, then_field: &str| {
        if config.get(if_field).and_then(Value::as_str) == Some(equals) && !is_set(config.get(then_field)) {
            problems.push((
                "@entity".into(),
                format!("failed conditional validation given value of field 'config.{if_field}'"),
            ));
            problems.push((format!("config.{then_field}"), "required field missing".into()));
        }
    };
    for field in ["redis_host", "redis_port", "redis_timeout"] {
        required_when("policy", "redis", field);
    }
    required_when("limit_by", "header", "header_name");
    required_when("limit_by", "path", "path");
    problems
}

/// Kong's `validate_periods_order`: a longer period may not allow fewer requests than a shorter one.
fn periods_out_of_order(config: &Map<String, Value>) -> Option<String> {
    for (i, (lower, _)) in PERIODS.iter().enumerate() {
        let Some(low) = config.get(*lower).and_then(Value::as_f64) else { continue };
        for (upper, _) in &PERIODS[i + 1..] {
            if let Some(high) = config.get(*upper).and_then(Value::as_f64)
                && high < low
            {
                return Some(format!(
                    "The limit for {upper}({high:.1}) cannot be lower than the limit for {lower}({low:.1})"
                ));
            }
        }
    }
    None
}
