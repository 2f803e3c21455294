//! Sandboxed Lua 5.4 expressions: the `value_lua_exp` of the Gluu plugins' `custom_headers`
//! (`gluu-plugins.md` §3.7), run as Gluu Gateway ran them — `return <expression>` against an environment that
//! holds only the variables the plugin documents — in a real, embedded Lua so that every GG expression keeps
//! its meaning.
//!
//! Values cross the boundary as JSON ([`json`]). Each thread owns its interpreter ([`sandbox`]): Lua states
//! are never shared between threads, and evaluation is synchronous, so none is held across an `.await`.
//! Every evaluation is bounded by an instruction count and a memory budget; running out of either is a
//! runtime error like any other, which costs the caller that one value.

mod json;
mod sandbox;

use std::sync::Arc;

use serde_json::Value;

/// Why an expression produced no value: a parser or runtime message, or a limit reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

/// One expression, known to compile as `return <text>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expression {
    text: Arc<str>,
}

impl Expression {
    /// Checks that `return <text>` compiles; the parser's message when it does not.
    pub fn new(text: &str) -> Result<Expression, Error> {
        match syntax_error(text) {
            None => Ok(Expression { text: text.into() }),
            Some(message) => Err(Error(message)),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The Lua parser's message when `return <text>` does not compile (GG's `loadstring` check on write).
pub fn syntax_error(text: &str) -> Option<String> {
    match sandbox::with(|sandbox| sandbox.check_syntax(text)) {
        Ok(Ok(())) => None,
        Ok(Err(message)) => Some(message),
        // No interpreter on this thread: refuse rather than accept an expression nobody checked.
        Err(error) => Some(error.to_string()),
    }
}

/// Evaluates each expression against one environment made of `variables` (JSON values; `null` ones are
/// left out, as Lua has no null). Expressions share that environment, in order, as in GG. `Ok(None)` is a
/// `nil` result.
pub fn evaluate(expressions: &[Expression], variables: &[(&str, &Value)]) -> Vec<Result<Option<Value>, Error>> {
    sandbox::with(|sandbox| sandbox.evaluate(expressions, variables))
        .unwrap_or_else(|error| expressions.iter().map(|_| Err(error.clone())).collect())
}

#[cfg(test)]
mod tests;
