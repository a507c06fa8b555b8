//! Fixtures shared by the fuzz targets: a token issuer with a fixed clock, the token endpoint's
//! request framing, policy subjects, an independent reading of the audit chain, and a tiny
//! executor for the audit writer's futures.
//!
//! Each target lives in `fuzz_targets/` and states its invariants there; `docs/fuzzing.md`
//! says how to run them.

pub mod chain;
pub mod executor;
pub mod policy;
pub mod request;
pub mod token;
