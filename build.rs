//! Tells the test suites whether Project Wycheproof's vectors are beside the repository
//! (`../shared/vectors/`, never copied into it): `cfg(wycheproof_vectors)` when they are, so a
//! clone without them still builds and runs every other test. The library itself uses nothing
//! from here.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(wycheproof_vectors)");
    println!("cargo::rustc-check-cfg=cfg(docsrs)");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let vectors = std::path::Path::new(&manifest)
        .join("../shared/vectors/wycheproof/json_web_signature_test.json");
    println!("cargo::rerun-if-changed={}", vectors.display());
    println!("cargo::rerun-if-env-changed=CI");
    if vectors.is_file() {
        println!("cargo::rustc-cfg=wycheproof_vectors");
    }
}
