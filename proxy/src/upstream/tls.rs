//! A service's TLS to its upstream (`proxy.md` §8.3): `tls_verify` (null → the node's `proxy_ssl_verify`),
//! `ca_certificates`, `client_certificate`. Built once per snapshot and shared by every request of the
//! service; its fingerprint joins the pool key so a pooled connection is only reused under the same TLS
//! identity.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

use crate::model::entities::service::Service;
use crate::tls::client::{Verification, client_config};
use crate::tls::from_pem_text;

/// A stored `certificates` row (a client certificate candidate).
#[derive(Debug, Clone)]
pub struct StoredCertificate {
    pub cert: String,
    pub key: String,
}

/// The PEM texts TLS profiles are built from: `certificates` and `ca_certificates` by id.
#[derive(Debug, Clone, Default)]
pub struct CertificateStore {
    pub certificates: HashMap<Uuid, StoredCertificate>,
    pub ca_certificates: HashMap<Uuid, String>,
}

/// The TLS a service uses towards its upstream.
#[derive(Clone)]
pub struct UpstreamTls {
    pub connector: TlsConnector,
    /// Equal for equal verification, CA set and client certificate.
    pub fingerprint: u64,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls").field("fingerprint", &self.fingerprint).finish()
    }
}

impl UpstreamTls {
    /// The profile of an `https` service; an error names what could not be loaded (the service then fails
    /// closed with 502 rather than talking to its upstream with weaker TLS than configured).
    pub fn for_service(
        service: &Service,
        default_verify: bool,
        store: &CertificateStore,
    ) -> Result<UpstreamTls, String> {
        let mut fingerprint = std::collections::hash_map::DefaultHasher::new();
        let verify = service.tls_verify.unwrap_or(default_verify);
        let verification = match (&service.ca_certificates, verify) {
            (_, false) => Verification::Off,
            (None, true) => Verification::PublicRoots,
            (Some(ids), true) if ids.is_empty() => Verification::PublicRoots,
            (Some(ids), true) => {
                let mut roots = Vec::new();
                for id in ids {
                    let pem = store.ca_certificates.get(id).ok_or_else(|| format!("CA certificate {id} not found"))?;
                    pem.hash(&mut fingerprint);
                    for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                        roots.push(certificate.map_err(|e| format!("CA certificate {id}: {e}"))?);
                    }
                }
                Verification::Roots(roots)
            }
        };
        verify.hash(&mut fingerprint);
        let identity = match &service.client_certificate {
            Some(reference) => {
                let stored = store
                    .certificates
                    .get(&reference.id)
                    .ok_or_else(|| format!("client certificate {} not found", reference.id))?;
                stored.cert.hash(&mut fingerprint);
                Some(from_pem_text(&stored.cert, &stored.key).map_err(|e| format!("client certificate: {e}"))?)
            }
            None => None,
        };
        let config = client_config(&verification, identity.as_ref()).map_err(|e| e.to_string())?;
        Ok(UpstreamTls {
            connector: TlsConnector::from(std::sync::Arc::new(config)),
            fingerprint: fingerprint.finish(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entities::Reference;

    fn service(fields: serde_json::Value) -> Service {
        let mut base = serde_json::json!({"id": Uuid::new_v4(), "protocol": "https", "host": "a.example",
            "port": 443, "retries": 0, "connect_timeout": 1, "write_timeout": 1, "read_timeout": 1});
        base.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn fingerprints_follow_the_tls_identity() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).unwrap();
        let client = rcgen::generate_simple_self_signed(vec!["client.example".into()]).unwrap();
        let (ca_id, cert_id) = (Uuid::new_v4(), Uuid::new_v4());
        let mut store = CertificateStore::default();
        store.ca_certificates.insert(ca_id, ca.cert.pem());
        store
            .certificates
            .insert(cert_id, StoredCertificate { cert: client.cert.pem(), key: client.key_pair.serialize_pem() });
        let fingerprint = |fields, default_verify| {
            UpstreamTls::for_service(&service(fields), default_verify, &store).map(|tls| tls.fingerprint)
        };
        let plain = fingerprint(serde_json::json!({}), false).unwrap();
        assert_eq!(plain, fingerprint(serde_json::json!({"tls_verify": false}), true).unwrap());
        assert_ne!(plain, fingerprint(serde_json::json!({}), true).unwrap(), "verification changes the identity");
        let with_ca = fingerprint(serde_json::json!({"tls_verify": true, "ca_certificates": [ca_id]}), false).unwrap();
        assert_ne!(with_ca, fingerprint(serde_json::json!({"tls_verify": true}), false).unwrap());
        let reference = Reference { id: cert_id };
        let mtls = fingerprint(serde_json::json!({"client_certificate": reference}), false).unwrap();
        assert_ne!(plain, mtls, "a client certificate changes the identity");
    }

    #[test]
    fn missing_certificates_fail_closed() {
        let store = CertificateStore::default();
        let missing_ca = service(serde_json::json!({"tls_verify": true, "ca_certificates": [Uuid::new_v4()]}));
        assert!(UpstreamTls::for_service(&missing_ca, false, &store).unwrap_err().contains("not found"));
        let missing_cert = service(serde_json::json!({"client_certificate": {"id": Uuid::new_v4()}}));
        assert!(UpstreamTls::for_service(&missing_cert, false, &store).unwrap_err().contains("not found"));
    }
}
