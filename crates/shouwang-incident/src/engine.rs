//! The engine: reads the store's event and finding feeds from its cursor,
//! matches each against the rules, and opens or joins incidents.
//!
//! Related happenings join one incident: the key is the rule and the asset,
//! and a happening within the rule's window of the incident's last activity
//! joins it (an attacker's 1,000 writes make one incident). Each pass is
//! applied in one store transaction together with the engine's state (the
//! cursors and the start of sustained conditions), guarded by the state it
//! read, so a crash neither loses nor double-counts anything and two
//! engines on one store cannot both apply the same pass.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{AssetRef, Incident, NewIncident};
use shouwang_store::{IncidentBatch, Members, NewAuditEntry, Store, StoreError};

use crate::rules::{Rule, RuleSet, Subject};

/// The setting that holds the engine's state.
pub const STATE_SETTING: &str = "incident.engine";

/// How many events and findings one pass reads at most.
pub const PASS_SIZE: usize = 5_000;

/// Failing happenings remembered per sustained condition, as the members
/// of the incident it may become.
const SUSTAIN_MEMBERS: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct EngineState {
    /// The last event id read.
    events: i64,
    /// The last finding id read.
    findings: i64,
    /// Sustained conditions under way, by group key.
    #[serde(default)]
    sustained: BTreeMap<String, Sustain>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sustain {
    since: DateTime<Utc>,
    events: Vec<i64>,
    /// Whether it has become an incident already.
    opened: bool,
}

/// What one pass or a catch-up did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PassReport {
    pub events_read: usize,
    pub findings_read: usize,
    /// Happenings that matched a rule.
    pub matched: usize,
    /// Incidents opened, as stored.
    pub opened: Vec<Incident>,
    /// Incidents that more happenings joined.
    pub joined: Vec<i64>,
}

impl PassReport {
    fn absorb(&mut self, other: PassReport) {
        self.events_read += other.events_read;
        self.findings_read += other.findings_read;
        self.matched += other.matched;
        self.opened.extend(other.opened);
        for id in other.joined {
            if !self.joined.contains(&id) {
                self.joined.push(id);
            }
        }
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the incident engine's stored state is unreadable ({0}); `shouwang incident sync --reset` starts it again from the newest event"
    )]
    State(String),
}

/// The incident engine.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: RuleSet,
}

/// Where a group's happenings go within one pass.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Existing { id: i64, last: DateTime<Utc> },
    New { index: usize, last: DateTime<Utc> },
}

impl Engine {
    pub fn new(rules: RuleSet) -> Self {
        Engine { rules }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Start again from the newest event and finding, skipping what came
    /// before: the way out when the stored state cannot be read. Returns
    /// the event and finding ids it starts after. A person's decision, so
    /// `actor` is named in the audit log with what was skipped.
    pub fn reset(store: &dyn Store, actor: &str) -> Result<(i64, i64), EngineError> {
        let newest = |page: &dyn Fn(i64) -> Result<Option<i64>, StoreError>| {
            let mut last = 0;
            while let Some(id) = page(last)? {
                last = id;
            }
            Ok::<i64, StoreError>(last)
        };
        const PAGE: usize = 50_000;
        let events = newest(&|after| Ok(store.events_after(after, PAGE)?.last().map(|e| e.id)))?;
        let findings =
            newest(&|after| Ok(store.findings_after(after, PAGE)?.last().map(|f| f.id)))?;
        let state = EngineState {
            events,
            findings,
            sustained: BTreeMap::new(),
        };
        let value = serde_json::to_value(&state).map_err(|e| EngineError::State(e.to_string()))?;
        store.audited(|tx| {
            tx.set_setting(STATE_SETTING, &value)?;
            tx.audit(&NewAuditEntry::new(
                actor,
                "incident.engine.reset",
                STATE_SETTING,
                serde_json::json!({ "events_after": events, "findings_after": findings }),
            ))
        })?;
        Ok((events, findings))
    }

    /// Run passes until the feeds are drained.
    pub fn catch_up(&self, store: &dyn Store) -> Result<PassReport, EngineError> {
        let mut total = PassReport::default();
        loop {
            let pass = match self.pass(store, PASS_SIZE) {
                Err(EngineError::Store(StoreError::Conflict { .. })) => {
                    // Another engine moved the cursor: read again from it.
                    continue;
                }
                other => other?,
            };
            let more = pass.events_read == PASS_SIZE || pass.findings_read == PASS_SIZE;
            total.absorb(pass);
            if !more {
                return Ok(total);
            }
        }
    }

    /// One pass over at most `limit` events and `limit` findings.
    pub fn pass(&self, store: &dyn Store, limit: usize) -> Result<PassReport, EngineError> {
        let raw = store.setting(STATE_SETTING)?;
        let mut state: EngineState = match &raw {
            None => EngineState::default(),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| EngineError::State(e.to_string()))?
            }
        };
        let events = store.events_after(state.events, limit)?;
        let findings = store.findings_after(state.findings, limit)?;
        let mut report = PassReport {
            events_read: events.len(),
            findings_read: findings.len(),
            ..Default::default()
        };
        if events.is_empty() && findings.is_empty() {
            return Ok(report);
        }
        let mut pass = Pass {
            store,
            batch: IncidentBatch::default(),
            slots: HashMap::new(),
            joined: BTreeMap::new(),
        };
        for e in &events {
            if self.offer(&mut pass, &mut state, Subject::Event(e))? {
                report.matched += 1;
            }
        }
        for f in &findings {
            if self.offer(&mut pass, &mut state, Subject::Finding(f))? {
                report.matched += 1;
            }
        }
        if let Some(e) = events.last() {
            state.events = e.id;
        }
        if let Some(f) = findings.last() {
            state.findings = f.id;
        }
        let mut batch = pass.batch;
        batch.joined = pass.joined.into_iter().collect();
        report.joined = batch.joined.iter().map(|(id, _)| *id).collect();
        batch.settings = vec![(
            STATE_SETTING.to_string(),
            serde_json::to_value(&state).map_err(|e| EngineError::State(e.to_string()))?,
        )];
        batch.expect = Some((STATE_SETTING.to_string(), raw));
        let ids = store.apply_incident_batch(&batch)?;
        for id in ids {
            if let Some(inc) = store.incident(id)? {
                report.opened.push(inc);
            }
        }
        Ok(report)
    }

    /// Match one happening; returns whether a rule took it.
    fn offer(
        &self,
        pass: &mut Pass<'_>,
        state: &mut EngineState,
        s: Subject<'_>,
    ) -> Result<bool, EngineError> {
        for r in self.rules.clearing(&s) {
            state.sustained.remove(&group_key(r, s.asset()));
        }
        let Some(rule) = self.rules.first_match(&s) else {
            return Ok(false);
        };
        let key = group_key(rule, s.asset());
        let t = s.time();
        let mut members = Members::default();
        match s {
            Subject::Event(e) => members.events.push(e.id),
            Subject::Finding(f) => members.findings.push(f.id),
        }
        if let Some(need) = rule.sustained {
            let entry = state
                .sustained
                .entry(key.clone())
                .or_insert_with(|| Sustain {
                    since: t,
                    events: Vec::new(),
                    opened: false,
                });
            if !entry.opened {
                if entry.events.len() < SUSTAIN_MEMBERS {
                    entry.events.extend(&members.events);
                }
                let held = (t - entry.since).to_std().unwrap_or_default();
                if held < need {
                    return Ok(true);
                }
                entry.opened = true;
                members.events = std::mem::take(&mut entry.events);
            }
        }
        members.last_activity = Some(t);
        pass.place(rule, key, s.asset(), t, members)?;
        Ok(true)
    }
}

/// The key that groups happenings of one rule on one asset.
pub fn group_key(rule: &Rule, asset: &AssetRef) -> String {
    format!("{}|{}|{}", rule.id, asset.kind, asset.locator)
}

struct Pass<'a> {
    store: &'a dyn Store,
    batch: IncidentBatch,
    slots: HashMap<String, Slot>,
    joined: BTreeMap<i64, Members>,
}

impl Pass<'_> {
    fn place(
        &mut self,
        rule: &Rule,
        key: String,
        asset: &AssetRef,
        t: DateTime<Utc>,
        members: Members,
    ) -> Result<(), StoreError> {
        let window = chrono::Duration::from_std(rule.window).unwrap_or(chrono::Duration::MAX);
        let slot = match self.slots.get(&key) {
            Some(s) => Some(*s),
            None => self
                .store
                .open_incident_for_group(&key)?
                .map(|inc| Slot::Existing {
                    id: inc.id,
                    last: inc.last_activity,
                }),
        };
        let within = |last: DateTime<Utc>| t - last <= window;
        let slot = match slot {
            Some(Slot::Existing { id, last }) if within(last) => {
                let m = self.joined.entry(id).or_default();
                m.events.extend(members.events);
                m.findings.extend(members.findings);
                m.last_activity = m.last_activity.max(Some(t));
                Slot::Existing {
                    id,
                    last: last.max(t),
                }
            }
            Some(Slot::New { index, last }) if within(last) => {
                let m = &mut self.batch.opened[index].1;
                m.events.extend(members.events);
                m.findings.extend(members.findings);
                m.last_activity = m.last_activity.max(Some(t));
                Slot::New {
                    index,
                    last: last.max(t),
                }
            }
            _ => {
                self.batch.opened.push((
                    NewIncident {
                        title: rule.title_for(asset),
                        subclass: rule.subclass.clone(),
                        level: rule.level,
                        asset: asset.clone(),
                        rule: rule.id.clone(),
                        group_key: key.clone(),
                        discovered_at: t,
                        summary: rule.summary.clone(),
                    },
                    members,
                ));
                Slot::New {
                    index: self.batch.opened.len() - 1,
                    last: t,
                }
            }
        };
        self.slots.insert(key, slot);
        Ok(())
    }
}
