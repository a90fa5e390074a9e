//! Configs on the offline scripted backend for tests that run the real binary: one backend,
//! `play`, replaying a script file at once, and agents on it whose model is their own name (the
//! script's `character`). Include it alone with `#[path = "support/scripted.rs"] mod scripted;`
//! where the rest of `support` is not needed.

use std::path::Path;

/// The `[backends.play]` table replaying `script` with no delay, then an `[agents.NAME]` table
/// on it for each of `agents`.
pub fn play_config(script: &Path, agents: &[&str]) -> String {
    let mut text = format!(
        "\n[backends.play]\nkind = \"scripted\"\nscript = {script:?}\ntokens_per_sec = 0\n"
    );
    for agent in agents {
        text.push_str(&format!(
            "\n[agents.{agent}]\nbackend = \"play\"\nmodel = \"{agent}\"\n"
        ));
    }
    text
}
