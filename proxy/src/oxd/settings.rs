//! The module's settings (`oxd.md` §1.11 and the Gatehouse additions): how it talks to the OP, what it adds
//! to registrations, and how long it keeps discovery documents, keys, tokens and code-flow state.

use std::time::Duration;

/// How the module authenticates to the OP's introspection endpoint (`oxd.md` §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectionAuth {
    /// From the discovery document: client_secret_basic, else client_secret_post, else bearer.
    Auto,
    /// oxAuth: `Authorization: Bearer <a client token of the site>`.
    Bearer,
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug, Clone)]
pub struct OxdSettings {
    /// Lab opt-out of TLS verification towards the OP (`gluu-plugins.md` §14 D6).
    pub trust_all_certs: bool,
    pub add_client_credentials_grant: bool,
    pub introspection_auth: IntrospectionAuth,
    /// `remove-site` also deletes the client at the OP (RFC 7592 DELETE).
    pub remove_site_deletes_op_client: bool,
    pub timeout: Duration,
    pub discovery_ttl: Duration,
    pub jwks_ttl: Duration,
    /// Client tokens are renewed this long before they expire.
    pub token_margin: Duration,
    /// How long a code flow's `state` waits for the code (`state_expiration_in_minutes`).
    pub state_ttl: Duration,
    /// How long its `nonce` stays registered (`nonce_expiration_in_minutes`).
    pub nonce_ttl: Duration,
    /// PKCE S256 when the OP's discovery lists it (`pkce = auto`); `false` is `pkce = off`.
    pub pkce: bool,
    /// The OPs the module may talk to (`allowed_op_hosts`): empty = any. An entry is a URL prefix
    /// (`https://op.example.com`) or a bare `host[:port]`.
    pub allowed_op_hosts: Vec<String>,
    /// `register-site` adds the AS's UMA claims-gathering endpoint to the redirect URIs
    /// (`uma2_auto_register_claims_gathering_endpoint_as_redirect_uri_of_client`).
    pub uma2_claims_gathering_as_redirect_uri: bool,
    /// Certificates trusted besides the built-in roots for outbound TLS (OPs and remote oxd servers).
    pub ca_certificates: Vec<reqwest::Certificate>,
    /// How long a request object of `get-request-object-uri` can be fetched (`request_object_expiration_in_minutes`).
    pub request_object_ttl: Duration,
}

impl Default for OxdSettings {
    fn default() -> Self {
        OxdSettings {
            trust_all_certs: false,
            add_client_credentials_grant: true,
            introspection_auth: IntrospectionAuth::Auto,
            remove_site_deletes_op_client: false,
            timeout: Duration::from_secs(10),
            discovery_ttl: Duration::from_secs(3600),
            jwks_ttl: Duration::from_secs(600),
            token_margin: Duration::from_secs(5),
            state_ttl: Duration::from_secs(300),
            nonce_ttl: Duration::from_secs(300),
            pkce: true,
            allowed_op_hosts: Vec::new(),
            uma2_claims_gathering_as_redirect_uri: false,
            ca_certificates: Vec::new(),
            request_object_ttl: Duration::from_secs(300),
        }
    }
}

impl OxdSettings {
    /// The HTTP client for outbound calls: no redirects followed (`oxd.md` §4), every call bounded by
    /// `timeout`, TLS verified against the built-in roots and `ca_certificates` unless `trust_all_certs`.
    pub fn http_client(&self) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .danger_accept_invalid_certs(self.trust_all_certs);
        for certificate in &self.ca_certificates {
            builder = builder.add_root_certificate(certificate.clone());
        }
        builder.build()
    }

    /// Whether `url` (an OP location or issuer) is one the module may call.
    pub fn allows_op(&self, url: &str) -> bool {
        if self.allowed_op_hosts.is_empty() {
            return true;
        }
        let url = url.trim().to_ascii_lowercase();
        let authority = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
        self.allowed_op_hosts.iter().any(|entry| {
            let entry = entry.trim().trim_end_matches('/').to_ascii_lowercase();
            if entry.contains("://") {
                // A prefix that ends at a path boundary: `https://op` allows `https://op/x`, not `https://op.evil`.
                url.strip_prefix(&entry).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
            } else {
                authority == entry || authority.split(':').next() == Some(entry.as_str())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_op_hosts_match_url_prefixes_or_hosts() {
        let settings = |hosts: &[&str]| OxdSettings {
            allowed_op_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..OxdSettings::default()
        };
        assert!(settings(&[]).allows_op("https://anything.example.com"));
        let prefix = settings(&["https://op.example.com/"]);
        assert!(prefix.allows_op("https://op.example.com/.well-known/openid-configuration"));
        assert!(prefix.allows_op("https://OP.example.com"));
        assert!(!prefix.allows_op("https://op.example.com.evil.net/.well-known/openid-configuration"));
        assert!(!prefix.allows_op("http://op.example.com/"));
        let host = settings(&["op.example.com", "127.0.0.1:8080"]);
        assert!(host.allows_op("https://op.example.com:8443/oxauth"));
        assert!(host.allows_op("http://127.0.0.1:8080/.well-known/openid-configuration"));
        assert!(!host.allows_op("http://127.0.0.1:9090/"));
    }
}
