//! Pieces several pages share.

pub mod field;
