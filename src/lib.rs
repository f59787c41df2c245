//! rmapfuzz: differential testing of the Linux kernel's anon_vma
//! reverse-mapping core, C (`csrc/`, via `rmap-ffi`) against a safe Rust
//! implementation (`rmap-oracle`).
//!
//! The folders are the flow of a finding:
//! - [`language`]: operations, scenarios, the text format, expectations,
//!   corpora — how an input is written down;
//! - [`input`]: fuzz inputs, decoded into scenarios, and the harness
//!   functions the fuzz targets call;
//! - [`engine`]: the one trait both implementations sit behind, the
//!   variants, and kernel trees built in (`--kernel-src`);
//! - [`check`]: canonical snapshots, the contracts, the differential runner,
//!   the fault sweep, reports — how a run is judged;
//! - [`tools`]: minimize, explain, dot, c-repro, triage, explore, bench —
//!   how a finding becomes a test.
#![forbid(unsafe_code)]

pub mod check;
pub mod engine;
pub mod input;
pub mod language;
pub mod tools;
