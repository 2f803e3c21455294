//! JsonLogic (jsonlogic.com), the rule language of Gluu scope expressions (`gluu-plugins.md` §8): a rule is
//! compiled once into a [`Rule`] and applied to each request's data. The operations are those GG's UI and tests
//! use plus the comparisons, with JavaScript's coercions as `json-logic-js` defines them; truthiness is
//! JsonLogic's (an empty array is false).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// A rule that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonLogicError {
    #[error("Unrecognized operation {0}")]
    UnknownOperation(String),
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A value that is not an operation (an object with other than one key is data too).
    Literal(Value),
    /// An array, whose elements may be operations.
    List(Vec<Rule>),
    /// An operation and its arguments (a single non-array argument is a one-element list).
    Operation(Op, Vec<Rule>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Var,
    And,
    Or,
    Not,
    Truthy,
    If,
    Equal,
    StrictEqual,
    NotEqual,
    StrictNotEqual,
    In,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "var" => Op::Var,
            "and" => Op::And,
            "or" => Op::Or,
            "!" => Op::Not,
            "!!" => Op::Truthy,
            "if" | "?:" => Op::If,
            "==" => Op::Equal,
            "===" => Op::StrictEqual,
            "!=" => Op::NotEqual,
            "!==" => Op::StrictNotEqual,
            "in" => Op::In,
            "<" => Op::Less,
            ">" => Op::Greater,
            "<=" => Op::LessOrEqual,
            ">=" => Op::GreaterOrEqual,
            _ => return None,
        })
    }
}

/// Compiles and applies `rule` in one go.
pub fn apply(rule: &Value, data: &Value) -> Result<Value, JsonLogicError> {
    Ok(Rule::compile(rule)?.apply(data))
}

impl Rule {
    pub fn compile(rule: &Value) -> Result<Rule, JsonLogicError> {
        if let Value::Object(object) = rule
            && let Some((name, arguments)) = single_entry(object)
        {
            let op = Op::parse(name).ok_or_else(|| JsonLogicError::UnknownOperation(name.clone()))?;
            let arguments = match arguments {
                Value::Array(items) => items.iter().map(Rule::compile).collect::<Result<_, _>>()?,
                other => vec![Rule::compile(other)?],
            };
            return Ok(Rule::Operation(op, arguments));
        }
        Ok(match rule {
            Value::Array(items) => Rule::List(items.iter().map(Rule::compile).collect::<Result<_, _>>()?),
            other => Rule::Literal(other.clone()),
        })
    }

    pub fn apply(&self, data: &Value) -> Value {
        match self {
            Rule::Literal(value) => value.clone(),
            Rule::List(items) => Value::Array(items.iter().map(|item| item.apply(data)).collect()),
            Rule::Operation(op, arguments) => operate(*op, arguments, data),
        }
    }
}

/// The key and value of a one-key object: the shape of an operation.
fn single_entry(object: &Map<String, Value>) -> Option<(&String, &Value)> {
    let mut entries = object.iter();
    let first = entries.next()?;
    entries.next().is_none().then_some(first)
}

fn operate(op: Op, arguments: &[Rule], data: &Value) -> Value {
    let argument = |index: usize| arguments.get(index).map_or(Value::Null, |rule| rule.apply(data));
    match op {
        Op::Var => var(data, &argument(0), || argument(1)),
        // `and`, `or` and `if` evaluate lazily, like json-logic-js.
        Op::And => first_or_last(arguments, data, |value| !truthy(value)),
        Op::Or => first_or_last(arguments, data, truthy),
        Op::If => {
            for pair in arguments.chunks(2) {
                match pair {
                    [condition, then] if truthy(&condition.apply(data)) => return then.apply(data),
                    [otherwise] => return otherwise.apply(data),
                    _ => {}
                }
            }
            Value::Null
        }
        Op::Not => Value::Bool(!truthy(&argument(0))),
        Op::Truthy => Value::Bool(truthy(&argument(0))),
        Op::Equal => Value::Bool(loose_equal(&argument(0), &argument(1))),
        Op::StrictEqual => Value::Bool(strict_equal(&argument(0), &argument(1))),
        Op::NotEqual => Value::Bool(!loose_equal(&argument(0), &argument(1))),
        Op::StrictNotEqual => Value::Bool(!strict_equal(&argument(0), &argument(1))),
        Op::In => Value::Bool(contains(&argument(1), &argument(0))),
        // `<` and `<=` take a third argument: `a < b < c`.
        Op::Less | Op::LessOrEqual => {
            let holds = |ordering: Option<Ordering>| match ordering {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => op == Op::LessOrEqual,
                _ => false,
            };
            let (a, b) = (argument(0), argument(1));
            let first = holds(compare(&a, &b));
            Value::Bool(if arguments.len() > 2 { first && holds(compare(&b, &argument(2))) } else { first })
        }
        Op::Greater => Value::Bool(compare(&argument(0), &argument(1)) == Some(Ordering::Greater)),
        Op::GreaterOrEqual => {
            Value::Bool(matches!(compare(&argument(0), &argument(1)), Some(Ordering::Greater | Ordering::Equal)))
        }
    }
}

/// The first argument value for which `stop` holds, else the last one (`null` without arguments).
fn first_or_last(arguments: &[Rule], data: &Value, stop: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for rule in arguments {
        last = rule.apply(data);
        if stop(&last) {
            break;
        }
    }
    last
}

/// `{"var": path}`: a number indexes an array, a dotted string walks objects and arrays, `""` or `null` is
/// the whole data; a missing value gives the default (`null` unless given).
fn var(data: &Value, path: &Value, default: impl FnOnce() -> Value) -> Value {
    let path = match path {
        Value::Null => return data.clone(),
        Value::String(text) if text.is_empty() => return data.clone(),
        Value::String(text) => text.clone(),
        other => js_string(other),
    };
    let mut current = data;
    for key in path.split('.') {
        let next = match current {
            Value::Object(object) => object.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|index| items.get(index)),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return default(),
        }
    }
    current.clone()
}

/// JsonLogic truthiness: JavaScript's, except that an empty array is false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

/// JavaScript's `===`: same type and value; arrays and objects are distinct objects, never equal.
fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's `==`: `null` equals only `null`; otherwise mixed types compare as numbers, after arrays and
/// objects became strings.
fn loose_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => match (primitive(a), primitive(b)) {
            (Primitive::String(x), Primitive::String(y)) => x == y,
            (x, y) => x.number() == y.number(),
        },
    }
}

/// `{"in": [needle, haystack]}`: a substring of a string, or a (strictly equal) element of an array.
fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::String(text) => text.contains(js_string(needle).as_str()),
        Value::Array(items) => items.iter().any(|item| strict_equal(item, needle)),
        _ => false,
    }
}

/// JavaScript's relational comparison: two strings compare as text, anything else as numbers (`None` when
/// one is `NaN`).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (primitive(a), primitive(b)) {
        (Primitive::String(x), Primitive::String(y)) => Some(x.cmp(&y)),
        (x, y) => x.number().partial_cmp(&y.number()),
    }
}

/// A value after JavaScript's `ToPrimitive`.
enum Primitive {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
}

impl Primitive {
    /// JavaScript's `ToNumber`.
    fn number(&self) -> f64 {
        match self {
            Primitive::Null => 0.0,
            Primitive::Bool(b) => f64::from(u8::from(*b)),
            Primitive::Number(n) => *n,
            Primitive::String(s) => js_number(s),
        }
    }
}

fn primitive(value: &Value) -> Primitive {
    match value {
        Value::Null => Primitive::Null,
        Value::Bool(b) => Primitive::Bool(*b),
        Value::Number(n) => Primitive::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Primitive::String(s.clone()),
        compound => Primitive::String(js_string(compound)),
    }
}

/// JavaScript's `String(value)`: arrays join their elements with `,` (`null` elements empty).
fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => js_float_string(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> =
                items.iter().map(|item| if item.is_null() { String::new() } else { js_string(item) }).collect();
            parts.join(",")
        }
        Value::Object(_) => "[object Object]".into(),
    }
}

/// JavaScript's `String(number)` for the values JSON can hold: integral values without a fraction.
fn js_float_string(number: f64) -> String {
    if number == 0.0 {
        "0".into()
    } else if number.fract() == 0.0 && number.abs() < 1e21 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}

/// JavaScript's `Number(text)` for decimal notation: blank is 0, anything else unparsable is `NaN`.
fn js_number(text: &str) -> f64 {
    let text = text.trim();
    match text {
        "" => 0.0,
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        // Rust also parses `inf` and `NaN`, which JavaScript does not.
        _ if text.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)) => text.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
