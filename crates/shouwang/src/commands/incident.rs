//! `shouwang incident list|show|update|sync|rules|classes`, and the loop
//! `up` runs: the engine, the first notice of each new incident, and the
//! escalation of reporting deadlines.
//!
//! `list` and `show` first run the engine over whatever the sensors wrote
//! since it last ran, so a person who ran `site inspect` without `up` sees
//! the incidents it caused. Notices are driven by a cursor over incident
//! ids, not by who ran the engine, so each new incident is announced once
//! by `up`, also when the CLI opened it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use shouwang_incident::actions::{self, ChangeRequest};
use shouwang_incident::{Deadline, DeadlineState, Engine, IncidentConfig, ReportingPolicy};
use shouwang_model::taxonomy::{self, IncidentLevel};
use shouwang_model::{Incident, IncidentStatus, ReportStage, UnitProfile, beijing_minutes};
use shouwang_store::{IncidentFilter, Store};

use super::{Access, Ctx, Outcome};
use crate::config::Loaded;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// List incidents, open ones by default (exit 1 when a reporting
    /// deadline has passed)
    List(ListArgs),
    /// One incident: its class, level, reporting clock and timeline
    Show {
        id: i64,
        /// Print JSON on stdout instead of text
        #[arg(long)]
        json: bool,
    },
    /// Change an incident's status or level, record a report to the
    /// authority, or add a note (all audited)
    Update(UpdateArgs),
    /// Run the incident rules over new events and findings now
    Sync {
        /// Start from the newest event and finding, skipping earlier ones
        /// (when the engine's stored state cannot be read)
        #[arg(long)]
        reset: bool,
        /// Print JSON on stdout instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print the incident rules in effect
    Rules,
    /// The GB/T 20986-2023 classes and subclasses, with their codes
    Classes {
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Closed incidents too
    #[arg(long)]
    pub all: bool,
    /// Only this level: general, large, major, extraordinarily-major (or 一般, 较大, ...)
    #[arg(long)]
    pub level: Option<String>,
    /// Only this status: discovered, triage, response, recovery, closed (or 发现, 研判, ...)
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many, newest first
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub id: i64,
    /// New status: discovered, triage, response, recovery, closed (or 发现, 研判, 处置, 恢复, 关闭)
    #[arg(long)]
    pub status: Option<String>,
    /// New level (needs --reason): general, large, major, extraordinarily-major (or 一般, 较大, 重大, 特别重大)
    #[arg(long)]
    pub level: Option<String>,
    /// Why the level or status changes
    #[arg(long, default_value = "")]
    pub reason: String,
    /// A report went to the authority: first, follow-up, summary (or 首次报告, 续报, 总结报告)
    #[arg(long, value_name = "STAGE")]
    pub reported: Option<String>,
    /// When the report went out (RFC 3339, or "2026-11-22 15:30" in Beijing time) [default: now]
    #[arg(long, value_name = "TIME", requires = "reported")]
    pub reported_at: Option<String>,
    /// A note for the timeline
    #[arg(long, default_value = "")]
    pub note: String,
    /// Print the incident as JSON afterwards
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, cmd: IncidentCommand) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    match cmd {
        IncidentCommand::Classes { json } => classes(json),
        IncidentCommand::Rules => {
            let rules = rules_text(&loaded.config.incident)?;
            output::print(&rules)?;
            Ok(Outcome::Clean)
        }
        IncidentCommand::Sync { reset, json } => {
            let store = ctx.open_store(&loaded, Access::Create)?;
            if reset {
                let (events, findings) = Engine::reset(store.as_ref(), &super::cli_actor())
                    .context("cannot reset the incident engine")?;
                tracing::info!(events, findings, "incident engine reset");
                eprintln!("the incident engine starts after event {events} and finding {findings}");
            }
            let report = engine(&loaded.config.incident)?
                .catch_up(store.as_ref())
                .context("the incident engine failed")?;
            if json {
                output::print_json(&report)?;
            } else {
                output::print(&format!(
                    "read {} events and {} findings; {} matched a rule; {} incidents opened, {} joined\n",
                    report.events_read,
                    report.findings_read,
                    report.matched,
                    report.opened.len(),
                    report.joined.len()
                ))?;
            }
            Ok(Outcome::Clean)
        }
        IncidentCommand::List(args) => list(ctx, &loaded, args),
        IncidentCommand::Show { id, json } => show(ctx, &loaded, id, json),
        IncidentCommand::Update(args) => update(ctx, &loaded, args),
    }
}

fn engine(config: &IncidentConfig) -> Result<Engine> {
    Ok(Engine::new(
        config.rules().context("cannot load the incident rules")?,
    ))
}

fn rules_text(config: &IncidentConfig) -> Result<String> {
    match &config.rules_file {
        Some(p) => {
            // Check it compiles before printing it as the rules in effect.
            config.rules().context("cannot load the incident rules")?;
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        }
        None => Ok(shouwang_incident::DEFAULT_RULES.to_string()),
    }
}

/// The unit profile in effect: the console's, else the config's `[unit]`.
pub fn unit(loaded: &Loaded, store: &dyn Store) -> Result<UnitProfile> {
    let fallback = loaded.config.unit.profile();
    shouwang_store::unit_profile(store, &fallback).context("cannot read the unit profile")
}

/// The reporting policy in effect for this unit.
pub fn policy(loaded: &Loaded, store: &dyn Store) -> Result<ReportingPolicy> {
    let unit = unit(loaded, store)?;
    Ok(loaded.config.incident.policy(unit.operator_type))
}

/// Run the engine quietly before showing incidents; a store that cannot
/// be written (a read-only copy) still shows what it has.
fn sync_quietly(loaded: &Loaded, store: &dyn Store) {
    match engine(&loaded.config.incident).map(|e| e.catch_up(store)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("the incident engine did not run: {e}"),
        Err(e) => tracing::warn!("the incident engine did not run: {e:#}"),
    }
}

fn classes(json: bool) -> Result<Outcome> {
    if json {
        let v: Vec<_> = taxonomy::CLASSES
            .iter()
            .map(|c| {
                serde_json::json!({
                    "code": c.code, "zh": c.zh, "en": c.en,
                    "subclasses": c.subclasses.iter().map(|s| serde_json::json!({
                        "code": s.code, "zh": s.zh, "en": s.en, "official_code": s.official_code,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        output::print_json(&v)?;
        return Ok(Outcome::Clean);
    }
    let mut rows = Vec::new();
    for c in taxonomy::CLASSES {
        if c.subclasses.is_empty() {
            rows.push(vec![c.code.to_string(), c.zh.to_string(), String::new()]);
        }
        for s in c.subclasses {
            rows.push(vec![s.code.to_string(), c.zh.to_string(), s.zh.to_string()]);
        }
    }
    output::print(&output::table(&["CODE", "CLASS", "SUBCLASS"], &rows))?;
    output::print(
        "Codes are Shouwang's stable seed codes; the standard's Annex B codes are unconfirmed.\n",
    )?;
    Ok(Outcome::Clean)
}

fn parse_level(s: &str) -> Result<IncidentLevel> {
    Ok(s.parse()?)
}

fn parse_status(s: &str) -> Result<IncidentStatus> {
    Ok(s.parse()?)
}

/// The deadline a person should look at first: overdue, then due soon,
/// then running.
fn nearest(deadlines: &[Deadline]) -> Option<&Deadline> {
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

fn list(ctx: &Ctx, loaded: &Loaded, args: ListArgs) -> Result<Outcome> {
    let store = ctx.open_store(loaded, Access::Create)?;
    sync_quietly(loaded, store.as_ref());
    let filter = IncidentFilter {
        open_only: !args.all && args.status.is_none(),
        level: args.level.as_deref().map(parse_level).transpose()?,
        status: args.status.as_deref().map(parse_status).transpose()?,
        limit: args.limit.max(1),
        ..Default::default()
    };
    let incidents = store
        .incidents(&filter)
        .context("cannot list the incidents")?;
    let policy = policy(loaded, store.as_ref())?;
    let now = Utc::now();
    let with_clock: Vec<(Incident, Vec<Deadline>)> = incidents
        .into_iter()
        .map(|i| {
            let d = shouwang_incident::deadlines(&i, &policy, now);
            (i, d)
        })
        .collect();
    let overdue = with_clock
        .iter()
        .any(|(_, d)| d.iter().any(|d| d.state == DeadlineState::Overdue));
    if args.json {
        let v: Vec<_> = with_clock
            .iter()
            .map(|(i, d)| serde_json::json!({ "incident": i, "category": i.category_zh(), "deadlines": d }))
            .collect();
        output::print_json(&v)?;
    } else if with_clock.is_empty() {
        output::print("no incidents\n")?;
    } else {
        let rows: Vec<Vec<String>> = with_clock
            .iter()
            .map(|(i, d)| {
                vec![
                    i.id.to_string(),
                    i.level.zh().to_string(),
                    i.status.zh().to_string(),
                    beijing_minutes(i.discovered_at),
                    i.category_zh(),
                    i.title.clone(),
                    nearest(d).map(|d| d.describe_zh(now)).unwrap_or_default(),
                ]
            })
            .collect();
        output::print(&output::table(
            &[
                "ID",
                "LEVEL",
                "STATUS",
                "DISCOVERED",
                "CLASS",
                "TITLE",
                "REPORTING",
            ],
            &rows,
        ))?;
    }
    Ok(if overdue {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn show(ctx: &Ctx, loaded: &Loaded, id: i64, json: bool) -> Result<Outcome> {
    let store = ctx.open_store(loaded, Access::Create)?;
    sync_quietly(loaded, store.as_ref());
    let Some(inc) = store.incident(id)? else {
        bail!("incident {id} not found: `shouwang incident list --all` lists them");
    };
    let policy = policy(loaded, store.as_ref())?;
    let now = Utc::now();
    let deadlines = shouwang_incident::deadlines(&inc, &policy, now);
    let timeline = store.timeline(id)?;
    let events = store.incident_events(id, 50)?;
    let findings = store.incident_findings(id)?;
    if json {
        output::print_json(&serde_json::json!({
            "incident": inc,
            "category": inc.category_zh(),
            "deadlines": deadlines,
            "timeline": timeline,
            "events": events,
            "findings": findings,
        }))?;
        return Ok(Outcome::Clean);
    }
    let mut text = format!("事件 #{}  {}\n\n", inc.id, inc.title);
    text.push_str(&output::key_values(&[
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
        ("对象", shouwang_incident::describe_asset(&inc.asset)),
        ("发现时间", beijing_minutes(inc.discovered_at)),
        ("最近活动", beijing_minutes(inc.last_activity)),
        (
            "构成",
            format!("{} 个事件，{} 个发现项", inc.event_count, inc.finding_count),
        ),
        ("研判", inc.summary.clone()),
    ]));
    text.push_str("\n报告时限\n");
    for d in &deadlines {
        text.push_str(&format!(
            "  {}  报送对象：{}\n",
            d.describe_zh(now),
            d.report_to
        ));
    }
    text.push_str("\n时间线\n");
    for t in &timeline {
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
        for e in &events {
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
        for f in &findings {
            text.push_str(&format!("  #{}  {}  {}\n", f.id, f.title.zh, f.location));
        }
    }
    output::print(&text)?;
    Ok(Outcome::Clean)
}

/// "2026-11-22T07:30:00Z", or "2026-11-22 15:30" read as Beijing time.
fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M")
        .with_context(|| format!("{s:?} is not a time: write 2026-11-22T07:30:00Z or \"2026-11-22 15:30\" (Beijing time)"))?;
    naive
        .and_local_timezone(shouwang_model::beijing_offset())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{s:?} is not a valid Beijing time"))
}

fn update(ctx: &Ctx, loaded: &Loaded, args: UpdateArgs) -> Result<Outcome> {
    let store = ctx.open_store(loaded, Access::Existing)?;
    let reported = match &args.reported {
        Some(stage) => {
            let stage: ReportStage = stage.parse()?;
            let at = match &args.reported_at {
                Some(t) => parse_time(t)?,
                None => Utc::now(),
            };
            Some((stage, at))
        }
        None => None,
    };
    let req = ChangeRequest {
        status: args.status.as_deref().map(parse_status).transpose()?,
        level: args.level.as_deref().map(parse_level).transpose()?,
        reason: args.reason,
        reported,
        note: args.note,
    };
    let inc = actions::change(store.as_ref(), args.id, &super::cli_actor(), &req)?;
    if args.json {
        output::print_json(&inc)?;
    } else {
        output::print(&format!(
            "incident #{}: {} · {} · {}\n",
            inc.id,
            inc.level.zh(),
            inc.status.zh(),
            inc.title
        ))?;
    }
    Ok(Outcome::Clean)
}

/// The notifier for the channels in effect: the config's `[notify]` and
/// those added in the console (`stored`). `None` when there are none.
pub fn notifier(
    base: &shouwang_notify::NotifyConfig,
    stored: Option<&serde_json::Value>,
) -> Result<Option<Arc<shouwang_notify::Notifier>>> {
    let config = base
        .with_stored(stored)
        .context("the notification channels are not usable")?;
    if config.channels.is_empty() {
        return Ok(None);
    }
    let n = shouwang_notify::Notifier::new(&config)
        .context("the notification channels are not usable")?;
    Ok(Some(Arc::new(n)))
}

/// The setting holding the id of the last incident announced.
const NOTICE_CURSOR: &str = "incident.notice-cursor";

/// The notice for an incident.
pub fn notice_for(
    inc: &Incident,
    kind: shouwang_notify::NoticeKind,
    deadline: Option<String>,
    console: Option<&str>,
) -> shouwang_notify::Notice {
    let (class, subclass) = match inc.category() {
        Some((c, s)) => (Some(c.zh.to_string()), Some(s.zh.to_string())),
        None => (None, Some(inc.subclass.clone())),
    };
    shouwang_notify::Notice {
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

/// What `up` runs: the engine every `interval_seconds`, then the first
/// notice of each new incident, then deadline escalations. The channels
/// are read again whenever those kept in the console change.
pub async fn run_loop(
    loaded: Loaded,
    store: Arc<dyn Store>,
    console: Option<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let engine = Arc::new(engine(&loaded.config.incident)?);
    let every = Duration::from_secs(loaded.config.incident.interval_seconds.max(1));
    let mut channels: Option<(
        Option<serde_json::Value>,
        Option<Arc<shouwang_notify::Notifier>>,
    )> = None;
    loop {
        let step = {
            let (engine, store, loaded) = (engine.clone(), store.clone(), loaded.clone());
            super::blocking(move || -> Result<Pass> {
                let report = engine.catch_up(store.as_ref())?;
                if !report.opened.is_empty() {
                    tracing::info!(target: "incident", opened = report.opened.len(), "incidents opened");
                }
                let fresh = unannounced(store.as_ref())?;
                let (relevelled, levels) = relevelled(store.as_ref(), &fresh)?;
                let policy = policy(&loaded, store.as_ref())?;
                let due = actions::due_escalations(store.as_ref(), &policy, Utc::now())?;
                let stored = store.setting(shouwang_notify::STORED_CHANNELS_SETTING)?;
                Ok(Pass {
                    fresh,
                    relevelled,
                    levels,
                    due,
                    stored,
                    policy,
                })
            })
            .await
        };
        match step {
            Ok(pass) => {
                if channels.as_ref().is_none_or(|(s, _)| *s != pass.stored) {
                    let n = match notifier(&loaded.config.notify, pass.stored.as_ref()) {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(target: "incident", "{e:#}; notices are not sent");
                            None
                        }
                    };
                    channels = Some((pass.stored.clone(), n));
                }
                let n = channels.as_ref().and_then(|(_, n)| n.clone());
                announce(&store, n.as_deref(), console.as_deref(), pass).await;
            }
            Err(e) => tracing::warn!(target: "incident", "incident pass failed: {e:#}"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|&s| s) => break,
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
    due: Vec<actions::Escalation>,
    stored: Option<serde_json::Value>,
    policy: ReportingPolicy,
}

/// Incidents opened since the last one announced, oldest first.
fn unannounced(store: &dyn Store) -> Result<Vec<Incident>> {
    let cursor = store
        .setting(NOTICE_CURSOR)?
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    Ok(store.incidents(&IncidentFilter {
        after_id: Some(cursor),
        limit: 1000,
        ..Default::default()
    })?)
}

/// The setting holding the level each open incident was last announced at.
const NOTIFIED_LEVELS: &str = "incident.notified-levels";

/// Incident id (as text) → the level last announced.
type Levels = serde_json::Map<String, serde_json::Value>;

/// Open incidents whose level a person changed since it was last
/// announced (a raise to 较大 starts the reporting clock: the group must
/// know now, not when the deadline nears), and the levels to remember
/// when they differ from those stored.
fn relevelled(store: &dyn Store, fresh: &[Incident]) -> Result<(Vec<Incident>, Option<Levels>)> {
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
async fn tell(
    notifier: Option<&shouwang_notify::Notifier>,
    notice: shouwang_notify::Notice,
) -> String {
    match notifier {
        Some(n) => describe_deliveries(&n.send(&notice).await),
        None => "未配置通知渠道，未发送通知".to_string(),
    }
}

async fn announce(
    store: &Arc<dyn Store>,
    notifier: Option<&shouwang_notify::Notifier>,
    console: Option<&str>,
    pass: Pass,
) {
    use shouwang_model::{NewTimelineEntry, TimelineKind};
    use shouwang_notify::NoticeKind;
    let Pass {
        fresh,
        relevelled,
        levels,
        due,
        policy,
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
    let store = store.clone();
    let done = super::blocking(move || -> Result<()> {
        if !lines.is_empty() {
            store.add_timeline(&lines)?;
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
        Ok(())
    })
    .await;
    match done {
        Ok(()) => {}
        Err(e) => tracing::warn!(target: "incident", "cannot record the notices: {e:#}"),
    }
}

/// "已通知：企业微信 ops（成功）；钉钉 boss（失败：…）".
fn describe_deliveries(ds: &[shouwang_notify::Delivery]) -> String {
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
    use super::*;

    #[test]
    fn times_are_read_in_beijing_time_or_rfc3339() {
        let t = parse_time("2026-11-22 15:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T07:30:00+00:00");
        let t = parse_time("2026-11-22T07:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T07:30:00+00:00");
        assert!(parse_time("yesterday").is_err());
    }
}
