//! 网站巡查 from the console: add a site, take one off the list, and
//! 立即巡查 (inspect now) with its progress on the site's page.
//!
//! An inspection started here runs in the console's process as the
//! schedule's do in `up` (`shouwang_site::inspect`, recorded by
//! `runtime::record_run`), so its findings, event and snapshot are the same
//! as a scheduled run's. At most one runs per site, and at most
//! `[site] concurrent_sites` at once: a person pressing the button again
//! is told it is running, never starts a second crawl. The registry keeps
//! each site's last outcome until the next start; it lives as long as the
//! console does (a restart forgets a running job, whose crawl ends with
//! it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{AssetKind, AssetRef};
use shouwang_site::InspectOptions;
use shouwang_site::progress::{Progress, Snapshot};
use shouwang_site::runtime::{self, Target};
use shouwang_store::NewAuditEntry;

use super::{AppError, AppState, Auth};

/// What became of the last inspection started here, per site.
#[derive(Default)]
pub(crate) struct SiteJobs {
    jobs: Mutex<HashMap<String, Job>>,
}

enum Job {
    Running {
        started: DateTime<Utc>,
        by: String,
        progress: Arc<Progress>,
    },
    Done {
        finished: DateTime<Utc>,
        pages: usize,
        findings: usize,
    },
    Failed {
        finished: DateTime<Utc>,
        error: String,
    },
}

/// A job as the site's page shows it.
#[derive(Debug, Serialize)]
pub(crate) struct JobView {
    pub running: bool,
    pub failed: bool,
    /// What it is doing, or what it found.
    pub line: String,
    /// When it started (running) or ended, Beijing time.
    pub time: String,
    pub by: String,
}

/// Why an inspection was not started.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Running,
    Busy,
}

impl SiteJobs {
    /// Register a new inspection of `site`, unless one is running or
    /// `limit` are.
    fn start(&self, site: &str, by: &str, limit: usize) -> Result<Arc<Progress>, Refused> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let running = |j: &Job| matches!(j, Job::Running { .. });
        if jobs.get(site).is_some_and(running) {
            return Err(Refused::Running);
        }
        if jobs.values().filter(|j| running(j)).count() >= limit.max(1) {
            return Err(Refused::Busy);
        }
        let progress = Arc::new(Progress::default());
        jobs.insert(
            site.to_string(),
            Job::Running {
                started: Utc::now(),
                by: by.to_string(),
                progress: progress.clone(),
            },
        );
        Ok(progress)
    }

    fn finish(&self, site: &str, outcome: Result<(usize, usize), String>) {
        let finished = Utc::now();
        let job = match outcome {
            Ok((pages, findings)) => Job::Done {
                finished,
                pages,
                findings,
            },
            Err(error) => Job::Failed { finished, error },
        };
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(site.to_string(), job);
    }

    pub(crate) fn view(&self, site: &str, lang: &str) -> Option<JobView> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let zh = lang != "en";
        Some(match jobs.get(site)? {
            Job::Running {
                started,
                by,
                progress,
            } => JobView {
                running: true,
                failed: false,
                line: line(progress.snapshot(), zh),
                time: super::pages::fmt_time(*started),
                by: by.clone(),
            },
            Job::Done {
                finished,
                pages,
                findings,
            } => JobView {
                running: false,
                failed: false,
                line: if zh {
                    format!("巡查完成：抓取 {pages} 页，发现问题 {findings} 个")
                } else {
                    format!("Inspected: {pages} pages, {findings} findings")
                },
                time: super::pages::fmt_time(*finished),
                by: String::new(),
            },
            Job::Failed { finished, error } => JobView {
                running: false,
                failed: true,
                line: if zh {
                    format!("巡查未能完成：{error}")
                } else {
                    format!("The inspection failed: {error}")
                },
                time: super::pages::fmt_time(*finished),
                by: String::new(),
            },
        })
    }
}

fn line(s: Snapshot, zh: bool) -> String {
    if zh {
        s.line_zh()
    } else {
        format!(
            "{:?}: {} pages, {}/{} references checked",
            s.phase, s.pages, s.refs_done, s.refs_total
        )
    }
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    url: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    own: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct SiteForm {
    url: String,
}

/// The page of `site`, where the outcome shows.
fn to_site(site: &str) -> Response {
    let q = serde_urlencoded::to_string([("url", site)]).unwrap_or_default();
    Redirect::to(&format!("/sites/view?{q}")).into_response()
}

pub(crate) async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<AddForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        // Normalised as `site add` does, so one site is one asset.
        let url = InspectOptions::parse_url(&f.url)
            .map_err(|e| AppError::BadRequest(bad_url(&auth.lang, &f.url, &e.to_string())))?;
        let site = url.to_string();
        let (actor, name, own) = (auth.actor(), f.name.trim().to_string(), f.own.is_some());
        let added = site.clone();
        state
            .db(move |s| runtime::add_site(s, &added, &name, own, &actor, Some("console")))
            .await?;
        Ok(to_site(&site))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

fn bad_url(lang: &str, input: &str, why: &str) -> String {
    if lang == "en" {
        format!("not a website address: {input} ({why})")
    } else {
        format!(
            "“{input}”不是有效的网站地址，请填写如 www.example.gov.cn 或 https://www.example.gov.cn/"
        )
    }
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<SiteForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let asset = AssetRef::new(AssetKind::Website, f.url.clone());
        let actor = auth.actor();
        let listed = state
            .db(move |s| {
                s.audited(|tx| {
                    if !tx.delete_asset(&asset)? {
                        return Ok(false);
                    }
                    // Its findings and past runs stay: they are the record.
                    tx.audit(&NewAuditEntry::new(
                        &actor,
                        "site.remove",
                        &asset.locator,
                        serde_json::Value::Null,
                    ))?;
                    Ok(true)
                })
            })
            .await?;
        if !listed {
            return Err(AppError::NotFound);
        }
        Ok(Redirect::to("/sites").into_response())
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

pub(crate) async fn inspect(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<SiteForm>,
) -> Response {
    let r = async {
        auth.require_operator()?;
        let asset = AssetRef::new(AssetKind::Website, f.url.clone());
        let known = {
            let asset = asset.clone();
            state
                .db(move |s| Ok(s.assets()?.into_iter().find(|a| a.id == asset)))
                .await?
        };
        let Some(known) = known else {
            return Err(AppError::NotFound);
        };
        let url = InspectOptions::parse_url(&f.url)
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let site_config = &state.config.site;
        let dictionary = Arc::new(
            site_config
                .dictionary()
                .map_err(|e| AppError::Internal(e.to_string()))?,
        );
        let progress = match state
            .site_jobs
            .start(&f.url, &auth.user.name, site_config.concurrent_sites)
        {
            Ok(p) => p,
            // Running already: the page shows how far it has got.
            Err(Refused::Running) => return Ok(to_site(&f.url)),
            Err(Refused::Busy) => {
                return Err(AppError::BadRequest(if auth.lang == "en" {
                    "as many inspections as [site] concurrent_sites allows are running; try again when one ends".into()
                } else {
                    "同时进行的巡查已达上限，请等一个巡查结束后再试".into()
                }));
            }
        };
        state
            .audit(NewAuditEntry::new(
                auth.actor(),
                "site.inspect",
                f.url.clone(),
                serde_json::Value::Null,
            ))
            .await?;
        let target = Target {
            url: url.clone(),
            name: (!known.name.is_empty()).then(|| known.name.clone()),
            own: runtime::own_flag(&known),
        };
        let mut opts = site_config.options(url, dictionary.clone());
        opts.name = target.name.clone();
        opts.own_site = target.own;
        opts.progress = progress;
        let jobs_state = state.clone();
        let site = f.url.clone();
        tokio::spawn(async move {
            let outcome = run(&jobs_state, opts, target, dictionary).await;
            jobs_state.site_jobs.finish(&site, outcome);
        });
        Ok(to_site(&f.url))
    }
    .await;
    super::pages::respond(&state, &auth, r)
}

/// One inspection, recorded; (pages, findings) or why it failed.
async fn run(
    state: &AppState,
    opts: InspectOptions,
    target: Target,
    dictionary: Arc<shouwang_site::Dictionary>,
) -> Result<(usize, usize), String> {
    let mut report = shouwang_site::inspect(opts)
        .await
        .map_err(|e| e.to_string())?;
    let snapshots = state
        .config
        .data_dir
        .as_ref()
        .map(|d| d.join("site-snapshots"));
    let store = state.store.clone();
    shouwang_store::try_blocking(move || {
        match &snapshots {
            Some(dir) => {
                runtime::record_run(store.as_ref(), dir, &mut report, &target, None, &dictionary)?
            }
            None => runtime::save(store.as_ref(), &report, &target, None)?,
        }
        Ok::<_, shouwang_site::SiteError>((report.pages, report.findings.len()))
    })
    .await
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_inspection_per_site_and_no_more_than_the_limit() {
        let jobs = SiteJobs::default();
        assert!(jobs.start("http://a/", "admin", 2).is_ok());
        assert_eq!(
            jobs.start("http://a/", "admin", 2).unwrap_err(),
            Refused::Running
        );
        assert!(jobs.start("http://b/", "admin", 2).is_ok());
        assert_eq!(
            jobs.start("http://c/", "admin", 2).unwrap_err(),
            Refused::Busy
        );
        jobs.finish("http://a/", Ok((12, 3)));
        assert!(jobs.start("http://c/", "admin", 2).is_ok());
        let v = jobs.view("http://a/", "zh").unwrap();
        assert!(!v.running && v.line.contains("抓取 12 页") && v.line.contains("3 个"));
        assert!(jobs.view("http://c/", "zh").unwrap().running);
        assert!(jobs.view("http://d/", "zh").is_none());
    }
}
