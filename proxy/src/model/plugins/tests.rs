use serde_json::{Value, json};

use crate::model::entities::plugin::process;

fn fields(body: Value) -> Value {
    process(&body).unwrap_err().to_kong_json()["fields"].clone()
}

#[test]
fn shipped_plugins_run_in_priority_order() {
    let names: Vec<&str> = super::all().iter().map(|def| def.name).collect();
    assert_eq!(
        names,
        [
            "cors",
            "gluu-oauth-auth",
            "gluu-oauth-pep",
            "ip-restriction",
            "acl",
            "rate-limiting",
            "request-transformer",
            "gluu-metrics"
        ]
    );
}

#[test]
fn rate_limiting_defaults_and_checks_match_kong() {
    let plugin = process(&json!({"name": "rate-limiting", "config": {"minute": 5}})).unwrap();
    assert_eq!(plugin["config"]["policy"], "cluster");
    assert_eq!(plugin["config"]["limit_by"], "consumer");
    assert_eq!(plugin["config"]["redis_port"], 6379);
    assert_eq!(plugin["config"]["second"], Value::Null);

    let errors = fields(json!({"name": "rate-limiting", "config": {}}));
    assert_eq!(
        errors["@entity"][0],
        "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', \
         'config.day', 'config.month', 'config.year'"
    );
    let errors = fields(json!({"name": "rate-limiting", "config": {"second": 10, "minute": 5}}));
    assert_eq!(errors["config"], "The limit for minute(5.0) cannot be lower than the limit for second(10.0)");
    let errors = fields(json!({"name": "rate-limiting", "config": {"second": 1, "policy": "redis"}}));
    assert_eq!(errors["config"]["redis_host"], "required field missing");
    assert_eq!(errors["@entity"][0], "failed conditional validation given value of field 'config.policy'");
    let errors = fields(json!({"name": "rate-limiting", "config": {"second": 1, "limit_by": "header"}}));
    assert_eq!(errors["config"]["header_name"], "required field missing");
}

#[test]
fn ip_restriction_takes_the_deprecated_names_and_needs_a_list() {
    let plugin = process(&json!({"name": "ip-restriction", "config": {"whitelist": ["10.0.0.0/8"]}})).unwrap();
    assert_eq!(plugin["config"]["allow"], json!(["10.0.0.0/8"]));
    assert!(plugin["config"].get("whitelist").is_none());
    let errors = fields(json!({"name": "ip-restriction", "config": {}}));
    assert_eq!(errors["@entity"][0], "at least one of these fields must be non-empty: 'config.allow', 'config.deny'");
    let errors = fields(json!({"name": "ip-restriction", "config": {"deny": ["10.0.0.300"]}}));
    assert_eq!(errors["config"]["deny"][0], "invalid ip or cidr range: '10.0.0.300'");
}

#[test]
fn acl_needs_exactly_one_list_and_refuses_consumers() {
    let errors = fields(json!({"name": "acl", "config": {"allow": ["a"], "deny": ["b"]}}));
    assert_eq!(errors["@entity"][0], "only one of these fields must be non-empty: 'config.allow', 'config.deny'");
    let errors = fields(json!({"name": "acl", "consumer": {"id": "6f1ab7a2-66f4-4f3a-a51c-0c4e6c1b9d34"},
        "config": {"allow": ["a"]}}));
    assert_eq!(errors["consumer"], "value must be null");
}

#[test]
fn cors_origins_must_be_regexes() {
    let plugin = process(&json!({"name": "cors", "config": {}})).unwrap();
    assert_eq!(plugin["config"]["methods"].as_array().unwrap().len(), 9);
    let errors = fields(json!({"name": "cors", "config": {"origins": ["(bad"]}}));
    assert_eq!(errors["config"]["origins"][0], "'(bad' is not a valid regex");
}

#[test]
fn request_transformer_values_are_checked_templates() {
    let plugin = process(&json!({"name": "request-transformer", "config": {"add": {"headers": ["x-a:1"]}}})).unwrap();
    assert_eq!(plugin["config"]["remove"]["headers"], json!([]));
    let errors = fields(json!({"name": "request-transformer", "config": {"add": {"headers": ["x-a:"]}}}));
    assert_eq!(errors["config"]["add"]["headers"][0], "key 'x-a' has no value");
    let errors = fields(json!({"name": "request-transformer", "config": {"add": {"querystring": ["a:$(nope)"]}}}));
    assert!(
        errors["config"]["add"]["querystring"][0]
            .as_str()
            .unwrap()
            .starts_with("value '$(nope)' is not in supported format")
    );
    let errors = fields(json!({"name": "request-transformer", "config": {"rename": {"headers": ["bad header:x"]}}}));
    assert_eq!(errors["config"]["rename"]["headers"][0], "'bad header' is not a valid header");
}

#[test]
fn templates_render_lookups_literals_and_defaults() {
    use super::request_transformer::{Template, TemplateEnv};
    struct Env;
    impl TemplateEnv for Env {
        fn lookup(&self, root: &str, keys: &[String]) -> Option<String> {
            match (root, keys) {
                ("headers", [k]) if k == "x-foo" => Some("bar".into()),
                ("uri_captures", [k]) if k == "1" => Some("42".into()),
                _ => None,
            }
        }
    }
    let render = |t: &str| Template::parse(t).unwrap().render(&Env);
    assert_eq!(render("a-$(headers.x-foo)-b"), "a-bar-b");
    assert_eq!(render(r#"$(headers["x-foo"])"#), "bar");
    assert_eq!(render("/items/$(uri_captures[1])"), "/items/42");
    assert_eq!(render(r#"$(headers.missing or "none")"#), "none");
    assert_eq!(render("$(query_params.id)"), "");
    assert!(Template::parse("$(headers.x").is_err());
    assert!(Template::parse("$(os.exit())").is_err());
}

/// A valid `gluu-oauth-pep` entity with `document` as its `oauth_scope_expression`.
fn oauth_pep(document: Value) -> Value {
    json!({"name": "gluu-oauth-pep", "config": {
        "oxd_id": "site-1", "oxd_url": "https://localhost:8443", "client_id": "client-1",
        "client_secret": "secret", "op_url": "https://op.example.com", "oauth_scope_expression": document}})
}

#[test]
fn gluu_oauth_pep_needs_the_oxd_settings_and_denies_by_default() {
    let plugin = process(&oauth_pep(Value::Null)).unwrap();
    assert_eq!(plugin["config"]["deny_by_default"], true);
    assert_eq!(plugin["config"]["oauth_scope_expression"], Value::Null);

    let errors = fields(json!({"name": "gluu-oauth-pep", "config": {"oxd_url": "localhost:8443"}}));
    for field in ["oxd_id", "client_id", "client_secret", "op_url"] {
        assert_eq!(errors["config"][field], "required field missing", "{field}");
    }
    assert_eq!(errors["config"]["oxd_url"], "missing host in url");
}

#[test]
fn gluu_oauth_pep_refuses_consumers() {
    let mut body = oauth_pep(Value::Null);
    body["consumer"] = json!({"id": "6f1ab7a2-66f4-4f3a-a51c-0c4e6c1b9d34"});
    assert_eq!(fields(body)["consumer"], "value must be null");
}

#[test]
fn gluu_oauth_pep_refuses_documents_with_ggs_messages() {
    let get = |path: &str| json!({"path": path, "conditions": [{"httpMethods": ["GET"]}]});
    let cases = [
        (json!("[{"), "Invalid JSON in expression"),
        (json!("[]"), "Empty expression not allowed"),
        (json!([{"path": "", "conditions": []}]).to_string().into(), "Path is missing or empty in expression"),
        (json!([get("/a/??/b/??")]).to_string().into(), "Multiple ?? patterns in path are not supported"),
        (json!([get("/a"), get("/a")]).to_string().into(), "Duplicate path in expression"),
        (json!([{"path": "/a"}]).to_string().into(), "Conditions are missing in expression"),
        (
            json!([{"path": "/a", "conditions": [{"httpMethods": []}]}]).to_string().into(),
            "HTTP Methods are missing or empty from condition in expression",
        ),
        (
            json!([{"path": "/a", "conditions": [{"httpMethods": ["GET"]}, {"httpMethods": ["GET"]}]}])
                .to_string()
                .into(),
            "Duplicate http method from conditions in expression",
        ),
    ];
    for (document, message) in cases {
        let violation = process(&oauth_pep(document)).unwrap_err();
        assert_eq!(violation.fields["config"]["oauth_scope_expression"], message);
        assert_eq!(violation.message(), format!("schema violation (config.oauth_scope_expression: {message})"));
    }
    let document = json!([get("/??")]).to_string();
    assert_eq!(process(&oauth_pep(document.clone().into())).unwrap()["config"]["oauth_scope_expression"], document);
}

/// A valid `gluu-oauth-auth` entity with these `custom_headers`.
#[cfg(feature = "engine")]
fn oauth_auth(custom_headers: Value) -> Value {
    json!({"name": "gluu-oauth-auth", "config": {
        "oxd_id": "site-1", "oxd_url": "https://localhost:8443", "client_id": "client-1",
        "client_secret": "secret", "op_url": "https://op.example.com", "custom_headers": custom_headers}})
}

#[cfg(feature = "engine")]
#[test]
fn gluu_oauth_auth_refuses_custom_headers_that_do_not_compile_with_ggs_message() {
    let headers = json!([
        {"header_name": "x-consumer-id", "value_lua_exp": "consumer.id", "format": "string"},
        {"header_name": "x-broken", "value_lua_exp": "introspect_data."},
        {"header_name": "x-also-broken", "value_lua_exp": "1 +"},
    ]);
    let violation = process(&oauth_auth(headers)).unwrap_err();
    let message = "x-broken has not a valid lua expression value, Error: \
                   [string \"return introspect_data.\"]:1: <name> expected near <eof>";
    assert_eq!(violation.fields["config"], message, "the first failure, on config as GG's custom_validator");
    assert_eq!(violation.message(), format!("schema violation (config: {message})"));

    let fine = json!([{"header_name": "x-{*}", "value_lua_exp": "{id_token=id_token}", "iterate": true}]);
    assert_eq!(
        process(&oauth_auth(fine.clone())).unwrap()["config"]["custom_headers"][0]["value_lua_exp"],
        fine[0]["value_lua_exp"]
    );
    let errors = fields(oauth_auth(json!([{"header_name": "x", "value_lua_exp": "1", "format": "xml"}])));
    assert_eq!(
        errors["config"]["custom_headers"][0]["format"],
        "expected one of: string, jwt, base64, urlencoded, list"
    );
}
