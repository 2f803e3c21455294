//! The router: Kong 2.2's route matching (`proxy.md` §2) compiled once per configuration snapshot.
//!
//! Every route path becomes its own entry; entries are ranked once by Kong's priority order (match
//! weight, attribute category, plain hosts, header count, `regex_priority`, path length, age). A lookup
//! gathers the few candidate entries from indexes (plain host, plain path prefixes, regex and wildcard
//! entries, entries with neither host nor path) and returns the best-ranked one whose every configured
//! attribute matches.

pub mod upstream_path;
pub mod uri;

mod matcher;

pub use matcher::{Match, RequestInfo, Router, RouterError, split_port};
pub use upstream_path::{PathHandling, upstream_path};

#[cfg(test)]
mod tests;
