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

/// How admins may sign in here, for the sign-in page (the guard puts it in the request's extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInOptions {
    /// Whether an OpenID Provider signs admins in (`admin_gui_op_host`).
    pub oidc: bool,
}

pub const USER_META: &str = "gatehouse-admin";
pub const OIDC_META: &str = "gatehouse-oidc";
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

/// The sign-in options: from the request on the server, from the page's `<meta>` in the browser.
pub fn sign_in_options() -> SignInOptions {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignInOptions>().copied())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        SignInOptions { oidc: meta(OIDC_META).is_some() }
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
