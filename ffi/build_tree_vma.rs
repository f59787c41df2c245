//! The `kernel-vma` variant: a tree's own mm/vma.c, built the way its
//! `tools/testing/vma` builds it, around its anon_vma core, driven by
//! `csrc/tree_vma/` (see `rmap_extract::vma_world`).
//!
//! Its objects carry the tree's userspace world (maple tree, xarray, the
//! tools' slab and the kernel's names for all of it), which would clash
//! with the harness's own: they are linked into one relocatable object
//! whose only global definition is the world's table,
//! `kernel_vma_world_ops`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rmap_extract::vma_world::{self, WorldSource};

/// Writes, compiles and links the world of `tree`; returns the object to
/// add to the harness, or None (with the reason in the build's env) when
/// the tree runs under rmapfuzz's callers only.
pub fn build(
    tree: &Path,
    generation: rmap_extract::Generation,
    compiler: &cc::Build,
    csrc: &Path,
    out: &Path,
) -> Option<PathBuf> {
    let world = match vma_world::vma_world(tree, generation) {
        Ok(w) => w,
        Err(why) => {
            println!("cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_ABSENT={why}");
            return None;
        }
    };
    let dir = out.join("vma-world");
    for (rel, text) in &world.files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a file in the world dir"))
            .expect("create the world dir");
        std::fs::write(&path, text).expect("write a world file");
    }
    for input in &world.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }

    let mut build = compiler.clone();
    // The tree's code is compiled with its own warnings, not ours.
    build
        .warnings(false)
        .extra_warnings(false)
        .flag("-Werror=implicit-function-declaration");
    for inc in [
        dir.clone(),
        tree.join("tools/testing/shared"),
        tree.join("tools/testing/vma"),
        tree.join("tools/include"),
        tree.join("tools/arch/x86/include"),
        tree.join("lib"),
        csrc.to_path_buf(),
    ] {
        build.include(inc);
    }
    build.define("_LGPL_SOURCE", None);
    for (k, v) in &world.defines {
        build.define(k, Some(v.as_str()));
    }
    for src in &world.sources {
        match src {
            WorldSource::Tree(p) => build.file(p),
            WorldSource::Generated(rel) => build.file(dir.join(rel)),
        };
    }
    let objects = build.try_compile_intermediates().unwrap_or_else(|e| {
        eprintln!(
            "rmapfuzz: cannot compile the tree's own callers ({}): {e}",
            tree.join(vma_world::VMA_TEST_DIR).display()
        );
        std::process::exit(1)
    });

    // One object whose only global definition is the world's table.
    let combined = out.join("kernel_vma_world.o");
    let linked = out.join("kernel_vma_world.r.o");
    let compiler = build.get_compiler();
    let status = Command::new(compiler.path())
        .args(["-r", "-nostdlib", "-o"])
        .arg(&linked)
        .args(&objects)
        .status()
        .expect("run the linker");
    assert!(status.success(), "ld -r of the tree's own callers failed");
    let status = Command::new("objcopy")
        .arg("--keep-global-symbol=kernel_vma_world_ops")
        .arg(&linked)
        .arg(&combined)
        .status()
        .expect("run objcopy (binutils)");
    assert!(status.success(), "objcopy of the tree's own callers failed");

    let unit = dir.join(match world.sources.last() {
        Some(WorldSource::Generated(rel)) => rel.as_str(),
        _ => "rf_tree_vma.c",
    });
    println!(
        "cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_GENERATION={}",
        world.generation.name()
    );
    println!(
        "cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_TREE={}",
        tree.display()
    );
    println!("cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_HASH={}", world.hash);
    if let Some(why) = &world.unmodelled {
        println!("cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_UNMODELLED={why}");
    }
    println!(
        "cargo:rustc-env=RMAPFUZZ_KERNEL_VMA_UNIT={}",
        unit.display()
    );
    println!("cargo:rustc-link-lib=urcu");
    Some(combined)
}
