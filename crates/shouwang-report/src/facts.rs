//! What a report shows, as plain data: every figure with where it came
//! from (measured from the store, or declared by the unit) and the query
//! and records behind it. The documents (DOCX, HTML, templates) only lay
//! these out; nothing is computed while writing.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{Incident, ReportStage, UnitProfile};

/// Where a figure or a part of a report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Computed from what Shouwang recorded (events, findings, run files).
    Measured,
    /// Entered by the unit (the unit profile): not checked by the tool.
    Declared,
}

impl Source {
    pub fn zh(self) -> &'static str {
        match self {
            Source::Measured => "实测",
            Source::Declared => "填报",
        }
    }
}

/// China Standard Time: report periods are calendar days in Beijing time
/// (the model's one helper).
pub fn beijing() -> FixedOffset {
    shouwang_model::beijing_offset()
}

/// The period a report covers: calendar days `from..=to` in Beijing time,
/// i.e. the instants `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Period {
    /// `None` when `to` is before `from`.
    pub fn days(from: NaiveDate, to: NaiveDate) -> Option<Period> {
        if to < from {
            return None;
        }
        let start = |d: NaiveDate| {
            beijing()
                .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        Some(Period {
            from,
            to,
            since: start(from)?,
            until: start(to.succ_opt()?)?,
        })
    }

    /// "2026年1月1日至2026年3月31日".
    pub fn zh(&self) -> String {
        format!("{}至{}", date_zh(self.from), date_zh(self.to))
    }

    /// "2026-01-01 00:00 至 2026-03-31 24:00（北京时间）": the period to
    /// the minute, as the evidence says what it counted.
    pub fn when_zh(&self) -> String {
        format!("{} 00:00 至 {} 24:00（北京时间）", self.from, self.to)
    }
}

/// "2026年1月1日".
pub fn date_zh(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// "2026-01-01 08:00" in Beijing time.
pub fn time_zh(t: DateTime<Utc>) -> String {
    shouwang_model::beijing_minutes(t)
}

/// One number (or short value) a report states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The template placeholder name, e.g. `guard.restore_count`.
    pub key: String,
    /// The area it belongs to: 防护, 监测, 主机自查, 事件, 存在问题.
    pub area: String,
    pub label: String,
    /// The number, when it is one (null for "no data").
    pub value: Option<f64>,
    /// As printed: "12", "99.5%", "3.2 毫秒", "无数据".
    pub display: String,
    pub source: Source,
}

/// The records behind a figure, for the appendix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The figure's key.
    pub figure: String,
    pub label: String,
    /// What was counted, in plain Chinese (which check, which records,
    /// which period): the report's appendix shows this.
    #[serde(default)]
    pub basis: String,
    /// The same in the store's terms: which table, kinds or checks, period.
    pub query: String,
    /// How many records the figure rests on.
    pub count: u64,
    /// `event`, `finding`, `incident` or `file`.
    pub record: String,
    /// A few record ids (newest first), or file paths for `file`.
    pub samples: Vec<String>,
}

/// A count with a label (incidents by class, level...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountRow {
    pub label: String,
    pub count: u64,
}

/// One protected web root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardRoot {
    pub root: String,
    pub restored: u64,
    pub recreated: u64,
    pub quarantined: u64,
    pub failed: u64,
}

/// 防护: 网页防篡改.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardFacts {
    pub roots: Vec<GuardRoot>,
    /// Changes undone (content or metadata restored).
    pub restored: u64,
    /// Deleted files put back.
    pub recreated: u64,
    /// Files planted by an intruder, moved to quarantine.
    pub quarantined: u64,
    /// Restores that failed.
    pub failed: u64,
    /// Changes in a maintenance window (not undone, by design).
    pub maintenance: u64,
    /// Change-to-restore time over restored and recreated events.
    pub latency_avg_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

/// One website.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub site: String,
    pub name: String,
    pub inspections: u64,
    pub last_inspected: Option<DateTime<Utc>>,
    pub probes: u64,
    pub probes_ok: u64,
    /// Percent of successful availability probes.
    pub availability: Option<f64>,
    /// Findings open now on this site.
    pub open_findings: u64,
}

/// 监测: 网站巡查 and availability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteFacts {
    pub sites: Vec<SiteRow>,
    pub inspections: u64,
    pub probes: u64,
    pub probes_ok: u64,
    pub availability: Option<f64>,
    /// Defects first seen in the period.
    pub found: u64,
    /// ... of which resolved now.
    pub fixed: u64,
    /// ... of which still open (or accepted as a risk).
    pub open: u64,
}

/// One host's last check in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRow {
    pub host: String,
    pub profile: String,
    pub checked_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub pass: u64,
    pub fail: u64,
    pub cannot_check: u64,
    pub run_file: String,
}

/// Pass rate of one 等保 control or one topic over the hosts' last runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    pub key: String,
    pub name: String,
    pub pass: u64,
    pub fail: u64,
    pub cannot_check: u64,
    /// pass / (pass + fail + cannot check), percent; could-not-check
    /// counts against, as in the host scores.
    pub pass_rate: Option<f64>,
    /// Findings of these checks open now.
    pub open_findings: u64,
}

/// 主机自查.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    pub hosts: Vec<HostRow>,
    /// `host check` runs recorded in the period.
    pub runs: u64,
    /// Per 等保 control (身份鉴别, 访问控制...).
    pub controls: Vec<RateRow>,
    /// Per topic the 自查 forms ask about (口令, 防病毒, 补丁, 端口, USB, 隔离).
    pub topics: Vec<RateRow>,
    pub pass: u64,
    pub fail: u64,
    pub cannot_check: u64,
    pub pass_rate: Option<f64>,
    pub found: u64,
    pub fixed: u64,
    pub open: u64,
    /// Run files named by events that could not be read (moved, deleted).
    pub unreadable_runs: Vec<String>,
}

/// A reporting deadline of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineRow {
    pub stage: ReportStage,
    pub due: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    /// not-required, pending, due-soon, overdue, met, met-late.
    pub state: String,
    pub state_zh: String,
}

impl DeadlineRow {
    /// Reported within its time limit.
    pub fn met(&self) -> bool {
        self.state == "met"
    }

    /// Reported late, or not reported and overdue.
    pub fn missed(&self) -> bool {
        matches!(self.state.as_str(), "met-late" | "overdue")
    }
}

/// One incident in the 自查报告.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub level: String,
    pub status: String,
    pub discovered_at: DateTime<Utc>,
    pub handling_ended_at: Option<DateTime<Utc>>,
    /// Counted among the incidents that must be reported.
    #[serde(default)]
    pub reportable: bool,
    /// Counted among the incidents handled (恢复 or 关闭).
    #[serde(default)]
    pub handled: bool,
    pub deadlines: Vec<DeadlineRow>,
}

/// 事件.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub total: u64,
    pub by_class: Vec<CountRow>,
    pub by_level: Vec<CountRow>,
    pub by_status: Vec<CountRow>,
    pub rows: Vec<IncidentRow>,
    /// Incidents whose rules required a report (较大 and above).
    pub reportable: u64,
    /// Reporting deadlines met on time / late / missed (overdue) / pending.
    pub deadlines_met: u64,
    pub deadlines_late: u64,
    pub deadlines_overdue: u64,
    pub deadlines_pending: u64,
    /// Handling ended (恢复 or 关闭).
    pub handled: u64,
}

/// Open findings of one check (存在问题).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingGroupRow {
    pub area: String,
    pub sensor: String,
    pub check: String,
    pub title: String,
    pub severity: String,
    pub count: u64,
    pub assets: u64,
    pub sample_ids: Vec<i64>,
}

/// A remediation measure (整改措施) from a check's fix advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationItem {
    pub area: String,
    pub check: String,
    pub title: String,
    pub advice: String,
    pub command: Option<String>,
    /// Open findings it addresses.
    pub count: u64,
    /// 责任人 named in the console for these findings (several joined by
    /// 、); empty: written in by hand.
    #[serde(default)]
    pub owner: String,
    /// 整改时限: the earliest due date (a Beijing date) among them.
    #[serde(default)]
    pub due: Option<NaiveDate>,
}

impl RemediationItem {
    /// 状态 on `today` (a Beijing date): 已超期 once the earliest due date
    /// has passed, else 待整改 (every listed problem is still open).
    pub fn status_zh(&self, today: NaiveDate) -> &'static str {
        match self.due {
            Some(d) if d < today => "已超期",
            _ => "待整改",
        }
    }
}

/// Everything the 网络安全自查报告 shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfCheckFacts {
    pub generated_at: DateTime<Utc>,
    pub period: Period,
    pub unit: UnitProfile,
    /// Where the data came from (the store's location, no password).
    pub store: String,
    /// The audit log's anchor when the report was made (`SEQ:HASH`): kept
    /// with the report, it lets `audit verify --anchor` prove later that no
    /// entry up to it was deleted.
    #[serde(default)]
    pub audit_anchor: String,
    pub guard: GuardFacts,
    pub site: SiteFacts,
    pub host: HostFacts,
    pub incidents: IncidentFacts,
    pub open_findings: Vec<FindingGroupRow>,
    pub open_total: u64,
    pub remediation: Vec<RemediationItem>,
    /// Every figure the report states, in order.
    pub figures: Vec<Figure>,
    /// The records behind each measured figure.
    pub evidence: Vec<Evidence>,
}

impl SelfCheckFacts {
    pub fn figure(&self, key: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.key == key)
    }
}

/// One line of an incident's timeline, as printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub text: String,
}

/// A record (event or finding) that makes up an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub record: String,
    pub id: i64,
    pub time: DateTime<Utc>,
    pub asset: String,
    pub summary: String,
}

/// A field of an incident report: what the reporting rule asks, the
/// answer, and whether the tool measured it or a person must supply it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportField {
    pub label: String,
    pub value: String,
    pub source: Source,
}

/// Everything an 事件报告 (first, follow-up) or 调查评估报告 shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReportFacts {
    pub generated_at: DateTime<Utc>,
    pub stage: ReportStage,
    pub unit: UnitProfile,
    pub incident: Incident,
    pub category: String,
    pub level: String,
    pub status: String,
    /// To whom the report goes under the 2025 办法.
    pub report_to: String,
    pub deadlines: Vec<DeadlineRow>,
    /// The fields the reporting rule lists, in its order.
    pub fields: Vec<ReportField>,
    pub timeline: Vec<TimelineRow>,
    pub members: Vec<MemberRow>,
    /// Member events in total (the list shows the first ones).
    pub event_count: u64,
    pub finding_count: u64,
    /// Fixes for the findings that make up the incident.
    pub remediation: Vec<RemediationItem>,
}
