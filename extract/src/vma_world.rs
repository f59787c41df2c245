//! A tree's own callers: its mm/vma.c, built the way its
//! `tools/testing/vma` builds it, around its real anon_vma core.
//!
//! That directory compiles the kernel's mm/vma.c (with mm/vma_init.c and
//! mm/vma_exec.c) in userspace over the maple tree and the tools headers,
//! with every anon_vma function stubbed out (`include/custom.h`,
//! `include/stubs.h`, a stub `struct anon_vma_chain` in `include/dup.h`).
//! [`vma_world`] writes copies of those headers with the stubs cut, and in
//! their place the tree's own `struct anon_vma` / `struct anon_vma_chain`,
//! header inlines, anon_vma core (mm/rmap.c) and anon interval tree
//! (mm/interval_tree.c), taken by name with the static helpers they use.
//! `ffi/build.rs` compiles the result with rmapfuzz's driver
//! (`csrc/tree_vma/`), which runs the harness's operations through the
//! tree's mm/vma.c.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::scan::{self, identifiers, Item, Kind};
use crate::{ExtractError, Generation, Source};

/// Where the tree keeps its userspace build of mm/vma.c.
pub const VMA_TEST_DIR: &str = "tools/testing/vma";

/// What the build needs to compile a tree's own callers.
#[derive(Clone, Debug)]
pub struct VmaWorld {
    pub generation: Generation,
    /// Files to write under the build's directory for it (relative path,
    /// text): the cut headers, the taken core and the unit itself.
    pub files: Vec<(String, String)>,
    /// What to compile, in order; the last is the unit that holds the
    /// tree's mm/vma.c, its core and rmapfuzz's driver.
    pub sources: Vec<WorldSource>,
    /// `-D` definitions the tree's Makefile passes (NUM_VMA_FLAG_BITS...).
    pub defines: Vec<(String, String)>,
    /// Files read (for rebuild tracking).
    pub inputs: Vec<PathBuf>,
    /// A hash of the files read (16 hex digits).
    pub hash: String,
}

/// A C file of the world: the tree's own, or one written with `files`.
#[derive(Clone, Debug)]
pub enum WorldSource {
    Tree(PathBuf),
    Generated(String),
}

/// The support objects the directory's Makefile links (tools/testing/shared
/// and tools/lib), and lib/rbtree.c through its shim where it has one.
const SUPPORT_SOURCES: &[&str] = &[
    "tools/testing/shared/xarray-shared.c",
    "tools/testing/shared/linux.c",
    "tools/testing/shared/maple-shim.c",
    "tools/testing/shared/rbtree-shim.c",
    "tools/lib/slab.c",
    "tools/lib/find_bit.c",
    "tools/lib/bitmap.c",
    "tools/lib/hweight.c",
    "tools/lib/vsprintf.c",
];

/// Why a tree runs under rmapfuzz's callers instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoVmaWorld(pub String);

impl std::fmt::Display for NoVmaWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The anon_vma stubs of the vma test world, by the header that has them.
const CUT: &[(&str, &[&str])] = &[
    (
        "include/custom.h",
        &[
            "struct anon_vma",
            "unlink_anon_vmas",
            "anon_vma_clone",
            "__anon_vma_prepare",
            "anon_vma_prepare",
        ],
    ),
    (
        "include/stubs.h",
        &[
            "anon_vma_lock_write",
            "anon_vma_unlock_write",
            "anon_vma_lock_read",
            "anon_vma_unlock_read",
            "anon_rmap_tree_insert",
            "anon_rmap_tree_remove",
            "anon_vma_interval_tree_insert",
            "anon_vma_interval_tree_remove",
            "anon_vma_interval_tree_pre_update_vma",
            "anon_vma_interval_tree_post_update_vma",
            // Where the kernel unlinks a dying VMA's anon_vmas (mm/memory.c).
            "free_pgtables",
        ],
    ),
    (
        "include/dup.h",
        &["struct anon_vma_chain", "struct anon_vma"],
    ),
];

/// Header inlines the world needs beyond the core's own
/// ([`crate::HEADER_INLINES`]): the stubbed fault-path entry.
const EXTRA_INLINES: &[&str] = &["anon_vma_prepare"];

/// The anon interval tree's functions, by generation's names.
const TREE_API: &[&str] = &[
    "anon_vma_interval_tree_insert",
    "anon_vma_interval_tree_remove",
    "anon_vma_interval_tree_iter_first",
    "anon_vma_interval_tree_iter_next",
    "anon_rmap_tree_insert",
    "anon_rmap_tree_remove",
    "anon_rmap_tree_iter_first",
    "anon_rmap_tree_iter_next",
];

fn read(tree: &Path, rel: &'static str) -> Result<Source, ExtractError> {
    Source::read(tree, rel)
}

fn emit(src: &Source, item: &Item) -> String {
    format!(
        "#line {} \"{}\"\n{}\n",
        item.line,
        src.path.display(),
        src.text_of(item)
    )
}

/// `text` with the items of `names` (functions, prototypes, structs) cut.
fn cut(text: &str, names: &[&str]) -> String {
    let mut out = text.to_owned();
    let mut spans: Vec<(usize, usize)> = scan::items(text)
        .into_iter()
        .filter(|i| {
            names.contains(&i.name.as_str())
                && matches!(i.kind, Kind::Function | Kind::Prototype | Kind::Struct)
        })
        .map(|i| (i.start, i.end))
        .collect();
    spans.sort_unstable_by(|a, b| b.cmp(a));
    for (start, end) in spans {
        out.replace_range(start..end, "/* rmapfuzz: the tree's own, below */");
    }
    out
}

/// Items of `src` to take for `roots`, with the same-file static helpers
/// and variables they mention, transitively, in file order.
fn closure(src: &Source, roots: &[usize]) -> Vec<usize> {
    let mut taken: Vec<usize> = Vec::new();
    let mut todo: Vec<usize> = roots.to_vec();
    while let Some(i) = todo.pop() {
        if taken.contains(&i) {
            continue;
        }
        taken.push(i);
        for word in identifiers(src.text_of(&src.items[i])) {
            for (j, other) in src.items.iter().enumerate() {
                let helper = other.name == word
                    && matches!(
                        other.kind,
                        Kind::Function | Kind::Prototype | Kind::Declaration
                    )
                    && src.text_of(other).trim_start().starts_with("static");
                if helper && !taken.contains(&j) {
                    todo.push(j);
                }
            }
        }
    }
    taken.sort_by_key(|&i| (src.items[i].kind != Kind::Prototype, src.items[i].start));
    taken
}

fn find<'s>(srcs: &[&'s Source], name: &str, kinds: &[Kind]) -> Option<(&'s Source, usize)> {
    srcs.iter().find_map(|s| {
        s.items
            .iter()
            .position(|i| i.name == name && kinds.contains(&i.kind))
            .map(|i| (*s, i))
    })
}

/// The static inline functions of `headers` that `text` calls and the
/// test world does not define (`world`: the names its headers define),
/// with what they call in turn, callees first.
fn header_inlines(text: &str, world: &BTreeSet<String>, headers: &[&Source]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = scan::calls(text)
        .into_iter()
        .map(|(n, _)| n.to_owned())
        .collect();
    while let Some(name) = todo.pop() {
        if world.contains(&name) || !seen.insert(name.clone()) {
            continue;
        }
        let Some((src, i)) = find(headers, &name, &[Kind::Function]) else {
            continue;
        };
        let item = &src.items[i];
        if !src.text_of(item).trim_start().starts_with("static") {
            continue;
        }
        for (callee, _) in scan::calls(src.text_of(item)) {
            todo.push(callee.to_owned());
        }
        out.insert(0, emit(src, item));
    }
    out.concat()
}

/// The names the test world's headers define: its own (as cut) and those
/// of the tools headers it includes.
fn world_names(tree: &Path, files: &[(String, String)]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |text: &str| {
        for item in scan::items(text) {
            if matches!(
                item.kind,
                Kind::Function | Kind::Prototype | Kind::Directive
            ) {
                names.insert(item.name);
            }
        }
    };
    for (rel, text) in files {
        if rel.ends_with(".h") {
            add(text);
        }
    }
    for dir in [
        "tools/include/linux",
        "tools/testing/shared",
        "tools/testing/shared/linux",
        "tools/testing/vma/linux",
    ] {
        let Ok(entries) = std::fs::read_dir(tree.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "h") {
                add(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
    }
    names
}

/// `-DNAME=VALUE` flags of the test directory's Makefile.
fn makefile_defines(text: &str) -> Vec<(String, String)> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("-D"))
        .filter_map(|d| d.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The tree's own callers, if its tools/testing/vma can carry its core.
pub fn vma_world(tree: &Path, generation: Generation) -> Result<VmaWorld, NoVmaWorld> {
    let dir = tree.join(VMA_TEST_DIR);
    if !dir.join("Makefile").is_file() {
        return Err(NoVmaWorld(format!(
            "the tree has no {VMA_TEST_DIR} (Linux 6.12 on)"
        )));
    }
    if !dir.join("include/custom.h").is_file() {
        return Err(NoVmaWorld(format!(
            "its {VMA_TEST_DIR} keeps every stub in one vma_internal.h (the layout before \
             Linux 7.0), which rmapfuzz cannot yet cut the anon_vma stubs out of"
        )));
    }
    if generation < Generation::PostSeries {
        return Err(NoVmaWorld(format!(
            "rmapfuzz drives a tree's own mm/vma.c only after the anon_vma series (its \
             {VMA_TEST_DIR} of the {generation} generation is not supported)"
        )));
    }
    build(tree, generation).map_err(|e| NoVmaWorld(e.to_string()))
}

fn build(tree: &Path, generation: Generation) -> Result<VmaWorld, ExtractError> {
    let mut files = Vec::new();
    let mut inputs = Vec::new();
    let test_file = |rel: &str| -> Result<String, ExtractError> {
        let path = tree.join(VMA_TEST_DIR).join(rel);
        std::fs::read_to_string(&path).map_err(|e| ExtractError {
            file: path,
            line: None,
            message: format!("cannot read: {e}"),
        })
    };
    for (rel, names) in CUT {
        let mut text = cut(&test_file(rel)?, names);
        if *rel == "include/dup.h" {
            // __anon_vma_prepare takes mm->page_table_lock, which the
            // test world's mm_struct lacks.
            let at = text
                .find("struct mm_struct {")
                .ok_or_else(|| ExtractError {
                    file: tree.join(VMA_TEST_DIR).join(rel),
                    line: None,
                    message: "no `struct mm_struct {` to add page_table_lock to".into(),
                })?
                + "struct mm_struct {".len();
            text.insert_str(at, "\n\tspinlock_t page_table_lock;\t/* rmapfuzz */");
        }
        if *rel == "include/custom.h" {
            text = format!("#include \"tree_vma/shims.h\"\n#include \"rf_real_anon.h\"\n{text}");
        }
        files.push((rel.to_string(), text));
        inputs.push(tree.join(VMA_TEST_DIR).join(rel));
    }
    files.push(("vma_internal.h".into(), test_file("vma_internal.h")?));
    let shared = test_file("shared.h")?.replace(
        "\"../../../mm/vma.h\"",
        &format!("\"{}\"", tree.join("mm/vma.h").display()),
    );
    files.push(("shared.h".into(), shared));
    let defines = makefile_defines(&test_file("Makefile")?);

    let rmap_h = read(tree, crate::RMAP_H)?;
    let internal_h = read(tree, crate::INTERNAL_H)?;
    let mm_h = read(tree, crate::MM_H)?;
    let rmap_c = read(tree, crate::RMAP_C)?;
    let itree_c = read(tree, crate::INTERVAL_TREE_C)?;
    for src in [&rmap_h, &internal_h, &mm_h, &rmap_c, &itree_c] {
        inputs.push(src.path.clone());
    }
    let headers = [&rmap_h, &internal_h];
    let missing = |src: &Source, name: &str| src.error(format!("no definition of `{name}`"));

    // The real types and inlines, where the stubs were.
    let mut types =
        String::from("/* Generated by rmapfuzz: the tree's own anon_vma types. */\n#pragma once\n");
    for name in ["struct anon_vma", "struct anon_vma_chain"] {
        let (src, i) =
            find(&headers, name, &[Kind::Struct]).ok_or_else(|| missing(&rmap_h, name))?;
        types += &emit(src, &src.items[i]);
    }
    let world_text: String = files.iter().map(|(_, t)| t.as_str()).collect();
    if !world_text.contains("enum vma_operation {") {
        if let Some((src, i)) = find(&headers, "enum vma_operation", &[Kind::Enum]) {
            types += &emit(src, &src.items[i]);
        }
    }
    for name in crate::CORE_FUNCTIONS.iter().chain(TREE_API) {
        if let Some((src, i)) = find(&[&rmap_h, &internal_h, &mm_h], name, &[Kind::Prototype]) {
            types += &emit(src, &src.items[i]);
        }
    }
    for name in crate::HEADER_INLINES.iter().chain(EXTRA_INLINES) {
        let (src, i) =
            find(&headers, name, &[Kind::Function]).ok_or_else(|| missing(&rmap_h, name))?;
        types += &emit(src, &src.items[i]);
    }
    files.push(("rf_real_anon.h".into(), types));

    // The real core and anon interval tree.
    let mut core = format!(
        "/* Generated by rmapfuzz: the tree's own anon_vma core and anon interval tree. */\n\
         #include \"{}\"\n",
        tree.join(crate::INTERVAL_TREE_GENERIC_H).display()
    );
    let mut roots = Vec::new();
    for name in crate::CORE_FUNCTIONS {
        let i = rmap_c
            .find(name, &[Kind::Function])
            .map(|it| rmap_c.index_of(it))
            .ok_or_else(|| missing(&rmap_c, name))?;
        roots.push(i);
    }
    for i in closure(&rmap_c, &roots) {
        core += &emit(&rmap_c, &rmap_c.items[i]);
    }
    let mut tree_roots: Vec<usize> = itree_c
        .items
        .iter()
        .enumerate()
        .filter(|(_, it)| {
            (it.kind == Kind::Function && TREE_API.contains(&it.name.as_str()))
                || (it.kind == Kind::Invocation
                    && itree_c.text_of(it).contains("struct anon_vma_chain"))
        })
        .map(|(i, _)| i)
        .collect();
    if !tree_roots
        .iter()
        .any(|&i| itree_c.items[i].kind == Kind::Invocation)
    {
        return Err(itree_c.error("no INTERVAL_TREE_DEFINE(struct anon_vma_chain, ...)"));
    }
    tree_roots.sort_unstable();
    for i in closure(&itree_c, &tree_roots) {
        core += &emit(&itree_c, &itree_c.items[i]);
    }
    // Header inlines the taken code calls that the world lacks (7.2's
    // interval tree keys by vma_last_pgoff() of include/linux/mm.h).
    let names = world_names(tree, &files);
    let core = format!(
        "{}{core}",
        header_inlines(&core, &names, &[&mm_h, &internal_h])
    );
    files.push(("rf_real_core.c".into(), core));

    // What the driver needs to know of this tree's interface.
    let vma_h = std::fs::read_to_string(tree.join(crate::VMA_H)).unwrap_or_default();
    let dup = test_file("include/dup.h")?;
    let mut config =
        String::from("/* Generated by rmapfuzz: this tree's interface. */\n#pragma once\n");
    if generation == Generation::AnonPgoff {
        config += "#define RF_TW_ANON_PGOFF 1\n";
    }
    let mmap_region = vma_h
        .find("unsigned long mmap_region(")
        .map(|at| &vma_h[at..at + vma_h[at..].find(')').unwrap_or(0)]);
    if mmap_region.is_some_and(|sig| sig.contains("vma_flags_t")) {
        config += "#define RF_TW_MMAP_VMA_FLAGS 1\n";
    }
    if !dup.contains("vma_is_attached(") {
        config += "#define RF_TW_NEED_VMA_IS_ATTACHED 1\n";
    }
    if test_file("shared.h")?.contains("vma_set_range") {
        config += "#define RF_TW_NEED_VMA_SET_RANGE 1\n";
    }
    files.push(("rf_config.h".into(), config));

    let unit = format!(
        "/* Generated by rmapfuzz from {} ({generation} generation): the tree's mm/vma.c */\n\
         /* around its own anon_vma core, in its tools/testing/vma world. Do not edit. */\n\
         #define CONFIG_DEBUG_VM_RB 1\n\
         #include \"tree_vma/early.h\"\n\
         #include \"shared.h\"\n\
         #include \"tree_vma/prelude.h\"\n\
         #include \"{}\"\n#include \"{}\"\n#include \"{}\"\n\
         #include \"rf_real_core.c\"\n\
         /* rmapfuzz's own code is held to rmapfuzz's warnings. */\n\
         #pragma GCC diagnostic warning \"-Wall\"\n\
         #pragma GCC diagnostic warning \"-Wextra\"\n\
         #include \"tree_vma/world.c\"\n\
         #include \"tree_vma/memory.c\"\n\
         #include \"tree_vma/ops.c\"\n\
         #include \"tree_vma/snapshot.c\"\n\
         #include \"tree_vma/lifetime.c\"\n",
        tree.display(),
        tree.join("mm/vma_init.c").display(),
        tree.join("mm/vma_exec.c").display(),
        tree.join("mm/vma.c").display(),
    );
    for rel in ["mm/vma_init.c", "mm/vma_exec.c", "mm/vma.c", "mm/vma.h"] {
        inputs.push(tree.join(rel));
    }
    files.push(("rf_tree_vma.c".into(), unit));

    // What the directory's Makefile generates and copies.
    files.push((
        "generated/autoconf.h".into(),
        std::fs::read_to_string(tree.join("tools/testing/shared/autoconf.h")).unwrap_or_default(),
    ));
    files.push((
        "generated/map-shift.h".into(),
        "#define XA_CHUNK_SHIFT 3\n".into(),
    ));
    files.push((
        "generated/bit-length.h".into(),
        "#define CONFIG_64BIT 1\n#define CONFIG_PHYS_ADDR_T_64BIT 1\n".into(),
    ));
    let mut sources = Vec::new();
    for rel in ["lib/radix-tree.c", "lib/idr.c"] {
        let text = std::fs::read_to_string(tree.join(rel)).map_err(|e| ExtractError {
            file: tree.join(rel),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        // As the directory's Makefile does: its world has them non-static.
        let text: String = text
            .lines()
            .map(|l| {
                let l = l.strip_prefix("static ").unwrap_or(l);
                l.replace("__always_inline ", "").replace("inline ", "") + "\n"
            })
            .collect();
        let name = rel.trim_start_matches("lib/").to_owned();
        files.push((name.clone(), text));
        sources.push(WorldSource::Generated(name));
        inputs.push(tree.join(rel));
    }
    for rel in SUPPORT_SOURCES {
        let path = tree.join(rel);
        if path.is_file() {
            inputs.push(path.clone());
            sources.push(WorldSource::Tree(path));
        }
    }
    sources.push(WorldSource::Generated("rf_tree_vma.c".into()));
    let hash = crate::files_hash_abs(tree, &inputs);
    Ok(VmaWorld {
        generation,
        files,
        sources,
        defines,
        inputs,
        hash,
    })
}
