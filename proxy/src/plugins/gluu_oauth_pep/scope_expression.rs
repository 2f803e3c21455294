//! A condition's `scope_expression` (`gluu-plugins.md` §8, `is_access_granted`): `{"rule": <JsonLogic>,
//! "data": [<scope or ^regex>, …]}`. Each `data` entry becomes a boolean — does the token carry that scope —
//! and the rule, applied to those booleans, decides.

use regex::Regex;
use serde_json::Value;

use super::Scopes;
use crate::model::gluu::json_logic::{self, Op, Rule};

/// A scope expression compiled once per configuration.
#[derive(Debug)]
pub struct ScopeExpression {
    rule: Rule,
    /// The rule as boolean logic, when it can be (see [`Logic`]).
    logic: Option<Logic>,
    data: Vec<ScopeTest>,
}

/// A rule made only of `and`, `or`, `!`, `!!`, `{"var": index}` and literals — every rule GG's UI writes —
/// evaluated as plain boolean logic over the data entries: over booleans, JsonLogic's operations only ever
/// look at truthiness, so this gives the same decision without building JSON values per request.
#[derive(Debug)]
enum Logic {
    Constant(bool),
    /// Whether data entry `n` holds (an index past the data is `null`: false).
    Entry(usize),
    /// All hold (none given: `null`, false).
    All(Vec<Logic>),
    /// Any holds.
    Any(Vec<Logic>),
    Not(Box<Logic>),
}

impl Logic {
    fn compile(rule: &Rule) -> Option<Logic> {
        let all = |arguments: &[Rule]| arguments.iter().map(Logic::compile).collect::<Option<Vec<_>>>();
        let first = |arguments: &[Rule]| match arguments.first() {
            Some(rule) => Logic::compile(rule),
            None => Some(Logic::Constant(false)),
        };
        Some(match rule {
            Rule::Literal(value) => Logic::Constant(json_logic::truthy(value)),
            Rule::List(_) => return None,
            Rule::Operation(op, arguments) => match op {
                Op::And => Logic::All(all(arguments)?).non_empty(),
                Op::Or => Logic::Any(all(arguments)?),
                Op::Not => Logic::Not(Box::new(first(arguments)?)),
                Op::Truthy => first(arguments)?,
                Op::Var => match arguments.as_slice() {
                    [Rule::Literal(Value::Number(n))] => Logic::Entry(usize::try_from(n.as_u64()?).ok()?),
                    [Rule::Literal(Value::String(text))] if !text.is_empty() && !text.contains('.') => {
                        Logic::Entry(text.parse().ok()?)
                    }
                    _ => return None,
                },
                _ => return None,
            },
        })
    }

    /// `and` without arguments is `null`.
    fn non_empty(self) -> Logic {
        match self {
            Logic::All(items) if items.is_empty() => Logic::Constant(false),
            other => other,
        }
    }

    fn holds(&self, entry: &impl Fn(usize) -> bool) -> bool {
        match self {
            Logic::Constant(value) => *value,
            Logic::Entry(index) => entry(*index),
            Logic::All(items) => items.iter().all(|item| item.holds(entry)),
            Logic::Any(items) => items.iter().any(|item| item.holds(entry)),
            Logic::Not(item) => !item.holds(entry),
        }
    }
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
        Ok(ScopeExpression { logic: Logic::compile(&rule), rule, data })
    }

    /// Whether a token with `scopes` may make a request that produced `captures`.
    pub fn grants(&self, scopes: Scopes<'_>, captures: &[String]) -> bool {
        let holds = |index: usize| self.data.get(index).is_some_and(|test| test.holds(scopes, captures));
        match &self.logic {
            Some(logic) => logic.holds(&holds),
            None => {
                let data = (0..self.data.len()).map(|index| Value::Bool(holds(index))).collect();
                json_logic::truthy(&self.rule.apply(&Value::Array(data)))
            }
        }
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

    fn holds(&self, scopes: Scopes<'_>, captures: &[String]) -> bool {
        match self {
            ScopeTest::Scope(scope) => scopes.contains(scope),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn boolean_logic_decides_as_json_logic_does() {
        let rules = [
            json!({"and": [{"var": 0}]}),
            json!({"and": [{"var": 0}, {"var": 1}]}),
            json!({"or": [{"var": 0}, {"and": [{"var": 1}, {"!": {"var": 2}}]}]}),
            json!({"!": [{"var": "1"}]}),
            json!({"!!": {"var": [2]}}),
            json!({"and": []}),
            json!({"or": []}),
            json!({"!": []}),
            json!({"and": [{"var": 7}]}),
            json!({"or": [true, {"var": 0}]}),
            json!({"and": [1, "x", {"var": 0}]}),
            json!({"and": [0, {"var": 0}]}),
            json!({"or": [null, {"var": 1}]}),
        ];
        for rule in rules {
            let compiled = Rule::compile(&rule).unwrap();
            let logic = Logic::compile(&compiled).unwrap_or_else(|| panic!("{rule} is boolean logic"));
            for bits in 0..8u8 {
                let entry = |index: usize| index < 3 && bits & (1 << index) != 0;
                let data = Value::Array((0..3).map(|index| Value::Bool(entry(index))).collect());
                let expected = json_logic::truthy(&compiled.apply(&data));
                assert_eq!(logic.holds(&entry), expected, "{rule} over {data}");
            }
        }
        for other in [json!({"var": [0, true]}), json!({"if": [{"var": 0}, true, false]}), json!([{"var": 0}])] {
            assert!(Logic::compile(&Rule::compile(&other).unwrap()).is_none(), "{other} takes the general path");
        }
    }
}
