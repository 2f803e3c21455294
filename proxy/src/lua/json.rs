//! JSON values in and out of Lua, the way GG's cjson saw them: objects and arrays become tables (`null`
//! becomes `nil`, i.e. absent), and a table becomes an array when its keys are exactly `1..n`, an object
//! otherwise (so `{}` is `{}`). Both directions recurse at most [`MAX_DEPTH`] levels, and a result holds at
//! most [`MAX_VALUES`] values, so no expression can exhaust the Rust stack or make Rust allocate without
//! bound outside the Lua memory limit (a self-referencing table is "nested too deeply").

use mlua::Lua;
use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 64;
/// Values (scalars and tables) one expression result may hold.
const MAX_VALUES: usize = 10_000;

pub(super) fn to_lua(lua: &Lua, value: &Value) -> mlua::Result<mlua::Value> {
    to_lua_at(lua, value, 0)
}

fn to_lua_at(lua: &Lua, value: &Value, depth: usize) -> mlua::Result<mlua::Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("value nested too deeply"));
    }
    Ok(match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i),
            None => mlua::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (index, item) in items.iter().enumerate() {
                table.raw_set(index as i64 + 1, to_lua_at(lua, item, depth + 1)?)?;
            }
            mlua::Value::Table(table)
        }
        Value::Object(entries) => {
            let table = lua.create_table_with_capacity(0, entries.len())?;
            for (key, item) in entries {
                table.raw_set(key.as_str(), to_lua_at(lua, item, depth + 1)?)?;
            }
            mlua::Value::Table(table)
        }
    })
}

/// The JSON form of an expression's result; `None` for `nil`.
pub(super) fn from_lua(value: &mlua::Value) -> Result<Option<Value>, String> {
    if value.is_nil() {
        return Ok(None);
    }
    let mut budget = MAX_VALUES;
    from_lua_at(value, 0, &mut budget).map(Some)
}

fn from_lua_at(value: &mlua::Value, depth: usize, budget: &mut usize) -> Result<Value, String> {
    *budget = budget.checked_sub(1).ok_or("value too large")?;
    match value {
        mlua::Value::Nil => Ok(Value::Null),
        mlua::Value::Boolean(b) => Ok(Value::Bool(*b)),
        mlua::Value::Integer(i) => Ok(Value::from(*i)),
        mlua::Value::Number(n) => number(*n),
        mlua::Value::String(s) => Ok(Value::String(s.to_string_lossy())),
        mlua::Value::Table(table) => {
            if depth >= MAX_DEPTH {
                return Err("value nested too deeply".into());
            }
            let mut entries = Vec::new();
            for pair in table.pairs::<mlua::Value, mlua::Value>() {
                let (key, item) = pair.map_err(|e| e.to_string())?;
                *budget = budget.checked_sub(1).ok_or("value too large")?;
                entries.push((key, from_lua_at(&item, depth + 1, budget)?));
            }
            table_value(entries)
        }
        other => Err(format!("a {} has no JSON form", other.type_name())),
    }
}

/// Integral floats print as integers, as LuaJIT and cjson printed them (`1.7e9` → `1700000000`).
fn number(n: f64) -> Result<Value, String> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() < EXACT {
        return Ok(Value::from(n as i64));
    }
    Number::from_f64(n).map(Value::Number).ok_or_else(|| format!("{n} has no JSON form"))
}

/// An array when the keys are exactly `1..n`, else an object with the keys as text.
fn table_value(mut entries: Vec<(mlua::Value, Value)>) -> Result<Value, String> {
    let count = entries.len();
    let index = |key: &mlua::Value| match key {
        mlua::Value::Integer(i) if *i >= 1 && (*i as u64) <= count as u64 => Some(*i as usize),
        _ => None,
    };
    if count > 0 && entries.iter().all(|(key, _)| index(key).is_some()) {
        entries.sort_by_key(|(key, _)| index(key));
        return Ok(Value::Array(entries.into_iter().map(|(_, item)| item).collect()));
    }
    let mut object = Map::new();
    for (key, item) in entries {
        let key = match &key {
            mlua::Value::String(s) => s.to_string_lossy(),
            mlua::Value::Integer(i) => i.to_string(),
            mlua::Value::Number(n) => n.to_string(),
            other => return Err(format!("a table key cannot be a {}", other.type_name())),
        };
        object.insert(key, item);
    }
    Ok(Value::Object(object))
}
