//! Validation with Kong's messages: unknown fields, required fields, types, checks and entity checks, with
//! defaults filled in for absent fields.

use serde_json::{Map, Value};

use super::{Check, EntityCheck, Field, Schema, SchemaViolation, Type};

impl Schema {
    /// Validates a whole entity and returns it normalized: every field of the schema present (unset ones
    /// `null`), defaults filled for absent fields, set duplicates dropped. Inserts and PUTs pass the client's
    /// body; PATCHes pass the stored entity merged with the client's changes.
    pub fn process(&self, input: &Value) -> Result<Value, SchemaViolation> {
        let Some(input) = input.as_object() else {
            let mut violation = SchemaViolation::default();
            violation.entity.push("expected a record".into());
            return Err(violation);
        };
        let mut violation = SchemaViolation::default();
        let output =
            process_record(&self.fields, &self.entity_checks, input, &mut violation.fields, &mut violation.entity);
        if violation.is_empty() { Ok(Value::Object(output)) } else { Err(violation) }
    }
}

fn process_record(
    fields: &[Field],
    checks: &[EntityCheck],
    input: &Map<String, Value>,
    errors: &mut Map<String, Value>,
    entity_errors: &mut Vec<String>,
) -> Map<String, Value> {
    for key in input.keys() {
        if !fields.iter().any(|f| f.name == key) {
            errors.insert(key.clone(), "unknown field".into());
        }
    }
    let mut output = Map::new();
    for field in fields {
        let value = match input.get(field.name) {
            None => absent_value(field),
            Some(value) => value.clone(),
        };
        match process_value(field, value) {
            Ok(value) => {
                output.insert(field.name.to_string(), value);
            }
            Err(error) => {
                errors.insert(field.name.to_string(), error);
                output.insert(field.name.to_string(), Value::Null);
            }
        }
    }
    for check in checks {
        run_entity_check(check, &output, errors, entity_errors);
    }
    output
}

/// What an absent field becomes: its default, a record of its subfields' defaults, or null.
fn absent_value(field: &Field) -> Value {
    if let Some(default) = &field.default {
        return default.clone();
    }
    match &field.ty {
        Type::Record(_) if field.required => Value::Object(Map::new()),
        _ => Value::Null,
    }
}

/// Checks one value against its field; the error is a message or, for records and arrays, a nested tree.
fn process_value(field: &Field, value: Value) -> Result<Value, Value> {
    if value.is_null() {
        return if field.required && !field.auto { Err("required field missing".into()) } else { Ok(Value::Null) };
    }
    let value = check_type(field, value)?;
    for check in &field.checks {
        run_check(check, &value).map_err(Value::String)?;
    }
    Ok(value)
}

fn check_type(field: &Field, value: Value) -> Result<Value, Value> {
    let mismatch = |expected: &str| Err(Value::String(format!("expected {expected}")));
    match &field.ty {
        Type::String => {
            if value.is_string() {
                Ok(value)
            } else {
                mismatch("a string")
            }
        }
        Type::Boolean => {
            if value.is_boolean() {
                Ok(value)
            } else {
                mismatch("a boolean")
            }
        }
        Type::Number => {
            if value.is_number() {
                Ok(value)
            } else {
                mismatch("a number")
            }
        }
        Type::Integer => match value.as_f64() {
            Some(_) if value.is_i64() || value.is_u64() => Ok(value),
            Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(Value::from(n as i64)),
            _ => mismatch("an integer"),
        },
        Type::Array(elements) | Type::Set(elements) => {
            let is_set = matches!(field.ty, Type::Set(_));
            let Value::Array(items) = value else {
                return mismatch(if is_set { "a set" } else { "an array" });
            };
            let mut output = Vec::with_capacity(items.len());
            let mut errors = vec![Value::Null; items.len()];
            let mut failed = false;
            for (index, item) in items.into_iter().enumerate() {
                match process_value(elements, item) {
                    Ok(item) if is_set && output.contains(&item) => {}
                    Ok(item) => output.push(item),
                    Err(error) => {
                        errors[index] = error;
                        failed = true;
                    }
                }
            }
            if failed { Err(Value::Array(errors)) } else { Ok(Value::Array(output)) }
        }
        Type::Map { keys, values } => {
            let Value::Object(entries) = value else { return mismatch("a map") };
            let mut output = Map::new();
            let mut errors = Map::new();
            for (key, item) in entries {
                if let Err(error) = process_value(keys, Value::String(key.clone())) {
                    errors.insert(key, error);
                    continue;
                }
                match process_value(values, item) {
                    Ok(item) => {
                        output.insert(key, item);
                    }
                    Err(error) => {
                        errors.insert(key, error);
                    }
                }
            }
            if errors.is_empty() { Ok(Value::Object(output)) } else { Err(Value::Object(errors)) }
        }
        Type::Record(fields) => {
            let Value::Object(entries) = value else { return mismatch("a record") };
            let mut errors = Map::new();
            let mut entity_errors = Vec::new();
            let output = process_record(fields, &[], &entries, &mut errors, &mut entity_errors);
            if !entity_errors.is_empty() {
                errors.insert("@entity".into(), entity_errors.into());
            }
            if errors.is_empty() { Ok(Value::Object(output)) } else { Err(Value::Object(errors)) }
        }
        Type::Foreign(_) => {
            let Value::Object(entries) = value else { return mismatch("a record") };
            let mut errors = Map::new();
            for key in entries.keys().filter(|k| *k != "id") {
                errors.insert(key.clone(), "unknown field".into());
            }
            match entries.get("id") {
                Some(Value::String(id)) if uuid::Uuid::parse_str(id).is_ok() => {}
                Some(Value::Null) | None => {
                    errors.insert("id".into(), "required field missing".into());
                }
                Some(_) => {
                    errors.insert("id".into(), "expected a valid UUID".into());
                }
            }
            if errors.is_empty() { Ok(serde_json::json!({ "id": entries["id"] })) } else { Err(Value::Object(errors)) }
        }
    }
}

fn run_check(check: &Check, value: &Value) -> Result<(), String> {
    match check {
        Check::OneOf(options) => {
            if options.contains(value) {
                Ok(())
            } else {
                let names: Vec<String> =
                    options.iter().map(|o| o.as_str().map(str::to_string).unwrap_or_else(|| o.to_string())).collect();
                Err(format!("expected one of: {}", names.join(", ")))
            }
        }
        Check::Between(low, high) => match value.as_f64() {
            Some(n) if n >= *low as f64 && n <= *high as f64 => Ok(()),
            _ => Err(format!("value should be between {low} and {high}")),
        },
        Check::Gt(low) => match value.as_f64() {
            Some(n) if n > *low => Ok(()),
            _ => Err(format!("value must be greater than {low}")),
        },
        Check::LenMin(min) => {
            if length(value) >= *min {
                Ok(())
            } else {
                Err(format!("length must be at least {min}"))
            }
        }
        Check::LenMax(max) => {
            if length(value) <= *max {
                Ok(())
            } else {
                Err(format!("length must be at most {max}"))
            }
        }
        Check::StartsWith(prefix) => match value.as_str() {
            Some(s) if s.starts_with(prefix) => Ok(()),
            _ => Err(format!("should start with: {prefix}")),
        },
        Check::Uuid => match value.as_str() {
            Some(s) if uuid::Uuid::parse_str(s).is_ok() => Ok(()),
            _ => Err("expected a valid UUID".into()),
        },
        Check::Custom(check) => check(value),
    }
}

fn length(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(entries) => entries.len(),
        _ => 0,
    }
}

fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn run_entity_check(
    check: &EntityCheck,
    record: &Map<String, Value>,
    errors: &mut Map<String, Value>,
    entity_errors: &mut Vec<String>,
) {
    // Like Kong, a check over fields that already failed says nothing more.
    let involved = |names: &[&str]| names.iter().any(|n| errors.contains_key(*n));
    match check {
        EntityCheck::AtLeastOneOf(names) => {
            if !involved(names) && !names.iter().any(|n| is_set(record.get(*n))) {
                entity_errors.push(format!("at least one of these fields must be non-empty: {}", quoted(names)));
            }
        }
        EntityCheck::OnlyOneOf(names) => {
            if !involved(names) && names.iter().filter(|n| is_set(record.get(**n))).count() > 1 {
                entity_errors.push(format!("only one of these fields must be non-empty: {}", quoted(names)));
            }
        }
        EntityCheck::MutuallyRequired(names) => {
            let set = names.iter().filter(|n| is_set(record.get(**n))).count();
            if !involved(names) && set != 0 && set != names.len() {
                entity_errors.push(format!("all or none of these fields must be set: {}", quoted(names)));
            }
        }
        EntityCheck::Custom(check) => {
            for (field, message) in check(record) {
                if field == "@entity" {
                    entity_errors.push(message);
                } else {
                    insert_nested(errors, &field, message);
                }
            }
        }
    }
}

/// Files `message` under a dotted field path (`config.redis_host`), unless that place already has a message.
fn insert_nested(errors: &mut Map<String, Value>, path: &str, message: String) {
    match path.split_once('.') {
        None => {
            errors.entry(path.to_string()).or_insert(Value::String(message));
        }
        Some((head, rest)) => {
            if let Value::Object(inner) = errors.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new())) {
                insert_nested(inner, rest, message);
            }
        }
    }
}
