//! Host self-inspection (主机自查): baseline checks of a Linux host mapped to
//! 等保2.0 (GB/T 22239-2019), each with its evidence and the fix.
//!
//! The checks are data ([`rule`]): TOML rules embedded in the binary and
//! overridable from a directory, each naming a typed [`probe`] (a parser of
//! one kind of system fact), the expected value, the 等保 clause and the
//! fix. The [`engine`] runs the rules of a profile against a [`Root`] — the
//! live system or an offline root file system — and judges pass, fail or
//! could-not-check; it never passes what it could not see.

pub mod engine;
/// The host sensor's event kinds, check-id prefixes and details (the types
/// live in the model, which the console and the report read them from).
pub mod events {
    pub use shouwang_model::events::host::*;
}
pub mod html;
pub mod inventory;
pub mod parse;
pub mod probe;
pub mod root;
pub mod rpmdb;
pub mod rule;
pub mod runs;
pub mod text;

pub use engine::{CheckResult, Run, SENSOR, Score, Verdict, diff, run, run_at};
pub use probe::{Evidence, Facts, Observation};
pub use root::{Liveness, Root};
pub use rule::{Rule, RuleError, RuleSet};
