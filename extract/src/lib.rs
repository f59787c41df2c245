//! Takes the anon_vma core out of a Linux source tree.
//!
//! [`extract`] reads the files that hold the core in the tree's generation
//! ([`TREE_FILES`]: `mm/rmap.c`, `include/linux/rmap.h`, `mm/internal.h`,
//! and where present the headers and `mm/interval_tree.c` that 7.3 keeps
//! helpers in), picks out by name the anon_vma functions, the static
//! helpers and variables they use, the header inlines and the `struct
//! anon_vma` / `struct anon_vma_chain` definitions, then every definition
//! the taken code calls that our shims do not provide (`place`; a name
//! found nowhere is refused with the file and line of the call), and
//! writes one C translation unit: the harness's shims,
//! renames that let the code link beside the harness's own cores, then the
//! extracted text unchanged behind `#line` directives (so a compiler error
//! points at the user's file and line), then the harness's glue for the
//! tree's generation. Used by `ffi/build.rs` and by `rmapfuzz
//! kernel-extract`.

mod place;
pub mod scan;
pub mod vma_world;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use place::Placer;
use scan::{identifiers, Item, Kind};

/// The shapes of the anon_vma code over its history, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Generation {
    /// 2015-2022: one `degree` counter for children and active VMAs
    /// (before 2555283eb40d, the fix of CVE-2022-42703).
    Degree,
    /// `num_children` and `num_active_vmas`, two-argument `anon_vma_clone`,
    /// `lock_anon_vma_root`, `anon_vma_merge` (e.g. Linux 6.12).
    PreSeries,
    /// After the "clean up anon_vma implementation" series: `enum
    /// vma_operation`, `cleanup_partial_anon_vmas` (Linux 7.0 to 7.2).
    PostSeries,
    /// The post-series core with an anonymous page offset of its own per
    /// VMA (`vma_start_anon_pgoff`, `__vm_anon_pgoff_lo/hi`), by which
    /// AVCs are keyed in the tree's `anon_rmap_tree_*` (mm/interval_tree.c)
    /// and anonymous pages are indexed (Linux 7.3).
    AnonPgoff,
}

impl Generation {
    pub fn name(self) -> &'static str {
        match self {
            Generation::Degree => "degree",
            Generation::PreSeries => "pre-series",
            Generation::PostSeries => "post-series",
            Generation::AnonPgoff => "anon-pgoff",
        }
    }

    /// The generation [`Generation::name`] calls `name`.
    pub fn from_name(name: &str) -> Option<Generation> {
        [
            Generation::Degree,
            Generation::PreSeries,
            Generation::PostSeries,
            Generation::AnonPgoff,
        ]
        .into_iter()
        .find(|g| g.name() == name)
    }

    /// The harness glue (under `csrc/`) that adapts this generation.
    pub fn glue(self) -> &'static str {
        match self {
            Generation::Degree => "kernel_glue/degree.c",
            Generation::PreSeries => "kernel_glue/pre_series.c",
            Generation::PostSeries => "kernel_glue/post_series.c",
            Generation::AnonPgoff => "kernel_glue/anon_pgoff.c",
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a tree could not be used: the file (and line), and what is missing
/// or wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ExtractError {}

/// One piece of text taken from the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    pub file: PathBuf,
    pub line: usize,
    pub kind: Kind,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Extraction {
    pub generation: Generation,
    /// `VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]` from the top Makefile.
    pub version: String,
    /// The translation unit to compile.
    pub source: String,
    /// What was taken, in output order.
    pub taken: Vec<Taken>,
    /// Files read (for rebuild tracking).
    pub inputs: Vec<PathBuf>,
    /// A hash of the files read (16 hex digits): which version of the
    /// tree's code a report is about.
    pub hash: String,
    /// Why the tree's read side ([`READ_SIDE_FUNCTIONS`]) was not taken
    /// (the harness's serves instead); `None` when it was.
    pub read_side_absent: Option<String>,
}

/// How an extracted core is named in the build: one binary may carry two
/// trees (the one under test and a base to compare it with), so each gets
/// its own symbol prefix, core table and variant name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The variant name the harness registers the core under.
    pub variant: &'static str,
    /// Prefix of every extracted function and variable.
    pub prefix: &'static str,
    /// The C name of the core's table (`struct anon_vma_core`).
    pub table: &'static str,
    /// File name of the translation unit.
    pub output_file: &'static str,
}

/// The tree under test (`--kernel-src`): the variant `kernel`.
pub const KERNEL: Slot = Slot {
    variant: "kernel",
    prefix: "rmapfuzz_kernel_",
    table: "kernel_anon_vma_core",
    output_file: "rmapfuzz_kernel.c",
};

/// The base tree it is compared with (`--reference-src`): `kernel-base`.
pub const KERNEL_BASE: Slot = Slot {
    variant: "kernel-base",
    prefix: "rmapfuzz_kernel_base_",
    table: "kernel_base_anon_vma_core",
    output_file: "rmapfuzz_kernel_base.c",
};

/// Prefix of every extracted function and variable of the tree under test.
pub const PREFIX: &str = KERNEL.prefix;

/// Name of the translation unit written for the tree under test.
pub const OUTPUT_FILE: &str = KERNEL.output_file;

/// FNV-1a over the files, each preceded by its name: stable across
/// machines and checkouts, different as soon as one byte of the code is.
fn files_hash(tree: &Path, files: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for rel in files {
        let data = std::fs::read(tree.join(rel)).unwrap_or_default();
        for &b in rel.as_bytes().iter().chain([0u8].iter()).chain(data.iter()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// [`files_hash`] over files named by their full path (hashed by their
/// path within `tree`).
pub(crate) fn files_hash_abs(tree: &Path, files: &[PathBuf]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for path in files {
        let data = std::fs::read(path).unwrap_or_default();
        let name = path.strip_prefix(tree).unwrap_or(path).to_string_lossy();
        for &b in name
            .as_bytes()
            .iter()
            .chain([0u8].iter())
            .chain(data.iter())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Files read from a tree, relative to its root.
pub const RMAP_C: &str = "mm/rmap.c";
pub const RMAP_H: &str = "include/linux/rmap.h";
pub const INTERNAL_H: &str = "mm/internal.h";
pub const INTERVAL_TREE_C: &str = "mm/interval_tree.c";
pub const MM_H: &str = "include/linux/mm.h";
pub const PAGEMAP_H: &str = "include/linux/pagemap.h";
pub const VMA_H: &str = "mm/vma.h";
pub const MAKEFILE: &str = "Makefile";
pub const RBTREE_H: &str = "include/linux/rbtree.h";
pub const RBTREE_AUGMENTED_H: &str = "include/linux/rbtree_augmented.h";
pub const INTERVAL_TREE_GENERIC_H: &str = "include/linux/interval_tree_generic.h";
pub const RBTREE_C: &str = "lib/rbtree.c";

/// The tree's files the extractor reads, whether each must exist, in the
/// order their text is emitted (a file's definitions before the files that
/// use them). Trees keep helpers in different places over time: a name the
/// core calls is taken from whichever of these defines it.
pub const TREE_FILES: &[(&str, bool)] = &[
    // The tree's own red-black and interval trees, which its anon_vma
    // interval tree (mm/interval_tree.c) instantiates.
    (RBTREE_H, true),
    (RBTREE_AUGMENTED_H, true),
    (INTERVAL_TREE_GENERIC_H, true),
    (RBTREE_C, true),
    (MM_H, false),
    (PAGEMAP_H, false),
    (RMAP_H, true),
    (INTERNAL_H, true),
    (VMA_H, false),
    (INTERVAL_TREE_C, true),
    (RMAP_C, true),
];

/// Where rmapfuzz's shims of the kernel headers live.
const SHIM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../csrc/include");

/// The names rmapfuzz's shims in `dir` define. They are read from the
/// checkout this was built in: one moved or gone is said so, rather than
/// shown as every shimmed name missing from the tree.
fn shims_in(dir: &Path) -> Result<std::collections::BTreeSet<String>, ExtractError> {
    if !dir.is_dir() {
        return Err(ExtractError {
            file: dir.to_path_buf(),
            line: None,
            message: "rmapfuzz's shims of the kernel headers are not here: this rmapfuzz was \
                      built from a checkout that has moved or gone; rebuild it from yours"
                .to_owned(),
        });
    }
    Ok(place::shim_names(dir))
}

/// What a generation's glue (`csrc/kernel_glue/`) calls beyond the core,
/// with the file that generation keeps it in: the tree's anon interval tree
/// (which the harness's callers, fault path and rmap walk then use, so the
/// tree's own tree is what runs) and, in 7.3, its anonymous page offset
/// helpers, which the harness's callers use as the kernel's callers do.
fn glue_needs(generation: Generation) -> &'static [(&'static str, &'static str)] {
    match generation {
        Generation::Degree | Generation::PreSeries | Generation::PostSeries => &[
            ("anon_vma_interval_tree_insert", INTERVAL_TREE_C),
            ("anon_vma_interval_tree_remove", INTERVAL_TREE_C),
            ("anon_vma_interval_tree_iter_first", INTERVAL_TREE_C),
            ("anon_vma_interval_tree_iter_next", INTERVAL_TREE_C),
        ],
        Generation::AnonPgoff => &[
            ("anon_rmap_tree_insert", INTERVAL_TREE_C),
            ("anon_rmap_tree_remove", INTERVAL_TREE_C),
            ("anon_rmap_tree_iter_first", INTERVAL_TREE_C),
            ("anon_rmap_tree_iter_next", INTERVAL_TREE_C),
            ("vma_start_anon_pgoff", MM_H),
            ("linear_anon_page_index", PAGEMAP_H),
            ("vma_anon_address", INTERNAL_H),
            ("__vma_set_anon_pgoff", VMA_H),
        ],
    }
}

/// Words only a tree with an anonymous page offset (7.3) uses.
const ANON_PGOFF_WORDS: &[&str] = &["vma_start_anon_pgoff", "linear_anon_page_index"];

/// The functions of mm/rmap.c that make up the core.
pub(crate) const CORE_FUNCTIONS: &[&str] = &[
    "__anon_vma_prepare",
    "anon_vma_clone",
    "anon_vma_fork",
    "unlink_anon_vmas",
    "__put_anon_vma",
    "anon_vma_init",
];

/// The read side of mm/rmap.c: how an rmap walker reaches the anon_vma of
/// a folio and walks it. Taken when the tree's versions fit rmapfuzz's
/// shims (a folio-based tree, Linux 6.x and later); otherwise the harness's
/// own read side serves, and the extraction says why.
pub const READ_SIDE_FUNCTIONS: &[&str] = &[
    "folio_get_anon_vma",
    "folio_lock_anon_vma_read",
    "rmap_walk_anon",
];

/// Header inlines the core and the glue rely on (required), and optional ones.
pub(crate) const HEADER_INLINES: &[&str] = &[
    "get_anon_vma",
    "put_anon_vma",
    "anon_vma_lock_write",
    "anon_vma_unlock_write",
    "anon_vma_lock_read",
    "anon_vma_unlock_read",
];
const OPTIONAL_HEADER_ITEMS: &[&str] = &["anon_vma_merge", "enum vma_operation"];

struct Source {
    rel: &'static str,
    path: PathBuf,
    text: String,
    items: Vec<Item>,
}

impl Source {
    fn read(tree: &Path, rel: &'static str) -> Result<Source, ExtractError> {
        let path = tree.join(rel);
        let text = std::fs::read_to_string(&path).map_err(|e| ExtractError {
            file: path.clone(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        let items = scan::items(&text);
        Ok(Source {
            rel,
            path,
            text,
            items,
        })
    }

    fn find(&self, name: &str, kinds: &[Kind]) -> Option<&Item> {
        self.items
            .iter()
            .find(|i| i.name == name && kinds.contains(&i.kind))
    }

    fn text_of(&self, item: &Item) -> &str {
        &self.text[item.start..item.end]
    }

    fn error(&self, message: impl Into<String>) -> ExtractError {
        ExtractError {
            file: self.path.clone(),
            line: None,
            message: message.into(),
        }
    }

    fn error_at(&self, item: &Item, message: impl Into<String>) -> ExtractError {
        ExtractError {
            line: Some(item.line),
            ..self.error(message)
        }
    }

    fn index_of(&self, item: &Item) -> usize {
        self.items
            .iter()
            .position(|i| i.start == item.start)
            .expect("item of this file")
    }
}

/// The tree's version, from its top-level Makefile.
pub fn kernel_version(tree: &Path) -> Result<String, ExtractError> {
    let path = tree.join(MAKEFILE);
    let text = std::fs::read_to_string(&path).map_err(|e| ExtractError {
        file: path.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    let (Some(v), Some(p)) = (field("VERSION"), field("PATCHLEVEL")) else {
        return Err(ExtractError {
            file: path,
            line: None,
            message: "no VERSION / PATCHLEVEL lines: not a Linux tree".into(),
        });
    };
    let sub = field("SUBLEVEL").unwrap_or_else(|| "0".into());
    Ok(format!(
        "{v}.{p}.{sub}{}",
        field("EXTRAVERSION").unwrap_or_default()
    ))
}

/// The generation of a tree, from the shape of `struct anon_vma` and of
/// `anon_vma_clone`.
fn detect(
    rmap_h: &Source,
    anon_vma: &Item,
    rmap_c: &Source,
    clone: &Item,
) -> Result<Generation, ExtractError> {
    let fields = identifiers(rmap_h.text_of(anon_vma));
    let params = scan::code_only(rmap_c.text_of(clone));
    let params = &params[params.find('(').unwrap_or(0)..params.find(')').unwrap_or(0)];
    let nparams = params.split(',').count();
    if fields.contains(&"degree") {
        return Ok(Generation::Degree);
    }
    if !fields.contains(&"num_active_vmas") || !fields.contains(&"num_children") {
        return Err(rmap_h
            .error("struct anon_vma has neither `degree` nor `num_children`/`num_active_vmas`"));
    }
    match nparams {
        2 => Ok(Generation::PreSeries),
        3 => Ok(Generation::PostSeries),
        n => Err(rmap_c.error(format!(
            "anon_vma_clone takes {n} parameters (expected 2 or 3)"
        ))),
    }
}

/// Extracts the anon_vma core of the tree at `tree` as the variant `kernel`.
pub fn extract(tree: &Path) -> Result<Extraction, ExtractError> {
    extract_as(tree, KERNEL)
}

/// Whether the tree has 7.3's anonymous page offset.
fn has_anon_pgoff(sources: &[Source]) -> Option<&Source> {
    sources.iter().find(|s| {
        identifiers(&s.text)
            .iter()
            .any(|w| ANON_PGOFF_WORDS.contains(w))
    })
}

/// Extracts the anon_vma core of the tree at `tree` into `slot`.
pub fn extract_as(tree: &Path, slot: Slot) -> Result<Extraction, ExtractError> {
    let version = kernel_version(tree)?;
    let mut sources = Vec::new();
    for &(rel, required) in TREE_FILES {
        match Source::read(tree, rel) {
            Ok(src) => sources.push(src),
            Err(e) if required => return Err(e),
            Err(_) => {}
        }
    }
    let file = |rel: &str| sources.iter().position(|s| s.rel == rel);
    let (rmap_c, rmap_h, internal_h) = (
        file(RMAP_C).expect("required"),
        file(RMAP_H).expect("required"),
        file(INTERNAL_H).expect("required"),
    );
    let headers = [rmap_h, internal_h];

    let find_type = |name: &str| -> Result<(usize, &Item), ExtractError> {
        headers
            .iter()
            .find_map(|&h| sources[h].find(name, &[Kind::Struct]).map(|i| (h, i)))
            .ok_or_else(|| sources[rmap_h].error(format!("no definition of `{name}`")))
    };
    let (anon_vma_src, anon_vma) = find_type("struct anon_vma")?;
    let (avc_src, avc) = find_type("struct anon_vma_chain")?;

    let mut roots = Vec::new();
    for name in CORE_FUNCTIONS {
        let Some(item) = sources[rmap_c].find(name, &[Kind::Function]) else {
            let why = format!("no definition of `{name}` (expected in the anon_vma core)");
            // Where the tree declares it, when it does.
            let declared = headers
                .iter()
                .find_map(|&h| sources[h].find(name, &[Kind::Prototype]).map(|i| (h, i)));
            return Err(match declared {
                Some((h, proto)) => sources[h].error_at(
                    proto,
                    format!("`{name}` is declared here, but {RMAP_C} has {why}"),
                ),
                None => sources[rmap_c].error(why),
            });
        };
        roots.push(item);
    }
    let clone = roots[1];
    let mut generation = detect(&sources[anon_vma_src], anon_vma, &sources[rmap_c], clone)?;
    if let Some(src) = has_anon_pgoff(&sources) {
        if generation != Generation::PostSeries {
            return Err(src.error(format!(
                "an anonymous page offset (vma_start_anon_pgoff) in a {generation} tree: \
                 rmapfuzz knows it only after the anon_vma series (Linux 7.3)"
            )));
        }
        generation = Generation::AnonPgoff;
    }

    // Header pieces: the two structs, the inlines, and what exists of the
    // optional ones, from whichever header holds them in this version.
    let mut picks: Vec<(usize, &Item)> = vec![(anon_vma_src, anon_vma), (avc_src, avc)];
    for name in HEADER_INLINES.iter().chain(OPTIONAL_HEADER_ITEMS) {
        let kinds = [Kind::Function, Kind::Enum];
        let found = headers
            .iter()
            .find_map(|&h| sources[h].find(name, &kinds).map(|i| (h, i)));
        match found {
            Some(pick) => picks.push(pick),
            None if HEADER_INLINES.contains(name) => {
                return Err(sources[rmap_h]
                    .error(format!("no inline `{name}` in {RMAP_H} or {INTERNAL_H}")))
            }
            None => {}
        }
    }
    // The headers' prototypes of the core's exported functions, which the
    // inlines and the helpers call before their definitions.
    for name in CORE_FUNCTIONS {
        if let Some(pick) = headers
            .iter()
            .find_map(|&h| sources[h].find(name, &[Kind::Prototype]).map(|i| (h, i)))
        {
            picks.push(pick);
        }
    }
    let picked = |name: &str| picks.iter().any(|(_, i)| i.name == name);
    if generation >= Generation::PostSeries && !picked("enum vma_operation") {
        return Err(sources[rmap_c].error_at(
            clone,
            format!("a three-argument anon_vma_clone but no `enum vma_operation` in {RMAP_H} or {INTERNAL_H}"),
        ));
    }
    if generation < Generation::PostSeries && !picked("anon_vma_merge") {
        return Err(
            sources[rmap_h].error("no inline `anon_vma_merge` (expected before the series)")
        );
    }

    let shims = shims_in(Path::new(SHIM_DIR))?;
    let mut placer = Placer::new(&sources, &shims, generation);
    for (f, item) in &picks {
        placer.take(*f, sources[*f].index_of(item));
    }
    for item in &roots {
        placer.take(rmap_c, sources[rmap_c].index_of(item));
    }
    for &(name, expected) in glue_needs(generation) {
        match placer.find(name, 0) {
            Some((f, i)) => placer.take(f, i),
            None => return Err(placer.missing(name, expected, tree)),
        }
    }
    placer.close()?;
    // The read side, when everything it needs can be placed too.
    let mut with_read_side = placer.clone();
    let read_side_absent = match take_read_side(&sources, rmap_c, rmap_h, &mut with_read_side) {
        Ok(()) => {
            placer = with_read_side;
            None
        }
        Err(e) => Some(e.to_string()),
    };

    // Types first, then prototypes and macros, then definitions; each group
    // in file order (TREE_FILES), so a definition precedes its uses.
    let rank = |k: Kind| match k {
        Kind::Struct => 0,
        Kind::Enum => 1,
        Kind::Prototype => 2,
        Kind::Directive => 3,
        _ => 4,
    };
    let mut order: Vec<(usize, usize)> = placer.taken.iter().copied().collect();
    order.sort_by_key(|&(f, i)| (rank(sources[f].items[i].kind), f, sources[f].items[i].start));

    let mut taken = Vec::new();
    let mut body = String::new();
    let mut renamed: BTreeSet<String> = BTreeSet::new();
    for (f, i) in order {
        let (src, item) = (&sources[f], &sources[f].items[i]);
        body.push_str(&format!("#line {} \"{}\"\n", item.line, src.path.display()));
        body.push_str(src.text_of(item));
        body.push('\n');
        taken.push(Taken {
            file: src.path.clone(),
            line: item.line,
            kind: item.kind,
            name: item.name.clone(),
        });
        if matches!(
            item.kind,
            Kind::Function | Kind::Prototype | Kind::Declaration
        ) && !item.name.is_empty()
        {
            renamed.insert(item.name.clone());
        }
    }

    let mut source = String::new();
    source.push_str(&format!(
        "/* Generated by rmapfuzz from {} (Linux {version}, {generation} generation). Do not edit. */\n",
        tree.display()
    ));
    source.push_str("#define RMAPFUZZ_EXTRACTED_TYPES 1\n#include <rmapfuzz/kernel_shim.h>\n\n");
    source.push_str("/* The extracted code links beside the harness's own cores. */\n");
    for name in &renamed {
        source.push_str(&format!("#define {name} {}{name}\n", slot.prefix));
    }
    source.push('\n');
    source.push_str(&body);
    let inputs: Vec<&str> = sources.iter().map(|s| s.rel).chain([MAKEFILE]).collect();
    let hash = files_hash(tree, &inputs);
    source.push_str(&format!(
        "\n#line 1 \"rmapfuzz-kernel-glue\"\n\
         #define RMAPFUZZ_KERNEL_VERSION \"{version}\"\n\
         #define RMAPFUZZ_KERNEL_HASH \"{hash}\"\n\
         #define RMAPFUZZ_CORE_NAME \"{}\"\n\
         #define RMAPFUZZ_CORE_TABLE {}\n",
        slot.variant, slot.table
    ));
    if read_side_absent.is_none() {
        source.push_str("#define RMAPFUZZ_KERNEL_READ_SIDE 1\n");
    }
    source.push_str(&format!("#include \"{}\"\n", generation.glue()));

    Ok(Extraction {
        generation,
        version,
        source,
        taken,
        inputs: inputs.iter().map(|f| tree.join(f)).collect(),
        hash,
        read_side_absent,
    })
}

/// Takes the read side ([`READ_SIDE_FUNCTIONS`] and `struct
/// rmap_walk_control`) into `placer`, with everything it calls.
fn take_read_side(
    sources: &[Source],
    rmap_c: usize,
    rmap_h: usize,
    placer: &mut Placer,
) -> Result<(), ExtractError> {
    let control = sources[rmap_h]
        .find("struct rmap_walk_control", &[Kind::Struct])
        .ok_or_else(|| sources[rmap_h].error("no `struct rmap_walk_control`"))?;
    placer.take(rmap_h, sources[rmap_h].index_of(control));
    for name in READ_SIDE_FUNCTIONS {
        let item = sources[rmap_c]
            .find(name, &[Kind::Function])
            .ok_or_else(|| sources[rmap_c].error(format!("no definition of `{name}`")))?;
        // A page-based read side (before folios) does not fit the shims.
        let head = scan::code_only(sources[rmap_c].text_of(item));
        let head = &head[..head.find('{').unwrap_or(head.len())];
        if !head.contains("struct folio") {
            return Err(sources[rmap_c].error_at(
                item,
                format!("`{name}` does not take a folio: the harness's read side serves"),
            ));
        }
        placer.take(rmap_c, sources[rmap_c].index_of(item));
    }
    placer.close()
}

#[cfg(test)]
mod tests;
