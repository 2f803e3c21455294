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
    /// How long a code flow's `state` and `nonce` wait for the code (`state_expiration_in_minutes`).
    pub state_ttl: Duration,
    /// PKCE S256 when the OP's discovery lists it (`pkce = auto`); `false` is `pkce = off`.
    pub pkce: bool,
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
            pkce: true,
        }
    }
}
