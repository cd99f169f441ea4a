//! `shouwang site inspect|add|list`: website inspection.
//!
//! `site inspect URL` is a one-shot: no config, data dir or store needed,
//! it prints what it finds (and writes an HTML report with --html). With
//! --record, and always with --all, the findings and the run's summary
//! event go into the store, and findings of the site that were not seen
//! again are marked resolved.
//!
//! The sites to inspect are kept in the store as assets of kind `website`
//! rather than in the config file: the console lists and will edit them,
//! and `site add` must not rewrite a hand-commented TOML file.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use shouwang_model::events::decode;
use shouwang_model::text::shorten;
use shouwang_model::{
    Asset, AssetKind, AssetRef, FindingStatus, NewEvent, NewFinding, Provenance, Severity,
};
use shouwang_site::events as site_events;
use shouwang_site::{InspectOptions, Report, SiteSnapshot};
use shouwang_store::{EventFilter, FindingFilter, NewAuditEntry, RunScope, Store};

use super::{Access, Ctx, Outcome, cli_actor};
use crate::cli::JsonArg;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Inspect a website now: crawl it, check every link, image and
    /// attachment, and look for what inspectors and attackers find first;
    /// exit 1 when anything is found
    Inspect(InspectArgs),
    /// Add a website to the sites `site inspect --all` inspects
    Add {
        /// The homepage, e.g. https://www.example.gov.cn/
        url: String,
        /// A human name, e.g. 某某镇人民政府网站
        #[arg(long)]
        name: Option<String>,
        /// The site is our own: do not consult robots.txt, do not space
        /// requests
        #[arg(long)]
        own: bool,
    },
    /// List the websites added with `site add`
    List(JsonArg),
    /// What the store says of the sites: the last inspection's counts and
    /// the findings still open (exit 1 when there are any)
    Report {
        /// One site's homepage; all sites when left out
        url: Option<String>,
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML report to FILE (one site)
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The homepage, e.g. https://www.example.gov.cn/
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub url: Option<String>,
    /// Inspect every site added with `site add` (and record the results)
    #[arg(long)]
    pub all: bool,
    /// Print JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to FILE
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub html: Option<PathBuf>,
    /// A human name for the report
    #[arg(long)]
    pub name: Option<String>,
    /// The site is our own: do not consult robots.txt, do not space requests
    #[arg(long)]
    pub own: bool,
    /// Another host name that belongs to the site (repeatable), e.g. the
    /// host its attachments are served from
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Pages crawled at most [default: [site] max_pages, 2000]
    #[arg(long, value_name = "N")]
    pub max_pages: Option<usize>,
    /// Do not check links to other sites
    #[arg(long)]
    pub no_external: bool,
    /// Skip the HTTPS, certificate and IPv6 checks
    #[arg(long)]
    pub no_transport: bool,
    /// Record the findings and the run in the store
    #[arg(long)]
    pub record: bool,
}

pub fn run(ctx: &Ctx, command: SiteCommand) -> Result<Outcome> {
    match command {
        SiteCommand::Inspect(args) => inspect(ctx, args),
        SiteCommand::Add { url, name, own } => add(ctx, &url, name, own),
        SiteCommand::List(a) => list(ctx, a.json),
        SiteCommand::Report { url, json, html } => report(ctx, url.as_deref(), json, html),
    }
}

/// A site to inspect.
struct Target {
    url: shouwang_site::Url,
    name: Option<String>,
    own: bool,
}

fn own_flag(asset: &Asset) -> bool {
    asset
        .details
        .get("own_site")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

fn websites(store: &dyn Store) -> Result<Vec<Asset>> {
    Ok(store
        .assets()
        .context("cannot list the sites in the store")?
        .into_iter()
        .filter(|a| a.id.kind == AssetKind::Website)
        .collect())
}

/// The sites added with `site add`, as targets.
fn stored_targets(store: &dyn Store, force_own: bool) -> Result<Vec<Target>> {
    websites(store)?
        .iter()
        .map(|a| {
            Ok(Target {
                url: InspectOptions::parse_url(&a.id.locator)?,
                name: Some(a.name.clone()).filter(|n| !n.is_empty()),
                own: own_flag(a) || force_own,
            })
        })
        .collect()
}

/// Keep a run: compare it with the last snapshot (defacement), keep this
/// one, and record the findings and the event in the store.
fn record_run(
    store: &dyn Store,
    snapshots: &std::path::Path,
    report: &mut Report,
    target: &Target,
    known: bool,
    dictionary: &shouwang_site::Dictionary,
) -> Result<()> {
    if report.homepage.error.is_none() {
        compare_and_keep_snapshot(snapshots, report, dictionary)?;
    }
    save(store, report, target, known)
}

/// The scheduled inspections of `shouwang up`: at each time of `[site]
/// schedule` (China time), every site added with `site add`, one after
/// another, recorded as `site inspect --all` records them. A failed run is
/// logged and the schedule goes on; `stop` ends it between and during runs.
pub async fn run_schedule(
    config: shouwang_site::SiteConfig,
    data_dir: PathBuf,
    store: Arc<dyn Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let times = config.schedule_times()?;
    let dictionary = Arc::new(config.dictionary()?);
    let snapshots = data_dir.join("site-snapshots");
    let east8 = shouwang_model::beijing_offset();
    loop {
        let now = chrono::Utc::now().with_timezone(&east8).naive_local();
        let Some(next) = shouwang_site::next_run(now, &times) else {
            let _ = stop.wait_for(|&s| s).await;
            return Ok(());
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tracing::info!(target: "site", next = %next, "next website inspection (China time)");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
        let listed = {
            let store = store.clone();
            super::blocking(move || stored_targets(store.as_ref(), false)).await
        };
        let targets = match listed {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(target: "site", "cannot list the sites: {e:#}");
                continue;
            }
        };
        for t in targets {
            let mut opts = config.options(t.url.clone(), dictionary.clone());
            opts.name = t.name.clone();
            opts.own_site = t.own;
            let result = tokio::select! {
                r = shouwang_site::inspect(opts) => r,
                _ = stop.wait_for(|&s| s) => return Ok(()),
            };
            let mut report = match result {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(target: "site", site = %t.url, "cannot inspect: {e}");
                    continue;
                }
            };
            let (store, snapshots, dictionary) =
                (store.clone(), snapshots.clone(), dictionary.clone());
            let site = t.url.to_string();
            let kept = super::blocking(move || {
                record_run(
                    store.as_ref(),
                    &snapshots,
                    &mut report,
                    &t,
                    true,
                    &dictionary,
                )
                .map(|()| (report.findings.len(), report.pages))
            })
            .await;
            match kept {
                Ok((findings, pages)) => {
                    tracing::info!(target: "site", %site, pages, findings, "website inspected")
                }
                Err(e) => {
                    tracing::warn!(target: "site", %site, "cannot record the inspection: {e:#}")
                }
            }
        }
    }
}

/// The availability probes of `shouwang up`: every `[site]
/// probe_interval_seconds`, each site's homepage once, kept as a
/// `site.probe` event; after each probe the week's failure ratio is judged
/// (a `site.availability` finding at 5 % or more, resolved when back
/// under). Failures to record are logged and the probes go on.
pub async fn run_probes(
    config: shouwang_site::SiteConfig,
    store: Arc<dyn Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    use shouwang_site::availability::{self, Probe};
    let every = std::time::Duration::from_secs(config.probe_interval_seconds.max(1));
    let timeout = std::time::Duration::from_secs(config.timeout_seconds.max(1));
    loop {
        let listed = {
            let store = store.clone();
            super::blocking(move || stored_targets(store.as_ref(), false)).await
        };
        let targets = match listed {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(target: "site", "cannot list the sites: {e:#}");
                Vec::new()
            }
        };
        for t in targets {
            let result = tokio::select! {
                r = availability::probe(&t.url, timeout) => r,
                _ = stop.wait_for(|&s| s) => return Ok(()),
            };
            let probe: Probe = match result {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(target: "site", site = %t.url, "cannot probe: {e}");
                    continue;
                }
            };
            let store = store.clone();
            let site = t.url.to_string();
            let kept = super::blocking(move || record_probe(store.as_ref(), &site, &probe)).await;
            match kept {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(target: "site", site = %t.url, "cannot record the probe: {e:#}")
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
    }
}

/// Keep one probe and judge the site's last 7 days of them.
fn record_probe(
    store: &dyn Store,
    site: &str,
    probe: &shouwang_site::availability::Probe,
) -> Result<()> {
    let asset = AssetRef::new(AssetKind::Website, site);
    let now = chrono::Utc::now();
    let summary = match &probe.error {
        None => format!("首页探测 {site}：正常，{} 毫秒", probe.elapsed_ms),
        Some(e) => format!("首页探测 {site}：失败，{e}"),
    };
    store
        .record_events(&[NewEvent {
            time: now,
            kind: site_events::PROBE.into(),
            asset: asset.clone(),
            severity: if probe.ok {
                Severity::Info
            } else {
                Severity::Medium
            },
            summary,
            details: serde_json::to_value(probe)?,
            provenance: Provenance::now(shouwang_site::SENSOR, site_events::PROBE, site),
        }])
        .context("cannot record the probe")?;
    let week = store
        .events(&EventFilter {
            kind_prefix: Some(site_events::PROBE.into()),
            since: Some(now - chrono::Duration::days(7)),
            limit: 1_000_000,
            ..EventFilter::default()
        })
        .context("cannot read the week's probes")?;
    let mine: Vec<_> = week.iter().filter(|e| e.event.asset == asset).collect();
    let failures = mine
        .iter()
        .filter(|e| !decode::<site_events::Probe>(&e.event.details).is_ok_and(|p| p.ok))
        .count();
    match shouwang_site::availability::weekly_verdict(site, mine.len(), failures, 7.0) {
        Some(finding) => {
            store
                .record_findings(&[finding])
                .context("cannot record the availability finding")?;
        }
        None => {
            // Back under the line (or too few visits to say): an open
            // availability finding is resolved.
            shouwang_store::resolve_not_seen(
                store,
                "sensor:site",
                &RunScope {
                    sensor: shouwang_site::SENSOR.into(),
                    asset,
                    checks: Some(["site.availability".to_string()].into()),
                },
                &HashSet::new(),
                json!({ "probes": mine.len(), "failures": failures }),
            )
            .context("cannot resolve the availability finding")?;
        }
    }
    Ok(())
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let config = &loaded.config.site;
    let dictionary = Arc::new(config.dictionary()?);
    let record = args.record || args.all;
    let store = if args.all {
        Some(ctx.open_store(&loaded, Access::Existing)?)
    } else if record {
        Some(ctx.open_store(&loaded, Access::Create)?)
    } else {
        None
    };
    // Snapshots for the defacement comparison live in the data dir, next
    // to the store; a one-shot run without --record keeps none.
    let snapshots = match &store {
        Some(_) => {
            let access = if args.all {
                Access::Existing
            } else {
                Access::Create
            };
            Some(ctx.data_dir(&loaded, access)?.join("site-snapshots"))
        }
        None => None,
    };
    let targets = match (&args.url, &store) {
        (Some(url), _) => vec![Target {
            url: InspectOptions::parse_url(url)?,
            name: args.name.clone(),
            own: args.own,
        }],
        (None, Some(store)) => {
            let targets = stored_targets(store.as_ref(), args.own)?;
            if targets.is_empty() {
                bail!("no websites to inspect: add one with `shouwang site add URL`");
            }
            targets
        }
        (None, None) => bail!("name a URL to inspect, or use --all"),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shouwang-site")
        .build()
        .context("cannot start the async runtime")?;
    let mut reports = Vec::new();
    for t in targets {
        let mut opts = config.options(t.url.clone(), dictionary.clone());
        opts.name = t.name.clone();
        opts.own_site = t.own;
        opts.extra_hosts = args.hosts.clone();
        if let Some(n) = args.max_pages {
            opts.max_pages = n.max(1);
        }
        if args.no_external {
            opts.check_external = false;
        }
        if args.no_transport {
            opts.transport_checks = false;
        }
        tracing::info!(site = %t.url, "inspecting");
        let mut report = runtime
            .block_on(shouwang_site::inspect(opts))
            .with_context(|| format!("cannot inspect {}", t.url))?;
        if let (Some(store), Some(dir)) = (&store, &snapshots) {
            record_run(store.as_ref(), dir, &mut report, &t, args.all, &dictionary)?;
        }
        reports.push(report);
    }

    if let Some(path) = &args.html
        && let Some(report) = reports.first()
    {
        std::fs::write(path, shouwang_site::render_html(report))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    if args.json {
        if reports.len() == 1 {
            output::print_json(&reports[0])?;
        } else {
            output::print_json(&reports)?;
        }
    } else {
        let text: String = reports.iter().map(render).collect::<Vec<_>>().join("\n");
        output::print(&text)?;
    }
    Ok(if reports.iter().any(|r| !r.findings.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// Compare the run with the site's last snapshot (defacement, changed
/// titles), then keep this run's snapshot for the next one.
fn compare_and_keep_snapshot(
    dir: &std::path::Path,
    report: &mut Report,
    dictionary: &shouwang_site::Dictionary,
) -> Result<()> {
    let path = dir.join(SiteSnapshot::file_name(&report.site));
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<SiteSnapshot>(&bytes) {
            Ok(previous) => report.compare_with(&previous, dictionary),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable site snapshot")
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the site snapshot {}", path.display()));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Write aside and rename, so that a crash never leaves half a snapshot.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&report.snapshot)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Record a run: the site as an asset (unless it is already there), the
/// findings, the event, and the findings not seen again marked resolved
/// when the crawl was complete.
fn save(store: &dyn Store, report: &Report, target: &Target, known: bool) -> Result<()> {
    let asset = report.asset();
    if !known && !websites(store)?.iter().any(|a| a.id == asset) {
        // A site recorded by its first inspection is added as `site add`
        // adds one, audited: `own_site` lets the crawler reach this
        // machine and the private network.
        let name = target.name.clone().unwrap_or_default();
        store
            .audited(|tx| {
                tx.upsert_asset(&Asset {
                    id: asset.clone(),
                    name: name.clone(),
                    details: json!({ "own_site": target.own }),
                })?;
                tx.audit(&NewAuditEntry::new(
                    cli_actor(),
                    "site.add",
                    asset.locator.as_str(),
                    json!({ "name": name, "own_site": target.own, "by": "site inspect --record" }),
                ))
            })
            .context("cannot record the site")?;
    }
    store
        .record_findings(&report.findings)
        .context("cannot record the findings")?;
    store
        .record_events(&[report.event()])
        .context("cannot record the inspection event")?;
    if report.limits_hit.is_empty() && report.homepage.error.is_none() {
        let seen = report.findings.iter().map(|f| f.fingerprint()).collect();
        shouwang_store::resolve_not_seen(
            store,
            "sensor:site",
            &RunScope {
                sensor: shouwang_site::SENSOR.into(),
                asset,
                checks: None,
            },
            &seen,
            json!({ "started_at": report.started_at }),
        )
        .context("cannot mark the fixed findings resolved")?;
    }
    Ok(())
}

fn render(r: &Report) -> String {
    let homepage = match (&r.homepage.status, &r.homepage.error) {
        (Some(s), _) => format!("HTTP {s}, {} ms", r.homepage.elapsed_ms),
        (None, Some(e)) => format!("无法访问 unreachable: {e}"),
        (None, None) => "?".into(),
    };
    let mut pairs = vec![
        ("网站 site", r.site.clone()),
        ("首页 homepage", homepage),
        ("页面 pages", r.pages.to_string()),
        (
            "链接与资源 links and resources",
            format!(
                "{} 个地址 distinct URLs，{} 处引用 occurrences",
                r.refs_checked, r.links_found
            ),
        ),
        (
            "死链 broken",
            format!(
                "首页 homepage {}，其他页面 other pages {}",
                r.broken_on_homepage, r.broken_elsewhere
            ),
        ),
        ("问题 findings", r.findings.len().to_string()),
        (
            "评分估计 score (estimate)",
            format!(
                "{}，扣分项得分 {:.1}/100，单项否决 {} 项（自动估计，非官方评分）",
                if r.score.passed {
                    "合格 pass"
                } else {
                    "不合格 fail"
                },
                r.score.points,
                r.score.vetoes.len()
            ),
        ),
    ];
    if let Some(name) = &r.name {
        pairs.insert(0, ("名称 name", name.clone()));
    }
    if !r.limits_hit.is_empty() {
        pairs.push(("限制 limits hit", r.limits_hit.join("; ")));
    }
    let mut out = output::key_values(&pairs);
    if !r.findings.is_empty() {
        let mut findings: Vec<_> = r.findings.iter().collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.provenance.check.cmp(&b.provenance.check))
                .then(a.location.cmp(&b.location))
        });
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.zh().to_string(),
                    f.provenance.check.clone(),
                    shorten(&f.title.zh, 30),
                    shorten(&f.location, 70),
                    shorten(&f.evidence.replace('\n', " "), 60),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&output::table(
            &["级别", "CHECK", "问题", "位置 LOCATION", "证据 EVIDENCE"],
            &rows,
        ));
    }
    out
}

fn add(ctx: &Ctx, url: &str, name: Option<String>, own: bool) -> Result<Outcome> {
    let url = InspectOptions::parse_url(url)?;
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Create)?;
    let id = AssetRef::new(AssetKind::Website, url.as_str());
    let name = name.unwrap_or_default();
    store
        .audited(|tx| {
            tx.upsert_asset(&Asset {
                id: id.clone(),
                name: name.clone(),
                details: json!({ "own_site": own }),
            })?;
            tx.audit(&NewAuditEntry::new(
                cli_actor(),
                "site.add",
                url.as_str(),
                json!({ "name": name, "own_site": own }),
            ))
        })
        .context("cannot add the site")?;
    output::print(&format!(
        "added {url}{}; inspect it with `shouwang site inspect --all`\n",
        if own { " (our own site)" } else { "" }
    ))?;
    Ok(Outcome::Clean)
}

#[derive(Debug, Serialize)]
struct SiteRow {
    url: String,
    name: String,
    own_site: bool,
}

fn list(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let rows: Vec<SiteRow> = websites(store.as_ref())?
        .iter()
        .map(|a| SiteRow {
            url: a.id.locator.clone(),
            name: a.name.clone(),
            own_site: own_flag(a),
        })
        .collect();
    if json {
        output::print_json(&rows)?;
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.url.clone(),
                    r.name.clone(),
                    if r.own_site { "yes" } else { "no" }.to_string(),
                ]
            })
            .collect();
        output::print(&output::table(&["URL", "名称 NAME", "OWN"], &table))?;
    }
    Ok(Outcome::Clean)
}

/// A site's state as the store has it, in the shape of an inspection
/// report: the last run's counts, and the findings that are open now.
fn stored_report(store: &dyn Store, asset: &Asset) -> Result<Option<Report>> {
    let events = store
        .events(&EventFilter {
            kind_prefix: Some(site_events::INSPECTED.into()),
            limit: 10_000,
            ..EventFilter::default()
        })
        .context("cannot read the inspection events")?;
    let Some(last) = events.into_iter().find(|e| e.event.asset == asset.id) else {
        return Ok(None);
    };
    let findings: Vec<NewFinding> = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Open),
            sensor: Some(shouwang_site::SENSOR.into()),
            asset: Some(asset.id.clone()),
            limit: 100_000,
            ..FindingFilter::default()
        })
        .context("cannot read the site's findings")?
        .into_iter()
        .map(|f| NewFinding {
            asset: f.asset,
            severity: f.severity,
            title: f.title,
            evidence: f.evidence,
            location: f.location,
            provenance: f.provenance,
        })
        .collect();
    // A row this version cannot read as an inspection reads as one that
    // counted nothing, as each missing field does.
    let d: site_events::Inspected = decode(&last.event.details).unwrap_or_default();
    let finished_at = last.event.time;
    let started_at = finished_at - chrono::Duration::milliseconds(d.duration_ms);
    Ok(Some(Report {
        site: asset.id.locator.clone(),
        name: Some(asset.name.clone()).filter(|n| !n.is_empty()),
        started_at,
        finished_at,
        homepage: d.homepage.unwrap_or_else(|| shouwang_site::HomepageStatus {
            status: None,
            elapsed_ms: 0,
            final_url: asset.id.locator.clone(),
            redirects: Vec::new(),
            error: None,
        }),
        pages: d.pages as usize,
        refs_checked: d.refs_checked as usize,
        links_found: d.links_found as usize,
        broken_on_homepage: d.broken_on_homepage as usize,
        broken_elsewhere: d.broken_elsewhere as usize,
        text_bytes: 0,
        limits_hit: d.limits_hit,
        score: shouwang_site::score::score(&findings),
        findings,
        snapshot: SiteSnapshot::default(),
    }))
}

fn report(ctx: &Ctx, url: Option<&str>, json: bool, html: Option<PathBuf>) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let mut sites = websites(store.as_ref())?;
    if let Some(url) = url {
        let wanted = InspectOptions::parse_url(url)?;
        sites.retain(|a| a.id.locator == wanted.as_str());
        if sites.is_empty() {
            bail!("{wanted} is not among the sites; add it with `shouwang site add {wanted}`");
        }
    }
    let mut reports = Vec::new();
    let mut never = Vec::new();
    for a in &sites {
        match stored_report(store.as_ref(), a)? {
            Some(r) => reports.push(r),
            None => never.push(a.id.locator.clone()),
        }
    }
    if let Some(path) = &html {
        let Some(first) = reports.first() else {
            bail!("no inspection recorded yet: run `shouwang site inspect --all`");
        };
        std::fs::write(path, shouwang_site::render_html(first))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    if json {
        output::print_json(&reports)?;
    } else {
        let mut text: String = reports.iter().map(render).collect::<Vec<_>>().join("\n");
        for n in &never {
            text.push_str(&format!(
                "{n}: not inspected yet (shouwang site inspect --all)\n"
            ));
        }
        output::print(&text)?;
    }
    Ok(if reports.iter().any(|r| !r.findings.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
