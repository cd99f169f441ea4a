//! Host runs kept and recorded.
//!
//! A run is kept whole as a JSON file under the data dir
//! (`host-runs/<host>/<time>-<profile>.json`) for `host diff` and reports:
//! every rule's verdict and evidence, passes included, which would bloat
//! the event table. The store gets the failed checks as findings, the
//! findings of checks that now pass marked resolved, and one
//! `host.check.completed` event with the scores and the run file's path.

use std::path::{Path, PathBuf};

use serde_json::json;
use shouwang_model::{Asset, NewEvent, Provenance, Severity};
use shouwang_store::{RunScope, Store, StoreError};

use crate::engine::{self, Run, Verdict};

/// What can go wrong keeping or recording a run; each names the file or
/// the step, the cause follows as the source.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error("cannot create {}", dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the run {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a host check run file", path.display())]
    NotARun {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("no runs of {host} in {}: run `shouwang host check` first", dir.display())]
    NoRuns {
        host: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds {found} run(s) of {host}; `host diff` needs two (or name two run files)", dir.display())]
    OneRun {
        host: String,
        dir: PathBuf,
        found: usize,
    },
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    #[error("cannot {step}")]
    Store {
        step: &'static str,
        #[source]
        source: StoreError,
    },
}

fn store_step(step: &'static str) -> impl FnOnce(StoreError) -> RunsError {
    move |source| RunsError::Store { step, source }
}

/// Where a host's runs are kept.
pub fn dir(data_dir: &Path, host: &str) -> PathBuf {
    // A host name is a single path component; anything else is replaced.
    let safe: String = host
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir
        .join("host-runs")
        .join(safe.trim_start_matches('.'))
}

/// Writes the run whole under its host's directory; returns the file.
pub fn save(data_dir: &Path, run: &Run) -> Result<PathBuf, RunsError> {
    let dir = dir(data_dir, &run.host);
    std::fs::create_dir_all(&dir).map_err(|source| RunsError::CreateDir {
        dir: dir.clone(),
        source,
    })?;
    let name = format!(
        "{}-{}.json",
        run.started_at.format("%Y%m%dT%H%M%S%.3fZ"),
        run.profile
    );
    let path = dir.join(name);
    let text = serde_json::to_vec_pretty(run)?;
    std::fs::write(&path, text).map_err(|source| RunsError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// The files of a host's last two runs, earlier first (file names start
/// with the run's start time, so they sort in time order).
pub fn last_two(data_dir: &Path, host: &str) -> Result<(PathBuf, PathBuf), RunsError> {
    let dir = dir(data_dir, host);
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|source| RunsError::NoRuns {
            host: host.to_string(),
            dir: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    runs.sort();
    match (runs.pop(), runs.pop()) {
        (Some(b), Some(a)) => Ok((a, b)),
        (b, _) => Err(RunsError::OneRun {
            host: host.to_string(),
            dir,
            found: usize::from(b.is_some()),
        }),
    }
}

/// Reads a run file written by [`save`].
pub fn load(path: &Path) -> Result<Run, RunsError> {
    let text = std::fs::read(path).map_err(|source| RunsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| RunsError::NotARun {
        path: path.to_path_buf(),
        source,
    })
}

/// Findings for the failures, resolve those that now pass, one event.
/// Returns how many findings were resolved.
pub fn record(store: &dyn Store, run: &Run, file: &Path) -> Result<usize, RunsError> {
    store
        .upsert_asset(&Asset {
            id: run.asset(),
            name: run.host.clone(),
            details: json!({
                "os": run.os,
                "root": run.root,
                "last_check": run.started_at,
                "profile": run.profile,
                "score": run.overall.score,
            }),
        })
        .map_err(store_step("record the host as an asset"))?;
    let findings = run.findings();
    store
        .record_findings(&findings)
        .map_err(store_step("record the findings"))?;
    // A rule that could not be checked says nothing: only the findings
    // of rules that now pass are resolved.
    let passed = run
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .map(|r| r.id.clone())
        .collect();
    let seen = findings.iter().map(|f| f.fingerprint()).collect();
    let resolved = shouwang_store::resolve_not_seen(
        store,
        "sensor:host",
        &RunScope {
            sensor: engine::SENSOR.into(),
            asset: run.asset(),
            checks: Some(passed),
        },
        &seen,
        json!({ "file": file.display().to_string() }),
    )
    .map_err(store_step("resolve the findings of rules that now pass"))?
    .len();
    let fail = run.count(Verdict::Fail);
    let worst = run
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.severity)
        .max()
        .unwrap_or(Severity::Info);
    let mut provenance = Provenance::now(
        engine::SENSOR,
        format!("profile:{}", run.profile),
        &run.root,
    );
    provenance.observed_at = run.started_at;
    store
        .record_events(&[NewEvent {
            time: run.started_at,
            kind: crate::events::CHECK_COMPLETED.into(),
            asset: run.asset(),
            severity: worst,
            summary: format!(
                "主机自查（{}）：得分 {:.1}，不符合 {fail} 项，无法检查 {} 项",
                run.profile,
                run.overall.score,
                run.count(Verdict::CannotCheck)
            ),
            details: serde_json::to_value(crate::events::CheckCompleted {
                profile: run.profile.clone(),
                score: Some(run.overall.score),
                pass: run.count(Verdict::Pass) as u64,
                fail: fail as u64,
                cannot_check: run.count(Verdict::CannotCheck) as u64,
                resolved: resolved as u64,
                run_file: file.display().to_string(),
                duration_ms: run.duration_ms,
            })?,
            provenance,
        }])
        .map_err(store_step("record the event"))?;
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_with_slashes_or_leading_dots_stays_one_directory_under_host_runs() {
        let d = dir(Path::new("/data"), "../../etc/x y");
        assert_eq!(d, Path::new("/data/host-runs/_.._etc_x_y"));
    }

    #[test]
    fn a_file_that_is_not_a_run_is_named_in_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.json");
        std::fs::write(&path, b"{\"no\": 1}").unwrap();
        let e = load(&path).unwrap_err();
        assert!(matches!(e, RunsError::NotARun { .. }), "{e}");
        assert!(e.to_string().contains("x.json"), "{e}");
    }
}
