//! The oxd keys of the configuration (`oxd.md` §1.11, oxd-server.yml's names with the `oxd_` prefix), read
//! into the oxd module's settings and the oxd API's.

use std::time::Duration;

use proxy::oxd::{IntrospectionAuth, OxdSettings};

use super::{Config, ConfigError, parse_nginx_time};

/// What the oxd API itself enforces (`oxd.md` §1.2 step 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OxdApiSettings {
    pub protect_commands_with_access_token: bool,
    /// Empty: any registered site may be named in `AuthorizationOxdId`.
    pub protect_commands_with_oxd_id: Vec<String>,
}

/// A comma- or space-separated list setting.
fn list(setting: &str) -> Vec<String> {
    setting.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn minutes(value: u64) -> Duration {
    Duration::from_secs(value.saturating_mul(60))
}

impl Config {
    fn invalid(&self, key: &str, message: String) -> ConfigError {
        ConfigError::Value { key: key.into(), origin: "the configuration".into(), message }
    }

    /// The oxd module's settings; every oxd key is checked here (reading `oxd_tls_ca_bundle` included).
    pub fn oxd_settings(&self) -> Result<OxdSettings, ConfigError> {
        let timeout = parse_nginx_time(&self.oxd_op_timeout).filter(|t| !t.is_zero()).ok_or_else(|| {
            self.invalid("oxd_op_timeout", format!("'{}' is not a time such as 10s or 500ms", self.oxd_op_timeout))
        })?;
        let pkce = match self.oxd_pkce.trim() {
            "auto" => true,
            "off" => false,
            other => return Err(self.invalid("oxd_pkce", format!("'{other}' is neither auto nor off"))),
        };
        let introspection_auth = match self.oxd_introspection_auth_method.trim() {
            "auto" => IntrospectionAuth::Auto,
            "bearer" => IntrospectionAuth::Bearer,
            "client_secret_basic" => IntrospectionAuth::ClientSecretBasic,
            "client_secret_post" => IntrospectionAuth::ClientSecretPost,
            other => {
                return Err(self.invalid(
                    "oxd_introspection_auth_method",
                    format!("'{other}' is not one of auto, client_secret_basic, client_secret_post, bearer"),
                ));
            }
        };
        let ca_certificates = match self.oxd_tls_ca_bundle.trim() {
            "" => Vec::new(),
            path => {
                let pem = std::fs::read(path).map_err(|e| self.invalid("oxd_tls_ca_bundle", format!("{path}: {e}")))?;
                let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| self.invalid("oxd_tls_ca_bundle", format!("{path}: {e}")))?;
                if certificates.is_empty() {
                    return Err(self.invalid("oxd_tls_ca_bundle", format!("{path} holds no PEM certificate")));
                }
                certificates
            }
        };
        Ok(OxdSettings {
            trust_all_certs: self.oxd_trust_all_certs,
            add_client_credentials_grant: self
                .oxd_add_client_credentials_grant_type_automatically_during_client_registration,
            introspection_auth,
            remove_site_deletes_op_client: self.oxd_remove_site_deletes_op_client,
            timeout,
            jwks_ttl: minutes(self.oxd_public_op_key_cache_expiration_in_minutes),
            state_ttl: minutes(self.oxd_state_expiration_in_minutes),
            nonce_ttl: minutes(self.oxd_nonce_expiration_in_minutes),
            pkce,
            allowed_op_hosts: list(&self.oxd_allowed_op_hosts),
            uma2_claims_gathering_as_redirect_uri: self
                .oxd_uma2_auto_register_claims_gathering_endpoint_as_redirect_uri_of_client,
            ca_certificates,
            request_object_ttl: minutes(self.oxd_request_object_expiration_in_minutes),
            ..OxdSettings::default()
        })
    }

    pub fn oxd_api_settings(&self) -> OxdApiSettings {
        OxdApiSettings {
            protect_commands_with_access_token: self.oxd_protect_commands_with_access_token,
            protect_commands_with_oxd_id: list(&self.oxd_protect_commands_with_oxd_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(flags: &[&str]) -> Result<Config, ConfigError> {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        Config::load(None, Vec::new(), &flags)
    }

    #[test]
    fn oxd_defaults_are_oxds() {
        let config = load(&[]).unwrap();
        let settings = config.oxd_settings().unwrap();
        assert_eq!((settings.state_ttl, settings.nonce_ttl), (Duration::from_secs(300), Duration::from_secs(300)));
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert!(settings.pkce && settings.add_client_credentials_grant && !settings.trust_all_certs);
        assert!(settings.allowed_op_hosts.is_empty() && settings.ca_certificates.is_empty());
        assert_eq!(
            config.oxd_api_settings(),
            OxdApiSettings { protect_commands_with_access_token: true, protect_commands_with_oxd_id: Vec::new() }
        );
    }

    #[test]
    fn oxd_keys_are_read_and_bad_values_name_the_key() {
        let config = load(&[
            "--oxd_pkce",
            "off",
            "--oxd_state_expiration_in_minutes",
            "2",
            "--oxd_op_timeout",
            "1500ms",
            "--oxd_allowed_op_hosts",
            "https://a.example.com, b.example.com",
            "--oxd_protect_commands_with_oxd_id",
            "site-1 site-2",
            "--oxd_introspection_auth_method",
            "bearer",
        ])
        .unwrap();
        let settings = config.oxd_settings().unwrap();
        assert!(!settings.pkce);
        assert_eq!(settings.state_ttl, Duration::from_secs(120));
        assert_eq!(settings.timeout, Duration::from_millis(1500));
        assert_eq!(settings.allowed_op_hosts, ["https://a.example.com", "b.example.com"]);
        assert_eq!(settings.introspection_auth, IntrospectionAuth::Bearer);
        assert_eq!(config.oxd_api_settings().protect_commands_with_oxd_id, ["site-1", "site-2"]);
        for (key, value) in [
            ("oxd_pkce", "sometimes"),
            ("oxd_op_timeout", "soon"),
            ("oxd_introspection_auth_method", "magic"),
            ("oxd_tls_ca_bundle", "/nonexistent/ca.pem"),
        ] {
            let error = load(&[&format!("--{key}"), value]).unwrap_err().to_string();
            assert!(error.contains(key), "{error}");
        }
    }
}
