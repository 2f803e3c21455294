//! One Lua interpreter per thread, locked down: no library is reachable from an expression except the
//! string methods (`s:upper()`), and those that run unbounded in C are removed. Compiled expressions are
//! kept per thread, by text, so each is parsed once per thread however many configurations use it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};
use serde_json::Value;

use super::{Error, Expression, json};

/// VM instructions between two checks of the instruction budget.
const CHECK_EVERY: u32 = 1_000;
/// Instruction budget of one evaluation, in checks: 1,000,000 instructions, a few milliseconds.
const CHECKS_PER_EVALUATION: u32 = 1_000;
/// Memory one evaluation (or building one environment) may add to the state.
const MEMORY_PER_EVALUATION: usize = 4 << 20;
/// Compiled expressions kept per thread; the cache starts over when full.
const COMPILED_CAPACITY: usize = 256;

/// String functions an expression may not call. Patterns (`find`, `match`, `gmatch`, `gsub`) backtrack in C,
/// where the instruction hook never runs, so one pattern could hold a thread for hours; `dump` hands out
/// bytecode, the classic way out of a Lua sandbox where `load` exists.
const REMOVED_STRING_FUNCTIONS: [&str; 5] = ["find", "match", "gmatch", "gsub", "dump"];

thread_local! {
    static SANDBOX: RefCell<Option<Sandbox>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's interpreter, creating it on first use.
pub(super) fn with<R>(f: impl FnOnce(&mut Sandbox) -> R) -> Result<R, Error> {
    SANDBOX
        .try_with(|slot| {
            let mut slot = slot.try_borrow_mut().map_err(|_| Error("the Lua interpreter is busy".into()))?;
            let sandbox = match &mut *slot {
                Some(sandbox) => sandbox,
                empty => empty.insert(Sandbox::new().map_err(|e| Error(format!("cannot start Lua: {e}")))?),
            };
            Ok(f(sandbox))
        })
        .map_err(|_| Error("the thread is exiting".into()))?
}

pub(super) struct Sandbox {
    lua: Lua,
    /// Checks left before the instruction budget is spent; the hook counts it down.
    checks_left: Rc<Cell<u32>>,
    compiled: HashMap<Arc<str>, Function>,
}

impl Sandbox {
    fn new() -> mlua::Result<Sandbox> {
        // The base library is always loaded into the globals, which no expression can reach: each runs with
        // its own environment table. Only the string library is opened, for the methods of strings.
        let lua = Lua::new_with(StdLib::STRING, LuaOptions::default())?;
        let string: Table = lua.globals().raw_get("string")?;
        for name in REMOVED_STRING_FUNCTIONS {
            string.raw_set(name, mlua::Nil)?;
        }
        let checks_left = Rc::new(Cell::new(0));
        let budget = checks_left.clone();
        lua.set_hook(HookTriggers::new().every_nth_instruction(CHECK_EVERY), move |_, _| match budget.get() {
            0 => Err(mlua::Error::runtime("instruction limit exceeded")),
            left => {
                budget.set(left - 1);
                Ok(VmState::Continue)
            }
        })?;
        let sandbox = Sandbox { lua, checks_left, compiled: HashMap::new() };
        sandbox.grant_memory()?;
        Ok(sandbox)
    }

    /// Lets the next step allocate up to the per-evaluation budget on top of what the state holds now.
    fn grant_memory(&self) -> mlua::Result<()> {
        self.lua.set_memory_limit(self.lua.used_memory() + MEMORY_PER_EVALUATION).map(drop)
    }

    fn grant_instructions(&self) {
        self.checks_left.set(CHECKS_PER_EVALUATION);
    }

    pub(super) fn check_syntax(&self, text: &str) -> Result<(), String> {
        self.grant_memory().map_err(|e| describe(&e))?;
        let source = format!("return {text}");
        match self.lua.load(&source).set_name(chunk_name(&source)).set_mode(ChunkMode::Text).into_function() {
            Ok(_) => Ok(()),
            Err(mlua::Error::SyntaxError { message, .. }) => Err(message),
            Err(other) => Err(describe(&other)),
        }
    }

    pub(super) fn evaluate(
        &mut self,
        expressions: &[Expression],
        variables: &[(&str, &Value)],
    ) -> Vec<Result<Option<Value>, Error>> {
        let results = match self.environment(variables) {
            Ok(environment) => expressions.iter().map(|expression| self.run(expression, &environment)).collect(),
            Err(error) => {
                let error = Error(format!("cannot build the environment: {}", describe(&error)));
                expressions.iter().map(|_| Err(error.clone())).collect()
            }
        };
        // The environment and whatever the expressions built are garbage now; the next evaluation's budget
        // is measured from a clean state.
        if let Err(error) = self.lua.gc_collect() {
            tracing::warn!(error = %describe(&error), "Lua garbage collection failed");
        }
        results
    }

    /// A fresh table holding only the variables: what `_ENV` is while the expressions run.
    fn environment(&self, variables: &[(&str, &Value)]) -> mlua::Result<Table> {
        self.grant_memory()?;
        let environment = self.lua.create_table_with_capacity(0, variables.len())?;
        for (name, value) in variables {
            environment.raw_set(*name, json::to_lua(&self.lua, value)?)?;
        }
        Ok(environment)
    }

    fn run(&mut self, expression: &Expression, environment: &Table) -> Result<Option<Value>, Error> {
        let function = self.function(expression).map_err(|e| Error(describe(&e)))?;
        self.grant_memory().map_err(|e| Error(describe(&e)))?;
        self.grant_instructions();
        let value: mlua::Value = function.call(environment).map_err(|e| Error(describe(&e)))?;
        json::from_lua(&value).map_err(Error)
    }

    /// The expression as a function of its environment. The chunk is
    /// `return function(_ENV, ...) return <exp>\nend`: the parameter `_ENV` makes every free name a field of
    /// the table passed in, so one compiled function serves every environment; `...` keeps a bare `...`
    /// meaning "nothing", as in GG's main chunk; the newline ends a trailing `--` comment. The text compiled
    /// as `return <exp>` on write, so it cannot close the function early.
    fn function(&mut self, expression: &Expression) -> mlua::Result<Function> {
        if let Some(function) = self.compiled.get(&expression.text) {
            return Ok(function.clone());
        }
        self.grant_memory()?;
        self.grant_instructions();
        let source = format!("return function(_ENV, ...) return {}\nend", expression.text);
        let name = chunk_name(&format!("return {}", expression.text));
        let chunk = self.lua.load(&source).set_name(name).set_mode(ChunkMode::Text);
        let function: Function = chunk.set_environment(self.lua.create_table()?).call(())?;
        if self.compiled.len() >= COMPILED_CAPACITY {
            self.compiled.clear();
        }
        self.compiled.insert(expression.text.clone(), function.clone());
        Ok(function)
    }
}

/// Lua names a chunk after its source (`[string "return x.y"]:1: ...`), as GG's `loadstring` did. A chunk
/// name cannot hold NUL bytes.
fn chunk_name(source: &str) -> String {
    source.replace('\0', "?")
}

/// The message of a Lua error on one line: without mlua's wrapping of errors raised in Rust callbacks (the
/// hook) and without the stack traceback, which for a one-line expression says nothing more.
fn describe(error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } => describe(cause),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(message) | mlua::Error::MemoryError(message) => {
            message.split("\nstack traceback:").next().unwrap_or_default().to_string()
        }
        other => other.to_string(),
    }
}
