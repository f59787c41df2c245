//! What a failed check reports, and the signature that groups failures.

use std::fmt;

use crate::language::op::{OpKind, Step};
use crate::language::race::Race;
use crate::language::scenario::{Expect, Scenario};

/// Which engine a check failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    C,
    /// The reference the C side is compared with: the oracle, or for an
    /// old kernel tree our C `pre-series` core.
    Oracle,
    /// A comparison between the two.
    Both,
}

/// The first check that failed in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub variant: String,
    /// What the variant is compared with (`oracle`, `C pre-series`).
    pub reference: String,
    /// Index of the operation (0-based); `None` when found at teardown.
    pub step: Option<usize>,
    pub op: Option<Step>,
    /// `outcome`, `allocs`, `state`, `shape`, `invariant.<rule>`,
    /// `hygiene`, `rollback`, `leak` or `oracle.panic`.
    pub check: String,
    pub side: Side,
    pub detail: String,
    /// The two values compared, when the check compares.
    pub c_value: Option<String>,
    pub oracle_value: Option<String>,
    /// The exact scenario that failed, when it differs from the input (sweep).
    pub scenario: Option<Scenario>,
    /// What the verdict rests on: the tree (for a kernel variant), what it
    /// was compared with and what that comparison left out.
    pub basis: String,
    /// Warnings acknowledged as known in the same run, up to this failure
    /// (they did not fail it; see `crate::check::known`).
    pub acknowledged: Vec<String>,
    /// For a failure of the scenario's race: the race, with the schedule
    /// it ran (the preemptions that happened), which replays it.
    pub race: Option<Race>,
}

/// What makes two failures the same bug.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    pub check: String,
    pub op: Option<OpKind>,
    pub variant: String,
    /// Found in the scenario's race (then `op` is `None`).
    pub race: bool,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match (self.op, self.race) {
            (Some(op), _) => format!("at {op}"),
            (None, true) => "in a race".to_owned(),
            (None, false) => "at teardown".to_owned(),
        };
        write!(f, "{} {at} on {}", self.check, self.variant)
    }
}

impl Failure {
    pub fn signature(&self) -> Signature {
        Signature {
            check: self.check.clone(),
            op: self.op.map(|s| s.op.kind()),
            variant: self.variant.clone(),
            race: self.race.is_some(),
        }
    }

    /// Whether this failure is the one `expect` describes.
    pub fn matches(&self, expect: &Expect) -> bool {
        match expect {
            Expect::Pass => false,
            Expect::Fail { check, op } => {
                check
                    .as_ref()
                    .is_none_or(|c| self.check.starts_with(c.as_str()))
                    && op.is_none_or(|k| self.op.map(|s| s.op.kind()) == Some(k))
            }
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.step, &self.op, &self.race) {
            (Some(i), Some(op), _) => write!(f, "[{}] op #{} `{op}`", self.variant, i + 1)?,
            (Some(_), None, Some(race)) => {
                let par = race.to_string();
                let par = par.lines().next().unwrap_or("");
                write!(f, "[{}] race `{par}`", self.variant)?
            }
            _ => write!(f, "[{}] at teardown", self.variant)?,
        }
        let side = match self.side {
            Side::C => "C".to_owned(),
            Side::Oracle => self.reference.clone(),
            Side::Both => format!("C vs {}", self.reference),
        };
        writeln!(f, ": check {} failed ({side})", self.check)?;
        for line in self.detail.lines() {
            writeln!(f, "    {line}")?;
        }
        let width = self.reference.len().max(1);
        if let Some(c) = &self.c_value {
            writeln!(f, "    {:<width$}  {c}", "C:")?;
        }
        if let Some(o) = &self.oracle_value {
            writeln!(f, "    {:<width$}  {o}", format!("{}:", self.reference))?;
        }
        if !self.acknowledged.is_empty() {
            writeln!(
                f,
                "    acknowledged in this run, as known (not failures): {} warning(s)",
                self.acknowledged.len()
            )?;
            let mut distinct: Vec<(&String, usize)> = Vec::new();
            for w in &self.acknowledged {
                match distinct.iter_mut().find(|(d, _)| *d == w) {
                    Some((_, n)) => *n += 1,
                    None => distinct.push((w, 1)),
                }
            }
            for (w, n) in distinct {
                writeln!(f, "      {n} x {w}")?;
            }
        }
        if !self.basis.is_empty() {
            writeln!(f, "    judged: {}", self.basis)?;
        }
        if let Some(race) = &self.race {
            writeln!(f, "    schedule as run (replays it): {}", race.schedule)?;
        }
        if let Some(s) = &self.scenario {
            writeln!(f, "    failing scenario:")?;
            for line in s.to_string().lines() {
                writeln!(f, "      {line}")?;
            }
        }
        Ok(())
    }
}
