//! What the model cannot check without X.509 code: certificate/key pairs, CA certificates (a CA, not
//! expired, its SHA-256 digest), and the `snis` pseudo-field of certificates.

use proxy::model::schema::SchemaViolation;
use serde_json::{Map, Value, json};
use x509_parser::pem::parse_x509_pem;

/// Checks a validated entity's PEM contents and fills what derives from them.
pub fn check(kind: proxy::model::EntityKind, doc: &mut Value) -> Result<(), SchemaViolation> {
    use proxy::model::EntityKind;
    match kind {
        EntityKind::Certificates => {
            let (cert, key) = (doc["cert"].as_str().unwrap_or_default(), doc["key"].as_str().unwrap_or_default());
            proxy::tls::check_pem_pair(cert, key).map_err(|(field, message)| match field {
                "@entity" => SchemaViolation::entity(message),
                field => SchemaViolation::field(field, message),
            })
        }
        EntityKind::CaCertificates => {
            let digest =
                check_ca(doc["cert"].as_str().unwrap_or_default()).map_err(|m| SchemaViolation::field("cert", m))?;
            doc["cert_digest"] = json!(digest);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One PEM certificate that is a CA and has not expired; returns its SHA-256 digest in hex.
fn check_ca(pem_text: &str) -> Result<String, String> {
    let (rest, pem) = parse_x509_pem(pem_text.as_bytes())
        .map_err(|_| "invalid certificate: unable to load certificate".to_string())?;
    if parse_x509_pem(rest).is_ok() {
        return Err("please submit only one certificate at a time".into());
    }
    let cert = pem.parse_x509().map_err(|_| "invalid certificate: unable to load certificate".to_string())?;
    let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
    if !is_ca {
        return Err("certificate does not appear to be a CA because it is missing the \"CA\" basic constraint".into());
    }
    if !cert.validity().is_valid() {
        return Err("certificate expired, \"Not After\" time is in the past".into());
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &pem.contents);
    Ok(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

/// The `snis` a certificate body names: `None` when absent (PATCH keeps them), `Some(empty)` for `null`.
pub fn take_snis(input: &mut Map<String, Value>) -> Result<Option<Vec<String>>, SchemaViolation> {
    let Some(value) = input.remove("snis") else { return Ok(None) };
    let names: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(name) => vec![name],
        Value::Array(items) => items
            .into_iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| SchemaViolation::field("snis", "expected a string"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(SchemaViolation::field("snis", "expected a set")),
    };
    let mut seen = std::collections::HashSet::new();
    for name in &names {
        if !seen.insert(name) {
            return Err(SchemaViolation::field("snis", format!("{name} is duplicated")));
        }
    }
    Ok(Some(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_certificates_must_be_cas() {
        let mut params = rcgen::CertificateParams::new(vec!["ca.example".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        let digest = check_ca(&ca.pem()).unwrap();
        assert_eq!(digest.len(), 64);
        let leaf = rcgen::generate_simple_self_signed(vec!["leaf.example".into()]).unwrap();
        assert!(check_ca(&leaf.cert.pem()).unwrap_err().contains("CA"));
        assert!(check_ca("junk").is_err());
        assert!(check_ca(&format!("{}{}", ca.pem(), ca.pem())).unwrap_err().contains("only one"));
    }

    #[test]
    fn snis_duplicates_are_refused_and_null_clears() {
        let mut input = json!({"snis": ["a.com", "a.com"]}).as_object().unwrap().clone();
        assert_eq!(take_snis(&mut input).unwrap_err().fields["snis"], "a.com is duplicated");
        let mut input = json!({"snis": null}).as_object().unwrap().clone();
        assert_eq!(take_snis(&mut input).unwrap(), Some(vec![]));
        let mut input = Map::new();
        assert_eq!(take_snis(&mut input).unwrap(), None);
    }
}
