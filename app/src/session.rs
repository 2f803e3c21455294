//! Who is signed in to the UI. The server's session guard puts a [`SignedIn`] in the request's extensions;
//! the page carries its username and CSRF token in `<meta>` tags, so the browser reads the same values the
//! server rendered with (hydration sees the same top bar) and [`crate::csrf::CsrfClient`] can echo the token.

/// The admin behind the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub username: String,
    /// Echoed in `X-CSRF-Token` by every server-function call and in the logout form.
    pub csrf_token: String,
}

pub const USER_META: &str = "gatehouse-admin";
pub const CSRF_META: &str = "csrf-token";

/// The signed-in admin: from the request on the server, from the page's `<meta>` tags in the browser.
pub fn signed_in() -> Option<SignedIn> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()?.extensions.get::<SignedIn>().cloned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Some(SignedIn { username: meta(USER_META)?, csrf_token: meta(CSRF_META)? })
    }
}

/// The content of `<meta name=…>` in the current document.
#[cfg(not(feature = "ssr"))]
pub fn meta(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let document = web_sys::window()?.document()?;
        document.query_selector(&format!("meta[name=\"{name}\"]")).ok()??.get_attribute("content")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}
