//! `--kernel-src` and `--reference-src`: a command runs in the build that
//! carries those trees (built on first use), and a build that carries trees
//! runs for them only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rmapfuzz::engine::kernel_build;

use crate::Cli;

/// Runs this command in a build that carries `tree` as `kernel` (and
/// `base` as `kernel-base`; see `rmapfuzz::engine::kernel_build`); `None` when
/// this binary is that build.
pub fn with_kernel_trees(tree: &Path, base: Option<&Path>) -> Option<ExitCode> {
    let fail = |e: kernel_build::KernelBuildError| {
        eprintln!("rmapfuzz: {e}");
        Some(ExitCode::from(2))
    };
    let tree = match kernel_build::canonical_tree(tree) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let base = match base.map(kernel_build::canonical_tree).transpose() {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if kernel_build::built_with(Some(&tree), base.as_deref()) {
        return None;
    }
    let binary = match kernel_build::build(&tree, base.as_deref()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let status = std::process::Command::new(&binary)
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(s) => Some(ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8)),
        Err(e) => {
            eprintln!("rmapfuzz: cannot run {}: {e}", binary.display());
            Some(ExitCode::from(2))
        }
    }
}

/// A binary built with kernel trees runs them only when asked for them:
/// run plainly, it would judge one tree's findings on another.
pub fn refuse_foreign_trees(cli: &Cli) -> Result<(), String> {
    let given = |p: &Option<PathBuf>| p.as_deref().and_then(|p| p.canonicalize().ok());
    for (built, asked, flag) in [
        (rmap_ffi::KERNEL, given(&cli.kernel_src), "--kernel-src"),
        (
            rmap_ffi::KERNEL_BASE,
            given(&cli.reference_src),
            "--reference-src",
        ),
    ] {
        if let Some(k) = built {
            if asked.as_deref() != Some(Path::new(k.tree)) {
                return Err(format!(
                    "this rmapfuzz binary was built with the kernel tree {} (Linux {}, files {}) as `{}`; \
                     run it with {flag} {}, or run a build without trees (`cargo run --release -- ...` in the checkout)",
                    k.tree, k.version, k.hash, k.variant, k.tree
                ));
            }
        }
    }
    Ok(())
}
