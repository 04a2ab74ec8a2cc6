//! Links the `jobo` CLI as a position-dependent executable on Linux.
//!
//! A short-lived CLI pays for its start on every call: as a PIE, the dynamic loader applies
//! ~9,400 relative relocations to `jobo` and copies on write every page they touch, a third
//! of the page faults of `jobo --version`. `jobo` runs as its user, not privileged, so the
//! address randomisation of its own code that PIE buys is worth less than that; `jobod`,
//! which runs as root, stays a PIE.

/// A static build (`-C target-feature=+crt-static`) is position-dependent already: `-no-pie` on
/// top of it links a binary that crashes before `main`.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") && !crt_static {
        println!("cargo:rustc-link-arg-bin=jobo=-no-pie");
    }
}
