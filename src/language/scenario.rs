//! A scenario: a header (which variant, what result is expected) and the
//! steps to replay. [`Scenario`]'s `Display` is the text format that
//! [`crate::language::parse::parse_scenario`] reads back.

use std::fmt;

use crate::language::op::{OpKind, Step};
use crate::language::race::Race;

/// Which variants a scenario's expectation is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VariantSel {
    /// Every correct variant.
    Any,
    Named(String),
}

impl fmt::Display for VariantSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariantSel::Any => f.write_str("any"),
            VariantSel::Named(name) => f.write_str(name),
        }
    }
}

/// What replaying the scenario must produce.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expect {
    /// No check fails.
    Pass,
    /// Some check fails; when given, the failing check's name must start
    /// with `check` and the failing op must be of kind `op`.
    Fail {
        check: Option<String>,
        op: Option<OpKind>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub variant: VariantSel,
    pub expect: Expect,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            variant: VariantSel::Any,
            expect: Expect::Pass,
        }
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#! variant={}", self.variant)?;
        match &self.expect {
            Expect::Pass => write!(f, " expect=pass"),
            Expect::Fail { check, op } => {
                write!(f, " expect=fail")?;
                if let Some(check) = check {
                    write!(f, " check={check}")?;
                }
                if let Some(op) = op {
                    write!(f, " op={op}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub header: Header,
    pub steps: Vec<Step>,
    /// Operations that run concurrently after the steps, ending the
    /// scenario (`crate::language::race`).
    pub race: Option<Race>,
}

impl Scenario {
    pub fn new(steps: Vec<Step>) -> Scenario {
        Scenario {
            header: Header::default(),
            steps,
            race: None,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.header)?;
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        if let Some(race) = &self.race {
            writeln!(f, "{race}")?;
        }
        Ok(())
    }
}
