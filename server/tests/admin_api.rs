//! Admin API conformance (`admin-api.md`), driven through the real router against SQLite and PostgreSQL.
//! Every bad request is also checked to leave the configuration version unchanged.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::config::{Config, Database};
use server::node::Node;
use server::store::Store;
use tower::ServiceExt;

struct Api {
    node: Arc<Node>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Api {
    async fn sqlite() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { prefix: dir.path().into(), ..Config::default() };
        let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
        Api { node: Arc::new(Node::new(config, Arc::new(store))), _dir: dir }
    }

    async fn postgres() -> Api {
        let admin_url = std::env::var("GATEHOUSE_TEST_PG_URL")
            .expect("GATEHOUSE_TEST_PG_URL must name a PostgreSQL server; ./scripts/test starts one and sets it");
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let store = Store::open_url(Database::Postgres, &url, 5, std::time::Duration::from_secs(5)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = Config { prefix: dir.path().into(), database: Database::Postgres, ..Config::default() };
        Api { node: Arc::new(Node::new(config, Arc::new(store))), _dir: dir }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = server::admin_api::service(self.node.clone()).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        Reply { status: parts.status, headers: parts.headers, body }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        let request = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    async fn raw(&self, method: &str, uri: &str, content_type: Option<&str>, body: &str) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap()).await
    }

    async fn ok(&self, method: &str, uri: &str, body: Value) -> Value {
        let reply = self.call(method, uri, Some(body)).await;
        assert!(reply.status.is_success(), "{method} {uri}: {} {}", reply.status, reply.body);
        reply.body
    }

    fn version(&self) -> i64 {
        self.node.store.config_version()
    }

    /// Asserts a bad request's status and that it changed nothing.
    async fn refused(&self, method: &str, uri: &str, body: Option<Value>, status: u16) -> Value {
        let before = self.version();
        let reply = self.call(method, uri, body).await;
        assert_eq!(reply.status.as_u16(), status, "{method} {uri}: {}", reply.body);
        assert_eq!(self.version(), before, "{method} {uri} must not change the configuration");
        reply.body
    }
}

async fn services_create_read_replace_patch_and_delete(api: Api) {
    let created = api
        .call("POST", "/services", Some(json!({"name": "billing", "url": "https://billing.internal:8443/v1"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.headers["content-type"], "application/json; charset=utf-8");
    let service = created.body;
    assert_eq!(
        (service["protocol"].as_str(), service["port"].as_i64(), service["path"].as_str()),
        (Some("https"), Some(8443), Some("/v1"))
    );
    assert_eq!(service["retries"], 5);
    assert!(service["client_certificate"].is_null(), "unset fields are present as null");
    let id = service["id"].as_str().unwrap().to_string();

    assert_eq!(api.call("GET", &format!("/services/{id}"), None).await.body, service);
    assert_eq!(api.call("GET", "/services/billing", None).await.body, service);

    // PUT is a full replacement: omitted fields fall back to defaults.
    let replaced = api.ok("PUT", "/services/billing", json!({"host": "billing.svc", "retries": 1})).await;
    assert_eq!((replaced["id"].as_str(), replaced["name"].as_str()), (Some(id.as_str()), Some("billing")));
    assert_eq!(
        (replaced["protocol"].as_str(), replaced["port"].as_i64(), replaced["retries"].as_i64()),
        (Some("http"), Some(80), Some(1))
    );
    assert_eq!(replaced["created_at"], service["created_at"]);

    // PATCH changes only what it names; null clears.
    let patched = api.ok("PATCH", &format!("/services/{id}"), json!({"path": "/v2", "name": null})).await;
    assert_eq!((patched["path"].as_str(), patched["retries"].as_i64()), (Some("/v2"), Some(1)));
    assert!(patched["name"].is_null());
    // Konga and the GG UI send whole entities with PATCH.
    let whole = api.ok("PATCH", &format!("/services/{id}"), patched.clone()).await;
    assert_eq!(whole["path"], "/v2");

    // PUT by a new name creates.
    let fresh = api.ok("PUT", "/services/ledger", json!({"host": "ledger.svc"})).await;
    assert_eq!(fresh["name"], "ledger");

    assert_eq!(api.call("DELETE", &format!("/services/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.call("DELETE", &format!("/services/{id}"), None).await.status,
        StatusCode::NO_CONTENT,
        "absent is fine"
    );
    assert_eq!(api.call("GET", &format!("/services/{id}"), None).await.body, json!({"message": "Not found"}));
    assert_eq!(api.call("PATCH", "/services/nope", Some(json!({"retries": 2}))).await.status, StatusCode::NOT_FOUND);
}

async fn bodies_in_form_and_multipart_are_typed_by_the_schema(api: Api) {
    let form = api
        .raw(
            "POST",
            "/services",
            Some("application/x-www-form-urlencoded"),
            "name=f&host=f.svc&port=8080&tags[1]=a&tags[2]=b&path=",
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{}", form.body);
    assert_eq!((form.body["port"].as_i64(), form.body["path"].is_null()), (Some(8080), true));
    assert_eq!(form.body["tags"], json!(["a", "b"]));
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmia\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"tags[1]\"\r\n\r\nt\r\n--{boundary}--\r\n"
    );
    let reply =
        api.raw("POST", "/consumers", Some(&format!("multipart/form-data; boundary={boundary}")), &multipart).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!((reply.body["username"].as_str(), reply.body["tags"].clone()), (Some("mia"), json!(["t"])));
    let route = api
        .raw(
            "POST",
            "/services/f/routes",
            Some("application/x-www-form-urlencoded"),
            "paths=/a&paths=/b&methods=GET&strip_path=false&headers.x-region=north",
        )
        .await;
    assert_eq!(route.status, StatusCode::CREATED, "{}", route.body);
    assert_eq!(route.body["paths"], json!(["/a", "/b"]));
    assert_eq!(route.body["strip_path"], false);
    assert_eq!(route.body["headers"], json!({"x-region": ["north"]}));
}

async fn bad_input_gets_kongs_errors_and_changes_nothing(api: Api) {
    api.ok("POST", "/services", json!({"name": "taken", "host": "a.svc"})).await;
    let before = api.version();
    let reply = api.raw("POST", "/services", Some("application/json"), "{\"host\": ").await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (400, json!({"message": "Cannot parse JSON body"})));
    let reply = api.raw("POST", "/services", Some("text/plain"), "host=x").await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (415, Value::Null));
    let reply = api.raw("POST", "/services", None, "host=x").await;
    assert_eq!(reply.status.as_u16(), 415);
    assert_eq!(api.version(), before);

    let body =
        api.refused("POST", "/services", Some(json!({"host": "b.svc", "port": "80", "colour": "red"})), 400).await;
    assert_eq!(body["code"], 2);
    assert_eq!(body["fields"], json!({"port": "expected an integer", "colour": "unknown field"}));
    assert_eq!(body["message"], "2 schema violations (colour: unknown field; port: expected an integer)");
    let body = api.refused("POST", "/services", Some(json!({"name": "taken", "host": "c.svc"})), 409).await;
    assert_eq!(
        body,
        json!({"code": 5, "name": "unique constraint violation",
                            "message": "UNIQUE violation detected on '{name=\"taken\"}'", "fields": {"name": "taken"}})
    );
    let body = api.refused("POST", "/services", Some(json!({"id": "not-a-uuid", "host": "d.svc"})), 400).await;
    assert_eq!(body["fields"]["id"], "expected a valid UUID");
    let body = api
        .refused("POST", "/routes", Some(json!({"paths": ["/x"], "service": {"id": uuid::Uuid::new_v4()}})), 400)
        .await;
    assert_eq!(body["code"], 4);
    let body = api.refused("POST", "/routes", Some(json!({"paths": ["/x"], "service": {"name": "ghost"}})), 400).await;
    assert_eq!(body["code"], 13);
    assert_eq!(
        body["message"],
        "foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"ghost\"}' for an existing 'services' entity)"
    );
    let body = api.refused("POST", "/routes", Some(json!({"paths": ["/(unclosed"]})), 400).await;
    assert!(body["fields"]["paths"][0].as_str().unwrap().starts_with("invalid regex: '/(unclosed'"), "{body}");
    let body = api.refused("POST", "/routes", Some(json!({"name": "r"})), 400).await;
    assert_eq!(
        body["fields"]["@entity"][0],
        "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"
    );
    let body = api.refused("POST", "/plugins", Some(json!({"name": "basic-auth"})), 400).await;
    assert!(body["fields"]["name"].as_str().unwrap().contains("gluu-oauth-auth"));
    let body = api.refused("POST", "/plugins", Some(json!({"name": "made-up"})), 400).await;
    assert_eq!(body["fields"]["name"], "plugin 'made-up' not enabled; add it to the 'plugins' configuration property");
    let body = api.refused("POST", "/consumers", Some(json!({"tags": ["x"]})), 400).await;
    assert_eq!(body["fields"]["@entity"][0], "at least one of these fields must be non-empty: 'custom_id', 'username'");
}

async fn routes_nest_under_services_and_restrict_their_delete(api: Api) {
    let service = api.ok("POST", "/services", json!({"name": "orders", "host": "orders.svc"})).await;
    let route = api.ok("POST", "/services/orders/routes", json!({"name": "orders-api", "paths": ["/orders"]})).await;
    assert_eq!(route["service"], json!({"id": service["id"]}));
    api.ok(
        "POST",
        "/routes",
        json!({"name": "by-name", "hosts": ["orders.example.com"], "service": {"name": "orders"}}),
    )
    .await;
    api.ok("POST", "/routes", json!({"name": "serviceless", "methods": ["GET"]})).await;

    let nested = api.call("GET", "/services/orders/routes", None).await.body;
    assert_eq!(nested["data"].as_array().unwrap().len(), 2);
    assert_eq!(api.call("GET", "/services/orders/routes/orders-api", None).await.status, StatusCode::OK);
    assert_eq!(
        api.call("GET", "/services/orders/routes/serviceless", None).await.status,
        StatusCode::NOT_FOUND,
        "not this service's route"
    );
    assert_eq!(api.call("GET", "/routes/orders-api/service", None).await.body["name"], "orders");
    assert_eq!(api.call("GET", "/routes/serviceless/service", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", "/routes/orders-api/service", None).await.status, StatusCode::METHOD_NOT_ALLOWED);
    let patched = api.ok("PATCH", "/routes/orders-api/service", json!({"retries": 9})).await;
    assert_eq!(patched["retries"], 9);

    let body = api.refused("DELETE", "/services/orders", None, 400).await;
    assert_eq!(
        body,
        json!({"code": 4, "name": "foreign key violation",
                            "message": "an existing 'routes' entity references this 'services' entity",
                            "fields": {"@referenced_by": "routes"}})
    );
    api.ok("PATCH", "/routes/by-name", json!({"service": null})).await;
    assert_eq!(api.call("DELETE", "/routes/orders-api", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", "/services/orders", None).await.status, StatusCode::NO_CONTENT);
}

async fn consumers_are_found_by_username_and_custom_id(api: Api) {
    let consumer = api
        .ok("POST", "/consumers", json!({"username": "app", "custom_id": "6d3b2c1a-0000-4000-8000-00000000abcd"}))
        .await;
    let found = api.call("GET", "/consumers?custom_id=6d3b2c1a-0000-4000-8000-00000000abcd", None).await.body;
    assert_eq!(found, json!({"data": [consumer], "next": null}), "UUID-looking custom_ids are still custom_ids");
    assert_eq!(api.call("GET", "/consumers?custom_id=none", None).await.body, json!({"data": [], "next": null}));
    assert_eq!(api.call("GET", "/consumers/app", None).await.body["id"], consumer["id"]);
    let body = api
        .refused("POST", "/consumers", Some(json!({"custom_id": "6d3b2c1a-0000-4000-8000-00000000abcd"})), 409)
        .await;
    assert_eq!(body["fields"], json!({"custom_id": "6d3b2c1a-0000-4000-8000-00000000abcd"}));
}

async fn upstreams_and_targets_follow_kong_2x(api: Api) {
    let upstream = api.ok("POST", "/upstreams", json!({"name": "backend.svc", "hash_on": "ip"})).await;
    assert_eq!(upstream["algorithm"], "consistent-hashing", "hashing forces consistent-hashing");
    assert_eq!(upstream["healthchecks"]["active"]["healthy"]["http_statuses"], json!([200, 302]));
    let target = api.call("POST", "/upstreams/backend.svc/targets", Some(json!({"target": "10.0.0.7"}))).await;
    assert_eq!(target.status, StatusCode::CREATED);
    assert_eq!(target.body["target"], "10.0.0.7:8000");
    assert!(target.body["created_at"].is_f64());
    let again =
        api.call("POST", "/upstreams/backend.svc/targets", Some(json!({"target": "10.0.0.7:8000", "weight": 0}))).await;
    assert_eq!((again.status, again.headers["deprecation"].to_str().unwrap()), (StatusCode::OK, "true"));
    assert_eq!((again.body["id"].clone(), again.body["weight"].clone()), (target.body["id"].clone(), json!(0)));
    assert_eq!(api.call("GET", "/upstreams/backend.svc/targets/10.0.0.7:8000", None).await.body["weight"], 0);
    assert_eq!(api.call("GET", "/targets", None).await.status, StatusCode::NOT_FOUND, "targets only under upstreams");
    assert_eq!(api.call("DELETE", "/upstreams/backend.svc", None).await.status, StatusCode::NO_CONTENT);
    let counts = api.node.store.counts().await.unwrap();
    assert_eq!(counts.iter().find(|(k, _)| k.as_str() == "targets").unwrap().1, 0, "targets cascade");
}

async fn pages_walk_with_size_and_tags_kept_in_next(api: Api) {
    assert_eq!(api.call("GET", "/services", None).await.body, json!({"data": [], "next": null}));
    for n in 0..5 {
        api.ok("POST", "/services", json!({"name": format!("s{n}"), "host": "h.svc", "tags": if n % 2 == 0 { json!(["even", "all"]) } else { json!(["all"]) }})).await;
    }
    let mut uri = "/services?size=2".to_string();
    let mut seen = Vec::new();
    loop {
        let page = api.call("GET", &uri, None).await.body;
        seen.extend(page["data"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/services?offset=") && next.ends_with("&size=2"), "{next}");
                assert!(page["offset"].is_string());
                uri = next.to_string();
            }
            None => {
                assert!(page.get("offset").is_none(), "no offset on the last page");
                break;
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["s0", "s1", "s2", "s3", "s4"]);

    let even = api.call("GET", "/services?tags=even,all&size=1", None).await.body;
    assert!(even["next"].as_str().unwrap().ends_with("&size=1&tags=even%2Call"));
    let evens = api.call("GET", "/services?tags=even,all", None).await.body;
    assert_eq!(evens["data"].as_array().unwrap().len(), 3);
    let either = api.call("GET", "/services?tags=even/all", None).await.body;
    assert_eq!(either["data"].as_array().unwrap().len(), 5);
    assert_eq!(api.call("GET", "/services?tags=a,b/c", None).await.status, StatusCode::BAD_REQUEST);
    let tags = api.call("GET", "/tags/even", None).await.body;
    assert_eq!(tags["data"].as_array().unwrap().len(), 3);
    assert_eq!(tags["data"][0]["entity_name"], "services");

    let body = api.call("GET", "/services?size=0", None).await.body;
    assert_eq!(
        body,
        json!({"code": 9, "name": "invalid size", "message": "size must be an integer between 1 and 1000"})
    );
    let body = api.call("GET", "/services?offset=%25%25", None).await.body;
    assert_eq!(body["code"], 7);
    assert_eq!(api.call("GET", "/services?size=1000&unknown=1", None).await.status, StatusCode::OK);
}

async fn schemas_validation_and_the_catalogue(api: Api) {
    let schema = api.call("GET", "/schemas/services", None).await.body;
    assert_eq!(schema["fields"][0]["id"]["type"], "string");
    assert_eq!(api.call("GET", "/schemas/nope", None).await.body, json!({"message": "No entity named 'nope'"}));
    assert_eq!(api.call("GET", "/schemas/plugins/nope", None).await.body, json!({"message": "No plugin named 'nope'"}));
    let valid = api.call("POST", "/schemas/routes/validate", Some(json!({"paths": ["/a"]}))).await;
    assert_eq!((valid.status, valid.body), (StatusCode::OK, json!({"message": "schema validation successful"})));
    let invalid = api.refused("POST", "/schemas/routes/validate", Some(json!({"paths": ["a"]})), 400).await;
    assert_eq!(invalid["fields"]["paths"][0], "should start with: /");
    assert!(api.call("GET", "/plugins/enabled", None).await.body["enabled_plugins"].is_array());
    let endpoints = api.call("GET", "/endpoints", None).await.body;
    assert!(endpoints["data"].as_array().unwrap().contains(&json!("/services/{services}/routes")));
    assert_eq!(
        api.call("GET", "/key-auths", None).await.status,
        StatusCode::NOT_FOUND,
        "decK probes credential collections"
    );
    assert_eq!(api.call("POST", "/status", None).await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.call("DELETE", "/cache", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", "/cache/some-key", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", "/cache/some-key", None).await.status, StatusCode::NOT_FOUND);
    let preflight = api.call("OPTIONS", "/services", None).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
}

async fn concurrent_patches_leave_one_whole_entity(api: Api) {
    api.ok("POST", "/services", json!({"name": "hot", "host": "hot.svc"})).await;
    let api = Arc::new(api);
    let writers: Vec<_> = (0..12)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move {
                api.ok("PATCH", "/services/hot", json!({"retries": n, "path": format!("/p{n}")})).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let final_state = api.call("GET", "/services/hot", None).await.body;
    let n = final_state["retries"].as_i64().unwrap();
    assert_eq!(final_state["path"], format!("/p{n}"), "fields of one write, never a mix");
    assert_eq!(api.call("GET", "/services", None).await.body["data"].as_array().unwrap().len(), 1);
}

async fn config_endpoint_exports_and_imports_declarative_files(api: Api) {
    api.ok("POST", "/services", json!({"name": "svc", "host": "svc.internal"})).await;
    let exported = api.call("GET", "/config", None).await.body;
    let yaml = exported["config"].as_str().unwrap();
    assert!(yaml.contains("_format_version: '2.1'") || yaml.contains("_format_version: \"2.1\""), "{yaml}");
    let file = "_format_version: \"2.1\"\nconsumers:\n- username: imported\n";
    let reply = api.call("POST", "/config", Some(json!({"config": file}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["consumers"][0]["username"], "imported");
    let raw =
        api.call("POST", "/config", Some(json!({"_format_version": "2.1", "consumers": [{"username": "raw"}]}))).await;
    assert_eq!(raw.status, StatusCode::CREATED);
    let body = api
        .refused(
            "POST",
            "/config",
            Some(json!({"config": "_format_version: \"2.1\"\nservices:\n- name: nohost\n"})),
            400,
        )
        .await;
    assert_eq!(body["code"], 14);
    assert_eq!(api.call("GET", "/consumers/imported", None).await.status, StatusCode::OK);
}

fn certificate(name: &str) -> (String, String) {
    let generated = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    (generated.cert.pem(), generated.key_pair.serialize_pem())
}

async fn certificates_carry_their_snis_and_must_match_their_keys(api: Api) {
    let (cert, key) = certificate("a.example");
    let created =
        api.ok("POST", "/certificates", json!({"cert": cert, "key": key, "snis": ["b.example", "a.example"]})).await;
    assert_eq!(created["snis"], json!(["a.example", "b.example"]));
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(api.call("GET", "/certificates/a.example", None).await.body["id"], json!(id), "found by SNI name");
    assert_eq!(api.call("GET", "/certificates/zzz.example", None).await.body, json!({"message": "SNI not found"}));
    assert_eq!(api.call("GET", "/snis", None).await.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        api.call("GET", &format!("/certificates/{id}/snis"), None).await.body["data"].as_array().unwrap().len(),
        2
    );

    let (other_cert, other_key) = certificate("c.example");
    api.refused(
        "POST",
        "/certificates",
        Some(json!({"cert": other_cert, "key": other_key, "snis": ["a.example"]})),
        409,
    )
    .await;
    let body = api.refused("POST", "/certificates", Some(json!({"cert": cert, "key": other_key})), 400).await;
    assert_eq!(body["message"], "schema violation (certificate does not match key)");
    let body = api
        .refused(
            "POST",
            "/certificates",
            Some(json!({"cert": cert, "key": key, "snis": ["x.example", "x.example"]})),
            400,
        )
        .await;
    assert_eq!(body["fields"]["snis"], "x.example is duplicated");

    let patched = api.ok("PATCH", &format!("/certificates/{id}"), json!({"snis": ["c.example"]})).await;
    assert_eq!(patched["snis"], json!(["c.example"]));
    let kept = api.ok("PATCH", &format!("/certificates/{id}"), json!({"tags": ["x"]})).await;
    assert_eq!(kept["snis"], json!(["c.example"]), "a PATCH without snis keeps them");
    let replaced = api.ok("PUT", &format!("/certificates/{id}"), json!({"cert": cert, "key": key})).await;
    assert_eq!(replaced["snis"], json!([]), "a PUT replaces everything");
    let by_sni = api.ok("PUT", "/certificates/new.example", json!({"cert": other_cert, "key": other_key})).await;
    assert_eq!(by_sni["snis"], json!(["new.example"]));
    assert_eq!(api.call("DELETE", "/certificates/new.example", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.call("GET", "/snis/new.example", None).await.status,
        StatusCode::NOT_FOUND,
        "SNIs go with their certificate"
    );

    let mut params = rcgen::CertificateParams::new(vec!["ca.example".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let stored = api.ok("POST", "/ca_certificates", json!({"cert": ca.pem()})).await;
    assert_eq!(stored["cert_digest"].as_str().unwrap().len(), 64);
    api.refused("POST", "/ca_certificates", Some(json!({"cert": ca.pem()})), 409).await;
    let body = api.refused("POST", "/ca_certificates", Some(json!({"cert": cert})), 400).await;
    assert!(body["fields"]["cert"].as_str().unwrap().contains("CA"));
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test(super::Api::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test(super::Api::postgres().await).await; })*
        }
    };
}

on_both_backends!(
    services_create_read_replace_patch_and_delete,
    bodies_in_form_and_multipart_are_typed_by_the_schema,
    bad_input_gets_kongs_errors_and_changes_nothing,
    routes_nest_under_services_and_restrict_their_delete,
    consumers_are_found_by_username_and_custom_id,
    upstreams_and_targets_follow_kong_2x,
    pages_walk_with_size_and_tags_kept_in_next,
    schemas_validation_and_the_catalogue,
    concurrent_patches_leave_one_whole_entity,
    config_endpoint_exports_and_imports_declarative_files,
    certificates_carry_their_snis_and_must_match_their_keys,
);
