//! The store's vocabulary for report aggregates: small summaries computed
//! in the database, so a report over a million events reads a handful of
//! rows, not the events.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{AssetRef, FindingStatus, Severity};

use shouwang_model::Event;

use crate::{FilterValue, Result, StoreError};

/// The report aggregates every store answers: small summaries computed in
/// the database, so a report over a million events reads a handful of
/// rows. A part of [`Store`](crate::Store), implemented by each backend in
/// its own file (`sqlite_report.rs`, `postgres_report.rs`), so no method is
/// forwarded by hand.
pub trait Aggregates {
    /// Events in the range counted by kind.
    fn event_kind_counts(&self, range: &TimeRange) -> Result<Vec<KindCount>>;
    /// Count, min, max and mean of the numeric `details.<field>` over the
    /// events of these kinds in the range (events without a number there
    /// are left out). `field` is letters, digits and `_`.
    fn event_number_stats(
        &self,
        kinds: &[&str],
        field: &str,
        range: &TimeRange,
    ) -> Result<NumberStats>;
    /// Events of these kinds in the range counted by asset and kind, with
    /// how many have `details.<flag>` = true.
    fn event_asset_counts(
        &self,
        kinds: &[&str],
        flag: Option<&str>,
        range: &TimeRange,
    ) -> Result<Vec<AssetCount>>;
    /// The newest event of `kind` in the range on each asset.
    fn latest_event_per_asset(&self, kind: &str, range: &TimeRange) -> Result<Vec<Event>>;
    /// The ids of the newest `limit` events of these kinds in the range.
    fn event_sample_ids(&self, kinds: &[&str], range: &TimeRange, limit: usize)
    -> Result<Vec<i64>>;
    /// Findings counted by sensor, check and status, most severe first,
    /// each group with its newest ids.
    fn finding_groups(&self, query: &FindingGroupQuery) -> Result<Vec<FindingGroup>>;
    /// Findings of a sensor in a status counted by asset.
    fn finding_asset_counts(
        &self,
        sensor: &str,
        status: FindingStatus,
    ) -> Result<Vec<(AssetRef, u64)>>;
    /// Events in a range per kind and asset, with a numeric field's
    /// statistics and a flag's count, in one scan.
    fn event_rollup(&self, query: &RollupQuery) -> Result<Vec<Rollup>>;
    /// Who answers for the open findings of each check, by when: one row
    /// per sensor, check and owner with the earliest due date among them.
    fn open_assignment_groups(&self) -> Result<Vec<AssignmentGroup>>;
    /// Every assignment by finding id, in id order. People make them one at
    /// a time in the console, so there are as many as people made.
    fn finding_assignments(&self) -> Result<Vec<(i64, shouwang_model::FindingAssignment)>>;
    /// Events in a range counted per local day (at `utc_offset_secs`) and
    /// kind, optionally of one asset, with a numeric field's statistics:
    /// at most days × kinds rows, whatever the number of events.
    fn event_days(&self, query: &DayQuery) -> Result<Vec<DayCount>>;
}

/// The open findings of one check assigned to one owner (`""` when only a
/// date was set), and the earliest of their due dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentGroup {
    pub sensor: String,
    pub check: String,
    pub owner: String,
    pub earliest_due: Option<chrono::NaiveDate>,
}

/// A stored due date (`YYYY-MM-DD`) read back.
pub(crate) fn due_of(raw: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    raw.map(|s| {
        chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| crate::StoreError::Invalid {
            what: "due date",
            detail: format!("{s}: {e}"),
        })
    })
    .transpose()
}

/// A half-open time range `[since, until)`; `None` leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        TimeRange {
            since: Some(since),
            until: Some(until),
        }
    }
}

/// Events of one kind in a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindCount {
    pub kind: String,
    pub count: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Statistics of a numeric field over some events; `count` is how many had
/// a number there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumberStats {
    pub count: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub avg: Option<f64>,
}

/// Events of one kind on one asset in a range; `flagged` counts those whose
/// flag field (if one was asked for) is JSON `true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetCount {
    pub asset: AssetRef,
    pub kind: String,
    pub count: u64,
    pub flagged: u64,
    pub last: Option<DateTime<Utc>>,
}

/// One pass over the events of a range: counts per kind and asset, with
/// optionally a numeric field's statistics over some kinds and a flag
/// field's `true` count over some kinds. One scan answers what would
/// otherwise take a scan per figure.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RollupQuery {
    pub range: TimeRange,
    /// Kinds whose `details.<field>` numbers are summarised.
    pub number_kinds: Vec<String>,
    pub number_field: Option<String>,
    /// Kinds whose `details.<field>` = true are counted.
    pub flag_kinds: Vec<String>,
    pub flag_field: Option<String>,
}

/// Events of one kind on one asset in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub kind: String,
    pub asset: AssetRef,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// How many had the flag field true (0 unless the kind is a flag kind).
    pub flagged: u64,
    /// How many had a number in the number field, and its min, max, sum.
    pub numbers: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: Option<f64>,
}

/// Which events to count per day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayQuery {
    pub range: TimeRange,
    /// Only these kinds; empty means every kind.
    pub kinds: Vec<String>,
    /// Only the events of this asset.
    pub asset: Option<AssetRef>,
    /// The numeric `details.<field>` summarised per day and kind.
    pub number_field: Option<String>,
    /// Where a day begins: seconds east of UTC (Beijing is 8 × 3600).
    pub utc_offset_secs: i32,
}

/// Events of one kind on one local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub kind: String,
    pub count: u64,
    /// How many had a number in the number field, and its min, max, sum.
    pub numbers: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: Option<f64>,
}

/// The WHERE clauses of a day query, shared by both backends.
pub(crate) fn day_where(
    q: &DayQuery,
    placeholder: fn(usize) -> String,
    values: &mut Vec<FilterValue>,
) -> Vec<String> {
    let kinds: Vec<&str> = q.kinds.iter().map(String::as_str).collect();
    let mut clauses = event_range_where(&kinds, &q.range, placeholder, values);
    if let Some(a) = &q.asset {
        values.push(FilterValue::Text(a.kind.as_str().into()));
        clauses.push(format!("asset_kind = {}", placeholder(values.len())));
        values.push(FilterValue::Text(a.locator.clone()));
        clauses.push(format!("asset_locator = {}", placeholder(values.len())));
    }
    clauses
}

/// The local day numbered `n` days after 1970-01-01 (what both backends
/// group by); `None` past chrono's range.
pub(crate) fn day_from_number(n: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::try_days(n)?)
}

/// `kind IN (...)` for a CASE, with the kinds bound as values; `FALSE`
/// (never) for none.
pub(crate) fn kinds_in(
    kinds: &[String],
    placeholder: fn(usize) -> String,
    values: &mut Vec<FilterValue>,
) -> String {
    if kinds.is_empty() {
        return "1 = 0".into();
    }
    let mut ph = Vec::new();
    for k in kinds {
        values.push(FilterValue::Text(k.clone()));
        ph.push(placeholder(values.len()));
    }
    format!("kind IN ({})", ph.join(", "))
}

/// Which findings to group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FindingGroupQuery {
    pub sensor: Option<String>,
    pub status: Option<FindingStatus>,
    /// Only findings first seen in this range.
    pub first_seen: TimeRange,
    /// How many ids (newest first) to name per group.
    pub samples: usize,
}

/// Findings of one sensor and check in one status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingGroup {
    pub sensor: String,
    pub check: String,
    pub status: FindingStatus,
    /// The most severe among them.
    pub severity: Severity,
    pub count: u64,
    /// One of their titles (they share the check, so usually all alike).
    pub title_zh: String,
    pub title_en: String,
    /// How many distinct assets they are on.
    pub assets: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The newest ids, at most [`FindingGroupQuery::samples`].
    pub sample_ids: Vec<i64>,
}

/// A JSON field name for `details`: letters, digits and `_` only, so it can
/// go into a JSON path.
pub(crate) fn check_field(field: &str) -> Result<(), StoreError> {
    if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            what: "details field name",
            detail: format!("{field:?}: use letters, digits and _ only"),
        })
    }
}

/// WHERE clauses for events of some kinds in a range, shared by both
/// backends (`kinds` empty means all kinds).
pub(crate) fn event_range_where(
    kinds: &[&str],
    range: &TimeRange,
    placeholder: fn(usize) -> String,
    values: &mut Vec<FilterValue>,
) -> Vec<String> {
    let mut clauses = Vec::new();
    if !kinds.is_empty() {
        let mut ph = Vec::new();
        for k in kinds {
            values.push(FilterValue::Text((*k).to_string()));
            ph.push(placeholder(values.len()));
        }
        clauses.push(format!("kind IN ({})", ph.join(", ")));
    }
    if let Some(t) = range.since {
        values.push(FilterValue::Time(t));
        clauses.push(format!("time >= {}", placeholder(values.len())));
    }
    if let Some(t) = range.until {
        values.push(FilterValue::Time(t));
        clauses.push(format!("time < {}", placeholder(values.len())));
    }
    clauses
}

/// WHERE clauses for a finding group query.
pub(crate) fn finding_group_where(
    q: &FindingGroupQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(s) = &q.sensor {
        values.push(FilterValue::Text(s.clone()));
        clauses.push(format!("sensor = {}", placeholder(values.len())));
    }
    if let Some(st) = q.status {
        values.push(FilterValue::Text(st.as_str().into()));
        clauses.push(format!("status = {}", placeholder(values.len())));
    }
    if let Some(t) = q.first_seen.since {
        values.push(FilterValue::Time(t));
        clauses.push(format!("first_seen >= {}", placeholder(values.len())));
    }
    if let Some(t) = q.first_seen.until {
        values.push(FilterValue::Time(t));
        clauses.push(format!("first_seen < {}", placeholder(values.len())));
    }
    (where_sql(&clauses), values)
}

pub(crate) fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}
