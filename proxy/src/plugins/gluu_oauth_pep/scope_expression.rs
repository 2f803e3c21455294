//! A condition's `scope_expression` (`gluu-plugins.md` §8, `is_access_granted`): `{"rule": <JsonLogic>,
//! "data": [<scope or ^regex>, …]}`. Each `data` entry becomes a boolean — does the token carry that scope —
//! and the rule, applied to those booleans, decides.

use regex::Regex;
use serde_json::Value;

use crate::model::gluu::json_logic::{self, Rule};

/// A scope expression compiled once per configuration.
#[derive(Debug)]
pub struct ScopeExpression {
    rule: Rule,
    data: Vec<ScopeTest>,
}

/// What one `data` entry asks of the token.
#[derive(Debug)]
enum ScopeTest {
    /// The token carries exactly this scope.
    Scope(String),
    /// A spontaneous scope (entry starting with `^`, GG issue #414): some token scope matches the regex, and
    /// its named groups `PC1`…`PC9` equal the request's path captures of the same number.
    Spontaneous {
        regex: Regex,
        /// `(group index in the regex, path capture index from 0)` for each `PCn` group.
        path_groups: Vec<(usize, usize)>,
    },
}

impl ScopeExpression {
    /// Compiles a condition's expression; the error says why the condition can never grant.
    pub fn compile(condition: &Value) -> Result<ScopeExpression, String> {
        let expression = condition.get("scope_expression").ok_or("the condition has no scope_expression")?;
        let rule = expression.get("rule").ok_or("the scope_expression has no rule")?;
        let rule = Rule::compile(rule).map_err(|e| format!("the scope_expression rule is invalid: {e}"))?;
        let data = expression.get("data").and_then(Value::as_array).ok_or("the scope_expression has no data")?;
        let data = data.iter().map(ScopeTest::compile).collect::<Result<_, _>>()?;
        Ok(ScopeExpression { rule, data })
    }

    /// Whether a token with `scopes` may make a request that produced `captures`.
    pub fn grants(&self, scopes: &[&str], captures: &[String]) -> bool {
        let data = self.data.iter().map(|test| Value::Bool(test.holds(scopes, captures))).collect();
        json_logic::truthy(&self.rule.apply(&Value::Array(data)))
    }
}

impl ScopeTest {
    fn compile(entry: &Value) -> Result<ScopeTest, String> {
        let Some(entry) = entry.as_str() else {
            return Err(format!("the scope_expression data entry {entry} is not a string"));
        };
        if !entry.starts_with('^') {
            return Ok(ScopeTest::Scope(entry.to_string()));
        }
        let regex =
            Regex::new(entry).map_err(|e| format!("the spontaneous scope {entry} is not a valid regex: {e}"))?;
        let path_groups = regex
            .capture_names()
            .enumerate()
            .filter_map(|(group, name)| Some((group, path_capture_number(name?)? - 1)))
            .collect();
        Ok(ScopeTest::Spontaneous { regex, path_groups })
    }

    fn holds(&self, scopes: &[&str], captures: &[String]) -> bool {
        match self {
            ScopeTest::Scope(scope) => scopes.contains(&scope.as_str()),
            ScopeTest::Spontaneous { regex, path_groups } => scopes.iter().any(|scope| {
                let Some(found) = regex.captures(scope) else { return false };
                // Without path captures, or without `PCn` groups, the match alone suffices.
                captures.is_empty()
                    || path_groups.iter().all(|(group, capture)| {
                        found.get(*group).map(|m| m.as_str()) == captures.get(*capture).map(String::as_str)
                    })
            }),
        }
    }
}

/// `n` for a group named `PC1`…`PC9`.
fn path_capture_number(name: &str) -> Option<usize> {
    match name.strip_prefix("PC")?.as_bytes() {
        [digit @ b'1'..=b'9'] => Some(usize::from(digit - b'0')),
        _ => None,
    }
}
