//! Protection documents (`gluu-plugins.md` §4): the JSON array of `{path, conditions: [{httpMethods, …}]}`
//! items a Gluu PEP or openid-connect stores as a string in its config. [`ProtectionDocument::parse`] validates
//! it with GG's messages, in GG's order (§4.2, first failure wins), and compiles it once into the matching
//! tree of §4.3; [`ProtectionDocument::find`] answers which condition protects a request.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::path_tree::PathTree;

/// Why a document is refused. The messages are GG's (`kong-common.lua` `check_expression`), asserted by its
/// tests and shown to administrators as schema violations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not valid JSON: GG accepted it and failed at run time; Gatehouse refuses it on write (§15 N4).
    #[error("Invalid JSON in expression")]
    InvalidJson,
    #[error("Empty expression not allowed")]
    Empty,
    #[error("Path is missing or empty in expression")]
    MissingPath,
    #[error("Multiple ?? patterns in path are not supported")]
    MultipleMultiWildcards,
    #[error("Duplicate path in expression")]
    DuplicatePath,
    #[error("Conditions are missing in expression")]
    MissingConditions,
    #[error("HTTP Methods are missing or empty from condition in expression")]
    MissingMethods,
    #[error("Duplicate http method from conditions in expression")]
    DuplicateMethod,
    /// A `{re}` path segment the regex engine rejects. GG's PCRE failed such a match at run time, leaving the
    /// path unprotected; refusing it on write keeps every rule enforceable.
    #[error("Invalid regex {segment} in path {path} in expression: {reason}")]
    InvalidRegex { path: String, segment: String, reason: String },
}

/// One condition of a document: the rule a request is checked against once it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedCondition {
    /// The `path` pattern of the item the condition belongs to (uma-pep registers resources by it).
    pub pattern: String,
    /// The condition without `httpMethods`: `scope_expression`, `ticketScopes`, `required_acrs`, `no_auth`
    /// and any other key, kept as written.
    pub condition: Value,
}

/// A validated document with its matching tree.
#[derive(Debug)]
pub struct ProtectionDocument {
    conditions: Vec<ProtectedCondition>,
    tree: PathTree,
}

/// The condition protecting a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<'a> {
    /// The condition's position in [`ProtectionDocument::conditions`], so plugins can keep what they compiled
    /// from each condition alongside the document.
    pub index: usize,
    pub pattern: &'a str,
    pub condition: &'a Value,
    /// The path captures `PC1…PCn`, in order (§4.3 step 5).
    pub captures: Vec<String>,
}

/// An item as validation saw it, borrowed from the parsed JSON.
struct Item<'a> {
    path: &'a str,
    conditions: Vec<(&'a Map<String, Value>, Vec<&'a str>)>,
}

impl ProtectionDocument {
    /// Validates and compiles a document from its stored JSON string.
    pub fn parse(text: &str) -> Result<ProtectionDocument, DocumentError> {
        let document: Value = serde_json::from_str(text).map_err(|_| DocumentError::InvalidJson)?;
        Self::from_value(&document)
    }

    /// Validates and compiles an already parsed document.
    pub fn from_value(document: &Value) -> Result<ProtectionDocument, DocumentError> {
        let items = validate(document)?;
        let mut conditions = Vec::new();
        let mut tree = PathTree::default();
        for item in items {
            for (condition, methods) in item.conditions {
                let index = conditions.len();
                let mut condition = condition.clone();
                condition.remove("httpMethods");
                conditions.push(ProtectedCondition { pattern: item.path.to_string(), condition: condition.into() });
                for method in methods {
                    tree.insert(method, item.path, index).map_err(|invalid| DocumentError::InvalidRegex {
                        path: item.path.to_string(),
                        segment: invalid.segment,
                        reason: last_line(&invalid.error.to_string()),
                    })?;
                }
            }
        }
        Ok(ProtectionDocument { conditions, tree })
    }

    /// Every condition, in document order.
    pub fn conditions(&self) -> &[ProtectedCondition] {
        &self.conditions
    }

    /// The condition protecting `method` on `path` (the normalized request path without query), or `None` for
    /// an unprotected path.
    pub fn find(&self, method: &str, path: &str) -> Option<Match<'_>> {
        // GG matches `ngx.var.uri` up to the first whitespace: `/superhero bla` is `/superhero`.
        let end = path.bytes().position(is_lua_space).unwrap_or(path.len());
        let (index, captures) = self.tree.find(method, &path[..end])?;
        let protected = self.conditions.get(index)?;
        Some(Match { index, pattern: &protected.pattern, condition: &protected.condition, captures })
    }
}

/// Lua's `%s` (all ASCII, so a byte scan finds them in UTF-8).
fn is_lua_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// §4.2, item by item as GG checks them. Values of the wrong JSON type count as missing.
fn validate(document: &Value) -> Result<Vec<Item<'_>>, DocumentError> {
    let items = document.as_array().filter(|items| !items.is_empty()).ok_or(DocumentError::Empty)?;
    let mut paths = HashSet::new();
    let mut checked = Vec::with_capacity(items.len());
    for item in items {
        let path = item.get("path").and_then(Value::as_str).filter(|p| !p.is_empty());
        let path = path.ok_or(DocumentError::MissingPath)?;
        if path.matches("/??").count() > 1 {
            return Err(DocumentError::MultipleMultiWildcards);
        }
        if !paths.insert(path) {
            return Err(DocumentError::DuplicatePath);
        }
        let conditions = item.get("conditions").and_then(Value::as_array).filter(|c| !c.is_empty());
        let conditions = conditions.ok_or(DocumentError::MissingConditions)?;
        let mut methods_of_path = HashSet::new();
        let mut checked_conditions = Vec::with_capacity(conditions.len());
        for condition in conditions {
            let condition = condition.as_object().ok_or(DocumentError::MissingMethods)?;
            let methods = methods(condition).ok_or(DocumentError::MissingMethods)?;
            // Only repeats across conditions count: GG lets one condition name a method twice.
            if methods.iter().any(|method| methods_of_path.contains(method)) {
                return Err(DocumentError::DuplicateMethod);
            }
            methods_of_path.extend(methods.iter().copied());
            checked_conditions.push((condition, methods));
        }
        checked.push(Item { path, conditions: checked_conditions });
    }
    Ok(checked)
}

/// A condition's `httpMethods`: a non-empty array of non-empty strings.
fn methods(condition: &Map<String, Value>) -> Option<Vec<&str>> {
    let methods = condition.get("httpMethods")?.as_array().filter(|m| !m.is_empty())?;
    methods.iter().map(|method| method.as_str().filter(|m| !m.is_empty())).collect()
}

/// The regex crate explains a syntax error over several lines (the pattern, a caret, then the reason);
/// an Admin API message keeps the reason.
fn last_line(text: &str) -> String {
    let line = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(text);
    line.trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests;
