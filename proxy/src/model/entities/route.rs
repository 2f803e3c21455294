//! Routes: the rules that match client requests to services (`kong/db/schema/entities/routes.lua` and
//! `routes_subschemas.lua`; the protocol-dependent rules are the subschemas).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Reference;

use crate::model::EntityKind;
use crate::model::schema::{Check, Field, Schema};
use crate::model::typedefs::{self, one_of};

/// A validated route, typed for the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub id: Uuid,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<String>,
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub snis: Option<Vec<String>>,
    #[serde(default = "default_redirect")]
    pub https_redirect_status_code: u16,
    #[serde(default)]
    pub regex_priority: i64,
    #[serde(default = "yes")]
    pub strip_path: bool,
    #[serde(default = "default_path_handling")]
    pub path_handling: String,
    #[serde(default)]
    pub preserve_host: bool,
    #[serde(default)]
    pub service: Option<Reference>,
}

fn default_protocols() -> Vec<String> {
    vec!["http".into(), "https".into()]
}

fn default_redirect() -> u16 {
    426
}

fn yes() -> bool {
    true
}

fn default_path_handling() -> String {
    "v0".into()
}

pub fn schema() -> Schema {
    let endpoint = Field::record(
        "",
        vec![Field::string("ip").check(Check::Custom(typedefs::check_ip_or_cidr)), typedefs::port("port")],
    )
    .check(Check::Custom(ip_or_port));
    Schema::new(
        "routes",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            typedefs::updated_at(),
            typedefs::name(),
            Field::set(
                "protocols",
                Field::string("").check(one_of(&["grpc", "grpcs", "http", "https", "tcp", "tls", "udp"])),
            )
            .required()
            .default(json!(["http", "https"]))
            .check(Check::LenMin(1))
            .check(Check::Custom(exclusive_protocols)),
            Field::set("methods", Field::string("").check(Check::Custom(typedefs::check_http_method))),
            Field::array("hosts", Field::string("").check(Check::Custom(check_route_host))),
            Field::array(
                "paths",
                Field::string("").check(Check::StartsWith("/")).check(Check::Custom(check_route_path)),
            ),
            Field::map(
                "headers",
                Field::string("").check(Check::Custom(check_header_key)),
                Field::array("", Field::string("")),
            ),
            Field::integer("https_redirect_status_code").required().default(json!(426)).check(Check::OneOf(vec![
                json!(426),
                json!(301),
                json!(302),
                json!(307),
                json!(308),
            ])),
            Field::integer("regex_priority").required().default(json!(0)),
            Field::boolean("strip_path").required().default(json!(true)),
            Field::string("path_handling").default(json!("v0")).check(one_of(&["v0", "v1"])),
            Field::boolean("preserve_host").required().default(json!(false)),
            Field::boolean("request_buffering").required().default(json!(true)),
            Field::boolean("response_buffering").required().default(json!(true)),
            Field::set("snis", Field::string("").check(Check::Custom(check_sni_name))),
            Field::set("sources", endpoint.clone()),
            Field::set("destinations", endpoint),
            typedefs::tags(),
            typedefs::foreign("service", EntityKind::Services),
        ],
    )
    .entity_check(crate::model::schema::EntityCheck::Custom(protocol_rules))
}

fn ip_or_port(value: &Value) -> Result<(), String> {
    if value["ip"].is_null() && value["port"].is_null() {
        Err("at least one of these fields must be non-empty: 'ip', 'port'".into())
    } else {
        Ok(())
    }
}

fn exclusive_protocols(value: &Value) -> Result<(), String> {
    let protocols: Vec<&str> = value.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let families = [&["http", "https"][..], &["tcp", "tls", "udp"], &["grpc", "grpcs"]];
    let used = families.iter().filter(|family| protocols.iter().any(|p| family.contains(p))).count();
    if used > 1 {
        Err("these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'), ('grpc', 'grpcs')".into())
    } else {
        Ok(())
    }
}

/// Route hosts may carry a port and one wildcard, as a whole leftmost or rightmost label.
fn check_route_host(value: &Value) -> Result<(), String> {
    let host = value.as_str().unwrap_or_default();
    let stars = host.matches('*').count();
    if stars > 1 {
        return Err("invalid wildcard: must have at most one wildcard".into());
    }
    let (name, port) = typedefs::split_host_port(host);
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(format!("invalid value: {host}"));
    }
    if stars == 1 {
        let valid_position = name.starts_with("*.") || name.ends_with(".*");
        if !valid_position {
            return Err("invalid wildcard: must be placed at leftmost or rightmost label".into());
        }
        let rest = name.replacen("*.", "", 1).replacen(".*", "", 1);
        return if typedefs::is_hostname(&rest) { Ok(()) } else { Err(format!("invalid value: {host}")) };
    }
    if typedefs::is_hostname(name) || name.parse::<std::net::IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!("invalid value: {host}"))
    }
}

/// Kong's detection rule: a path with characters outside `[a-zA-Z0-9.\-_~/%]` is a regex.
pub fn is_regex_path(path: &str) -> bool {
    !path.chars().all(|c| c.is_ascii_alphanumeric() || ".-_~/%".contains(c))
}

fn check_route_path(value: &Value) -> Result<(), String> {
    let path = value.as_str().unwrap_or_default();
    if !is_regex_path(path) {
        return typedefs::check_path(value);
    }
    if path.contains("//") {
        return Err("must not have empty segments".into());
    }
    regex::Regex::new(path).map(|_| ()).map_err(|e| {
        let detail = e.to_string().lines().last().unwrap_or_default().trim().to_string();
        format!("invalid regex: '{path}' (PCRE returned: {detail})")
    })
}

fn check_header_key(value: &Value) -> Result<(), String> {
    let name = value.as_str().unwrap_or_default();
    if name.eq_ignore_ascii_case("host") {
        return Err("cannot contain 'host' header, which must be specified in the 'hosts' attribute".into());
    }
    typedefs::check_header_name(value)
}

/// SNI names: hostnames with at most one wildcard as the leftmost or rightmost label, no IPs, no ports.
pub fn check_sni_name(value: &Value) -> Result<(), String> {
    let name = value.as_str().unwrap_or_default();
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err("must not be an IP".into());
    }
    if typedefs::split_host_port(name).1.is_some() {
        return Err("must not have a port".into());
    }
    check_route_host(value)
}

fn protocol_rules(route: &Map<String, Value>) -> Vec<(String, String)> {
    let protocols: Vec<&str> = route["protocols"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let has = |p: &str| protocols.contains(&p);
    let set = |field: &str| match &route[field] {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(entries) => !entries.is_empty(),
        _ => true,
    };
    let quoted = |fields: &[&str]| fields.iter().map(|f| format!("'{f}'")).collect::<Vec<_>>().join(", ");
    let mut errors = Vec::new();
    let require = |fields: &[&str], when: &str, errors: &mut Vec<(String, String)>| {
        if !fields.iter().any(|f| set(f)) {
            errors.push(("@entity".into(), format!("must set one of {} when 'protocols' is {when}", quoted(fields))));
        }
    };
    let forbid = |fields: &[&str], when: &str, errors: &mut Vec<(String, String)>| {
        for field in fields.iter().filter(|f| set(f)) {
            errors.push((field.to_string(), format!("cannot set '{field}' when 'protocols' is {when}")));
        }
    };
    if has("http") || has("https") {
        if has("https") {
            require(&["methods", "hosts", "headers", "paths", "snis"], "'https'", &mut errors);
        } else {
            require(&["methods", "hosts", "headers", "paths"], "'http'", &mut errors);
            if set("snis") {
                errors.push((
                    "snis".into(),
                    "'snis' can only be set when 'protocols' is 'grpcs', 'https' or 'tls'".into(),
                ));
            }
        }
        forbid(&["sources", "destinations"], "'http' or 'https'", &mut errors);
    } else if has("tcp") || has("tls") || has("udp") {
        require(&["sources", "destinations", "snis"], "'tcp', 'tls' or 'udp'", &mut errors);
        forbid(&["methods", "hosts", "paths", "headers"], "'tcp', 'tls' or 'udp'", &mut errors);
    } else if has("grpc") || has("grpcs") {
        if has("grpcs") {
            require(&["hosts", "headers", "paths", "snis"], "'grpcs'", &mut errors);
        } else {
            require(&["hosts", "headers", "paths"], "'grpc'", &mut errors);
        }
        forbid(&["methods", "sources", "destinations"], "'grpc' or 'grpcs'", &mut errors);
        if route["strip_path"] == json!(true) {
            errors.push(("strip_path".into(), "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'".into()));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_https_requirement() {
        let route = schema().process(&json!({"paths": ["/api"]})).unwrap();
        assert_eq!(route["protocols"], json!(["http", "https"]));
        assert_eq!(route["strip_path"], true);
        assert_eq!(route["https_redirect_status_code"], 426);
        assert_eq!(route["path_handling"], "v0");
        let err = schema().process(&json!({})).unwrap_err();
        assert_eq!(
            err.message(),
            "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')"
        );
    }

    #[test]
    fn regex_paths_must_compile_and_hosts_follow_wildcard_rules() {
        assert!(schema().process(&json!({"paths": [r"/users/\d+"]})).is_ok());
        let err = schema().process(&json!({"paths": ["/users/(unclosed"]})).unwrap_err();
        assert!(err.message().contains("invalid regex: '/users/(unclosed'"), "{}", err.message());
        let err = schema().process(&json!({"hosts": ["*.*.example.com"]})).unwrap_err();
        assert_eq!(err.fields["hosts"][0], "invalid wildcard: must have at most one wildcard");
        let err = schema().process(&json!({"hosts": ["a.*.example.com"]})).unwrap_err();
        assert_eq!(err.fields["hosts"][0], "invalid wildcard: must be placed at leftmost or rightmost label");
        assert!(schema().process(&json!({"hosts": ["*.example.com", "example.*", "example.com:8000"]})).is_ok());
    }

    #[test]
    fn host_header_and_stream_fields_are_refused_on_http_routes() {
        let err = schema().process(&json!({"headers": {"Host": ["x"]}})).unwrap_err();
        assert_eq!(
            err.fields["headers"]["Host"],
            "cannot contain 'host' header, which must be specified in the 'hosts' attribute"
        );
        let err = schema().process(&json!({"paths": ["/"], "sources": [{"ip": "10.0.0.1"}]})).unwrap_err();
        assert_eq!(err.fields["sources"], "cannot set 'sources' when 'protocols' is 'http' or 'https'");
        let err = schema().process(&json!({"protocols": ["http"], "paths": ["/"], "snis": ["a.com"]})).unwrap_err();
        assert_eq!(err.fields["snis"], "'snis' can only be set when 'protocols' is 'grpcs', 'https' or 'tls'");
        let err = schema().process(&json!({"protocols": ["http", "tcp"], "paths": ["/"]})).unwrap_err();
        assert!(err.fields["protocols"].as_str().unwrap().starts_with("these sets are mutually exclusive"));
    }
}
