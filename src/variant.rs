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
pub const ZOO: &[Variant] = &[Variant {
    name: "v3-as-posted",
    label: "v3-as-posted",
    summary:
        "the series as posted in v3: a failed merge clone leaves the unfaulted VMA's anon_vma set",
    correct: false,
    mode: Mode::Strict,
    reference: Reference::Oracle,
}];

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
