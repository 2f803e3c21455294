//! An OpenID Provider written in the test, for fault injection (the real one is `op.rs`): each endpoint can be
//! made slow, fail with a status or answer garbage, the whole OP can go down, and its ES256 signing keys can be
//! added, published, expired and withdrawn. It answers only as far as the oxd module needs: discovery, JWKS,
//! registration (RFC 7591/7592), the client_credentials and authorization_code grants, introspection.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The one client the fake OP registers; the secret and the registration access token are distinctive so a
/// test can search logs and bodies for them.
pub const CLIENT_ID: &str = "fake-op-client";
pub const CLIENT_SECRET: &str = "fake-op-secret-4b1d9e27c3";
pub const REGISTRATION_ACCESS_TOKEN: &str = "fake-op-rat-8a6f0c51d2";
/// The access token the authorization_code grant answers (its `at_hash` is in [`FakeOp::id_token_claims`]).
pub const CODE_ACCESS_TOKEN: &str = "fake-op-code-access-token";
/// The access token the client_credentials grant answers; introspection finds it active.
pub const CLIENT_TOKEN: &str = "fake-op-client-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Discovery,
    Jwks,
    Registration,
    Token,
    Introspection,
}

/// What an endpoint does instead of answering normally.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Waits this long, then answers normally (the caller gives up first).
    Slow(Duration),
    /// Answers this status with an OAuth error body.
    Status(u16),
    /// Answers 200 with a body that is not JSON.
    Garbage,
}

struct Key {
    pair: EcdsaKeyPair,
    jwk: Value,
}

struct Inner {
    faults: HashMap<Endpoint, Fault>,
    calls: HashMap<Endpoint, usize>,
    keys: HashMap<String, Key>,
    /// The kids the JWKS lists, in order.
    published: Vec<String>,
    /// Published with oxAuth's `exp` in the past.
    expired: HashSet<String>,
    /// What the next authorization_code grant answers as `id_token`.
    id_token: Option<String>,
}

struct Shared {
    issuer: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the call and applies the endpoint's fault: `Some` is the answer to send instead.
    async fn enter(&self, endpoint: Endpoint) -> Option<Response> {
        let fault = {
            let mut inner = self.inner();
            *inner.calls.entry(endpoint).or_default() += 1;
            inner.faults.get(&endpoint).copied()
        };
        match fault? {
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
            Fault::Status(status) => Some(
                (
                    StatusCode::from_u16(status).expect("a fault status is a valid HTTP status"),
                    axum::Json(json!({"error": "server_error", "error_description": "injected fault"})),
                )
                    .into_response(),
            ),
            Fault::Garbage => {
                Some(([(header::CONTENT_TYPE, "application/json")], "<html>surely not JSON</html>").into_response())
            }
        }
    }
}

pub struct FakeOp {
    pub issuer: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl FakeOp {
    /// Starts the OP on a free loopback port with one published key, `k1`.
    pub async fn start() -> FakeOp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            inner: Mutex::new(Inner {
                faults: HashMap::new(),
                calls: HashMap::new(),
                keys: HashMap::new(),
                published: Vec::new(),
                expired: HashSet::new(),
                id_token: None,
            }),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/reg", post(register))
            .route("/reg/{id}", axum::routing::put(update).get(read))
            .route("/token", post(token))
            .route("/token/introspection", post(introspection))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let op = FakeOp { issuer, addr, shared, task };
        op.add_key("k1");
        op.publish(&["k1"]);
        op
    }

    /// Stops answering: the port is closed, connections are refused.
    pub fn stop(&self) {
        self.task.abort();
    }

    pub fn fail(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.inner().faults.insert(endpoint, fault);
    }

    pub fn heal(&self, endpoint: Endpoint) {
        self.shared.inner().faults.remove(&endpoint);
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.inner().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// A new ES256 key `kid` the OP can sign with (not published until [`FakeOp::publish`]).
    pub fn add_key(&self, kid: &str) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
        self.shared.inner().keys.insert(kid.to_string(), Key { pair, jwk });
    }

    /// The JWKS from now on lists exactly these keys.
    pub fn publish(&self, kids: &[&str]) {
        self.shared.inner().published = kids.iter().map(|k| k.to_string()).collect();
    }

    /// `kid` is published with oxAuth's key `exp` an hour in the past.
    pub fn expire_key(&self, kid: &str) {
        self.shared.inner().expired.insert(kid.to_string());
    }

    /// A JWS of `claims` signed by key `kid` (with `kid` in the header).
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let inner = self.shared.inner();
        let key = inner.keys.get(kid).expect("sign with a key added before");
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = key.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// Claims of a valid id_token for the client and `nonce`, with the `at_hash` of [`CODE_ACCESS_TOKEN`].
    pub fn id_token_claims(&self, nonce: &str) -> Value {
        let hash = digest::digest(&digest::SHA256, CODE_ACCESS_TOKEN.as_bytes());
        json!({"iss": self.issuer, "aud": CLIENT_ID, "sub": "alice", "nonce": nonce, "iat": now(), "exp": now() + 300,
            "at_hash": URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])})
    }

    /// What the next code exchange answers as `id_token`.
    pub fn set_id_token(&self, id_token: &str) {
        self.shared.inner().id_token = Some(id_token.to_string());
    }

    /// A JWT access token of the client signed by `kid`, valid for five minutes.
    pub fn jwt_access_token(&self, kid: &str) -> String {
        let claims = json!({"iss": self.issuer, "client_id": CLIENT_ID, "sub": CLIENT_ID, "scope": "openid oxd",
            "iat": now(), "exp": now() + 300});
        self.sign(kid, &claims)
    }
}

impl Drop for FakeOp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn discovery(State(op): State<Arc<Shared>>) -> Response {
    if let Some(fault) = op.enter(Endpoint::Discovery).await {
        return fault;
    }
    let issuer = &op.issuer;
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "introspection_endpoint": format!("{issuer}/token/introspection"),
        "registration_endpoint": format!("{issuer}/reg"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/me"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "response_types_supported": ["code"],
    }))
    .into_response()
}

async fn jwks(State(op): State<Arc<Shared>>) -> Response {
    if let Some(fault) = op.enter(Endpoint::Jwks).await {
        return fault;
    }
    let inner = op.inner();
    let keys: Vec<Value> = inner
        .published
        .iter()
        .filter_map(|kid| inner.keys.get(kid).map(|key| (kid, key)))
        .map(|(kid, key)| {
            let mut jwk = key.jwk.clone();
            if inner.expired.contains(kid) {
                jwk["exp"] = json!((now() - 3600) * 1000);
            }
            jwk
        })
        .collect();
    axum::Json(json!({"keys": keys})).into_response()
}

/// The registration answer: the metadata sent plus the client's credentials.
fn registered(op: &Shared, metadata: Value) -> Value {
    let mut answer = metadata;
    answer["client_id"] = json!(CLIENT_ID);
    answer["client_secret"] = json!(CLIENT_SECRET);
    answer["client_secret_expires_at"] = json!(0);
    answer["client_id_issued_at"] = json!(now());
    answer["registration_access_token"] = json!(REGISTRATION_ACCESS_TOKEN);
    answer["registration_client_uri"] = json!(format!("{}/reg/{CLIENT_ID}", op.issuer));
    answer
}

async fn register(State(op): State<Arc<Shared>>, axum::Json(metadata): axum::Json<Value>) -> Response {
    if let Some(fault) = op.enter(Endpoint::Registration).await {
        return fault;
    }
    (StatusCode::CREATED, axum::Json(registered(&op, metadata))).into_response()
}

fn has_rat(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {REGISTRATION_ACCESS_TOKEN}").as_str())
}

async fn update(
    State(op): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::Json(metadata): axum::Json<Value>,
) -> Response {
    if let Some(fault) = op.enter(Endpoint::Registration).await {
        return fault;
    }
    if !has_rat(&headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_token"}))).into_response();
    }
    axum::Json(registered(&op, metadata)).into_response()
}

async fn read(State(op): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(fault) = op.enter(Endpoint::Registration).await {
        return fault;
    }
    if !has_rat(&headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_token"}))).into_response();
    }
    axum::Json(registered(&op, json!({}))).into_response()
}

async fn token(State(op): State<Arc<Shared>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = op.enter(Endpoint::Token).await {
        return fault;
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => axum::Json(json!({"access_token": CLIENT_TOKEN, "token_type": "Bearer",
            "expires_in": 600, "scope": form.get("scope").cloned().unwrap_or_default()}))
        .into_response(),
        Some("authorization_code") => {
            let id_token = op.inner().id_token.clone();
            axum::Json(json!({"access_token": CODE_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 600,
                "id_token": id_token}))
            .into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type"}))).into_response(),
    }
}

async fn introspection(State(op): State<Arc<Shared>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = op.enter(Endpoint::Introspection).await {
        return fault;
    }
    match form.get("token").map(String::as_str) {
        Some(CLIENT_TOKEN | CODE_ACCESS_TOKEN) => axum::Json(json!({"active": true, "client_id": CLIENT_ID,
            "scope": "openid oxd", "exp": now() + 300, "iat": now(), "token_type": "Bearer"}))
        .into_response(),
        _ => axum::Json(json!({"active": false})).into_response(),
    }
}
