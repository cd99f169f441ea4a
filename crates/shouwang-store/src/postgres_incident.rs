//! Incidents, timelines and settings in PostgreSQL.

use crate::sql;
use postgres::{GenericClient, Row};
use shouwang_model::{Event, Finding, Incident, NewTimelineEntry, TimelineEntry, TimelineKind};

use crate::postgres::{PostgresStore, asset_ref, bind, event_from_row, finding_from_row, params};
use crate::tx::Tx;
use crate::{
    IncidentBatch, IncidentFilter, Members, Result, StoreError, incident_where, now, parse_name,
};
use crate::{Incidents, Settings};

pub(crate) fn incident_from_row(r: &Row) -> Result<Incident> {
    Ok(Incident {
        id: r.get(0),
        title: r.get(1),
        subclass: r.get(2),
        level: parse_name("incident level", r.get(3))?,
        status: parse_name("incident status", r.get(4))?,
        asset: asset_ref(r.get(5), r.get(6))?,
        rule: r.get(7),
        group_key: r.get(8),
        discovered_at: r.get(9),
        last_activity: r.get(10),
        updated_at: r.get(11),
        handling_ended_at: r.get(12),
        closed_at: r.get(13),
        first_reported_at: r.get(14),
        summary_reported_at: r.get(15),
        event_count: r.get::<_, i64>(16) as u64,
        finding_count: r.get::<_, i64>(17) as u64,
        summary: r.get(18),
    })
}

fn timeline_from_row(r: &Row) -> Result<TimelineEntry> {
    let details: String = r.get(6);
    Ok(TimelineEntry {
        id: r.get(0),
        entry: NewTimelineEntry {
            incident_id: r.get(1),
            at: r.get(2),
            actor: r.get(3),
            kind: parse_name("timeline kind", r.get(4))?,
            text: r.get(5),
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        },
    })
}

pub(crate) fn insert_timeline(
    c: &mut impl GenericClient,
    e: &NewTimelineEntry,
) -> Result<(), postgres::Error> {
    c.execute(
        sql::INSERT_TIMELINE,
        &[
            &e.incident_id,
            &e.at,
            &e.actor,
            &e.kind.as_str(),
            &e.text,
            &e.details.to_string(),
        ],
    )?;
    Ok(())
}

/// Link members to an incident and bump its counters by the links that
/// were new.
fn link(c: &mut impl GenericClient, id: i64, m: &Members) -> Result<(), postgres::Error> {
    let events = if m.events.is_empty() {
        0
    } else {
        c.execute(
            "INSERT INTO incident_links (incident_id, source, ref_id)
             SELECT $1, 'event', x FROM UNNEST($2::bigint[]) AS x ON CONFLICT DO NOTHING",
            &[&id, &m.events],
        )?
    };
    let findings = if m.findings.is_empty() {
        0
    } else {
        c.execute(
            "INSERT INTO incident_links (incident_id, source, ref_id)
             SELECT $1, 'finding', x FROM UNNEST($2::bigint[]) AS x ON CONFLICT DO NOTHING",
            &[&id, &m.findings],
        )?
    };
    c.execute(
        "UPDATE incidents SET event_count = event_count + $2, finding_count = finding_count + $3,
            last_activity = GREATEST(last_activity, COALESCE($4, last_activity))
         WHERE id = $1",
        &[&id, &(events as i64), &(findings as i64), &m.last_activity],
    )?;
    Ok(())
}

pub(crate) fn set_setting_tx(
    c: &mut impl GenericClient,
    name: &str,
    value: &serde_json::Value,
) -> Result<(), postgres::Error> {
    c.execute(sql::SET_SETTING, &[&name, &value.to_string(), &now()])?;
    Ok(())
}

impl Incidents for PostgresStore {
    fn apply_incident_batch(&self, batch: &IncidentBatch) -> Result<Vec<i64>> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            if let Some((name, want)) = &batch.expect {
                // Row lock: a second engine waits here, then sees the move.
                tx.execute("LOCK TABLE settings IN SHARE ROW EXCLUSIVE MODE", &[])?;
                let have: Option<String> = tx.query_opt(sql::SETTING, &[name])?.map(|r| r.get(0));
                if let Err(e) = crate::incident::unmoved(name, have, want) {
                    return Ok(Err(e));
                }
            }
            let mut ids = Vec::with_capacity(batch.opened.len());
            let t = now();
            for (inc, members) in &batch.opened {
                let row = tx.query_one(
                    sql::CREATE_INCIDENT,
                    &[
                        &inc.title,
                        &inc.subclass,
                        &inc.level.as_str(),
                        &inc.asset.kind.as_str(),
                        &inc.asset.locator,
                        &inc.rule,
                        &inc.group_key,
                        &inc.discovered_at,
                        &t,
                        &inc.summary,
                    ],
                )?;
                let id: i64 = row.get(0);
                insert_timeline(
                    &mut tx,
                    &NewTimelineEntry {
                        incident_id: id,
                        at: inc.discovered_at,
                        actor: "system".into(),
                        kind: TimelineKind::Opened,
                        text: inc.summary.clone(),
                        details: serde_json::json!({ "rule": inc.rule, "level": inc.level }),
                    },
                )?;
                link(&mut tx, id, members)?;
                ids.push(id);
            }
            for (id, members) in &batch.joined {
                link(&mut tx, *id, members)?;
            }
            for (name, value) in &batch.settings {
                set_setting_tx(&mut tx, name, value)?;
            }
            tx.commit()?;
            Ok(Ok(ids))
        })?
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let row = self.with(|c| c.query_opt(sql::INCIDENT, &[&id]))?;
        row.as_ref().map(incident_from_row).transpose()
    }

    fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let (where_sql, values) = incident_where(f, |i| format!("${i}"));
        let values = bind(&values);
        let sql = sql::incidents(&where_sql, f.order_sql(), f.effective_limit());
        let rows = self.with(|c| c.query(&sql, &params(&values)))?;
        rows.iter().map(incident_from_row).collect()
    }

    fn count_incidents(&self, f: &IncidentFilter) -> Result<u64> {
        let (where_sql, values) = incident_where(f, |i| format!("${i}"));
        let values = bind(&values);
        let sql = sql::count_incidents(&where_sql);
        let row = self.with(|c| c.query_one(&sql, &params(&values)))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn open_incident_for_group(&self, key: &str) -> Result<Option<Incident>> {
        let row = self.with(|c| c.query_opt(sql::OPEN_INCIDENT_FOR_GROUP, &[&key]))?;
        row.as_ref().map(incident_from_row).transpose()
    }

    fn add_timeline(&self, entries: &[NewTimelineEntry]) -> Result<()> {
        self.write(|t| t.add_timeline(entries))
    }

    fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>> {
        let rows = self.with(|c| c.query(sql::TIMELINE, &[&incident_id]))?;
        rows.iter().map(timeline_from_row).collect()
    }

    fn incident_events(&self, incident_id: i64, limit: usize) -> Result<Vec<Event>> {
        let rows =
            self.with(|c| c.query(&sql::incident_events(), &[&incident_id, &(limit as i64)]))?;
        rows.iter().map(event_from_row).collect()
    }

    fn incident_findings(&self, incident_id: i64) -> Result<Vec<Finding>> {
        let rows = self.with(|c| c.query(&sql::incident_findings(), &[&incident_id]))?;
        rows.iter().map(finding_from_row).collect()
    }

    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>> {
        let rows = self.with(|c| c.query(sql::EVENTS_AFTER, &[&after, &(limit as i64)]))?;
        rows.iter().map(event_from_row).collect()
    }

    fn findings_after(&self, after: i64, limit: usize) -> Result<Vec<Finding>> {
        let rows = self.with(|c| c.query(sql::FINDINGS_AFTER, &[&after, &(limit as i64)]))?;
        rows.iter().map(finding_from_row).collect()
    }
}

impl Settings for PostgresStore {
    fn setting(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let row = self.with(|c| c.query_opt(sql::SETTING, &[&name]))?;
        setting_of(name, row)
    }

    fn set_setting(&self, name: &str, value: &serde_json::Value) -> Result<()> {
        self.write(|t| t.set_setting(name, value))
    }
}

/// A setting's stored JSON text, parsed; shared with the transaction.
pub(crate) fn setting_of(
    name: &str,
    row: Option<postgres::Row>,
) -> Result<Option<serde_json::Value>> {
    row.map(|r| {
        let s: String = r.get(0);
        serde_json::from_str(&s).map_err(|e| StoreError::Invalid {
            what: "setting",
            detail: format!("{name}: {e}"),
        })
    })
    .transpose()
}
