//! Incidents as a terminal shows them: the list with each one's reporting
//! clock, one incident whole (class, level, deadlines, timeline, what it is
//! made of), the GB/T 20986 classes. Every time is Beijing time and says so.

use chrono::{DateTime, Utc};
use shouwang_model::taxonomy;
use shouwang_model::text::{key_values, table};
use shouwang_model::{Event, Finding, Incident, TimelineEntry, beijing_minutes};

use crate::{Deadline, DeadlineState, describe_asset};

/// One row per incident, with the deadline to look at first.
pub fn list(incidents: &[crate::view::Listed], now: DateTime<Utc>) -> String {
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|l| {
            let (i, d) = (&l.incident, &l.deadlines);
            vec![
                i.id.to_string(),
                i.level.zh().to_string(),
                i.status.zh().to_string(),
                beijing_minutes(i.discovered_at),
                l.category.clone(),
                i.title.clone(),
                nearest(d).map(|d| d.describe_zh(now)).unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "LEVEL",
            "STATUS",
            "DISCOVERED 北京时间",
            "CLASS",
            "TITLE",
            "REPORTING",
        ],
        &rows,
    )
}

/// One incident whole.
pub fn show(
    inc: &Incident,
    deadlines: &[Deadline],
    timeline: &[TimelineEntry],
    events: &[Event],
    findings: &[Finding],
    now: DateTime<Utc>,
) -> String {
    let mut text = format!("事件 #{}  {}\n\n", inc.id, inc.title);
    text.push_str(&key_values(&[
        ("类别", inc.category_zh()),
        (
            "级别",
            format!(
                "{}（{}级，{}预警）",
                inc.level.zh(),
                inc.level.roman(),
                inc.level.warning_colour_zh()
            ),
        ),
        ("状态", inc.status.zh().to_string()),
        ("对象", describe_asset(&inc.asset)),
        (
            "发现时间",
            format!("{}（北京时间）", beijing_minutes(inc.discovered_at)),
        ),
        (
            "最近活动",
            format!("{}（北京时间）", beijing_minutes(inc.last_activity)),
        ),
        (
            "构成",
            format!("{} 个事件，{} 个发现项", inc.event_count, inc.finding_count),
        ),
        ("研判", inc.summary.clone()),
    ]));
    text.push_str("\n报告时限\n");
    for d in deadlines {
        text.push_str(&format!(
            "  {}  报送对象：{}\n",
            d.describe_zh(now),
            d.report_to
        ));
    }
    text.push_str("\n时间线（北京时间）\n");
    for t in timeline {
        text.push_str(&format!(
            "  {}  {:<4} {}  {}\n",
            beijing_minutes(t.entry.at),
            t.entry.kind.zh(),
            t.entry.actor,
            t.entry.text
        ));
    }
    if !events.is_empty() {
        text.push_str(&format!("\n事件记录（前 {} 条）\n", events.len()));
        for e in events {
            text.push_str(&format!(
                "  {}  {}  {}\n",
                beijing_minutes(e.event.time),
                e.event.kind,
                e.event.summary
            ));
        }
    }
    if !findings.is_empty() {
        text.push_str("\n发现项\n");
        for f in findings {
            text.push_str(&format!("  #{}  {}  {}\n", f.id, f.title.zh, f.location));
        }
    }
    text
}

/// The deadline a person should look at first: overdue, then due soon,
/// then running.
pub fn nearest(deadlines: &[Deadline]) -> Option<&Deadline> {
    let rank = |d: &Deadline| match d.state {
        DeadlineState::Overdue => 0,
        DeadlineState::DueSoon => 1,
        DeadlineState::Pending => 2,
        DeadlineState::Waiting => 3,
        _ => 9,
    };
    deadlines
        .iter()
        .filter(|d| rank(d) < 9)
        .min_by_key(|d| rank(d))
}

/// The classes and subclasses with their codes.
pub fn classes() -> String {
    let mut rows = Vec::new();
    for c in taxonomy::CLASSES {
        if c.subclasses.is_empty() {
            rows.push(vec![c.code.to_string(), c.zh.to_string(), String::new()]);
        }
        for s in c.subclasses {
            rows.push(vec![s.code.to_string(), c.zh.to_string(), s.zh.to_string()]);
        }
    }
    table(&["CODE", "CLASS", "SUBCLASS"], &rows)
}
