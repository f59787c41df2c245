//! Builds the C harness in `csrc/` and binds its API (`csrc/harness.h`).
//!
//! Normal builds use whatever C compiler `cc` finds (gcc or clang). Builds
//! that instrument Rust must instrument the C side too, or the fuzzer (or
//! the coverage report) is blind to it:
//! - under cargo-fuzz (`--cfg fuzzing`): clang with
//!   `-fsanitize=fuzzer-no-link`, plus `-fsanitize=address` when the Rust
//!   side is built with ASan, or when `RMAPFUZZ_C_ASAN=1` asks for ASan on
//!   the C side alone (`scripts/fuzz` builds Rust with `--sanitizer none`:
//!   the AddressSanitizer runtime is then linked in from here);
//! - under cargo-afl (`--cfg fuzzing` with the trace-pc-guard pass):
//!   clang with `-fsanitize-coverage=trace-pc-guard`;
//! - with `RMAPFUZZ_COVERAGE=1`: clang with source-based coverage.
//!
//! The fuzzers' coverage goes on the code under test only (`under_test`,
//! the kernel units, a tree's own world): the machinery that runs and
//! checks it (slab, lock checker, scheduler, snapshots) gets ASan but no
//! counters, so that libFuzzer and AFL++ are guided by the code they test
//! and do not pay for the rest.
//!
//! The clang used is the one whose LLVM matches rustc's (`clang-22` for an
//! LLVM 22 rustc) when installed, else `clang`; `RMAPFUZZ_CLANG` overrides.
//! `RMAPFUZZ_MACHINERY_CFLAGS` adds flags to the machinery alone (where the
//! code under test has its own build: `scripts/explore` optimizes the
//! machinery by its profile, leaving the code under test as it is).
//!
//! With `RMAPFUZZ_KERNEL_SRC=TREE`, the anon_vma core of that kernel tree is
//! extracted (crate `rmap-extract`) into one translation unit under
//! `OUT_DIR`, compiled with the rest (and instrumented like it), and
//! registered as the variant `kernel`; `RMAPFUZZ_REFERENCE_SRC=BASE` does
//! the same for a base tree, registered as `kernel-base`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build_tree_vma.rs"]
mod tree_vma;

fn csrc_dir() -> PathBuf {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let dir = manifest.join("..").join("csrc");
    dir.canonicalize().unwrap_or(dir)
}

/// The glue of extracted kernel cores: compiled only inside the translation
/// unit generated from a kernel tree, never on its own.
const KERNEL_GLUE_DIR: &str = "kernel_glue";

/// The driver of a tree's own callers: compiled only inside the unit
/// generated for a tree that ships tools/testing/vma (`build_tree_vma.rs`).
const TREE_VMA_DIR: &str = "tree_vma";

/// Every `.c` file under `csrc/` (but the kernel glue), sorted so builds
/// are reproducible.
fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("csrc is readable") {
            let path = entry.expect("csrc entry").path();
            if path
                .file_name()
                .is_some_and(|n| n == KERNEL_GLUE_DIR || n == TREE_VMA_DIR)
            {
                continue;
            }
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

/// How the C side must be instrumented for this build.
#[derive(Debug, PartialEq, Eq)]
enum Instrumentation {
    None,
    LibFuzzer { asan: Asan },
    Afl,
    Coverage,
}

/// AddressSanitizer in a libFuzzer build.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Asan {
    Off,
    /// Rust and C (`cargo fuzz`'s default): rustc links the runtime.
    Everywhere,
    /// The C side alone (`RMAPFUZZ_C_ASAN=1` with `--sanitizer none`):
    /// the runtime is linked from here (`link_asan_runtime`).
    COnly,
}

/// What a C file is to the fuzzers: code under test gets their coverage,
/// the machinery does not.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Role {
    UnderTest,
    Machinery,
}

fn instrumentation() -> Instrumentation {
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if env::var_os("CARGO_CFG_FUZZING").is_some() {
        if rustflags.contains("trace-pc-guard") {
            return Instrumentation::Afl;
        }
        let rust_asan =
            env::var("CARGO_CFG_SANITIZE").is_ok_and(|s| s.split(',').any(|x| x == "address"));
        let c_asan = env::var_os("RMAPFUZZ_C_ASAN").is_some_and(|v| v == "1");
        let asan = match (rust_asan, c_asan) {
            (true, _) => Asan::Everywhere,
            (false, true) => Asan::COnly,
            (false, false) => Asan::Off,
        };
        return Instrumentation::LibFuzzer { asan };
    }
    if env::var_os("RMAPFUZZ_COVERAGE").is_some_and(|v| v == "1") {
        return Instrumentation::Coverage;
    }
    Instrumentation::None
}

/// The major version of rustc's LLVM, from `rustc -vV`.
fn rustc_llvm_major() -> Option<String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))?;
    version.split('.').next().map(str::to_owned)
}

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn instrumenting_clang() -> String {
    if let Ok(clang) = env::var("RMAPFUZZ_CLANG") {
        return clang;
    }
    if let Some(major) = rustc_llvm_major() {
        let matching = format!("clang-{major}");
        if runs(&matching) {
            return matching;
        }
    }
    "clang".into()
}

/// A kernel tree's core, when `var` names a tree: writes its translation
/// unit and returns the path. A tree that cannot be used stops the build
/// with the extractor's message (file and symbol). `env` is the prefix of
/// the variables that tell the Rust side what was built in.
fn kernel_core(
    var: &str,
    slot: rmap_extract::Slot,
    env: &str,
) -> Option<(PathBuf, PathBuf, rmap_extract::Extraction)> {
    let tree = env::var_os(var).filter(|t| !t.is_empty())?;
    let tree = PathBuf::from(tree);
    let tree = tree.canonicalize().unwrap_or_else(|e| {
        eprintln!("rmapfuzz: {var}={}: {e}", tree.display());
        std::process::exit(1)
    });
    let x = rmap_extract::extract_as(&tree, slot).unwrap_or_else(|e| {
        eprintln!(
            "rmapfuzz: cannot build the {} variant from {}:\n  {e}",
            slot.variant,
            tree.display()
        );
        std::process::exit(1)
    });
    for input in &x.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this")).join(slot.output_file);
    std::fs::write(&out, &x.source).expect("write the kernel translation unit");
    println!("cargo:rustc-env={env}_VERSION={}", x.version);
    println!("cargo:rustc-env={env}_GENERATION={}", x.generation.name());
    println!("cargo:rustc-env={env}_TREE={}", tree.display());
    println!("cargo:rustc-env={env}_HASH={}", x.hash);
    println!("cargo:rustc-env={env}_UNIT={}", out.display());
    if let Some(why) = &x.read_side_absent {
        // One line: cargo takes the value up to the end of the line.
        let why = why.replace('\n', " ");
        println!("cargo:rustc-env={env}_READ_SIDE_ABSENT={why}");
    }
    Some((out, tree, x))
}

/// Made an error for the kernel translation units only: a tree whose code
/// calls a function the extractor did not take (renamed, or new in that
/// tree) then stops at compile time with the tree's file and line (the
/// unit carries `#line` directives), not at link time with an undefined
/// symbol. Both gcc and clang know this spelling.
const KERNEL_ERRORS: &[&str] = &["-Werror=implicit-function-declaration"];

/// `RMAPFUZZ_MACHINERY_CFLAGS`, split at white space.
fn machinery_cflags() -> Vec<String> {
    env::var("RMAPFUZZ_MACHINERY_CFLAGS")
        .map(|flags| flags.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The compiler setup shared by our C sources and the kernel units.
fn base_build(csrc: &Path, how: &Instrumentation, role: Role) -> cc::Build {
    with_includes(compiler_setup(how, role), csrc)
}

/// Where the code under test lives: the anon_vma cores and their callers
/// in `mm/`, and the zoo (the kernel units are code under test too). The
/// rest is the machinery that runs it: the harness, the scheduler, the
/// slab, the page tables.
fn under_test(csrc: &Path, src: &Path) -> bool {
    const MACHINERY_IN_MM: &[&str] = &["slab.c", "memory.c"];
    let rel = src.strip_prefix(csrc).unwrap_or(src);
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    match (parts.next().as_deref(), parts.next()) {
        (Some("zoo"), Some(_)) => true,
        (Some("mm"), Some(file)) => !MACHINERY_IN_MM.contains(&file.as_ref()),
        _ => false,
    }
}

/// The build of the code under test: clang with its stores and loads
/// hooked (`-fsanitize-coverage=trace-stores,trace-loads`), which is what
/// lets a race hold a store back (csrc/include/rmapfuzz/store_buffer.h).
/// `None` when no clang runs: the code is then built as the rest is, and
/// every race is sequentially consistent.
fn hooked_build(csrc: &Path, how: &Instrumentation) -> Option<cc::Build> {
    let clang = instrumenting_clang();
    if *how == Instrumentation::None && !runs(&clang) {
        println!("cargo:warning=no clang: stores cannot be held back in races (install clang)");
        return None;
    }
    if let Some(major) = rustc_llvm_major().filter(|_| clang == "clang") {
        println!(
            "cargo:warning=stores hooked by `clang`, not clang-{major}: they may be numbered otherwise than the corpus's race schedules name them (scripts/test installs clang-{major})"
        );
    }
    let mut build = compiler_setup(how, Role::UnderTest);
    build.compiler(&clang);
    // The hooks need a coverage level: the fuzzers' builds have theirs
    // (edges); elsewhere `func` asks for no other callback.
    build.flag(match how {
        Instrumentation::LibFuzzer { .. } | Instrumentation::Afl => {
            "-fsanitize-coverage=trace-stores,trace-loads"
        }
        Instrumentation::None | Instrumentation::Coverage => {
            "-fsanitize-coverage=func,trace-stores,trace-loads"
        }
    });
    // Store numbers (`late:T.S`) are the compiled code's: the optimizer
    // may merge or drop stores. One level for every build (debug, release,
    // the fuzzers') keeps a schedule valid across them; a coverage build
    // keeps its -O0 and its own numbers.
    if *how != Instrumentation::Coverage {
        build.opt_level(2);
    }
    Some(with_includes(build, csrc))
}

fn with_includes(mut build: cc::Build, csrc: &Path) -> cc::Build {
    build
        .std("gnu11")
        .include(csrc.join("include"))
        .include(csrc)
        .warnings(true)
        .extra_warnings(true);
    // Reports name C files as csrc/mm/rmap.c, not by absolute path.
    build.flag_if_supported(format!("-fmacro-prefix-map={}/=csrc/", csrc.display()));
    if env::var_os("RMAPFUZZ_WERROR").is_some() {
        build.warnings_into_errors(true);
    }
    build
}

/// The compiler and its instrumentation, with no include path: what a
/// tree's own userspace world (tools/testing/vma) is compiled with too.
fn compiler_setup(how: &Instrumentation, role: Role) -> cc::Build {
    let mut build = cc::Build::new();
    build.flag_if_supported("-fno-strict-aliasing").debug(true);
    if *how != Instrumentation::None {
        build.compiler(instrumenting_clang());
        build.flag("-fno-omit-frame-pointer");
    }
    let guided = role == Role::UnderTest;
    match how {
        Instrumentation::None => {}
        Instrumentation::LibFuzzer { asan } => {
            if guided {
                build.flag("-fsanitize=fuzzer-no-link");
            }
            if *asan != Asan::Off {
                // The runtime is in the process either way: the arena
                // tells it which bytes are handed out and the scheduler
                // tells it of stack switches, in every file.
                build.define("RMAPFUZZ_ASAN", "1");
                if guided {
                    build.flag("-fsanitize=address");
                }
            }
        }
        Instrumentation::Afl => {
            if guided {
                build.flag("-fsanitize-coverage=trace-pc-guard");
            }
        }
        Instrumentation::Coverage => {
            build
                .flag("-fprofile-instr-generate")
                .flag("-fcoverage-mapping")
                .opt_level(0);
        }
    }
    build
}

/// Compiles the kernel units with `build`'s setup and [`KERNEL_ERRORS`],
/// returning their objects. A unit the compiler rejects stops the build
/// with one short line: the compiler's own messages (file:line in the
/// tree), forwarded by `cc` as cargo warnings, say why, and cc's error
/// would only repeat the whole compiler command line.
fn compile_kernel_units(build: &cc::Build, units: &[&Path]) -> Vec<PathBuf> {
    if units.is_empty() {
        return Vec::new();
    }
    let mut kernel = build.clone();
    for flag in KERNEL_ERRORS {
        kernel.flag(flag);
    }
    for unit in units {
        kernel.file(unit);
    }
    kernel.try_compile_intermediates().unwrap_or_else(|e| {
        let e = e.to_string();
        if e.starts_with("ToolExecError") {
            eprintln!(
                "rmapfuzz: the C compiler rejected the kernel code; \
                 its messages (the warnings of rmap-ffi) say where"
            );
        } else {
            eprintln!("rmapfuzz: cannot compile the kernel code: {e}");
        }
        std::process::exit(1)
    })
}

fn compile(
    csrc: &Path,
    how: &Instrumentation,
    kernel: Option<&Path>,
    base: Option<&Path>,
    world: Option<&Path>,
) {
    let hooked = hooked_build(csrc, how);
    let hooks = hooked.is_some();
    // Without hooks (no clang, so no fuzzer either) the code under test is
    // built with the rest.
    let role = if hooked.is_some() {
        Role::Machinery
    } else {
        Role::UnderTest
    };
    let mut builds = [Some(base_build(csrc, how, role)), hooked];
    for build in builds.iter_mut().flatten() {
        if kernel.is_some() {
            build.define("RMAPFUZZ_HAVE_KERNEL", None);
        }
        if world.is_some() {
            build.define("RMAPFUZZ_HAVE_KERNEL_VMA", None);
        }
        if base.is_some() {
            build.define("RMAPFUZZ_HAVE_KERNEL_BASE", None);
        }
        if hooks {
            build.define("RMAPFUZZ_STORE_HOOKS", None);
        }
    }
    let [Some(mut build), hooked] = builds else {
        unreachable!("the base build is always there")
    };
    // Flags for the machinery alone (`scripts/explore`: profile-guided
    // optimization): the code under test keeps its build, and so the store
    // numbers a race schedule names.
    if hooks {
        for flag in machinery_cflags() {
            build.flag(flag);
        }
    }
    if let Some(world) = world {
        build.object(world);
    }
    let units: Vec<&Path> = kernel.into_iter().chain(base).collect();
    let tested = hooked.as_ref().unwrap_or(&build);
    for object in compile_kernel_units(tested, &units) {
        build.object(object);
    }
    let (ours, machinery): (Vec<PathBuf>, Vec<PathBuf>) = c_sources(csrc)
        .into_iter()
        .partition(|src| hooked.is_some() && under_test(csrc, src));
    if let Some(hooked) = &hooked {
        let mut tested = hooked.clone();
        tested.files(&ours);
        for object in tested.compile_intermediates() {
            build.object(object);
        }
    }
    build.files(&machinery);
    build.compile("rmapharness");
    println!("cargo:rustc-link-lib=pthread");
}

fn bind(csrc: &Path) {
    let bindings = bindgen::Builder::default()
        .header(csrc.join("harness.h").to_string_lossy())
        .header(csrc.join("repro_checks.h").to_string_lossy())
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
    for var in [
        "RMAPFUZZ_WERROR",
        "RMAPFUZZ_CLANG",
        "RMAPFUZZ_COVERAGE",
        "RMAPFUZZ_KERNEL_SRC",
        "RMAPFUZZ_REFERENCE_SRC",
        "RMAPFUZZ_KERNEL_VMA",
        "RMAPFUZZ_C_ASAN",
        "RMAPFUZZ_MACHINERY_CFLAGS",
        "CC",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let how = instrumentation();
    println!("cargo:rustc-env=RMAPFUZZ_C_INSTRUMENTATION={how:?}");
    let kernel = kernel_core(
        "RMAPFUZZ_KERNEL_SRC",
        rmap_extract::KERNEL,
        "RMAPFUZZ_KERNEL",
    );
    let base = kernel_core(
        "RMAPFUZZ_REFERENCE_SRC",
        rmap_extract::KERNEL_BASE,
        "RMAPFUZZ_KERNEL_BASE",
    );
    // The tree under test with its own callers, where it ships them.
    let world = kernel.as_ref().and_then(|(_, tree, x)| {
        if env::var_os("RMAPFUZZ_KERNEL_VMA").is_some_and(|v| v == "0") {
            println!(
                "cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_ABSENT=turned off (RMAPFUZZ_KERNEL_VMA=0)"
            );
            return None;
        }
        println!("cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_VERSION={}", x.version);
        let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this"));
        let setup = compiler_setup(&how, Role::UnderTest);
        tree_vma::build(tree, x.generation, &setup, &csrc, &out)
    });
    compile(
        &csrc,
        &how,
        kernel.as_ref().map(|(u, _, _)| u.as_path()),
        base.as_ref().map(|(u, _, _)| u.as_path()),
        world.as_deref(),
    );
    println!("cargo:rustc-check-cfg=cfg(rmapfuzz_c_asan)");
    if how == (Instrumentation::LibFuzzer { asan: Asan::COnly }) {
        link_asan_runtime();
        println!("cargo:rustc-cfg=rmapfuzz_c_asan");
    }
    bind(&csrc);
}

/// Links rustc's own AddressSanitizer runtime (the one `-Zsanitizer=address`
/// would link, of the same LLVM as the clang that instrumented the C side)
/// whole into whatever links the harness: the C objects call into it and
/// the Rust side, built without the sanitizer, does not bring it.
fn link_asan_runtime() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = env::var("TARGET").expect("cargo sets this");
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| panic!("rmapfuzz: `{rustc} --print sysroot` failed"));
    let lib = sysroot.join("lib/rustlib").join(&target).join("lib");
    let runtime = std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("librustc-") && n.ends_with("_rt.asan.a"))
        })
        .unwrap_or_else(|| {
            panic!(
                "rmapfuzz: RMAPFUZZ_C_ASAN=1 needs rustc's AddressSanitizer runtime \
                 (librustc-*_rt.asan.a) in {}",
                lib.display()
            )
        });
    // A name of our own in OUT_DIR: the sysroot's directory holds rustc's
    // own libraries, which must not join the native search path.
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this"));
    std::fs::copy(&runtime, out.join("librmapfuzz_asan_rt.a")).expect("copy the ASan runtime");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:-bundle,+whole-archive=rmapfuzz_asan_rt");
    for lib in ["rt", "m", "dl"] {
        println!("cargo:rustc-link-lib={lib}");
    }
}
