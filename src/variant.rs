//! The anon_vma core variants rmapfuzz can run, and how each is judged.

use std::fmt;
use std::sync::OnceLock;

/// How a C variant is compared with the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Same semantics, same allocation order: outcomes, allocation sites
    /// and canonical snapshots must be equal after every operation.
    Strict,
    /// Correct, but different in which ancestor fork reuses, in chain
    /// order and in allocation order: outcomes and the [shape] of the world
    /// must agree while no injected failure separates the two; invariants,
    /// hygiene and rollback are checked on the C side throughout.
    ///
    /// [shape]: crate::snapshot::Snapshot::shape
    Relaxed,
}

/// What a variant's C side is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The Rust oracle (`mainline` semantics).
    Oracle,
    /// Another C variant of the harness, for cores older than the oracle's
    /// semantics (a kernel tree from before the series).
    C(&'static str),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Oracle => f.write_str("oracle"),
            Reference::C(name) => write!(f, "C {name}"),
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
}

/// The variants every build has.
pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "mainline",
        label: "mainline",
        summary: "the anon_vma series as merged, with its later fix (Linux 7.x); the oracle's semantics",
        correct: true,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "pre-series",
        label: "pre-series",
        summary: "the code before the series (Linux 6.12): lock_anon_vma_root, GFP_NOWAIT retry, clone-then-allocate fork",
        correct: true,
        mode: Mode::Relaxed,
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
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "v3-as-posted",
        label: "v3-as-posted",
        summary: "the series as posted in v3: a failed merge clone leaves the unfaulted VMA's anon_vma set",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "degree-double-reuse",
        label: "degree-double-reuse",
        summary: "fork reuses an ancestor when children + VMAs < 2 (the single degree counter, CVE-2022-42703)",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "reuse-on-split",
        label: "reuse-on-split",
        summary: "a split, like a fork, adopts an ancestor no VMA uses instead of the source's anon_vma",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "unlocked-insert",
        label: "unlocked-insert",
        summary: "anon_vma_clone() fills the interval trees before taking the root lock",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "stale-pgoff",
        label: "stale-pgoff",
        summary: "a range change re-keys only the VMA's own AVC, leaving its ancestors' links under the old key",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "unlink-wrong-parent",
        label: "unlink-wrong-parent",
        summary: "unlink_anon_vmas() drops the child count of the root instead of the parent",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "fork-pins-parent",
        label: "fork-pins-parent",
        summary: "anon_vma_fork() pins the parent instead of the root",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "prepare-counts-new-only",
        label: "prepare-counts-new-only",
        summary: "__anon_vma_prepare() counts the VMA only on a new anon_vma, not on a neighbour's",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
    Variant {
        name: "reuse-two-children",
        label: "reuse-two-children",
        summary: "maybe_reuse_anon_vma() accepts an ancestor with two children",
        correct: false,
        mode: Mode::Strict,
        reference: Reference::Oracle,
    },
];

/// The name of the variant built from a kernel tree (`--kernel-src`).
pub const KERNEL_VARIANT: &str = "kernel";

/// The `kernel` variant, when this build carries a kernel tree's core: a
/// post-series tree is held strictly to the oracle; an older one to our
/// `pre-series` core, strictly when it has the same counters, in shape
/// when it is from the degree era.
fn kernel_variant(k: rmap_ffi::KernelBuild) -> Variant {
    let (mode, reference) = match k.generation {
        "post-series" => (Mode::Strict, Reference::Oracle),
        "pre-series" => (Mode::Strict, Reference::C("pre-series")),
        _ => (Mode::Relaxed, Reference::C("pre-series")),
    };
    let label = format!("kernel {} ({})", k.version, k.generation);
    let summary = format!(
        "the anon_vma core of Linux {} ({} generation), extracted from {}",
        k.version, k.generation, k.tree
    );
    Variant {
        name: KERNEL_VARIANT,
        label: Box::leak(label.into_boxed_str()),
        summary: Box::leak(summary.into_boxed_str()),
        correct: true,
        mode,
        reference,
    }
}

/// Every variant of this build: [`VARIANTS`], `kernel` if built in, then
/// the [`ZOO`].
pub fn all() -> &'static [Variant] {
    static ALL: OnceLock<Vec<Variant>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = VARIANTS.to_vec();
        v.extend(rmap_ffi::KERNEL.map(kernel_variant));
        v.extend_from_slice(ZOO);
        v
    })
}

/// The variant used when none is named.
pub const DEFAULT_VARIANT: &str = "mainline";

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
