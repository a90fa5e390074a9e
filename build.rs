//! Link settings of the release binary (nothing for debug builds, tests or other targets).
//!
//! Mental model: a short `conclave run` spends much of its CPU in the kernel starting the
//! process, and part of that is the dynamic loader applying the position-independent
//! executable's ~37,000 relative relocations from a 0.9 MB table. On Linux with glibc,
//! `-z pack-relative-relocs` (DT_RELR: GNU ld 2.38+, glibc 2.36+; an older ld ignores it with a
//! warning, and ld leaves it out when the C library cannot read it) stores them as a bitmap of a
//! few kilobytes. The binary stays position-independent (ASLR unchanged). Measured in
//! BENCHMARKS.md (cold start).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if release && os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
