//! Configuration: the TOML schema, where it is loaded from, how it is validated, and the embedded
//! default that makes conclave run with no file at all (DESIGN section 5).

pub mod diag;
pub mod load;
pub mod paths;
pub mod schema;

pub use diag::{ConfigError, Diagnostic, Severity};
pub use load::{Loaded, Source, load};
pub use schema::*;
