//! Reporting deadlines of an incident, as the report states them.
//!
//! The 2025 《国家网络安全事件报告管理办法》: incidents graded 较大 or
//! above are first reported within 1 h (关键信息基础设施), 2 h (中央和国家
//! 机关) or 4 h (other operators) of discovery; the summary report is due
//! within 30 days after handling ends. 一般 incidents have no national
//! deadline.

use chrono::{DateTime, Duration, Utc};
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{Incident, OperatorType, ReportStage, UnitProfile};

use crate::facts::DeadlineRow;

/// How long before a deadline it counts as due soon.
const DUE_SOON: Duration = Duration::minutes(30);

pub fn first_report_hours(op: OperatorType) -> i64 {
    match op {
        OperatorType::CriticalInfrastructure => 1,
        OperatorType::CentralOrgan => 2,
        OperatorType::Ordinary => 4,
    }
}

fn row(
    stage: ReportStage,
    due: Option<DateTime<Utc>>,
    met_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DeadlineRow {
    let state = match (due, met_at) {
        (None, _) => "not-required",
        (Some(d), Some(m)) if m <= d => "met",
        (Some(_), Some(_)) => "met-late",
        (Some(d), None) if now > d => "overdue",
        (Some(d), None) if d - now <= DUE_SOON => "due-soon",
        (Some(_), None) => "pending",
    };
    DeadlineRow {
        stage,
        due,
        met_at,
        state: state.into(),
        state_zh: state_zh(state).into(),
    }
}

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "not-required" => "无须报告",
        "pending" => "待报告",
        "due-soon" => "即将到期",
        "overdue" => "已逾期",
        "met" => "按时报告",
        "met-late" => "超时报告",
        _ => "未知",
    }
}

/// The first-report and summary deadlines of `incident` for this unit.
pub fn deadlines(incident: &Incident, unit: &UnitProfile, now: DateTime<Utc>) -> Vec<DeadlineRow> {
    let reportable = incident.level >= IncidentLevel::Large;
    let first_due = reportable
        .then(|| incident.discovered_at + Duration::hours(first_report_hours(unit.operator_type)));
    let summary_due = if reportable {
        incident.handling_ended_at.map(|t| t + Duration::days(30))
    } else {
        None
    };
    let mut out = vec![row(
        ReportStage::First,
        first_due,
        incident.first_reported_at,
        now,
    )];
    if incident.handling_ended_at.is_some() || !reportable {
        out.push(row(
            ReportStage::Summary,
            summary_due,
            incident.summary_reported_at,
            now,
        ));
    }
    out
}
