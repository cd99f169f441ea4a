//! Facts from the store. Everything here reads aggregates (a few rows per
//! kind, asset or check), never all events or findings, so memory stays
//! bounded however large the store is; the one exception is each host's
//! last run file in the period (one JSON file per host).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use shouwang_model::events::{
    decode, guard as guard_events, host as host_events, site as site_events,
};
use shouwang_model::{AssetKind, FindingStatus, Incident, ReportStage, TimelineKind, UnitProfile};
use shouwang_store::{
    FindingGroup, FindingGroupQuery, IncidentFilter, NumberStats, Rollup, RollupQuery, Store,
    TimeRange,
};

use crate::ReportError;
use crate::facts::*;

/// How to collect.
#[derive(Debug, Clone)]
pub struct Options {
    /// Record ids named per figure in the evidence appendix.
    pub samples: usize,
    /// "Now", for deadline states (tests pin it).
    pub now: DateTime<Utc>,
    /// The reporting rule (`[incident]` in the config); `None` is the
    /// national rule for the unit's operator type.
    pub policy: Option<shouwang_incident::ReportingPolicy>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            samples: 5,
            now: Utc::now(),
            policy: None,
        }
    }
}

pub(crate) const GUARD_UNDONE: [&str; 2] = guard_events::LATENCY_KINDS;
const HOST_COMPLETED: &str = host_events::CHECK_COMPLETED;

/// The area a sensor's findings belong to in the report.
pub fn area_of(sensor: &str) -> &'static str {
    match sensor {
        "guard" => "防护",
        "site" => "监测",
        "host" => "主机自查",
        "logs" => "监测",
        _ => "其他",
    }
}

/// The topics of a 自查 form, by host rule id prefix.
pub const HOST_TOPICS: &[(&str, &str, &[&str])] = &[
    ("password", "口令与账户", &["acct.", "auth."]),
    ("antivirus", "防病毒", &["av."]),
    ("patch", "补丁更新", &["pkg."]),
    (
        "port",
        "端口与服务",
        &["net.listening-allowed", "net.no-high-risk-ports", "svc."],
    ),
    (
        "usb",
        "USB 与外设",
        &["usb.", "mod.firewire-disabled", "mod.bluetooth-disabled"],
    ),
    (
        "isolation",
        "网络隔离",
        &[
            "net.single-uplink",
            "net.isolated-",
            "net.no-wireless",
            "net.firewall-",
            "mod.wireless-disabled",
        ],
    ),
];

fn topic_of(check: &str) -> Option<usize> {
    HOST_TOPICS
        .iter()
        .position(|(_, _, prefixes)| prefixes.iter().any(|p| check.starts_with(p)))
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// "99.5%", or 无数据.
pub fn pct_text(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{}%", trim_number(v, 1)),
        None => "无数据".into(),
    }
}

/// A number with at most `decimals` decimals, no trailing zeros.
pub fn trim_number(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

struct Builder {
    figures: Vec<Figure>,
    evidence: Vec<Evidence>,
}

impl Builder {
    fn count(&mut self, key: &str, area: &str, label: &str, n: u64, unit: &str, ev: Evidence) {
        self.figures.push(Figure {
            key: key.into(),
            area: area.into(),
            label: label.into(),
            value: Some(n as f64),
            display: format!("{n}{unit}"),
            source: Source::Measured,
        });
        self.evidence.push(Evidence {
            figure: key.into(),
            label: label.into(),
            ..ev
        });
    }

    fn number(
        &mut self,
        key: &str,
        area: &str,
        label: &str,
        v: Option<f64>,
        display: String,
        ev: Evidence,
    ) {
        self.figures.push(Figure {
            key: key.into(),
            area: area.into(),
            label: label.into(),
            value: v,
            display,
            source: Source::Measured,
        });
        self.evidence.push(Evidence {
            figure: key.into(),
            label: label.into(),
            ..ev
        });
    }
}

/// The evidence of a figure: `basis` says in plain Chinese what was
/// counted (which check, which records, which period) for the report's
/// appendix; `query` says it in the store's terms for the JSON output.
fn ev(record: &str, basis: String, query: String, count: u64, samples: Vec<String>) -> Evidence {
    Evidence {
        figure: String::new(),
        label: String::new(),
        basis,
        query,
        count,
        record: record.into(),
        samples,
    }
}

fn ids(v: &[i64]) -> Vec<String> {
    v.iter().map(|i| i.to_string()).collect()
}

/// Collect the facts of the 网络安全自查报告 for `period`.
pub fn selfcheck(
    store: &dyn Store,
    unit: &UnitProfile,
    period: Period,
    opts: &Options,
) -> Result<SelfCheckFacts, ReportError> {
    let range = TimeRange::new(period.since, period.until);
    // One scan of the period's events answers the counts per kind and
    // asset, the restore latencies and the probes' successes.
    let rollup = store.event_rollup(&RollupQuery {
        range,
        number_kinds: GUARD_UNDONE.iter().map(|k| k.to_string()).collect(),
        number_field: Some(guard_events::LATENCY_FIELD.into()),
        flag_kinds: vec![site_events::PROBE.into()],
        flag_field: Some(site_events::PROBE_OK_FIELD.into()),
    })?;
    let mut cx = Collect {
        store,
        opts,
        range,
        when: period.when_zh(),
        rollup,
        b: Builder {
            figures: Vec::new(),
            evidence: Vec::new(),
        },
    };
    let guard = guard_part(&mut cx)?;
    // --- findings, grouped once (open now, and first seen in the period) ---
    let open_groups = cx.store.finding_groups(&FindingGroupQuery {
        status: Some(FindingStatus::Open),
        samples: cx.opts.samples,
        ..FindingGroupQuery::default()
    })?;
    let period_groups = cx.store.finding_groups(&FindingGroupQuery {
        first_seen: cx.range,
        samples: cx.opts.samples,
        ..FindingGroupQuery::default()
    })?;

    let site = site_part(&mut cx, &period_groups)?;
    let host = host_part(&mut cx, &open_groups, &period_groups)?;
    let incidents = incident_part(&mut cx, unit)?;
    let problems = problems_part(&mut cx, &open_groups)?;
    Ok(SelfCheckFacts {
        generated_at: opts.now,
        period,
        unit: unit.clone(),
        store: store.location(),
        audit_anchor: store.audit_anchor()?.to_string(),
        guard,
        site,
        host,
        incidents,
        open_findings: problems.open_findings,
        open_total: problems.open_total,
        remediation: problems.remediation,
        figures: cx.b.figures,
        evidence: cx.b.evidence,
    })
}

/// What every part of the 自查报告 reads (the store, the period, the one
/// rollup of the period's events) and the figures and evidence so far.
struct Collect<'a> {
    store: &'a dyn Store,
    opts: &'a Options,
    range: TimeRange,
    /// The period as the evidence table words it.
    when: String,
    rollup: Vec<Rollup>,
    b: Builder,
}

impl Collect<'_> {
    fn kind_count(&self, k: &str) -> u64 {
        self.rollup
            .iter()
            .filter(|r| r.kind == k)
            .map(|r| r.count)
            .sum()
    }

    /// Sample event ids of these kinds; no query for kinds that have no
    /// events, since a sample search for an absent kind would walk the
    /// whole period.
    fn sample(&self, ks: &[&str]) -> Result<Vec<String>, ReportError> {
        if ks.iter().map(|k| self.kind_count(k)).sum::<u64>() == 0 {
            return Ok(Vec::new());
        }
        Ok(ids(&self.store.event_sample_ids(
            ks,
            &self.range,
            self.opts.samples,
        )?))
    }

    /// The evidence wording of a sensor's findings first seen in the period:
    /// (plain words, the store's terms).
    fn fq(&self, sensor: &str, what: (&str, &str)) -> (String, String) {
        let area = match sensor {
            "site" => "网站问题",
            "host" => "主机问题",
            _ => "问题",
        };
        (
            format!("本期首次发现的{area}{}", what.0),
            format!(
                "findings 表中 sensor 为 {sensor}、首次发现时间在 {} 的发现项{}",
                self.when, what.1
            ),
        )
    }

    /// Plain words for "the records of `kind` in the period".
    fn kind_basis(&self, kinds: &[&str]) -> String {
        let names: Vec<String> = kinds
            .iter()
            .map(|k| {
                shouwang_model::events::kind_label(k)
                    .map_or_else(|| (*k).to_string(), |t| format!("“{}”", t.zh))
            })
            .collect();
        format!("本期{}的记录", names.join("或"))
    }
}

struct Problems {
    open_findings: Vec<FindingGroupRow>,
    open_total: u64,
    remediation: Vec<RemediationItem>,
}

/// 防护: the web roots guarded, what was restored, and how fast.
fn guard_part(cx: &mut Collect<'_>) -> Result<GuardFacts, ReportError> {
    let store = cx.store;
    let mut guard = GuardFacts {
        restored: cx.kind_count(guard_events::RESTORED),
        recreated: cx.kind_count(guard_events::RECREATED),
        quarantined: cx.kind_count(guard_events::QUARANTINED),
        failed: cx.kind_count(guard_events::RESTORE_FAILED),
        maintenance: cx.kind_count(guard_events::CHANGED_IN_MAINTENANCE),
        ..GuardFacts::default()
    };
    let mut roots: BTreeMap<String, GuardRoot> = BTreeMap::new();
    for a in store.assets()? {
        if a.id.kind == AssetKind::WebRoot {
            roots.insert(a.id.locator.clone(), empty_root(&a.id.locator));
        }
    }
    let guard_kinds = [
        guard_events::RESTORED,
        guard_events::RECREATED,
        guard_events::QUARANTINED,
        guard_events::RESTORE_FAILED,
    ];
    for c in cx
        .rollup
        .iter()
        .filter(|r| guard_kinds.contains(&r.kind.as_str()))
    {
        let r = roots
            .entry(c.asset.locator.clone())
            .or_insert_with(|| empty_root(&c.asset.locator));
        match c.kind.as_str() {
            guard_events::RESTORED => r.restored += c.count,
            guard_events::RECREATED => r.recreated += c.count,
            guard_events::QUARANTINED => r.quarantined += c.count,
            _ => r.failed += c.count,
        }
    }
    guard.roots = roots.into_values().collect();
    let mut latency = NumberStats::default();
    let mut latency_sum = 0.0;
    for r in cx.rollup.iter().filter(|r| r.numbers > 0) {
        latency.count += r.numbers;
        latency_sum += r.sum.unwrap_or(0.0);
        latency.min = [latency.min, r.min].into_iter().flatten().reduce(f64::min);
        latency.max = [latency.max, r.max].into_iter().flatten().reduce(f64::max);
    }
    latency.avg = (latency.count > 0).then(|| latency_sum / latency.count as f64);
    guard.latency_avg_ms = latency.avg;
    guard.latency_max_ms = latency.max;
    guard_figures(cx, &guard, &latency)?;
    Ok(guard)
}

/// The 防护 figures and their evidence.
fn guard_figures(
    cx: &mut Collect<'_>,
    guard: &GuardFacts,
    latency: &NumberStats,
) -> Result<(), ReportError> {
    let (opts, when) = (cx.opts, cx.when.clone());
    let n_roots = guard.roots.len() as u64;
    cx.b.count(
        "guard.roots",
        "防护",
        "受保护网站目录",
        n_roots,
        " 个",
        ev(
            "asset",
            "登记的受保护网站目录，及本期有防篡改记录的目录".to_string(),
            format!("assets 表中类型为 web-root 的资产，及 {when} 内有防篡改事件的目录"),
            n_roots,
            guard
                .roots
                .iter()
                .take(opts.samples)
                .map(|r| r.root.clone())
                .collect(),
        ),
    );
    let restore_count = guard.restored + guard.recreated;
    cx.b.count(
        "guard.restore_count",
        "防护",
        "篡改后自动恢复次数",
        restore_count,
        " 次",
        ev(
            "event",
            cx.kind_basis(&GUARD_UNDONE),
            format!(
                "events 表中 kind 为 {} 或 {}、时间在 {when} 的事件",
                GUARD_UNDONE[0], GUARD_UNDONE[1]
            ),
            restore_count,
            cx.sample(&GUARD_UNDONE)?,
        ),
    );
    for (key, label, kind, n) in [
        (
            "guard.restored",
            "被篡改文件恢复次数",
            guard_events::RESTORED,
            guard.restored,
        ),
        (
            "guard.recreated",
            "被删除文件恢复次数",
            guard_events::RECREATED,
            guard.recreated,
        ),
        (
            "guard.quarantined",
            "非法新增文件隔离数",
            guard_events::QUARANTINED,
            guard.quarantined,
        ),
        (
            "guard.failed",
            "恢复失败次数",
            guard_events::RESTORE_FAILED,
            guard.failed,
        ),
    ] {
        cx.b.count(
            key,
            "防护",
            label,
            n,
            if key == "guard.quarantined" {
                " 个"
            } else {
                " 次"
            },
            ev(
                "event",
                cx.kind_basis(&[kind]),
                format!("events 表中 kind 为 {kind}、时间在 {when} 的事件"),
                n,
                cx.sample(&[kind])?,
            ),
        );
    }
    let latency_query = format!(
        "events 表中 kind 为 {} 或 {}、时间在 {when} 的事件的 details.{}（从发现变更到恢复完成）",
        GUARD_UNDONE[0],
        GUARD_UNDONE[1],
        guard_events::LATENCY_FIELD
    );
    let latency_basis = "本期每次自动恢复从发现改动到恢复完成所用的时间".to_string();
    cx.b.number(
        "guard.latency_avg_ms",
        "防护",
        "平均恢复用时",
        latency.avg,
        ms_text(latency.avg),
        ev(
            "event",
            latency_basis.clone(),
            latency_query.clone(),
            latency.count,
            Vec::new(),
        ),
    );
    cx.b.number(
        "guard.latency_max_ms",
        "防护",
        "最长恢复用时",
        latency.max,
        ms_text(latency.max),
        ev(
            "event",
            latency_basis,
            latency_query,
            latency.count,
            Vec::new(),
        ),
    );

    Ok(())
}

/// 监测: the sites, their inspections and probes, and what they found.
fn site_part(
    cx: &mut Collect<'_>,
    period_groups: &[FindingGroup],
) -> Result<SiteFacts, ReportError> {
    let store = cx.store;
    let mut site = SiteFacts {
        inspections: cx.kind_count(site_events::INSPECTED),
        probes: cx.kind_count(site_events::PROBE),
        ..SiteFacts::default()
    };
    let mut sites: BTreeMap<String, SiteRow> = BTreeMap::new();
    for a in store.assets()? {
        if a.id.kind == AssetKind::Website {
            let mut row = empty_site(&a.id.locator);
            row.name = a.name.clone();
            sites.insert(a.id.locator.clone(), row);
        }
    }
    for c in cx
        .rollup
        .iter()
        .filter(|r| r.kind == site_events::PROBE || r.kind == site_events::INSPECTED)
    {
        let row = sites
            .entry(c.asset.locator.clone())
            .or_insert_with(|| empty_site(&c.asset.locator));
        if c.kind == site_events::PROBE {
            row.probes += c.count;
            row.probes_ok += c.flagged;
        } else {
            row.inspections += c.count;
            row.last_inspected = Some(c.last);
        }
    }
    for row in sites.values_mut() {
        row.availability = pct(row.probes_ok, row.probes);
        site.probes_ok += row.probes_ok;
    }
    site.availability = pct(site.probes_ok, site.probes);
    let (found, fixed, open, samples) = period_counts(period_groups, "site");
    site.found = found;
    site.fixed = fixed;
    site.open = open;
    site.sites = sites.into_values().collect();
    let per_site_open: BTreeMap<String, u64> = store
        .finding_asset_counts("site", FindingStatus::Open)?
        .into_iter()
        .map(|(a, n)| (a.locator, n))
        .collect();
    for row in &mut site.sites {
        row.open_findings = per_site_open.get(&row.site).copied().unwrap_or(0);
    }
    site_figures(cx, &site, samples)?;
    Ok(site)
}

/// The 监测 figures and their evidence.
fn site_figures(
    cx: &mut Collect<'_>,
    site: &SiteFacts,
    samples: Samples,
) -> Result<(), ReportError> {
    let (opts, when) = (cx.opts, cx.when.clone());
    let (found, fixed, open) = (site.found, site.fixed, site.open);
    cx.b.count(
        "site.count",
        "监测",
        "巡查网站数",
        site.sites.len() as u64,
        " 个",
        ev(
            "asset",
            "登记的网站，及本期巡查或探测过的网站".to_string(),
            format!("assets 表中类型为 website 的资产，及 {when} 内有巡查或探测事件的网站"),
            site.sites.len() as u64,
            site.sites
                .iter()
                .take(opts.samples)
                .map(|s| s.site.clone())
                .collect(),
        ),
    );
    cx.b.count(
        "site.inspections",
        "监测",
        "网站巡查次数",
        site.inspections,
        " 次",
        ev(
            "event",
            cx.kind_basis(&[site_events::INSPECTED]),
            format!(
                "events 表中 kind 为 {}、时间在 {when} 的事件",
                site_events::INSPECTED
            ),
            site.inspections,
            cx.sample(&[site_events::INSPECTED])?,
        ),
    );
    cx.b.count(
        "site.probes",
        "监测",
        "可用性探测次数",
        site.probes,
        " 次",
        ev(
            "event",
            cx.kind_basis(&[site_events::PROBE]),
            format!(
                "events 表中 kind 为 {}、时间在 {when} 的事件",
                site_events::PROBE
            ),
            site.probes,
            cx.sample(&[site_events::PROBE])?,
        ),
    );
    cx.b.number(
        "site.availability",
        "监测",
        "网站可用率",
        site.availability,
        pct_text(site.availability),
        ev(
            "event",
            format!(
                "本期首页可用性探测中能正常打开的次数所占比例（{} / {}）",
                site.probes_ok, site.probes
            ),
            format!(
                "events 表中 kind 为 {}、时间在 {when} 的事件里 details.{} 为 true 的比例（{} / {}）",
                site_events::PROBE,
                site_events::PROBE_OK_FIELD,
                site.probes_ok,
                site.probes
            ),
            site.probes,
            cx.sample(&[site_events::PROBE])?,
        ),
    );
    cx.b.count(
        "site.found",
        "监测",
        "发现网站问题",
        found,
        " 个",
        {
            let (basis, query) = cx.fq("site", ("", ""));
            ev("finding", basis, query, found, samples.0)
        },
    );
    cx.b.count("site.fixed", "监测", "其中已整改", fixed, " 个", {
        let (basis, query) = cx.fq("site", ("中已整改的", "中当前状态为已整改（resolved）的"));
        ev("finding", basis, query, fixed, samples.1)
    });
    cx.b.count("site.open", "监测", "其中未整改", open, " 个", {
        let (basis, query) = cx.fq(
            "site",
            (
                "中尚未整改（待处理或接受风险）的",
                "中当前状态为待处理或接受风险的",
            ),
        );
        ev("finding", basis, query, open, samples.2)
    });

    Ok(())
}

/// 主机自查: each host's latest run, by 等保 control and by topic.
fn host_part(
    cx: &mut Collect<'_>,
    open_groups: &[FindingGroup],
    period_groups: &[FindingGroup],
) -> Result<HostFacts, ReportError> {
    let (store, range) = (cx.store, cx.range);
    let mut host = HostFacts {
        runs: cx.kind_count(HOST_COMPLETED),
        ..HostFacts::default()
    };
    let mut controls: BTreeMap<String, RateRow> = BTreeMap::new();
    let mut topics: Vec<RateRow> = HOST_TOPICS
        .iter()
        .map(|(k, name, _)| rate_row(k, name))
        .collect();
    let mut run_files = Vec::new();
    let host_runs = if cx.kind_count(HOST_COMPLETED) > 0 {
        store.latest_event_per_asset(HOST_COMPLETED, &range)?
    } else {
        Vec::new()
    };
    for e in host_runs {
        // A row this version cannot read counts as a run with nothing in
        // it, as each missing field does.
        let d: host_events::CheckCompleted = decode(&e.event.details).unwrap_or_default();
        let run_file = d.run_file;
        let mut row = HostRow {
            host: e.event.asset.locator.clone(),
            profile: d.profile,
            checked_at: e.event.time,
            score: d.score,
            pass: d.pass,
            fail: d.fail,
            cannot_check: d.cannot_check,
            run_file: run_file.clone(),
        };
        match read_run(&run_file) {
            Some(run) => {
                for s in &run.scores {
                    let r = controls
                        .entry(s.control.clone())
                        .or_insert_with(|| rate_row(&s.control, &s.name));
                    r.pass += s.pass as u64;
                    r.fail += s.fail as u64;
                    r.cannot_check += s.cannot_check as u64;
                }
                for r in &run.results {
                    if let Some(t) = topic_of(&r.id) {
                        let t = &mut topics[t];
                        match r.verdict {
                            shouwang_host::engine::Verdict::Pass => t.pass += 1,
                            shouwang_host::engine::Verdict::Fail => t.fail += 1,
                            shouwang_host::engine::Verdict::CannotCheck => t.cannot_check += 1,
                        }
                    }
                }
                row.pass = run.count(shouwang_host::engine::Verdict::Pass) as u64;
                row.fail = run.count(shouwang_host::engine::Verdict::Fail) as u64;
                row.cannot_check = run.count(shouwang_host::engine::Verdict::CannotCheck) as u64;
                run_files.push(run_file);
            }
            None => host.unreadable_runs.push(run_file),
        }
        host.pass += row.pass;
        host.fail += row.fail;
        host.cannot_check += row.cannot_check;
        host.hosts.push(row);
    }
    for g in open_groups.iter().filter(|g| g.sensor == "host") {
        if let Some(t) = topic_of(&g.check) {
            topics[t].open_findings += g.count;
        }
    }
    let finish = |r: &mut RateRow| r.pass_rate = pct(r.pass, r.pass + r.fail + r.cannot_check);
    host.controls = controls.into_values().collect();
    host.controls.iter_mut().for_each(finish);
    topics.iter_mut().for_each(finish);
    host.topics = topics;
    host.pass_rate = pct(host.pass, host.pass + host.fail + host.cannot_check);
    let (found, fixed, open, samples) = period_counts(period_groups, "host");
    host.found = found;
    host.fixed = fixed;
    host.open = open;
    host_figures(cx, &host, &run_files, samples)?;
    Ok(host)
}

/// The 主机自查 figures and their evidence.
fn host_figures(
    cx: &mut Collect<'_>,
    host: &HostFacts,
    run_files: &[String],
    samples: Samples,
) -> Result<(), ReportError> {
    let (opts, when) = (cx.opts, cx.when.clone());
    let (found, fixed, open) = (host.found, host.fixed, host.open);
    let run_query = format!(
        "events 表中 kind 为 {HOST_COMPLETED}、时间在 {when} 的事件中每台主机最新一次，及其 details.run_file 所指的检查记录文件"
    );
    cx.b.count(
        "host.count",
        "主机自查",
        "自查主机数",
        host.hosts.len() as u64,
        " 台",
        ev(
            "file",
            "本期每台主机最近一次自查的检查记录文件".to_string(),
            run_query.clone(),
            host.hosts.len() as u64,
            run_files.iter().take(opts.samples).cloned().collect(),
        ),
    );
    cx.b.count(
        "host.runs",
        "主机自查",
        "主机自查次数",
        host.runs,
        " 次",
        ev(
            "event",
            cx.kind_basis(&[HOST_COMPLETED]),
            format!("events 表中 kind 为 {HOST_COMPLETED}、时间在 {when} 的事件"),
            host.runs,
            cx.sample(&[HOST_COMPLETED])?,
        ),
    );
    cx.b.number(
        "host.pass_rate",
        "主机自查",
        "检查项符合率",
        host.pass_rate,
        pct_text(host.pass_rate),
        ev(
            "file",
            format!(
                "每台主机最近一次自查中符合要求的检查项 {} 项，占全部 {} 项（无法检查的计为不符合）",
                host.pass,
                host.pass + host.fail + host.cannot_check
            ),
            format!(
                "{run_query}：符合 {} 项 / 全部 {} 项（无法检查计为不符合）",
                host.pass,
                host.pass + host.fail + host.cannot_check
            ),
            host.pass + host.fail + host.cannot_check,
            run_files.iter().take(opts.samples).cloned().collect(),
        ),
    );
    for t in &host.topics {
        cx.b.number(
            &format!("host.topic.{}", t.key),
            "主机自查",
            &format!("{}符合率", t.name),
            t.pass_rate,
            pct_text(t.pass_rate),
            ev(
                "file",
                format!(
                    "每台主机最近一次自查中{}类检查项：符合 {} 项，不符合 {} 项，无法检查 {} 项",
                    t.name, t.pass, t.fail, t.cannot_check
                ),
                format!(
                    "{run_query}中 {} 类检查项：符合 {} / 不符合 {} / 无法检查 {}",
                    t.name, t.pass, t.fail, t.cannot_check
                ),
                t.pass + t.fail + t.cannot_check,
                run_files.iter().take(opts.samples).cloned().collect(),
            ),
        );
    }
    cx.b.count(
        "host.found",
        "主机自查",
        "发现主机问题",
        found,
        " 个",
        {
            let (basis, query) = cx.fq("host", ("", ""));
            ev("finding", basis, query, found, samples.0)
        },
    );
    cx.b.count(
        "host.fixed",
        "主机自查",
        "其中已整改",
        fixed,
        " 个",
        {
            let (basis, query) = cx.fq("host", ("中已整改的", "中当前状态为已整改（resolved）的"));
            ev("finding", basis, query, fixed, samples.1)
        },
    );
    cx.b.count(
        "host.open",
        "主机自查",
        "其中未整改",
        open,
        " 个",
        {
            let (basis, query) = cx.fq(
                "host",
                (
                    "中尚未整改（待处理或接受风险）的",
                    "中当前状态为待处理或接受风险的",
                ),
            );
            ev("finding", basis, query, open, samples.2)
        },
    );

    Ok(())
}

/// 事件: the period's incidents and their reporting clock.
fn incident_part(cx: &mut Collect<'_>, unit: &UnitProfile) -> Result<IncidentFacts, ReportError> {
    let (store, opts, range, when) = (cx.store, cx.opts, cx.range, cx.when.clone());
    let incidents = incident_facts(store, unit, &range, opts)?;
    let inc_query = format!("incidents 表中发现时间在 {when} 的事件");
    let inc_basis = "本期发现的网络安全事件".to_string();
    // Each figure lists samples of the incidents it counts, so a row never
    // says 0 and names records.
    let ids_where = |keep: &dyn Fn(&crate::facts::IncidentRow) -> bool| -> Vec<String> {
        incidents
            .rows
            .iter()
            .filter(|r| keep(r))
            .take(opts.samples)
            .map(|r| r.id.to_string())
            .collect()
    };
    let inc_ids = ids_where(&|_| true);
    let reportable_ids = ids_where(&|r| r.reportable);
    let handled_ids = ids_where(&|r| r.handled);
    let met_ids = ids_where(&|r| r.deadlines.iter().any(|d| d.met()));
    let missed_ids = ids_where(&|r| r.deadlines.iter().any(|d| d.missed()));
    cx.b.count(
        "incident.total",
        "事件",
        "网络安全事件",
        incidents.total,
        " 起",
        ev(
            "incident",
            inc_basis.clone(),
            inc_query.clone(),
            incidents.total,
            inc_ids,
        ),
    );
    cx.b.count(
        "incident.reportable",
        "事件",
        "其中须报告（较大及以上）",
        incidents.reportable,
        " 起",
        ev(
            "incident",
            format!("{inc_basis}中级别为较大及以上的"),
            format!("{inc_query}中级别为较大及以上的"),
            incidents.reportable,
            reportable_ids,
        ),
    );
    cx.b.count(
        "incident.handled",
        "事件",
        "已处置完毕",
        incidents.handled,
        " 起",
        ev(
            "incident",
            format!("{inc_basis}中已恢复或关闭的"),
            format!("{inc_query}中状态为恢复或关闭的"),
            incidents.handled,
            handled_ids,
        ),
    );
    cx.b.count(
        "incident.deadlines_met",
        "事件",
        "按时报告",
        incidents.deadlines_met,
        " 次",
        ev(
            "incident",
            format!("{inc_basis}的报告中在时限内报出的"),
            format!("{inc_query}的报告时限中在期限内完成的"),
            incidents.deadlines_met,
            met_ids,
        ),
    );
    cx.b.count(
        "incident.deadlines_missed",
        "事件",
        "逾期或超时报告",
        incidents.deadlines_late + incidents.deadlines_overdue,
        " 次",
        ev(
            "incident",
            format!("{inc_basis}的报告中超过时限报出或已逾期未报的"),
            format!("{inc_query}的报告时限中超时完成或已逾期的"),
            incidents.deadlines_late + incidents.deadlines_overdue,
            missed_ids,
        ),
    );

    Ok(incidents)
}

/// 存在问题 and 整改措施: what is open now, with advice per check.
fn problems_part(
    cx: &mut Collect<'_>,
    open_groups: &[FindingGroup],
) -> Result<Problems, ReportError> {
    let opts = cx.opts;
    let rules = shouwang_host::RuleSet::embedded().ok();
    let mut open_findings = Vec::new();
    let mut remediation = Vec::new();
    let mut open_total = 0;
    let assigned = cx.store.open_assignment_groups()?;
    for g in open_groups {
        open_total += g.count;
        open_findings.push(FindingGroupRow {
            area: area_of(&g.sensor).into(),
            sensor: g.sensor.clone(),
            check: g.check.clone(),
            title: g.title_zh.clone(),
            severity: g.severity.zh().into(),
            count: g.count,
            assets: g.assets,
            sample_ids: g.sample_ids.clone(),
        });
        let (advice, command) = advice(rules.as_ref(), &g.sensor, &g.check);
        remediation.push(RemediationItem {
            area: area_of(&g.sensor).into(),
            check: g.check.clone(),
            title: g.title_zh.clone(),
            advice,
            command,
            count: g.count,
            owner: owners_of(&assigned, &g.sensor, &g.check),
            due: assigned
                .iter()
                .filter(|a| a.sensor == g.sensor && a.check == g.check)
                .filter_map(|a| a.earliest_due)
                .min(),
        });
    }
    let open_sample: Vec<String> = open_groups
        .iter()
        .flat_map(|g| g.sample_ids.iter().take(1))
        .take(opts.samples)
        .map(|i| i.to_string())
        .collect();
    cx.b.count(
        "findings.open_total",
        "存在问题",
        "当前未整改问题",
        open_total,
        " 个",
        ev(
            "finding",
            "报告生成时尚未整改的全部问题".into(),
            "findings 表中当前状态为待处理（open）的全部发现项（报告生成时）".into(),
            open_total,
            open_sample,
        ),
    );
    cx.b.count(
        "findings.open_checks",
        "存在问题",
        "涉及检查项",
        open_groups.len() as u64,
        " 项",
        ev(
            "finding",
            "报告生成时尚未整改的问题所涉及的检查项".into(),
            "findings 表中当前状态为待处理的发现项，按传感器和检查项分组".into(),
            open_groups.len() as u64,
            Vec::new(),
        ),
    );

    Ok(Problems {
        open_findings,
        open_total,
        remediation,
    })
}

/// The owners named for a check's open findings, each once, joined by 、.
fn owners_of(assigned: &[shouwang_store::AssignmentGroup], sensor: &str, check: &str) -> String {
    let mut owners: Vec<&str> = assigned
        .iter()
        .filter(|a| a.sensor == sensor && a.check == check && !a.owner.is_empty())
        .map(|a| a.owner.as_str())
        .collect();
    owners.dedup();
    owners.join("、")
}

fn empty_root(root: &str) -> GuardRoot {
    GuardRoot {
        root: root.into(),
        restored: 0,
        recreated: 0,
        quarantined: 0,
        failed: 0,
    }
}

fn empty_site(site: &str) -> SiteRow {
    SiteRow {
        site: site.into(),
        name: String::new(),
        inspections: 0,
        last_inspected: None,
        probes: 0,
        probes_ok: 0,
        availability: None,
        open_findings: 0,
    }
}

fn rate_row(key: &str, name: &str) -> RateRow {
    RateRow {
        key: key.into(),
        name: name.into(),
        pass: 0,
        fail: 0,
        cannot_check: 0,
        pass_rate: None,
        open_findings: 0,
    }
}

fn ms_text(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{} 毫秒", trim_number(v, 1)),
        None => "无数据".into(),
    }
}

type Samples = (Vec<String>, Vec<String>, Vec<String>);

/// Of a sensor's findings first seen in the period: all, resolved now,
/// still open or accepted; with sample ids of each.
fn period_counts(groups: &[FindingGroup], sensor: &str) -> (u64, u64, u64, Samples) {
    let (mut found, mut fixed, mut open) = (0, 0, 0);
    let mut s: Samples = Default::default();
    for g in groups.iter().filter(|g| g.sensor == sensor) {
        found += g.count;
        let ids = ids(&g.sample_ids);
        s.0.extend(ids.iter().cloned());
        if g.status == FindingStatus::Resolved {
            fixed += g.count;
            s.1.extend(ids);
        } else {
            open += g.count;
            s.2.extend(ids);
        }
    }
    for v in [&mut s.0, &mut s.1, &mut s.2] {
        v.sort_by_key(|i| std::cmp::Reverse(i.parse::<i64>().unwrap_or(0)));
        v.truncate(5);
    }
    (found, fixed, open, s)
}

fn read_run(path: &str) -> Option<shouwang_host::Run> {
    if path.is_empty() {
        return None;
    }
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The fix advice for a check: the host rule's own fix, else the advice
/// for the site or guard check family.
pub fn advice(
    rules: Option<&shouwang_host::RuleSet>,
    sensor: &str,
    check: &str,
) -> (String, Option<String>) {
    if sensor == "host"
        && let Some(rule) = rules.and_then(|r| r.rule(check))
    {
        return (rule.fix.zh.clone(), rule.fix.command.clone());
    }
    let table: &[(&str, &str)] = &[
        (
            "site.broken-",
            "修复或删除失效的链接、图片和附件，发布前检查链接是否可用。",
        ),
        (
            "site.unreadable-attachment",
            "打开该附件确认能否正常阅读：损坏或加密的附件应重新上传可读版本，并人工检查其中是否有个人信息。",
        ),
        (
            "site.unreadable-page",
            "人工检查该页面的内容，并修正页面结构中的错误。",
        ),
        (
            "site.empty-attachment",
            "重新上传完整的附件，或删除空附件的链接。",
        ),
        (
            "site.blank-",
            "补充空白页面、栏目和文章的内容，无法保障内容的栏目应整合或下线。",
        ),
        (
            "site.stale-column",
            "按规定周期更新栏目内容，无法保障更新的栏目应整合或关闭。",
        ),
        (
            "site.homepage-stale",
            "及时更新首页动态信息，确保首页内容在规定时限内有更新。",
        ),
        (
            "site.wording.",
            "更正错别字、不规范表述和禁用词，发布前执行三审三校。",
        ),
        (
            "site.pii.",
            "删除或遮蔽页面和附件中的身份证号、手机号、银行卡号等个人信息，并排查信息发布审核流程。",
        ),
        (
            "site.dark-link",
            "清除暗链和隐藏内容，排查网站后台和服务器的入侵痕迹，修改管理口令并修补漏洞。",
        ),
        (
            "site.hidden-spam",
            "清除隐藏的垃圾内容，排查入侵途径，修改管理口令并修补漏洞。",
        ),
        (
            "site.spam-link",
            "删除指向赌博、色情等违规网站的链接，排查入侵途径并修补漏洞。",
        ),
        (
            "site.cloaking",
            "清除针对搜索引擎的劫持代码，排查服务器配置和网站程序中的恶意代码。",
        ),
        (
            "site.script-redirect",
            "删除恶意跳转脚本，排查网站程序和第三方脚本的来源。",
        ),
        (
            "site.document-write-link",
            "删除由脚本写入的可疑链接，排查网站程序和第三方脚本。",
        ),
        (
            "site.defacement",
            "核实页面变化是否经过审批；如系篡改，立即恢复、保留证据并报告，启用网页防篡改。",
        ),
        (
            "site.title-changed",
            "核实标题变化是否经过审批；如系篡改，立即恢复并排查入侵途径。",
        ),
        (
            "site.footer.",
            "在页脚补齐主办单位、联系方式、ICP 备案编号、公安机关备案号和网站标识码。",
        ),
        (
            "site.https-missing",
            "部署有效的 HTTPS 证书，全站启用 HTTPS。",
        ),
        ("site.http-no-redirect", "将 HTTP 访问跳转到 HTTPS。"),
        (
            "site.tls",
            "更换为受信任且在有效期内的证书，到期前及时续期。",
        ),
        ("site.ipv6-missing", "按要求开通网站的 IPv6 访问。"),
        (
            "site.unreachable",
            "排查服务器和网络故障，配置可用性监测告警，保障网站可访问。",
        ),
        (
            "site.availability",
            "排查服务器和网络故障，配置可用性监测告警，保障网站可访问。",
        ),
        (
            "site.slow-",
            "优化页面和服务器性能，压缩大文件，必要时使用 CDN。",
        ),
        ("site.redirect-loop", "修正网站的跳转配置，消除循环跳转。"),
        ("site.malformed-html", "修正页面的 HTML 结构错误。"),
        ("site.oversized-page", "拆分或压缩过大的页面。"),
        (
            "guard.",
            "核查篡改来源，修补网站程序漏洞，修改管理口令；合法的内容更新通过 shouwang guard publish 发布。",
        ),
    ];
    let text = table
        .iter()
        .find(|(p, _)| check.starts_with(p))
        .map(|(_, a)| (*a).to_string())
        .unwrap_or_else(|| "按发现项的证据逐项整改，整改后重新检查确认。".to_string());
    (text, None)
}

fn incident_facts(
    store: &dyn Store,
    unit: &UnitProfile,
    range: &TimeRange,
    opts: &Options,
) -> Result<IncidentFacts, ReportError> {
    let mut f = IncidentFacts::default();
    // Incidents are few (they group events); a period with more than this
    // many would still be summarised by the counts below from this page.
    let list = store.incidents(&IncidentFilter {
        since: range.since,
        until: range.until,
        limit: 100_000,
        ..IncidentFilter::default()
    })?;
    let policy = crate::deadline::policy(opts.policy.as_ref(), unit);
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_level: BTreeMap<u8, (String, u64)> = BTreeMap::new();
    let mut by_status: BTreeMap<u8, (String, u64)> = BTreeMap::new();
    for i in &list {
        f.total += 1;
        let class = i
            .category()
            .map(|(c, _)| c.zh.to_string())
            .unwrap_or_else(|| "其他事件".into());
        *by_class.entry(class).or_insert(0) += 1;
        by_level
            .entry(i.level as u8)
            .or_insert_with(|| (i.level.zh().to_string(), 0))
            .1 += 1;
        by_status
            .entry(i.status as u8)
            .or_insert_with(|| (i.status.zh().to_string(), 0))
            .1 += 1;
        if i.level.must_report() || policy.report_general {
            f.reportable += 1;
        }
        if i.status.handling_ended() {
            f.handled += 1;
        }
        let deadlines = crate::deadline::deadlines(i, &policy, opts.now);
        for d in &deadlines {
            match d.state.as_str() {
                "met" => f.deadlines_met += 1,
                "met-late" => f.deadlines_late += 1,
                "overdue" => f.deadlines_overdue += 1,
                "pending" | "due-soon" | "waiting" => f.deadlines_pending += 1,
                _ => {}
            }
        }
        f.rows.push(IncidentRow {
            id: i.id,
            title: i.title.clone(),
            category: i.category_zh(),
            level: i.level.zh().into(),
            status: i.status.zh().into(),
            discovered_at: i.discovered_at,
            handling_ended_at: i.handling_ended_at,
            reportable: i.level.must_report() || policy.report_general,
            handled: i.status.handling_ended(),
            deadlines,
        });
    }
    let rows = |m: BTreeMap<_, (String, u64)>| {
        m.into_values()
            .map(|(label, count)| CountRow { label, count })
            .collect()
    };
    f.by_class = by_class
        .into_iter()
        .map(|(label, count)| CountRow { label, count })
        .collect();
    f.by_level = rows(by_level);
    f.by_status = rows(by_status);
    Ok(f)
}

/// Collect the facts of an incident report at `stage`.
pub fn incident_report(
    store: &dyn Store,
    unit: &UnitProfile,
    id: i64,
    stage: ReportStage,
    opts: &Options,
) -> Result<IncidentReportFacts, ReportError> {
    let incident = store
        .incident(id)?
        .ok_or(ReportError::IncidentNotFound(id))?;
    let timeline: Vec<TimelineRow> = store
        .timeline(id)?
        .into_iter()
        .map(|t| TimelineRow {
            at: t.entry.at,
            actor: t.entry.actor,
            kind: t.entry.kind.zh().into(),
            text: t.entry.text,
        })
        .collect();
    let events = store.incident_events(id, 50)?;
    let findings = store.incident_findings(id)?;
    let mut members: Vec<MemberRow> = events
        .iter()
        .map(|e| MemberRow {
            record: "事件".into(),
            id: e.id,
            time: e.event.time,
            asset: e.event.asset.locator.clone(),
            summary: e.event.summary.clone(),
        })
        .collect();
    members.extend(findings.iter().take(50).map(|f| MemberRow {
        record: "发现项".into(),
        id: f.id,
        time: f.first_seen,
        asset: f.asset.locator.clone(),
        summary: f.title.zh.clone(),
    }));
    let rules = shouwang_host::RuleSet::embedded().ok();
    let mut remediation: Vec<RemediationItem> = Vec::new();
    for f in &findings {
        if let Some(r) = remediation.iter_mut().find(|r| r.check == f.check_id()) {
            r.count += 1;
            continue;
        }
        let (advice, command) = advice(rules.as_ref(), &f.provenance.sensor, f.check_id());
        remediation.push(RemediationItem {
            area: area_of(&f.provenance.sensor).into(),
            check: f.check_id().into(),
            title: f.title.zh.clone(),
            advice,
            command,
            count: 1,
            owner: String::new(),
            due: None,
        });
    }
    let policy = crate::deadline::policy(opts.policy.as_ref(), unit);
    let deadlines = crate::deadline::deadlines(&incident, &policy, opts.now);
    let fields = report_fields(&incident, unit, stage, &timeline, &members);
    Ok(IncidentReportFacts {
        generated_at: opts.now,
        stage,
        unit: unit.clone(),
        category: incident.category_zh(),
        level: incident.level.zh().into(),
        status: incident.status.zh().into(),
        report_to: unit.operator_type.report_to_zh().into(),
        deadlines,
        fields,
        timeline,
        members,
        event_count: incident.event_count,
        finding_count: incident.finding_count,
        remediation,
        incident,
    })
}

const TO_FILL: &str = "（待填写）";

fn measured(label: &str, value: String) -> ReportField {
    ReportField {
        label: label.into(),
        value,
        source: Source::Measured,
    }
}

fn declared(label: &str, value: &str) -> ReportField {
    ReportField {
        label: label.into(),
        value: if value.trim().is_empty() {
            TO_FILL.into()
        } else {
            value.into()
        },
        source: Source::Declared,
    }
}

/// The fields of 《国家网络安全事件报告管理办法》(2025): items 1 and 2 from
/// the record; the rest from the timeline's notes where a person wrote
/// them, else left for the reporter to fill in.
fn report_fields(
    i: &Incident,
    unit: &UnitProfile,
    stage: ReportStage,
    timeline: &[TimelineRow],
    members: &[MemberRow],
) -> Vec<ReportField> {
    let measures: Vec<String> = timeline
        .iter()
        .filter(|t| t.kind == TimelineKind::Status.zh() || t.kind == TimelineKind::Note.zh())
        .map(|t| format!("{} {}", time_zh(t.at), t.text))
        .collect();
    let assets: std::collections::BTreeSet<&str> =
        members.iter().map(|m| m.asset.as_str()).collect();
    let unit_and_system = measured(
        "报告单位及受影响的设施、系统或平台",
        format!(
            "{}；{}（{}）",
            if unit.name.trim().is_empty() {
                TO_FILL
            } else {
                unit.name.as_str()
            },
            i.asset.locator,
            std::iter::once(i.asset.kind.as_str())
                .chain(
                    assets
                        .iter()
                        .copied()
                        .filter(|a| *a != i.asset.locator)
                        .take(5)
                )
                .collect::<Vec<_>>()
                .join("、")
        ),
    );
    let impact = measured(
        "已造成的影响和危害",
        format!(
            "关联事件记录 {} 条、发现项 {} 个；最近一次活动 {}。{}",
            i.event_count,
            i.finding_count,
            time_zh(i.last_activity),
            i.summary
        ),
    );
    let handling = if measures.is_empty() {
        declared("已采取的措施及效果", "")
    } else {
        measured("已采取的措施及效果", measures.join("；"))
    };
    if stage == ReportStage::Summary {
        let duration = match i.handling_ended_at {
            Some(end) => {
                let mins = (end - i.discovered_at).num_minutes().max(0);
                format!(
                    "自发现至处置结束 {} 小时 {} 分钟（{} 至 {}）",
                    mins / 60,
                    mins % 60,
                    time_zh(i.discovered_at),
                    time_zh(end)
                )
            }
            None => "处置尚未结束".into(),
        };
        return vec![
            unit_and_system,
            measured(
                "事件类型及级别",
                format!(
                    "{}；{}（{}）",
                    i.category_zh(),
                    i.level.zh(),
                    i.level.roman()
                ),
            ),
            measured("事件经过及处置时长", duration),
            impact,
            handling,
            declared("事件原因", ""),
            declared("责任认定及处理", ""),
            declared("经验教训及改进措施", ""),
        ];
    }
    let mut out = vec![
        unit_and_system,
        measured("发现时间", time_zh(i.discovered_at)),
        measured("事件类型", i.category_zh()),
        measured(
            "事件级别",
            format!("{}（{}）", i.level.zh(), i.level.roman()),
        ),
        impact,
        handling,
    ];
    // For ransomware the rule also asks for the ransom.
    if i.subclass == "MPRANS" {
        out.push(declared("勒索金额、支付方式及日期", ""));
    }
    for label in [
        "事件发展趋势及可能造成的进一步危害",
        "初步原因分析",
        "溯源线索（攻击者信息、攻击路径、利用的漏洞等）",
        "下一步工作计划及需要的支持",
        "现场保护情况",
        "其他应当报告的情况",
    ] {
        out.push(declared(label, ""));
    }
    out
}
