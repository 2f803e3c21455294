//! `gluu-oauth-pep` (`gluu-plugins.md` §5, §8): after gluu-oauth-auth validated the bearer token, the request
//! is matched against the protection document and the matching condition's scope expression is evaluated
//! against the token's scopes.
//!
//! Unlike GG, no grant decision is cached (§14 D4): the expression, compiled once with the configuration, is
//! evaluated on every request, so a token whose scopes changed is re-checked at once.

mod scope_expression;

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::{Access, Flow, Plugin, RequestCtx, settings};
use crate::errors::json_exit;
use crate::model::gluu::{Match, ProtectionDocument};
use crate::router::uri;
use scope_expression::ScopeExpression;

#[derive(Deserialize)]
struct Settings {
    /// Absent only when a client sent an explicit `null`; that means the default, `true`.
    deny_by_default: Option<bool>,
    oauth_scope_expression: Option<String>,
}

pub struct GluuOauthPep {
    deny_by_default: bool,
    document: Option<ProtectionDocument>,
    /// By [`Match::index`]: each condition's compiled scope expression, or why it cannot grant anything.
    expressions: Vec<Result<ScopeExpression, String>>,
}

impl GluuOauthPep {
    pub fn new(config: &Value) -> Result<GluuOauthPep, String> {
        let settings: Settings = settings(config)?;
        let document = match settings.oauth_scope_expression.as_deref() {
            Some(text) => Some(ProtectionDocument::parse(text).map_err(|e| e.to_string())?),
            None => None,
        };
        let expressions = document
            .iter()
            .flat_map(ProtectionDocument::conditions)
            .map(|protected| ScopeExpression::compile(&protected.condition))
            .collect();
        Ok(GluuOauthPep { deny_by_default: settings.deny_by_default.unwrap_or(true), document, expressions })
    }

    /// The generic PEP algorithm (§5), with this plugin's hooks.
    fn decide(&self, cx: &mut RequestCtx) -> Flow {
        let path = uri::normalize(cx.request.uri.path());
        let method = cx.request.method.as_str();
        let matched = self.document.as_ref().and_then(|document| document.find(method, &path));
        let has_token = cx.request_token.is_some();
        // The steps of §5, in order: 1 and 2c, then 2a and 2b, 3, 4, 6 and 7 (5, the decision cache, is gone).
        if matched.is_none() && self.deny_by_default {
            if has_token {
                tracing::info!(%method, %path, "path and method are not protected by the scope expression");
                return deny(StatusCode::FORBIDDEN, "Unprotected path/method are not allowed");
            }
            return deny(StatusCode::FORBIDDEN, "Invalid request, no token and no protected path");
        }
        if !has_token {
            return match matched {
                Some(_) => deny(StatusCode::UNAUTHORIZED, "Missed OAuth token"),
                None => Flow::Continue,
            };
        }
        let Some(token_data) = &cx.request_token_data else {
            return deny(StatusCode::FORBIDDEN, "Token not authenticated");
        };
        let Some(matched) = matched else { return Flow::Continue };
        let scopes = match &cx.request_token_scopes {
            Some(names) => Scopes::named(names),
            None => Scopes::of(token_data),
        };
        if self.is_access_granted(&matched, scopes) {
            cx.gluu_flags().oauth_client_granted = true;
            return Flow::Continue;
        }
        deny(StatusCode::FORBIDDEN, "You are not authorized to access this resource")
    }

    fn is_access_granted(&self, matched: &Match<'_>, scopes: Scopes<'_>) -> bool {
        match self.expressions.get(matched.index) {
            Some(Ok(expression)) => expression.grants(scopes, &matched.captures),
            Some(Err(error)) => {
                // GG answers 500 here; a broken condition denies instead, and says why in the log.
                tracing::error!(pattern = matched.pattern, %error, "gluu-oauth-pep condition cannot be evaluated");
                false
            }
            None => false,
        }
    }
}

impl Plugin for GluuOauthPep {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        Access::Done(self.decide(cx))
    }

    fn reads_request_headers(&self) -> bool {
        false
    }

    fn response_phases(&self) -> bool {
        false
    }
}

fn deny(status: StatusCode, message: &str) -> Flow {
    Flow::Respond(json_exit(status, message))
}

/// The token's scopes: an array of strings as the oxd module returns them, or a space-separated string as
/// JWT access tokens carry them.
pub(super) fn token_scopes(token_data: &Value) -> Vec<&str> {
    Scopes::of(token_data).iter().collect()
}

/// The token's scopes where they are in the token data, read without collecting them, or as
/// [`RequestCtx::request_token_scopes`] has them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scopes<'a> {
    list: &'a [Value],
    words: &'a str,
    names: &'a [Box<str>],
}

impl<'a> Scopes<'a> {
    pub(super) fn of(token_data: &'a Value) -> Scopes<'a> {
        match token_data.get("scope") {
            Some(Value::Array(list)) => Scopes { list, words: "", names: &[] },
            Some(Value::String(words)) => Scopes { list: &[], words, names: &[] },
            _ => Scopes { list: &[], words: "", names: &[] },
        }
    }

    pub(super) fn named(names: &'a [Box<str>]) -> Scopes<'a> {
        Scopes { list: &[], words: "", names }
    }

    pub(super) fn iter(self) -> impl Iterator<Item = &'a str> {
        let list = self.list.iter().filter_map(Value::as_str).chain(self.words.split_whitespace());
        self.names.iter().map(|name| &**name).chain(list)
    }

    pub(super) fn contains(self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests;
