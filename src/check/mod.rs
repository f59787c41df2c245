//! Judging a run: canonical snapshots, the contracts they must obey, the
//! differential runner and the systematic fault sweep, the reports of a
//! failure, a tree's acknowledged known warnings, which checks a corpus
//! exercises, the watchdog that reports an operation that never ends, and
//! the fixed-size memo a search keeps of what it computed.

pub mod coverage;
pub mod invariants;
pub mod known;
pub mod memo;
pub mod race;
pub mod report;
pub mod runner;
pub mod saved_run;
pub mod snapshot;
pub mod sweep;
pub mod watchdog;
