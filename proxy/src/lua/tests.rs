//! The sandbox: what expressions see and return, what they cannot reach, and the limits that stop them.

use serde_json::{Value, json};

use super::*;

fn eval_with(text: &str, variables: &[(&str, &Value)]) -> Result<Option<Value>, Error> {
    let expression = Expression::new(text).unwrap_or_else(|e| panic!("{text} should compile: {e}"));
    evaluate(&[expression], variables).remove(0)
}

fn eval(text: &str) -> Result<Option<Value>, Error> {
    let data = json!({"client_id": "c1", "exp": 1_600_000_000, "scope": ["openid", "email"], "n": {"a": [1, 2.5]}});
    eval_with(text, &[("introspect_data", &data)])
}

#[test]
fn expressions_read_their_variables_and_return_json() {
    assert_eq!(eval("introspect_data.client_id"), Ok(Some(json!("c1"))));
    assert_eq!(eval("introspect_data.exp"), Ok(Some(json!(1_600_000_000))));
    assert_eq!(eval("introspect_data.scope"), Ok(Some(json!(["openid", "email"]))));
    assert_eq!(eval("introspect_data.n"), Ok(Some(json!({"a": [1, 2.5]}))));
    assert_eq!(eval("introspect_data.client_id:upper() .. '-' .. #introspect_data.scope"), Ok(Some(json!("C1-2"))));
    assert_eq!(eval("{id = introspect_data.client_id, [1] = true}"), Ok(Some(json!({"id": "c1", "1": true}))));
    assert_eq!(eval("{}"), Ok(Some(json!({}))), "an empty table is an object, as cjson had it");
    assert_eq!(eval("4 / 2"), Ok(Some(json!(2))), "integral floats print as integers, as in LuaJIT");
    assert_eq!(eval("introspect_data.missing"), Ok(None));
    assert_eq!(eval("introspect_data.client_id -- a trailing comment"), Ok(Some(json!("c1"))));
    assert_eq!(eval("..."), Ok(None), "a bare `...` is nothing, as in GG's main chunk");
    assert_eq!(eval("1, 2"), Ok(Some(json!(1))), "the first value counts");
}

#[test]
fn the_environment_holds_the_variables_and_nothing_else() {
    let one = json!(1);
    assert_eq!(eval_with("_ENV", &[("x", &one), ("gone", &Value::Null)]), Ok(Some(json!({"x": 1}))));
    for global in ["_G", "os", "io", "require", "load", "dofile", "debug", "collectgarbage", "string", "print"] {
        assert_eq!(eval(global), Ok(None), "{global} is not reachable");
    }
}

#[test]
fn sandbox_escapes_fail_at_run_time() {
    for escape in [
        "os.exit()",
        "io.open('/etc/passwd')",
        "require('os')",
        "load('return 1')()",
        "_G.os",
        "dofile('/etc/passwd')",
        "debug.getinfo(1)",
        "collectgarbage('count')",
        "getmetatable('').__index",
        "rawget(_ENV, 'x')",
        "(''):dump()",
        "('aaa'):find(('.-'):rep(20) .. 'b')",
        "('a'):gsub('a', 'b')",
    ] {
        let result = eval(escape);
        assert!(result.is_err(), "{escape} gave {result:?}");
    }
    assert_eq!(eval("1 + 1"), Ok(Some(json!(2))), "the interpreter still works");
}

#[test]
fn runtime_errors_carry_luas_message() {
    let error = eval("introspect_data.stub[2]").unwrap_err();
    assert!(error.to_string().contains("attempt to index a nil value (field 'stub')"), "{error}");
    assert!(error.to_string().starts_with("[string \"return introspect_data.stub[2]\"]:1:"), "{error}");
    assert!(!error.to_string().contains("traceback"), "one line for the log: {error}");
}

#[test]
fn endless_loops_stop_at_the_instruction_limit() {
    for endless in [
        "(function() while true do end end)()",
        "(function(f) return f(f) end)(function(f) return f(f) end)",
        "(function() local n = 0 repeat n = n + 1 until n < 0 end)()",
    ] {
        let error = eval(endless).unwrap_err();
        assert!(error.to_string().contains("instruction limit exceeded"), "{endless}: {error}");
    }
    let deep = eval("(function(f) return 1 + f(f) end)(function(f) return 1 + f(f) end)");
    assert!(deep.is_err(), "unbounded recursion is a stack overflow or out of memory: {deep:?}");
    assert_eq!(eval("1 + 1"), Ok(Some(json!(2))));
}

#[test]
fn memory_bombs_stop_at_the_memory_limit() {
    for bomb in [
        "('x'):rep(1e9)",
        "('x'):rep(1e6):rep(100)",
        "(function() local s = 'x' while true do s = s .. s end end)()",
        "(function() local t = {} for i = 1, 1e7 do t[i] = {i} end return t end)()",
    ] {
        let error = eval(bomb).unwrap_err();
        assert!(error.to_string().contains("memory"), "{bomb}: {error}");
    }
    assert_eq!(eval("('x'):rep(3)"), Ok(Some(json!("xxx"))), "rep within the budget works");
}

#[test]
fn results_without_a_json_form_are_errors() {
    for (text, message) in [
        ("function() end", "function"),
        ("(function() local t = {} t.t = t return t end)()", "nested too deeply"),
        ("(function() local t = {} for i = 1, 20000 do t[i] = i end return t end)()", "too large"),
        ("0/0", "JSON"),
        ("{[true] = 1}", "key"),
    ] {
        let error = eval(text).unwrap_err();
        assert!(error.to_string().contains(message), "{text}: {error}");
    }
}

#[test]
fn syntax_errors_carry_the_parser_message() {
    let message = syntax_error("introspect_data.").unwrap();
    assert_eq!(message, "[string \"return introspect_data.\"]:1: <name> expected near <eof>");
    assert_eq!(syntax_error("introspect_data.client_id"), None);
    assert_eq!(syntax_error("[[\"version 1.0\"]]"), None);
    assert!(syntax_error("1 end, function() return 2").is_some(), "an expression cannot close the function");
    assert!(syntax_error("x --[[ unfinished").is_some());
    assert!(syntax_error("x; os.exit()").is_some(), "only an expression");
}

#[test]
fn each_thread_evaluates_with_its_own_interpreter() {
    let threads: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                let data = json!({"n": n});
                (0..50).all(|_| {
                    eval_with("introspect_data.n * 10", &[("introspect_data", &data)]) == Ok(Some(json!(n * 10)))
                })
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap());
    }
}
