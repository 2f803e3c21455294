//! What the Gluu plugins share in the model (`gluu-plugins.md` §4, §8): protection documents — the JSON
//! path/method rules of `oauth_scope_expression`, `uma_scope_expression` and `required_acrs_expression` — with
//! their write-time validation and their matching tree, and the JsonLogic evaluator of scope expressions.
//!
//! Like the rest of `model`, this compiles to wasm: the admin UI validates and previews documents with the same
//! code the Admin API and the engine run.

pub mod json_logic;
mod path_tree;
pub mod protection;

pub use protection::{DocumentError, Match, ProtectionDocument};
