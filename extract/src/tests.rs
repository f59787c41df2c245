//! The extractor on small synthetic trees: generations, what is taken,
//! and what is refused.

use super::*;

const MAKEFILE_TEXT: &str = "VERSION = 6\nPATCHLEVEL = 99\nSUBLEVEL = 1\nEXTRAVERSION = -test\n";

fn anon_vma_struct(counters: &str) -> String {
    format!("struct anon_vma {{\n\tstruct anon_vma *root;\n\t{counters}\n\tstruct anon_vma *parent;\n}};\n")
}

const AVC: &str = "struct anon_vma_chain {\n\tstruct vm_area_struct *vma;\n};\n";
const INLINES: &str = "static inline void get_anon_vma(struct anon_vma *a) { }\n\
    static inline void put_anon_vma(struct anon_vma *a) { __put_anon_vma(a); }\n\
    static inline void anon_vma_lock_write(struct anon_vma *a) { }\n\
    static inline void anon_vma_unlock_write(struct anon_vma *a) { }\n\
    static inline void anon_vma_lock_read(struct anon_vma *a) { }\n\
    static inline void anon_vma_unlock_read(struct anon_vma *a) { }\n";
const MERGE: &str = "static inline void anon_vma_merge(struct vm_area_struct *v, struct vm_area_struct *n) { unlink_anon_vmas(n); }\n";
const ENUM: &str = "enum vma_operation {\n\tVMA_OP_SPLIT,\n};\n";

fn rmap_c(clone_params: &str, extra: &str) -> String {
    format!(
        "// SPDX\nstatic struct kmem_cache *anon_vma_cachep;\n\
         static int helper(void) {{ return anon_vma_cachep != 0; }}\n\
         static int unused(void) {{ return 1; }}\n\
         int __anon_vma_prepare(struct vm_area_struct *vma) {{ return helper(); }}\n\
         int anon_vma_clone({clone_params}) {{ return 0; }}\n\
         int anon_vma_fork(struct vm_area_struct *v, struct vm_area_struct *p) {{ return 0; }}\n\
         void unlink_anon_vmas(struct vm_area_struct *v) {{ }}\n\
         void __put_anon_vma(struct anon_vma *a) {{ }}\n\
         void __init anon_vma_init(void) {{ }}\n{extra}"
    )
}

fn tree(rmap_h: &str, internal_h: &str, rmap: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(MAKEFILE, MAKEFILE_TEXT);
    write(RMAP_H, rmap_h);
    write(INTERNAL_H, internal_h);
    write(RMAP_C, rmap);
    write(RBTREE_H, RBTREE_H_TEXT);
    write(RBTREE_AUGMENTED_H, RBTREE_AUGMENTED_H_TEXT);
    write(INTERVAL_TREE_GENERIC_H, INTERVAL_TREE_GENERIC_H_TEXT);
    write(RBTREE_C, RBTREE_C_TEXT);
    write(
        INTERVAL_TREE_C,
        &interval_tree_c("__anon_vma_interval_tree", "anon_vma_interval_tree"),
    );
    dir
}

/// A tree's red-black and interval trees, in miniature: a macro that pastes
/// names, calls through its parameters, a constant, a type, a header
/// inline and a lib/rbtree.c function declared in the header.
const RBTREE_H_TEXT: &str = "#define RB_EMPTY_NODE(node) ((node)->__rb_parent_color == 0)\n";
const RBTREE_AUGMENTED_H_TEXT: &str =
    "struct rb_augment_callbacks {\n\tvoid (*rotate)(struct rb_node *o, struct rb_node *n);\n};\n\
    extern void __rb_insert_augmented(struct rb_node *node, struct rb_root *root);\n\
    static inline void rb_insert_augmented_cached(struct rb_node *n, struct rb_root_cached *r)\n\
    { __rb_insert_augmented(n, &r->rb_root); }\n\
    #define RB_BLACK 1\n";
const INTERVAL_TREE_GENERIC_H_TEXT: &str =
    "#define INTERVAL_TREE_DEFINE(ITSTRUCT, ITSTART, ITPREFIX) \\\n\
    static void ITPREFIX ## _insert(ITSTRUCT *node, struct rb_root_cached *root) \\\n\
    { if (ITSTART(node)) rb_insert_augmented_cached(&node->rb, root); } \\\n\
    static void ITPREFIX ## _remove(ITSTRUCT *node, struct rb_root_cached *root) { } \\\n\
    static ITSTRUCT *ITPREFIX ## _iter_first(struct rb_root_cached *root) { return 0; } \\\n\
    static ITSTRUCT *ITPREFIX ## _iter_next(ITSTRUCT *node) { return 0; }\n";
const RBTREE_C_TEXT: &str = "void __rb_insert_augmented(struct rb_node *node, struct rb_root *root,\n\
    \t\t\t   void (*rotate)(struct rb_node *o, struct rb_node *n))\n\
    { static const struct rb_augment_callbacks none; rotate(node, 0); node->__rb_parent_color = RB_BLACK; }\n\
    void rb_erase(struct rb_node *n) { }\n";

/// mm/interval_tree.c: the anon interval tree under `prefix`, wrapped as `api`.
fn interval_tree_c(prefix: &str, api: &str) -> String {
    let wrappers = ["insert", "remove", "iter_first", "iter_next"]
        .map(|w| format!("void {api}_{w}(void) {{ {prefix}_{w}(); }}\n"))
        .concat();
    format!(
        "static unsigned long avc_start_pgoff(struct anon_vma_chain *avc) {{ return 0; }}\n\n\
         INTERVAL_TREE_DEFINE(struct anon_vma_chain, avc_start_pgoff, {prefix})\n\n{wrappers}"
    )
}

const TWO: &str = "struct vm_area_struct *d, struct vm_area_struct *s";
const THREE: &str = "struct vm_area_struct *d, struct vm_area_struct *s, enum vma_operation op";

#[test]
fn tells_the_three_generations_apart() {
    let degree = anon_vma_struct("unsigned degree;");
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let cases = [
        (
            tree(
                &format!("{degree}{AVC}{INLINES}{MERGE}"),
                "",
                &rmap_c(TWO, ""),
            ),
            Generation::Degree,
        ),
        (
            tree(
                &format!("{split}{AVC}{INLINES}{MERGE}"),
                "",
                &rmap_c(TWO, ""),
            ),
            Generation::PreSeries,
        ),
        (
            tree(
                &format!("{split}{AVC}"),
                &format!("{INLINES}{ENUM}"),
                &rmap_c(THREE, ""),
            ),
            Generation::PostSeries,
        ),
    ];
    for (dir, generation) in cases {
        let x = extract(dir.path()).unwrap();
        assert_eq!(x.generation, generation);
        assert_eq!(x.version, "6.99.1-test");
        assert!(x
            .source
            .contains(&format!("#include \"{}\"", generation.glue())));
    }
}

#[test]
fn takes_the_core_and_its_static_helpers_only() {
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let dir = tree(
        &format!("{split}{AVC}{INLINES}{MERGE}"),
        "",
        &rmap_c(TWO, ""),
    );
    let x = extract(dir.path()).unwrap();
    let names: Vec<&str> = x.taken.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"helper") && names.contains(&"anon_vma_cachep"),
        "{names:?}"
    );
    assert!(!names.contains(&"unused"), "{names:?}");
    // Renamed so they link beside the harness's own cores; #line points
    // at the user's file.
    assert!(x
        .source
        .contains("#define anon_vma_clone rmapfuzz_kernel_anon_vma_clone"));
    let rmap = dir.path().join(RMAP_C);
    assert!(
        x.source
            .contains(&format!("#line 5 \"{}\"", rmap.display())),
        "{}",
        x.source
    );
}

#[test]
fn a_call_placed_nowhere_is_refused_at_its_line() {
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let rmap = rmap_c(TWO, "").replace(
        "int anon_vma_fork(struct vm_area_struct *v, struct vm_area_struct *p) { return 0; }",
        "int anon_vma_fork(struct vm_area_struct *v, struct vm_area_struct *p)\n{\n\treturn nowhere_defined(v);\n}",
    );
    let dir = tree(&format!("{split}{AVC}{INLINES}{MERGE}"), "", &rmap);
    let e = extract(dir.path()).unwrap_err();
    assert!(e.file.ends_with(RMAP_C), "{e}");
    assert_eq!(e.line, Some(9), "{e}");
    assert!(
        e.message
            .contains("`nowhere_defined`, called by `anon_vma_fork`, is defined neither"),
        "{e}"
    );
}

#[test]
fn a_7_3_tree_gets_its_tree_and_offset_helpers_taken() {
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let rmap = rmap_c(
        THREE,
        "static void link(struct anon_vma_chain *avc, struct anon_vma *av) { anon_rmap_tree_insert(avc, av); }\n",
    );
    let dir = tree(&format!("{split}{AVC}"), &format!("{INLINES}{ENUM}"), &rmap);
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        INTERVAL_TREE_C,
        &interval_tree_c("__anon_rmap_tree", "anon_rmap_tree")
            .replace("return 0;", "return vma_start_anon_pgoff(avc->vma);"),
    );
    write(
        MM_H,
        "static inline unsigned long vma_start_anon_pgoff(const struct vm_area_struct *v) { return 0; }\n",
    );
    write(
        PAGEMAP_H,
        "static inline unsigned long linear_anon_page_index(const struct vm_area_struct *v, unsigned long a) { return 0; }\n",
    );
    write(
        VMA_H,
        "static inline void __vma_set_anon_pgoff(struct vm_area_struct *v, unsigned long p) { }\n",
    );
    // Without vma_anon_address (7.3's mm/internal.h): refused, naming it.
    let e = extract(dir.path()).unwrap_err();
    assert!(
        e.message.contains("no definition of `vma_anon_address`")
            && e.message
                .contains("the anon-pgoff generation keeps it in mm/internal.h"),
        "{e}"
    );
    write(
        INTERNAL_H,
        &format!("{INLINES}{ENUM}static inline unsigned long vma_anon_address(const struct vm_area_struct *v, unsigned long p, unsigned long n) {{ return 0; }}\n"),
    );
    let x = extract(dir.path()).unwrap();
    assert_eq!(x.generation, Generation::AnonPgoff);
    let names: Vec<&str> = x.taken.iter().map(|t| t.name.as_str()).collect();
    for name in [
        "vma_start_anon_pgoff",
        "avc_start_pgoff",
        "INTERVAL_TREE_DEFINE",
        "anon_rmap_tree_insert",
        "linear_anon_page_index",
        "vma_anon_address",
        "__vma_set_anon_pgoff",
    ] {
        assert!(names.contains(&name), "{name} not taken: {names:?}");
    }
    // The tree's key helper comes before the tree that uses it.
    let at = |n: &str| x.source.find(&format!("{n}(")).unwrap();
    let invocation = x.source.find("INTERVAL_TREE_DEFINE(struct").unwrap();
    assert!(at("unsigned long vma_start_anon_pgoff") < invocation);
}

#[test]
fn the_trees_own_interval_tree_is_taken_with_its_rbtree() {
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let dir = tree(
        &format!("{split}{AVC}{INLINES}{MERGE}"),
        "",
        &rmap_c(TWO, ""),
    );
    let x = extract(dir.path()).unwrap();
    let taken: Vec<(Kind, &str)> = x.taken.iter().map(|t| (t.kind, t.name.as_str())).collect();
    for want in [
        (Kind::Function, "anon_vma_interval_tree_insert"),
        (Kind::Invocation, "INTERVAL_TREE_DEFINE"),
        (Kind::Directive, "INTERVAL_TREE_DEFINE"),
        (Kind::Function, "rb_insert_augmented_cached"),
        (Kind::Function, "__rb_insert_augmented"),
        // Declared before the header inline that calls it.
        (Kind::Prototype, "__rb_insert_augmented"),
        // Used as a value and as a type, not called.
        (Kind::Directive, "RB_BLACK"),
        (Kind::Struct, "struct rb_augment_callbacks"),
    ] {
        assert!(taken.contains(&want), "{want:?} not taken: {taken:?}");
    }
    // Nothing the interval tree does not use; the pasted names and the
    // calls through parameters (ITSTART, rotate) were not looked for.
    assert!(!taken.iter().any(|&(_, n)| n == "rb_erase"), "{taken:?}");
    let at = |n: &str| x.source.find(n).unwrap();
    assert!(
        at("extern void __rb_insert_augmented")
            < at("static inline void rb_insert_augmented_cached")
    );
    assert!(x
        .source
        .contains("#define __rb_insert_augmented rmapfuzz_kernel___rb_insert_augmented"));
}

#[test]
fn unknown_shapes_name_the_file_and_symbol() {
    let split = anon_vma_struct("unsigned long num_children;\n\tunsigned long num_active_vmas;");
    let headers = format!("{split}{AVC}{INLINES}{MERGE}");

    let no_fork = rmap_c(TWO, "").replace("int anon_vma_fork(", "int anon_vma_fork2(");
    let e = extract(tree(&headers, "", &no_fork).path()).unwrap_err();
    assert!(e.file.ends_with(RMAP_C), "{e}");
    assert!(
        e.message.contains("no definition of `anon_vma_fork`"),
        "{e}"
    );

    let e =
        extract(tree(&headers, "", &rmap_c("int a, int b, int c, int d", "")).path()).unwrap_err();
    assert!(
        e.message.contains("anon_vma_clone takes 4 parameters"),
        "{e}"
    );

    let no_counters = format!("{}{AVC}{INLINES}{MERGE}", anon_vma_struct("int x;"));
    let e = extract(tree(&no_counters, "", &rmap_c(TWO, "")).path()).unwrap_err();
    assert!(
        e.file.ends_with(RMAP_H) && e.message.contains("neither `degree`"),
        "{e}"
    );

    let no_enum = format!("{split}{AVC}{INLINES}");
    let e = extract(tree(&no_enum, "", &rmap_c(THREE, "")).path()).unwrap_err();
    assert!(e.message.contains("no `enum vma_operation`"), "{e}");

    let e = extract(Path::new("/nonexistent/tree")).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
}

/// The shims are read where this was built; a checkout moved or gone is
/// said so, not shown as names missing from the tree.
#[test]
fn shims_missing_from_the_checkout_are_said_so() {
    let here = shims_in(Path::new(SHIM_DIR)).expect("the shims of this checkout");
    assert!(here.contains("WRITE_ONCE") && here.contains("struct folio"));
    let gone = tempfile::tempdir().expect("a temporary directory");
    let moved = gone.path().join("csrc/include");
    let err = shims_in(&moved).expect_err("no shims there");
    assert_eq!(err.file, moved);
    assert!(err.message.contains("moved or gone"), "{err}");
}
