//! Fuzz inputs: bytes to scenarios and back, the structure-aware mutator,
//! the state features that guide the fuzzers, the artifacts they leave, and
//! the harness functions every fuzz target calls, and the count of their
//! executions.

pub mod artifact;
pub mod encoding;
pub mod executions;
pub mod fuzzing;
pub mod mutate;
pub mod state_features;
