//! The authorization-code flow for gluu-openid-connect (`oxd.md` §1.5, §2.6): the authorization URL with a
//! stored `state`/`nonce` (and PKCE when the OP offers S256), the code exchange with id_token validation,
//! userinfo, the logout URL and refresh.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::expiring::ExpiringKind;
use super::{ClientToken, Oxd, OxdError, basic_auth, id_token, now, random_token, strings, text};

/// What a `state` remembers until the code comes back.
#[derive(Debug, Serialize, Deserialize)]
struct PendingLogin {
    nonce: String,
    redirect_uri: String,
    #[serde(default)]
    code_verifier: Option<String>,
}

fn bad_request(description: &'static str) -> OxdError {
    OxdError::code(400, "bad_request", description)
}

/// `base?a=b&…`, keeping a query the endpoint already has.
fn with_query(base: &str, pairs: &[(String, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", query.finish())
}

/// A JSON parameter value as a URL parameter value (numbers such as `max_age` unquoted).
fn parameter_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => Some(strings(Some(&Value::Array(items.clone()))).join(" ")),
        other => Some(other.to_string()),
    }
}

impl Oxd {
    fn stored_strings(&self, metadata: &Map<String, Value>, field: &str) -> Vec<String> {
        strings(metadata.get(field))
    }

    async fn remember(&self, kind: ExpiringKind, key: &str, value: &str) -> Result<(), OxdError> {
        let ttl = if kind == ExpiringKind::Nonce { self.settings.nonce_ttl } else { self.settings.state_ttl };
        self.expiring.put(kind, key, value, ttl).await.map_err(|error| {
            tracing::error!(%error, "cannot store an oxd state or nonce");
            OxdError::internal()
        })
    }

    /// `get-authorization-url`. `state` and `nonce` are generated when not given and kept for `state_ttl`
    /// and `nonce_ttl`, the state with the redirect URI and the PKCE verifier the code exchange needs.
    pub async fn get_authorization_url(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let endpoint = discovery.authorization_endpoint.clone().ok_or_else(|| {
            tracing::error!(op = %site.op_host, "the OP has no authorization endpoint");
            OxdError::internal()
        })?;
        let registered = self.stored_strings(&site.metadata, "redirect_uris");
        let redirect_uri = match text(params, "redirect_uri") {
            Some(uri) if registered.iter().any(|r| r == uri) => uri.to_string(),
            Some(_) => {
                return Err(OxdError::code(
                    400,
                    "redirect_uri_is_not_registered",
                    "The authorization redirect uri is not registered.",
                ));
            }
            None => registered.first().cloned().ok_or_else(|| {
                OxdError::code(400, "invalid_redirect_uri", "Invalid redirect_uri (empty, blank or invalid).")
            })?,
        };
        let pick = |name: &str, stored: &str| {
            let given = strings(params.get(name));
            if given.is_empty() { self.stored_strings(&site.metadata, stored) } else { given }
        };
        let scope = pick("scope", "scope");
        if scope.is_empty() {
            return Err(OxdError::code(400, "invalid_scope", "Invalid scope parameter (empty or blank)."));
        }
        let mut response_types = pick("response_types", "response_types");
        if response_types.is_empty() {
            response_types.push("code".into());
        }
        let state = text(params, "state").map_or_else(random_token, str::to_string);
        let nonce = text(params, "nonce").map_or_else(random_token, str::to_string);
        let offers_s256 = strings(discovery.raw.get("code_challenge_methods_supported")).iter().any(|m| m == "S256");
        let code_verifier = (self.settings.pkce && offers_s256).then(|| random_token() + &random_token());

        let mut query = vec![
            ("response_type".to_string(), response_types.join(" ")),
            ("client_id".to_string(), site.client_id.clone()),
            ("redirect_uri".to_string(), redirect_uri.clone()),
            ("scope".to_string(), scope.join(" ")),
            ("state".to_string(), state.clone()),
            ("nonce".to_string(), nonce.clone()),
        ];
        if let Some(verifier) = &code_verifier {
            let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
            query.push(("code_challenge".into(), challenge));
            query.push(("code_challenge_method".into(), "S256".into()));
        }
        let acr_values = strings(params.get("acr_values"));
        if !acr_values.is_empty() {
            query.push(("acr_values".into(), acr_values.join(" ")));
        }
        for name in ["prompt", "hd"] {
            if let Some(value) = text(params, name) {
                query.push((name.into(), value.to_string()));
            }
        }
        for group in ["params", "custom_parameters"] {
            for (name, value) in params.get(group).and_then(Value::as_object).into_iter().flatten() {
                if let Some(value) = parameter_value(value) {
                    query.push((name.clone(), value));
                }
            }
        }
        let pending = PendingLogin { nonce: nonce.clone(), redirect_uri, code_verifier };
        let pending = serde_json::to_string(&pending).map_err(|_| OxdError::internal())?;
        self.remember(ExpiringKind::State, &state, &pending).await?;
        self.remember(ExpiringKind::Nonce, &nonce, &state).await?;
        Ok(json!({"authorization_url": with_query(&endpoint, &query)}))
    }

    /// `get-tokens-by-code`: redeems the stored `state`, exchanges the code (client_secret_basic) and
    /// validates the id_token against the nonce stored with that state.
    pub async fn get_tokens_by_code(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let code = text(params, "code").ok_or_else(|| bad_request("'code' is empty or not specified."))?;
        let state = text(params, "state").ok_or_else(|| bad_request("'state' is empty or not specified."))?;
        let pending = self.expiring.take(ExpiringKind::State, state).await.map_err(|error| {
            tracing::error!(%error, "cannot read an oxd state");
            OxdError::internal()
        })?;
        let pending: PendingLogin = pending
            .and_then(|p| serde_json::from_str(&p).ok())
            .ok_or_else(|| bad_request("'state' is not registered."))?;
        // oxd refuses a code whose nonce is no longer registered, even while the state still is.
        let nonce = self.expiring.take(ExpiringKind::Nonce, &pending.nonce).await.map_err(|error| {
            tracing::error!(%error, "cannot read an oxd nonce");
            OxdError::internal()
        })?;
        if nonce.is_none() {
            return Err(OxdError::code(400, "invalid_nonce", "Nonce value is not registered by oxd."));
        }

        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", pending.redirect_uri.clone()),
        ];
        if let Some(verifier) = &pending.code_verifier {
            form.push(("code_verifier", verifier.clone()));
        }
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, basic_auth(&site.client_id, &site.client_secret))
            .form(&form);
        let (_, answer) = self.send_json(request).await?;
        let access_token = answer["access_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            OxdError::code(500, "no_access_token", "access_token is not returned by OP. Please check OP configuration.")
        })?;
        let raw_id_token = answer["id_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            OxdError::code(
                500,
                "no_id_token",
                "id_token is not returned. Please check: 1) OP log file for error (oxauth.log) 2) whether 'openid' \
                 scope is present for 'get_authorization_url' command",
            )
        })?;
        let expected = id_token::Expected {
            issuer: &discovery.issuer,
            client_id: &site.client_id,
            nonce: Some(&pending.nonce),
            access_token: Some(access_token),
            now: now(),
        };
        let claims = self.validate_id_token(&discovery, raw_id_token, &expected).await?;
        Ok(json!({
            "access_token": access_token,
            "expires_in": answer["expires_in"].as_u64(),
            "id_token": raw_id_token,
            "refresh_token": answer["refresh_token"].as_str(),
            "id_token_claims": claims,
        }))
    }

    /// Validates an id_token issued by the OP of `discovery`; an unknown `kid` refreshes the JWKS once
    /// (the OP may have rotated its keys since they were cached).
    pub async fn validate_id_token(
        &self,
        discovery: &super::Discovery,
        raw: &str,
        expected: &id_token::Expected<'_>,
    ) -> Result<Map<String, Value>, OxdError> {
        let token = id_token::parse(raw)?;
        let Some(kid) = token.kid() else {
            // An unsigned token says so itself; a signed one without kid cannot be matched to a key.
            return match token.alg() {
                Some("none") => Err(id_token::unsigned_not_allowed()),
                _ => Err(id_token::key_id_not_found()),
            };
        };
        let mut keys = self.jwks(discovery, false).await?;
        if keys.find(kid).is_none() {
            keys = self.jwks(discovery, true).await?;
        }
        let key = keys.find(kid).ok_or_else(id_token::key_id_not_found)?;
        id_token::validate(&token, key, expected)
    }

    /// `get-user-info`: the OP's userinfo answer unchanged; with an `id_token`, its `sub` must match.
    pub async fn get_user_info(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let access_token = text(params, "access_token").ok_or_else(OxdError::invalid_request)?;
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let endpoint = discovery.userinfo_endpoint.clone().ok_or_else(|| {
            tracing::error!(op = %site.op_host, "the OP has no userinfo endpoint");
            OxdError::internal()
        })?;
        let (_, answer) = self.send_json(self.http.get(&endpoint).bearer_auth(access_token)).await?;
        if let Some(raw) = text(params, "id_token") {
            let token = id_token::parse(raw)?;
            if token.payload.get("sub").is_none_or(|sub| Some(sub) != answer.get("sub")) {
                return Err(OxdError::code(
                    500,
                    "invalid_subject_identifier",
                    "UserInfo `sub` value does not matches with `sub` value of ID_TOKEN.",
                ));
            }
        }
        Ok(answer)
    }

    /// `get-logout-uri`: the OP's end-session URL with the given parameters.
    pub async fn get_logout_uri(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let endpoint = discovery.end_session_endpoint.clone().ok_or_else(|| {
            OxdError::code(
                500,
                "no_end_session_endpoint_at_op",
                "OP does not provide end_session_endpoint at /.well-known/openid-configuration.",
            )
        })?;
        let query: Vec<(String, String)> = ["post_logout_redirect_uri", "state", "session_state", "id_token_hint"]
            .into_iter()
            .filter_map(|name| text(params, name).map(|value| (name.to_string(), value.to_string())))
            .collect();
        let uri = if query.is_empty() { endpoint } else { with_query(&endpoint, &query) };
        Ok(json!({"uri": uri}))
    }

    /// `get-access-token-by-refresh-token`: answers like `get-client-token`.
    pub async fn get_access_token_by_refresh_token(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        let refresh_token =
            text(params, "refresh_token").ok_or_else(|| bad_request("'refresh token' is empty or not specified."))?;
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let mut form = vec![("grant_type", "refresh_token".to_string()), ("refresh_token", refresh_token.to_string())];
        let scope = strings(params.get("scope"));
        if !scope.is_empty() {
            form.push(("scope", scope.join(" ")));
        }
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, basic_auth(&site.client_id, &site.client_secret))
            .form(&form);
        Ok(ClientToken::from_answer(&self.send_json(request).await?.1)?.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_an_existing_query_and_encode_values() {
        let pairs = [("scope".to_string(), "openid email".to_string()), ("max_age".to_string(), "10".to_string())];
        assert_eq!(with_query("https://op/auth", &pairs), "https://op/auth?scope=openid+email&max_age=10");
        assert_eq!(with_query("https://op/auth?x=1", &pairs[1..]), "https://op/auth?x=1&max_age=10");
        assert_eq!(parameter_value(&json!(10)).as_deref(), Some("10"));
        assert_eq!(parameter_value(&json!(["a", "b"])).as_deref(), Some("a b"));
        assert_eq!(parameter_value(&Value::Null), None);
    }
}
