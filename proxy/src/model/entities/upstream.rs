//! Upstreams: virtual hostnames balanced over targets, with health checks (`kong/db/schema/entities/upstreams.lua`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::model::EntityKind;
use crate::model::schema::{Check, EntityCheck, Field, Schema};
use crate::model::typedefs::{self, one_of};

pub use super::healthchecks::Healthchecks;

const MAX_COUNTER: i64 = 2_147_483_648;

/// A validated upstream, typed for the engine. Defaults are Kong's, for documents that omit a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upstream {
    pub id: Uuid,
    pub name: String,
    #[serde(default = "round_robin")]
    pub algorithm: String,
    #[serde(default = "none")]
    pub hash_on: String,
    #[serde(default = "none")]
    pub hash_fallback: String,
    #[serde(default)]
    pub hash_on_header: Option<String>,
    #[serde(default)]
    pub hash_fallback_header: Option<String>,
    #[serde(default)]
    pub hash_on_cookie: Option<String>,
    #[serde(default = "root_path")]
    pub hash_on_cookie_path: String,
    #[serde(default = "default_slots")]
    pub slots: u32,
    #[serde(default)]
    pub healthchecks: Healthchecks,
    #[serde(default)]
    pub host_header: Option<String>,
}

fn round_robin() -> String {
    "round-robin".into()
}

fn none() -> String {
    "none".into()
}

fn root_path() -> String {
    "/".into()
}

fn default_slots() -> u32 {
    10_000
}

fn statuses(name: &'static str, default: Value) -> Field {
    Field::array(name, Field::integer("").check(Check::Between(100, 999))).default(default)
}

fn counter(name: &'static str) -> Field {
    Field::integer(name).default(json!(0)).check(Check::Between(0, MAX_COUNTER))
}

fn seconds(name: &'static str, default: Value) -> Field {
    Field::number(name).default(default).check(Check::Between(0, 65535))
}

fn check_type(default: &str) -> Field {
    Field::string("type").default(json!(default)).check(one_of(&["tcp", "http", "https", "grpc", "grpcs"]))
}

/// The `healthchecks` record with Kong 2.2.1's defaults.
fn healthchecks() -> Field {
    let active = Field::record(
        "active",
        vec![
            check_type("http"),
            seconds("timeout", json!(1)),
            Field::integer("concurrency").default(json!(10)).check(Check::Between(1, MAX_COUNTER)),
            typedefs::path("http_path").default(json!("/")),
            typedefs::host("https_sni"),
            Field::boolean("https_verify_certificate").default(json!(true)),
            Field::record(
                "healthy",
                vec![seconds("interval", json!(0)), statuses("http_statuses", json!([200, 302])), counter("successes")],
            )
            .required(),
            Field::record(
                "unhealthy",
                vec![
                    seconds("interval", json!(0)),
                    statuses("http_statuses", json!([429, 404, 500, 501, 502, 503, 504, 505])),
                    counter("tcp_failures"),
                    counter("timeouts"),
                    counter("http_failures"),
                ],
            )
            .required(),
        ],
    )
    .required();
    let passive = Field::record(
        "passive",
        vec![
            check_type("http"),
            Field::record(
                "healthy",
                vec![
                    statuses(
                        "http_statuses",
                        json!([
                            200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307,
                            308
                        ]),
                    ),
                    counter("successes"),
                ],
            )
            .required(),
            Field::record(
                "unhealthy",
                vec![
                    statuses("http_statuses", json!([429, 500, 503])),
                    counter("tcp_failures"),
                    counter("timeouts"),
                    counter("http_failures"),
                ],
            )
            .required(),
        ],
    )
    .required();
    Field::record(
        "healthchecks",
        vec![active, passive, Field::number("threshold").default(json!(0)).check(Check::Between(0, 100))],
    )
    .required()
}

pub fn schema() -> Schema {
    let hash = |name: &'static str| {
        Field::string(name).default(json!("none")).check(one_of(&["none", "consumer", "ip", "header", "cookie"]))
    };
    Schema::new(
        "upstreams",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            Field::string("name").required().unique().check(Check::Custom(check_upstream_name)),
            Field::string("algorithm").default(json!("round-robin")).check(one_of(&[
                "consistent-hashing",
                "least-connections",
                "round-robin",
            ])),
            hash("hash_on"),
            hash("hash_fallback"),
            Field::string("hash_on_header").check(Check::Custom(typedefs::check_header_name)),
            Field::string("hash_fallback_header").check(Check::Custom(typedefs::check_header_name)),
            Field::string("hash_on_cookie"),
            typedefs::path("hash_on_cookie_path").default(json!("/")),
            Field::integer("slots").default(json!(10000)).check(Check::Between(10, 65536)),
            healthchecks(),
            typedefs::tags(),
            typedefs::host_with_optional_port("host_header"),
            typedefs::foreign("client_certificate", EntityKind::Certificates),
        ],
    )
    .entity_check(EntityCheck::Custom(hashing_rules))
}

fn check_upstream_name(value: &Value) -> Result<(), String> {
    let name = value.as_str().unwrap_or_default();
    let (host, port) = typedefs::split_host_port(name);
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err("Invalid name; no ip addresses allowed".into());
    }
    if port.is_some() {
        return Err("Invalid name; no port allowed".into());
    }
    if typedefs::is_hostname(host) { Ok(()) } else { Err("Invalid name; must be a valid hostname".into()) }
}

fn hashing_rules(upstream: &Map<String, Value>) -> Vec<(String, String)> {
    let get = |f: &str| upstream.get(f).and_then(Value::as_str).unwrap_or("none");
    let (on, fallback) = (get("hash_on"), get("hash_fallback"));
    let mut errors = Vec::new();
    if (on == "none" || on == "cookie") && fallback != "none" {
        errors.push(("hash_fallback".into(), "expected one of: none".into()));
    }
    if on == fallback && on != "none" && on != "header" {
        errors.push(("@entity".into(), "values of these fields must be distinct: 'hash_on', 'hash_fallback'".into()));
    }
    if on == "header" && upstream["hash_on_header"].is_null() {
        errors.push(("hash_on_header".into(), "required field missing".into()));
    }
    if fallback == "header" && upstream["hash_fallback_header"].is_null() {
        errors.push(("hash_fallback_header".into(), "required field missing".into()));
    }
    if on == "header" && fallback == "header" && upstream["hash_on_header"] == upstream["hash_fallback_header"] {
        errors.push((
            "@entity".into(),
            "values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'".into(),
        ));
    }
    if (on == "cookie" || fallback == "cookie") && upstream["hash_on_cookie"].is_null() {
        errors.push(("hash_on_cookie".into(), "required field missing".into()));
    }
    errors
}

/// Kong's shorthands: hashing forces `consistent-hashing`, and the algorithm without hashing resets it.
pub fn apply_shorthands(body: &mut Map<String, Value>) {
    let hash_on = body.get("hash_on").and_then(Value::as_str).map(str::to_string);
    let algorithm = body.get("algorithm").and_then(Value::as_str).map(str::to_string);
    match (hash_on.as_deref(), algorithm.as_deref()) {
        (Some(on), _) if on != "none" => {
            body.insert("algorithm".into(), json!("consistent-hashing"));
        }
        (Some("none"), Some("consistent-hashing")) => {
            body.insert("algorithm".into(), json!("round-robin"));
        }
        (_, Some("least-connections")) => {
            body.insert("hash_on".into(), json!("none"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_carry_the_full_healthchecks_record() {
        let upstream = schema().process(&json!({"name": "backend.svc"})).unwrap();
        assert_eq!(upstream["slots"], 10000);
        assert_eq!(upstream["algorithm"], "round-robin");
        assert_eq!(
            upstream["healthchecks"]["active"]["unhealthy"]["http_statuses"],
            json!([429, 404, 500, 501, 502, 503, 504, 505])
        );
        assert_eq!(upstream["healthchecks"]["passive"]["unhealthy"]["http_statuses"], json!([429, 500, 503]));
        assert_eq!(upstream["healthchecks"]["active"]["https_verify_certificate"], true);
        assert_eq!(upstream["healthchecks"]["threshold"], 0);
        assert_eq!(upstream["hash_on_cookie_path"], "/");
    }

    #[test]
    fn names_must_be_hostnames_and_hashing_needs_its_parameters() {
        let err = schema().process(&json!({"name": "10.0.0.1"})).unwrap_err();
        assert_eq!(err.fields["name"], "Invalid name; no ip addresses allowed");
        let err = schema().process(&json!({"name": "a.com:80"})).unwrap_err();
        assert_eq!(err.fields["name"], "Invalid name; no port allowed");
        let err = schema().process(&json!({"name": "a", "hash_on": "header"})).unwrap_err();
        assert_eq!(err.fields["hash_on_header"], "required field missing");
        let err = schema().process(&json!({"name": "a", "slots": 5})).unwrap_err();
        assert_eq!(err.fields["slots"], "value should be between 10 and 65536");
    }

    #[test]
    fn hashing_shorthands() {
        let mut body = json!({"hash_on": "ip"}).as_object().unwrap().clone();
        apply_shorthands(&mut body);
        assert_eq!(body["algorithm"], "consistent-hashing");
        let mut body = json!({"algorithm": "least-connections", "hash_on": "none"}).as_object().unwrap().clone();
        apply_shorthands(&mut body);
        assert_eq!(body["hash_on"], "none");
    }
}
