//! The anon_vma core variants rmapfuzz can run, and how each is judged.

use std::fmt;
use std::sync::OnceLock;

/// The shapes the anon_vma code has had (see `rmap-extract`); two cores of
/// one generation can be compared strictly. Our `mainline`, the zoo and the
/// oracle are post-series; our `pre-series` core is what its name says.
pub use rmap_extract::Generation;

/// The generation the oracle models when it is the reference of a core of
/// `generation`: post-series, with 7.3's anonymous page offset if the core
/// has one.
pub fn oracle_generation(generation: Generation) -> Generation {
    if generation == Generation::AnonPgoff {
        Generation::AnonPgoff
    } else {
        Generation::PostSeries
    }
}

/// The generation of a kernel build, by the name build.rs recorded.
fn generation_of(k: rmap_ffi::KernelBuild) -> Generation {
    Generation::from_name(k.generation).unwrap_or(Generation::PostSeries)
}

/// How a C variant is compared with its reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Same semantics, same allocation order: outcomes, allocation sites
    /// and canonical snapshots must be equal after every operation (a
    /// degree-era core's single counter is compared with the sum of the
    /// reference's two).
    Strict,
    /// Correct, but different in which ancestor fork reuses, in chain
    /// order and in allocation order: outcomes and the [shape] of the world
    /// must agree while no injected failure separates the two; invariants,
    /// hygiene and rollback are checked on the C side throughout.
    ///
    /// [shape]: crate::check::snapshot::Snapshot::shape
    Relaxed,
}

impl Mode {
    /// How two cores of these generations can be compared: strictly within
    /// one generation, and across the 2022 counter split (which changed the
    /// counters' representation, not the behaviour of correct code); in
    /// shape across the series, which changed chain order, allocation
    /// order and which ancestor fork reuses.
    pub fn between(a: Generation, b: Generation) -> Mode {
        use Generation::*;
        match (a, b) {
            _ if a == b => Mode::Strict,
            (Degree, PreSeries) | (PreSeries, Degree) => Mode::Strict,
            // 7.3 kept the core and added a key that equals vm_pgoff for
            // every anonymous VMA (checked on its side: vma.anon_pgoff).
            (PostSeries, AnonPgoff) | (AnonPgoff, PostSeries) => Mode::Strict,
            _ => Mode::Relaxed,
        }
    }

    /// What a comparison in this mode between these generations leaves
    /// out, for reports.
    pub fn left_out(self, a: Generation, b: Generation) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self == Mode::Relaxed {
            out.extend([
                "which ancestor a fork reuses",
                "chain order",
                "allocation order and counts",
                "anon_vma identities, counters and trees",
                "injected failures (the reference is not injected)",
            ]);
        }
        if (a == Generation::Degree) != (b == Generation::Degree) {
            out.push("num_children and num_active_vmas apart (compared as their sum, degree)");
        }
        if (a == Generation::AnonPgoff) != (b == Generation::AnonPgoff) {
            out.push("the anonymous page offset (7.3's; the other side has none)");
        }
        out
    }
}

/// What a variant's C side is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The Rust oracle (`mainline` semantics).
    Oracle,
    /// Another C variant of the harness: our `pre-series` core for a kernel
    /// tree from before the series, or a base tree (`kernel-base`).
    C(&'static str),
    /// Nothing: the variant is judged by the contracts, the lock rules,
    /// hygiene, AddressSanitizer and leaks alone.
    None,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Oracle => f.write_str("oracle"),
            Reference::C(name) => match built_tree(name) {
                Some(k) => write!(f, "C {name} (Linux {}, {})", k.version, k.generation),
                None => write!(f, "C {name}"),
            },
            Reference::None => f.write_str("no reference"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: &'static str,
    /// How reports name it: the name, and for `kernel` the tree's version
    /// and generation.
    pub label: &'static str,
    pub summary: &'static str,
    /// A correct variant must never fail a check.
    pub correct: bool,
    pub generation: Generation,
    pub mode: Mode,
    pub reference: Reference,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label)
    }
}

impl Variant {
    /// Snapshot fields this variant's core does not have: left out of its
    /// comparisons, their invariants replaced (see the report's note).
    pub fn relaxed_checks(&self) -> Vec<&'static str> {
        rmap_ffi::relaxed_checks(self.name)
    }

    /// Whether its world can run races (`crate::language::race`): every
    /// one but a tree's own world (`kernel-vma`), whose locks and
    /// allocators are the tree's tools/testing/vma's.
    pub fn can_race(&self) -> bool {
        self.name != KERNEL_VMA_VARIANT
    }

    /// The generation of what this variant is compared with.
    pub fn reference_generation(&self) -> Option<Generation> {
        match self.reference {
            Reference::Oracle => Some(oracle_generation(self.generation)),
            Reference::C(name) => base_variants()
                .iter()
                .find(|v| v.name == name)
                .map(|v| v.generation),
            Reference::None => None,
        }
    }

    /// What the comparison with the reference leaves out, for reports.
    pub fn left_out(&self) -> Vec<&'static str> {
        match self.reference_generation() {
            Some(g) => self.mode.left_out(self.generation, g),
            None => Vec::new(),
        }
    }

    /// Whose code ran: the anon_vma core, its interval tree and the
    /// callers that drive it (split, merges, mremap, munmap, madvise, fork,
    /// fault, exit).
    pub fn what_ran(&self) -> String {
        if self.name == KERNEL_VMA_VARIANT {
            let mut s = String::from(
                "ran the tree's anon_vma core, its interval tree (mm/interval_tree.c over \
                 lib/rbtree.c) and its mm/vma.c (mmap_region where mm/vma.c has it, split, \
                 merges, copy_vma, munmap, flag changes; built as its tools/testing/vma builds \
                 it), under rmapfuzz's fault, fork, exit and rmap walk (csrc/tree_vma)",
            );
            if let Some(why) = rmap_ffi::KERNEL_VMA_UNMODELLED {
                s += &format!(" ({why})");
            }
            s
        } else if self.tree().is_some() {
            let mut s = String::from(
                "ran the tree's anon_vma core and its interval tree (mm/interval_tree.c over \
                 lib/rbtree.c) under rmapfuzz's callers (csrc/mm)",
            );
            let read_side_absent = if self.name == KERNEL_VARIANT {
                rmap_ffi::KERNEL_READ_SIDE_ABSENT
            } else {
                rmap_ffi::KERNEL_BASE_READ_SIDE_ABSENT
            };
            match read_side_absent {
                None => {
                    s += ", its rmap walkers' read side (folio_get_anon_vma, \
                      folio_lock_anon_vma_read, rmap_walk_anon) included"
                }
                Some(why) => s += &format!(", with rmapfuzz's read side for its walkers ({why})"),
            }
            if self.name == KERNEL_VARIANT {
                match rmap_ffi::KERNEL_VMA_ABSENT {
                    Some(why) => s += &format!(" (the tree's own mm/vma.c cannot run: {why})"),
                    None => s += " (variant kernel-vma runs it under its own mm/vma.c)",
                }
            }
            s
        } else {
            "ran rmapfuzz's C core, interval tree and callers (csrc/mm)".into()
        }
    }

    /// Whether its world has a maple tree whose preallocations `maple=N`
    /// can fail: only a tree's own mm/vma.c does.
    pub fn has_maple_tree(&self) -> bool {
        self.name == KERNEL_VMA_VARIANT
    }

    /// The kernel tree this variant was built from, if any.
    pub fn tree(&self) -> Option<rmap_ffi::KernelBuild> {
        built_tree(self.name)
    }

    /// One line that says what this variant is and what judges it: the
    /// tree (path, version, hash of the files taken) for a kernel variant,
    /// the reference and how it is compared, and what that leaves out.
    pub fn verdict_basis(&self) -> String {
        let mut s = String::new();
        if let Some(k) = self.tree() {
            s += &format!(
                "{} is {} (Linux {}, {} generation, files {})",
                self.name, k.tree, k.version, k.generation, k.hash
            );
            s += "; ";
        }
        s += &self.what_ran();
        s += "; ";
        match self.reference {
            Reference::None if self.name == KERNEL_VMA_VARIANT => {
                // The world's locks are its own pthread locks: of the lock
                // rules, only the anon interval tree's (csrc/tree_vma/locks.c).
                s += "judged by contracts, the interval tree's lock rule, hygiene, ASan and \
                      leaks alone, compared with nothing"
            }
            Reference::None => s += "judged by contracts, lock rules, hygiene, ASan and leaks alone, compared with nothing",
            r => {
                let how = match self.mode {
                    Mode::Strict => "strictly",
                    Mode::Relaxed => "in shape",
                };
                s += &format!("compared {how} with the {r}");
                if let Some(k) = built_tree(match r {
                    Reference::C(n) => n,
                    _ => "",
                }) {
                    s += &format!(" ({}, files {})", k.tree, k.hash);
                }
                let out = self.left_out();
                if !out.is_empty() {
                    s += &format!("; left out: {}", out.join(", "));
                }
            }
        }
        s
    }
}

/// The kernel tree built in as the variant `name`, if any.
fn built_tree(name: &str) -> Option<rmap_ffi::KernelBuild> {
    [
        rmap_ffi::KERNEL,
        rmap_ffi::KERNEL_VMA,
        rmap_ffi::KERNEL_BASE,
    ]
    .into_iter()
    .flatten()
    .find(|k| k.variant == name)
}

/// The variants every build has.
pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "mainline",
        label: "mainline",
        summary: "the anon_vma series as merged, with its later fix (Linux 7.x); the oracle's semantics",
        correct: true,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "pre-series",
        label: "pre-series",
        summary: "the code before the series (Linux 6.12): lock_anon_vma_root, GFP_NOWAIT retry, clone-then-allocate fork",
        correct: true,
        generation: Generation::PreSeries,
        mode: Mode::Relaxed,
        reference: Reference::Oracle,
    },
    Variant {
        name: "anon-pgoff",
        label: "anon-pgoff",
        summary: "mainline in Linux 7.3's shape: AVCs keyed and pages indexed by a separate anonymous page offset",
        correct: true,
        generation: Generation::AnonPgoff,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
];

/// The bug zoo (`csrc/zoo/`): cores with one known defect each, which
/// rmapfuzz must catch.
pub const ZOO: &[Variant] = &[
    Variant {
        name: "v2-fork-enomem",
        label: "v2-fork-enomem",
        summary: "v2 of the series: fork clones, then allocates; a failure there leaves the child's AVCs in the parent's trees",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "v3-as-posted",
        label: "v3-as-posted",
        summary: "the series as posted in v3: a failed merge clone leaves the unfaulted VMA's anon_vma set",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "degree-double-reuse",
        label: "degree-double-reuse",
        summary: "fork reuses an ancestor when children + VMAs < 2 (the single degree counter, CVE-2022-42703)",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "reuse-on-split",
        label: "reuse-on-split",
        summary: "a split, like a fork, adopts an ancestor no VMA uses instead of the source's anon_vma",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "unlocked-insert",
        label: "unlocked-insert",
        summary: "anon_vma_clone() fills the interval trees before taking the root lock",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "stale-pgoff",
        label: "stale-pgoff",
        summary: "a range change re-keys only the VMA's own AVC, leaving its ancestors' links under the old key",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "unlink-wrong-parent",
        label: "unlink-wrong-parent",
        summary: "unlink_anon_vmas() drops the child count of the root instead of the parent",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "fork-pins-parent",
        label: "fork-pins-parent",
        summary: "anon_vma_fork() pins the parent instead of the root",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "prepare-counts-new-only",
        label: "prepare-counts-new-only",
        summary: "__anon_vma_prepare() counts the VMA only on a new anon_vma, not on a neighbour's",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "reuse-two-children",
        label: "reuse-two-children",
        summary: "maybe_reuse_anon_vma() accepts an ancestor with two children",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "fork-counts-unlocked",
        label: "fork-counts-unlocked",
        summary: "anon_vma_fork() counts the new child on its parent after dropping the family's lock",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "prepare-shares-fork-child",
        label: "prepare-shares-fork-child",
        summary: "__anon_vma_prepare() shares a neighbour's anon_vma even when the neighbour is a fork child (before d0e9fe1758f2, 2010)",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "locks-own-rwsem",
        label: "locks-own-rwsem",
        summary: "the core's lock helpers take the anon_vma's own rwsem instead of its family root's",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "anon-pgoff-low-half",
        label: "anon-pgoff-low-half",
        summary: "7.3's shape with a setter of the anonymous page offset that writes only its low 32-bit half",
        correct: false,
        generation: Generation::AnonPgoff,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "unlink-frees-before-del",
        label: "unlink-frees-before-del",
        summary: "unlink_anon_vmas() frees an AVC, then takes it off the VMA's chain",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
];

/// The race zoo (`csrc/zoo/`): defects of the read side (the rmap
/// walkers' way to an anon_vma), which only a race can show; caught by
/// `explore --race` and by the races of `corpus/zoo/`.
pub const RACE_ZOO: &[Variant] = &[
    Variant {
        name: "walk-unlocked",
        label: "walk-unlocked",
        summary: "the rmap walk takes no lock: it walks a family's tree while others change it",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "free-without-wait",
        label: "free-without-wait",
        summary: "anon_vma_free() does not wait for a reader holding the root's rwsem (no lock-and-release)",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "get-anon-vma-plain-inc",
        label: "get-anon-vma-plain-inc",
        summary: "folio_get_anon_vma() takes its reference with a plain increment, not atomic_inc_not_zero()",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "lock-read-no-recheck",
        label: "lock-read-no-recheck",
        summary: "folio_lock_anon_vma_read() does not check again that the folio is mapped after its trylock",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "walk-own-rwsem",
        label: "walk-own-rwsem",
        summary: "the rmap walk locks the anon_vma's own rwsem instead of its family root's",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "publish-without-release",
        label: "publish-without-release",
        summary: "__anon_vma_prepare() publishes vma->anon_vma with a plain store, not smp_store_release()",
        correct: false,
        generation: Generation::PostSeries,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
];

/// The name of the variant built from a kernel tree (`--kernel-src`).
pub const KERNEL_VARIANT: &str = "kernel";
/// The name of the variant that runs the tree under test with its own
/// mm/vma.c (a tree with tools/testing/vma).
pub const KERNEL_VMA_VARIANT: &str = "kernel-vma";
/// The name of the variant built from a base tree (`--reference-src`).
pub const KERNEL_BASE_VARIANT: &str = "kernel-base";

/// A variant built from a kernel tree. Its default reference: a base tree
/// when one is built in (for `kernel`), else the oracle for a post-series
/// tree and our C `pre-series` core for an older one; strictly when the
/// generations allow it (see [`Mode::between`]).
fn kernel_variant(k: rmap_ffi::KernelBuild) -> Variant {
    let generation = generation_of(k);
    let (reference, reference_generation) = match rmap_ffi::KERNEL_BASE {
        _ if k.variant == KERNEL_VMA_VARIANT && rmap_ffi::KERNEL_VMA_UNMODELLED.is_some() => {
            (Reference::None, generation)
        }
        Some(base) if k.variant == KERNEL_VARIANT => {
            (Reference::C(KERNEL_BASE_VARIANT), generation_of(base))
        }
        _ if matches!(generation, Generation::PostSeries | Generation::AnonPgoff) => {
            (Reference::Oracle, generation)
        }
        _ => (Reference::C("pre-series"), Generation::PreSeries),
    };
    let label = format!("{} {} ({})", k.variant, k.version, k.generation);
    let summary = format!(
        "the anon_vma core of Linux {} ({} generation), extracted from {} (files {})",
        k.version, k.generation, k.tree, k.hash
    );
    Variant {
        name: k.variant,
        label: Box::leak(label.into_boxed_str()),
        summary: Box::leak(summary.into_boxed_str()),
        correct: true,
        generation,
        mode: Mode::between(generation, reference_generation),
        reference,
    }
}

/// The variants as built, before any `--reference` choice.
fn base_variants() -> &'static [Variant] {
    static BASE: OnceLock<Vec<Variant>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut v = VARIANTS.to_vec();
        v.extend(rmap_ffi::KERNEL.map(kernel_variant));
        v.extend(rmap_ffi::KERNEL_VMA.map(kernel_variant));
        v.extend(rmap_ffi::KERNEL_BASE.map(kernel_variant));
        v.extend_from_slice(ZOO);
        v.extend_from_slice(RACE_ZOO);
        v
    })
}

/// A reference chosen on the command line (`--reference`) or by
/// `RMAPFUZZ_REFERENCE` (the fuzz targets): `none`, `oracle` or the name of
/// a C variant.
static CHOSEN_REFERENCE: OnceLock<String> = OnceLock::new();

/// Why a reference cannot be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("--reference {0}: expected none, oracle or a C variant ({1})")]
    Unknown(String, String),
    #[error("--reference was already chosen as {0}")]
    AlreadyChosen(String),
}

/// Makes every variant (but the reference itself) compare with `choice`.
/// Call before anything looks a variant up.
pub fn choose_reference(choice: &str) -> Result<(), ReferenceError> {
    let known: Vec<&str> = base_variants().iter().map(|v| v.name).collect();
    if !matches!(choice, "none" | "oracle") && !known.contains(&choice) {
        return Err(ReferenceError::Unknown(choice.to_owned(), known.join(", ")));
    }
    CHOSEN_REFERENCE
        .set(choice.to_owned())
        .map_err(|_| ReferenceError::AlreadyChosen(choice.to_owned()))
}

fn chosen_reference() -> Option<String> {
    CHOSEN_REFERENCE.get().cloned().or_else(|| {
        std::env::var("RMAPFUZZ_REFERENCE")
            .ok()
            .filter(|r| !r.is_empty())
    })
}

/// `v` compared with `choice` instead of its own reference.
fn with_reference(mut v: Variant, choice: &str) -> Variant {
    if v.name == choice {
        return v;
    }
    let (reference, generation) = match choice {
        "none" => (Reference::None, None),
        "oracle" => (Reference::Oracle, Some(oracle_generation(v.generation))),
        name => match base_variants().iter().find(|b| b.name == name) {
            Some(b) => (Reference::C(b.name), Some(b.generation)),
            None => return v,
        },
    };
    v.reference = reference;
    if let Some(g) = generation {
        v.mode = Mode::between(v.generation, g);
    }
    v
}

/// Every variant of this build: [`VARIANTS`], `kernel` (and `kernel-base`)
/// if built in, then the [`ZOO`]; each with its reference (the chosen one,
/// if any).
pub fn all() -> &'static [Variant] {
    static ALL: OnceLock<Vec<Variant>> = OnceLock::new();
    ALL.get_or_init(|| {
        let chosen = chosen_reference();
        base_variants()
            .iter()
            .map(|&v| match &chosen {
                Some(c) => with_reference(v, c),
                None => v,
            })
            .collect()
    })
}

/// The variant used when none is named: `kernel` when this build carries
/// a kernel tree (`kernel-vma`, the tree under its own mm/vma.c, is named
/// with --variant), else `mainline`.
pub fn default_variant() -> &'static str {
    if rmap_ffi::KERNEL.is_some() {
        KERNEL_VARIANT
    } else {
        "mainline"
    }
}

/// The variants a build that carries a kernel tree runs by default: the
/// tree under rmapfuzz's callers, and with its own callers where it can
/// (but against a base tree, whose core runs under rmapfuzz's callers,
/// only the former: that comparison is tree against tree).
pub fn kernel_variants() -> Vec<&'static str> {
    let mut v = Vec::new();
    if rmap_ffi::KERNEL.is_some() {
        v.push(KERNEL_VARIANT);
    }
    if rmap_ffi::KERNEL_VMA.is_some() && rmap_ffi::KERNEL_BASE.is_none() {
        v.push(KERNEL_VMA_VARIANT);
    }
    v
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown variant `{name}` (known: {known}){hint}")]
pub struct UnknownVariant {
    pub name: String,
    pub known: String,
    pub hint: &'static str,
}

pub fn find(name: &str) -> Result<Variant, UnknownVariant> {
    all()
        .iter()
        .copied()
        .find(|v| v.name == name)
        .ok_or_else(|| UnknownVariant {
            name: name.to_owned(),
            known: all().iter().map(|v| v.name).collect::<Vec<_>>().join(", "),
            hint: if name == KERNEL_VARIANT {
                "; the kernel variant needs a tree: --kernel-src PATH (or RMAPFUZZ_KERNEL_SRC at build time)"
            } else if name == KERNEL_VMA_VARIANT {
                "; the kernel-vma variant needs a tree whose tools/testing/vma rmapfuzz can build (Linux 7.0 on): --kernel-src PATH"
            } else if name == KERNEL_BASE_VARIANT {
                "; the kernel-base variant needs a base tree: --reference-src PATH (with --kernel-src)"
            } else {
                ""
            },
        })
}

/// The correct variants, in the order replay runs them.
pub fn correct() -> impl Iterator<Item = Variant> {
    all().iter().copied().filter(|v| v.correct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_exists_in_the_c_harness() {
        let built = rmap_ffi::variants();
        for v in all() {
            assert!(
                built.contains(&v.name),
                "{} is not compiled into csrc/",
                v.name
            );
        }
        assert!(find("nonsense")
            .unwrap_err()
            .to_string()
            .contains("mainline"));
    }
}
