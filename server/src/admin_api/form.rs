//! Form-encoded entities: dotted keys build records (`config.minute=5`), repeated keys, `key[]` and 1-based
//! `key[n]` build arrays, and values are typed from the target schema — numbers, booleans, a scalar given
//! for an array, and the empty string as `null` (`admin-api.md` §1.3).

use proxy::model::schema::{Field, Type};
use serde_json::{Map, Value};

/// Builds the untyped tree of a form: every leaf is a string, arrays come from repetition or indexes.
pub fn tree(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let path = parse_key(key);
        insert(&mut root, &path, Value::String(value.clone()));
    }
    root
}

#[derive(Debug, PartialEq)]
enum Segment {
    Name(String),
    /// `[n]`, 1-based; `None` for `[]`.
    Index(Option<usize>),
}

fn parse_key(key: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        segments.push(Segment::Name(name.to_string()));
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            let inside = &stripped[..end];
            segments.push(Segment::Index(inside.parse::<usize>().ok().filter(|n| *n >= 1)));
            rest = &stripped[end + 1..];
        }
    }
    segments
}

fn insert(map: &mut Map<String, Value>, path: &[Segment], value: Value) {
    let [Segment::Name(name), rest @ ..] = path else { return };
    match rest {
        [] => match map.get_mut(name) {
            // A repeated key is an array.
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(name.clone(), value);
            }
        },
        [Segment::Index(index), tail @ ..] => {
            let slot = map.entry(name.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(vec![slot.take()]);
            }
            let items = slot.as_array_mut().expect("made an array above");
            let position = index.map(|n| n - 1).unwrap_or(items.len());
            while items.len() <= position {
                items.push(Value::Null);
            }
            if tail.is_empty() {
                items[position] = value;
            } else {
                if !items[position].is_object() {
                    items[position] = Value::Object(Map::new());
                }
                let child = items[position].as_object_mut().expect("made an object above");
                insert_rest(child, tail, value);
            }
        }
        tail => {
            let slot = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            insert_rest(slot.as_object_mut().expect("made an object above"), tail, value);
        }
    }
}

fn insert_rest(map: &mut Map<String, Value>, path: &[Segment], value: Value) {
    insert(map, path, value)
}

/// Types the string leaves of `tree` by `fields`. Unknown keys are kept as given for validation to report.
pub fn type_record(fields: &[Field], tree: Map<String, Value>) -> Map<String, Value> {
    tree.into_iter()
        .map(|(key, value)| {
            let typed = match fields.iter().find(|f| f.name == key) {
                Some(field) => type_value(field, value),
                None => value,
            };
            (key, typed)
        })
        .collect()
}

fn type_value(field: &Field, value: Value) -> Value {
    if value == Value::String(String::new()) {
        return Value::Null;
    }
    match (&field.ty, value) {
        (Type::Integer | Type::Number, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| s.trim().parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)))
            .unwrap_or(Value::String(s)),
        (Type::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s),
        },
        (Type::Array(elements) | Type::Set(elements), Value::Array(items)) => {
            Value::Array(items.into_iter().filter(|v| !v.is_null()).map(|v| type_value(elements, v)).collect())
        }
        (Type::Array(elements) | Type::Set(elements), scalar) => Value::Array(vec![type_value(elements, scalar)]),
        (Type::Record(fields), Value::Object(map)) => Value::Object(type_record(fields, map)),
        (Type::Map { values, .. }, Value::Object(map)) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, type_value(values, v))).collect())
        }
        (Type::Foreign(_), Value::Object(map)) => Value::Object(map),
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy::model::EntityKind;
    use proxy::model::entities::definition;
    use serde_json::json;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn routes_from_forms_get_arrays_maps_and_typed_values() {
        let fields = &definition(EntityKind::Routes).schema.fields;
        let form = pairs(&[
            ("paths[1]", "/a"),
            ("paths[2]", "/b"),
            ("methods", "GET"),
            ("methods", "POST"),
            ("hosts[]", "example.com"),
            ("headers.region", "north"),
            ("strip_path", "false"),
            ("regex_priority", "5"),
            ("service.id", "7c0e2e8f-6d5b-4c9a-9f6a-2a8b4f3c1d00"),
            ("name", ""),
        ]);
        let typed = type_record(fields, tree(&form));
        assert_eq!(
            Value::Object(typed),
            json!({"paths": ["/a", "/b"], "methods": ["GET", "POST"], "hosts": ["example.com"],
                   "headers": {"region": ["north"]}, "strip_path": false, "regex_priority": 5,
                   "service": {"id": "7c0e2e8f-6d5b-4c9a-9f6a-2a8b4f3c1d00"}, "name": null})
        );
    }

    #[test]
    fn nested_records_type_their_leaves() {
        let fields = &definition(EntityKind::Upstreams).schema.fields;
        let form = pairs(&[("name", "u"), ("healthchecks.active.healthy.interval", "5"), ("slots", "20")]);
        let typed = type_record(fields, tree(&form));
        assert_eq!(typed["healthchecks"], json!({"active": {"healthy": {"interval": 5}}}));
        assert_eq!(typed["slots"], 20);
    }
}
