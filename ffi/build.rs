//! Builds the C harness in `csrc/` and binds its API (`csrc/harness.h`).
//!
//! Normal builds use whatever C compiler `cc` finds (gcc or clang). Builds
//! under a fuzzer switch to clang with coverage instrumentation so the
//! fuzzer sees the C branches (added with the fuzzing issue).

use std::env;
use std::path::{Path, PathBuf};

fn csrc_dir() -> PathBuf {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let dir = manifest.join("..").join("csrc");
    dir.canonicalize().unwrap_or(dir)
}

/// Every `.c` file under `csrc/`, sorted so builds are reproducible.
fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("csrc is readable") {
            let path = entry.expect("csrc entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "c") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn compile(csrc: &Path) {
    let mut build = cc::Build::new();
    build
        .std("gnu11")
        .include(csrc.join("include"))
        .include(csrc)
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-fno-strict-aliasing")
        .debug(true);
    // Reports name C files as csrc/mm/rmap.c, not by absolute path.
    build.flag_if_supported(format!("-fmacro-prefix-map={}/=csrc/", csrc.display()));
    if env::var_os("RMAPFUZZ_WERROR").is_some() {
        build.warnings_into_errors(true);
    }
    for src in c_sources(csrc) {
        build.file(src);
    }
    build.compile("rmapharness");
    println!("cargo:rustc-link-lib=pthread");
}

fn bind(csrc: &Path) {
    let bindings = bindgen::Builder::default()
        .header(csrc.join("harness.h").to_string_lossy())
        .allowlist_function("rf_.*")
        .allowlist_type("rf_.*")
        .allowlist_var("RF_.*")
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(false)
        .generate()
        .expect("bindgen could not parse csrc/harness.h (is libclang installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings");
}

fn main() {
    let csrc = csrc_dir();
    println!("cargo:rerun-if-changed={}", csrc.display());
    println!("cargo:rerun-if-env-changed=RMAPFUZZ_WERROR");
    println!("cargo:rerun-if-env-changed=CC");
    compile(&csrc);
    bind(&csrc);
}
