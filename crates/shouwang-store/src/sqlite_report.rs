//! Report aggregates on SQLite (see [`crate::report`]). Times are
//! microseconds; `details` is JSON text read with `json_extract`.

use crate::sql;
use rusqlite::params_from_iter;
use shouwang_model::{Event, FindingStatus};

use crate::report::{
    Aggregates, AssetCount, DayCount, DayQuery, FindingGroup, FindingGroupQuery, KindCount,
    NumberStats, Rollup, RollupQuery, TimeRange, check_field, day_from_number, day_where,
    event_range_where, finding_group_where, kinds_in, where_sql,
};
use crate::sqlite::{asset_ref, bind, conv, event_from_row, unconv};
use crate::{Result, SqliteStore, from_micros, parse_name, severity_from_rank};

fn ph(i: usize) -> String {
    format!("?{i}")
}

impl Aggregates for SqliteStore {
    fn finding_assignments(&self) -> Result<Vec<(i64, shouwang_model::FindingAssignment)>> {
        let rows: Vec<(i64, String, Option<String>)> = self.with(|c| {
            let mut st = c.prepare(sql::FINDING_ASSIGNMENTS)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(id, owner, due)| {
                let due = crate::report::due_of(due)?;
                Ok((id, shouwang_model::FindingAssignment { owner, due }))
            })
            .collect()
    }

    fn open_assignment_groups(&self) -> Result<Vec<crate::AssignmentGroup>> {
        let rows: Vec<(String, String, String, Option<String>)> = self.with(|c| {
            let mut st = c.prepare(sql::OPEN_ASSIGNMENT_GROUPS)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(sensor, check, owner, due)| {
                Ok(crate::AssignmentGroup {
                    sensor,
                    check,
                    owner,
                    earliest_due: crate::report::due_of(due)?,
                })
            })
            .collect()
    }

    fn event_kind_counts(&self, range: &TimeRange) -> Result<Vec<KindCount>> {
        let mut values = Vec::new();
        let clauses = event_range_where(&[], range, ph, &mut values);
        let sql = sql::event_kind_counts(&where_sql(&clauses));
        let values = bind(&values);
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(params_from_iter(values.iter()), |r| {
                Ok(KindCount {
                    kind: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    first: r.get::<_, Option<i64>>(2)?.map(from_micros),
                    last: r.get::<_, Option<i64>>(3)?.map(from_micros),
                })
            })?
            .collect()
        })
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
        let path = format!("'$.{field}'");
        clauses.push(format!("json_type(details, {path}) IN ('integer', 'real')"));
        let sql = format!(
            "SELECT COUNT(*), MIN(v), MAX(v), AVG(v) FROM
               (SELECT json_extract(details, {path}) AS v FROM events {})",
            where_sql(&clauses)
        );
        let values = bind(&values);
        self.with(|c| {
            c.query_row(&sql, params_from_iter(values.iter()), |r| {
                Ok(NumberStats {
                    count: r.get::<_, i64>(0)? as u64,
                    min: r.get(1)?,
                    max: r.get(2)?,
                    avg: r.get(3)?,
                })
            })
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
                format!("SUM(CASE WHEN json_type(details, '$.{f}') = 'true' THEN 1 ELSE 0 END)")
            }
            None => "0".to_string(),
        };
        let mut values = Vec::new();
        let clauses = event_range_where(kinds, range, ph, &mut values);
        let sql = sql::event_asset_counts(&flagged, &where_sql(&clauses));
        let values = bind(&values);
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(params_from_iter(values.iter()), |r| {
                Ok(AssetCount {
                    asset: asset_ref(&r.get::<_, String>(0)?, r.get(1)?)?,
                    kind: r.get(2)?,
                    count: r.get::<_, i64>(3)? as u64,
                    flagged: r.get::<_, i64>(4)? as u64,
                    last: r.get::<_, Option<i64>>(5)?.map(from_micros),
                })
            })?
            .collect()
        })
        .map_err(unconv)
    }

    fn latest_event_per_asset(&self, kind: &str, range: &TimeRange) -> Result<Vec<Event>> {
        let mut values = Vec::new();
        let clauses = event_range_where(&[kind], range, ph, &mut values);
        let sql = sql::latest_event_per_asset(&where_sql(&clauses));
        let values = bind(&values);
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(params_from_iter(values.iter()), event_from_row)?
                .collect()
        })
        .map_err(unconv)
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
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(params_from_iter(values.iter()), |r| r.get(0))?
                .collect()
        })
    }

    fn event_rollup(&self, q: &RollupQuery) -> Result<Vec<Rollup>> {
        let mut values = Vec::new();
        // `->>` and `->` parse the JSON once per row, and only for the
        // kinds that need it.
        let number = match &q.number_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN {} THEN details ->> '$.{f}' END",
                    kinds_in(&q.number_kinds, ph, &mut values)
                )
            }
            None => "NULL".into(),
        };
        let flag = match &q.flag_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN {} THEN details -> '$.{f}' END",
                    kinds_in(&q.flag_kinds, ph, &mut values)
                )
            }
            None => "NULL".into(),
        };
        let clauses = event_range_where(&[], &q.range, ph, &mut values);
        // SQLite groups by sorting: over a million rows that sort costs
        // more than the scan. The groups (kinds × assets) are few, so
        // stream the rows and add them up in a hash map instead.
        let sql = format!(
            "SELECT kind, asset_kind, asset_locator, time, {number}, {flag} = 'true' FROM events {}",
            where_sql(&clauses)
        );
        let values = bind(&values);
        let groups = self
            .with(|c| {
                let mut st = c.prepare(&sql)?;
                let mut rows = st.query(params_from_iter(values.iter()))?;
                let mut groups: std::collections::HashMap<String, Rollup> = Default::default();
                let mut key = String::new();
                while let Some(r) = rows.next()? {
                    let kind = r.get_ref(0)?.as_str()?;
                    let ak = r.get_ref(1)?.as_str()?;
                    let loc = r.get_ref(2)?.as_str()?;
                    let time = from_micros(r.get(3)?);
                    key.clear();
                    key.push_str(kind);
                    key.push('\0');
                    key.push_str(ak);
                    key.push('\0');
                    key.push_str(loc);
                    let g = match groups.get_mut(key.as_str()) {
                        Some(g) => g,
                        None => {
                            let g = Rollup {
                                kind: kind.to_string(),
                                asset: asset_ref(ak, loc.to_string())?,
                                count: 0,
                                first: time,
                                last: time,
                                flagged: 0,
                                numbers: 0,
                                min: None,
                                max: None,
                                sum: None,
                            };
                            groups.entry(key.clone()).or_insert(g)
                        }
                    };
                    g.count += 1;
                    g.first = g.first.min(time);
                    g.last = g.last.max(time);
                    if r.get::<_, Option<bool>>(5)? == Some(true) {
                        g.flagged += 1;
                    }
                    let x = match r.get_ref(4)? {
                        rusqlite::types::ValueRef::Integer(i) => Some(i as f64),
                        rusqlite::types::ValueRef::Real(f) => Some(f),
                        _ => None,
                    };
                    if let Some(x) = x {
                        g.numbers += 1;
                        g.min = Some(g.min.map_or(x, |m| m.min(x)));
                        g.max = Some(g.max.map_or(x, |m| m.max(x)));
                        g.sum = Some(g.sum.unwrap_or(0.0) + x);
                    }
                }
                Ok(groups)
            })
            .map_err(unconv)?;
        let mut out: Vec<Rollup> = groups.into_values().collect();
        out.sort_by(|a, b| {
            (&a.kind, a.asset.kind.as_str(), &a.asset.locator).cmp(&(
                &b.kind,
                b.asset.kind.as_str(),
                &b.asset.locator,
            ))
        });
        Ok(out)
    }

    fn event_days(&self, q: &DayQuery) -> Result<Vec<DayCount>> {
        let mut values = Vec::new();
        let number = match &q.number_field {
            Some(f) => {
                check_field(f)?;
                format!(
                    "CASE WHEN json_type(details, '$.{f}') IN ('integer', 'real') \
                     THEN json_extract(details, '$.{f}') END"
                )
            }
            None => "NULL".into(),
        };
        let clauses = day_where(q, ph, &mut values);
        // Times are microseconds; the offset is a number of ours, not input.
        let off = i64::from(q.utc_offset_secs);
        let sql = format!(
            "SELECT day, kind, COUNT(*), COUNT(x), MIN(x), MAX(x), SUM(x) FROM
               (SELECT (time / 1000000 + {off}) / 86400 AS day, kind, {number} AS x
                FROM events {}) t
             GROUP BY day, kind ORDER BY day, kind",
            where_sql(&clauses)
        );
        let values = bind(&values);
        let rows = self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(params_from_iter(values.iter()), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, Option<f64>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(day, kind, count, numbers, min, max, sum)| {
                Some(DayCount {
                    day: day_from_number(day)?,
                    kind,
                    count,
                    numbers,
                    min,
                    max,
                    sum,
                })
            })
            .collect())
    }

    fn finding_asset_counts(
        &self,
        sensor: &str,
        status: FindingStatus,
    ) -> Result<Vec<(shouwang_model::AssetRef, u64)>> {
        self.with(|c| {
            let mut st = c.prepare(sql::REPORT_FINDING_ASSET_COUNTS)?;
            st.query_map(rusqlite::params![sensor, status.as_str()], |r| {
                Ok((
                    asset_ref(&r.get::<_, String>(0)?, r.get(1)?)?,
                    r.get::<_, i64>(2)? as u64,
                ))
            })?
            .collect()
        })
        .map_err(unconv)
    }

    fn finding_groups(&self, q: &FindingGroupQuery) -> Result<Vec<FindingGroup>> {
        let (where_sql, values) = finding_group_where(q, ph);
        let sql = sql::finding_groups(&where_sql);
        let samples_sql = sql::finding_group_samples(&where_sql, q.samples);
        let values = bind(&values);
        let (mut groups, samples) = self
            .with(|c| {
                let mut st = c.prepare(&sql)?;
                let groups = st
                    .query_map(params_from_iter(values.iter()), |r| {
                        Ok(FindingGroup {
                            sensor: r.get(0)?,
                            check: r.get(1)?,
                            status: parse_name::<FindingStatus>(
                                "finding status",
                                &r.get::<_, String>(2)?,
                            )
                            .map_err(conv)?,
                            severity: severity_from_rank(r.get(3)?).map_err(conv)?,
                            count: r.get::<_, i64>(4)? as u64,
                            title_zh: r.get(5)?,
                            title_en: r.get(6)?,
                            assets: r.get::<_, i64>(7)? as u64,
                            first_seen: from_micros(r.get(8)?),
                            last_seen: from_micros(r.get(9)?),
                            sample_ids: Vec::new(),
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let samples = if q.samples == 0 {
                    Vec::new()
                } else {
                    let mut st = c.prepare(&samples_sql)?;
                    st.query_map(params_from_iter(values.iter()), |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?
                };
                Ok((groups, samples))
            })
            .map_err(unconv)?;
        attach_samples(&mut groups, samples);
        Ok(groups)
    }
}

/// Put each sample id into its group (groups are few, samples bounded).
pub(crate) fn attach_samples(
    groups: &mut [FindingGroup],
    samples: Vec<(String, String, String, i64)>,
) {
    let mut index = std::collections::HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        index.insert(
            (
                g.sensor.clone(),
                g.check.clone(),
                g.status.as_str().to_string(),
            ),
            i,
        );
    }
    for (sensor, check, status, id) in samples {
        if let Some(&i) = index.get(&(sensor, check, status)) {
            groups[i].sample_ids.push(id);
        }
    }
}
