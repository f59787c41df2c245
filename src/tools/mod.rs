//! Turning a finding into a test, and finding more: minimize, explain,
//! dot, c-repro, triage, explore, and the measurements behind
//! scripts/bench.

pub mod bench;
pub mod c_repro;
pub mod dot;
pub mod explain;
pub mod explore;
pub mod minimize;
pub mod race_explore;
pub mod triage;
