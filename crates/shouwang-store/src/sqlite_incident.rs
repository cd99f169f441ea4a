//! Incidents, timelines and settings in SQLite.

use crate::sql;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use shouwang_model::{Event, Finding, Incident, NewTimelineEntry, TimelineEntry};

use crate::sqlite::{SqliteStore, asset_ref, bind, conv, event_from_row, finding_from_row, unconv};
use crate::tx::Tx;
use crate::{
    IncidentBatch, IncidentFilter, Members, Result, StoreError, from_micros, incident_where, now,
    parse_name, to_micros,
};
use crate::{Incidents, Settings};

pub(crate) fn incident_from_row(r: &Row<'_>) -> rusqlite::Result<Incident> {
    let t = |i: usize| -> rusqlite::Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Incident {
        id: r.get(0)?,
        title: r.get(1)?,
        subclass: r.get(2)?,
        level: parse_name("incident level", &r.get::<_, String>(3)?).map_err(conv)?,
        status: parse_name("incident status", &r.get::<_, String>(4)?).map_err(conv)?,
        asset: asset_ref(&r.get::<_, String>(5)?, r.get(6)?)?,
        rule: r.get(7)?,
        group_key: r.get(8)?,
        discovered_at: from_micros(r.get(9)?),
        last_activity: from_micros(r.get(10)?),
        updated_at: from_micros(r.get(11)?),
        handling_ended_at: t(12)?,
        closed_at: t(13)?,
        first_reported_at: t(14)?,
        summary_reported_at: t(15)?,
        event_count: r.get::<_, i64>(16)? as u64,
        finding_count: r.get::<_, i64>(17)? as u64,
        summary: r.get(18)?,
    })
}

fn timeline_from_row(r: &Row<'_>) -> rusqlite::Result<TimelineEntry> {
    let details: String = r.get(6)?;
    Ok(TimelineEntry {
        id: r.get(0)?,
        entry: NewTimelineEntry {
            incident_id: r.get(1)?,
            at: from_micros(r.get(2)?),
            actor: r.get(3)?,
            kind: parse_name("timeline kind", &r.get::<_, String>(4)?).map_err(conv)?,
            text: r.get(5)?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        },
    })
}

pub(crate) fn insert_timeline(tx: &Connection, e: &NewTimelineEntry) -> rusqlite::Result<()> {
    tx.prepare_cached(sql::INSERT_TIMELINE)?.execute(params![
        e.incident_id,
        to_micros(e.at),
        e.actor,
        e.kind.as_str(),
        e.text,
        e.details.to_string()
    ])?;
    Ok(())
}

/// Link members to an incident and bump its counters; links already there
/// (an event offered twice) are not counted again.
fn link(tx: &Transaction<'_>, id: i64, m: &Members) -> rusqlite::Result<()> {
    let mut events = 0i64;
    let mut findings = 0i64;
    {
        let mut st = tx.prepare_cached(
            "INSERT OR IGNORE INTO incident_links (incident_id, source, ref_id) VALUES (?1, ?2, ?3)",
        )?;
        for e in &m.events {
            events += st.execute(params![id, "event", e])? as i64;
        }
        for f in &m.findings {
            findings += st.execute(params![id, "finding", f])? as i64;
        }
    }
    tx.prepare_cached(
        "UPDATE incidents SET event_count = event_count + ?2, finding_count = finding_count + ?3,
            last_activity = MAX(last_activity, COALESCE(?4, last_activity))
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        events,
        findings,
        m.last_activity.map(to_micros)
    ])?;
    Ok(())
}

pub(crate) fn set_setting_tx(
    c: &Connection,
    name: &str,
    value: &serde_json::Value,
) -> rusqlite::Result<()> {
    c.prepare_cached(sql::SET_SETTING)?.execute(params![
        name,
        value.to_string(),
        to_micros(now())
    ])?;
    Ok(())
}

impl Incidents for SqliteStore {
    fn apply_incident_batch(&self, batch: &IncidentBatch) -> Result<Vec<i64>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if let Some((name, want)) = &batch.expect {
                let have: Option<String> = tx
                    .query_row(sql::SETTING, [name], |r| r.get(0))
                    .optional()?;
                if let Err(e) = crate::incident::unmoved(name, have, want) {
                    return Ok(Err(e));
                }
            }
            let mut ids = Vec::with_capacity(batch.opened.len());
            let t = to_micros(now());
            for (inc, members) in &batch.opened {
                let id: i64 = tx.prepare_cached(sql::CREATE_INCIDENT)?.query_row(
                    params![
                        inc.title,
                        inc.subclass,
                        inc.level.as_str(),
                        inc.asset.kind.as_str(),
                        inc.asset.locator,
                        inc.rule,
                        inc.group_key,
                        to_micros(inc.discovered_at),
                        t,
                        inc.summary
                    ],
                    |r| r.get(0),
                )?;
                insert_timeline(
                    &tx,
                    &NewTimelineEntry {
                        incident_id: id,
                        at: inc.discovered_at,
                        actor: "system".into(),
                        kind: shouwang_model::TimelineKind::Opened,
                        text: inc.summary.clone(),
                        details: serde_json::json!({ "rule": inc.rule, "level": inc.level }),
                    },
                )?;
                link(&tx, id, members)?;
                ids.push(id);
            }
            for (id, members) in &batch.joined {
                link(&tx, *id, members)?;
            }
            for (name, value) in &batch.settings {
                set_setting_tx(&tx, name, value)?;
            }
            tx.commit()?;
            Ok(Ok(ids))
        })?
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.with(|c| {
            c.query_row(sql::INCIDENT, [id], incident_from_row)
                .optional()
        })
        .map_err(unconv)
    }

    fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let (where_sql, values) = incident_where(f, |i| format!("?{i}"));
        let values = bind(&values);
        let sql = sql::incidents(&where_sql, f.order_sql(), f.effective_limit());
        self.with(|c| {
            let mut st = c.prepare(&sql)?;
            st.query_map(rusqlite::params_from_iter(values.iter()), incident_from_row)?
                .collect()
        })
        .map_err(unconv)
    }

    fn count_incidents(&self, f: &IncidentFilter) -> Result<u64> {
        let (where_sql, values) = incident_where(f, |i| format!("?{i}"));
        let values = bind(&values);
        let n: i64 = self.with(|c| {
            c.query_row(
                &sql::count_incidents(&where_sql),
                rusqlite::params_from_iter(values.iter()),
                |r| r.get(0),
            )
        })?;
        Ok(n as u64)
    }

    fn open_incident_for_group(&self, key: &str) -> Result<Option<Incident>> {
        self.with(|c| {
            c.query_row(sql::OPEN_INCIDENT_FOR_GROUP, [key], incident_from_row)
                .optional()
        })
        .map_err(unconv)
    }

    fn add_timeline(&self, entries: &[NewTimelineEntry]) -> Result<()> {
        self.write(|t| t.add_timeline(entries))
    }

    fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql::TIMELINE)?;
            st.query_map([incident_id], timeline_from_row)?.collect()
        })
        .map_err(unconv)
    }

    fn incident_events(&self, incident_id: i64, limit: usize) -> Result<Vec<Event>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&sql::incident_events())?;
            st.query_map(params![incident_id, limit as i64], event_from_row)?
                .collect()
        })
        .map_err(unconv)
    }

    fn incident_findings(&self, incident_id: i64) -> Result<Vec<Finding>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&sql::incident_findings())?;
            st.query_map([incident_id], finding_from_row)?.collect()
        })
        .map_err(unconv)
    }

    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql::EVENTS_AFTER)?;
            st.query_map(params![after, limit as i64], event_from_row)?
                .collect()
        })
        .map_err(unconv)
    }

    fn findings_after(&self, after: i64, limit: usize) -> Result<Vec<Finding>> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql::FINDINGS_AFTER)?;
            st.query_map(params![after, limit as i64], finding_from_row)?
                .collect()
        })
        .map_err(unconv)
    }
}

impl Settings for SqliteStore {
    fn setting(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let raw: Option<String> =
            self.with(|c| c.query_row(sql::SETTING, [name], |r| r.get(0)).optional())?;
        raw.map(|s| {
            serde_json::from_str(&s).map_err(|e| StoreError::Invalid {
                what: "setting",
                detail: format!("{name}: {e}"),
            })
        })
        .transpose()
    }

    fn set_setting(&self, name: &str, value: &serde_json::Value) -> Result<()> {
        self.write(|t| t.set_setting(name, value))
    }
}
