//! Services: the upstream applications Gatehouse proxies to (`kong/db/schema/entities/services.lua`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::model::EntityKind;
use crate::model::schema::{Check, EntityCheck, Field, Schema, SchemaViolation};
use crate::model::typedefs::{self, one_of};

/// A validated service, typed for the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: Uuid,
    #[serde(default)]
    pub name: Option<String>,
    pub protocol: String,
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub path: Option<String>,
    pub retries: u32,
    pub connect_timeout: u64,
    pub write_timeout: u64,
    pub read_timeout: u64,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// `https` only: verify the upstream's certificate; null → the node's `proxy_ssl_verify`.
    #[serde(default)]
    pub tls_verify: Option<bool>,
    #[serde(default)]
    pub tls_verify_depth: Option<u32>,
    /// `https` only: the CA certificates (ids) the upstream's chain must lead to; null → Mozilla's roots.
    #[serde(default)]
    pub ca_certificates: Option<Vec<Uuid>>,
    /// `https` only: the certificate presented to the upstream (mTLS).
    #[serde(default)]
    pub client_certificate: Option<crate::model::entities::Reference>,
}

fn enabled() -> bool {
    true
}

pub fn schema() -> Schema {
    Schema::new(
        "services",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            typedefs::updated_at(),
            typedefs::name(),
            Field::integer("retries").default(json!(5)).check(Check::Between(0, 32767)),
            Field::string("protocol")
                .required()
                .default(json!("http"))
                .check(one_of(&["grpc", "grpcs", "http", "https", "tcp", "tls", "udp"])),
            typedefs::host("host").required(),
            typedefs::port("port").required().default(json!(80)),
            typedefs::path("path"),
            typedefs::nonzero_timeout("connect_timeout"),
            typedefs::nonzero_timeout("write_timeout"),
            typedefs::nonzero_timeout("read_timeout"),
            typedefs::tags(),
            typedefs::foreign("client_certificate", EntityKind::Certificates),
            Field::boolean("tls_verify"),
            Field::integer("tls_verify_depth").check(Check::Between(0, 64)),
            Field::array("ca_certificates", Field::string("").check(Check::Uuid)),
            Field::boolean("enabled").required().default(json!(true)),
        ],
    )
    .entity_check(EntityCheck::Custom(protocol_rules))
}

fn protocol_rules(service: &Map<String, Value>) -> Vec<(String, String)> {
    let protocol = service.get("protocol").and_then(Value::as_str).unwrap_or("http");
    let mut errors = Vec::new();
    if matches!(protocol, "tcp" | "tls" | "udp" | "grpc" | "grpcs") && !service["path"].is_null() {
        errors.push(("path".into(), "value must be null".into()));
        errors.push(("@entity".into(), "failed conditional validation given value of field 'protocol'".into()));
    }
    if protocol != "https" {
        for field in ["client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"] {
            if !service[field].is_null() {
                errors.push((field.into(), "value must be null".into()));
                errors.push(("@entity".into(), "failed conditional validation given value of field 'protocol'".into()));
            }
        }
    }
    errors.dedup();
    errors
}

/// Expands the write-only `url` shorthand into `protocol`, `host`, `port` and `path`.
pub fn expand_url(body: &mut Map<String, Value>) -> Result<(), SchemaViolation> {
    let Some(url) = body.remove("url") else { return Ok(()) };
    if url.is_null() {
        return Ok(());
    }
    let Some(url) = url.as_str() else { return Err(SchemaViolation::field("url", "expected a string")) };
    let invalid = || {
        let mut violation = SchemaViolation::field("host", "required field missing");
        violation.merge(SchemaViolation::field("protocol", "required field missing"));
        violation
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    if scheme.is_empty() || rest.is_empty() {
        return Err(invalid());
    }
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let (host, port) = typedefs::split_host_port(authority);
    let port = match port {
        Some(port) => {
            Value::from(port.parse::<i64>().map_err(|_| SchemaViolation::field("port", "expected an integer"))?)
        }
        None => json!(if scheme == "https" || scheme == "grpcs" || scheme == "tls" { 443 } else { 80 }),
    };
    body.insert("protocol".into(), json!(scheme));
    body.insert("host".into(), json!(host));
    body.insert("port".into(), port);
    body.insert("path".into(), path.map(Value::from).unwrap_or(Value::Null));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_shorthand_expands_with_default_ports() {
        let mut body = json!({"url": "https://example.com/api"}).as_object().unwrap().clone();
        expand_url(&mut body).unwrap();
        let service = schema().process(&Value::Object(body)).unwrap();
        assert_eq!(service["protocol"], "https");
        assert_eq!(service["port"], 443);
        assert_eq!(service["path"], "/api");
        assert_eq!(service["retries"], 5);
        assert_eq!(service["connect_timeout"], 60000);
        assert_eq!(service["enabled"], true);
    }

    #[test]
    fn an_empty_url_names_host_and_protocol() {
        let mut body = json!({"url": "nope"}).as_object().unwrap().clone();
        let err = expand_url(&mut body).unwrap_err();
        assert!(err.fields.contains_key("host") && err.fields.contains_key("protocol"));
    }

    #[test]
    fn tls_settings_need_https() {
        let err = schema().process(&json!({"host": "h", "protocol": "http", "tls_verify": true})).unwrap_err();
        assert_eq!(err.fields["tls_verify"], "value must be null");
        assert!(schema().process(&json!({"host": "h", "protocol": "https", "tls_verify": true})).is_ok());
    }
}
