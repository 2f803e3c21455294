//! The app's pages, one module each.

mod audit;
mod config;
mod dashboard;
pub(crate) mod entity_form;
pub(crate) mod entity_list;
mod not_found;
mod sign_in;

pub use audit::AuditPage;
pub use config::ConfigPage;
pub use dashboard::DashboardPage;
pub use entity_form::EntityFormPage;
pub use entity_list::EntityListPage;
pub use not_found::NotFound;
pub use sign_in::{LoginPage, SetupPage};
