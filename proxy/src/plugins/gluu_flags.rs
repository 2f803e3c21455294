//! What the Gluu plugins report about a request for gluu-metrics (`gluu-plugins.md` §2), kept in the
//! request's extensions.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GluuFlags {
    pub oauth_client_authenticated: bool,
    pub oauth_client_granted: bool,
    pub uma_client_authenticated: bool,
    pub uma_client_granted: bool,
    pub openid_connect_users_authenticated: bool,
    pub opa_client_granted: bool,
}
