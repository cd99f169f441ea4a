//! 主机自查 pages: the hosts `shouwang host check` ran on, and per host its
//! score history, the latest run's scores per 等保 control and failed checks
//! with evidence and fixes, and its open findings.
//!
//! The history comes from the `host.check.completed` events; the latest
//! run's details from the run file that event names. The event is read
//! through the contract in the model (`shouwang_model::events::host`) and
//! the file as JSON, so the console needs no dependency on the host sensor.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shouwang_model::events::{decode, host};
use shouwang_model::{AssetKind, AssetRef, Event, FindingStatus, Severity};
use shouwang_store::{EventFilter, TimeRange};

use super::pages::{FindingView, fmt_time};
use super::{AppError, AppState, Auth};

#[derive(Serialize)]
struct RunSummary {
    time: String,
    profile: String,
    score: f64,
    pass: u64,
    fail: u64,
    cannot_check: u64,
    resolved: u64,
}

impl RunSummary {
    fn of(e: &Event) -> RunSummary {
        // A row this version cannot read shows as an empty run, as each
        // missing field does.
        let d: host::CheckCompleted = decode(&e.event.details).unwrap_or_default();
        RunSummary {
            time: fmt_time(e.event.time),
            profile: d.profile,
            score: d.score.unwrap_or(0.0),
            pass: d.pass,
            fail: d.fail,
            cannot_check: d.cannot_check,
            resolved: d.resolved,
        }
    }
}

#[derive(Serialize)]
struct HostRow {
    name: String,
    last: RunSummary,
    open: usize,
}

/// A host's newest `limit` completed runs, newest first.
async fn completed_runs(
    state: &AppState,
    host_name: &str,
    limit: usize,
) -> Result<Vec<Event>, AppError> {
    let asset = AssetRef::new(AssetKind::Host, host_name);
    state
        .db(move |s| {
            s.events(&EventFilter {
                sensor: Some(host::SENSOR.into()),
                kind_prefix: Some(host::CHECK_COMPLETED.into()),
                asset: Some(asset),
                limit,
                ..EventFilter::default()
            })
        })
        .await
}

pub(crate) async fn list(State(state): State<AppState>, auth: Auth) -> Response {
    let r = async {
        // One row per host, not one per run: the store picks each host's
        // last run and counts its open findings.
        let events = state
            .db(|s| s.latest_event_per_asset(host::CHECK_COMPLETED, &TimeRange::default()))
            .await?;
        let open: HashMap<AssetRef, u64> = state
            .db(|s| s.finding_asset_counts(host::SENSOR, FindingStatus::Open))
            .await?
            .into_iter()
            .collect();
        let mut rows: Vec<HostRow> = Vec::new();
        for e in &events {
            let name = &e.event.asset.locator;
            if rows.iter().any(|r| &r.name == name) {
                continue;
            }
            rows.push(HostRow {
                name: name.clone(),
                last: RunSummary::of(e),
                open: open
                    .get(&AssetRef::new(AssetKind::Host, name.clone()))
                    .copied()
                    .unwrap_or(0) as usize,
            });
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        let profiles: Vec<_> = shouwang_host::RuleSet::embedded()
            .map(|r| {
                r.profiles()
                    .map(
                        |p| serde_json::json!({ "name": p.name, "title": p.title.get(&auth.lang) }),
                    )
                    .collect()
            })
            .unwrap_or_default();
        Ok(state.renderer.page(
            "hosts.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({ "nav": "hosts", "hosts": rows, "profiles": profiles }),
        ))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

#[derive(serde::Deserialize)]
pub(crate) struct CheckForm {
    profile: String,
}

/// 立即自查: check this machine now with the built-in rules of `profile`,
/// kept and recorded as `shouwang host check` keeps and records a run, and
/// show its page. One at a time: a check takes under a second, and a
/// second press while one runs waits for it rather than starting another.
pub(crate) async fn check_now(
    State(state): State<AppState>,
    auth: Auth,
    axum::Form(f): axum::Form<CheckForm>,
) -> Response {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let r = async {
        auth.require_operator()?;
        let data_dir = state.config.data_dir.clone().ok_or(AppError::NotFound)?;
        let _one = ONE_AT_A_TIME.lock().await;
        state
            .audit(shouwang_store::NewAuditEntry::new(
                auth.actor(),
                "host.check",
                f.profile.clone(),
                serde_json::Value::Null,
            ))
            .await?;
        let store = state.store.clone();
        let host = super::blocking(move || -> Result<String, String> {
            let rules = shouwang_host::RuleSet::embedded().map_err(|e| e.to_string())?;
            let selected = rules.profile(&f.profile).map_err(|e| e.to_string())?;
            let run = shouwang_host::run(&shouwang_host::Root::live(), &f.profile, &selected);
            let file = shouwang_host::runs::save(&data_dir, &run).map_err(|e| e.to_string())?;
            shouwang_host::runs::record(store.as_ref(), &run, &file).map_err(|e| e.to_string())?;
            Ok(run.host)
        })
        .await?
        .map_err(AppError::BadRequest)?;
        // A host name is letters, digits, dots and dashes; encoded anyway.
        let encoded = serde_urlencoded::to_string([("h", &host)]).unwrap_or_default();
        let to = format!("/hosts/{}", encoded.trim_start_matches("h="));
        Ok(axum::response::Redirect::to(&to).into_response())
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

/// The run file an event names, if it is one: a `.json` file in a
/// `host-runs` directory. Anything else is not read.
fn read_run(path: &str) -> Option<serde_json::Value> {
    let p = std::path::Path::new(path);
    let in_runs = p.components().any(|c| c.as_os_str() == "host-runs");
    if !in_runs || p.extension().is_none_or(|x| x != "json") {
        return None;
    }
    let text = std::fs::read(p).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A run file's result in the page's language: the severity's label, the
/// summary, and each evidence note (a line as seen in a file stays as it
/// is, shown as code). Runs recorded before the Chinese was kept show what
/// they have.
fn localise(r: &mut serde_json::Value, lang: &str) {
    let severity: Option<Severity> = serde_json::from_value(r["severity"].clone()).ok();
    r["severity_label"] = match severity {
        Some(s) => s.label(lang).into(),
        None => r["severity"].clone(),
    };
    let zh = |v: &serde_json::Value| {
        v.as_str()
            .filter(|t| !t.is_empty() && lang != "en")
            .map(str::to_string)
    };
    r["summary_text"] = match zh(&r["summary_zh"]) {
        Some(t) => t.into(),
        None => r["summary"].clone(),
    };
    if let Some(evidence) = r["evidence"].as_array_mut() {
        for e in evidence {
            let note = e["zh"].as_str().is_some_and(|t| !t.is_empty());
            e["note"] = note.into();
            e["text_shown"] = match zh(&e["zh"]) {
                Some(t) => t.into(),
                None => e["text"].clone(),
            };
        }
    }
}

/// The share of rules passed in each `host check` of the last 30 days, in
/// percent, read through the `host.check.completed` contract.
fn pass_rate_chart(newest_first: &[Event], lang: &str) -> String {
    use super::chart::{self, Chart, Series, Shape};
    let runs = chart::recent_runs(newest_first);
    let rate = |e: &Event| {
        // A row this version cannot read counted nothing: no rate.
        let d: host::CheckCompleted = decode(&e.event.details).unwrap_or_default();
        let total = d.pass + d.fail + d.cannot_check;
        (total > 0).then(|| d.pass as f64 * 100.0 / total as f64)
    };
    Chart {
        title: crate::i18n::tr(lang, "chart.host_pass").into(),
        labels: runs.iter().map(|(l, _)| l.clone()).collect(),
        series: chart::palette(
            vec![Series {
                label: crate::i18n::tr(lang, "chart.pass_rate").into(),
                class: String::new(),
                values: runs.iter().map(|(_, e)| rate(e)).collect(),
            }],
            "",
        ),
        shape: Shape::Lines,
        min_top: 100.0,
    }
    .render(lang)
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Response {
    let r = async {
        let events = completed_runs(&state, &name, super::chart::MAX_POINTS).await?;
        let latest = events.first().ok_or(AppError::NotFound)?;
        let history: Vec<RunSummary> = events.iter().take(30).map(RunSummary::of).collect();
        let run_file = decode::<host::CheckCompleted>(&latest.event.details)
            .unwrap_or_default()
            .run_file;
        let path = run_file.clone();
        let run = super::blocking(move || read_run(&path)).await?;
        let lang = auth.lang.clone();
        let (scores, results, overall) = match &run {
            Some(run) => {
                let mut results: Vec<serde_json::Value> = run["results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r["verdict"] != "pass")
                    .map(|mut r| {
                        // A failure shows the problem (未安装防病毒软件);
                        // what could not be checked, and runs recorded
                        // before rules had failure titles, the requirement.
                        let fail_title = r["fail_title"][lang.as_str()]
                            .as_str()
                            .filter(|t| !t.is_empty() && r["verdict"] == "fail")
                            .map(str::to_string);
                        let title = match fail_title {
                            Some(t) => serde_json::Value::String(t),
                            None => r["title"][lang.as_str()].clone(),
                        };
                        r["title_text"] = title;
                        localise(&mut r, &lang);
                        r
                    })
                    .collect();
                // Failures first, then what could not be checked.
                results.sort_by_key(|r| r["verdict"] != "fail");
                (run["scores"].clone(), results, run["overall"].clone())
            }
            None => (serde_json::Value::Null, Vec::new(), serde_json::Value::Null),
        };
        let asset = AssetRef::new(AssetKind::Host, name.clone());
        let open = FindingView::open_on(&state, host::SENSOR, asset, &lang).await?;
        Ok(state.renderer.page(
            "hosts.html",
            &lang,
            Some(&auth),
            serde_json::json!({
                "nav": "hosts",
                "host": name,
                "os": run.as_ref().map(|r| r["os"].clone()),
                "run_file": run_file,
                "run_missing": run.is_none(),
                "history": history,
                "charts": [pass_rate_chart(&events, &lang)],
                "scores": scores,
                "overall": overall,
                "results": results,
                "findings": open,
            }),
        ))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}
