//! The app's pages, one module each.

mod dashboard;
mod not_found;

pub use dashboard::DashboardPage;
pub use not_found::NotFound;
