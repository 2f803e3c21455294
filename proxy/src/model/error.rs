//! Kong's simplest error shape, `{"message":"..."}`, used by the proxy and the Admin API alike.

use serde::{Deserialize, Serialize};

/// The body of every Kong exit that carries only a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    pub message: String,
}

impl MessageBody {
    pub fn new(message: impl Into<String>) -> Self {
        MessageBody { message: message.into() }
    }

    /// The serialized body; serializing a single string field cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a struct with one String field always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_body_serializes_as_kong_does() {
        assert_eq!(
            MessageBody::new("no Route matched with those values").to_json(),
            r#"{"message":"no Route matched with those values"}"#
        );
    }
}
