//! The incident announcer `up` runs: the engine every `interval_seconds`,
//! then the first notice of each new incident (found by an id cursor kept
//! in the store), notices of level changes, then deadline escalations. The
//! channels are read again whenever those kept in the console change.
//!
//! What was announced is remembered in the store (the cursor, the levels
//! announced, a timeline line per notice), so a restart neither repeats
//! nor loses a notice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shouwang_incident::actions::{self, Escalation};
use shouwang_incident::{Engine, EngineError, IncidentConfig, ReportingPolicy, RuleError};
use shouwang_model::{Incident, NewTimelineEntry, TimelineKind, UnitProfile};
use shouwang_store::{AuditAnchor, IncidentFilter, Store, StoreError, try_blocking};
use tokio::sync::watch;

use crate::channel::error_chain;
use crate::{ConfigError, Delivery, Notice, NoticeKind, Notifier, NotifyConfig};

/// The setting holding the id of the last incident announced.
const NOTICE_CURSOR: &str = "incident.notice-cursor";

/// The setting holding the level each open incident was last announced at.
const NOTIFIED_LEVELS: &str = "incident.notified-levels";

/// The setting holding the day (Beijing time, `2026-11-22`) the audit
/// anchor was last sent.
const ANCHOR_SENT: &str = "audit.anchor-sent-on";

/// Incident id (as text) → the level last announced.
type Levels = serde_json::Map<String, serde_json::Value>;

/// What the announcer needs from the config.
#[derive(Debug, Clone)]
pub struct AnnounceConfig {
    /// `[incident]`: the rules, the interval and the reporting policy.
    pub incident: IncidentConfig,
    /// `[unit]`, used when the console keeps no unit profile.
    pub unit: UnitProfile,
    /// `[notify]`: the config file's channels; those kept in the console
    /// are added.
    pub notify: NotifyConfig,
    /// The console's address, for the link in each notice.
    pub console: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("cannot load the incident rules")]
    Rules(#[source] RuleError),
    #[error("the notification channels are not usable")]
    Channels(#[source] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Panicked(#[from] shouwang_store::Panicked),
}

/// The notifier for the channels in effect: the config's `[notify]` and
/// those added in the console (`stored`). `None` when there are none.
pub fn notifier(
    base: &NotifyConfig,
    stored: Option<&serde_json::Value>,
) -> Result<Option<Arc<Notifier>>, AnnounceError> {
    let config = base.with_stored(stored).map_err(AnnounceError::Channels)?;
    if config.channels.is_empty() {
        return Ok(None);
    }
    let n = Notifier::new(&config).map_err(AnnounceError::Channels)?;
    Ok(Some(Arc::new(n)))
}

/// The notice for an incident.
pub fn notice_for(
    inc: &Incident,
    kind: NoticeKind,
    deadline: Option<String>,
    console: Option<&str>,
) -> Notice {
    let (class, subclass) = match inc.category() {
        Some((c, s)) => (Some(c.zh.to_string()), Some(s.zh.to_string())),
        None => (None, Some(inc.subclass.clone())),
    };
    Notice {
        kind,
        incident_id: Some(inc.id),
        title: inc.title.clone(),
        class,
        subclass,
        level: Some(inc.level.zh().to_string()),
        asset: Some(shouwang_incident::describe_asset(&inc.asset)),
        discovered_at: inc.discovered_at,
        deadline,
        summary: vec![
            inc.summary.clone(),
            format!(
                "已关联 {} 个事件记录、{} 个发现项",
                inc.event_count, inc.finding_count
            ),
        ],
        link: console.map(|base| format!("{}/incidents/{}", base.trim_end_matches('/'), inc.id)),
    }
}

/// Announce until `shutdown` turns true; then send what a rate limit held
/// back. Fails only when the incident rules cannot be loaded: a failed
/// pass is logged and tried again at the next interval.
pub async fn run(
    config: AnnounceConfig,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), AnnounceError> {
    let engine = Arc::new(Engine::new(
        config.incident.rules().map_err(AnnounceError::Rules)?,
    ));
    let every = Duration::from_secs(config.incident.interval_seconds.max(1));
    let config = Arc::new(config);
    let mut channels: Option<(Option<serde_json::Value>, Option<Arc<Notifier>>)> = None;
    loop {
        let step = {
            let (engine, store, config) = (engine.clone(), store.clone(), config.clone());
            try_blocking(move || find(&engine, store.as_ref(), &config)).await
        };
        match step {
            Ok(pass) => {
                if channels.as_ref().is_none_or(|(s, _)| *s != pass.stored) {
                    let n = match notifier(&config.notify, pass.stored.as_ref()) {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(target: "incident", "{}; notices are not sent", error_chain(&e));
                            None
                        }
                    };
                    channels = Some((pass.stored.clone(), n));
                }
                let n = channels.as_ref().and_then(|(_, n)| n.clone());
                announce(&store, n.as_deref(), config.console.as_deref(), pass).await;
            }
            Err(e) => {
                tracing::warn!(target: "incident", "incident pass failed: {}", error_chain(&e))
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|&s| s) => break,
        }
    }
    // Notices held back by a rate limit go out now, as one summary per
    // channel, rather than being lost with the process.
    if let Some(n) = channels.and_then(|(_, n)| n) {
        for d in n.flush().await {
            if let Some(e) = d.error() {
                tracing::warn!(target: "incident", channel = %d.channel, "held-back notices not sent: {e}");
            }
        }
    }
    Ok(())
}

/// What one run of the loop found to announce.
struct Pass {
    fresh: Vec<Incident>,
    relevelled: Vec<Incident>,
    levels: Option<Levels>,
    due: Vec<Escalation>,
    stored: Option<serde_json::Value>,
    policy: ReportingPolicy,
    /// Today's date and the audit anchor, when it has not gone out today.
    anchor: Option<(String, AuditAnchor)>,
}

/// One engine pass, then what it and people's changes left to announce.
fn find(
    engine: &Engine,
    store: &dyn Store,
    config: &AnnounceConfig,
) -> Result<Pass, AnnounceError> {
    let report = engine.catch_up(store)?;
    if !report.opened.is_empty() {
        tracing::info!(target: "incident", opened = report.opened.len(), "incidents opened");
    }
    let fresh = unannounced(store)?;
    let (relevelled, levels) = relevelled(store, &fresh)?;
    let unit = shouwang_store::unit_profile(store, &config.unit)?;
    let policy = config.incident.policy(unit.operator_type);
    let due = actions::due_escalations(store, &policy, Utc::now())?;
    let stored = store.setting(crate::STORED_CHANNELS_SETTING)?;
    let anchor = anchor_due(store, Utc::now())?;
    Ok(Pass {
        fresh,
        relevelled,
        levels,
        due,
        stored,
        policy,
        anchor,
    })
}

/// The audit anchor to send, once a Beijing day: today's date with it, or
/// `None` when it went out today already.
fn anchor_due(
    store: &dyn Store,
    now: chrono::DateTime<Utc>,
) -> Result<Option<(String, AuditAnchor)>, StoreError> {
    let today = now
        .with_timezone(&shouwang_model::beijing_offset())
        .format("%Y-%m-%d")
        .to_string();
    if store
        .setting(ANCHOR_SENT)?
        .as_ref()
        .and_then(|v| v.as_str())
        == Some(today.as_str())
    {
        return Ok(None);
    }
    Ok(Some((today, store.audit_anchor()?)))
}

/// Incidents opened since the last one announced, oldest first.
fn unannounced(store: &dyn Store) -> Result<Vec<Incident>, StoreError> {
    let cursor = store
        .setting(NOTICE_CURSOR)?
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    store.incidents(&IncidentFilter {
        after_id: Some(cursor),
        limit: 1000,
        ..Default::default()
    })
}

/// Open incidents whose level a person changed since it was last
/// announced (a raise to 较大 starts the reporting clock: the group must
/// know now, not when the deadline nears), and the levels to remember
/// when they differ from those stored.
fn relevelled(
    store: &dyn Store,
    fresh: &[Incident],
) -> Result<(Vec<Incident>, Option<Levels>), StoreError> {
    let known = match store.setting(NOTIFIED_LEVELS)? {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let open = store.incidents(&IncidentFilter {
        open_only: true,
        limit: 10_000,
        ..Default::default()
    })?;
    let mut changed = Vec::new();
    let mut remember = serde_json::Map::new();
    for inc in open {
        let level = serde_json::json!(inc.level);
        let key = inc.id.to_string();
        let is_fresh = fresh.iter().any(|f| f.id == inc.id);
        if !is_fresh && known.get(&key).is_some_and(|was| *was != level) {
            changed.push(inc);
        }
        remember.insert(key, level);
    }
    // Written only when it changed: `up` runs this every few seconds.
    Ok((changed, (remember != known).then_some(remember)))
}

/// Send one notice and say on the timeline what became of it.
async fn tell(notifier: Option<&Notifier>, notice: Notice) -> String {
    match notifier {
        Some(n) => describe_deliveries(&n.send(&notice).await),
        None => "未配置通知渠道，未发送通知".to_string(),
    }
}

async fn announce(
    store: &Arc<dyn Store>,
    notifier: Option<&Notifier>,
    console: Option<&str>,
    pass: Pass,
) {
    let Pass {
        fresh,
        relevelled,
        levels,
        due,
        policy,
        anchor,
        ..
    } = pass;
    let now = Utc::now();
    let line = |id: i64, text: String, details: serde_json::Value| NewTimelineEntry {
        incident_id: id,
        at: Utc::now(),
        actor: "system".into(),
        kind: TimelineKind::Notice,
        text,
        details,
    };
    let mut lines = Vec::new();
    for inc in &relevelled {
        // The deadline the new level sets, if any.
        let clock = shouwang_incident::deadlines(inc, &policy, now)
            .into_iter()
            .find(|d| d.due.is_some() && d.met_at.is_none())
            .map(|d| d.describe_zh(now));
        let notice = notice_for(inc, NoticeKind::IncidentUpdated, clock, console);
        let outcome = tell(notifier, notice).await;
        lines.push(line(
            inc.id,
            format!("级别调整为{}：{outcome}", inc.level.zh()),
            serde_json::json!({ "notice": "incident-updated", "level": inc.level }),
        ));
    }
    for inc in &fresh {
        let notice = notice_for(inc, NoticeKind::IncidentOpened, None, console);
        let outcome = tell(notifier, notice).await;
        lines.push(line(
            inc.id,
            outcome,
            serde_json::json!({ "notice": "incident-opened" }),
        ));
    }
    let cursor = fresh.last().map(|i| i.id);
    let mut escalations = Vec::new();
    for e in due {
        let clock = Some(e.deadline.describe_zh(now));
        let notice = notice_for(&e.incident, NoticeKind::IncidentEscalated, clock, console);
        let outcome = tell(notifier, notice).await;
        escalations.push((e, outcome));
    }
    // Without a channel there is no one to tell: the anchor goes out the
    // day one is configured.
    let anchor_sent = match (anchor, notifier) {
        (Some((today, a)), Some(_)) => {
            let notice = Notice::audit_anchor(&a.to_string(), a.seq, now);
            let outcome = tell(notifier, notice).await;
            tracing::info!(target: "incident", "audit anchor {a}: {outcome}");
            Some(today)
        }
        _ => None,
    };
    let store = store.clone();
    let done = try_blocking(move || {
        if !lines.is_empty() {
            store.add_timeline(&lines)?;
        }
        if let Some(today) = anchor_sent {
            store.set_setting(ANCHOR_SENT, &serde_json::json!(today))?;
        }
        if let Some(id) = cursor {
            store.set_setting(NOTICE_CURSOR, &serde_json::json!(id))?;
        }
        if let Some(levels) = levels {
            store.set_setting(NOTIFIED_LEVELS, &serde_json::Value::Object(levels))?;
        }
        for (e, outcome) in &escalations {
            actions::record_escalation(store.as_ref(), e, now, outcome)?;
        }
        Ok::<_, AnnounceError>(())
    })
    .await;
    if let Err(e) = done {
        tracing::warn!(target: "incident", "cannot record the notices: {}", error_chain(&e));
    }
}

/// "已通知：企业微信 ops（成功）；钉钉 boss（失败：…）".
fn describe_deliveries(ds: &[Delivery]) -> String {
    if ds.is_empty() {
        return "没有适用的通知渠道（级别低于渠道设置的最低级别）".into();
    }
    let parts: Vec<String> = ds
        .iter()
        .map(|d| match d.error() {
            None => format!("{}（成功）", d.channel),
            Some(e) => format!("{}（失败：{e}）", d.channel),
        })
        .collect();
    format!("已通知：{}", parts.join("；"))
}

#[cfg(test)]
mod tests {
    use shouwang_model::events::guard;
    use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};
    use shouwang_store::StoreConfig;

    use super::*;

    fn config() -> AnnounceConfig {
        AnnounceConfig {
            incident: IncidentConfig::default(),
            unit: UnitProfile::default(),
            notify: NotifyConfig::default(),
            console: None,
        }
    }

    fn tamper(store: &dyn Store) {
        let root = "/srv/www";
        store
            .record_events(&[NewEvent {
                time: Utc::now(),
                kind: guard::RESTORED.into(),
                asset: AssetRef::new(AssetKind::WebRoot, root),
                severity: Severity::High,
                summary: "index.html 的内容被篡改，已恢复".into(),
                details: serde_json::to_value(guard::Restored {
                    change: guard::Change {
                        path: "index.html".into(),
                        root: root.into(),
                        latency_ms: 0.4,
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .unwrap(),
                provenance: Provenance::now("guard", "guard.watch", root),
            }])
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_new_incident_is_announced_once_and_says_so_on_its_timeline_when_no_channel_is_set() {
        let tmp = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::from(shouwang_store::open(&StoreConfig::default(), tmp.path()).unwrap());
        tamper(store.as_ref());
        let (config, engine) = (config(), Engine::new(config().incident.rules().unwrap()));

        let pass = find(&engine, store.as_ref(), &config).unwrap();
        assert_eq!(pass.fresh.len(), 1, "the tampering opens one incident");
        let id = pass.fresh[0].id;
        announce(&store, None, None, pass).await;
        let said: Vec<String> = store
            .timeline(id)
            .unwrap()
            .into_iter()
            .filter(|t| t.entry.kind == TimelineKind::Notice)
            .map(|t| t.entry.text)
            .collect();
        assert_eq!(said, ["未配置通知渠道，未发送通知"]);

        // A later pass (or a restart: the cursor is in the store) finds
        // nothing new to announce.
        let again = find(&engine, store.as_ref(), &config).unwrap();
        assert!(again.fresh.is_empty() && again.relevelled.is_empty());
    }

    #[test]
    fn the_audit_anchor_is_due_once_a_beijing_day() {
        let tmp = tempfile::tempdir().unwrap();
        let store = shouwang_store::open(&StoreConfig::default(), tmp.path()).unwrap();
        // 23:30 UTC is already the next day in Beijing.
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (today, anchor) = anchor_due(store.as_ref(), now).unwrap().unwrap();
        assert_eq!(today, "2026-11-23");
        assert_eq!(anchor, store.audit_anchor().unwrap());
        store
            .set_setting(ANCHOR_SENT, &serde_json::json!(today))
            .unwrap();
        assert!(anchor_due(store.as_ref(), now).unwrap().is_none());
        let tomorrow = now + chrono::Duration::days(1);
        assert!(anchor_due(store.as_ref(), tomorrow).unwrap().is_some());
        let notice = Notice::audit_anchor(&anchor.to_string(), anchor.seq, now);
        assert!(notice.summary[0].contains(&anchor.to_string()));
    }
}
