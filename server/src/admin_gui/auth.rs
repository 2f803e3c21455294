//! Who may use the admin UI. Every request passes [`guard`]: without a live session a page answers 303 to
//! `/login` (or to `/setup` while no administrator exists) and a server function answers 401; a
//! state-changing call also needs the session's CSRF token (`X-CSRF-Token`, or the `csrf` field of a plain form)
//! and, when the browser names one, the UI's own origin, else 403. Sessions live in the store; the cookie
//! (HttpOnly, SameSite=Strict, Secure on TLS and loopback) carries only a random token.
//!
//! The first administrator is created at `/setup` with a one-time setup token the node prints to its log
//! (and keeps in `<prefix>/admin_setup_token`, readable only by the user Gatehouse runs as) when it starts with none: there is no
//! default password.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::session::{SignInOptions, SignedIn};
use axum::Form;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use proxy::listener::ConnInfo;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::oidc::OidcLogin;
use super::passwords;
use crate::node::Node;
use crate::secrets::same_secret;
use crate::store::Actor;

pub const COOKIE: &str = "gatehouse_session";
const SETUP_TOKEN_FILE: &str = "admin_setup_token";

/// The admin UI's sign-in state of this node.
pub struct Auth {
    node: Arc<Node>,
    /// The first-start setup token, while no administrator exists; taken by the setup that uses it.
    setup_token: Mutex<Option<String>>,
    /// Sign-in at the OP, when `admin_gui_op_host` is set.
    oidc: Option<OidcLogin>,
    /// Failed password sign-ins per client address and username: the first and how many.
    failures: Mutex<HashMap<FailureKey, (Instant, u32)>>,
}

/// Who failed to sign in: the client's address and the (lower-cased) username.
type FailureKey = (Option<IpAddr>, String);

/// Wrong passwords one client may try for one username within [`FAILURE_WINDOW`] before it must wait.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Auth {
    /// Opens the first-start setup when the store has no administrator and no OP signs admins in: a fresh
    /// setup token in the log and in the prefix.
    pub async fn new(node: Arc<Node>) -> Arc<Auth> {
        let oidc = OidcLogin::from_config(&node.config);
        let auth = Arc::new(Auth { node, setup_token: Mutex::new(None), oidc, failures: Mutex::new(HashMap::new()) });
        match auth.node.store.admin_count().await {
            Ok(0) if auth.oidc.is_none() => auth.open_setup(),
            Ok(_) => auth.remove_token_file(),
            Err(error) => tracing::error!(%error, "cannot read the admin UI's administrators"),
        }
        auth
    }

    pub(super) fn node(&self) -> &Node {
        &self.node
    }

    pub(super) fn oidc(&self) -> Option<&OidcLogin> {
        self.oidc.as_ref()
    }

    fn open_setup(&self) {
        let token = random_token();
        let path = self.token_file();
        if let Err(error) = write_private(&path, &token) {
            tracing::warn!(path = %path.display(), %error, "cannot keep the admin UI setup token in the prefix");
        }
        tracing::warn!(
            setup_token = %token,
            file = %path.display(),
            "no administrator exists yet: open the admin UI's /setup page and enter this one-time setup token \
             to create the first one"
        );
        *self.setup_token.lock().expect("the setup token lock is never poisoned") = Some(token);
    }

    fn token_file(&self) -> PathBuf {
        self.node.config.prefix.join(SETUP_TOKEN_FILE)
    }

    fn remove_token_file(&self) {
        let _ = std::fs::remove_file(self.token_file());
    }

    fn setup_open(&self) -> bool {
        self.setup_token.lock().expect("the setup token lock is never poisoned").is_some()
    }

    /// Takes the setup token if `offered` is it: a token opens exactly one setup.
    fn take_setup_token(&self, offered: &str) -> bool {
        let mut slot = self.setup_token.lock().expect("the setup token lock is never poisoned");
        match slot.as_deref() {
            Some(token) if same_secret(token.as_bytes(), offered.trim().as_bytes()) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }

    /// Gives a taken setup token back (the setup it opened failed).
    fn restore_setup_token(&self, token: &str) {
        *self.setup_token.lock().expect("the setup token lock is never poisoned") = Some(token.trim().to_string());
    }

    /// Whether this client has used up its wrong passwords for this username.
    fn throttled(&self, key: &FailureKey) -> bool {
        let mut failures = self.failures.lock().expect("the failures lock is never poisoned");
        failures.retain(|_, (first, _)| first.elapsed() < FAILURE_WINDOW);
        failures.get(key).is_some_and(|(_, count)| *count >= MAX_FAILURES)
    }

    fn failed(&self, key: FailureKey) {
        let mut failures = self.failures.lock().expect("the failures lock is never poisoned");
        failures.entry(key).or_insert((Instant::now(), 0)).1 += 1;
    }

    fn lifetime(&self) -> i64 {
        i64::try_from(self.node.config.admin_gui_session_timeout).unwrap_or(i64::MAX / 2).max(60)
    }

    /// Starts a session for `username` (with the OP's `id_token` for an OIDC sign-in, sealed at rest) and
    /// answers with its cookie and a 303 to `next`.
    pub(super) async fn sign_in(&self, request: &RequestFacts, username: &str, next: &str, id_token: &str) -> Response {
        let token = random_token();
        let csrf = random_token();
        let id_token = match (self.node.store.secrets(), id_token) {
            (_, "") => String::new(),
            (Some(secrets), plain) => secrets.seal(plain),
            (None, plain) => plain.to_string(),
        };
        if let Err(error) = self.node.store.create_session(&token, username, &csrf, &id_token, self.lifetime()).await {
            tracing::error!(%error, "cannot store an admin UI session");
            return Redirect::to("/login?error=unavailable").into_response();
        }
        tracing::info!(admin = username, "admin UI sign-in");
        let mut response = Redirect::to(safe_next(next)).into_response();
        let cookie = format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.lifetime(),
            if request.secure { "; Secure" } else { "" }
        );
        response.headers_mut().insert(header::SET_COOKIE, header_value(&cookie));
        response
    }
}

/// What the guard and the form handlers need to know about a request.
pub(super) struct RequestFacts {
    /// Whether the browser accepts `Secure` cookies from here: a TLS listener, or a loopback host (a secure
    /// context for browsers even over plain HTTP).
    pub(super) secure: bool,
    /// Whether the request names an origin other than the UI's own (`Origin`, else `Sec-Fetch-Site`).
    cross_origin: bool,
    token: Option<String>,
}

impl RequestFacts {
    fn of(request: &Request) -> RequestFacts {
        let tls = request.extensions().get::<ConnInfo>().is_some_and(|conn| conn.tls);
        RequestFacts::from_headers(request.headers(), tls)
    }

    pub(super) fn from_headers(headers: &HeaderMap, tls: bool) -> RequestFacts {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let hostname = host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host });
        let loopback = hostname == "localhost"
            || hostname.ends_with(".localhost")
            || hostname.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let scheme = if tls { "https" } else { "http" };
        let cross_origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => origin != format!("{scheme}://{host}"),
            None => {
                headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| site == "cross-site")
            }
        };
        RequestFacts { secure: tls || loopback, cross_origin, token: cookie_value(headers, COOKIE) }
    }
}

/// The cookie `name` of a request, if it is set and not empty.
pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// Paths the guard lets through: the sign-in pages and the browser assets; and `POST /logout`, whose handler
/// checks the session and the form's CSRF token itself.
fn is_public(method: &Method, path: &str) -> bool {
    let page = matches!(path, "/login" | "/setup" | "/login/oidc" | "/login/callback");
    let asset = path.starts_with("/pkg/") || path == "/favicon.svg";
    (page && (method == Method::GET || method == Method::POST))
        || (asset && method == Method::GET)
        || (path == "/logout" && method == Method::POST)
}

pub async fn guard(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let facts = RequestFacts::of(&request);
    let path = request.uri().path().to_string();
    if path == "/setup" && request.method() == Method::GET && !auth.setup_open() {
        return Redirect::to("/login").into_response();
    }
    if is_public(request.method(), &path) {
        request.extensions_mut().insert(SignInOptions { oidc: auth.oidc.is_some() });
        return next.run(request).await;
    }
    let session = match &facts.token {
        Some(token) => match auth.node.store.session(token).await {
            Ok(session) => session,
            Err(error) => {
                tracing::error!(%error, "cannot read admin UI sessions");
                return refusal(StatusCode::SERVICE_UNAVAILABLE, "the session store cannot be read right now");
            }
        },
        None => None,
    };
    let Some(session) = session else {
        if path.starts_with("/api/") || request.method() != Method::GET {
            return refusal(StatusCode::UNAUTHORIZED, "sign in to the admin UI first");
        }
        if auth.setup_open() {
            return Redirect::to("/setup").into_response();
        }
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        let next = crate::url_text::encode_component(&format!("{path}{query}"));
        return Redirect::to(&format!("/login?next={next}")).into_response();
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let offered = request.headers().get(app::csrf::HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if facts.cross_origin || !same_secret(offered.as_bytes(), session.csrf_token.as_bytes()) {
            return refusal(StatusCode::FORBIDDEN, "missing or invalid CSRF token");
        }
    }
    request.extensions_mut().insert(SignedIn { username: session.username.clone(), csrf_token: session.csrf_token });
    request.extensions_mut().insert(Actor { name: session.username, via: "admin-gui".into(), comment: String::new() });
    next.run(request).await
}

/// A refusal as the UI's server functions answer errors: a JSON body with `message`.
fn refusal(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "message": message }))).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: a local administrator's username and password.
pub async fn login(State(auth): State<Arc<Auth>>, request: Request) -> Response {
    let facts = RequestFacts::of(&request);
    let client = request.extensions().get::<ConnInfo>().map(|conn| conn.remote.ip());
    let Ok(Form(form)) = Form::<LoginForm>::from_request(request, &()).await else {
        return Redirect::to("/login?error=invalid").into_response();
    };
    if facts.cross_origin {
        return refusal(StatusCode::FORBIDDEN, "sign-in from another site is refused");
    }
    let key = (client, form.username.trim().to_lowercase());
    if auth.throttled(&key) {
        tracing::warn!(admin = form.username.trim(), "admin UI sign-in refused: too many wrong passwords");
        return Redirect::to("/login?error=throttled").into_response();
    }
    let stored = match auth.node.store.admin_password_hash(form.username.trim()).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(%error, "cannot read the admin UI's administrators");
            return Redirect::to("/login?error=unavailable").into_response();
        }
    };
    if !passwords::verify(form.password, stored).await {
        auth.failed(key);
        tracing::warn!(admin = form.username.trim(), "admin UI sign-in refused: wrong username or password");
        let next = crate::url_text::encode_component(&form.next);
        return Redirect::to(&format!("/login?error=invalid&next={next}")).into_response();
    }
    auth.failures.lock().expect("the failures lock is never poisoned").remove(&key);
    auth.sign_in(&facts, form.username.trim(), &form.next, "").await
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Why a new administrator's username or password is refused, as `/setup?error=` names it.
pub(super) fn new_admin_problem(username: &str, password: &str) -> Option<&'static str> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Some("username");
    }
    if password.chars().count() < passwords::MIN_LENGTH {
        return Some("short");
    }
    None
}

fn setup_problem(form: &SetupForm) -> Option<&'static str> {
    new_admin_problem(&form.username, &form.password).or((form.password != form.confirm).then_some("confirm"))
}

/// `POST /setup`: the setup token and the first administrator's username and password.
pub async fn setup(State(auth): State<Arc<Auth>>, request: Request) -> Response {
    let facts = RequestFacts::of(&request);
    let Ok(Form(form)) = Form::<SetupForm>::from_request(request, &()).await else {
        return Redirect::to("/setup?error=token").into_response();
    };
    if facts.cross_origin {
        return refusal(StatusCode::FORBIDDEN, "setup from another site is refused");
    }
    if !auth.setup_open() {
        return Redirect::to("/login").into_response();
    }
    if let Some(problem) = setup_problem(&form) {
        return Redirect::to(&format!("/setup?error={problem}")).into_response();
    }
    if !auth.take_setup_token(&form.token) {
        tracing::warn!("admin UI setup refused: wrong setup token");
        return Redirect::to("/setup?error=token").into_response();
    }
    let created = match passwords::hash(form.password).await {
        Ok(hash) => auth.node.store.create_admin(form.username.trim(), &hash).await.map_err(|e| e.to_string()),
        Err(error) => Err(error),
    };
    if let Err(error) = created {
        tracing::error!(%error, "cannot create the first administrator");
        auth.restore_setup_token(&form.token);
        return Redirect::to("/setup?error=unavailable").into_response();
    }
    auth.remove_token_file();
    tracing::info!(admin = form.username.trim(), "the first administrator was created; the setup token is spent");
    auth.sign_in(&facts, form.username.trim(), "/", "").await
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session (the form carries its CSRF token).
pub async fn logout(State(auth): State<Arc<Auth>>, request: Request) -> Response {
    let facts = RequestFacts::of(&request);
    let Ok(Form(form)) = Form::<LogoutForm>::from_request(request, &()).await else {
        return refusal(StatusCode::FORBIDDEN, "missing or invalid CSRF token");
    };
    let Some(token) = facts.token.as_deref() else { return Redirect::to("/login").into_response() };
    let session = auth.node.store.session(token).await.ok().flatten();
    let mut then = "/login".to_string();
    match session {
        Some(session) if !facts.cross_origin && same_secret(form.csrf.as_bytes(), session.csrf_token.as_bytes()) => {
            if let Err(error) = auth.node.store.end_session(token).await {
                tracing::error!(%error, "cannot end an admin UI session");
            }
            tracing::info!(admin = session.username, "admin UI sign-out");
            if !session.id_token.is_empty() {
                let id_token = match auth.node.store.secrets() {
                    Some(secrets) => secrets.open(&session.id_token).unwrap_or_default(),
                    None => session.id_token.clone(),
                };
                // RP-initiated logout: the OP ends its session too, then sends the browser back to /login.
                if let Some(uri) = super::oidc::logout_uri(&auth, &id_token).await {
                    then = uri;
                }
            }
        }
        Some(_) => return refusal(StatusCode::FORBIDDEN, "missing or invalid CSRF token"),
        None => {}
    }
    let mut response = Redirect::to(&then).into_response();
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, header_value(&cookie));
    response
}

/// Only a path on this UI: anything else (another host, `//host`, a scheme) goes to the dashboard.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.contains("://");
    if local && !matches!(next, "/login" | "/setup") { next } else { "/" }
}

pub(super) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("cookies are built from base64url tokens and fixed attributes")
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    writeln!(file, "{text}")
}
