//! Incidents from what the sensors saw: classification per GB/T 20986-2023,
//! grading, the reporting clock of the 2025 《国家网络安全事件报告管理办法》,
//! and escalation.
//!
//! Sensors write events and findings to the store and know nothing of
//! incidents. The [`Engine`] reads them from its cursor, matches them
//! against [`RuleSet`] (data, not code: `default-rules.toml`) and opens or
//! joins incidents; [`deadlines`] says what must be reported by when;
//! [`actions`] is what people do (level with a reason, status, reports,
//! notes), audited; [`actions::due_escalations`] says whom to chase.

pub mod actions;
mod config;
mod deadline;
mod engine;
mod rules;
pub mod text;
pub mod view;

pub use config::IncidentConfig;
pub use deadline::{Deadline, DeadlineState, ReportingPolicy, beijing, deadlines, span_zh};
pub use engine::{Engine, EngineError, PASS_SIZE, PassReport, STATE_SETTING, group_key};
pub use rules::{DEFAULT_RULES, Rule, RuleError, RuleSet, Source, Subject, describe_asset};
