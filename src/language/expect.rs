//! Which variants a scenario runs on, and what it must produce there.

use crate::check::report::Failure;
use crate::engine::variant::{self, Variant};
use crate::language::scenario::{Expect, Scenario, VariantSel};

/// The variants a scenario runs on when none is chosen on the command line:
/// in a build that carries a kernel tree, `kernel` and, where the tree
/// ships tools/testing/vma, `kernel-vma` (the tree is what the user asked
/// about); else the one its header names, or every correct
/// variant.
pub fn default_variants(scenario: &Scenario) -> Result<Vec<Variant>, variant::UnknownVariant> {
    let kernel = variant::kernel_variants();
    if !kernel.is_empty() {
        return kernel.into_iter().map(variant::find).collect();
    }
    match &scenario.header.variant {
        VariantSel::Any => Ok(variant::correct().collect()),
        VariantSel::Named(name) => Ok(vec![variant::find(name)?]),
    }
}

/// What `scenario` must produce on `v`: its header's expectation where the
/// header is about `v`; a pass on any correct variant (a scenario written
/// for a buggy variant must not trip a correct one); nothing otherwise.
pub fn expectation(scenario: &Scenario, v: Variant) -> Option<Expect> {
    let h = &scenario.header;
    match &h.variant {
        VariantSel::Named(name) if name == v.name => Some(h.expect.clone()),
        VariantSel::Any if v.correct => Some(h.expect.clone()),
        _ if v.correct => Some(Expect::Pass),
        _ => None,
    }
}

/// Whether a run's result meets the expectation.
pub fn met(expect: &Expect, failure: Option<&Failure>) -> bool {
    match (expect, failure) {
        (Expect::Pass, None) => true,
        (Expect::Pass, Some(_)) | (Expect::Fail { .. }, None) => false,
        (e, Some(f)) => f.matches(e),
    }
}
