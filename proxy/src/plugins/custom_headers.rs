//! `custom_headers` of the Gluu authentication plugins (`gluu-plugins.md` §3.7): for each configured header,
//! a Lua expression over what the plugin knows about the caller, rendered in a format and set on the upstream
//! request. The configuration is compiled with the plugin (once per snapshot); values are computed when the
//! plugin validates a token and are cached with it (§3.3), so Lua runs once per token, not per request.

mod format;

use std::borrow::Cow;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::lua::{self, Expression};
use format::Format;

/// One `custom_headers` record as stored.
#[derive(Debug, Clone, Hash, Deserialize)]
pub struct HeaderConfig {
    pub header_name: String,
    pub value_lua_exp: String,
    pub format: Option<String>,
    pub sep: Option<String>,
    pub iterate: Option<bool>,
}

struct Header {
    /// As configured: `_` not yet replaced, `{*}` still in place.
    name: String,
    format: Option<Format>,
    sep: String,
    iterate: bool,
}

/// The compiled `custom_headers` of one plugin configuration.
pub struct CustomHeaders {
    headers: Vec<Header>,
    /// `headers[i]`'s expression, in the form [`lua::evaluate`] takes.
    expressions: Vec<Expression>,
    /// Every header name the configuration can set: these are its identity headers.
    names: Vec<HeaderName>,
    /// The `iterate` headers' names, as (prefix, suffix) around the key (lower case).
    patterns: Vec<(String, String)>,
    fingerprint: u64,
}

impl CustomHeaders {
    /// Compiles every expression (the schema already refused those that do not compile).
    pub fn new(configs: &[HeaderConfig]) -> Result<CustomHeaders, String> {
        let mut headers = Vec::with_capacity(configs.len());
        let mut expressions = Vec::with_capacity(configs.len());
        for config in configs {
            let expression = Expression::new(&config.value_lua_exp)
                .map_err(|error| format!("custom header {}: {error}", config.header_name))?;
            let format = match config.format.as_deref() {
                None => None,
                Some(name) => Some(Format::parse(name).ok_or_else(|| format!("unknown header format {name}"))?),
            };
            expressions.push(expression);
            headers.push(Header {
                name: config.header_name.clone(),
                format,
                sep: config.sep.clone().unwrap_or_else(|| ",".into()),
                iterate: config.iterate.unwrap_or(false),
            });
        }
        let (mut names, mut patterns) = (Vec::new(), Vec::new());
        for header in &headers {
            let name = header.name.replace('_', "-").to_ascii_lowercase();
            match name.split_once("{*}").filter(|_| header.iterate) {
                Some((prefix, suffix)) => patterns.push((prefix.to_string(), suffix.to_string())),
                None => names.extend(HeaderName::from_bytes(name.as_bytes()).ok()),
            }
        }
        let mut hasher = DefaultHasher::new();
        configs.hash(&mut hasher);
        Ok(CustomHeaders { headers, expressions, names, patterns, fingerprint: hasher.finish() })
    }

    /// Whether a header this configuration sets (or removes from the client's) can be named `name` (lower
    /// case).
    pub fn may_set(&self, name: &str) -> bool {
        self.names.iter().any(|own| own.as_str() == name)
            || self.patterns.iter().any(|(prefix, suffix)| matches_pattern(name, prefix, suffix))
    }

    /// Removes a client's own values of every header this configuration can set, before the computed ones are
    /// applied: a header whose expression gives nothing (no consumer, a runtime error) must not let a forged
    /// value through.
    pub fn remove_client_values(&self, headers: &mut HeaderMap) {
        for name in &self.names {
            headers.remove(name);
        }
        if self.patterns.is_empty() {
            return;
        }
        let matching: Vec<HeaderName> = headers
            .keys()
            .filter(|name| {
                let name = name.as_str();
                self.patterns.iter().any(|(prefix, suffix)| matches_pattern(name, prefix, suffix))
            })
            .cloned()
            .collect();
        for name in matching {
            headers.remove(name);
        }
    }

    /// Identifies the configuration across snapshots (in this process), so that values cached with a token
    /// are recomputed when the headers' configuration changes, and only then.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Evaluates every expression and renders the values. An expression that fails, returns `nil` or a value
    /// its format cannot take sets no header; the others are still set.
    pub fn compute(&self, environment: &Environment) -> UpstreamHeaders {
        let variables: Vec<(&str, &Value)> =
            environment.variables.iter().map(|(name, value)| (*name, value.as_ref())).collect();
        let mut computed = Vec::new();
        for (header, result) in self.headers.iter().zip(lua::evaluate(&self.expressions, &variables)) {
            match result {
                Ok(Some(value)) => header.render(&value, &mut computed),
                Ok(None) => {}
                Err(error) => tracing::info!(header = %header.name, %error, "custom header skipped: Lua error"),
            }
        }
        UpstreamHeaders(computed.into())
    }
}

impl Header {
    /// One header, or with `iterate` one per key of an object (array indexes count from 1, as in Lua).
    fn render(&self, value: &Value, out: &mut Vec<(HeaderName, HeaderValue)>) {
        if !self.iterate {
            return self.push(self.name.replace('_', "-"), value, out);
        }
        let per_key = |key: &str| self.name.replace("{*}", key).replace('_', "-");
        match value {
            Value::Object(entries) => entries.iter().for_each(|(key, item)| self.push(per_key(key), item, out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(index, item)| self.push(per_key(&(index + 1).to_string()), item, out)),
            _ => tracing::info!(header = %self.name, "custom header skipped: iterate needs an object or an array"),
        }
    }

    fn push(&self, name: String, value: &Value, out: &mut Vec<(HeaderName, HeaderValue)>) {
        if value.is_null() {
            return;
        }
        let rendered = format::render(value, self.format, &self.sep);
        match (HeaderName::from_bytes(name.as_bytes()), rendered) {
            (Ok(header), Ok(text)) => match HeaderValue::from_bytes(text.as_bytes()) {
                Ok(text) => out.push((header, text)),
                Err(_) => tracing::info!(header = %name, "custom header skipped: not a valid header value"),
            },
            (Err(_), _) => tracing::info!(header = %name, "custom header skipped: not a valid header name"),
            (_, Err(reason)) => tracing::info!(header = %name, reason, "custom header skipped"),
        }
    }
}

/// The variables the expressions see (§3.7 "Environments"); nothing else is reachable from them.
pub struct Environment<'a> {
    variables: Vec<(&'static str, Cow<'a, Value>)>,
}

impl<'a> Environment<'a> {
    /// gluu-oauth-auth and gluu-uma-auth: `introspect_data`, the token data (with `consumer` when a consumer
    /// is mapped), and `consumer`, that consumer.
    pub fn auth(introspect_data: &'a Value) -> Environment<'a> {
        let mut variables = vec![("introspect_data", Cow::Borrowed(introspect_data))];
        if let Some(consumer) = introspect_data.get("consumer") {
            variables.push(("consumer", Cow::Borrowed(consumer)));
        }
        Environment { variables }
    }

    /// gluu-openid-connect: the id_token's claims, the userinfo claims and the access token.
    pub fn openid_connect(
        id_token: &'a Value,
        userinfo: Option<&'a Value>,
        access_token: Option<&str>,
    ) -> Environment<'a> {
        let mut variables = vec![("id_token", Cow::Borrowed(id_token))];
        variables.extend(userinfo.map(|userinfo| ("userinfo", Cow::Borrowed(userinfo))));
        variables.extend(access_token.map(|token| ("access_token", Cow::Owned(Value::from(token)))));
        Environment { variables }
    }
}

/// Computed headers, cheap to clone: they are cached with the token that produced them.
#[derive(Debug, Clone, Default)]
pub struct UpstreamHeaders(Arc<[(HeaderName, HeaderValue)]>);

impl UpstreamHeaders {
    /// Sets every header on the upstream request, replacing the client's values of the same name.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in self.0.iter() {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// Whether `name` is an `iterate` header name: the prefix and suffix around a key.
fn matches_pattern(name: &str, prefix: &str, suffix: &str) -> bool {
    name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
}

#[cfg(test)]
mod tests;
