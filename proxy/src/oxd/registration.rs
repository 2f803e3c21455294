//! Site registration and management: `register-site` (RFC 7591 dynamic registration, or given credentials),
//! `update-site` (RFC 7592 PUT of the complete metadata, keeping a rotated registration access token) and
//! `remove-site` (`oxd.md` §1.6, §2.2, §2.3).

use serde_json::{Map, Value, json};

use super::discovery::discovery_url;
use super::params::{strings, text};
use super::{Oxd, OxdError, Site};

/// Registration metadata fields: oxd's parameter name and the RFC 7591 / OIDC Registration name.
const METADATA: &[(&str, &str)] = &[
    ("redirect_uris", "redirect_uris"),
    ("post_logout_redirect_uris", "post_logout_redirect_uris"),
    ("response_types", "response_types"),
    ("grant_types", "grant_types"),
    ("client_name", "client_name"),
    ("client_jwks_uri", "jwks_uri"),
    ("client_token_endpoint_auth_method", "token_endpoint_auth_method"),
    ("client_token_endpoint_auth_signing_alg", "token_endpoint_auth_signing_alg"),
    ("client_request_uris", "request_uris"),
    ("client_sector_identifier_uri", "sector_identifier_uri"),
    ("contacts", "contacts"),
    ("logo_uri", "logo_uri"),
    ("client_uri", "client_uri"),
    ("policy_uri", "policy_uri"),
    ("tos_uri", "tos_uri"),
    ("subject_type", "subject_type"),
    ("id_token_signed_response_alg", "id_token_signed_response_alg"),
    ("user_info_signed_response_alg", "userinfo_signed_response_alg"),
    ("request_object_signing_alg", "request_object_signing_alg"),
    ("default_max_age", "default_max_age"),
    ("require_auth_time", "require_auth_time"),
    ("initiate_login_uri", "initiate_login_uri"),
    ("software_id", "software_id"),
    ("software_version", "software_version"),
    ("software_statement", "software_statement"),
    ("ui_locales", "ui_locales_supported"),
    ("claims_locales", "claims_locales_supported"),
    // oxAuth's metadata for UMA claims gathering; OPs that do not know it drop it.
    ("claims_redirect_uri", "claims_redirect_uri"),
];

/// What a registration answer carries besides metadata; never sent back in an RFC 7592 PUT.
const REGISTRATION_OUTPUT: [&str; 5] = [
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
    "client_secret",
];

impl Oxd {
    /// `register-site` (`oxd.md` §1.6).
    pub async fn register_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let (client_id, client_secret) = (text(params, "client_id"), text(params, "client_secret"));
        match (client_id, client_secret) {
            (Some(_), None) => {
                return Err(OxdError::code(
                    400,
                    "invalid_client_secret",
                    "client_secret is required parameter in request (skip client_id if you wish to dynamically \
                     register client.).",
                ));
            }
            (None, Some(_)) => {
                return Err(OxdError::code(
                    400,
                    "invalid_client_id",
                    "client_id is required parameter in request (skip client_secret if you wish to dynamically \
                     register client.).",
                ));
            }
            _ => {}
        }
        let url = discovery_url(params).ok_or_else(OxdError::no_op_location)?;
        let oxd_id = uuid::Uuid::new_v4().to_string();
        let mut metadata = self.registration_metadata(params, &oxd_id, None)?;
        let discovery = self.discovery(&url).await?;
        if self.settings.uma2_claims_gathering_as_redirect_uri {
            let gathering = self.uma_discovery_of(&url).await?.claims_interaction_endpoint.clone();
            if let (Some(gathering), Some(Value::Array(uris))) = (gathering, metadata.get_mut("redirect_uris"))
                && !uris.iter().any(|uri| *uri == gathering.as_str())
            {
                uris.push(json!(gathering));
            }
        }
        let mut site = Site {
            oxd_id: oxd_id.clone(),
            op_host: discovery.issuer.clone(),
            op_configuration_endpoint: url,
            client_id: String::new(),
            client_secret: String::new(),
            client_registration_access_token: None,
            client_registration_client_uri: None,
            client_id_issued_at: None,
            client_secret_expires_at: None,
            client_name: metadata.get("client_name").and_then(Value::as_str).map(str::to_string),
            metadata,
            ..Site::default()
        };
        if let (Some(id), Some(secret)) = (client_id, client_secret) {
            // Given credentials: no registration (a later update-site has no client URI to call).
            site.client_id = id.to_string();
            site.client_secret = secret.to_string();
        } else {
            let endpoint = discovery.registration_endpoint.clone().ok_or_else(|| {
                OxdError::code(
                    500,
                    "invalid_request",
                    "OP does not support dynamic client registration. Please register client manually and provide \
                     client_id and client_secret to register_site command.",
                )
            })?;
            let (_, registered) = self.send_json(self.http.post(&endpoint).json(&site.metadata)).await?;
            self.absorb_registration(&mut site, &registered)?;
        }
        self.save(&site).await?;
        Ok(json!({
            "oxd_id": site.oxd_id,
            "op_host": site.op_host,
            "client_id": site.client_id,
            "client_name": site.client_name,
            "client_secret": site.client_secret,
            "client_registration_access_token": site.client_registration_access_token,
            "client_registration_client_uri": site.client_registration_client_uri,
            "client_id_issued_at": site.client_id_issued_at,
            "client_secret_expires_at": site.client_secret_expires_at,
        }))
    }

    /// The RFC 7591 metadata for a registration or an update: `base` (the stored metadata) with the given
    /// parameters applied, oxd's defaults for what is still missing.
    fn registration_metadata(
        &self,
        params: &Map<String, Value>,
        oxd_id: &str,
        base: Option<&Map<String, Value>>,
    ) -> Result<Map<String, Value>, OxdError> {
        let mut metadata = base.cloned().unwrap_or_default();
        for (param, field) in METADATA {
            match params.get(*param) {
                Some(Value::Null) | None => {}
                Some(value) => {
                    metadata.insert((*field).to_string(), value.clone());
                }
            }
        }
        if let Some(scope) = params.get("scope").filter(|v| !v.is_null()) {
            metadata.insert("scope".into(), json!(strings(Some(scope)).join(" ")));
        }
        let defaults: [(&str, Value); 3] = [
            ("response_types", json!(["code"])),
            ("grant_types", json!(["authorization_code"])),
            ("scope", json!("openid profile email")),
        ];
        for (field, value) in defaults {
            if metadata.get(field).is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty)) {
                metadata.insert(field.into(), value);
            }
        }
        if self.settings.add_client_credentials_grant
            && let Some(Value::Array(grants)) = metadata.get_mut("grant_types")
            && !grants.iter().any(|g| g == "client_credentials")
        {
            grants.push(json!("client_credentials"));
        }
        metadata.entry("application_type").or_insert(json!("web"));
        metadata.entry("client_name").or_insert_with(|| json!(format!("oxd client for rp: {oxd_id}")));
        let redirects = strings(metadata.get("redirect_uris"));
        if redirects.is_empty() || redirects.iter().any(|uri| !uri.contains("://")) {
            return Err(OxdError::code(400, "invalid_redirect_uri", "Invalid redirect_uri (empty, blank or invalid)."));
        }
        if metadata.get("scope").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
            return Err(OxdError::code(400, "invalid_scope", "Invalid scope parameter (empty or blank)."));
        }
        Ok(metadata)
    }

    /// Takes the credentials and the accepted metadata from a registration (or RFC 7592) answer.
    fn absorb_registration(&self, site: &mut Site, registered: &Value) -> Result<(), OxdError> {
        let Value::Object(answer) = registered else { return Err(OxdError::internal()) };
        if let Some(id) = text(answer, "client_id") {
            site.client_id = id.to_string();
        }
        if let Some(secret) = text(answer, "client_secret") {
            site.client_secret = secret.to_string();
        }
        if site.client_id.is_empty() {
            return Err(OxdError::code(
                500,
                "no_client_id_returned",
                "`client_id` is not returned from OP host. Please check OP log file for error (oxauth.log).",
            ));
        }
        if site.client_secret.is_empty() {
            return Err(OxdError::code(
                500,
                "no_client_secret_returned",
                "`client_secret` is not returned from OP host. Please check: 1) OP log file for error (oxauth.log) \
                 2) whether `returnClientSecretOnRead` configuration property is set to true on OP host.",
            ));
        }
        // A rotated registration access token replaces the old one, which the OP no longer accepts.
        if let Some(rat) = text(answer, "registration_access_token") {
            site.client_registration_access_token = Some(rat.to_string());
        }
        if let Some(uri) = text(answer, "registration_client_uri") {
            site.client_registration_client_uri = Some(uri.to_string());
        }
        site.client_id_issued_at =
            answer.get("client_id_issued_at").and_then(Value::as_i64).or(site.client_id_issued_at);
        site.client_secret_expires_at =
            answer.get("client_secret_expires_at").and_then(Value::as_i64).or(site.client_secret_expires_at);
        let mut metadata = answer.clone();
        for field in REGISTRATION_OUTPUT {
            metadata.remove(field);
        }
        metadata.remove("client_id");
        site.client_name = metadata.get("client_name").and_then(Value::as_str).map(str::to_string);
        site.metadata = metadata;
        Ok(())
    }

    /// `update-site`: RFC 7592 PUT of the complete metadata with the stored registration access token.
    pub async fn update_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let mut site = self.site(text(params, "oxd_id")).await?;
        let (Some(uri), Some(rat)) =
            (site.client_registration_client_uri.clone(), site.client_registration_access_token.clone())
        else {
            return Err(OxdError::code(
                500,
                "invalid_registration_client_url",
                "Registration client URL is invalid. Please check registration_client_url response parameter from \
                 IDP (http://openid.net/specs/openid-connect-registration-1_0.html#RegistrationResponse).",
            ));
        };
        let mut metadata = self.registration_metadata(params, &site.oxd_id, Some(&site.metadata))?;
        metadata.insert("client_id".into(), json!(site.client_id));
        for field in REGISTRATION_OUTPUT {
            metadata.remove(field);
        }
        let request = self.http.put(&uri).bearer_auth(&rat).json(&metadata);
        let (_, answer) = self.send_json(request).await?;
        self.absorb_registration(&mut site, &answer)?;
        self.save(&site).await?;
        Ok(json!({"oxd_id": site.oxd_id}))
    }

    /// `remove-site`: forgets the site (and, when configured, deletes the client at the OP).
    pub async fn remove_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        if self.settings.remove_site_deletes_op_client
            && let (Some(uri), Some(rat)) =
                (&site.client_registration_client_uri, &site.client_registration_access_token)
        {
            let response = self.http.delete(uri).bearer_auth(rat).send().await;
            if !response.as_ref().is_ok_and(|r| r.status().is_success()) {
                tracing::warn!(oxd_id = %site.oxd_id, "the OP did not delete the client");
            }
        }
        match self.sites.remove(&site.oxd_id).await {
            Ok(_) => Ok(json!({"oxd_id": site.oxd_id})),
            Err(error) => {
                tracing::error!(%error, "cannot remove oxd site");
                Err(OxdError::code(500, "remove_site_failed", "Failed to remove site."))
            }
        }
    }
}
