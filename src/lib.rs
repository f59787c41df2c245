//! rmapfuzz: differential testing of the Linux kernel's anon_vma
//! reverse-mapping core, C (`csrc/`, via `rmap-ffi`) against a safe Rust
//! implementation (`rmap-oracle`).
//!
//! - [`op`], [`scenario`], [`parse`]: operations and the text format;
//! - [`engine`]: the one trait both implementations sit behind;
//! - [`snapshot`], [`invariants`]: canonical state and the rules it obeys;
//! - [`runner`], [`sweep`]: the differential loop and systematic injection;
//! - [`expect`]: what each scenario must produce on each variant;
//! - [`kernel_build`]: building in a kernel tree's core (`--kernel-src`),
//!   and [`build_failure`]: what a failed build of one reports.
#![forbid(unsafe_code)]

pub mod artifact;
pub mod bench;
pub mod build_failure;
pub mod c_repro;
pub mod check_coverage;
pub mod corpus;
pub mod dot;
pub mod encoding;
pub mod engine;
pub mod expect;
pub mod explain;
pub mod explore;
pub mod fuzzing;
pub mod invariants;
pub mod kernel_build;
pub mod minimize;
pub mod mutate;
pub mod op;
pub mod parse;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod snapshot;
pub mod state_features;
pub mod sweep;
pub mod triage;
pub mod variant;
