//! Which stored fields are secrets: a certificate's private key, and any field at any depth named like a
//! password or a secret (a plugin's `config.redis_password`, `config.client_secret`). The admin UI never sends
//! them to the browser; the audit log never records them.

use serde_json::Value;

/// Whether a field's stored value must never go back to the browser: a certificate's private key, and any
/// field (at any depth, such as a plugin's `config.redis_password` or `config.client_secret`) named like a
/// password or a secret. Forms leave such fields empty and keep the stored value when they stay empty.
pub fn is_secret(collection: &str, field: &str) -> bool {
    let name = field.rsplit('.').next().unwrap_or(field);
    (collection == "certificates" && matches!(name, "key" | "key_alt"))
        || name.contains("password")
        || name.contains("secret")
}

/// Removes secret fields from an Admin API body about `collection` (a single entity or a `data` page).
pub fn redact(collection: &str, body: &mut Value) {
    match body {
        Value::Object(map) => {
            map.retain(|key, _| !is_secret(collection, key));
            map.values_mut().for_each(|inner| redact(collection, inner));
        }
        Value::Array(items) => items.iter_mut().for_each(|inner| redact(collection, inner)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn certificate_keys_are_removed_from_pages_and_entities() {
        let mut page = json!({"data": [{"id": "a", "cert": "C", "key": "K"}], "next": null});
        redact("certificates", &mut page);
        assert_eq!(page, json!({"data": [{"id": "a", "cert": "C"}], "next": null}));
        let mut one = json!({"id": "a", "key": "K"});
        redact("certificates", &mut one);
        assert_eq!(one, json!({"id": "a"}));
        let mut service = json!({"id": "s", "key": "kept"});
        redact("services", &mut service);
        assert_eq!(service["key"], "kept");
        let mut plugin =
            json!({"data": [{"name": "x", "config": {"redis_password": "p", "client_secret": "s", "minute": 1}}]});
        redact("plugins", &mut plugin);
        assert_eq!(plugin, json!({"data": [{"name": "x", "config": {"minute": 1}}]}));
    }
}
