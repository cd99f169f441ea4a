//! The site sensor at work: the scheduled inspections (早晚巡查) and the
//! homepage probes `shouwang up` runs, and how a run is kept in the store
//! (asset, findings, event, findings not seen again resolved through the
//! audited path) and read back as a report.
//!
//! The sites to inspect are kept in the store as assets of kind `website`
//! rather than in the config file: the console lists and will edit them,
//! and `site add` must not rewrite a hand-commented TOML file.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use shouwang_model::events::decode;
use shouwang_model::{
    Asset, AssetKind, AssetRef, FindingStatus, NewEvent, NewFinding, Provenance, Severity,
};
use shouwang_store::{
    EventFilter, FindingFilter, NewAuditEntry, RunScope, Store, StoreError, TimeRange, try_blocking,
};
use tokio::sync::watch;

use crate::availability::{self, Probe};
use crate::events as site_events;
use crate::{
    Dictionary, HomepageStatus, InspectOptions, Report, SENSOR, SiteConfig, SiteError,
    SiteSnapshot, Url,
};

/// Who the audit log names for the changes of the runtime itself.
const ACTOR: &str = "sensor:site";

/// A site to inspect.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub name: Option<String>,
    /// Our own site: robots.txt is not consulted, requests are not spaced.
    pub own: bool,
}

/// Who adds a site that a recorded run finds missing from the store, as
/// the audit log names them.
#[derive(Debug, Clone)]
pub struct AddedBy {
    /// The actor, e.g. `cli:alice`.
    pub actor: String,
    /// What added it, e.g. `site inspect --record`.
    pub by: &'static str,
}

/// Whether a website asset is our own site.
pub fn own_flag(asset: &Asset) -> bool {
    asset
        .details
        .get("own_site")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// A website as `site list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SiteRow {
    pub url: String,
    pub name: String,
    pub own_site: bool,
}

/// The websites in the store, as rows.
pub fn site_rows(store: &dyn Store) -> Result<Vec<SiteRow>, SiteError> {
    Ok(websites(store)?
        .iter()
        .map(|a| SiteRow {
            url: a.id.locator.clone(),
            name: a.name.clone(),
            own_site: own_flag(a),
        })
        .collect())
}

/// The websites in the store.
pub fn websites(store: &dyn Store) -> Result<Vec<Asset>, SiteError> {
    Ok(store
        .assets()
        .map_err(store_error("cannot list the sites in the store"))?
        .into_iter()
        .filter(|a| a.id.kind == AssetKind::Website)
        .collect())
}

/// The sites added with `site add`, as targets; `force_own` treats each as
/// our own.
pub fn stored_targets(store: &dyn Store, force_own: bool) -> Result<Vec<Target>, SiteError> {
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

/// Keep a run: compare it with the last snapshot in `snapshots`
/// (defacement), keep this one, and record the findings and the event in
/// the store. `added_by` is `None` when the target came from the store;
/// otherwise a site the store does not have yet is added in its name.
pub fn record_run(
    store: &dyn Store,
    snapshots: &Path,
    report: &mut Report,
    target: &Target,
    added_by: Option<&AddedBy>,
    dictionary: &Dictionary,
) -> Result<(), SiteError> {
    if report.homepage.error.is_none() {
        compare_and_keep_snapshot(snapshots, report, dictionary)?;
    }
    save(store, report, target, added_by)
}

/// The scheduled inspections of `shouwang up`: at each time of `[site]
/// schedule` (China time), every site added with `site add`, `[site]
/// concurrent_sites` at a time, recorded as `site inspect --all` records them, with the
/// snapshots under `data_dir`. A failed run is logged and the schedule
/// goes on; `stop` turning true ends it between and during runs.
pub async fn run_schedule(
    config: &SiteConfig,
    store: Arc<dyn Store>,
    data_dir: &Path,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SiteError> {
    let times = config.schedule_times()?;
    let dictionary = Arc::new(config.dictionary()?);
    let snapshots = data_dir.join("site-snapshots");
    let east8 = shouwang_model::beijing_offset();
    loop {
        let now = chrono::Utc::now().with_timezone(&east8).naive_local();
        let Some(next) = crate::next_run(now, &times) else {
            let _ = stop.wait_for(|&s| s).await;
            return Ok(());
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tracing::info!(target: "site", next = %next, "next website inspection (China time)");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
        let targets = listed_targets(&store).await;
        let runs = inspect_targets(config, &store, &snapshots, &dictionary, targets);
        tokio::select! {
            () = runs => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
    }
}

/// Inspect and record `targets`, `[site] concurrent_sites` at a time: one
/// site that is slow or hostile holds one slot for at most its inspection
/// budget, and the others go on in the rest.
async fn inspect_targets(
    config: &SiteConfig,
    store: &Arc<dyn Store>,
    snapshots: &Path,
    dictionary: &Arc<Dictionary>,
    targets: Vec<Target>,
) {
    let mut runs = tokio::task::JoinSet::new();
    let mut pending = targets.into_iter();
    loop {
        while runs.len() < config.concurrent_sites.max(1) {
            let Some(t) = pending.next() else { break };
            let mut opts = config.options(t.url.clone(), dictionary.clone());
            opts.name = t.name.clone();
            opts.own_site = t.own;
            let (store, snapshots, dictionary) =
                (store.clone(), snapshots.to_path_buf(), dictionary.clone());
            runs.spawn(inspect_and_record(opts, t, store, snapshots, dictionary));
        }
        match runs.join_next().await {
            Some(Ok(())) => {}
            Some(Err(e)) => tracing::warn!(target: "site", "an inspection task failed: {e}"),
            None => return,
        }
    }
}

/// One scheduled inspection, recorded; failures are logged.
async fn inspect_and_record(
    opts: InspectOptions,
    t: Target,
    store: Arc<dyn Store>,
    snapshots: std::path::PathBuf,
    dictionary: Arc<Dictionary>,
) {
    let mut report = match crate::inspect(opts).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(target: "site", site = %t.url, "cannot inspect: {e}");
            return;
        }
    };
    let site = t.url.to_string();
    let kept = try_blocking(move || {
        record_run(
            store.as_ref(),
            &snapshots,
            &mut report,
            &t,
            None,
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
            tracing::warn!(target: "site", %site, "cannot record the inspection: {}", chain(&e))
        }
    }
}

/// The sites a scheduled run visits; none (logged) when the store cannot
/// list them, so the loop waits for its next turn.
async fn listed_targets(store: &Arc<dyn Store>) -> Vec<Target> {
    let store = store.clone();
    match try_blocking(move || stored_targets(store.as_ref(), false)).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(target: "site", "cannot list the sites: {}", chain(&e));
            Vec::new()
        }
    }
}

/// The availability probes of `shouwang up`: every `[site]
/// probe_interval_seconds`, each site's homepage once, kept as a
/// `site.probe` event; after each probe the week's failure ratio is judged
/// (a `site.availability` finding at 5 % or more, resolved when back
/// under). Failures to record are logged and the probes go on.
pub async fn run_probes(
    config: &SiteConfig,
    store: Arc<dyn Store>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SiteError> {
    let every = std::time::Duration::from_secs(config.probe_interval_seconds.max(1));
    let timeout = std::time::Duration::from_secs(config.timeout_seconds.max(1));
    loop {
        let targets = listed_targets(&store).await;
        for t in targets {
            let result = tokio::select! {
                r = availability::probe(&t.url, t.own, timeout) => r,
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
            let kept = try_blocking(move || record_probe(store.as_ref(), &site, &probe)).await;
            if let Err(e) = kept {
                tracing::warn!(target: "site", site = %t.url, "cannot record the probe: {}", chain(&e))
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
    }
}

/// Keep one probe of `site` and judge the site's last 7 days of them.
pub fn record_probe(store: &dyn Store, site: &str, probe: &Probe) -> Result<(), SiteError> {
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
            provenance: Provenance::now(SENSOR, site_events::PROBE, site),
        }])
        .map_err(store_error("cannot record the probe"))?;
    // The store counts the week's probes of this site and those that
    // went through; a probe that does not say `ok: true` is a failure.
    let week = store
        .event_asset_counts(
            &[site_events::PROBE],
            Some(site_events::PROBE_OK_FIELD),
            &TimeRange {
                since: Some(now - chrono::Duration::days(7)),
                until: None,
            },
        )
        .map_err(store_error("cannot count the week's probes"))?;
    let (probes, failures) = week.iter().find(|c| c.asset == asset).map_or((0, 0), |c| {
        (c.count as usize, (c.count - c.flagged) as usize)
    });
    match availability::weekly_verdict(site, probes, failures, 7.0) {
        Some(finding) => {
            store
                .record_findings(&[finding])
                .map_err(store_error("cannot record the availability finding"))?;
        }
        None => {
            // Back under the line (or too few visits to say): an open
            // availability finding is resolved.
            let checks = Some(["site.availability".to_string()].into());
            let details = json!({ "probes": probes, "failures": failures });
            resolve(store, asset, checks, &HashSet::new(), details)
                .map_err(store_error("cannot resolve the availability finding"))?;
        }
    }
    Ok(())
}

/// Compare the run with the site's last snapshot in `dir` (defacement,
/// changed titles), then keep this run's snapshot for the next one.
pub fn compare_and_keep_snapshot(
    dir: &Path,
    report: &mut Report,
    dictionary: &Dictionary,
) -> Result<(), SiteError> {
    let path = dir.join(SiteSnapshot::file_name(&report.site));
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<SiteSnapshot>(&bytes) {
            Ok(previous) => report.compare_with(&previous, dictionary),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable site snapshot")
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(snapshot_error("read the site snapshot", &path)(e)),
    }
    std::fs::create_dir_all(dir).map_err(snapshot_error("create", dir))?;
    // Replaced whole, so that a crash never leaves half a snapshot.
    shouwang_store::replace_file(&path, &serde_json::to_vec(&report.snapshot)?, 0o600)
        .map_err(snapshot_error("write", &path))?;
    Ok(())
}

/// Add the website at `locator` (a parsed homepage URL) to the store, or
/// update its name and `own_site` flag, with its `site.add` audit entry in
/// `actor`'s name; `by` says what added it when it was not `site add`.
pub fn add_site(
    store: &dyn Store,
    locator: &str,
    name: &str,
    own: bool,
    actor: &str,
    by: Option<&str>,
) -> Result<Added, StoreError> {
    // The same site added again (the URL is normalised, so one site is one
    // asset) keeps its name unless a new one is given.
    let known = store
        .assets()?
        .into_iter()
        .find(|a| a.id.kind == AssetKind::Website && a.id.locator == locator);
    let name = match &known {
        Some(a) if name.is_empty() => a.name.clone(),
        _ => name.to_string(),
    };
    let mut details = json!({ "name": name, "own_site": own });
    if let Some(by) = by {
        details["by"] = by.into();
    }
    store.audited(|tx| {
        tx.upsert_asset(&Asset {
            id: AssetRef::new(AssetKind::Website, locator),
            name: name.clone(),
            details: json!({ "own_site": own }),
        })?;
        tx.audit(&NewAuditEntry::new(actor, "site.add", locator, details))
    })?;
    Ok(if known.is_some() {
        Added::AlreadyListed
    } else {
        Added::New
    })
}

/// Whether [`add_site`] added a site or found it listed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    /// Listed already: its name (when one was given) and `own_site` flag
    /// were updated.
    AlreadyListed,
}

/// Record a run: the site as an asset (unless it is already there, or the
/// target came from the store), the findings, the event, and the findings
/// not seen again marked resolved when the crawl was complete.
pub fn save(
    store: &dyn Store,
    report: &Report,
    target: &Target,
    added_by: Option<&AddedBy>,
) -> Result<(), SiteError> {
    let asset = report.asset();
    if let Some(added_by) = added_by
        && !websites(store)?.iter().any(|a| a.id == asset)
    {
        // A site recorded by its first inspection is added as `site add`
        // adds one, audited: `own_site` lets the crawler reach this
        // machine and the private network.
        add_site(
            store,
            &asset.locator,
            target.name.as_deref().unwrap_or_default(),
            target.own,
            &added_by.actor,
            Some(added_by.by),
        )
        .map_err(store_error("cannot record the site"))?;
    }
    store
        .record_findings(&report.findings)
        .map_err(store_error("cannot record the findings"))?;
    store
        .record_events(&[report.event()])
        .map_err(store_error("cannot record the inspection event"))?;
    if report.limits_hit.is_empty() && report.homepage.error.is_none() {
        let seen = report.findings.iter().map(|f| f.fingerprint()).collect();
        let details = json!({ "started_at": report.started_at });
        resolve(store, asset, None, &seen, details)
            .map_err(store_error("cannot mark the fixed findings resolved"))?;
    }
    Ok(())
}

/// Resolve the site's open findings (of `checks`, or all) that are not in
/// `seen`, with the one audit entry the store writes for them.
fn resolve(
    store: &dyn Store,
    asset: shouwang_model::AssetRef,
    checks: Option<std::collections::BTreeSet<String>>,
    seen: &HashSet<String>,
    details: serde_json::Value,
) -> Result<Vec<i64>, StoreError> {
    let scope = RunScope {
        sensor: SENSOR.into(),
        asset,
        checks,
    };
    shouwang_store::resolve_not_seen(store, ACTOR, &scope, seen, details)
}

/// A site's state as the store has it, in the shape of an inspection
/// report: the last run's counts, and the findings that are open now.
/// `None` when the site was never inspected.
pub fn stored_report(store: &dyn Store, asset: &Asset) -> Result<Option<Report>, SiteError> {
    let events = store
        .events(&EventFilter {
            kind_prefix: Some(site_events::INSPECTED.into()),
            asset: Some(asset.id.clone()),
            limit: 1,
            ..EventFilter::default()
        })
        .map_err(store_error("cannot read the inspection events"))?;
    let Some(last) = events.into_iter().next() else {
        return Ok(None);
    };
    let findings: Vec<NewFinding> = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Open),
            sensor: Some(SENSOR.into()),
            asset: Some(asset.id.clone()),
            limit: 100_000,
            ..FindingFilter::default()
        })
        .map_err(store_error("cannot read the site's findings"))?
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
        homepage: d.homepage.unwrap_or_else(|| HomepageStatus {
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
        score: crate::score::score(&findings),
        findings,
        snapshot: SiteSnapshot::default(),
    }))
}

fn store_error(what: &'static str) -> impl FnOnce(StoreError) -> SiteError {
    move |source| SiteError::Store { what, source }
}

fn snapshot_error(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SiteError {
    let path = path.to_path_buf();
    move |source| SiteError::Snapshot {
        doing,
        path,
        source,
    }
}

/// An error and its causes, as the log shows them.
fn chain(e: &SiteError) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_names_what_could_not_be_done_and_why() {
        let e = store_error("cannot record the probe")(StoreError::Unaudited);
        let text = chain(&e);
        assert!(
            text.starts_with("cannot record the probe: a change was about to be stored"),
            "{text}"
        );
    }

    #[test]
    fn a_site_added_by_an_inspection_says_so_in_the_audit_log_and_one_added_by_hand_does_not() {
        let dir =
            std::env::temp_dir().join(format!("shouwang-site-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = shouwang_store::SqliteStore::open(
            &dir.join("shouwang.db"),
            shouwang_store::AuditKey::from_bytes([7; 32]),
        )
        .unwrap();
        assert_eq!(
            add_site(&store, "https://a.example/", "甲", true, "cli:alice", None).unwrap(),
            Added::New
        );
        // Added again without a name: still one site, and it keeps its name.
        assert_eq!(
            add_site(&store, "https://a.example/", "", true, "cli:alice", None).unwrap(),
            Added::AlreadyListed
        );
        add_site(
            &store,
            "https://b.example/",
            "",
            false,
            "cli:bob",
            Some("site inspect --record"),
        )
        .unwrap();
        let entries = store.audit_entries(0, 10).unwrap();
        let sites = websites(&store).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let adds: Vec<_> = entries.iter().filter(|e| e.action == "site.add").collect();
        assert_eq!(adds.len(), 3, "{entries:?}");
        let by_hand: serde_json::Value = serde_json::from_str(&adds[0].details).unwrap();
        let again: serde_json::Value = serde_json::from_str(&adds[1].details).unwrap();
        assert_eq!(
            again,
            json!({ "name": "甲", "own_site": true }),
            "the name is kept"
        );
        assert_eq!(sites.len(), 2, "one asset per site");
        let by_run: serde_json::Value = serde_json::from_str(&adds[2].details).unwrap();
        assert_eq!(
            (adds[0].actor.as_str(), adds[0].target.as_str()),
            ("cli:alice", "https://a.example/")
        );
        assert_eq!(by_hand, json!({ "name": "甲", "own_site": true }));
        assert_eq!(
            by_run,
            json!({ "name": "", "own_site": false, "by": "site inspect --record" })
        );
        let own: Vec<_> = sites
            .iter()
            .map(|a| (a.id.locator.as_str(), own_flag(a)))
            .collect();
        assert_eq!(
            own,
            [("https://a.example/", true), ("https://b.example/", false)]
        );
    }
}
