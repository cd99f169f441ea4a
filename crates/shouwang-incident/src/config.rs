//! `[incident]` in the config.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::deadline::ReportingPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// A rule file that replaces the built-in rules.
    pub rules_file: Option<PathBuf>,
    /// How often `up` runs the engine, in seconds.
    pub interval_seconds: u64,
    #[serde(flatten)]
    pub policy: ReportingPolicy,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            rules_file: None,
            interval_seconds: 5,
            policy: ReportingPolicy::default(),
        }
    }
}

impl IncidentConfig {
    /// The rules this config names.
    pub fn rules(&self) -> Result<crate::RuleSet, crate::RuleError> {
        match &self.rules_file {
            Some(p) => crate::RuleSet::load(p),
            None => Ok(crate::RuleSet::builtin()),
        }
    }
}
