//! `[incident]` in the config.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use shouwang_model::OperatorType;

use crate::deadline::ReportingPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// A rule file that replaces the built-in rules.
    pub rules_file: Option<PathBuf>,
    /// How often `up` runs the engine and checks deadlines, in seconds.
    pub interval_seconds: u64,
    /// Also run the reporting clock for 一般 incidents (a local or sector
    /// rule may ask for it; the national rule does not).
    pub report_general: bool,
    /// Days after handling ends for the summary report.
    pub summary_days: i64,
    /// Warn this many minutes before a first-report deadline.
    pub first_report_warn_minutes: i64,
    /// Warn this many days before a summary-report deadline.
    pub summary_warn_days: i64,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        let p = ReportingPolicy::default();
        IncidentConfig {
            rules_file: None,
            interval_seconds: 5,
            report_general: p.report_general,
            summary_days: p.summary_days,
            first_report_warn_minutes: p.first_report_warn_minutes,
            summary_warn_days: p.summary_warn_days,
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

    /// The reporting policy for a unit of this operator type (which the
    /// unit profile says, so it is written in one place).
    pub fn policy(&self, operator_type: OperatorType) -> ReportingPolicy {
        ReportingPolicy {
            operator_type,
            report_general: self.report_general,
            summary_days: self.summary_days,
            first_report_warn_minutes: self.first_report_warn_minutes,
            summary_warn_days: self.summary_warn_days,
        }
    }
}
