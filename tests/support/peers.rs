//! The conformance peers `.ci/test` installs from `.ci/peers/` (DESIGN section 6, level 5): where
//! their Python is, and the peer programs in `tests/peers/`. A test that needs one and runs
//! without `.ci/test` fails saying so, never passes silently.

use std::path::{Path, PathBuf};

/// The Python with the pinned PyPI peers (`CONCLAVE_TEST_PYTHON`); `test` names the test file
/// for the message that says how to run it.
pub fn python(test: &str) -> PathBuf {
    match std::env::var_os("CONCLAVE_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "CONCLAVE_TEST_PYTHON is not set: run these tests with `.ci/test --test {test}`, \
             which installs the pinned peers from .ci/peers/requirements.txt"
        ),
    }
}

/// A peer program in `tests/peers/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}
