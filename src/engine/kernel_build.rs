//! What `--kernel-src TREE` (and `--reference-src BASE`) do: the `kernel`
//! variant (and `kernel-base`) is compiled into the binary (build.rs reads
//! `RMAPFUZZ_KERNEL_SRC` and `RMAPFUZZ_REFERENCE_SRC`), so a binary built
//! without those trees builds one with them, in a target directory of its
//! own, and runs it with the same arguments. A binary built with trees
//! runs only for the trees it carries.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::engine::build_failure::failure_report;

/// Why the tree could not be built in.
#[derive(Debug, thiserror::Error)]
pub enum KernelBuildError {
    #[error("{}: {source} (expected a Linux source tree)", tree.display())]
    Tree {
        tree: PathBuf,
        source: std::io::Error,
    },
    #[error("the rmapfuzz sources this binary was built from ({}) are gone: run it from a checkout", .0.display())]
    NoSources(PathBuf),
    #[error("cannot run cargo: {0}")]
    Cargo(std::io::Error),
    #[error("building rmapfuzz with the kernel tree {} failed; cargo's whole output is in {}", tree.display(), log.display())]
    Build { tree: PathBuf, log: PathBuf },
    #[error("building rmapfuzz with the kernel tree {} failed (cargo's output above; it could not be kept in {}: {source})", tree.display(), log.display())]
    BuildNoLog {
        tree: PathBuf,
        log: PathBuf,
        source: std::io::Error,
    },
}

/// The checkout this binary was built from.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tree as an absolute path, or why it is not usable.
pub fn canonical_tree(tree: &Path) -> Result<PathBuf, KernelBuildError> {
    let canon = tree
        .canonicalize()
        .map_err(|source| KernelBuildError::Tree {
            tree: tree.to_owned(),
            source,
        })?;
    if !canon.is_dir() {
        return Err(KernelBuildError::Tree {
            tree: tree.to_owned(),
            source: std::io::Error::other("not a directory"),
        });
    }
    Ok(canon)
}

/// Whether this binary carries exactly these trees (absolute paths) as
/// `kernel` and `kernel-base`.
pub fn built_with(tree: Option<&Path>, base: Option<&Path>) -> bool {
    let carries = |k: Option<rmap_ffi::KernelBuild>, want: Option<&Path>| match (k, want) {
        (None, None) => true,
        (Some(k), Some(w)) => Path::new(k.tree) == w,
        _ => false,
    };
    carries(rmap_ffi::KERNEL, tree) && carries(rmap_ffi::KERNEL_BASE, base)
}

/// A file-name-safe form of a tree's last component.
fn short_name(tree: &Path) -> String {
    tree.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where builds with `tree` (and `base`) go: one directory per pair, so
/// switching trees does not rebuild everything;
/// `RMAPFUZZ_KERNEL_TARGET_DIR` names one directory for all instead (the
/// tests share one).
pub fn target_dir(tree: &Path, base: Option<&Path>) -> PathBuf {
    if let Some(dir) = std::env::var_os("RMAPFUZZ_KERNEL_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let mut h = DefaultHasher::new();
    tree.hash(&mut h);
    base.hash(&mut h);
    let name = match base {
        Some(b) => format!("{}-vs-{}", short_name(tree), short_name(b)),
        None => short_name(tree),
    };
    workspace()
        .join("target")
        .join("kernel")
        .join(format!("{name}-{:016x}", h.finish()))
}

/// The file, in the target directory of a kernel build, that keeps the
/// whole output of its last cargo run.
pub const BUILD_LOG: &str = "kernel-build.log";

/// Builds the rmapfuzz binary with `tree` (absolute) as `kernel`, and
/// `base` as `kernel-base`, and returns its path. Cargo's output is kept
/// in [`BUILD_LOG`] in the build's target directory; a successful build
/// shows none of it, a failed one shows what [`failure_report`] picks
/// from it (the C compiler's first messages on the tree's code, with the
/// tree's file and line), and the error names the log.
pub fn build(tree: &Path, base: Option<&Path>) -> Result<PathBuf, KernelBuildError> {
    let ws = workspace();
    if !ws.join("Cargo.toml").is_file() {
        return Err(KernelBuildError::NoSources(ws));
    }
    let target = target_dir(tree, base);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    match base {
        Some(b) => eprintln!(
            "rmapfuzz: building the kernel variant from {} and kernel-base from {} into {}",
            tree.display(),
            b.display(),
            target.display()
        ),
        None => eprintln!(
            "rmapfuzz: building the kernel variant from {} into {}",
            tree.display(),
            target.display()
        ),
    }
    // Not `--quiet`: it would hide the C compiler's messages, which `cc`
    // hands to cargo as warnings of rmap-ffi. All of cargo's output is
    // captured instead, and shown only when the build fails.
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--color",
        "never",
        "--bin",
        "rmapfuzz",
        "--manifest-path",
    ])
    .arg(ws.join("Cargo.toml"))
    .env("RMAPFUZZ_KERNEL_SRC", tree)
    .env("CARGO_TARGET_DIR", &target)
    .stderr(Stdio::piped());
    match base {
        Some(b) => cmd.env("RMAPFUZZ_REFERENCE_SRC", b),
        None => cmd.env_remove("RMAPFUZZ_REFERENCE_SRC"),
    };
    let (status, output) = run_captured(&mut cmd).map_err(KernelBuildError::Cargo)?;
    let log = target.join(BUILD_LOG);
    let kept = std::fs::create_dir_all(&target).and_then(|()| std::fs::write(&log, &output));
    let output = String::from_utf8_lossy(&output);
    if status.success() {
        return Ok(target.join("release").join("rmapfuzz"));
    }
    match kept {
        Ok(()) => {
            eprint!("{}", failure_report(&output));
            Err(KernelBuildError::Build {
                tree: tree.to_owned(),
                log,
            })
        }
        Err(source) => {
            eprint!("{output}");
            Err(KernelBuildError::BuildNoLog {
                tree: tree.to_owned(),
                log,
                source,
            })
        }
    }
}

/// Runs `cmd` (stderr piped) to its end and returns its status and
/// stderr. Cargo's notices that it waits for a lock go to our stderr as
/// they come, so a build held up by another is not silent.
fn run_captured(cmd: &mut Command) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    let mut child = cmd.spawn()?;
    let mut reader = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut output = Vec::new();
    let mut line = Vec::new();
    let read = loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
        if String::from_utf8_lossy(&line)
            .trim_start()
            .starts_with("Blocking waiting for file lock")
        {
            let _ = std::io::stderr().write_all(&line);
        }
        output.extend_from_slice(&line);
    };
    // A read that failed must not leave cargo blocked on a full pipe.
    drop(reader);
    let status = child.wait()?;
    read.map(|()| (status, output))
}

/// Compiles an extracted translation unit as the build does (`$CC`, else
/// `cc`; gnu11, -Wall -Wextra, calls to undeclared functions an error), to
/// check only: `kernel-extract` fails when the build would. The error is
/// the report of [`failure_report`] over the compiler's output.
pub fn compile_check(unit: &Path) -> Result<(), String> {
    let csrc = workspace().join("csrc");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let out = Command::new(&cc)
        .args([
            "-fsyntax-only",
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-Werror=implicit-function-declaration",
        ])
        .arg("-I")
        .arg(csrc.join("include"))
        .arg("-I")
        .arg(&csrc)
        .arg(unit)
        .output()
        .map_err(|e| format!("cannot run the C compiler {}: {e}", cc.to_string_lossy()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(failure_report(&String::from_utf8_lossy(&out.stderr)))
}
