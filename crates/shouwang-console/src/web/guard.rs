//! 网页防篡改 pages: each guarded web root with its baseline, state, recent
//! tamper events (with the diff of a tampered text file against its sealed
//! version), its quarantine, and a publish form for operators.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use shouwang_guard::events as guard_events;
use shouwang_guard::state::RootState;
use shouwang_guard::{Baseline, GuardDir, Kind};
use shouwang_model::events::decode;
use shouwang_store::{EventFilter, NewAuditEntry};

use super::pages::{fmt_time, respond};
use super::{AppError, AppState, Auth};

/// Text diffs stop at this size: a page is for reading.
const MAX_DIFF_BYTES: usize = 512 * 1024;

fn guard_dir(state: &AppState) -> Result<GuardDir, AppError> {
    let dir = state.config.data_dir.as_ref().ok_or(AppError::NotFound)?;
    GuardDir::open(dir).map_err(|e| AppError::Internal(e.to_string()))
}

#[derive(Serialize)]
struct RootRow {
    root: String,
    files: usize,
    sealed_at: String,
    paused_until: Option<String>,
    quarantined: usize,
    error: Option<String>,
    /// A baseline that failed its authentication.
    broken: bool,
    events: usize,
    state: StateView,
}

/// Where a root stands, as the watcher last wrote it: never "protected"
/// without a watcher that found the root as sealed.
#[derive(Serialize, Default)]
struct StateView {
    /// `converged`, `differs`, `displaced`, `baseline-broken`, `paused`,
    /// `starting` (sealed moments ago, before a watcher could check it), or
    /// `unwatched` (no watcher has checked it lately).
    condition: &'static str,
    differing: usize,
    oldest_path: Option<String>,
    oldest_since: Option<String>,
    checked_at: Option<String>,
}

fn state_view(b: &Baseline) -> StateView {
    if b.paused_until().is_some() {
        return StateView {
            condition: "paused",
            ..Default::default()
        };
    }
    let now = chrono::Utc::now();
    match RootState::read(&b.dir) {
        Some(s) if !s.is_stale(now) => StateView {
            condition: s.condition.name(),
            differing: s.differing,
            oldest_path: s.oldest_path,
            oldest_since: s.oldest_since.map(fmt_time),
            checked_at: Some(fmt_time(s.checked_at)),
        },
        // `up` takes a new seal up within seconds (it looks for one every
        // few): until then a root no watcher has ever checked is not said
        // to be unguarded.
        None if now - b.sealed_at() < JUST_SEALED => StateView {
            condition: "starting",
            ..Default::default()
        },
        _ => StateView {
            condition: "unwatched",
            ..Default::default()
        },
    }
}

/// How long after its seal a root no watcher has checked yet is shown as
/// being taken up rather than unguarded: `up` looks for new seals every 3 s
/// and reconciles the root as its watcher starts.
const JUST_SEALED: chrono::Duration = chrono::Duration::seconds(30);

async fn guard_events(
    state: &AppState,
    limit: usize,
) -> Result<Vec<shouwang_model::Event>, AppError> {
    state
        .db(move |s| {
            s.events(&EventFilter {
                sensor: Some(guard_events::SENSOR.into()),
                limit,
                ..Default::default()
            })
        })
        .await
}

pub(crate) async fn list(State(state): State<AppState>, auth: Auth) -> Response {
    let r = async {
        let g = guard_dir(&state)?;
        let events = guard_events(&state, 5000).await?;
        let rows = super::blocking(move || {
            g.baselines()
                .into_iter()
                .map(|b| match b {
                    Ok(b) => RootRow {
                        root: b.root.display().to_string(),
                        files: b
                            .manifest
                            .entries
                            .iter()
                            .filter(|e| e.kind == Kind::File)
                            .count(),
                        sealed_at: fmt_time(b.sealed_at()),
                        paused_until: b.paused_until().map(fmt_time),
                        quarantined: b.quarantine.list().map(|l| l.len()).unwrap_or(0),
                        error: None,
                        broken: false,
                        events: 0,
                        state: state_view(&b),
                    },
                    Err(e) => RootRow {
                        root: String::new(),
                        files: 0,
                        sealed_at: String::new(),
                        paused_until: None,
                        quarantined: 0,
                        broken: matches!(e, shouwang_guard::GuardError::BaselineTampered { .. }),
                        error: Some(match &e {
                            shouwang_guard::GuardError::BaselineTampered { path, .. } => {
                                path.display().to_string()
                            }
                            other => other.to_string(),
                        }),
                        events: 0,
                        state: StateView::default(),
                    },
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let rows: Vec<RootRow> = rows
            .into_iter()
            .map(|mut r| {
                r.events = events
                    .iter()
                    .filter(|e| e.event.asset.locator == r.root)
                    .count();
                r
            })
            .collect();
        Ok(state.renderer.page(
            "guard.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "guard",
                // A root just sealed: the page follows it until it is guarded.
                "refresh": rows.iter().any(|r| r.state.condition == "starting"),
                "roots": rows,
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct RootQuery {
    root: String,
    done: Option<String>,
}

async fn baseline(state: &AppState, root: String) -> Result<Baseline, AppError> {
    let g = guard_dir(state)?;
    super::blocking(move || g.baseline(std::path::Path::new(&root)))
        .await?
        .map_err(|e| match e {
            shouwang_guard::GuardError::NotSealed(_) => AppError::NotFound,
            other => AppError::BadRequest(other.to_string()),
        })
}

pub(crate) async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<RootQuery>,
) -> Response {
    let r = async {
        let b = baseline(&state, q.root.clone()).await?;
        let root = b.root.display().to_string();
        let events: Vec<_> = guard_events(&state, 5000)
            .await?
            .into_iter()
            .filter(|e| e.event.asset.locator == root)
            .take(200)
            .map(|e| {
                // Every guard kind's details begin with the same fields;
                // only two kinds name a quarantine entry.
                let d: Option<guard_events::Change> = decode(&e.event.details).ok();
                serde_json::json!({
                    "time": fmt_time(e.event.time),
                    "kind": e.event.kind,
                    "severity": e.event.severity.as_str(),
                    "severity_label": e.event.severity.label(&auth.lang),
                    "summary": e.event.summary,
                    "path": d.as_ref().map(|d| &d.path),
                    "latency_ms": d.as_ref().map(|d| d.latency_ms),
                    "quarantine_id": guard_events::quarantine_id(&e.event.kind, &e.event.details),
                })
            })
            .collect();
        let quarantine = b
            .quarantine
            .list()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let quarantine: Vec<_> = quarantine
            .iter()
            .rev()
            .take(200)
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "path": r.path, "reason": r.reason, "kind": r.kind, "size": r.size,
                    "time": fmt_time(r.quarantined_at), "blake3": r.blake3,
                })
            })
            .collect();
        let charts = restore_charts(&state, &root, &auth.lang).await?;
        let files = b
            .manifest
            .entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .count();
        Ok(state.renderer.page(
            "guard_root.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "guard",
                "root": root,
                "files": files,
                "sealed_at": fmt_time(b.sealed_at()),
                "paused_until": b.paused_until().map(fmt_time),
                "state": state_view(&b),
                "excludes": b.manifest.excludes,
                "writables": b.manifest.writables,
                "events": events,
                "charts": charts,
                "quarantine": quarantine,
                "done": q.done.is_some(),
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

/// Restores per day on one root and how long they took (average and
/// longest per day), counted in the database from the guard events'
/// contract (`LATENCY_KINDS`, `LATENCY_FIELD`).
async fn restore_charts(state: &AppState, root: &str, lang: &str) -> Result<[String; 2], AppError> {
    use super::chart::{self, Chart, Series, Shape};
    use crate::i18n::tr;
    let (range, days) = chart::last_days(chrono::Utc::now());
    let query = shouwang_store::DayQuery {
        range,
        kinds: guard_events::LATENCY_KINDS.map(str::to_string).to_vec(),
        asset: Some(shouwang_model::AssetRef::new(
            shouwang_model::AssetKind::WebRoot,
            root,
        )),
        number_field: Some(guard_events::LATENCY_FIELD.into()),
        utc_offset_secs: chart::day_offset(),
    };
    let rows = state.db(move |s| s.event_days(&query)).await?;
    let labels: Vec<String> = days.iter().map(|d| chart::day_label(*d)).collect();
    let per_kind = guard_events::LATENCY_KINDS
        .iter()
        .map(|k| Series {
            label: shouwang_model::events::kind_label(k)
                .map(|t| t.get(lang).to_string())
                .unwrap_or_else(|| k.to_string()),
            class: String::new(),
            values: chart::per_day(
                &days,
                rows.iter()
                    .filter(|r| r.kind == *k)
                    .map(|r| (r.day, r.count as f64)),
            ),
        })
        .collect();
    let restores = Chart {
        title: tr(lang, "chart.guard_restores").into(),
        labels: labels.clone(),
        series: chart::palette(per_kind, ""),
        shape: Shape::Stacked,
        min_top: 0.0,
    };
    // Both kinds' latencies are restores: one average and one longest a day.
    let sums = chart::per_day(&days, rows.iter().map(|r| (r.day, r.sum.unwrap_or(0.0))));
    let numbers = chart::per_day(&days, rows.iter().map(|r| (r.day, r.numbers as f64)));
    let avg = sums
        .iter()
        .zip(&numbers)
        .map(|(s, n)| match (s, n) {
            (Some(s), Some(n)) if *n > 0.0 => Some(s / n),
            _ => None,
        })
        .collect();
    let max = days
        .iter()
        .map(|d| {
            rows.iter()
                .filter(|r| r.day == *d)
                .filter_map(|r| r.max)
                .reduce(f64::max)
        })
        .collect();
    let latency = Chart {
        title: tr(lang, "chart.guard_latency").into(),
        labels,
        series: chart::palette(
            vec![
                Series {
                    label: tr(lang, "chart.avg").into(),
                    class: String::new(),
                    values: avg,
                },
                Series {
                    label: tr(lang, "chart.max").into(),
                    class: String::new(),
                    values: max,
                },
            ],
            "",
        ),
        shape: Shape::Lines,
        min_top: 0.0,
    };
    Ok([restores.render(lang), latency.render(lang)])
}

#[derive(Deserialize)]
pub(crate) struct DiffQuery {
    root: String,
    id: String,
}

/// The tampered version kept in quarantine against the sealed one.
pub(crate) async fn diff(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<DiffQuery>,
) -> Response {
    let r = async {
        let b = baseline(&state, q.root.clone()).await?;
        let (record, sealed, tampered) = super::blocking(move || {
            let record = b.quarantine.get(&q.id).map_err(|_| AppError::NotFound)?;
            let read_limited = |bytes: Vec<u8>| -> Option<String> {
                (bytes.len() <= MAX_DIFF_BYTES)
                    .then(|| String::from_utf8(bytes).ok())
                    .flatten()
            };
            // Neither side is read past what the page would show.
            let sealed = b
                .manifest
                .get(record.path.as_bytes())
                .filter(|e| e.size <= MAX_DIFF_BYTES as u64)
                .and_then(|e| Some((e.hash?, e.size)))
                .and_then(|(h, size)| b.objects.read_verified(&h, size).ok())
                .and_then(read_limited);
            let tampered = Some(&record)
                .filter(|r| r.kind == "file")
                .and_then(|r| b.quarantine.read_prefix(&r.id, MAX_DIFF_BYTES + 1).ok())
                .and_then(read_limited);
            Ok::<_, AppError>((record, sealed, tampered))
        })
        .await??;
        let lines: Vec<serde_json::Value> = match (&sealed, &tampered) {
            (Some(a), Some(b)) => similar::TextDiff::from_lines(a, b)
                .iter_all_changes()
                .map(|c| {
                    let tag = match c.tag() {
                        similar::ChangeTag::Delete => "del",
                        similar::ChangeTag::Insert => "ins",
                        similar::ChangeTag::Equal => "eq",
                    };
                    serde_json::json!({ "tag": tag, "text": c.value().trim_end_matches('\n') })
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(state.renderer.page(
            "guard_diff.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "guard",
                "root": q.root,
                "record": record,
                "lines": lines,
                "text": sealed.is_some() && tampered.is_some(),
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

#[derive(Deserialize)]
pub(crate) struct PublishForm {
    root: String,
    path: String,
}

/// An operator approves a change: its current state joins the baseline.
pub(crate) async fn publish(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<PublishForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let g = guard_dir(&state)?;
        let root = f.root.clone();
        let path = f.path.trim().trim_start_matches('/').to_string();
        if path.is_empty() || path.split('/').any(|c| c == "..") {
            return Err(AppError::BadRequest(
                "give a path inside the web root, such as news/2026/notice.html".into(),
            ));
        }
        let (root2, path2) = (root.clone(), path.clone());
        let published = super::blocking(move || {
            g.publish(
                std::path::Path::new(&root2),
                &[std::path::PathBuf::from(path2)],
            )
        })
        .await?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
        state
            .audit(NewAuditEntry::new(
                auth.actor(),
                "guard.publish",
                root.clone(),
                serde_json::json!({ "paths": published }),
            ))
            .await?;
        let target = format!(
            "/guard/view?{}",
            serde_urlencoded::to_string([("root", root.as_str()), ("done", "1")])
                .unwrap_or_default()
        );
        Ok(Redirect::to(&target).into_response())
    }
    .await;
    respond(&state, &auth, r)
}

/// The guard's part of `/metrics`: for each sealed root, whether the
/// watcher's last reconciliation found it as sealed, how many paths differ
/// and for how long the oldest has. A root no watcher checked lately is
/// not converged.
pub(crate) async fn metrics(state: &AppState) -> String {
    use std::fmt::Write;
    let Some(dir) = state.config.data_dir.clone() else {
        return String::new();
    };
    let rows = super::blocking(move || {
        let Ok(g) = GuardDir::open(&dir) else {
            return Vec::new();
        };
        g.baselines()
            .into_iter()
            .map(|b| match b {
                Ok(b) => (
                    b.root.display().to_string(),
                    state_view(&b),
                    RootState::read(&b.dir),
                ),
                Err(shouwang_guard::GuardError::BaselineTampered { path, .. }) => (
                    path.display().to_string(),
                    StateView {
                        condition: "baseline-broken",
                        ..Default::default()
                    },
                    None,
                ),
                Err(e) => (
                    e.to_string(),
                    StateView {
                        condition: "baseline-broken",
                        ..Default::default()
                    },
                    None,
                ),
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let now = chrono::Utc::now();
    let _ = writeln!(
        out,
        "# HELP shouwang_guard_root_converged 1 when the watcher's last reconciliation found the web root as sealed; 0 when paths differ, the root is displaced, its baseline is broken, it was sealed moments ago (condition starting), or no watcher checked it lately.\n# TYPE shouwang_guard_root_converged gauge"
    );
    for (root, v, _) in &rows {
        let _ = writeln!(
            out,
            "shouwang_guard_root_converged{{root=\"{}\",condition=\"{}\"}} {}",
            super::api::escape_label(root),
            v.condition,
            u8::from(v.condition == "converged")
        );
    }
    let _ = writeln!(
        out,
        "# HELP shouwang_guard_root_differing_paths Paths of the web root that differ from its baseline.\n# TYPE shouwang_guard_root_differing_paths gauge"
    );
    for (root, v, _) in &rows {
        let _ = writeln!(
            out,
            "shouwang_guard_root_differing_paths{{root=\"{}\"}} {}",
            super::api::escape_label(root),
            v.differing
        );
    }
    let _ = writeln!(
        out,
        "# HELP shouwang_guard_root_oldest_difference_seconds How long the path that has differed longest has differed (0 when none does).\n# TYPE shouwang_guard_root_oldest_difference_seconds gauge"
    );
    for (root, v, s) in &rows {
        let age = match (v.condition, s.as_ref().and_then(|s| s.oldest_since)) {
            ("differs" | "displaced", Some(since)) => (now - since).num_seconds().max(0),
            _ => 0,
        };
        let _ = writeln!(
            out,
            "shouwang_guard_root_oldest_difference_seconds{{root=\"{}\"}} {age}",
            super::api::escape_label(root)
        );
    }
    out
}

/// 添加网站目录: the form's root and patterns (one per line).
#[derive(Deserialize)]
pub(crate) struct AddRootForm {
    root: String,
    #[serde(default)]
    writables: String,
    #[serde(default)]
    excludes: String,
}

fn patterns(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(100)
        .map(str::to_string)
        .collect()
}

/// The root a person asked for, if it may be sealed from the console: an
/// existing directory given by its absolute path, not `/`, not inside (or
/// holding) the data dir, and not sealed already.
fn root_to_add(
    state: &AppState,
    g: &GuardDir,
    typed: &str,
    lang: &str,
) -> Result<std::path::PathBuf, AppError> {
    let bad = || AppError::BadRequest(crate::i18n::tr(lang, "guard.err.path").to_string());
    let path = std::path::Path::new(typed.trim());
    if !path.is_absolute() {
        return Err(bad());
    }
    let root = std::fs::canonicalize(path).map_err(|_| bad())?;
    let data = state
        .config
        .data_dir
        .as_ref()
        .and_then(|d| std::fs::canonicalize(d).ok());
    if !root.is_dir()
        || root.parent().is_none()
        || data.is_some_and(|d| d.starts_with(&root) || root.starts_with(&d))
    {
        return Err(bad());
    }
    // Sealed already (its manifest is there; not read, however large).
    if g.dir_of(&root).is_ok_and(|d| d.join("manifest").exists()) {
        return Err(AppError::BadRequest(
            crate::i18n::tr(lang, "guard.err.sealed").to_string(),
        ));
    }
    Ok(root)
}

pub(crate) async fn preview(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<AddRootForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let g = guard_dir(&state)?;
        let root = root_to_add(&state, &g, &f.root, &auth.lang)?;
        let (writables, excludes) = (patterns(&f.writables), patterns(&f.excludes));
        let (w, e, at) = (writables.clone(), excludes.clone(), root.clone());
        let p = super::blocking(move || shouwang_guard::preview::preview(&at, &e, &w))
            .await?
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mb = format!("{:.1}", p.sealed_bytes as f64 / 1_048_576.0);
        Ok(state.renderer.page(
            "guard_add.html",
            &auth.lang,
            Some(&auth),
            serde_json::json!({
                "nav": "guard", "root": root.display().to_string(), "p": p, "mb": mb,
                "writables": writables, "excludes": excludes,
            }),
        ))
    }
    .await;
    respond(&state, &auth, r)
}

pub(crate) async fn seal(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<AddRootForm>,
) -> Response {
    let r = async {
        auth.require_admin()?;
        let g = guard_dir(&state)?;
        let root = root_to_add(&state, &g, &f.root, &auth.lang)?;
        let req = shouwang_guard::SealRequest {
            excludes: Some(patterns(&f.excludes)),
            writables: Some(patterns(&f.writables)),
            accept: false,
            progress: None,
        };
        let (store, actor, at) = (state.store.clone(), auth.actor(), root.clone());
        super::blocking(move || {
            shouwang_guard::actions::seal(&g, store.as_ref(), &actor, &at, &req)
        })
        .await?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let q =
            serde_urlencoded::to_string([("root", root.display().to_string())]).unwrap_or_default();
        Ok(Redirect::to(&format!("/guard/view?{q}")).into_response())
    }
    .await;
    respond(&state, &auth, r)
}
