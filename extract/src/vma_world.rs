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
    /// Why the tree's callers cannot be compared with rmapfuzz's model,
    /// when they cannot: they are then judged by the contracts alone.
    pub unmodelled: Option<String>,
}

/// A helper of the merge rule rmapfuzz models (Linux 7.x's
/// `is_mergeable_anon_vma`: a range may not move into or out of a VMA that
/// went through fork). Older trees ask for a singular chain instead.
const MODELLED_MERGE_RULE: &str = "vma_is_fork_child";

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
    RBTREE_SHIM,
    "tools/lib/slab.c",
    "tools/lib/find_bit.c",
    "tools/lib/bitmap.c",
    "tools/lib/hweight.c",
    "tools/lib/vsprintf.c",
];

/// Where later worlds build lib/rbtree.c.
const RBTREE_SHIM: &str = "tools/testing/shared/rbtree-shim.c";

/// Why a tree runs under rmapfuzz's callers instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoVmaWorld(pub String);

impl std::fmt::Display for NoVmaWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a tree's tools/testing/vma lays out its world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Stubs in `include/custom.h` and `include/stubs.h`, types in
    /// `include/dup.h`, all pulled in by `shared.h` (Linux 7.0 on).
    Split,
    /// Everything in one `vma_internal.h`, which the test's `vma.c`
    /// includes after `maple-shared.h` (Linux 6.12).
    OneHeader,
}

impl Layout {
    /// The header that defines the world's `struct mm_struct`.
    fn mm_header(self) -> &'static str {
        match self {
            Layout::Split => "include/dup.h",
            Layout::OneHeader => "vma_internal.h",
        }
    }
}

/// The anon_vma stubs of the vma test world, by the header that has them
/// (a header of the other layout is simply absent).
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
            "free_pgtables",
        ],
    ),
    (
        "include/dup.h",
        &["struct anon_vma_chain", "struct anon_vma"],
    ),
    (
        "vma_internal.h",
        &[
            "struct anon_vma",
            "struct anon_vma_chain",
            "anon_vma_clone",
            "unlink_anon_vmas",
            "anon_vma_merge",
            "anon_vma_lock_write",
            "anon_vma_unlock_write",
            "anon_vma_interval_tree_insert",
            "anon_vma_interval_tree_remove",
            "free_pgtables",
        ],
    ),
];

/// Stubs whose work the driver does instead (`csrc/tree_vma`): cut down
/// to their prototypes, so the tree's code calls the driver's.
/// `free_pgtables` is mm/memory.c's, where a dying VMA leaves its
/// anon_vmas.
const DECLARED: &[&str] = &["free_pgtables"];

/// The VMA allocators of a world that hands out VMAs with calloc()
/// (6.12): the driver's go through a slab cache it counts, as the
/// kernel's and later worlds' do.
const VMA_ALLOCATORS: &[&str] = &["vm_area_alloc", "vm_area_dup", "vm_area_free"];

/// Header inlines the world needs beyond the core's own
/// ([`crate::HEADER_INLINES`]): the stubbed fault-path entry.
const EXTRA_INLINES: &[&str] = &["anon_vma_prepare"];

/// Header inlines of the tree taken where it has them: pre-series
/// mm/vma.c merges anon_vmas through rmap.h's `anon_vma_merge`.
const OPTIONAL_INLINES: &[&str] = &["anon_vma_merge"];

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

/// `text` with the items of `names` (functions, prototypes, structs) cut;
/// the functions of `declared` leave their prototype behind.
fn cut(text: &str, names: &[&str], declared: &[&str]) -> String {
    let mut out = text.to_owned();
    let mut spans: Vec<(usize, usize, String)> = scan::items(text)
        .into_iter()
        .filter(|i| {
            names.contains(&i.name.as_str())
                && matches!(i.kind, Kind::Function | Kind::Prototype | Kind::Struct)
        })
        .map(|i| {
            let item = &text[i.start..i.end];
            let with = match (i.kind, declared.contains(&i.name.as_str())) {
                (Kind::Function, true) => {
                    format!("{}; /* rmapfuzz: the driver's */", prototype_of(item))
                }
                _ => "/* rmapfuzz: the tree's own, below */".to_owned(),
            };
            (i.start, i.end, with)
        })
        .collect();
    spans.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    for (start, end, with) in spans {
        out.replace_range(start..end, &with);
    }
    out
}

/// The declaration of a function definition: its head, without the
/// storage class and inline markers that belong to a definition.
fn prototype_of(function: &str) -> String {
    let head = function.split('{').next().unwrap_or(function);
    head.split_whitespace()
        .filter(|w| !matches!(*w, "static" | "inline" | "__always_inline"))
        .collect::<Vec<_>>()
        .join(" ")
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
    let layout = if dir.join("include/custom.h").is_file() {
        Layout::Split
    } else if dir.join("vma_internal.h").is_file() {
        Layout::OneHeader
    } else {
        return Err(NoVmaWorld(format!(
            "its {VMA_TEST_DIR} has neither include/custom.h nor vma_internal.h, the two \
             layouts rmapfuzz knows how to cut the anon_vma stubs out of"
        )));
    };
    if generation < Generation::PreSeries {
        return Err(NoVmaWorld(format!(
            "rmapfuzz drives a tree's own mm/vma.c from the pre-series generation on (its \
             {VMA_TEST_DIR} of the {generation} generation is not supported)"
        )));
    }
    build(tree, generation, layout).map_err(|e| NoVmaWorld(e.to_string()))
}

fn build(tree: &Path, generation: Generation, layout: Layout) -> Result<VmaWorld, ExtractError> {
    let mut files = Vec::new();
    let mut inputs = Vec::new();
    let test_dir = tree.join(VMA_TEST_DIR);
    let test_file = |rel: &str| -> Result<String, ExtractError> {
        let path = test_dir.join(rel);
        std::fs::read_to_string(&path).map_err(|e| ExtractError {
            file: path,
            line: None,
            message: format!("cannot read: {e}"),
        })
    };
    // What the world's headers say, stubs and all, before anything is cut.
    let world_before: String = CUT
        .iter()
        .filter_map(|(rel, _)| std::fs::read_to_string(test_dir.join(rel)).ok())
        .collect();
    let world_items = scan::items(&world_before);
    let world_defines = |name: &str| {
        world_items
            .iter()
            .find(|i| i.name == name && i.kind == Kind::Function)
    };
    // A world whose headers allocate VMAs (with calloc()) gets the driver's
    // allocators; later worlds take the tree's mm/vma_init.c.
    let own_vma_cache = world_defines("vm_area_alloc").is_some();
    let mut declared: Vec<&str> = DECLARED.to_vec();
    if own_vma_cache {
        declared.extend(VMA_ALLOCATORS);
    }
    let free_pgtables_mas = world_defines("free_pgtables")
        .is_some_and(|i| world_before[i.start..i.end].contains("struct ma_state"));

    for (rel, names) in CUT {
        if !test_dir.join(rel).is_file() {
            continue;
        }
        let mut names = names.to_vec();
        if own_vma_cache {
            names.extend(VMA_ALLOCATORS);
        }
        let mut text = cut(&test_file(rel)?, &names, &declared);
        if *rel == layout.mm_header() {
            // __anon_vma_prepare takes mm->page_table_lock, which the
            // test world's mm_struct lacks.
            let at = text
                .find("struct mm_struct {")
                .ok_or_else(|| ExtractError {
                    file: test_dir.join(rel),
                    line: None,
                    message: "no `struct mm_struct {` to add page_table_lock to".into(),
                })?
                + "struct mm_struct {".len();
            text.insert_str(at, "\n\tspinlock_t page_table_lock;\t/* rmapfuzz */");
        }
        let ours = "#include \"tree_vma/shims.h\"\n#include \"rf_real_anon.h\"\n";
        match (layout, *rel) {
            (Layout::Split, "include/custom.h") => text = format!("{ours}{text}"),
            // After every type of the world, before its guard closes.
            (Layout::OneHeader, "vma_internal.h") => {
                let at = text.rfind("#endif").ok_or_else(|| ExtractError {
                    file: test_dir.join(rel),
                    line: None,
                    message: "no closing #endif of its include guard".into(),
                })?;
                text.insert_str(
                    at,
                    &format!("/* rmapfuzz: the tree's own anon_vma core */\n{ours}"),
                );
            }
            _ => {}
        }
        files.push((rel.to_string(), text));
        inputs.push(test_dir.join(rel));
    }
    if layout == Layout::Split {
        files.push(("vma_internal.h".into(), test_file("vma_internal.h")?));
        let shared = test_file("shared.h")?.replace(
            "\"../../../mm/vma.h\"",
            &format!("\"{}\"", tree.join("mm/vma.h").display()),
        );
        files.push(("shared.h".into(), shared));
    }
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
    for name in OPTIONAL_INLINES {
        if let Some((src, i)) = find(&headers, name, &[Kind::Function]) {
            types += &emit(src, &src.items[i]);
        }
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
    let vma_c = read(tree, "mm/vma.c")?;
    let vma_h = read(tree, crate::VMA_H)?;
    let mut names = world_names(tree, &files);
    names.extend(vma_h.items.iter().map(|i| i.name.clone()));
    let core = format!(
        "{}{core}",
        header_inlines(&core, &names, &[&mm_h, &internal_h])
    );
    names.extend(scan::items(&core).into_iter().map(|i| i.name));
    files.push(("rf_real_core.c".into(), core));
    // And those the tree's mm/vma.c calls that its world lacks (6.12's
    // stable backport of vma_close(), in mm/internal.h).
    files.push((
        "rf_tree_inlines.h".into(),
        format!(
            "/* Generated by rmapfuzz: inlines of the tree that its mm/vma.c needs and its \
             world lacks. */\n#pragma once\n{}",
            header_inlines(&vma_c.text, &names, &[&mm_h, &internal_h])
        ),
    ));

    // What the driver needs to know of this tree's interface.
    let mut config =
        String::from("/* Generated by rmapfuzz: this tree's interface. */\n#pragma once\n");
    let mut flag = |on: bool, name: &str, why: &str| {
        if on {
            config += &format!("/* {why} */\n#define {name} 1\n");
        }
    };
    flag(
        generation == Generation::AnonPgoff,
        "RF_TW_ANON_PGOFF",
        "AVCs keyed by the VMA's own anonymous page offset",
    );
    flag(
        generation >= Generation::PostSeries,
        "RF_TW_VMA_OPERATION",
        "anon_vma_clone() names its operation",
    );
    let mmap_region = vma_h
        .text
        .find("unsigned long mmap_region(")
        .map(|at| &vma_h.text[at..at + vma_h.text[at..].find(')').unwrap_or(0)]);
    flag(
        mmap_region.is_none(),
        "RF_TW_OWN_MMAP",
        "mmap_region() is mm/mmap.c's, outside the world: the driver maps",
    );
    flag(
        mmap_region.is_some_and(|sig| sig.contains("vma_flags_t")),
        "RF_TW_MMAP_VMA_FLAGS",
        "mmap_region() takes vma_flags_t",
    );
    flag(
        !world_before.contains("vma_flags_t"),
        "RF_TW_VM_FLAGS",
        "VMA flags are one vm_flags_t word",
    );
    flag(
        own_vma_cache,
        "RF_TW_OWN_VMA_CACHE",
        "the world's VMA allocators were calloc(): the driver's count them",
    );
    flag(
        free_pgtables_mas,
        "RF_TW_FREE_PGTABLES_MAS",
        "free_pgtables(tlb, mas, vma, floor, ceiling, mm_wr_locked)",
    );
    flag(
        world_before.contains("bool detached;"),
        "RF_TW_DETACHED_FLAG",
        "a VMA out of its tree has vma->detached set",
    );
    flag(
        !world_before.contains("vma_is_attached("),
        "RF_TW_NEED_VMA_IS_ATTACHED",
        "the world has no vma_is_attached()",
    );
    // A world whose atomics are liburcu's (its own linux/atomic.h, 6.12)
    // has none of the tests the core's refcounts use.
    let own_atomics = test_file("linux/atomic.h").unwrap_or_default();
    flag(
        !own_atomics.is_empty() && !own_atomics.contains("atomic_dec_and_test"),
        "RF_TW_NEED_ATOMIC_DEC_AND_TEST",
        "the world's atomics are liburcu's, without atomic_dec_and_test()",
    );
    let shared_h = test_file("shared.h").unwrap_or_default();
    flag(
        layout == Layout::Split,
        "RF_TW_SHARED_C",
        "the world's shared.h declares what its shared.c defines",
    );
    flag(
        shared_h.contains("vma_set_range"),
        "RF_TW_NEED_VMA_SET_RANGE",
        "shared.h declares vma_set_range()",
    );
    // VMA flags the driver's operations use, as the tree defines them.
    for name in ["VM_DONTCOPY", "VM_WIPEONFORK", "VM_ACCOUNT"] {
        if let Some(def) = mm_h
            .items
            .iter()
            .find(|i| i.kind == Kind::Directive && i.name == name)
        {
            config += &format!("#ifndef {name}\n{}\n#endif\n", mm_h.text_of(def));
        }
    }
    files.push(("rf_config.h".into(), config));

    let world_headers = match layout {
        Layout::Split => "#include \"shared.h\"\n".to_owned(),
        Layout::OneHeader => format!(
            "#include \"maple-shared.h\"\n#include \"vma_internal.h\"\n#include \"{}\"\n",
            tree.join(crate::VMA_H).display()
        ),
    };
    let mut tree_units = String::new();
    for rel in ["mm/vma_init.c", "mm/vma_exec.c", "mm/vma.c"] {
        if tree.join(rel).is_file() {
            tree_units += &format!("#include \"{}\"\n", tree.join(rel).display());
            inputs.push(tree.join(rel));
        }
    }
    inputs.push(tree.join(crate::VMA_H));
    let unit = format!(
        "/* Generated by rmapfuzz from {} ({generation} generation): the tree's mm/vma.c */\n\
         /* around its own anon_vma core, in its tools/testing/vma world. Do not edit. */\n\
         #define CONFIG_DEBUG_VM_RB 1\n\
         #include \"tree_vma/early.h\"\n\
         {world_headers}\
         #include \"tree_vma/prelude.h\"\n\
         #include \"rf_tree_inlines.h\"\n\
         {tree_units}\
         #include \"rf_real_core.c\"\n\
         /* rmapfuzz's own code is held to rmapfuzz's warnings. */\n\
         #pragma GCC diagnostic warning \"-Wall\"\n\
         #pragma GCC diagnostic warning \"-Wextra\"\n\
         #include \"tree_vma/world.c\"\n\
         #include \"tree_vma/memory.c\"\n\
         #include \"tree_vma/ops.c\"\n\
         #include \"tree_vma/snapshot.c\"\n\
         #include \"tree_vma/locks.c\"\n\
         #include \"tree_vma/lifetime.c\"\n",
        tree.display(),
    );
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
    // A world without an rbtree (6.12 stubs the interval trees) gets the
    // tree's lib/rbtree.c as later worlds build it.
    if !tree.join(RBTREE_SHIM).is_file() {
        let rbtree = tree.join(crate::RBTREE_C);
        let tools_augmented =
            std::fs::read_to_string(tree.join("tools/include/linux/rbtree_augmented.h"))
                .unwrap_or_default();
        // 6.12's tools copy of rbtree_augmented.h lacks the RCU flavour of
        // __rb_change_child() that lib/rbtree.c's rb_replace_node_rcu()
        // uses (never called here): the world is single-threaded, so a
        // plain store publishes as well as rcu_assign_pointer() would.
        let rcu_shim = if tools_augmented.contains("__rb_change_child_rcu") {
            ""
        } else {
            "#include <linux/rbtree_augmented.h>\n\
             static inline void __rb_change_child_rcu(struct rb_node *old, struct rb_node *new,\n\
             \t\t\t\t\t struct rb_node *parent, struct rb_root *root)\n\
             {\n\
             \tif (!parent)\n\t\troot->rb_node = new;\n\
             \telse if (parent->rb_left == old)\n\t\tparent->rb_left = new;\n\
             \telse\n\t\tparent->rb_right = new;\n\
             }\n"
        };
        files.push((
            "rf_rbtree.c".into(),
            format!(
                "/* Generated by rmapfuzz: the tree's lib/rbtree.c, for its anon interval \
                 tree. */\n{rcu_shim}#include \"{}\"\n",
                rbtree.display()
            ),
        ));
        inputs.push(rbtree);
        sources.push(WorldSource::Generated("rf_rbtree.c".into()));
    }
    sources.push(WorldSource::Generated("rf_tree_vma.c".into()));
    let hash = crate::files_hash_abs(tree, &inputs);
    let unmodelled = (!vma_c.text.contains(MODELLED_MERGE_RULE)).then(|| {
        "its mm/vma.c merges anon_vmas by the older rule (a VMA without an anon_vma merges only \
         with a neighbour whose chain is singular), where rmapfuzz models Linux 7.x's fork-child \
         rule, so it is judged by the contracts, the interval tree's lock rule, hygiene, ASan and leaks, not compared"
            .to_owned()
    });
    Ok(VmaWorld {
        generation,
        files,
        sources,
        defines,
        inputs,
        hash,
        unmodelled,
    })
}
