//! `get-issuer` (`oxd.md` §1.5): OpenID Connect Discovery §2 issuer discovery with WebFinger (RFC 7033) for a
//! user or resource identifier, checked against the issuer of the given OP location (oxd 4.3's rule).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::discovery::discovery_url;
use super::params::text;
use super::{Oxd, OxdError};

/// The `rel` of an OpenID Connect issuer link.
pub const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";

#[derive(Debug, Deserialize)]
struct WebFinger {
    subject: String,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    rel: String,
    #[serde(default)]
    href: Option<String>,
}

/// The normalized resource (OIDC Discovery §2.1) and the WebFinger URL of its host.
///
/// `joe@example.com` is `acct:joe@example.com`, a bare host (and path) gets `https://`. WebFinger is asked over
/// HTTPS (RFC 7033 §4) — except for a resource that is itself an `http://` URL, which names a plain-HTTP OP
/// on purpose (labs and tests).
pub fn webfinger_url(resource: &str) -> Option<(String, String)> {
    let resource = resource.trim();
    let (normalized, scheme, authority) = if let Some(account) = resource.strip_prefix("acct:") {
        (resource.to_string(), "https", account.rsplit_once('@')?.1.to_string())
    } else if let Some((scheme, rest)) = resource.split_once("://") {
        let scheme = if scheme.eq_ignore_ascii_case("http") { "http" } else { "https" };
        let normalized = resource.split('#').next().unwrap_or(resource).to_string();
        (normalized, scheme, rest.split(['/', '?', '#']).next()?.to_string())
    } else if resource.contains('@') && !resource.contains('/') {
        (format!("acct:{resource}"), "https", resource.rsplit_once('@')?.1.to_string())
    } else {
        let normalized = format!("https://{}", resource.split('#').next().unwrap_or(resource));
        (normalized, "https", resource.split(['/', '?', '#']).next()?.to_string())
    };
    // The authority must be a plain host[:port]: user info or spaces would redirect the lookup elsewhere.
    if authority.is_empty() || authority.contains(['@', ' ', '\\']) {
        return None;
    }
    Some((normalized, format!("{scheme}://{authority}/.well-known/webfinger")))
}

fn failed_to_get_issuer() -> OxdError {
    OxdError::code(
        500,
        "failed_to_get_issuer",
        "Failed to get OP Issuer. Please check 1) if correct `resource` parameter is passed to this command. 2) oxd \
         log file for error details (oxd-server.log).",
    )
}

impl Oxd {
    /// `get-issuer`: the WebFinger answer for `resource`, whose issuer link must be the OP's issuer.
    pub async fn get_issuer(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let url = discovery_url(params).ok_or_else(OxdError::no_op_location)?;
        let resource = text(params, "resource").ok_or_else(|| {
            OxdError::code(400, "bad_request_no_resource", "The 'resource' is empty or not specified.")
        })?;
        let (resource, webfinger) = webfinger_url(resource).ok_or_else(failed_to_get_issuer)?;
        let discovery = self.discovery(&url).await?;
        // The resource's host is asked too: it must be an OP the node may talk to.
        if !self.settings.allows_op(&webfinger) {
            return Err(OxdError::restricted_op_host());
        }
        let request = self.http.get(&webfinger).query(&[("resource", resource.as_str()), ("rel", ISSUER_REL)]);
        let answer = self.send_json(request).await.map_err(|error| {
            tracing::error!(%error, webfinger, "WebFinger failed");
            failed_to_get_issuer()
        })?;
        let found: WebFinger = serde_json::from_value(answer.1).map_err(|_| {
            tracing::error!(webfinger, "WebFinger answered something that is not a JRD");
            failed_to_get_issuer()
        })?;
        let issuers: Vec<&str> =
            found.links.iter().filter(|l| l.rel == ISSUER_REL).filter_map(|l| l.href.as_deref()).collect();
        if !issuers.iter().any(|href| href.trim_end_matches('/') == discovery.issuer.trim_end_matches('/')) {
            tracing::error!(issuer = %discovery.issuer, found = ?issuers, "WebFinger names another issuer");
            return Err(OxdError::code(
                500,
                "invalid_issuer_discovered",
                "Discovered issuer not matched with issuer obtained from Webfinger.",
            ));
        }
        let links: Vec<Value> = found.links.iter().map(|l| json!({"rel": l.rel, "href": l.href})).collect();
        Ok(json!({"subject": found.subject, "links": links}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_normalized_as_oidc_discovery_says() {
        let url = webfinger_url;
        assert_eq!(
            url("joe@example.com").unwrap(),
            ("acct:joe@example.com".into(), "https://example.com/.well-known/webfinger".into())
        );
        assert_eq!(url("acct:joe@op.example.com").unwrap().1, "https://op.example.com/.well-known/webfinger");
        assert_eq!(
            url("example.com:8080/joe").unwrap(),
            ("https://example.com:8080/joe".into(), "https://example.com:8080/.well-known/webfinger".into())
        );
        assert_eq!(
            url("http://127.0.0.1:3000/alice#x").unwrap(),
            ("http://127.0.0.1:3000/alice".into(), "http://127.0.0.1:3000/.well-known/webfinger".into())
        );
        assert_eq!(url("https://user@evil.example/x"), None, "user info would move the lookup");
        assert_eq!(url("acct:nobody"), None);
    }
}
