//! Validation messages and order (§4.2, §15 N4), and what a match returns (§4.3).

use serde_json::{Value, json};

use super::{DocumentError, ProtectionDocument};

fn error(document: Value) -> String {
    ProtectionDocument::from_value(&document).unwrap_err().to_string()
}

fn get(path: &str) -> Value {
    json!({"path": path, "conditions": [{"httpMethods": ["GET"]}]})
}

#[test]
fn text_that_is_not_json_is_refused() {
    let error = ProtectionDocument::parse("[{\"path\": \"/a\",").unwrap_err();
    assert_eq!(error, DocumentError::InvalidJson);
    assert_eq!(error.to_string(), "Invalid JSON in expression");
}

#[test]
fn an_empty_document_is_refused() {
    assert_eq!(error(json!([])), "Empty expression not allowed");
    assert_eq!(error(json!({"path": "/a"})), "Empty expression not allowed", "not an array");
}

#[test]
fn every_item_needs_a_path() {
    assert_eq!(error(json!([{"conditions": [{"httpMethods": ["GET"]}]}])), "Path is missing or empty in expression");
    assert_eq!(error(json!([get("")])), "Path is missing or empty in expression");
    assert_eq!(error(json!([get("/a"), "/b"])), "Path is missing or empty in expression");
}

#[test]
fn a_path_may_hold_one_multi_wildcard() {
    assert_eq!(error(json!([get("/a/??/b/??")])), "Multiple ?? patterns in path are not supported");
}

#[test]
fn paths_are_unique() {
    assert_eq!(error(json!([get("/a"), get("/b"), get("/a")])), "Duplicate path in expression");
}

#[test]
fn every_item_needs_conditions() {
    assert_eq!(error(json!([{"path": "/a"}])), "Conditions are missing in expression");
    assert_eq!(error(json!([{"path": "/a", "conditions": []}])), "Conditions are missing in expression");
}

#[test]
fn every_condition_needs_methods() {
    let message = "HTTP Methods are missing or empty from condition in expression";
    assert_eq!(error(json!([{"path": "/a", "conditions": [{"scope_expression": {}}]}])), message);
    assert_eq!(error(json!([{"path": "/a", "conditions": [{"httpMethods": []}]}])), message);
    assert_eq!(error(json!([{"path": "/a", "conditions": [{"httpMethods": ["GET", 7]}]}])), message);
}

#[test]
fn a_method_belongs_to_one_condition_of_a_path() {
    let document = json!([{"path": "/a", "conditions": [{"httpMethods": ["GET", "POST"]}, {"httpMethods": ["POST"]}]}]);
    assert_eq!(error(document), "Duplicate http method from conditions in expression");
    let same_condition = json!([{"path": "/a", "conditions": [{"httpMethods": ["GET", "GET"]}]}]);
    assert!(ProtectionDocument::from_value(&same_condition).is_ok(), "GG only compares across conditions");
    assert!(ProtectionDocument::from_value(&json!([get("/a"), get("/b")])).is_ok(), "paths do not share methods");
}

#[test]
fn checks_run_item_by_item_and_the_first_failure_wins() {
    // The first item's missing conditions come before the second item's empty path.
    assert_eq!(error(json!([{"path": "/a"}, get("")])), "Conditions are missing in expression");
    // Within an item, the `??` check comes before the duplicate check.
    assert_eq!(error(json!([get("/a/??/??"), get("/a/??/??")])), "Multiple ?? patterns in path are not supported");
}

#[test]
fn a_path_regex_that_does_not_compile_is_refused_after_the_gg_checks() {
    let message = error(json!([get("/a/{(?=x)}")]));
    assert!(message.starts_with("Invalid regex {(?=x)} in path /a/{(?=x)} in expression: "), "{message}");
    assert!(!message.contains('\n'));
    assert_eq!(error(json!([get("/a/{(}"), get("")])), "Path is missing or empty in expression");
}

#[test]
fn a_match_gives_the_pattern_the_condition_without_methods_and_the_captures() {
    let document = ProtectionDocument::parse(
        r#"[{"path": "/posts/?", "conditions": [
                {"httpMethods": ["GET"], "scope_expression": {"rule": {"var": 0}, "data": ["read"]}},
                {"httpMethods": ["POST", "PUT"], "ticketScopes": ["write"], "extra": 1}]}]"#,
    )
    .unwrap();
    let found = document.find("PUT", "/posts/42").unwrap();
    assert_eq!(found.index, 1);
    assert_eq!(found.pattern, "/posts/?");
    assert_eq!(found.condition, &json!({"ticketScopes": ["write"], "extra": 1}));
    assert_eq!(found.captures, ["42"]);
    assert_eq!(document.conditions()[found.index].condition, *found.condition);
    assert_eq!(document.find("GET", "/posts/1").unwrap().index, 0);
    assert!(document.find("DELETE", "/posts/1").is_none());
}

#[test]
fn the_request_path_ends_at_the_first_whitespace() {
    let document = ProtectionDocument::from_value(&json!([get("/superhero")])).unwrap();
    assert_eq!(document.find("GET", "/superhero bla").map(|m| m.pattern), Some("/superhero"));
    assert_eq!(document.find("GET", "/superhero\tbla/x").map(|m| m.pattern), Some("/superhero"));
}

#[test]
fn method_wildcard_is_not_captured() {
    let document =
        ProtectionDocument::from_value(&json!([{"path": "/todos/?", "conditions": [{"httpMethods": ["?"]}]}])).unwrap();
    assert_eq!(document.find("PATCH", "/todos/7").unwrap().captures, ["7"]);
}
