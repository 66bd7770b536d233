//! Optional link-time function order (bench/README.md, "Where the memory goes"): with
//! BRICK_LINK_ORDER naming a symbol list, lld packs the functions a container's life touches
//! together, so far fewer pages of brick are mapped at run time.
fn main() {
    println!("cargo:rerun-if-env-changed=BRICK_LINK_ORDER");
    if let Ok(path) = std::env::var("BRICK_LINK_ORDER") {
        println!("cargo:rerun-if-changed={path}");
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={path}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
