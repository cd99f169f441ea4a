//! Report aggregates on PostgreSQL (see [`crate::report`]). `details` is
//! JSON text, cast to `jsonb` where a field is read.

use crate::sql;
use shouwang_model::{Event, FindingStatus};

use crate::postgres::{asset_ref, bind, event_from_row, params};
use crate::report::{
    Aggregates, AssetCount, DayCount, DayQuery, FindingGroup, FindingGroupQuery, KindCount,
    NumberStats, Rollup, RollupQuery, TimeRange, check_field, day_from_number, day_where,
    event_range_where, finding_group_where, kinds_in, where_sql,
};
use crate::sqlite_report::attach_samples;
use crate::{PostgresStore, Result, parse_name, severity_from_rank};

fn ph(i: usize) -> String {
    format!("${i}")
}

impl Aggregates for PostgresStore {
    fn finding_assignments(&self) -> Result<Vec<(i64, shouwang_model::FindingAssignment)>> {
        let rows = self.with(|c| c.query(sql::FINDING_ASSIGNMENTS, &[]))?;
        rows.iter()
            .map(|r| {
                let due = crate::report::due_of(r.get(2))?;
                Ok((
                    r.get(0),
                    shouwang_model::FindingAssignment {
                        owner: r.get(1),
                        due,
                    },
                ))
            })
            .collect()
    }

    fn open_assignment_groups(&self) -> Result<Vec<crate::AssignmentGroup>> {
        let rows = self.with(|c| c.query(sql::OPEN_ASSIGNMENT_GROUPS, &[]))?;
        rows.iter()
            .map(|r| {
                Ok(crate::AssignmentGroup {
                    sensor: r.get(0),
                    check: r.get(1),
                    owner: r.get(2),
                    earliest_due: crate::report::due_of(r.get(3))?,
                })
            })
            .collect()
    }

    fn event_kind_counts(&self, range: &TimeRange) -> Result<Vec<KindCount>> {
        let mut values = Vec::new();
        let clauses = event_range_where(&[], range, ph, &mut values);
        let sql = sql::event_kind_counts(&where_sql(&clauses));
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        Ok(rows
            .iter()
            .map(|r| KindCount {
                kind: r.get(0),
                count: r.get::<_, i64>(1) as u64,
                first: r.get(2),
                last: r.get(3),
            })
            .collect())
    }

    fn event_number_stats(
        &self,
        kinds: &[&str],
        field: &str,
        range: &TimeRange,
    ) -> Result<NumberStats> {
        check_field(field)?;
        let mut values = Vec::new();
        let mut clauses = event_range_where(kinds, range, ph, &mut values);
        clauses.push(format!(
            "jsonb_typeof(details::jsonb -> '{field}') = 'number'"
        ));
        let sql = format!(
            "SELECT COUNT(*), MIN(v), MAX(v), AVG(v) FROM
               (SELECT (details::jsonb ->> '{field}')::float8 AS v FROM events {}) t",
            where_sql(&clauses)
        );
        let values = bind(&values);
        let r = self.with(|c| c.query_one(&sql, &params(&values)))?;
        Ok(NumberStats {
            count: r.get::<_, i64>(0) as u64,
            min: r.get(1),
            max: r.get(2),
            avg: r.get(3),
        })
    }

    fn event_asset_counts(
        &self,
        kinds: &[&str],
        flag: Option<&str>,
        range: &TimeRange,
    ) -> Result<Vec<AssetCount>> {
        let flagged = match flag {
            Some(f) => {
                check_field(f)?;
                format!(
                    "SUM(CASE WHEN details::jsonb -> '{f}' = 'true'::jsonb THEN 1 ELSE 0 END)::BIGINT"
                )
            }
            None => "0::BIGINT".to_string(),
        };
        let mut values = Vec::new();
        let clauses = event_range_where(kinds, range, ph, &mut values);
        let sql = sql::event_asset_counts(&flagged, &where_sql(&clauses));
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter()
            .map(|r| {
                Ok(AssetCount {
                    asset: asset_ref(r.get(0), r.get(1))?,
                    kind: r.get(2),
                    count: r.get::<_, i64>(3) as u64,
                    flagged: r.get::<_, i64>(4) as u64,
                    last: r.get(5),
                })
            })
            .collect()
    }

    fn latest_event_per_asset(&self, kind: &str, range: &TimeRange) -> Result<Vec<Event>> {
        let mut values = Vec::new();
        let clauses = event_range_where(&[kind], range, ph, &mut values);
        let sql = sql::latest_event_per_asset(&where_sql(&clauses));
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter().map(event_from_row).collect()
    }

    fn event_sample_ids(
        &self,
        kinds: &[&str],
        range: &TimeRange,
        limit: usize,
    ) -> Result<Vec<i64>> {
        let mut values = Vec::new();
        let clauses = event_range_where(kinds, range, ph, &mut values);
        let sql = sql::event_ids(&where_sql(&clauses), limit);
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn event_rollup(&self, q: &RollupQuery) -> Result<Vec<Rollup>> {
        let mut values = Vec::new();
        let number = match &q.number_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN {} THEN details::jsonb -> '{f}' END",
                    kinds_in(&q.number_kinds, ph, &mut values)
                )
            }
            None => "NULL::jsonb".into(),
        };
        let flag = match &q.flag_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN {} THEN details::jsonb -> '{f}' END",
                    kinds_in(&q.flag_kinds, ph, &mut values)
                )
            }
            None => "NULL::jsonb".into(),
        };
        let clauses = event_range_where(&[], &q.range, ph, &mut values);
        let num = "CASE WHEN jsonb_typeof(x) = 'number' THEN (x #>> '{}')::float8 END";
        let sql = format!(
            "SELECT kind, asset_kind, asset_locator, COUNT(*), MIN(time), MAX(time),
                    SUM(CASE WHEN fl = 'true'::jsonb THEN 1 ELSE 0 END)::BIGINT,
                    COUNT({num}), MIN({num}), MAX({num}), SUM({num})
             FROM (SELECT kind, asset_kind, asset_locator, time, {number} AS x, {flag} AS fl
                   FROM events {}) t
             GROUP BY kind, asset_kind, asset_locator
             ORDER BY kind, asset_kind, asset_locator",
            where_sql(&clauses)
        );
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter()
            .map(|r| {
                Ok(Rollup {
                    kind: r.get(0),
                    asset: asset_ref(r.get(1), r.get(2))?,
                    count: r.get::<_, i64>(3) as u64,
                    first: r.get(4),
                    last: r.get(5),
                    flagged: r.get::<_, i64>(6) as u64,
                    numbers: r.get::<_, i64>(7) as u64,
                    min: r.get(8),
                    max: r.get(9),
                    sum: r.get(10),
                })
            })
            .collect()
    }

    fn event_days(&self, q: &DayQuery) -> Result<Vec<DayCount>> {
        let mut values = Vec::new();
        let number = match &q.number_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN jsonb_typeof(details::jsonb -> '{f}') = 'number' \
                     THEN (details::jsonb ->> '{f}')::float8 END"
                )
            }
            None => "NULL::float8".into(),
        };
        let clauses = day_where(q, ph, &mut values);
        // The offset is a number of ours, not input.
        let off = i64::from(q.utc_offset_secs);
        let sql = format!(
            "SELECT day, kind, COUNT(*), COUNT(x), MIN(x), MAX(x), SUM(x) FROM
               (SELECT floor((extract(epoch FROM time) + {off}) / 86400)::BIGINT AS day,
                       kind, {number} AS x
                FROM events {}) t
             GROUP BY day, kind ORDER BY day, kind",
            where_sql(&clauses)
        );
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(DayCount {
                    day: day_from_number(r.get(0))?,
                    kind: r.get(1),
                    count: r.get::<_, i64>(2) as u64,
                    numbers: r.get::<_, i64>(3) as u64,
                    min: r.get(4),
                    max: r.get(5),
                    sum: r.get(6),
                })
            })
            .collect())
    }

    fn finding_asset_counts(
        &self,
        sensor: &str,
        status: FindingStatus,
    ) -> Result<Vec<(shouwang_model::AssetRef, u64)>> {
        let rows = self.with(|c| {
            c.query(
                sql::REPORT_FINDING_ASSET_COUNTS,
                &[&sensor, &status.as_str()],
            )
        })?;
        rows.iter()
            .map(|r| Ok((asset_ref(r.get(0), r.get(1))?, r.get::<_, i64>(2) as u64)))
            .collect()
    }

    fn finding_groups(&self, q: &FindingGroupQuery) -> Result<Vec<FindingGroup>> {
        let (where_sql, values) = finding_group_where(q, ph);
        let sql = sql::finding_groups(&where_sql);
        let samples_sql = sql::finding_group_samples(&where_sql, q.samples);
        let values = bind(&values);
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        let mut groups = rows
            .iter()
            .map(|r| {
                Ok(FindingGroup {
                    sensor: r.get(0),
                    check: r.get(1),
                    status: parse_name::<FindingStatus>("finding status", r.get(2))?,
                    severity: severity_from_rank(r.get(3))?,
                    count: r.get::<_, i64>(4) as u64,
                    title_zh: r.get(5),
                    title_en: r.get(6),
                    assets: r.get::<_, i64>(7) as u64,
                    first_seen: r.get(8),
                    last_seen: r.get(9),
                    sample_ids: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if q.samples > 0 {
            let rows = self.with(|c| c.query(&samples_sql, &params(&values)))?;
            let samples = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            attach_samples(&mut groups, samples);
        }
        Ok(groups)
    }
}
