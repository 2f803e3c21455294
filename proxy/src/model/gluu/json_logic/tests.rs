//! JsonLogic as json-logic-js evaluates it, on the operations the Gluu scope expressions use.

use serde_json::{Value, json};

use super::{JsonLogicError, Rule, apply, truthy};

fn eval(rule: Value, data: Value) -> Value {
    apply(&rule, &data).unwrap()
}

#[test]
fn docs_example_denies_a_token_with_only_clientinfo() {
    // Token scopes ["clientinfo"] against data ["openid", "email", "clientinfo"].
    let data = json!([false, false, true]);
    assert_eq!(eval(json!({"and": [{"var": 0}, {"or": [{"var": 1}, {"var": 2}]}]}), data), json!(false));
}

#[test]
fn var_indexes_arrays_from_zero_and_walks_dotted_paths() {
    assert_eq!(eval(json!({"var": 1}), json!(["a", "b"])), json!("b"));
    assert_eq!(eval(json!({"var": [1]}), json!(["a", "b"])), json!("b"));
    assert_eq!(eval(json!({"var": "1"}), json!(["a", "b"])), json!("b"));
    assert_eq!(eval(json!({"var": "user.roles.0"}), json!({"user": {"roles": ["admin"]}})), json!("admin"));
    assert_eq!(eval(json!({"var": ""}), json!({"a": 1})), json!({"a": 1}));
    assert_eq!(eval(json!({"var": 5}), json!(["a"])), Value::Null);
    assert_eq!(eval(json!({"var": ["x.y", "none"]}), json!({"x": {}})), json!("none"));
    assert_eq!(eval(json!({"var": ["x", "none"]}), json!({"x": null})), Value::Null, "present null is a value");
}

#[test]
fn and_or_return_the_deciding_value_and_stop_early() {
    assert_eq!(eval(json!({"and": [true, "a", 0, "never"]}), Value::Null), json!(0));
    assert_eq!(eval(json!({"and": [true, "a"]}), Value::Null), json!("a"));
    assert_eq!(eval(json!({"or": [false, [], "x", "never"]}), Value::Null), json!("x"));
    assert_eq!(eval(json!({"or": [false, 0]}), Value::Null), json!(0));
    assert_eq!(eval(json!({"and": []}), Value::Null), Value::Null);
}

#[test]
fn not_accepts_a_bare_argument_as_the_ui_writes_it() {
    let data = json!([true, false]);
    assert_eq!(eval(json!({"!": {"var": 0}}), data.clone()), json!(false));
    assert_eq!(eval(json!({"!": [{"var": 1}]}), data.clone()), json!(true));
    assert_eq!(eval(json!({"!": {"or": [{"var": 1}, {"var": 1}]}}), data.clone()), json!(true));
    assert_eq!(eval(json!({"!!": [{"var": 0}]}), data), json!(true));
}

#[test]
fn ui_nested_groups_evaluate() {
    // Two groups: the second nested as the last element of the first.
    let rule = json!({"or": [{"var": 0}, {"var": 1}, {"and": [{"var": 2}]}]});
    assert_eq!(eval(rule.clone(), json!([false, false, true])), json!(true));
    assert_eq!(eval(rule, json!([false, false, false])), json!(false));
}

#[test]
fn if_picks_the_first_true_branch_or_the_else() {
    let rule = json!({"if": [{"var": 0}, "first", {"var": 1}, "second", "otherwise"]});
    assert_eq!(eval(rule.clone(), json!([true, true])), json!("first"));
    assert_eq!(eval(rule.clone(), json!([false, true])), json!("second"));
    assert_eq!(eval(rule, json!([false, false])), json!("otherwise"));
    assert_eq!(eval(json!({"if": [false, 1]}), Value::Null), Value::Null);
    assert_eq!(eval(json!({"if": ["only"]}), Value::Null), json!("only"));
}

#[test]
fn equality_is_javascripts() {
    assert_eq!(eval(json!({"==": [1, "1"]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"==": [0, false]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"==": [null, 0]}), Value::Null), json!(false));
    assert_eq!(eval(json!({"==": [[1, 2], "1,2"]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"==": [[1], [1]]}), Value::Null), json!(false), "distinct arrays");
    assert_eq!(eval(json!({"===": [1, "1"]}), Value::Null), json!(false));
    assert_eq!(eval(json!({"===": [1, 1.0]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"!=": ["a", "b"]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"!==": [true, 1]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"!==": ["x", "x"]}), Value::Null), json!(false));
}

#[test]
fn in_searches_strings_and_arrays() {
    assert_eq!(eval(json!({"in": ["Spring", "Springfield"]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"in": ["admin", ["user", "admin"]]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"in": ["1", [1]]}), Value::Null), json!(false), "array membership is strict");
    assert_eq!(eval(json!({"in": ["a", null]}), Value::Null), json!(false));
}

#[test]
fn comparisons_coerce_like_javascript_and_less_than_takes_a_range() {
    assert_eq!(eval(json!({"<": [1, 2]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"<": [1, 2, 3]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"<": [1, 3, 3]}), Value::Null), json!(false));
    assert_eq!(eval(json!({"<=": [1, 3, 3]}), Value::Null), json!(true));
    assert_eq!(eval(json!({">": ["10", 9]}), Value::Null), json!(true), "a number and a string compare as numbers");
    assert_eq!(eval(json!({">": ["10", "9"]}), Value::Null), json!(false), "two strings compare as text");
    assert_eq!(eval(json!({">=": [2, 2]}), Value::Null), json!(true));
    assert_eq!(eval(json!({"<": ["abc", 1]}), Value::Null), json!(false), "NaN compares false");
    assert_eq!(eval(json!({">=": ["abc", 1]}), Value::Null), json!(false));
    assert_eq!(eval(json!({"<=": [null, 0]}), Value::Null), json!(true));
}

#[test]
fn truthiness_is_jsonlogics() {
    for value in [json!(null), json!(false), json!(0), json!(""), json!([])] {
        assert!(!truthy(&value), "{value}");
    }
    for value in [json!(true), json!(1), json!("0"), json!([0]), json!({})] {
        assert!(truthy(&value), "{value}");
    }
}

#[test]
fn non_operation_values_are_data() {
    assert_eq!(eval(json!({"a": 1, "b": 2}), Value::Null), json!({"a": 1, "b": 2}));
    assert_eq!(eval(json!([{"var": 0}, 2]), json!(["x"])), json!(["x", 2]));
}

#[test]
fn unknown_operations_fail_to_compile() {
    assert_eq!(Rule::compile(&json!({"and": [{"nope": 1}]})), Err(JsonLogicError::UnknownOperation("nope".into())));
}
