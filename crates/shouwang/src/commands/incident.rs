//! `shouwang incident list|show|update|sync|rules|classes`. The loop `up`
//! runs (the engine, the notices, the escalation of reporting deadlines)
//! is `shouwang_notify::announce`.
//!
//! `list` and `show` first run the engine over whatever the sensors wrote
//! since it last ran, so a person who ran `site inspect` without `up` sees
//! the incidents it caused. Notices are driven by a cursor over incident
//! ids, not by who ran the engine, so each new incident is announced once
//! by `up`, also when the CLI opened it.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use shouwang_incident::actions::{self, ChangeRequest};
use shouwang_incident::{Engine, IncidentConfig, ReportingPolicy, text, view};
use shouwang_model::taxonomy::{self, IncidentLevel};
use shouwang_model::{IncidentStatus, ReportStage, UnitProfile};
use shouwang_store::{IncidentFilter, Store};

use super::{Access, Ctx, Outcome};
use crate::output;
use shouwang_config::Loaded;

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
        output::print_json(taxonomy::CLASSES)?;
        return Ok(Outcome::Clean);
    }
    output::print(&text::classes())?;
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
    let policy = policy(loaded, store.as_ref())?;
    let now = Utc::now();
    let listed = view::list(store.as_ref(), &filter, &policy, now)?;
    if args.json {
        output::print_json(&listed)?;
    } else if listed.is_empty() {
        output::print("no incidents\n")?;
    } else {
        output::print(&text::list(&listed, now))?;
    }
    Ok(if view::overdue(&listed) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn show(ctx: &Ctx, loaded: &Loaded, id: i64, json: bool) -> Result<Outcome> {
    let store = ctx.open_store(loaded, Access::Create)?;
    sync_quietly(loaded, store.as_ref());
    let policy = policy(loaded, store.as_ref())?;
    let now = Utc::now();
    let Some(s) = view::show(store.as_ref(), id, &policy, now)? else {
        bail!("incident {id} not found: `shouwang incident list --all` lists them");
    };
    if json {
        output::print_json(&s)?;
    } else {
        let (t, e, f) = (&s.timeline, &s.events, &s.findings);
        output::print(&text::show(&s.incident, &s.deadlines, t, e, f, now))?;
    }
    Ok(Outcome::Clean)
}

/// "2026-11-22T07:30:00Z", or "2026-11-22 15:30" read as Beijing time.
fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    shouwang_model::parse_beijing(s).with_context(|| {
        format!(
            "{s:?} is not a time: write 2026-11-22T07:30:00Z or \"2026-11-22 15:30\" (Beijing time)"
        )
    })
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
