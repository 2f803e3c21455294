//! Certificates, SNIs and CA certificates. The PEM contents are checked by the server (which has the
//! X.509 parser); the model checks shapes.

use serde_json::Value;

use crate::model::EntityKind;
use crate::model::schema::{Check, Field, Schema};
use crate::model::typedefs;

fn pem(name: &'static str, label: &'static str) -> Field {
    Field::string(name).required().check(Check::Custom(if label == "CERTIFICATE" {
        check_cert_pem
    } else {
        check_key_pem
    }))
}

fn check_cert_pem(value: &Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    if text.contains("-----BEGIN CERTIFICATE-----") {
        Ok(())
    } else {
        Err("invalid certificate: unable to load certificate".into())
    }
}

fn check_key_pem(value: &Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
        Ok(())
    } else {
        Err("invalid key: unable to load private key".into())
    }
}

pub fn certificate_schema() -> Schema {
    Schema::new(
        "certificates",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            pem("cert", "CERTIFICATE"),
            pem("key", "PRIVATE KEY"),
            typedefs::tags(),
        ],
    )
}

pub fn sni_schema() -> Schema {
    Schema::new(
        "snis",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            Field::string("name").required().unique().check(Check::Custom(super::route::check_sni_name)),
            typedefs::tags(),
            typedefs::foreign("certificate", EntityKind::Certificates).required(),
        ],
    )
}

pub fn ca_certificate_schema() -> Schema {
    Schema::new(
        "ca_certificates",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            pem("cert", "CERTIFICATE"),
            Field::string("cert_digest").unique(),
            typedefs::tags(),
        ],
    )
}
