//! `request-transformer` (`proxy.md` §12.5): rewrites the upstream request's URI, method, headers, query string
//! and body. Values may be templates: `$(headers.x-foo or "none")`, `$(query_params.id)`, `$(uri_captures[1])`.

use serde_json::{Value, json};

use super::PluginDef;
use crate::model::schema::{Check, Field};
use crate::model::typedefs;

pub fn definition() -> PluginDef {
    let list = |name, check: fn(&Value) -> Result<(), String>| {
        Field::array(name, Field::string("").check(Check::Custom(check))).required().default(json!([]))
    };
    let names =
        || vec![list("body", accept), list("headers", typedefs::check_header_name), list("querystring", accept)];
    let renames =
        || vec![list("body", check_rename), list("headers", check_header_rename), list("querystring", check_rename)];
    let values = || vec![list("body", check_pair), list("headers", check_header_pair), list("querystring", check_pair)];
    let mut replace = values();
    replace.push(Field::string("uri").check(Check::Custom(check_template)));
    PluginDef::new(
        "request-transformer",
        801,
        vec![
            Field::string("http_method").check(Check::Custom(typedefs::check_http_method)),
            Field::record("remove", names()).required(),
            Field::record("rename", renames()).required(),
            Field::record("replace", replace).required(),
            Field::record("add", values()).required(),
            Field::record("append", values()).required(),
        ],
    )
}

fn accept(_: &Value) -> Result<(), String> {
    Ok(())
}

fn split(value: &Value) -> Result<(&str, &str), String> {
    let text = value.as_str().unwrap_or_default();
    match text.split_once(':') {
        Some((name, rest)) if !name.is_empty() => Ok((name, rest)),
        _ => Err(format!("invalid value: {text}")),
    }
}

fn check_rename(value: &Value) -> Result<(), String> {
    split(value).map(drop)
}

fn check_header_rename(value: &Value) -> Result<(), String> {
    let (old, new) = split(value)?;
    for name in [old, new] {
        if typedefs::check_header_name(&json!(name)).is_err() {
            return Err(format!("'{name}' is not a valid header"));
        }
    }
    Ok(())
}

fn check_pair(value: &Value) -> Result<(), String> {
    let (name, value) = split(value)?;
    if value.is_empty() {
        return Err(format!("key '{name}' has no value"));
    }
    Template::parse(value).map(drop).map_err(|e| format!("value '{value}' is not in supported format, error:{e}"))
}

fn check_header_pair(value: &Value) -> Result<(), String> {
    let (name, _) = split(value)?;
    if typedefs::check_header_name(&json!(name)).is_err() {
        return Err(format!("'{name}' is not a valid header"));
    }
    check_pair(value)
}

fn check_template(value: &Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    Template::parse(text).map(drop).map_err(|e| format!("value '{text}' is not in supported format, error:{e}"))
}

/// A compiled value template: literal text and `$(...)` expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// Alternatives joined by `or`: the first that yields a value wins.
    Expr(Vec<Operand>),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(String),
    Lookup { root: String, keys: Vec<String> },
}

/// What a template can read.
pub trait TemplateEnv {
    /// The value at `root` then `keys` (`headers`, `["x-foo"]`); `None` when absent.
    fn lookup(&self, root: &str, keys: &[String]) -> Option<String>;
}

const ROOTS: [&str; 4] = ["headers", "query_params", "uri_captures", "shared"];

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("$(") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = closing_paren(after).ok_or_else(|| "unclosed '$('".to_string())?;
            parts.push(Part::Expr(parse_expr(&after[..end])?));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether the template is plain text (no expressions).
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    pub fn render(&self, env: &dyn TemplateEnv) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr(alternatives) => {
                    let value = alternatives.iter().find_map(|operand| match operand {
                        Operand::Literal(text) => Some(text.clone()),
                        Operand::Lookup { root, keys } => env.lookup(root, keys),
                    });
                    out.push_str(value.as_deref().unwrap_or_default());
                }
            }
        }
        out
    }
}

/// The index of the `)` closing an expression, skipping quoted strings.
fn closing_paren(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ')') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_expr(text: &str) -> Result<Vec<Operand>, String> {
    let mut operands = Vec::new();
    let mut rest = text.trim();
    loop {
        let (operand, after) = parse_operand(rest)?;
        operands.push(operand);
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(operands);
        }
        rest = after
            .strip_prefix("or")
            .filter(|r| r.starts_with(char::is_whitespace))
            .ok_or_else(|| format!("unexpected '{after}' (expressions are lookups or strings joined by 'or')"))?;
        rest = rest.trim_start();
    }
}

fn parse_operand(text: &str) -> Result<(Operand, &str), String> {
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &text[1..];
        let end = body.find(quote).ok_or_else(|| "unterminated string".to_string())?;
        return Ok((Operand::Literal(body[..end].to_string()), &body[end + 1..]));
    }
    let ident_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    let root = &text[..ident_end];
    if !ROOTS.contains(&root) {
        return Err(format!("unknown name '{root}', expected one of: {}", ROOTS.join(", ")));
    }
    let mut keys = Vec::new();
    let mut rest = &text[ident_end..];
    loop {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || "_-".contains(c))).unwrap_or(after.len());
            if end == 0 {
                return Err("expected a name after '.'".into());
            }
            keys.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let after = after.trim_start();
            let (key, after) = match after.chars().next() {
                Some('"' | '\'') => match parse_operand(after)? {
                    (Operand::Literal(key), after) => (key, after),
                    _ => unreachable!("a quote starts a literal"),
                },
                _ => {
                    let end = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
                    if end == 0 {
                        return Err("expected a number or a string inside '[]'".into());
                    }
                    (after[..end].to_string(), &after[end..])
                }
            };
            rest = after.trim_start().strip_prefix(']').ok_or_else(|| "expected ']'".to_string())?;
            keys.push(key);
        } else {
            return Ok((Operand::Lookup { root: root.to_string(), keys }, rest));
        }
    }
}
