//! The Gatehouse admin UI, a Leptos app.
//!
//! Built twice: with `ssr` it is linked into the `gatehouse` binary, which renders pages and runs the server
//! functions; with `hydrate` it is compiled to wasm and takes over the server-rendered page in the browser.
//! The server hands the app its data through [`backend::AdminBackend`], provided as context.

pub mod backend;
pub mod csrf;
pub mod dashboard;
pub mod gluu;
mod pages;

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
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="gatehouse" href="/pkg/gatehouse.css"/>
        <Title text="Gatehouse"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Gatehouse"</a>
            </header>
            <main>
                // Async: the whole page, data included, is in the server's HTML, so it reads without JavaScript.
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/gluu/services/:id") view=|| view! { <gluu::OAuthPage kind="services"/> } ssr=SsrMode::Async/>
                    <Route path=path!("/gluu/routes/:id") view=|| view! { <gluu::OAuthPage kind="routes"/> } ssr=SsrMode::Async/>
                    <Route path=path!("/gluu/global") view=|| view! { <gluu::OAuthPage kind="global"/> } ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The wasm entry point: hydrates the server-rendered body.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
