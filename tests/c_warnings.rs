//! The C harness compiles without a single warning under -Wall -Wextra,
//! with gcc and with clang (whichever are installed; at least one is); so
//! does the translation unit extracted from each kernel tree at hand
//! (`target/kernel-src/*`), glue included.

use std::path::{Path, PathBuf};
use std::process::Command;

fn c_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // The kernel glue is compiled inside an extracted unit only.
            if !path.ends_with("kernel_glue") {
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
