//! The Gluu plugin editors (GG UI's "OAuth" page) and the OP clients they register through the embedded oxd
//! module. Data and server functions in [`oauth`], the page in `oauth_page`, the protection-document builder in
//! `document`, the custom headers editor in [`headers`].

pub mod consumer_client;
mod document;
pub mod headers;
pub mod metrics;
pub mod oauth;
mod oauth_page;
#[cfg(feature = "ssr")]
mod oauth_server;

pub use oauth_page::OAuthPage;
