//! The text language: operations, scenarios and their parser, what a
//! scenario expects of each variant, and walking a corpus of them.

pub mod corpus;
pub mod expect;
pub mod op;
pub mod parse;
pub mod race;
pub mod scenario;
