//! `custom_headers` as the upstream sees them: formats, iterate, naming, and what skips a header.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use serde_json::{Value, json};

use super::*;

const CONSUMER_ID: &str = "6a8d1a7b-5c0e-4f6b-9a53-2f1f0e6b8c11";

fn token_data() -> Value {
    json!({"active": true, "client_id": "@!1736.179E", "exp": 1_600_000_000, "scope": ["openid", "email"],
        "consumer": {"id": CONSUMER_ID, "custom_id": "@!1736.179E", "username": "app", "created_at": 1_599_996_000}})
}

fn header(name: &str, expression: &str) -> Value {
    json!({"header_name": name, "value_lua_exp": expression})
}

fn with(mut header: Value, extra: Value) -> Value {
    header.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    header
}

fn compile(configs: Value) -> CustomHeaders {
    let configs: Vec<HeaderConfig> = serde_json::from_value(configs).unwrap();
    CustomHeaders::new(&configs).unwrap()
}

fn upstream(configs: Value, environment: &Environment) -> HeaderMap {
    let mut headers = HeaderMap::new();
    compile(configs).compute(environment).apply(&mut headers);
    headers
}

fn auth(configs: Value) -> HeaderMap {
    upstream(configs, &Environment::auth(&token_data()))
}

fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap())
}

#[test]
fn the_gg_ui_defaults_reproduce_the_legacy_oauth_headers() {
    let headers = auth(json!([
        with(header("x-consumer-id", "consumer.id"), json!({"format": "string"})),
        with(header("x-oauth-client-id", "introspect_data.client_id"), json!({"format": "string"})),
        with(header("x-consumer-custom-id", "introspect_data.client_id"), json!({"format": "string"})),
        with(header("x-oauth-expiration", "introspect_data.exp"), json!({"format": "string"})),
        with(header("x-authenticated-scope", "introspect_data.scope"), json!({"format": "list", "sep": ","})),
    ]));
    assert_eq!(get(&headers, "x-consumer-id"), Some(CONSUMER_ID));
    assert_eq!(get(&headers, "x-oauth-client-id"), Some("@!1736.179E"));
    assert_eq!(get(&headers, "x-consumer-custom-id"), Some("@!1736.179E"));
    assert_eq!(get(&headers, "x-oauth-expiration"), Some("1600000000"));
    assert_eq!(get(&headers, "x-authenticated-scope"), Some("openid,email"));
    assert_eq!(headers.len(), 5);
}

#[test]
fn string_format_prints_scalars_and_encodes_tables_as_json() {
    let headers = auth(json!([
        header("x-text", "introspect_data.client_id"),
        header("x-number", "123"),
        header("x-float", "1.5"),
        header("x-true", "introspect_data.active"),
        header("x-false", "false"),
        with(header("x-table", "introspect_data.scope"), json!({"format": "string"})),
    ]));
    assert_eq!(get(&headers, "x-text"), Some("@!1736.179E"));
    assert_eq!(get(&headers, "x-number"), Some("123"));
    assert_eq!(get(&headers, "x-float"), Some("1.5"));
    assert_eq!(get(&headers, "x-true"), Some("true"), "booleans default to string (§15 N6)");
    assert_eq!(get(&headers, "x-false"), Some("false"));
    assert_eq!(get(&headers, "x-table"), Some(r#"["openid","email"]"#));
}

#[test]
fn base64_format_encodes_text_and_json_with_padding() {
    let headers = auth(json!([
        with(header("x-text", "'ab'"), json!({"format": "base64"})),
        with(header("x-number", "123"), json!({"format": "base64"})),
        header("x-default", "consumer"),
    ]));
    assert_eq!(get(&headers, "x-text"), Some("YWI="));
    assert_eq!(get(&headers, "x-number"), Some("MTIz"));
    let decoded = STANDARD.decode(get(&headers, "x-default").unwrap()).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).unwrap(),
        token_data()["consumer"],
        "tables default to base64"
    );
}

#[test]
fn urlencoded_format_keeps_only_unreserved_bytes() {
    let headers = auth(json!([
        with(header("x-text", "'a b/c~d_e.f-g é'"), json!({"format": "urlencoded"})),
        with(header("x-table", "introspect_data.scope"), json!({"format": "urlencoded"})),
    ]));
    assert_eq!(get(&headers, "x-text"), Some("a%20b%2Fc~d_e.f-g%20%C3%A9"));
    assert_eq!(get(&headers, "x-table"), Some("%5B%22openid%22%2C%22email%22%5D"));
}

#[test]
fn list_format_joins_a_non_empty_array_and_skips_anything_else() {
    let headers = auth(json!([
        with(header("x-default-sep", "introspect_data.scope"), json!({"format": "list"})),
        with(header("x-sep", "introspect_data.scope"), json!({"format": "list", "sep": ", "})),
        with(header("x-numbers", "{1, 2.5, 'x'}"), json!({"format": "list", "sep": ";"})),
        with(header("x-string", "introspect_data.client_id"), json!({"format": "list"})),
        with(header("x-empty", "{}"), json!({"format": "list"})),
        with(header("x-object", "consumer"), json!({"format": "list"})),
        with(header("x-number", "1"), json!({"format": "list"})),
        with(header("x-nested", "{{1}}"), json!({"format": "list"})),
    ]));
    assert_eq!(get(&headers, "x-default-sep"), Some("openid,email"));
    assert_eq!(get(&headers, "x-sep"), Some("openid, email"));
    assert_eq!(get(&headers, "x-numbers"), Some("1;2.5;x"));
    for skipped in ["x-string", "x-empty", "x-object", "x-number", "x-nested"] {
        assert_eq!(get(&headers, skipped), None, "{skipped}");
    }
}

#[test]
fn jwt_format_is_an_unsigned_base64url_jwt_of_an_object() {
    let headers = auth(json!([
        with(header("kong_access_token_jwt", "introspect_data"), json!({"format": "jwt"})),
        with(header("x-not-object", "introspect_data.client_id"), json!({"format": "jwt"})),
        with(header("x-array", "introspect_data.scope"), json!({"format": "jwt"})),
    ]));
    let token = get(&headers, "kong-access-token-jwt").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), br#"{"typ":"JWT","alg":"none"}"#);
    assert_eq!(serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(), token_data());
    assert_eq!(parts[2], "", "no signature");
    assert_eq!(get(&headers, "x-not-object"), None);
    assert_eq!(get(&headers, "x-array"), None);
}

#[test]
fn iterate_sets_one_header_per_key_with_underscores_as_dashes() {
    let headers = auth(json!([
        with(header("kong_consumer_{*}", "consumer"), json!({"iterate": true, "format": "string"})),
        with(header("x-scope-{*}", "introspect_data.scope"), json!({"iterate": true})),
        with(header("x-scalar-{*}", "introspect_data.client_id"), json!({"iterate": true})),
    ]));
    assert_eq!(get(&headers, "kong-consumer-id"), Some(CONSUMER_ID));
    assert_eq!(get(&headers, "kong-consumer-custom-id"), Some("@!1736.179E"));
    assert_eq!(get(&headers, "kong-consumer-username"), Some("app"));
    assert_eq!(get(&headers, "kong-consumer-created-at"), Some("1599996000"));
    assert_eq!(get(&headers, "x-scope-1"), Some("openid"), "array keys count from 1, as in Lua");
    assert_eq!(get(&headers, "x-scope-2"), Some("email"));
    assert_eq!(headers.keys().filter(|name| name.as_str().starts_with("x-scalar")).count(), 0);
    assert_eq!(headers.len(), 6);
}

#[test]
fn nil_values_and_runtime_errors_skip_only_their_header() {
    let headers = auth(json!([
        header("x-before", "introspect_data.client_id"),
        header("x-nil", "introspect_data.missing"),
        header("x-error", "introspect_data.stub[2]"),
        header("x-loop", "(function() while true do end end)()"),
        header("x-after", "consumer.username"),
    ]));
    assert_eq!(get(&headers, "x-before"), Some("@!1736.179E"));
    assert_eq!(get(&headers, "x-after"), Some("app"));
    assert_eq!(headers.len(), 2);
}

#[test]
fn values_and_names_headers_cannot_carry_are_skipped() {
    let headers = auth(json!([
        header("x-newline", "'a\\r\\nx-injected: 1'"),
        header("bad name", "'x'"),
        header("x-ok", "'fine'"),
    ]));
    assert_eq!(headers.len(), 1);
    assert_eq!(get(&headers, "x-ok"), Some("fine"));
}

#[test]
fn computed_headers_replace_the_clients_values() {
    let mut headers = HeaderMap::new();
    headers.insert("x-consumer-id", "forged".parse().unwrap());
    headers.append("x-consumer-id", "forged-again".parse().unwrap());
    compile(json!([header("x-consumer-id", "consumer.id")]))
        .compute(&Environment::auth(&token_data()))
        .apply(&mut headers);
    let values: Vec<_> = headers.get_all("x-consumer-id").iter().collect();
    assert_eq!(values, [CONSUMER_ID]);
}

#[test]
fn every_name_the_configuration_can_set_is_removed_from_the_clients_headers() {
    let custom = compile(json!([
        header("kong_consumer_id", "consumer.id"),
        with(header("Kong_Claim_{*}_Value", "introspect_data"), json!({"iterate": true})),
        with(header("x_flat", "introspect_data"), json!({"iterate": true})), // no {*}: one name
    ]));
    let mut headers = HeaderMap::new();
    for name in ["kong-consumer-id", "kong-claim-sub-value", "kong-claim--value", "x-flat", "kong-claim-sub", "other"] {
        headers.insert(HeaderName::from_static(name), "forged".parse().unwrap());
    }
    custom.remove_client_values(&mut headers);
    let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    left.sort();
    assert_eq!(left, ["kong-claim-sub", "other"], "only names the configuration cannot produce stay");
}

#[test]
fn every_gg_test_and_ui_expression_runs_unchanged() {
    let auth_headers = auth(json!([
        header("x-1", "consumer.id"),
        header("x-2", "introspect_data.client_id"),
        header("x-3", "introspect_data.exp"),
        with(header("x-4", "introspect_data.scope"), json!({"format": "list"})),
        header("x-5", "introspect_data"),
        header("x-6", "consumer"),
        header("http_kong_api_version", "\"version 1.0\""),
        header("x-8", "[[\"version 1.0\"]]"),
        header("x-9", "123"),
        header("x-10", "\"\\\"version 1.0\\\"\""),
    ]));
    let base64_json = |name: &str| -> Value {
        serde_json::from_slice(&STANDARD.decode(get(&auth_headers, name).unwrap()).unwrap()).unwrap()
    };
    assert_eq!(get(&auth_headers, "x-1"), Some(CONSUMER_ID));
    assert_eq!(get(&auth_headers, "x-2"), Some("@!1736.179E"));
    assert_eq!(get(&auth_headers, "x-3"), Some("1600000000"));
    assert_eq!(get(&auth_headers, "x-4"), Some("openid,email"));
    assert_eq!(base64_json("x-5"), token_data());
    assert_eq!(base64_json("x-6"), token_data()["consumer"]);
    assert_eq!(get(&auth_headers, "http-kong-api-version"), Some("version 1.0"));
    assert_eq!(get(&auth_headers, "x-8"), Some("\"version 1.0\""));
    assert_eq!(get(&auth_headers, "x-9"), Some("123"));
    assert_eq!(get(&auth_headers, "x-10"), Some("\"version 1.0\""));

    let id_token = json!({"sub": "s-1", "acr": "otp", "iss": "https://op.example.com"});
    let userinfo = json!({"sub": "s-1", "name": "Ada Lovelace"});
    let oidc = Environment::openid_connect(&id_token, Some(&userinfo), Some("at-123"));
    let headers = upstream(
        json!([
            with(header("http-kong-id-token-{*}", "id_token"), json!({"format": "string", "iterate": true})),
            with(header("http-kong-userinfo-{*}", "userinfo"), json!({"format": "string", "iterate": true})),
            with(header("http-kong-userinfo", "userinfo"), json!({"format": "jwt"})),
            with(header("http-kong-id-token", "id_token"), json!({"format": "jwt"})),
            header("x-name", "userinfo.name"),
            header("x-access-token", "access_token"),
            with(header("x-both", "{id_token=id_token,userinfo=userinfo}"), json!({"format": "string"})),
        ]),
        &oidc,
    );
    assert_eq!(get(&headers, "http-kong-id-token-acr"), Some("otp"));
    assert_eq!(get(&headers, "http-kong-userinfo-name"), Some("Ada Lovelace"));
    assert!(get(&headers, "http-kong-userinfo").unwrap().ends_with('.'));
    assert!(get(&headers, "http-kong-id-token").unwrap().ends_with('.'));
    assert_eq!(get(&headers, "x-name"), Some("Ada Lovelace"));
    assert_eq!(get(&headers, "x-access-token"), Some("at-123"));
    let both: Value = serde_json::from_str(get(&headers, "x-both").unwrap()).unwrap();
    assert_eq!(both, json!({"id_token": id_token, "userinfo": userinfo}));
}

#[test]
fn the_anonymous_environment_has_only_the_consumer() {
    let anonymous = json!({"consumer": {"id": CONSUMER_ID}});
    let headers = upstream(
        json!([header("x-consumer-id", "consumer.id"), header("x-client", "introspect_data.client_id")]),
        &Environment::auth(&anonymous),
    );
    assert_eq!(get(&headers, "x-consumer-id"), Some(CONSUMER_ID));
    assert_eq!(get(&headers, "x-client"), None);
    let headers = upstream(json!([header("x-consumer-id", "consumer.id")]), &Environment::auth(&json!({})));
    assert!(headers.is_empty(), "no consumer: indexing nil is a runtime error, the header is skipped");
}

#[test]
fn the_fingerprint_follows_the_configuration() {
    let one = json!([header("x-a", "consumer.id")]);
    assert_eq!(compile(one.clone()).fingerprint(), compile(one).fingerprint());
    assert_ne!(
        compile(json!([header("x-a", "consumer.id")])).fingerprint(),
        compile(json!([header("x-a", "consumer.username")])).fingerprint()
    );
}

#[test]
fn the_names_a_configuration_may_set_include_every_iterate_expansion() {
    let fixed = compile(json!([header("X-Client", "introspect_data.client_id")]));
    assert!(fixed.may_set("x-client"));
    assert!(!fixed.may_set("host") && !fixed.may_set("x-forwarded-for"));
    let iterated = compile(json!([with(header("X-Forwarded-{*}", "introspect_data"), json!({"iterate": true}))]));
    assert!(iterated.may_set("x-forwarded-for"), "the key `for` would name it");
    assert!(!iterated.may_set("host"));
    assert!(compile(json!([header("Host", "'upstream.test'")])).may_set("host"));
}
