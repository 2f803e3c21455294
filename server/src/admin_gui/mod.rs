//! Hosting the admin UI (`admin_gui_listen`): the Leptos app rendered on the server, its server functions,
//! and the compiled browser assets (`pkg/`, static files) from `admin_gui_assets`.

use std::path::PathBuf;
use std::sync::Arc;

use app::backend::SharedBackend;
use axum::Router;
use axum::routing::post;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::services::{ServeDir, ServeFile};

use crate::node::Node;

mod auth;
mod backend;
mod oidc;
mod passwords;
mod traffic;

pub use auth::COOKIE;
use backend::NodeBackend;

/// Where the compiled UI assets are: the `admin_gui_assets` setting, else `site/` beside the binary's folder
/// (`target/site` next to `target/debug/gatehouse`, where `./scripts/build` puts them).
pub fn assets_dir(node: &Node) -> PathBuf {
    if !node.config.admin_gui_assets.is_empty() {
        return PathBuf::from(&node.config.admin_gui_assets);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// The UI's router behind the session guard ([`auth`]): sign-in forms, pages, server functions, assets.
pub async fn router(node: Arc<Node>) -> Router {
    let site_root = assets_dir(&node);
    if !site_root.join("pkg").is_dir() {
        tracing::warn!(
            path = %site_root.display(),
            "admin UI assets not found: pages render but will not hydrate; build them with ./scripts/build \
             or set admin_gui_assets"
        );
    }
    let options = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let auth = auth::Auth::new(node.clone()).await;
    let export_node = node.clone();
    let traffic = traffic::TrafficSampler::start(node.plugin_services.metrics.clone());
    let backend: SharedBackend = Arc::new(NodeBackend { node, traffic });
    let routes = generate_route_list(app::App);
    let forms = Router::new()
        .route("/login", post(auth::login))
        .route("/setup", post(auth::setup))
        .route("/logout", post(auth::logout))
        .route("/login/oidc", axum::routing::get(oidc::start))
        .route("/login/callback", axum::routing::get(oidc::callback))
        .with_state(auth.clone())
        .merge(Router::new().route("/config/export.yaml", axum::routing::get(export)).with_state(export_node));
    Router::new()
        // Before the app's routes: `/{collection}/{id}` would otherwise take `/pkg/gatehouse.js`.
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .route_service("/favicon.svg", ServeFile::new(site_root.join("favicon.svg")))
        .leptos_routes_with_context(&options, routes, move || provide_context(backend.clone()), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback_service(ServeDir::new(site_root))
        .with_state(options)
        .merge(forms)
        .layer(axum::middleware::from_fn_with_state(auth, auth::guard))
}

/// `GET /config/export.yaml`: the whole configuration as a Kong declarative file to download, with every
/// secret field left out (the UI never sends secrets to the browser; `gatehouse config db_export` on the node
/// writes a complete file).
async fn export(axum::extract::State(node): axum::extract::State<Arc<Node>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut file = match crate::declarative::export(&node.store).await {
        Ok(file) => file,
        Err(error) => {
            tracing::error!(%error, "cannot export the configuration");
            return (http::StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read right now").into_response();
        }
    };
    for (collection, entities) in file.iter_mut() {
        proxy::model::secrets::redact(collection, entities);
    }
    let headers = [
        (http::header::CONTENT_TYPE, "application/yaml; charset=utf-8"),
        (http::header::CONTENT_DISPOSITION, "attachment; filename=\"gatehouse.yaml\""),
    ];
    (headers, crate::declarative::to_yaml(&file)).into_response()
}

/// Adds a local administrator (`gatehouse admin create`): the same rules as the first-start setup, for
/// automation and as a way in on a node whose admins sign in with an OP.
pub async fn create_local_admin(store: &crate::store::Store, username: &str, password: &str) -> Result<(), String> {
    match auth::new_admin_problem(username, password) {
        Some("username") => return Err("a username is 1 to 64 letters, digits and . _ - @".into()),
        Some(_) => return Err(format!("a password has at least {} characters", passwords::MIN_LENGTH)),
        None => {}
    }
    let hash = passwords::hash(password.to_string()).await?;
    store.create_admin(username.trim(), &hash).await.map_err(|e| e.to_string())
}
