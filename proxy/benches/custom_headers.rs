//! What one token-cache miss spends in Lua: computing `custom_headers` (`gluu-plugins.md` §3.7) for one
//! token — one expression, the GG UI's five defaults, and those plus a jwt and an iterate header. Each
//! computation builds the environment, runs every expression under its limits, renders the values and
//! collects the garbage. Run with `cargo bench -p proxy --bench custom_headers`.

use criterion::{Criterion, criterion_group, criterion_main};
use proxy::plugins::custom_headers::{CustomHeaders, Environment, HeaderConfig};
use serde_json::{Value, json};

fn headers(configs: Value) -> CustomHeaders {
    let configs: Vec<HeaderConfig> = serde_json::from_value(configs).unwrap();
    CustomHeaders::new(&configs).unwrap()
}

fn computations(c: &mut Criterion) {
    let data = json!({"active": true, "client_id": "@!1736.179E.2BC1", "exp": 1_900_000_000, "iat": 1_899_996_400,
        "scope": ["openid", "email", "profile"], "token_type": "bearer", "iss": "https://op.example.com",
        "consumer": {"id": "6a8d1a7b-5c0e-4f6b-9a53-2f1f0e6b8c11", "custom_id": "@!1736.179E.2BC1",
            "username": "app", "created_at": 1_899_000_000, "tags": null}});
    let environment = Environment::auth(&data);
    let ui_defaults = json!([
        {"header_name": "x-consumer-id", "value_lua_exp": "consumer.id", "format": "string"},
        {"header_name": "x-oauth-client-id", "value_lua_exp": "introspect_data.client_id", "format": "string"},
        {"header_name": "x-consumer-custom-id", "value_lua_exp": "introspect_data.client_id", "format": "string"},
        {"header_name": "x-oauth-expiration", "value_lua_exp": "introspect_data.exp", "format": "string"},
        {"header_name": "x-authenticated-scope", "value_lua_exp": "introspect_data.scope", "format": "list"},
    ]);
    let mut with_jwt_and_iterate = ui_defaults.clone();
    with_jwt_and_iterate.as_array_mut().unwrap().extend([
        json!({"header_name": "kong_access_token_jwt", "value_lua_exp": "introspect_data", "format": "jwt"}),
        json!({"header_name": "kong_consumer_{*}", "value_lua_exp": "consumer", "format": "string", "iterate": true}),
    ]);
    let sets = [
        ("one_expression", headers(json!([ui_defaults[0].clone()]))),
        ("ui_defaults", headers(ui_defaults)),
        ("ui_defaults_jwt_iterate", headers(with_jwt_and_iterate)),
    ];
    let mut group = c.benchmark_group("custom_headers_compute");
    for (name, set) in &sets {
        group.bench_function(*name, |b| b.iter(|| set.compute(&environment)));
    }
    group.finish();
}

criterion_group!(benches, computations);
criterion_main!(benches);
