//! `cors` (`proxy.md` §12.2): answers preflight requests and adds the CORS headers to responses.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::{Access, Flow, Plugin, RequestCtx, settings};
use crate::errors::full;

#[derive(Deserialize)]
struct Settings {
    origins: Option<Vec<String>>,
    headers: Option<Vec<String>>,
    exposed_headers: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    max_age: Option<f64>,
    credentials: bool,
    preflight_continue: bool,
}

enum Origins {
    /// No origins, or exactly `*`.
    Any,
    /// Exactly one literal origin: always sent as is.
    Single(HeaderValue),
    /// Each a normalized literal or an anchored regex; `by_host` entries (no `:`) match the origin's host.
    List(Vec<OriginRule>),
}

enum OriginRule {
    Literal(String),
    Pattern { regex: Regex, by_host: bool },
}

pub struct Cors {
    origins: Origins,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    methods: HeaderValue,
    max_age: Option<HeaderValue>,
    credentials: bool,
    preflight_continue: bool,
}

fn is_literal(origin: &str) -> bool {
    origin.bytes().all(|b| b.is_ascii_alphanumeric() || b".:/-".contains(&b))
}

/// `scheme://host[:port]`, lower-cased, default ports dropped; `None` when it is not an origin.
fn normalize(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split('/').next()?.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_string(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn joined(list: Option<Vec<String>>) -> Option<HeaderValue> {
    list.filter(|l| !l.is_empty()).and_then(|l| HeaderValue::from_str(&l.join(",")).ok())
}

impl Cors {
    pub fn new(config: &Value) -> Result<Cors, String> {
        let settings: Settings = settings(config)?;
        let origins = match settings.origins.unwrap_or_default().as_slice() {
            [] => Origins::Any,
            [only] if only == "*" => Origins::Any,
            [only] if is_literal(only) => {
                Origins::Single(HeaderValue::from_str(only).map_err(|_| format!("'{only}' is not a valid origin"))?)
            }
            many => Origins::List(
                many.iter()
                    .map(|origin| {
                        if is_literal(origin) {
                            return Ok(OriginRule::Literal(normalize(origin).unwrap_or_else(|| origin.to_string())));
                        }
                        let body = origin.strip_prefix('^').unwrap_or(origin);
                        let anchored =
                            if body.ends_with('$') { format!("^(?:{body})") } else { format!("^(?:{body})$") };
                        let regex = Regex::new(&anchored).map_err(|_| format!("'{origin}' is not a valid regex"))?;
                        Ok(OriginRule::Pattern { regex, by_host: !origin.contains(':') })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        };
        let methods = settings
            .methods
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| crate::model::plugins::cors::METHODS.iter().map(|m| m.to_string()).collect());
        Ok(Cors {
            origins,
            allow_headers: joined(settings.headers),
            expose_headers: joined(settings.exposed_headers),
            methods: HeaderValue::from_str(&methods.join(",")).map_err(|e| e.to_string())?,
            max_age: settings.max_age.map(|age| HeaderValue::from(age as u64)),
            credentials: settings.credentials,
            preflight_continue: settings.preflight_continue,
        })
    }

    /// Sets the origin and credentials headers for a request with `origin`.
    fn configure_origin(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        let allow_all = match &self.origins {
            Origins::Any => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                true
            }
            Origins::Single(value) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value.clone());
                false
            }
            Origins::List(rules) => {
                if let Some(origin) = origin
                    && let Some(normalized) = normalize(origin)
                    && rules.iter().any(|rule| match rule {
                        OriginRule::Literal(literal) => *literal == normalized,
                        OriginRule::Pattern { regex, by_host: true } => regex.is_match(host_of(origin)),
                        OriginRule::Pattern { regex, by_host: false } => regex.is_match(&normalized),
                    })
                    && let Ok(value) = HeaderValue::from_str(&normalized)
                {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                }
                false
            }
        };
        if self.credentials {
            if allow_all {
                let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) else { return };
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            }
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
    }
}

/// Marks a request that is not a preflight, so `header_filter` adds the headers.
#[derive(Clone)]
struct Actual;

impl Plugin for Cors {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        let preflight = cx.request.method == Method::OPTIONS
            && cx.request.headers.contains_key(header::ORIGIN)
            && cx.request.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight {
            cx.extensions.insert(Actual);
            return Access::Done(Flow::Continue);
        }
        if self.preflight_continue {
            return Access::Done(Flow::Continue);
        }
        let mut response = Response::new(full(bytes::Bytes::new()));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        self.configure_origin(cx.header("origin"), headers);
        let allow_headers = self
            .allow_headers
            .clone()
            .or_else(|| cx.request.headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned());
        if let Some(value) = allow_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        if let Some(age) = &self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        Access::Done(Flow::Respond(response))
    }

    fn header_filter(&self, cx: &mut RequestCtx, response: &mut http::response::Parts) {
        if cx.extensions.get::<Actual>().is_none() {
            return;
        }
        self.configure_origin(cx.header("origin"), &mut response.headers);
        if let Some(expose) = &self.expose_headers {
            response.headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(config: Value, origin: Option<&str>) -> (Option<String>, Option<String>) {
        let cors =
            Cors::new(
                &crate::model::entities::plugin::process(&serde_json::json!({"name": "cors", "config": config}))
                    .unwrap()["config"],
            )
            .unwrap();
        let mut headers = HeaderMap::new();
        cors.configure_origin(origin, &mut headers);
        let get = |name| headers.get(name).map(|v: &HeaderValue| v.to_str().unwrap().to_string());
        (get(header::ACCESS_CONTROL_ALLOW_ORIGIN), get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS))
    }

    #[test]
    fn origin_decisions_follow_kong() {
        use serde_json::json;
        assert_eq!(allowed(json!({}), Some("http://a.test")).0.as_deref(), Some("*"));
        assert_eq!(
            allowed(json!({"origins": ["http://only.test"]}), Some("http://x.test")).0.as_deref(),
            Some("http://only.test")
        );
        let list = json!({"origins": ["http://a.test:80", "(.*)\\.example\\.com", "https://b\\.test:\\d+"]});
        assert_eq!(allowed(list.clone(), Some("http://a.test")).0.as_deref(), Some("http://a.test"));
        assert_eq!(
            allowed(list.clone(), Some("http://api.example.com:8080")).0.as_deref(),
            Some("http://api.example.com:8080")
        );
        assert_eq!(allowed(list.clone(), Some("https://b.test:8443")).0.as_deref(), Some("https://b.test:8443"));
        assert_eq!(allowed(list.clone(), Some("http://example.com.evil.test")).0, None);
        assert_eq!(allowed(list, None).0, None);
        let credentials = allowed(json!({"credentials": true}), Some("http://c.test"));
        assert_eq!(credentials, (Some("http://c.test".into()), Some("true".into())));
    }
}
