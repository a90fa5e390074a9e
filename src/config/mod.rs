//! Configuration: the TOML schema, where it is loaded from, how it is validated, and the embedded
//! default that makes conclave run with no file at all (DESIGN section 5).
//!
//! `load` reads a file (or falls back to `defaults`), `structure` reads what it can and reports
//! syntax, key and type problems, `validate` applies the semantic rules, and `spans` maps key
//! paths to line and column so every problem is reported at once with its place in the file;
//! `ranges` holds the allowed range of every number.

pub mod defaults;
pub mod detect;
pub mod diag;
pub mod load;
pub mod paths;
pub mod pattern;
pub mod ranges;
pub mod schema;
pub mod spans;
pub mod structure;
mod syntax;
pub mod validate;

pub use diag::{ConfigError, Diagnostic, Severity};
pub use load::{Loaded, Report, Source, load};
pub use pattern::PatternKind;
pub use schema::*;
