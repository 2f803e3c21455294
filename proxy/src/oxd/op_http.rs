//! Calls to the OP: client authentication and the one place where an OP answer becomes JSON or an oxd
//! error (an OP 4xx passes through with its status and body, `oxd.md` §1.2 step 5; anything else failing
//! is logged without the request and answered as oxd's internal error).

use base64::Engine;
use serde_json::Value;

use super::{Oxd, OxdError};

/// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
pub(crate) fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

impl Oxd {
    pub(super) async fn send_json(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), OxdError> {
        let response = request.send().await.map_err(|error| {
            tracing::error!(%error, "OP request failed");
            OxdError::internal()
        })?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if (400..500).contains(&status) {
            return Err(OxdError::Op { status, body });
        }
        if !(200..300).contains(&status) {
            tracing::error!(status, body = %body.chars().take(300).collect::<String>(), "OP error");
            return Err(OxdError::internal());
        }
        if body.trim().is_empty() {
            return Ok((status, Value::Null));
        }
        serde_json::from_str(&body).map(|v| (status, v)).map_err(|_| {
            tracing::error!(status, "OP answered with something that is not JSON");
            OxdError::internal()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let header = basic_auth("@!1736.179E", "s:e cret");
        let decoded = base64::engine::general_purpose::STANDARD.decode(header.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "%40%211736.179E:s%3Ae+cret");
    }
}
