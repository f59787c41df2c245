//! The anon_vma core variants rmapfuzz can run, and how each is judged.

use std::fmt;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: &'static str,
    pub summary: &'static str,
    /// A correct variant must never fail a check.
    pub correct: bool,
    pub mode: Mode,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "mainline",
        summary: "the anon_vma series as merged, with its later fix (Linux 7.x); the oracle's semantics",
        correct: true,
        mode: Mode::Strict,
    },
    Variant {
        name: "pre-series",
        summary: "the code before the series (Linux 6.12): lock_anon_vma_root, GFP_NOWAIT retry, clone-then-allocate fork",
        correct: true,
        mode: Mode::Relaxed,
    },
];

/// The variant used when none is named.
pub const DEFAULT_VARIANT: &str = "mainline";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown variant `{name}` (known: {known})")]
pub struct UnknownVariant {
    pub name: String,
    pub known: String,
}

pub fn find(name: &str) -> Result<Variant, UnknownVariant> {
    VARIANTS
        .iter()
        .copied()
        .find(|v| v.name == name)
        .ok_or_else(|| UnknownVariant {
            name: name.to_owned(),
            known: VARIANTS
                .iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The correct variants, in the order replay runs them.
pub fn correct() -> impl Iterator<Item = Variant> {
    VARIANTS.iter().copied().filter(|v| v.correct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_exists_in_the_c_harness() {
        let built = rmap_ffi::variants();
        for v in VARIANTS {
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
