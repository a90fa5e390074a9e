//! Link settings of the release binary (nothing for debug builds, tests or other targets).
//!
//! Mental model: a short `conclave run` spends most of its CPU in the kernel and the dynamic
//! loader starting the process. A position-independent executable is relocated at every start:
//! the loader writes the address of every pointer in the binary's 0.6 MB of `.data.rel.ro`
//! (vtables, string tables), each page copied on write, ~160 page faults and a third of a
//! one-turn run's start-up. On Linux with glibc the release binary is therefore linked at a fixed
//! address (`-no-pie`): the linker resolves those pointers once and the pages are read straight
//! from the file when touched. What this gives up is address-space randomization of the
//! executable itself (shared libraries, stack and heap are still randomized); Rust's memory
//! safety is the first defence here. Packagers whose policy wants PIE set `CONCLAVE_PIE=1` when
//! building: the binary is then position-independent with its relocations packed
//! (`-z pack-relative-relocs`, DT_RELR: a bitmap of a few kilobytes instead of a 0.9 MB table;
//! GNU ld 2.38+ and glibc 2.36+, an older ld ignores it with a warning). Measured in
//! BENCHMARKS.md (cold start).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CONCLAVE_PIE");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if !(release && os == "linux" && env == "gnu") {
        return;
    }
    if std::env::var("CONCLAVE_PIE").is_ok_and(|v| v == "1") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    } else {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
