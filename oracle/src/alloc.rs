//! Fault injection: counts allocation attempts per operation and fails the
//! ones a [`FailPlan`] names (the kernel's `fail_nth`).

use crate::{FailPlan, Site};

#[derive(Clone, Debug, Default)]
pub(crate) struct Injector {
    plan: Option<FailPlan>,
    attempts: Vec<Site>,
}

impl Injector {
    /// Starts an operation: arms `plan`, forgets earlier attempts.
    pub(crate) fn begin(&mut self, plan: Option<FailPlan>) {
        self.plan = plan;
        self.attempts.clear();
    }

    /// Ends an operation, returning its attempts in order.
    pub(crate) fn end(&mut self) -> Vec<Site> {
        self.plan = None;
        std::mem::take(&mut self.attempts)
    }

    /// One allocation attempt at `site`: `true` if it succeeds.
    pub(crate) fn attempt(&mut self, site: Site) -> bool {
        self.attempts.push(site);
        let nth = self.attempts.len() as u32;
        match self.plan {
            Some(p) => !(nth == p.nth || (p.and_later && nth > p.nth)),
            None => true,
        }
    }
}
