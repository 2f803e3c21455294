//! TLS for the listeners: the default certificate (generated once and kept in the prefix until certificates
//! are configured) and the rustls server configuration (TLS 1.2+, ALPN h2 and http/1.1). Client
//! configurations (upstreams, health probes) are in [`client`].

pub mod client;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
pub use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no usable PEM {what}: {detail}")]
    Pem { path: PathBuf, what: &'static str, detail: String },
    #[error("cannot generate the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate chain with its private key, as rustls wants them.
#[derive(Debug)]
pub struct CertifiedKey {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for CertifiedKey {
    fn clone(&self) -> Self {
        CertifiedKey { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

impl CertifiedKey {
    /// Loads a PEM certificate chain and a PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::Pem { path: cert.into(), what: "certificate", detail: e.to_string() })?;
        if chain.is_empty() {
            return Err(TlsError::Pem { path: cert.into(), what: "certificate", detail: "empty file".into() });
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
            path: key.into(),
            what: "private key",
            detail: e.to_string(),
        })?;
        Ok(CertifiedKey { chain, key })
    }

    /// The default certificate kept in `dir` (`gatehouse-default.crt` / `.key`), generated self-signed for
    /// `names` at the first start and reused afterwards so clients can pin it across restarts.
    pub fn load_or_generate_default(dir: &Path, names: &[String]) -> Result<Self, TlsError> {
        let cert_path = dir.join("gatehouse-default.crt");
        let key_path = dir.join("gatehouse-default.key");
        if !(cert_path.exists() && key_path.exists()) {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Io { path: dir.into(), source })?;
            let generated = rcgen::generate_simple_self_signed(names.to_vec())?;
            write_file(&cert_path, generated.cert.pem().as_bytes(), 0o644)?;
            write_file(&key_path, generated.key_pair.serialize_pem().as_bytes(), 0o600)?;
        }
        CertifiedKey::from_pem_files(&cert_path, &key_path)
    }
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| TlsError::Io { path: path.into(), source };
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path).map_err(io)?;
    file.write_all(contents).map_err(io)
}

/// The rustls configuration of an `ssl` listener serving `cert`: TLS 1.2 and 1.3, ALPN h2 then http/1.1.
pub fn server_config(cert: &CertifiedKey) -> Result<Arc<ServerConfig>, TlsError> {
    // A resolver with no names serves the default certificate to everyone: one way to build a config.
    sni_server_config(Arc::new(SniResolver::new(cert)?))
}

/// Certificates chosen by the SNI a client sends (`snis` of the Admin API), with the default certificate
/// for every other name and for clients that send none. Exact names first, then `*.` wildcards.
#[derive(Debug)]
pub struct SniResolver {
    default: Arc<rustls::sign::CertifiedKey>,
    by_name: arc_swap::ArcSwap<std::collections::HashMap<String, Arc<rustls::sign::CertifiedKey>>>,
}

impl SniResolver {
    pub fn new(default: &CertifiedKey) -> Result<SniResolver, TlsError> {
        Ok(SniResolver { default: signing(default)?, by_name: arc_swap::ArcSwap::from_pointee(Default::default()) })
    }

    /// Replaces the certificates by name (lower-case SNI or `*.suffix`).
    pub fn install(&self, by_name: std::collections::HashMap<String, Arc<rustls::sign::CertifiedKey>>) {
        self.by_name.store(Arc::new(by_name));
    }

    fn find(&self, name: &str) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let names = self.by_name.load();
        let name = name.to_ascii_lowercase();
        if let Some(found) = names.get(&name) {
            return Some(found.clone());
        }
        let (_, parent) = name.split_once('.')?;
        names.get(&format!("*.{parent}")).cloned()
    }
}

impl rustls::server::ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(hello.server_name().and_then(|name| self.find(name)).unwrap_or_else(|| self.default.clone()))
    }
}

/// A certificate and key as rustls signs with them.
pub fn signing(cert: &CertifiedKey) -> Result<Arc<rustls::sign::CertifiedKey>, TlsError> {
    let key = rustls::crypto::ring::sign::any_supported_type(&cert.key)?;
    let certified = rustls::sign::CertifiedKey::new(cert.chain.clone(), key);
    certified.keys_match()?;
    Ok(Arc::new(certified))
}

/// Parses PEM text into a certificate and key (stored certificates).
pub fn from_pem_text(cert: &str, key: &str) -> Result<CertifiedKey, TlsError> {
    let pem = |what: &'static str, detail: String| TlsError::Pem {
        path: PathBuf::from("(stored certificate)"),
        what,
        detail,
    };
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem("certificate", e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| pem("private key", e.to_string()))?;
    Ok(CertifiedKey { chain, key })
}

/// The rustls configuration of the proxy's `ssl` listeners: certificates chosen by SNI.
pub fn sni_server_config(resolver: Arc<SniResolver>) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Checks a certificate and key given as PEM text (Admin API `certificates`): both parse, and the key is the
/// certificate's. Errors are `(field, message)` in Kong's words.
pub fn check_pem_pair(cert: &str, key: &str) -> Result<(), (&'static str, String)> {
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|chain| !chain.is_empty())
        .ok_or(("cert", "invalid certificate: unable to load certificate".to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|_| ("key", "invalid key: unable to load private key".to_string()))?;
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|_| ("key", "invalid key: unsupported key type".to_string()))?;
    rustls::sign::CertifiedKey::new(chain, signing_key)
        .keys_match()
        .map_err(|_| ("@entity", "certificate does not match key".to_string()))
}

/// The acceptor of `ssl` listeners serving `cert`.
pub fn acceptor(cert: &CertifiedKey) -> Result<TlsAcceptor, TlsError> {
    Ok(TlsAcceptor::from(server_config(cert)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_certificate_is_generated_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("gatehouse-tls-{}", uuid::Uuid::new_v4()));
        let first = CertifiedKey::load_or_generate_default(&dir, &["localhost".into()]).unwrap();
        let second = CertifiedKey::load_or_generate_default(&dir, &["localhost".into()]).unwrap();
        assert_eq!(first.chain, second.chain);
        server_config(&first).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.join("gatehouse-default.key")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "the private key must not be readable by others");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pem_pairs_must_parse_and_match() {
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".into()]).unwrap();
        let (cert, key) = (a.cert.pem(), a.key_pair.serialize_pem());
        assert_eq!(check_pem_pair(&cert, &key), Ok(()));
        let err = check_pem_pair(&cert, &b.key_pair.serialize_pem()).unwrap_err();
        assert_eq!(err, ("@entity", "certificate does not match key".to_string()));
        assert_eq!(check_pem_pair("junk", &key).unwrap_err().0, "cert");
        assert_eq!(check_pem_pair(&cert, "junk").unwrap_err().0, "key");
    }

    #[test]
    fn garbage_pem_is_reported_with_its_path() {
        let dir = std::env::temp_dir().join(format!("gatehouse-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("c.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let err = CertifiedKey::from_pem_files(&cert, &dir.join("k.pem")).unwrap_err();
        assert!(err.to_string().contains("c.pem"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
