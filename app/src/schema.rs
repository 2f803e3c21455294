//! Entity forms generated from the Admin API's own schemas (`GET /schemas/{entity}`): each schema field
//! becomes a [`FieldSpec`], the form holds one text value per field, and [`FieldSpec::to_json`] turns the text
//! back into the JSON the Admin API expects. The Admin API stays the judge of validity; this only reads text.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How a field is entered.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text,
    Integer,
    Number,
    Boolean,
    /// A choice among `one_of`.
    Choice(Vec<String>),
    /// An array or set of scalars: comma-separated.
    List,
    /// The id of an entity of another collection (`{"id": ...}`).
    Foreign(String),
    /// Maps, records and lists of records: JSON text.
    Json,
    /// Long text (certificates and keys).
    LongText,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub input: Input,
    pub required: bool,
    pub default: Option<Value>,
}

/// The editable fields of a schema body (`{"fields": [{"name": {...}}, ...]}`); generated ones (`auto`) are left out.
/// A record's fields (a plugin's `config`) become fields of their own, named by their path (`config.minute`).
pub fn fields(schema: &Value) -> Vec<FieldSpec> {
    let mut specs = Vec::new();
    collect_fields("", schema, &mut specs);
    specs
}

fn collect_fields(prefix: &str, record: &Value, specs: &mut Vec<FieldSpec>) {
    let Some(list) = record.get("fields").and_then(Value::as_array) else { return };
    let entries = list.iter().filter_map(Value::as_object).filter_map(|entry| entry.iter().next());
    for (name, def) in entries {
        if def.get("auto").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        if def.get("type").and_then(Value::as_str) == Some("record") && def.get("fields").is_some() {
            collect_fields(&path, def, specs);
            continue;
        }
        specs.push(FieldSpec {
            input: input_of(name, def),
            name: path,
            required: def.get("required").and_then(Value::as_bool).unwrap_or(false),
            default: def.get("default").cloned(),
        });
    }
}

/// The value at a dotted path of an entity (`config.minute`).
pub fn value_at<'a>(entity: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(entity, |value, key| value.get(key))
}

fn insert_at(body: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            body.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = body.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = inner {
                insert_at(map, rest, value);
            }
        }
    }
}

fn input_of(name: &str, def: &Value) -> Input {
    let ty = def.get("type").and_then(Value::as_str).unwrap_or("string");
    if let Some(choices) = def.get("one_of").and_then(Value::as_array) {
        return Input::Choice(choices.iter().map(scalar_text).collect());
    }
    match ty {
        "string" if matches!(name, "cert" | "key" | "cert_alt" | "key_alt") => Input::LongText,
        "string" => Input::Text,
        "integer" => Input::Integer,
        "number" => Input::Number,
        // Without a default, "not set" must stay possible (`tls_verify` must be null on plain http).
        "boolean" if def.get("default").is_none() => Input::Choice(vec!["true".into(), "false".into()]),
        "boolean" => Input::Boolean,
        "foreign" => Input::Foreign(def.get("reference").and_then(Value::as_str).unwrap_or_default().to_string()),
        "array" | "set" => {
            let element = def.get("elements").and_then(|e| e.get("type")).and_then(Value::as_str);
            match element {
                Some("string" | "integer" | "number") | None => Input::List,
                _ => Input::Json,
            }
        }
        _ => Input::Json,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl FieldSpec {
    /// The text a form shows for a stored (or default) value.
    pub fn to_text(&self, value: Option<&Value>) -> String {
        let Some(value) = value.filter(|v| !v.is_null()) else { return String::new() };
        match (&self.input, value) {
            (Input::Foreign(_), Value::Object(map)) => map.get("id").map(scalar_text).unwrap_or_default(),
            (Input::List, Value::Array(items)) => items.iter().map(scalar_text).collect::<Vec<_>>().join(", "),
            (Input::Json, other) => other.to_string(),
            (_, other) => scalar_text(other),
        }
    }

    /// The JSON for the form's text; `Ok(None)` for an empty field. `Err` when the text cannot be read at all
    /// (a number that is no number, JSON that does not parse); everything else is the Admin API's to judge.
    pub fn to_json(&self, text: &str) -> Result<Option<Value>, String> {
        let text = text.trim();
        if text.is_empty() && self.input != Input::Boolean {
            return Ok(None);
        }
        let value = match &self.input {
            Input::Text | Input::LongText => Value::String(text.to_string()),
            Input::Integer => Value::from(text.parse::<i64>().map_err(|_| format!("'{text}' is not a whole number"))?),
            Input::Number => {
                let number = text.parse::<f64>().map_err(|_| format!("'{text}' is not a number"))?;
                serde_json::Number::from_f64(number).map(Value::Number).ok_or("not a finite number")?
            }
            Input::Boolean => Value::Bool(text == "true"),
            Input::Choice(_) => match serde_json::from_str::<Value>(text) {
                Ok(scalar @ (Value::Number(_) | Value::Bool(_))) => scalar,
                _ => Value::String(text.to_string()),
            },
            Input::List => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
            Input::Foreign(_) => {
                let mut map = Map::new();
                map.insert("id".into(), Value::String(text.to_string()));
                Value::Object(map)
            }
            Input::Json => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?,
        };
        Ok(Some(value))
    }
}

/// The request body for a form: every non-empty field, or the fields whose text cannot be read.
/// With `clearing` (an edit), an emptied field is sent as `null` so the Admin API clears it.
pub fn body(
    specs: &[FieldSpec],
    texts: &BTreeMap<String, String>,
    clearing: bool,
) -> Result<Value, BTreeMap<String, String>> {
    let mut body = Map::new();
    let mut errors = BTreeMap::new();
    for spec in specs {
        let text = texts.get(&spec.name).map(String::as_str).unwrap_or("");
        match spec.to_json(text) {
            Ok(Some(value)) => insert_at(&mut body, &spec.name, value),
            // A secret the form never shows is kept as stored when left empty.
            Ok(None) if clearing && !crate::admin::is_secret("", &spec.name) && !is_certificate_key(spec) => {
                insert_at(&mut body, &spec.name, Value::Null)
            }
            Ok(None) => {}
            Err(message) => {
                errors.insert(spec.name.clone(), message);
            }
        }
    }
    if errors.is_empty() { Ok(Value::Object(body)) } else { Err(errors) }
}

/// The certificate's private key fields (long text): never shown, kept when left empty.
fn is_certificate_key(spec: &FieldSpec) -> bool {
    spec.input == Input::LongText && crate::admin::is_secret("certificates", &spec.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route_schema() -> Value {
        json!({"fields": [
            {"id": {"auto": true, "type": "string"}},
            {"name": {"type": "string"}},
            {"protocols": {"type": "set", "required": true, "default": ["http", "https"],
                           "elements": {"type": "string", "one_of": ["http", "https"]}}},
            {"https_redirect_status_code": {"type": "integer", "one_of": [426, 301], "default": 426}},
            {"strip_path": {"type": "boolean", "default": true}},
            {"headers": {"type": "map", "keys": {"type": "string"}}},
            {"regex_priority": {"type": "integer"}},
            {"tls_verify": {"type": "boolean"}},
            {"service": {"type": "foreign", "reference": "services"}}
        ]})
    }

    #[test]
    fn schema_fields_become_inputs_without_generated_ones() {
        let specs = fields(&route_schema());
        let inputs: Vec<(&str, &Input)> = specs.iter().map(|s| (s.name.as_str(), &s.input)).collect();
        assert_eq!(inputs[0], ("name", &Input::Text));
        assert_eq!(inputs[1], ("protocols", &Input::List));
        assert_eq!(inputs[2], ("https_redirect_status_code", &Input::Choice(vec!["426".into(), "301".into()])));
        assert_eq!(inputs[3], ("strip_path", &Input::Boolean));
        assert_eq!(inputs[4], ("headers", &Input::Json));
        assert_eq!(inputs[6], ("tls_verify", &Input::Choice(vec!["true".into(), "false".into()])));
        assert_eq!(inputs[7], ("service", &Input::Foreign("services".into())));
        assert_eq!(specs[6].to_json(""), Ok(None));
        assert_eq!(specs[6].to_json("false"), Ok(Some(Value::Bool(false))));
        assert!(specs[1].required);
        assert_eq!(specs[1].to_text(specs[1].default.as_ref()), "http, https");
    }

    #[test]
    fn form_text_becomes_admin_api_json() {
        let specs = fields(&route_schema());
        let texts: BTreeMap<String, String> = [
            ("name", "r1"),
            ("protocols", "http, https"),
            ("https_redirect_status_code", "301"),
            ("strip_path", "false"),
            ("headers", r#"{"x": ["1"]}"#),
            ("service", "abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = body(&specs, &texts, false).unwrap();
        assert_eq!(
            body,
            json!({"name": "r1", "protocols": ["http", "https"], "https_redirect_status_code": 301,
                   "strip_path": false, "headers": {"x": ["1"]}, "service": {"id": "abc"}})
        );
    }

    #[test]
    fn record_fields_are_fields_of_their_own_and_nest_back() {
        let schema = json!({"fields": [
            {"name": {"type": "string", "required": true}},
            {"config": {"type": "record", "required": true, "fields": [
                {"minute": {"type": "number"}},
                {"policy": {"type": "string", "one_of": ["local", "redis"], "default": "local"}}
            ]}}
        ]});
        let specs = fields(&schema);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["name", "config.minute", "config.policy"]);
        let stored = json!({"name": "rate-limiting", "config": {"minute": 5.0, "policy": "redis"}});
        assert_eq!(specs[2].to_text(value_at(&stored, &specs[2].name)), "redis");
        let texts: BTreeMap<String, String> =
            [("name".to_string(), "rate-limiting".to_string()), ("config.minute".to_string(), "10".to_string())].into();
        assert_eq!(body(&specs, &texts, false).unwrap(), json!({"name": "rate-limiting", "config": {"minute": 10.0}}));
    }

    #[test]
    fn unreadable_text_is_a_field_error_and_edits_clear_emptied_fields() {
        let specs = fields(&route_schema());
        let texts: BTreeMap<String, String> =
            [("regex_priority".to_string(), "high".to_string()), ("headers".to_string(), "{".to_string())].into();
        let errors = body(&specs, &texts, false).unwrap_err();
        assert_eq!(errors["regex_priority"], "'high' is not a whole number");
        assert!(errors["headers"].starts_with("not valid JSON"));
        let cleared = body(&specs, &BTreeMap::new(), true).unwrap();
        assert_eq!(cleared["name"], Value::Null);
    }
}
