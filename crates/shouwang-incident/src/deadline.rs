//! The reporting clock of the 2025 《国家网络安全事件报告管理办法》.
//!
//! Events graded 较大 or above must be reported from the moment they are
//! found: within 1 hour for critical information infrastructure, 2 hours
//! for central state organs, 4 hours for every other operator. Within 30
//! days after handling ends, a summary report follows. The rule sets no
//! hour limit for 一般 events; a unit whose local or sector rules do can
//! turn `report_general` on. Deadlines are computed from stored times, so
//! the clock survives restarts.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{Incident, OperatorType, ReportStage};

/// How the reporting rule applies to this unit. `[incident]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportingPolicy {
    pub operator_type: OperatorType,
    /// Also run the clock for 一般 incidents (a local or sector rule).
    pub report_general: bool,
    /// Days after handling ends for the summary report.
    pub summary_days: i64,
    /// Warn this many minutes before a first-report deadline.
    pub first_report_warn_minutes: i64,
    /// Warn this many days before the summary-report deadline.
    pub summary_warn_days: i64,
}

impl Default for ReportingPolicy {
    fn default() -> Self {
        ReportingPolicy {
            operator_type: OperatorType::Ordinary,
            report_general: false,
            summary_days: 30,
            first_report_warn_minutes: 60,
            summary_warn_days: 5,
        }
    }
}

impl ReportingPolicy {
    /// The first-report window for this kind of operator.
    pub fn first_report_window(&self) -> Duration {
        match self.operator_type {
            OperatorType::CriticalInfrastructure => Duration::hours(1),
            OperatorType::CentralOrgan => Duration::hours(2),
            OperatorType::Ordinary => Duration::hours(4),
        }
    }
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineState {
    /// The rule does not require this report at this level.
    NotRequired,
    /// Required, but its clock has not started (handling not ended).
    Waiting,
    /// Running, not yet near.
    Pending,
    /// Running and near.
    DueSoon,
    /// Passed without the report.
    Overdue,
    /// Reported in time.
    Met,
    /// Reported, but after the deadline.
    MetLate,
}

impl DeadlineState {
    pub fn zh(self) -> &'static str {
        match self {
            DeadlineState::NotRequired => "无需报告",
            DeadlineState::Waiting => "待处置结束后起算",
            DeadlineState::Pending => "计时中",
            DeadlineState::DueSoon => "即将到期",
            DeadlineState::Overdue => "已超期",
            DeadlineState::Met => "已按时报告",
            DeadlineState::MetLate => "已报告（超期）",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::NotRequired => "not-required",
            DeadlineState::Waiting => "waiting",
            DeadlineState::Pending => "pending",
            DeadlineState::DueSoon => "due-soon",
            DeadlineState::Overdue => "overdue",
            DeadlineState::Met => "met",
            DeadlineState::MetLate => "met-late",
        }
    }

    /// Whether someone should be told now.
    pub fn needs_escalation(self) -> bool {
        matches!(self, DeadlineState::DueSoon | DeadlineState::Overdue)
    }
}

/// One reporting deadline of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deadline {
    pub stage: ReportStage,
    pub due: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub state: DeadlineState,
    /// To whom, in words: "属地省级网信部门".
    pub report_to: String,
}

impl Deadline {
    /// "首次报告 截止 2026-11-22 16:00（剩余 45 分钟）" in Beijing time.
    pub fn describe_zh(&self, now: DateTime<Utc>) -> String {
        let Some(due) = self.due else {
            return format!("{} {}", self.stage.zh(), self.state.zh());
        };
        let when = beijing(due);
        match self.state {
            DeadlineState::Pending | DeadlineState::DueSoon => format!(
                "{} 截止 {when}（剩余 {}）",
                self.stage.zh(),
                span_zh(due - now)
            ),
            DeadlineState::Overdue => format!(
                "{} 截止 {when}（已超期 {}）",
                self.stage.zh(),
                span_zh(now - due)
            ),
            _ => format!("{} 截止 {when}（{}）", self.stage.zh(), self.state.zh()),
        }
    }
}

pub use shouwang_model::beijing_minutes as beijing;

/// "3 小时 5 分钟", "2 天 4 小时", "12 分钟".
pub fn span_zh(d: Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{m} 分钟"),
        (0, h) => format!("{h} 小时 {m} 分钟"),
        (d, h) => format!("{d} 天 {h} 小时"),
    }
}

/// The first-report and summary-report deadlines of `incident` at `now`.
pub fn deadlines(
    incident: &Incident,
    policy: &ReportingPolicy,
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    let required = incident.level.must_report() || policy.report_general;
    let report_to = policy.operator_type.report_to_zh().to_string();
    let first_due = incident.discovered_at + policy.first_report_window();
    let first = clock(
        ReportStage::First,
        required,
        Some(first_due),
        incident.first_reported_at,
        Duration::minutes(policy.first_report_warn_minutes),
        now,
        report_to.clone(),
    );
    let summary_due = incident
        .handling_ended_at
        .map(|t| t + Duration::days(policy.summary_days));
    let summary = clock(
        ReportStage::Summary,
        required,
        summary_due,
        incident.summary_reported_at,
        Duration::days(policy.summary_warn_days),
        now,
        report_to,
    );
    vec![first, summary]
}

fn clock(
    stage: ReportStage,
    required: bool,
    due: Option<DateTime<Utc>>,
    met_at: Option<DateTime<Utc>>,
    warn: Duration,
    now: DateTime<Utc>,
    report_to: String,
) -> Deadline {
    let state = match (required, due, met_at) {
        (false, _, None) => DeadlineState::NotRequired,
        (_, Some(due), Some(at)) if at > due => DeadlineState::MetLate,
        (_, _, Some(_)) => DeadlineState::Met,
        (true, None, None) => DeadlineState::Waiting,
        (true, Some(due), None) if now >= due => DeadlineState::Overdue,
        (true, Some(due), None) if due - now <= warn => DeadlineState::DueSoon,
        (true, Some(_), None) => DeadlineState::Pending,
    };
    Deadline {
        stage,
        due: if required || met_at.is_some() {
            due
        } else {
            None
        },
        met_at,
        state,
        report_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_model::taxonomy::IncidentLevel;
    use shouwang_model::{AssetKind, AssetRef, IncidentStatus};

    fn incident(level: IncidentLevel, discovered_hours_ago: i64, now: DateTime<Utc>) -> Incident {
        let t = now - Duration::hours(discovered_hours_ago);
        Incident {
            id: 1,
            title: "t".into(),
            subclass: "NAWEBMOD".into(),
            level,
            status: IncidentStatus::Discovered,
            asset: AssetRef::new(AssetKind::Website, "https://x.gov.cn/"),
            rule: "r".into(),
            group_key: "k".into(),
            discovered_at: t,
            last_activity: t,
            updated_at: t,
            handling_ended_at: None,
            closed_at: None,
            first_reported_at: None,
            summary_reported_at: None,
            event_count: 1,
            finding_count: 0,
            summary: String::new(),
        }
    }

    #[test]
    fn general_incidents_need_no_report_unless_the_unit_says_so() {
        let now = Utc::now();
        let inc = incident(IncidentLevel::General, 10, now);
        let p = ReportingPolicy::default();
        let d = deadlines(&inc, &p, now);
        assert!(d.iter().all(|d| d.state == DeadlineState::NotRequired));
        let strict = ReportingPolicy {
            report_general: true,
            ..p
        };
        assert_eq!(
            deadlines(&inc, &strict, now)[0].state,
            DeadlineState::Overdue
        );
    }

    #[test]
    fn first_report_window_depends_on_the_operator_type() {
        let now = Utc::now();
        let inc = incident(IncidentLevel::Large, 0, now);
        let due = |t| {
            let p = ReportingPolicy {
                operator_type: t,
                ..Default::default()
            };
            deadlines(&inc, &p, now)[0].due.unwrap() - inc.discovered_at
        };
        assert_eq!(due(OperatorType::Ordinary), Duration::hours(4));
        assert_eq!(due(OperatorType::CentralOrgan), Duration::hours(2));
        assert_eq!(
            due(OperatorType::CriticalInfrastructure),
            Duration::hours(1)
        );
    }

    #[test]
    fn the_clock_runs_warns_expires_and_records_lateness() {
        let now = Utc::now();
        let p = ReportingPolicy::default();
        let mut inc = incident(IncidentLevel::Large, 1, now);
        assert_eq!(deadlines(&inc, &p, now)[0].state, DeadlineState::Pending);
        inc.discovered_at = now - Duration::minutes(200);
        let d = &deadlines(&inc, &p, now)[0];
        assert_eq!(d.state, DeadlineState::DueSoon);
        assert!(
            d.describe_zh(now).contains("剩余 40 分钟"),
            "{}",
            d.describe_zh(now)
        );
        inc.discovered_at = now - Duration::hours(5);
        let d = &deadlines(&inc, &p, now)[0];
        assert_eq!(d.state, DeadlineState::Overdue);
        assert!(
            d.describe_zh(now).contains("已超期 1 小时"),
            "{}",
            d.describe_zh(now)
        );
        inc.first_reported_at = Some(now - Duration::minutes(30));
        assert_eq!(deadlines(&inc, &p, now)[0].state, DeadlineState::MetLate);
        inc.first_reported_at = Some(inc.discovered_at + Duration::hours(3));
        assert_eq!(deadlines(&inc, &p, now)[0].state, DeadlineState::Met);
        // The summary clock starts when handling ends, and runs 30 days.
        assert_eq!(deadlines(&inc, &p, now)[1].state, DeadlineState::Waiting);
        inc.handling_ended_at = Some(now - Duration::days(26));
        let s = &deadlines(&inc, &p, now)[1];
        assert_eq!(s.state, DeadlineState::DueSoon);
        assert_eq!(
            s.due.unwrap(),
            now - Duration::days(26) + Duration::days(30)
        );
        inc.handling_ended_at = Some(now - Duration::days(31));
        assert_eq!(deadlines(&inc, &p, now)[1].state, DeadlineState::Overdue);
    }

    #[test]
    fn times_are_written_in_beijing_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(beijing(t), "2026-11-22 16:00");
        assert_eq!(span_zh(Duration::minutes(185)), "3 小时 5 分钟");
        assert_eq!(span_zh(Duration::minutes(2 * 1440 + 240)), "2 天 4 小时");
    }
}
