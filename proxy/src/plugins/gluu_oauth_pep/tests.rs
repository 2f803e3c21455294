//! The PEP outcomes of `gluu-plugins.md` §5 and the scope-expression matrix of GG's
//! `t/specs/gluu-oauth-pep/test_spec.lua` (§8), on a request context as gluu-oauth-auth leaves it.

use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::GluuOauthPep;
use crate::plugins::{Access, BearerToken, Flow, Plugin, PluginServices, Protocol, RequestCtx};
use crate::snapshot::{Configuration, Snapshot};

fn pep(deny_by_default: bool, document: Value) -> GluuOauthPep {
    let document = if document.is_null() { Value::Null } else { document.to_string().into() };
    GluuOauthPep::new(&json!({"deny_by_default": deny_by_default, "oauth_scope_expression": document})).unwrap()
}

/// One item per path, every method, with the given rule over `data`.
fn protect(rules: &[(&str, Value, Value)]) -> Value {
    let items: Vec<Value> = rules
        .iter()
        .map(|(path, rule, data)| {
            json!({"path": path, "conditions": [
                {"httpMethods": ["?"], "scope_expression": {"rule": rule, "data": data}}]})
        })
        .collect();
    Value::Array(items)
}

fn request(method: &str, path: &str) -> RequestCtx {
    let snapshot = Snapshot::build(Configuration::default(), &PluginServices::default(), &Default::default()).unwrap();
    RequestCtx::for_test(method, path, snapshot)
}

/// A request carrying a token gluu-oauth-auth validated, with these scopes.
fn authenticated(method: &str, path: &str, scopes: Value) -> RequestCtx {
    let mut cx = request(method, path);
    cx.request_token = Some(BearerToken::whole(http::HeaderValue::from_static("access-token")));
    cx.request_token_data =
        Some(Arc::new(json!({"active": true, "client_id": "client-1", "exp": 4102444800_u64, "scope": scopes})));
    cx
}

/// `None` when the request goes on; otherwise the status and the `message` of the JSON body.
async fn outcome(pep: &GluuOauthPep, cx: &mut RequestCtx) -> Option<(u16, String)> {
    let response = match pep.access(cx) {
        Access::Done(Flow::Continue) => return None,
        Access::Done(Flow::Respond(response)) => response,
        Access::Later(_) => panic!("gluu-oauth-pep decides at once"),
    };
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    Some((status, body["message"].as_str().unwrap().to_string()))
}

fn granted(cx: &RequestCtx) -> bool {
    cx.gluu.as_ref().is_some_and(|flags| flags.oauth_client_granted)
}

fn forbidden(message: &str) -> Option<(u16, String)> {
    Some((403, message.to_string()))
}

const NOT_AUTHORIZED: &str = "You are not authorized to access this resource";

/// GG's matrix: `/??` needs admin, `/posts` admin and employee, `/comments` admin or employee, `/todos` not
/// customer, `/test/??` a scope no token has.
fn gg_matrix() -> GluuOauthPep {
    pep(
        true,
        protect(&[
            ("/??", json!({"and": [{"var": 0}]}), json!(["admin"])),
            ("/posts", json!({"and": [{"var": 0}, {"var": 1}]}), json!(["admin", "employee"])),
            ("/comments", json!({"or": [{"var": 0}, {"var": 1}]}), json!(["admin", "employee"])),
            ("/todos", json!({"!": {"var": 0}}), json!(["customer"])),
            ("/test/??", json!({"and": [{"var": 0}]}), json!(["calc"])),
        ]),
    )
}

#[tokio::test]
async fn gg_matrix_grants_admin_and_employee_and_sets_the_granted_flag() {
    let pep = gg_matrix();
    for path in ["/posts", "/comments", "/todos", "/photos"] {
        let mut cx = authenticated("GET", path, json!(["admin", "employee"]));
        assert_eq!(outcome(&pep, &mut cx).await, None, "{path}");
        assert!(granted(&cx), "{path}");
    }
}

#[tokio::test]
async fn gg_matrix_unknown_path_falls_back_to_the_catch_all_rule() {
    let pep = gg_matrix();
    let mut cx = authenticated("GET", "/photos", json!(["employee"]));
    assert_eq!(outcome(&pep, &mut cx).await, forbidden(NOT_AUTHORIZED), "`/??` needs admin");
}

#[tokio::test]
async fn gg_matrix_impossible_scope_denies_the_bare_path_and_below() {
    let pep = gg_matrix();
    for path in ["/test", "/test/whatever"] {
        let mut cx = authenticated("GET", path, json!(["admin", "employee"]));
        assert_eq!(outcome(&pep, &mut cx).await, forbidden(NOT_AUTHORIZED), "{path}");
        assert!(!granted(&cx));
    }
}

#[tokio::test]
async fn gg_matrix_and_or_not_decide_on_the_token_scopes() {
    let pep = gg_matrix();
    let cases = [
        ("/posts", json!(["employee"]), false),
        ("/comments", json!(["employee"]), true),
        ("/comments", json!(["guest"]), false),
        ("/todos", json!(["admin", "customer"]), false),
        ("/todos", json!([]), true),
    ];
    for (path, scopes, allowed) in cases {
        let mut cx = authenticated("GET", path, scopes.clone());
        let expected = if allowed { None } else { forbidden(NOT_AUTHORIZED) };
        assert_eq!(outcome(&pep, &mut cx).await, expected, "{path} with {scopes}");
    }
}

#[tokio::test]
async fn scopes_may_be_a_space_separated_string() {
    let pep = gg_matrix();
    let mut cx = authenticated("GET", "/posts", json!("admin employee"));
    assert_eq!(outcome(&pep, &mut cx).await, None);
}

#[tokio::test]
async fn the_request_path_is_normalized_and_cut_at_whitespace() {
    let pep = pep(true, protect(&[("/posts", json!({"var": 0}), json!(["admin"]))]));
    for path in ["/%70osts", "/x/../posts", "/posts%20bla"] {
        let mut cx = authenticated("GET", path, json!(["admin"]));
        assert_eq!(outcome(&pep, &mut cx).await, None, "{path}");
    }
}

fn spontaneous() -> GluuOauthPep {
    pep(
        true,
        protect(&[
            ("/posts/?/??", json!({"and": [{"var": 0}, {"var": 1}]}), json!(["^posts:.+$", "email"])),
            (
                r"/todos/?/command/{^(\d\d\d)-([a-d]{4})$}",
                json!({"and": [{"var": 0}, {"var": 1}, {"var": 2}]}),
                json!(["^todos:(?<PC1>.+)$", "^command:(?<PC2>.+)$", "^subcommand:(?<PC3>[a-d]{4})$"]),
            ),
            ("/plain", json!({"var": 0}), json!(["^todos:(?<PC1>.+)$"])),
        ]),
    )
}

#[tokio::test]
async fn spontaneous_scope_without_path_groups_needs_only_a_matching_scope() {
    let pep = spontaneous();
    let mut cx = authenticated("GET", "/posts/1/comments", json!(["posts:anything", "email"]));
    assert_eq!(outcome(&pep, &mut cx).await, None);
    let mut cx = authenticated("GET", "/posts/1/comments", json!(["email"]));
    assert_eq!(outcome(&pep, &mut cx).await, forbidden(NOT_AUTHORIZED));
}

#[tokio::test]
async fn spontaneous_scopes_must_carry_the_path_captures() {
    let pep = spontaneous();
    let path = "/todos/hh/command/123-abcd";
    let mut cx = authenticated("GET", path, json!(["todos:hh", "command:123", "subcommand:abcd", "email"]));
    assert_eq!(outcome(&pep, &mut cx).await, None);
    assert!(granted(&cx));
    for scopes in [
        json!(["todos:hh", "command:124", "subcommand:abcd"]),
        json!(["todos:xx", "command:123", "subcommand:abcd"]),
        json!(["todos:hh", "command:123"]),
    ] {
        let mut cx = authenticated("GET", path, scopes.clone());
        assert_eq!(outcome(&pep, &mut cx).await, forbidden(NOT_AUTHORIZED), "{scopes}");
    }
}

#[tokio::test]
async fn spontaneous_scope_groups_are_ignored_when_the_path_captured_nothing() {
    let pep = spontaneous();
    let mut cx = authenticated("GET", "/plain", json!(["todos:anything"]));
    assert_eq!(outcome(&pep, &mut cx).await, None);
}

#[tokio::test]
async fn no_token_on_a_protected_path_is_401() {
    let mut cx = request("GET", "/posts");
    assert_eq!(outcome(&gg_matrix(), &mut cx).await, Some((401, "Missed OAuth token".into())));
}

#[tokio::test]
async fn token_on_an_unprotected_path_is_refused_when_denying_by_default() {
    let pep = pep(true, protect(&[("/posts", json!({"var": 0}), json!(["admin"]))]));
    let mut cx = authenticated("GET", "/other", json!(["admin"]));
    assert_eq!(outcome(&pep, &mut cx).await, forbidden("Unprotected path/method are not allowed"));
    assert!(!granted(&cx));
}

#[tokio::test]
async fn no_token_on_an_unprotected_path_is_refused_when_denying_by_default() {
    let pep = pep(true, protect(&[("/posts", json!({"var": 0}), json!(["admin"]))]));
    let mut cx = request("GET", "/other");
    assert_eq!(outcome(&pep, &mut cx).await, forbidden("Invalid request, no token and no protected path"));
}

#[tokio::test]
async fn unprotected_paths_pass_with_or_without_token_when_not_denying_by_default() {
    let pep = pep(false, protect(&[("/posts", json!({"var": 0}), json!(["admin"]))]));
    let mut cx = request("GET", "/other");
    assert_eq!(outcome(&pep, &mut cx).await, None);
    let mut cx = authenticated("GET", "/other", json!([]));
    assert_eq!(outcome(&pep, &mut cx).await, None);
    assert!(!granted(&cx), "nothing was granted, nothing was checked");
}

#[tokio::test]
async fn a_token_no_authentication_plugin_validated_is_refused() {
    let mut cx = request("GET", "/posts");
    cx.request_token = Some(BearerToken::whole(http::HeaderValue::from_static("access-token")));
    assert_eq!(outcome(&gg_matrix(), &mut cx).await, forbidden("Token not authenticated"));
}

#[tokio::test]
async fn methods_outside_the_conditions_are_unprotected() {
    let document = json!([{"path": "/posts", "conditions": [
        {"httpMethods": ["GET"], "scope_expression": {"rule": {"var": 0}, "data": ["admin"]}}]}]);
    let mut cx = authenticated("POST", "/posts", json!(["admin"]));
    assert_eq!(outcome(&pep(true, document), &mut cx).await, forbidden("Unprotected path/method are not allowed"));
}

#[tokio::test]
async fn without_a_document_every_path_is_unprotected() {
    let mut cx = authenticated("GET", "/posts", json!(["admin"]));
    assert_eq!(outcome(&pep(true, Value::Null), &mut cx).await, forbidden("Unprotected path/method are not allowed"));
    let mut cx = authenticated("GET", "/posts", json!(["admin"]));
    assert_eq!(outcome(&pep(false, Value::Null), &mut cx).await, None);
}

#[tokio::test]
async fn a_condition_that_cannot_be_evaluated_denies() {
    let broken = [
        json!({"httpMethods": ["GET"]}),
        json!({"httpMethods": ["GET"], "scope_expression": {"rule": {"var": 0}}}),
        json!({"httpMethods": ["GET"], "scope_expression": {"rule": {"nope": 0}, "data": ["admin"]}}),
        json!({"httpMethods": ["GET"], "scope_expression": {"rule": {"!": {"var": 0}}, "data": ["^(unclosed"]}}),
        json!({"httpMethods": ["GET"], "scope_expression": {"rule": {"!": {"var": 0}}, "data": [7]}}),
    ];
    for condition in broken {
        let pep = pep(true, json!([{"path": "/posts", "conditions": [condition.clone()]}]));
        let mut cx = authenticated("GET", "/posts", json!(["admin"]));
        assert_eq!(outcome(&pep, &mut cx).await, forbidden(NOT_AUTHORIZED), "{condition}");
    }
}

#[test]
fn the_plugin_chain_compiles_stored_configurations() {
    use crate::plugins::{PluginConfig, PluginSet};
    let stored = |id: u128, document: &str| PluginConfig {
        id: uuid::Uuid::from_u128(id),
        name: "gluu-oauth-pep".into(),
        route: None,
        service: None,
        consumer: None,
        config: json!({"oxd_id": "site", "oxd_url": "https://oxd:8443", "client_id": "c", "client_secret": "s",
            "op_url": "https://op", "oauth_scope_expression": document}),
        protocols: vec!["http".into()],
        enabled: true,
    };
    let valid = protect(&[("/??", json!({"var": 0}), json!(["admin"]))]).to_string();
    let set = PluginSet::build(vec![stored(1, &valid)], &PluginServices::default());
    assert!(set.resolve(0, None, None, None, Protocol::Http).unwrap().handler().is_ok());
    let set = PluginSet::build(vec![stored(2, "[]")], &PluginServices::default());
    let error = set.resolve(0, None, None, None, Protocol::Http).unwrap().handler().err().unwrap().to_string();
    assert!(error.contains("Empty expression not allowed"), "{error}");
}
