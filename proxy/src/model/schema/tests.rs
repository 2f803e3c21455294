use super::*;
use serde_json::json;

fn consumer_like() -> Schema {
    Schema::new(
        "consumers",
        vec![
            Field::string("id").auto().check(Check::Uuid),
            Field::string("username").unique(),
            Field::string("custom_id").unique(),
            Field::set("tags", Field::string("")),
        ],
    )
    .entity_check(EntityCheck::AtLeastOneOf(vec!["custom_id", "username"]))
}

fn service_like() -> Schema {
    Schema::new(
        "services",
        vec![
            Field::string("host").required(),
            Field::integer("port").default(json!(80)).check(Check::Between(0, 65535)),
            Field::string("protocol").default(json!("http")).check(Check::OneOf(vec![json!("http"), json!("https")])),
            Field::array("paths", Field::string("").check(Check::StartsWith("/"))),
            Field::record(
                "config",
                vec![Field::integer("minute").check(Check::Gt(0.0)), Field::boolean("on").default(json!(true))],
            )
            .required(),
            Field::foreign("service", EntityKind::Services),
        ],
    )
}

#[test]
fn fills_defaults_and_nulls_and_keeps_given_values() {
    let out = service_like().process(&json!({"host": "example.com", "port": 8080})).unwrap();
    assert_eq!(
        out,
        json!({"host": "example.com", "port": 8080, "protocol": "http", "paths": null,
               "config": {"minute": null, "on": true}, "service": null})
    );
}

#[test]
fn reports_kong_messages_per_field() {
    let err = service_like()
        .process(&json!({"port": "80", "protocol": "ftp", "paths": ["/ok", "bad"], "nope": 1,
                         "config": {"minute": 0, "x": 1}, "service": {"id": "not-a-uuid"}}))
        .unwrap_err();
    assert_eq!(
        err.to_kong_json()["fields"],
        json!({
            "host": "required field missing",
            "port": "expected an integer",
            "protocol": "expected one of: http, https",
            "paths": [null, "should start with: /"],
            "nope": "unknown field",
            "config": {"minute": "value must be greater than 0", "x": "unknown field"},
            "service": {"id": "expected a valid UUID"},
        })
    );
    assert!(err.message().starts_with("8 schema violations ("), "{}", err.message());
    assert!(err.message().contains("paths.2: should start with: /"), "{}", err.message());
}

#[test]
fn single_violation_message_and_entity_checks() {
    let err = consumer_like().process(&json!({"tags": ["a"]})).unwrap_err();
    assert_eq!(
        err.to_kong_json(),
        json!({"code": 2, "name": "schema violation",
               "message": "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
               "fields": {"@entity": ["at least one of these fields must be non-empty: 'custom_id', 'username'"]}})
    );
    let err = consumer_like().process(&json!({"username": 5})).unwrap_err();
    assert_eq!(err.message(), "schema violation (username: expected a string)");
}

#[test]
fn sets_drop_duplicates_and_integers_accept_whole_floats() {
    let out = consumer_like().process(&json!({"username": "a", "tags": ["x", "y", "x"]})).unwrap();
    assert_eq!(out["tags"], json!(["x", "y"]));
    let out = service_like().process(&json!({"host": "h", "port": 81.0})).unwrap();
    assert_eq!(out["port"], json!(81));
    assert!(service_like().process(&json!({"host": "h", "port": 81.5})).is_err());
    assert!(service_like().process(&json!({"host": "h", "port": 65536})).is_err());
}

#[test]
fn describe_lists_fields_in_order_with_kong_keys() {
    let described = service_like().describe();
    let fields = described["fields"].as_array().unwrap();
    assert_eq!(fields[0], json!({"host": {"type": "string", "required": true}}));
    assert_eq!(fields[1], json!({"port": {"type": "integer", "default": 80, "between": [0, 65535]}}));
    assert_eq!(fields[5], json!({"service": {"type": "foreign", "reference": "services"}}));
    assert_eq!(consumer_like().describe()["entity_checks"], json!([{"at_least_one_of": ["custom_id", "username"]}]));
}
