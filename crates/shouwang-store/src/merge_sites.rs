//! Migration 8: one website, one asset. Sites were once kept under the
//! address as typed, so one store can hold `127.0.0.1:18950` and
//! `http://127.0.0.1:18950/` as two sites. What makes two addresses one
//! site is `shouwang_model::website_url` (the `url` crate's parsing, default
//! pages, fragments), which SQL cannot say; so this step runs in Rust, once,
//! when a store opens after its SQL migrations, on both backends alike.
//!
//! In one audited transaction, for each site with several spellings (or
//! one not normalised): the oldest asset is kept under the normalised
//! address, with the latest `last_seen` of them all; the others' events,
//! incidents, findings (their fingerprints made again for the kept
//! address; a finding the kept site has too is merged into it with its
//! owner, due date and incident links) move to it; the others are
//! removed; one `site.merge` audit entry says what was merged; and
//! version 8 is recorded in `schema_migrations`. A rerun finds version 8
//! and does nothing.

use serde_json::json;
use shouwang_model::{AssetKind, AssetRef, fingerprint, website_url};

use crate::raw::{Raw, Val};
use crate::tx::Tx;
use crate::{NewAuditEntry, Result};

/// The schema version this step brings a store to.
pub(crate) const MERGE_SITES_VERSION: i64 = 8;

fn t(s: &str) -> Val {
    Val::Text(s.to_string())
}

const DONE: &str = "SELECT version FROM schema_migrations WHERE version = $1";
const WEBSITES: &str =
    "SELECT locator FROM assets WHERE kind = 'website' ORDER BY first_seen, locator";
const KEEP_LAST_SEEN: &str = "UPDATE assets SET last_seen = (SELECT MAX(last_seen) FROM assets \
     WHERE kind = 'website' AND locator IN ($1, $2)) WHERE kind = 'website' AND locator = $1";
const DELETE_SITE: &str = "DELETE FROM assets WHERE kind = 'website' AND locator = $1";
const RENAME_SITE: &str = "UPDATE assets SET locator = $1 WHERE kind = 'website' AND locator = $2";
const MOVE_EVENTS: &str =
    "UPDATE events SET asset_locator = $1 WHERE asset_kind = 'website' AND asset_locator = $2";
const INCIDENTS_OF: &str =
    "SELECT id, group_key FROM incidents WHERE asset_kind = 'website' AND asset_locator = $1";
const MOVE_INCIDENT: &str = "UPDATE incidents SET asset_locator = $1, group_key = $2 WHERE id = $3";
const FINDINGS_OF: &str = "SELECT id, sensor, check_id, location FROM findings \
     WHERE asset_kind = 'website' AND asset_locator = $1 ORDER BY id";
const FINDING_BY_FINGERPRINT: &str = "SELECT id FROM findings WHERE fingerprint = $1";
const MOVE_FINDING: &str = "UPDATE findings SET asset_locator = $1, fingerprint = $2 WHERE id = $3";
/// The later observation of the two wins ($1 the finding merged away).
const TAKE_LATER_OBSERVATION: &str = "UPDATE findings SET (severity, title_zh, title_en, \
     evidence, status, last_seen, version, observed_at, input) = (SELECT severity, title_zh, \
     title_en, evidence, status, last_seen, version, observed_at, input FROM findings WHERE id = $1) \
     WHERE id = $2 AND last_seen < (SELECT last_seen FROM findings WHERE id = $1)";
const TAKE_FIRST_SEEN: &str = "UPDATE findings SET first_seen = (SELECT first_seen FROM findings \
     WHERE id = $1) WHERE id = $2 AND first_seen > (SELECT first_seen FROM findings WHERE id = $1)";
const TAKE_ASSIGNMENT: &str = "INSERT INTO finding_assignments (finding_id, owner, due_date, \
     updated_at) SELECT CAST($1 AS BIGINT), owner, due_date, updated_at FROM finding_assignments \
     WHERE finding_id = $2 ON CONFLICT (finding_id) DO NOTHING";
const DROP_ASSIGNMENT: &str = "DELETE FROM finding_assignments WHERE finding_id = $1";
const TAKE_LINKS: &str = "UPDATE incident_links SET ref_id = $1 WHERE source = 'finding' \
     AND ref_id = $2 AND NOT EXISTS (SELECT 1 FROM incident_links o WHERE \
     o.incident_id = incident_links.incident_id AND o.source = 'finding' AND o.ref_id = $1)";
const DROP_LINKS: &str = "DELETE FROM incident_links WHERE source = 'finding' AND ref_id = $1";
const DROP_FINDING: &str = "DELETE FROM findings WHERE id = $1";

/// Every statement of the step, for the test that prepares them.
#[cfg(test)]
pub(crate) const STATEMENTS: &[&str] = &[
    DONE,
    WEBSITES,
    KEEP_LAST_SEEN,
    DELETE_SITE,
    RENAME_SITE,
    MOVE_EVENTS,
    INCIDENTS_OF,
    MOVE_INCIDENT,
    FINDINGS_OF,
    FINDING_BY_FINGERPRINT,
    MOVE_FINDING,
    TAKE_LATER_OBSERVATION,
    TAKE_FIRST_SEEN,
    TAKE_ASSIGNMENT,
    DROP_ASSIGNMENT,
    TAKE_LINKS,
    DROP_LINKS,
    DROP_FINDING,
];

/// How much one merge moved.
#[derive(Debug, Default)]
struct Moved {
    findings: u64,
    events: u64,
    incidents: u64,
}

/// Run the step if the store has not had it; how many sites were merged
/// or renamed.
pub(crate) fn merge_duplicate_sites<T: Tx + Raw>(tx: &mut T) -> Result<usize> {
    tx.lock_migrations()?;
    if !tx.rows(DONE, &[Val::Int(MERGE_SITES_VERSION)])?.is_empty() {
        return Ok(0);
    }
    // Oldest first, so the first of each group is the one kept.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for row in tx.rows(WEBSITES, &[])? {
        let locator = row[0].text().to_string();
        // An address that does not parse is left as it is.
        let Ok(url) = website_url(&locator) else {
            continue;
        };
        let into = url.to_string();
        match groups.iter_mut().find(|(n, _)| *n == into) {
            Some((_, members)) => members.push(locator),
            None => groups.push((into, vec![locator])),
        }
    }
    let mut merged = 0;
    for (into, members) in groups {
        if members.len() == 1 && members[0] == into {
            continue;
        }
        let moved = merge_group(tx, &into, &members)?;
        let others: Vec<&String> = members.iter().filter(|m| **m != into).collect();
        tx.audit(&NewAuditEntry::new(
            "system",
            "site.merge",
            into.as_str(),
            json!({
                "merged": others,
                "kept": members[0],
                "findings": moved.findings,
                "events": moved.events,
                "incidents": moved.incidents,
            }),
        ))?;
        tracing::info!(site = %into, merged = ?others, "merged the spellings of one website");
        merged += 1;
    }
    tx.record_migration(MERGE_SITES_VERSION)?;
    Ok(merged)
}

/// Merge `members` (oldest first) into one asset at `into`.
fn merge_group<T: Raw>(tx: &mut T, into: &str, members: &[String]) -> Result<Moved> {
    let kept = &members[0];
    for other in &members[1..] {
        tx.exec(KEEP_LAST_SEEN, &[t(kept), t(other)])?;
        tx.exec(DELETE_SITE, &[t(other)])?;
    }
    if kept != into {
        tx.exec(RENAME_SITE, &[t(into), t(kept)])?;
    }
    let mut moved = Moved::default();
    let site = AssetRef::new(AssetKind::Website, into);
    for from in members.iter().filter(|m| *m != into) {
        moved.events += tx.exec(MOVE_EVENTS, &[t(into), t(from)])?;
        for row in tx.rows(INCIDENTS_OF, &[t(from)])? {
            let key = row[1].text();
            // The grouping key ends with the asset: `rule|website|locator`.
            let new_key = match key.strip_suffix(from.as_str()) {
                Some(head) => format!("{head}{into}"),
                None => key.to_string(),
            };
            moved.incidents += tx.exec(MOVE_INCIDENT, &[t(into), t(&new_key), row[0].clone()])?;
        }
        for row in tx.rows(FINDINGS_OF, &[t(from)])? {
            let (id, sensor, check, location) =
                (row[0].int(), row[1].text(), row[2].text(), row[3].text());
            let fp = fingerprint(sensor, check, &site, location);
            match tx.rows(FINDING_BY_FINGERPRINT, &[t(&fp)])?.first() {
                None => {
                    tx.exec(MOVE_FINDING, &[t(into), t(&fp), Val::Int(id)])?;
                }
                Some(same) => merge_finding(tx, same[0].int(), id)?,
            }
            moved.findings += 1;
        }
    }
    Ok(moved)
}

/// Fold the finding `gone` into `keep`, the same check at the same place
/// of the same site: the earlier first sighting, the later observation,
/// an owner and due date if `keep` has none, its incident links.
fn merge_finding<T: Raw>(tx: &mut T, keep: i64, gone: i64) -> Result<()> {
    let (keep, gone) = (Val::Int(keep), Val::Int(gone));
    tx.exec(TAKE_LATER_OBSERVATION, &[gone.clone(), keep.clone()])?;
    tx.exec(TAKE_FIRST_SEEN, &[gone.clone(), keep.clone()])?;
    tx.exec(TAKE_ASSIGNMENT, &[keep.clone(), gone.clone()])?;
    tx.exec(DROP_ASSIGNMENT, std::slice::from_ref(&gone))?;
    tx.exec(TAKE_LINKS, &[keep, gone.clone()])?;
    tx.exec(DROP_LINKS, std::slice::from_ref(&gone))?;
    tx.exec(DROP_FINDING, &[gone])?;
    Ok(())
}
