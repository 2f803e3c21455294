//! The Gatehouse admin UI, a Leptos app.
//!
//! Built twice: with `ssr` it is linked into the `gatehouse` binary, which renders pages and runs the server
//! functions; with `hydrate` it is compiled to wasm and takes over the server-rendered page in the browser.
//! The server hands the app its data through [`backend::AdminBackend`], provided as context.

pub mod admin;
pub mod backend;
pub mod collections;
pub mod components;
pub mod csrf;
pub mod dashboard;
pub mod gluu;
mod pages;
pub mod schema;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::SsrMode;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
                <SessionMeta/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in admin and the session's CSRF token, for the browser side of the app (see [`session`]).
#[component]
fn SessionMeta() -> impl IntoView {
    let oidc = session::sign_in_options().oidc.then(|| view! { <meta name=session::OIDC_META content="on"/> });
    let admin = session::signed_in().map(|admin| {
        view! {
            <meta name=session::USER_META content=admin.username/>
            <meta name=session::CSRF_META content=admin.csrf_token/>
        }
    });
    (oidc, admin)
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let admin = session::signed_in();
    view! {
        <Stylesheet id="gatehouse" href="/pkg/gatehouse.css"/>
        <Title text="Gatehouse"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Gatehouse"</a>
                {admin.clone().map(|admin| view! {
                    <form class="signed-in" method="post" action="/logout">
                        <span class="who">{admin.username}</span>
                        <input type="hidden" name="csrf" value=admin.csrf_token/>
                        <button type="submit" class="secondary">"Sign out"</button>
                    </form>
                })}
            </header>
            <div class="layout">
                {admin.is_some().then(|| view! { <Nav/> })}
                <main id="content">
                    // Async: the whole page, data included, is in the server's HTML, so it reads without JavaScript.
                    <Routes fallback=pages::NotFound>
                        <Route path=path!("/") view=pages::DashboardPage ssr=SsrMode::Async/>
                        <Route path=path!("/login") view=pages::LoginPage/>
                        <Route path=path!("/setup") view=pages::SetupPage/>
                        <Route path=path!("/audit") view=pages::AuditPage ssr=SsrMode::Async/>
                        <Route path=path!("/gluu/services/:id") view=|| view! { <gluu::OAuthPage kind="services"/> } ssr=SsrMode::Async/>
                        <Route path=path!("/gluu/routes/:id") view=|| view! { <gluu::OAuthPage kind="routes"/> } ssr=SsrMode::Async/>
                        <Route path=path!("/gluu/global") view=|| view! { <gluu::OAuthPage kind="global"/> } ssr=SsrMode::Async/>
                        <Route path=path!("/config") view=pages::ConfigPage ssr=SsrMode::Async/>
                        <Route path=path!("/:collection") view=pages::EntityListPage ssr=SsrMode::Async/>
                        <Route path=path!("/:collection/:id") view=pages::EntityFormPage ssr=SsrMode::Async/>
                        <Route
                            path=path!("/:parent/:parent_id/:collection")
                            view=pages::EntityListPage
                            ssr=SsrMode::Async
                        />
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// The navigation: the dashboard, every configuration collection, the declarative configuration, the audit log.
#[component]
fn Nav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let current = move |href: &str| {
        let path = location.pathname.get();
        let here = if href == "/" { path == "/" } else { path == href || path.starts_with(&format!("{href}/")) };
        here.then_some("page")
    };
    let links = std::iter::once(("/".to_string(), "Dashboard"))
        .chain(collections::ALL.iter().filter(|c| c.under.is_none()).map(|c| (format!("/{}", c.name), c.label)))
        .chain([("/config".to_string(), "Config"), ("/audit".to_string(), "Audit log")])
        .collect::<Vec<_>>();
    view! {
        <nav class="sidebar" aria-label="Main">
            <a class="skip" href="#content">"Skip to content"</a>
            <ul>
                {links.into_iter().map(|(href, label)| view! {
                    <li><a href=href.clone() aria-current=move || current(&href)>{label}</a></li>
                }).collect_view()}
            </ul>
        </nav>
    }
}

/// The wasm entry point: hydrates the server-rendered body.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
