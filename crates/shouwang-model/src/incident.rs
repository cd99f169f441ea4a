//! Incidents: what the incident engine makes of events and findings, and
//! what a person does about them.
//!
//! An incident has a GB/T 20986-2023 subclass (by Shouwang's stable code, see
//! [`crate::taxonomy`]), a level, a status that walks the handling stages
//! the reports describe (发现 → 研判 → 处置 → 恢复 → 总结/关闭) and a timeline.
//! The reporting clock is derived from `discovered_at` and the recorded
//! reports, all stored, so it survives restarts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::taxonomy::{self, IncidentClass, IncidentLevel, Subclass};
use crate::{AssetRef, UnknownName};

/// The handling stage of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentStatus {
    /// 发现: opened by a rule or a person, nobody has looked yet.
    Discovered,
    /// 研判: someone is judging what happened and how bad it is.
    Triage,
    /// 处置: containing and removing the cause.
    Response,
    /// 恢复: the cause is removed; service and data are being restored.
    /// Handling has ended: the 30-day summary clock starts here.
    Recovery,
    /// 总结/关闭: summarised and closed.
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Discovered,
        IncidentStatus::Triage,
        IncidentStatus::Response,
        IncidentStatus::Recovery,
        IncidentStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Discovered => "discovered",
            IncidentStatus::Triage => "triage",
            IncidentStatus::Response => "response",
            IncidentStatus::Recovery => "recovery",
            IncidentStatus::Closed => "closed",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            IncidentStatus::Discovered => "发现",
            IncidentStatus::Triage => "研判",
            IncidentStatus::Response => "处置",
            IncidentStatus::Recovery => "恢复",
            IncidentStatus::Closed => "总结/关闭",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            IncidentStatus::Discovered => "Discovered",
            IncidentStatus::Triage => "Triage",
            IncidentStatus::Response => "Response",
            IncidentStatus::Recovery => "Recovery",
            IncidentStatus::Closed => "Closed",
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        if lang == "en" { self.en() } else { self.zh() }
    }

    /// Whether handling has ended (the after-action report clock runs).
    pub fn handling_ended(self) -> bool {
        self >= IncidentStatus::Recovery
    }

    /// Whether new events may still join the incident.
    pub fn is_open(self) -> bool {
        self != IncidentStatus::Closed
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s || st.zh() == s || (s == "总结" || s == "关闭") && *st == IncidentStatus::Closed)
            .ok_or_else(|| UnknownName {
                what: "incident status",
                value: s.to_string(),
                expected: "discovered, triage, response, recovery, closed (发现, 研判, 处置, 恢复, 关闭)",
            })
    }
}

/// An incident as the engine or a person opens it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIncident {
    /// One line, Chinese: "网站目录 /srv/www 网页被篡改".
    pub title: String,
    /// Shouwang's subclass code, e.g. `NAWEBMOD` (see [`taxonomy::subclass`]).
    pub subclass: String,
    pub level: IncidentLevel,
    /// The affected object.
    pub asset: AssetRef,
    /// The rule that opened it, or `manual`.
    pub rule: String,
    /// Events with the same key within the rule's window join this incident.
    pub group_key: String,
    /// When it was found (发现或获知): the reporting clock starts here.
    pub discovered_at: DateTime<Utc>,
    /// Why this class and level: the rule's reasoning, shown to the operator.
    pub summary: String,
}

/// An incident as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub subclass: String,
    pub level: IncidentLevel,
    pub status: IncidentStatus,
    pub asset: AssetRef,
    pub rule: String,
    pub group_key: String,
    pub discovered_at: DateTime<Utc>,
    /// The time of the latest event or finding that joined it.
    pub last_activity: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it first reached 恢复 or 关闭.
    pub handling_ended_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the first report went to the authority (recorded by a person).
    pub first_reported_at: Option<DateTime<Utc>>,
    /// When the after-action summary report was sent.
    pub summary_reported_at: Option<DateTime<Utc>>,
    pub event_count: u64,
    pub finding_count: u64,
    pub summary: String,
}

impl Incident {
    /// The GB/T 20986 class and subclass; `None` for an unknown code (an
    /// older rule file), which the console shows as the raw code.
    pub fn category(&self) -> Option<(&'static IncidentClass, &'static Subclass)> {
        taxonomy::subclass(&self.subclass)
    }

    /// "网络攻击事件 / 网页篡改事件", or the raw code.
    pub fn category_zh(&self) -> String {
        match self.category() {
            Some((c, s)) => format!("{} / {}", c.zh, s.zh),
            None if self.subclass == "OTH" => "其他事件".to_string(),
            None => self.subclass.clone(),
        }
    }
}

/// What kind of line a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimelineKind {
    /// The incident was opened.
    Opened,
    /// A sensor event joined.
    Event,
    /// A finding joined.
    Finding,
    /// The status changed.
    Status,
    /// The level changed (with a reason).
    Level,
    /// A person wrote a note.
    Note,
    /// A report went to the authority (first, follow-up, summary).
    Report,
    /// A notification was sent (or failed).
    Notice,
    /// A reporting deadline neared or passed.
    Escalation,
}

impl TimelineKind {
    pub const ALL: [TimelineKind; 9] = [
        TimelineKind::Opened,
        TimelineKind::Event,
        TimelineKind::Finding,
        TimelineKind::Status,
        TimelineKind::Level,
        TimelineKind::Note,
        TimelineKind::Report,
        TimelineKind::Notice,
        TimelineKind::Escalation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Opened => "opened",
            TimelineKind::Event => "event",
            TimelineKind::Finding => "finding",
            TimelineKind::Status => "status",
            TimelineKind::Level => "level",
            TimelineKind::Note => "note",
            TimelineKind::Report => "report",
            TimelineKind::Notice => "notice",
            TimelineKind::Escalation => "escalation",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            TimelineKind::Opened => "立案",
            TimelineKind::Event => "事件",
            TimelineKind::Finding => "发现项",
            TimelineKind::Status => "状态",
            TimelineKind::Level => "定级",
            TimelineKind::Note => "备注",
            TimelineKind::Report => "报告",
            TimelineKind::Notice => "通知",
            TimelineKind::Escalation => "催办",
        }
    }
}

impl fmt::Display for TimelineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimelineKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimelineKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "timeline kind",
                value: s.to_string(),
                expected: "opened, event, finding, status, level, note, report, notice, escalation",
            })
    }
}

/// A line to add to an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTimelineEntry {
    pub incident_id: i64,
    pub at: DateTime<Utc>,
    /// A user name, or `system` / a sensor name.
    pub actor: String,
    pub kind: TimelineKind,
    /// One line, Chinese.
    pub text: String,
    #[serde(default)]
    pub details: serde_json::Value,
}

/// A timeline line as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    #[serde(flatten)]
    pub entry: NewTimelineEntry,
}

/// Which stage of the reporting rule a report to the authority fulfils.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportStage {
    /// 首次报告 (within 1 h / 2 h / 4 h of discovery for 较大 and above).
    First,
    /// 续报: new facts or a milestone.
    FollowUp,
    /// 总结报告 / 调查评估报告 (within 30 days after handling ends).
    Summary,
}

impl ReportStage {
    pub const ALL: [ReportStage; 3] = [
        ReportStage::First,
        ReportStage::FollowUp,
        ReportStage::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStage::First => "first",
            ReportStage::FollowUp => "follow-up",
            ReportStage::Summary => "summary",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            ReportStage::First => "首次报告",
            ReportStage::FollowUp => "续报",
            ReportStage::Summary => "总结报告",
        }
    }
}

impl fmt::Display for ReportStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportStage {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportStage::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.zh() == s)
            .ok_or_else(|| UnknownName {
                what: "report stage",
                value: s.to_string(),
                expected: "first, follow-up, summary (首次报告, 续报, 总结报告)",
            })
    }
}

/// The kind of network operator, which sets the first-report deadline of
/// the 2025 《国家网络安全事件报告管理办法》.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperatorType {
    /// All other operators: report to the provincial CAC within 4 hours.
    #[default]
    Ordinary,
    /// 中央和国家机关各部门及其直属单位: within 2 hours.
    CentralOrgan,
    /// 关键信息基础设施运营者: within 1 hour.
    CriticalInfrastructure,
}

impl OperatorType {
    pub fn zh(self) -> &'static str {
        match self {
            OperatorType::Ordinary => "其他网络运营者",
            OperatorType::CentralOrgan => "中央和国家机关各部门及其直属单位",
            OperatorType::CriticalInfrastructure => "关键信息基础设施运营者",
        }
    }

    /// To whom the first report goes.
    pub fn report_to_zh(self) -> &'static str {
        match self {
            OperatorType::Ordinary => "属地省级网信部门",
            OperatorType::CentralOrgan => "本部门网信工作机构",
            OperatorType::CriticalInfrastructure => "保护工作部门和公安机关",
        }
    }
}

/// A person named in the unit profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Person {
    pub name: String,
    /// 职务: "副局长", "网络安全员".
    pub title: String,
    pub phone: String,
}

/// An information system the unit runs (for the report's inventory).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemEntry {
    pub name: String,
    /// 等保 level as declared: "二级", "三级", or empty.
    pub dengbao_level: String,
    /// A URL or host name.
    pub address: String,
    pub note: String,
}

/// What the unit declares about itself: who it is, who is responsible, what
/// it runs, and the organisational measures a tool cannot measure (制度,
/// 培训, 演练). Reports mark these parts as declared, not measured.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnitProfile {
    /// 单位名称.
    pub name: String,
    pub operator_type: OperatorType,
    /// 网络安全工作领导小组: leader first.
    pub leading_group: Vec<Person>,
    /// 网络安全员.
    pub security_officer: Person,
    pub systems: Vec<SystemEntry>,
    /// 制度建设: the policies in force, as the unit describes them.
    pub policies: String,
    /// 教育培训: training held in the period.
    pub training: String,
    /// 应急演练: drills held in the period.
    pub drills: String,
    /// 主送机关: whom the 自查报告 is addressed to (e.g. 县委网信办).
    pub recipient: String,
    /// 下一步工作计划, as the unit writes it.
    pub next_plan: String,
}

impl UnitProfile {
    /// Whether enough is filled in for a report to name the unit.
    pub fn is_named(&self) -> bool {
        !self.name.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_orders_by_stage() {
        for st in IncidentStatus::ALL {
            assert_eq!(st.as_str().parse::<IncidentStatus>().unwrap(), st);
            assert_eq!(st.zh().parse::<IncidentStatus>().unwrap(), st);
        }
        assert_eq!(
            "关闭".parse::<IncidentStatus>().unwrap(),
            IncidentStatus::Closed
        );
        assert!(IncidentStatus::Recovery.handling_ended());
        assert!(!IncidentStatus::Response.handling_ended());
        assert!("done".parse::<IncidentStatus>().is_err());
    }

    #[test]
    fn report_stage_and_timeline_kind_round_trip() {
        for s in ReportStage::ALL {
            assert_eq!(s.as_str().parse::<ReportStage>().unwrap(), s);
        }
        for k in TimelineKind::ALL {
            assert_eq!(k.as_str().parse::<TimelineKind>().unwrap(), k);
        }
    }

    #[test]
    fn unit_profile_reads_from_toml_and_rejects_typos() {
        let p: UnitProfile = toml_like(
            r#"{"name":"某某县教育局","operator_type":"ordinary","security_officer":{"name":"张三","title":"网络安全员","phone":"0000"}}"#,
        )
        .unwrap();
        assert!(p.is_named());
        assert_eq!(p.security_officer.name, "张三");
        assert!(toml_like::<UnitProfile>(r#"{"nmae":"x"}"#).is_err());
    }

    fn toml_like<T: serde::de::DeserializeOwned>(json: &str) -> serde_json::Result<T> {
        serde_json::from_str(json)
    }
}
