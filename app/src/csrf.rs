//! The client every state-changing server function uses: `#[server(prefix = "/api", client = crate::csrf::CsrfClient)]`.
//! It will send the session's CSRF token with each call; until the session guard lands it is the plain fetch client.

pub type CsrfClient = leptos::server_fn::client::browser::BrowserClient;
