//! The C harness compiles without a single warning under -Wall -Wextra,
//! with gcc and with clang (whichever are installed; at least one is); so
//! does the translation unit extracted from each kernel tree at hand
//! (`target/kernel-src/*`), glue included, and rmapfuzz's driver of a
//! tree's own mm/vma.c (`csrc/tree_vma/`) inside that tree's world.

use std::path::{Path, PathBuf};
use std::process::Command;

fn c_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // The kernel glue is compiled inside an extracted unit only,
            // the driver of a tree's own callers inside its world's unit.
            if !path.ends_with("kernel_glue") && !path.ends_with("tree_vma") {
                c_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "c") {
            out.push(path);
        }
    }
}

fn csrc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("csrc")
}

fn compiles_clean(compiler: &str) -> Option<Result<(), String>> {
    let mut files = Vec::new();
    c_files(&csrc(), &mut files);
    assert!(files.len() > 5, "csrc/ has the harness");
    compile_each(compiler, &files)
}

fn compile_each(compiler: &str, files: &[PathBuf]) -> Option<Result<(), String>> {
    Command::new(compiler).arg("--version").output().ok()?;
    let csrc = csrc();
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let out = Command::new(compiler)
            .args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-c"])
            .arg("-I")
            .arg(csrc.join("include"))
            .arg("-I")
            .arg(&csrc)
            .arg(file)
            .arg("-o")
            .arg(dir.path().join("out.o"))
            .output()
            .unwrap();
        if !out.status.success() {
            return Some(Err(format!(
                "{compiler} {}:\n{}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    Some(Ok(()))
}

#[test]
fn c_compiles_without_warnings() {
    let results: Vec<_> = ["gcc", "clang"]
        .iter()
        .filter_map(|c| compiles_clean(c))
        .collect();
    assert!(!results.is_empty(), "no C compiler found");
    for r in results {
        r.unwrap();
    }
}

#[test]
fn extracted_kernel_cores_compile_without_warnings() {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kernel-src");
    let trees: Vec<PathBuf> = ["6.12", "7.2"]
        .iter()
        .map(|v| cache.join(v))
        .filter(|t| t.join("mm/rmap.c").is_file())
        .collect();
    if trees.is_empty() {
        eprintln!("skipped: no kernel tree (scripts/kernel-src VERSION)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        let x = rmap_extract::extract(tree).unwrap();
        let unit = dir
            .path()
            .join(format!("{i}-{}", rmap_extract::OUTPUT_FILE));
        std::fs::write(&unit, &x.source).unwrap();
        units.push(unit);
    }
    for compiler in ["gcc", "clang"] {
        if let Some(r) = compile_each(compiler, &units) {
            r.unwrap();
        }
    }
}

/// The world of a tree's own callers mixes the tree's code (held to the
/// kernel's warnings, not ours) with rmapfuzz's driver: every warning of
/// -Wall -Wextra that points into csrc/tree_vma/ fails.
#[test]
fn tree_callers_driver_compiles_without_warnings() {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kernel-src");
    let mut checked = 0;
    for version in ["6.12", "7.2", "7.3"] {
        let tree = cache.join(version);
        let Ok(x) = rmap_extract::extract(&tree) else {
            continue;
        };
        let Ok(world) = rmap_extract::vma_world::vma_world(&tree, x.generation) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in &world.files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        for compiler in ["gcc", "clang"] {
            if Command::new(compiler).arg("--version").output().is_err() {
                continue;
            }
            let mut cmd = Command::new(compiler);
            cmd.args(["-Wall", "-Wextra", "-fsyntax-only", "-D_LGPL_SOURCE"]);
            for (k, v) in &world.defines {
                cmd.arg(format!("-D{k}={v}"));
            }
            for inc in [
                dir.path().to_path_buf(),
                tree.join("tools/testing/shared"),
                tree.join("tools/testing/vma"),
                tree.join("tools/include"),
                tree.join("tools/arch/x86/include"),
                tree.join("lib"),
                csrc(),
            ] {
                cmd.arg("-I").arg(inc);
            }
            let out = cmd.arg(dir.path().join("rf_tree_vma.c")).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let ours: Vec<&str> = stderr
                .lines()
                .filter(|l| {
                    l.contains("tree_vma/") && (l.contains("warning") || l.contains("error"))
                })
                .collect();
            assert!(
                out.status.success() && ours.is_empty(),
                "{compiler} on the {version} world:\n{}",
                if ours.is_empty() {
                    stderr.to_string()
                } else {
                    ours.join("\n")
                }
            );
            checked += 1;
        }
    }
    if checked == 0 {
        eprintln!("skipped: no tree with tools/testing/vma (scripts/kernel-src 7.2)");
    }
}
