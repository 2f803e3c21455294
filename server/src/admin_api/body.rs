//! Request bodies: JSON, form-urlencoded and multipart, with Kong's 415 and 400 rules (`admin-api.md` §1.2).

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use super::AdminError;

/// A request body before it is typed: JSON as sent, or form pairs to be typed by a schema.
#[derive(Debug, Clone)]
pub enum RawBody {
    Json(Value),
    Form(Vec<(String, String)>),
}

impl RawBody {
    pub async fn read(headers: &HeaderMap, bytes: Bytes) -> Result<RawBody, AdminError> {
        let original = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let content_type = original.map(str::to_ascii_lowercase);
        match content_type.as_deref() {
            None if bytes.iter().all(u8::is_ascii_whitespace) => Ok(RawBody::Json(Value::Object(Map::new()))),
            None => Err(AdminError::UnsupportedMediaType),
            Some(ct) if ct.starts_with("application/json") => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(RawBody::Json(Value::Object(Map::new())));
                }
                serde_json::from_slice(&bytes).map(RawBody::Json).map_err(|_| AdminError::BadJson)
            }
            Some(ct) if ct.starts_with("application/x-www-form-urlencoded") => serde_urlencoded::from_bytes(&bytes)
                .map(RawBody::Form)
                .map_err(|_| AdminError::BadRequest("Cannot parse form body".into())),
            Some(ct) if ct.starts_with("multipart/form-data") => {
                // The boundary is case-sensitive: parse it from the header as sent.
                let boundary = multer::parse_boundary(original.unwrap_or(ct))
                    .map_err(|_| AdminError::BadRequest("Cannot parse multipart body".into()))?;
                let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
                let mut multipart = multer::Multipart::new(stream, boundary);
                let mut pairs = Vec::new();
                while let Some(field) = multipart
                    .next_field()
                    .await
                    .map_err(|_| AdminError::BadRequest("Cannot parse multipart body".into()))?
                {
                    let name = field.name().unwrap_or_default().to_string();
                    let value =
                        field.text().await.map_err(|_| AdminError::BadRequest("Cannot parse multipart body".into()))?;
                    pairs.push((name, value));
                }
                Ok(RawBody::Form(pairs))
            }
            Some(_) => Err(AdminError::UnsupportedMediaType),
        }
    }
}
