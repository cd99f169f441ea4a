//! 网站巡查 pages: the websites added with `shouwang site add`, each with
//! its last inspection, and per site the history of inspections and the
//! findings still open.
//!
//! Everything comes from the store: the sites are assets of kind
//! `website`, each run is a `site.inspected` event whose details hold its
//! counts, read through the contract in the model
//! (`shouwang_model::events::site`), so the console needs no dependency on
//! the site sensor.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use shouwang_model::events::{decode, site};
use shouwang_model::{AssetKind, AssetRef, Event, FindingStatus};
use shouwang_store::{EventFilter, TimeRange};

use super::chart::{self, Chart, Series, Shape};
use super::pages::{FindingView, fmt_time};
use super::{AppError, AppState, Auth};
use crate::i18n::tr;

#[derive(Serialize)]
struct RunSummary {
    time: String,
    pages: u64,
    links: u64,
    broken_home: u64,
    broken_other: u64,
    findings: u64,
    seconds: f64,
    homepage: String,
    /// The estimated score, or "—" for a run that was not scored.
    score: String,
}

impl RunSummary {
    fn of(e: &Event) -> RunSummary {
        // A row this version cannot read shows as a run that counted
        // nothing, as each missing field does.
        let d: site::Inspected = decode(&e.event.details).unwrap_or_default();
        let homepage = match &d.homepage {
            Some(site::HomepageStatus {
                status: Some(s),
                elapsed_ms,
                ..
            }) => format!("HTTP {s} · {elapsed_ms} ms"),
            Some(site::HomepageStatus { error: Some(e), .. }) => e.clone(),
            _ => String::new(),
        };
        RunSummary {
            time: fmt_time(e.event.time),
            pages: d.pages,
            links: d.refs_checked,
            broken_home: d.broken_on_homepage,
            broken_other: d.broken_elsewhere,
            findings: d.findings(),
            seconds: (d.duration_ms as f64 / 100.0).round() / 10.0,
            homepage,
            score: d.score.map_or_else(|| "—".into(), chart::num),
        }
    }
}

/// The score estimate and the broken links of each run of the last 30
/// days, oldest first, read through the `site.inspected` contract.
fn run_charts(newest_first: &[Event], lang: &str) -> [String; 2] {
    // A row this version cannot read is a run that measured nothing.
    let runs: Vec<(String, site::Inspected)> = chart::recent_runs(newest_first)
        .into_iter()
        .map(|(label, e)| (label, decode(&e.event.details).unwrap_or_default()))
        .collect();
    let labels: Vec<String> = runs.iter().map(|(l, _)| l.clone()).collect();
    let series = |key: &str, f: &dyn Fn(&site::Inspected) -> Option<f64>| Series {
        label: tr(lang, key).into(),
        class: String::new(),
        values: runs.iter().map(|(_, d)| f(d)).collect(),
    };
    let score = Chart {
        title: tr(lang, "chart.site_score").into(),
        labels: labels.clone(),
        series: chart::palette(vec![series("chart.score", &|d| d.score)], ""),
        shape: Shape::Lines,
        min_top: 100.0,
    };
    let broken = Chart {
        title: tr(lang, "chart.site_broken").into(),
        labels,
        series: chart::palette(
            vec![
                series("chart.broken_home", &|d| Some(d.broken_on_homepage as f64)),
                series("chart.broken_other", &|d| Some(d.broken_elsewhere as f64)),
            ],
            "",
        ),
        shape: Shape::Stacked,
        min_top: 0.0,
    };
    [score.render(lang), broken.render(lang)]
}

#[derive(Serialize)]
struct SiteRow {
    url: String,
    name: String,
    last: Option<RunSummary>,
    open: usize,
}

/// A site's newest `limit` inspections, newest first.
async fn runs(state: &AppState, asset: &AssetRef, limit: usize) -> Result<Vec<Event>, AppError> {
    let asset = asset.clone();
    state
        .db(move |s| {
            s.events(&EventFilter {
                sensor: Some(site::SENSOR.into()),
                kind_prefix: Some(site::INSPECTED.into()),
                asset: Some(asset),
                limit,
                ..EventFilter::default()
            })
        })
        .await
}

pub(crate) async fn list(State(state): State<AppState>, auth: Auth) -> Response {
    let r = async {
        // The store picks each site's last run and counts its open
        // findings, so the page reads one row per site.
        let last: HashMap<AssetRef, Event> = state
            .db(|s| s.latest_event_per_asset(site::INSPECTED, &TimeRange::default()))
            .await?
            .into_iter()
            .map(|e| (e.event.asset.clone(), e))
            .collect();
        let assets = state.db(|s| s.assets()).await?;
        let open: HashMap<AssetRef, u64> = state
            .db(|s| s.finding_asset_counts(site::SENSOR, FindingStatus::Open))
            .await?
            .into_iter()
            .collect();
        let mut rows: Vec<SiteRow> = assets
            .iter()
            .filter(|a| a.id.kind == AssetKind::Website)
            .map(|a| SiteRow {
                url: a.id.locator.clone(),
                name: a.name.clone(),
                last: last.get(&a.id).map(RunSummary::of),
                open: open.get(&a.id).copied().unwrap_or(0) as usize,
            })
            .collect();
        rows.sort_by(|a, b| a.url.cmp(&b.url));
        Ok(state.renderer.page(
            "sites.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({ "nav": "sites", "sites": rows }),
        ))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct SiteQuery {
    url: String,
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<SiteQuery>,
) -> Response {
    let r = async {
        let asset = AssetRef::new(AssetKind::Website, q.url.clone());
        let events = runs(&state, &asset, 60).await?;
        let history: Vec<RunSummary> = events.iter().map(RunSummary::of).collect();
        let charts = run_charts(&events, &auth.lang);
        let known = {
            let asset = asset.clone();
            state
                .db(move |s| {
                    s.assets()
                        .map(|all| all.into_iter().find(|a| a.id == asset))
                })
                .await?
        };
        if known.is_none() && history.is_empty() {
            return Err(AppError::NotFound);
        }
        let lang = auth.lang.clone();
        let open = FindingView::open_on(&state, site::SENSOR, asset, &lang).await?;
        Ok(state.renderer.page(
            "sites.html",
            &lang,
            Some(&auth),
            serde_json::json!({
                "nav": "sites",
                "site": q.url,
                "listed": known.is_some(),
                "job": state.site_jobs.view(&q.url, &lang),
                "name": known.map(|a| a.name).unwrap_or_default(),
                "history": history,
                "charts": charts,
                "findings": open,
            }),
        ))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}
