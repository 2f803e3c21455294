//! Responses the gateway makes itself (`proxy.md` §7, §10): JSON exits, and error pages in the media type
//! the client asked for.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};

use crate::model::MessageBody;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type GatewayBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

pub fn full(bytes: impl Into<Bytes>) -> GatewayBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// A `{"message": ...}` exit, JSON whatever the client accepts.
pub fn json_exit(status: StatusCode, message: &str) -> Response<GatewayBody> {
    let mut response = Response::new(full(MessageBody::new(message).to_json()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// Kong's default message for a status the gateway produces.
pub fn default_message(status: StatusCode) -> String {
    match status.as_u16() {
        400 => "Bad request".into(),
        401 => "Unauthorized".into(),
        403 => "Forbidden".into(),
        404 => "Not found".into(),
        405 => "Method not allowed".into(),
        408 => "Request timeout".into(),
        411 => "Length required".into(),
        412 => "Precondition failed".into(),
        413 => "Payload too large".into(),
        414 => "URI too long".into(),
        415 => "Unsupported media type".into(),
        417 => "Expectation failed".into(),
        426 => "Upgrade required".into(),
        429 => "Too many requests".into(),
        494 => "Request header or cookie too large".into(),
        500 => "An unexpected error occurred".into(),
        502 => "An invalid response was received from the upstream server".into(),
        503 => "The upstream server is currently unavailable".into(),
        504 => "The upstream server is timing out".into(),
        other => format!("The upstream server responded with {other}"),
    }
}

/// An error page: the media type of `Accept`, else of `Content-Type`, else `default_type`.
pub fn error_page(
    status: StatusCode,
    accept: Option<&str>,
    content_type: Option<&str>,
    default_type: &str,
    head: bool,
) -> Response<GatewayBody> {
    let requested = accept
        .or(content_type)
        .and_then(|v| v.split(',').next())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default_type.to_string());
    render_error(status, &requested, &default_message(status), head)
}

/// `kong.response.error`: the message in the `Accept` media range with the highest `q` (JSON when none).
pub fn negotiated_error(status: StatusCode, message: &str, accept: Option<&str>) -> Response<GatewayBody> {
    let mut best: Option<(f32, String)> = None;
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        if media.is_empty() {
            continue;
        }
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        if best.as_ref().is_none_or(|(best_q, _)| q > *best_q) {
            best = Some((q, media));
        }
    }
    let requested = best.map(|(_, media)| media).unwrap_or_else(|| "application/json".into());
    render_error(status, &requested, message, false)
}

/// The body of an error in the requested media type (`proxy.md` §10.2).
fn render_error(status: StatusCode, requested: &str, message: &str, head: bool) -> Response<GatewayBody> {
    let (media, body) = if requested.starts_with("text/html") {
        (
            "text/html; charset=utf-8",
            format!(
                "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Kong Error</title>\n  </head>\n  <body>\n    <h1>Kong Error</h1>\n    <p>{message}.</p>\n  </body>\n</html>\n"
            ),
        )
    } else if requested.starts_with("text/") {
        ("text/plain; charset=utf-8", format!("{message}\n"))
    } else if requested.starts_with("application/xml") {
        (
            "application/xml; charset=utf-8",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>{message}</message>\n</error>\n"),
        )
    } else {
        ("application/json; charset=utf-8", format!("{{\n  \"message\":\"{message}\"\n}}"))
    };
    let mut response = Response::new(if head { full(Bytes::new()) } else { full(body) });
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(response: Response<GatewayBody>) -> (String, String) {
        let media = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (media, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn error_pages_follow_accept_then_content_type_then_the_default() {
        let (media, body) =
            text(error_page(StatusCode::BAD_GATEWAY, Some("application/json"), None, "text/plain", false)).await;
        assert_eq!(media, "application/json; charset=utf-8");
        assert_eq!(body, "{\n  \"message\":\"An invalid response was received from the upstream server\"\n}");
        let (media, body) = text(error_page(StatusCode::GATEWAY_TIMEOUT, None, None, "text/plain", false)).await;
        assert_eq!(
            (media.as_str(), body.as_str()),
            ("text/plain; charset=utf-8", "The upstream server is timing out\n")
        );
        let (_, body) = text(error_page(StatusCode::BAD_GATEWAY, None, Some("text/html"), "text/plain", false)).await;
        assert!(body.contains("<h1>Kong Error</h1>") && body.contains("upstream server.</p>"));
        let (_, body) =
            text(error_page(StatusCode::BAD_GATEWAY, Some("application/xml;q=0.9"), None, "text/plain", false)).await;
        assert!(body.contains("<message>An invalid response was received from the upstream server</message>"));
        let (_, body) = text(error_page(StatusCode::BAD_GATEWAY, None, None, "text/plain", true)).await;
        assert!(body.is_empty(), "HEAD gets no body");
    }
}
