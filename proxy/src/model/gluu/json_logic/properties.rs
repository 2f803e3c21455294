//! Properties of the JsonLogic evaluator (`gluu-plugins.md` §8) over generated rules and data.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{JsonLogicError, apply, truthy};

/// How many booleans the data of a boolean rule holds (`{"var": 0}` … `{"var": 3}`).
const VARIABLES: usize = 4;

/// A boolean rule as the Gluu UI builds scope expressions: `var` leaves under `and`, `or` and `!`.
#[derive(Debug, Clone)]
enum Expr {
    Var(usize),
    /// `bare` writes `{"!": x}` rather than `{"!": [x]}`; both are accepted.
    Not {
        operand: Box<Expr>,
        bare: bool,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    fn rule(&self) -> Value {
        match self {
            Expr::Var(index) => json!({"var": index}),
            Expr::Not { operand, bare: true } => json!({"!": operand.rule()}),
            Expr::Not { operand, bare: false } => json!({"!": [operand.rule()]}),
            Expr::And(operands) => json!({"and": operands.iter().map(Expr::rule).collect::<Vec<_>>()}),
            Expr::Or(operands) => json!({"or": operands.iter().map(Expr::rule).collect::<Vec<_>>()}),
        }
    }

    /// The rule's value in Rust's boolean logic.
    fn eval(&self, data: &[bool]) -> bool {
        match self {
            Expr::Var(index) => data[*index],
            Expr::Not { operand, .. } => !operand.eval(data),
            Expr::And(operands) => operands.iter().all(|operand| operand.eval(data)),
            Expr::Or(operands) => operands.iter().any(|operand| operand.eval(data)),
        }
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (0..VARIABLES).prop_map(Expr::Var);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>()).prop_map(|(operand, bare)| Expr::Not { operand: Box::new(operand), bare }),
            // `and`/`or` of nothing is `null`, not a boolean: the UI never writes an empty group.
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            prop::collection::vec(inner, 1..4).prop_map(Expr::Or),
        ]
    })
}

/// The operation names the evaluator knows, plus one it does not.
const OPERATIONS: &[&str] =
    &["var", "and", "or", "!", "!!", "if", "?:", "==", "===", "!=", "!==", "in", "<", ">", "<=", ">=", "unknown"];

/// A JSON scalar, biased towards the values JavaScript's coercions treat specially.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(&["", "0", "1", " 2 ", "1e3", "a", "a.b", "0.1", "Infinity", "true", "null"][..])
            .prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
    ]
}

/// Any JSON value of bounded depth: arrays, objects, and one-key objects naming an operation.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-c]{0,2}", inner.clone(), 0..3)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            (prop::sample::select(OPERATIONS), inner)
                .prop_map(|(operation, arguments)| json!({ operation: arguments })),
        ]
    })
}

/// Applies a rule to data given as the arguments of `{"var": 0}` and `{"var": 1}`, so that the values are taken
/// as data, never compiled as rules.
fn compare(operation: &str, a: &Value, b: &Value) -> Value {
    apply(&json!({operation: [{"var": 0}, {"var": 1}]}), &json!([a, b])).expect("a known operation")
}

// proptest's default of 256 cases per property; `PROPTEST_CASES` sets another count.
proptest! {
    #[test]
    fn boolean_rules_agree_with_rust_boolean_logic(
        expr in expr(),
        data in prop::collection::vec(any::<bool>(), VARIABLES),
    ) {
        prop_assert_eq!(apply(&expr.rule(), &json!(data)), Ok(Value::Bool(expr.eval(&data))));
    }

    #[test]
    fn apply_never_panics_and_fails_only_on_unknown_operations(rule in value(), data in value()) {
        match apply(&rule, &data) {
            Ok(_) => {}
            Err(JsonLogicError::UnknownOperation(name)) => prop_assert!(!OPERATIONS[..OPERATIONS.len() - 1].contains(&name.as_str())),
        }
    }

    #[test]
    fn double_negation_is_truthiness_and_negation_its_opposite(rule in value(), data in value()) {
        if let Ok(result) = apply(&rule, &data) {
            let truthiness = truthy(&result);
            prop_assert_eq!(apply(&json!({"!!": [rule.clone()]}), &data), Ok(Value::Bool(truthiness)));
            prop_assert_eq!(apply(&json!({"!": [rule]}), &data), Ok(Value::Bool(!truthiness)));
        }
    }

    #[test]
    fn equality_is_symmetric_and_inequality_its_negation(a in value(), b in value()) {
        for (equal, not_equal) in [("==", "!="), ("===", "!==")] {
            let holds = compare(equal, &a, &b);
            prop_assert_eq!(&holds, &compare(equal, &b, &a), "{} is symmetric", equal);
            prop_assert_eq!(compare(not_equal, &a, &b), Value::Bool(holds != Value::Bool(true)));
        }
    }

    #[test]
    fn less_is_greater_reversed(a in value(), b in value()) {
        prop_assert_eq!(compare("<", &a, &b), compare(">", &b, &a));
        prop_assert_eq!(compare("<=", &a, &b), compare(">=", &b, &a));
    }
}
