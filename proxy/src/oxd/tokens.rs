//! Client tokens and introspection: `get-client-token` (client_credentials), the site tokens the module keeps
//! for itself (cached until shortly before they expire, single-flight), and `introspect-access-token` with
//! the OP's client authentication or oxAuth's bearer mode (`oxd.md` §2.4, §2.5).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::discovery::{Discovery, discovery_url};
use super::op_http::basic_auth;
use super::params::{strings, text};
use super::{IntrospectionAuth, Oxd, OxdError, Site};

/// A client token: what `get-client-token` answers, and what the module keeps to call the OP.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientToken {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scope: Vec<String>,
}

impl ClientToken {
    /// A token endpoint answer (or oxd's `get-client-token` answer) read as a client token
    /// (`500 no_access_token` without one).
    pub(crate) fn from_answer(answer: &Value) -> Result<ClientToken, OxdError> {
        let access_token = answer["access_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            OxdError::code(500, "no_access_token", "access_token is not returned by OP. Please check OP configuration.")
        })?;
        Ok(ClientToken {
            access_token: access_token.to_string(),
            expires_in: answer["expires_in"].as_u64().unwrap_or(0),
            refresh_token: answer["refresh_token"].as_str().map(str::to_string),
            scope: strings(answer.get("scope")),
        })
    }

    /// The token as `get-client-token` and `get-access-token-by-refresh-token` answer it.
    pub fn to_json(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        })
    }
}

impl Oxd {
    /// `get-client-token`: a client_credentials token (`openid` always requested), not cached.
    pub async fn get_client_token(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let (Some(client_id), Some(client_secret)) = (text(params, "client_id"), text(params, "client_secret")) else {
            return Err(OxdError::invalid_request());
        };
        let url = discovery_url(params).ok_or_else(OxdError::invalid_request)?;
        let discovery = self.discovery(&url).await?;
        let mut scope = strings(params.get("scope"));
        if !scope.iter().any(|s| s == "openid") {
            scope.insert(0, "openid".into());
        }
        Ok(self.request_client_token(&discovery, client_id, client_secret, &scope).await?.to_json())
    }

    async fn request_client_token(
        &self,
        discovery: &Discovery,
        client_id: &str,
        client_secret: &str,
        scope: &[String],
    ) -> Result<ClientToken, OxdError> {
        let form = [("grant_type", "client_credentials".to_string()), ("scope", scope.join(" "))];
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, basic_auth(client_id, client_secret))
            .form(&form);
        ClientToken::from_answer(&self.send_json(request).await?.1)
    }

    /// A client token of `site` for `scope`, kept until shortly before it expires; concurrent callers share
    /// one request to the OP.
    pub async fn site_token(&self, site: &Site, scope: &[&str]) -> Result<ClientToken, OxdError> {
        let key = (site.op_host.clone(), site.client_id.clone(), scope.join(" "));
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let margin = self.settings.token_margin;
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        self.tokens
            .get_or_fetch(&key, false, || async {
                let token = self.request_client_token(&discovery, &site.client_id, &site.client_secret, &scope).await?;
                let ttl = Duration::from_secs(token.expires_in).saturating_sub(margin);
                Ok((token, ttl))
            })
            .await
    }

    /// `introspect-access-token`: the OP's answer with `scope` always an array (`oxd.md` §2.5).
    pub async fn introspect_access_token(&self, site: &Site, token: &str) -> Result<Value, OxdError> {
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let endpoint = discovery.introspection_endpoint.clone().ok_or_else(|| {
            tracing::error!(op = %site.op_host, "the OP has no introspection endpoint");
            OxdError::internal()
        })?;
        let mode = match self.settings.introspection_auth {
            // Without introspection auth methods in discovery (oidc-provider publishes none), the token
            // endpoint's methods tell whether the OP authenticates clients; oxAuth's bearer mode is the last resort.
            IntrospectionAuth::Auto => match discovery
                .introspection_endpoint_auth_methods_supported
                .as_ref()
                .or(discovery.token_endpoint_auth_methods_supported.as_ref())
            {
                Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => {
                    IntrospectionAuth::ClientSecretBasic
                }
                Some(methods) if methods.iter().any(|m| m == "client_secret_post") => {
                    IntrospectionAuth::ClientSecretPost
                }
                _ => IntrospectionAuth::Bearer,
            },
            other => other,
        };
        let form = |extra: bool| {
            let mut form = vec![("token", token.to_string()), ("token_type_hint", "access_token".to_string())];
            if extra {
                form.push(("client_id", site.client_id.clone()));
                form.push(("client_secret", site.client_secret.clone()));
            }
            form
        };
        let answer = match mode {
            IntrospectionAuth::ClientSecretBasic => {
                let request = self
                    .http
                    .post(&endpoint)
                    .header(reqwest::header::AUTHORIZATION, basic_auth(&site.client_id, &site.client_secret))
                    .form(&form(false));
                self.send_json(request).await?.1
            }
            IntrospectionAuth::ClientSecretPost => self.send_json(self.http.post(&endpoint).form(&form(true))).await?.1,
            _ => {
                // oxAuth: a token of the site as bearer; a refused one is renewed once.
                let bearer = self.site_token(site, &["openid"]).await?;
                let first = self.http.post(&endpoint).bearer_auth(&bearer.access_token).form(&form(false));
                match self.send_json(first).await {
                    Err(OxdError::Op { status: 400 | 401, .. }) => {
                        self.tokens.remove(&(site.op_host.clone(), site.client_id.clone(), "openid".into()));
                        let bearer = self.site_token(site, &["openid"]).await?;
                        let retry = self.http.post(&endpoint).bearer_auth(&bearer.access_token).form(&form(false));
                        self.send_json(retry).await?.1
                    }
                    other => other?.1,
                }
            }
        };
        Ok(normalize_introspection(answer))
    }
}

/// Introspection answers with `scope` as an array (oxAuth's form, which the plugins iterate).
fn normalize_introspection(answer: Value) -> Value {
    let Value::Object(mut answer) = answer else { return json!({"active": false}) };
    if let Some(scope) = answer.get("scope").cloned() {
        answer.insert("scope".into(), json!(strings(Some(&scope))));
    }
    if !answer.get("active").is_some_and(Value::is_boolean) {
        let active = answer.get("active").and_then(Value::as_str) == Some("true");
        answer.insert("active".into(), json!(active));
    }
    Value::Object(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn introspection_scope_becomes_an_array_whatever_the_op_sent() {
        assert_eq!(normalize_introspection(json!({"active": true, "scope": "a b"}))["scope"], json!(["a", "b"]));
        assert_eq!(normalize_introspection(json!({"active": true, "scope": ["a"]}))["scope"], json!(["a"]));
        assert_eq!(normalize_introspection(json!("garbage")), json!({"active": false}));
    }
}
