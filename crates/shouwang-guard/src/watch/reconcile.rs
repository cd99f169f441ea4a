//! Convergence: the watcher does not trust that every event led to a good
//! restore. A restore that failed (a pack object unreadable, a directory
//! swapped for a symlink at the wrong moment, a full disk) is tried again
//! with backoff, and a periodic reconciliation compares the whole root with
//! its baseline (metadata first: content is read only where the metadata
//! differs, and in full once an hour) and fixes what differs, so the root
//! converges to its baseline even when events were lost, raced or failed.
//! Each pass writes the root's [`RootState`]: converged, or how many paths
//! still differ and which has differed longest.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{AlarmKind, Guarded, Message, Notice, alarm, fix_and_report};
use crate::GuardDir;
use crate::diff::{self, ChangeKind};
use crate::state::{Condition, RootState};

/// The first retry of a failed restore comes this soon; each failure
/// doubles the wait up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// While paths differ, the next pass comes soon after this one.
const AGAIN_SOON: Duration = Duration::from_millis(250);
/// A pass that hashes every file, for changes that kept size and mtime.
const FULL_EVERY: Duration = Duration::from_secs(3600);

/// A restore that failed and waits to be tried again.
#[derive(Debug, Clone)]
pub(super) struct Retry {
    due: Instant,
    delay: Duration,
    error: String,
    since: DateTime<Utc>,
}

/// The failed restores of one root, by path.
#[derive(Debug, Default)]
pub(super) struct Retries(BTreeMap<Vec<u8>, Retry>);

impl Retries {
    /// Note how fixing `rel` went. Returns whether it is worth reporting: a
    /// failure that repeats the last one for the same path is not (one
    /// event when it fails, one when it is finally put back).
    pub(super) fn note(&mut self, rel: &[u8], outcome: &Result<crate::Outcome, String>) -> bool {
        match outcome {
            Ok(_) => {
                self.0.remove(rel);
                true
            }
            Err(e) => {
                let now = Instant::now();
                match self.0.get_mut(rel) {
                    Some(r) => {
                        r.delay = (r.delay * 2).min(RETRY_MAX);
                        r.due = now + r.delay;
                        let repeat = r.error == *e;
                        r.error = e.clone();
                        !repeat
                    }
                    None => {
                        self.0.insert(
                            rel.to_vec(),
                            Retry {
                                due: now + RETRY_FIRST,
                                delay: RETRY_FIRST,
                                error: e.clone(),
                                since: Utc::now(),
                            },
                        );
                        true
                    }
                }
            }
        }
    }

    fn due(&self, now: Instant) -> Vec<Vec<u8>> {
        self.0
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(p, _)| p.clone())
            .collect()
    }
}

/// The bookkeeping of reconciliation for one root.
pub(super) struct Reconciling {
    pub(super) retries: std::cell::RefCell<Retries>,
    /// Paths the last pass found differing, and since when they have.
    unresolved: BTreeMap<Vec<u8>, DateTime<Utc>>,
    next: Instant,
    last_full: Instant,
}

impl Reconciling {
    pub(super) fn new() -> Reconciling {
        Reconciling {
            retries: Default::default(),
            unresolved: BTreeMap::new(),
            // The first pass right after the start confirms the repair.
            next: Instant::now(),
            last_full: Instant::now(),
        }
    }

    /// Ask for a pass soon (the root came back, a window closed).
    pub(super) fn soon(&mut self) {
        self.next = Instant::now();
    }
}

/// Between passes: about 50,000 paths walked and stat'ed a second on one
/// core, so at most a tenth of the time goes to walking; 2 s at least.
fn interval(entries: usize) -> Duration {
    Duration::from_secs((entries as u64 / 5_000).max(2))
}

/// Retry what is due and run the passes that are due, for every root.
pub(super) fn tick(guarded: &mut [Guarded], tx: &Sender<Message>) {
    let now = Instant::now();
    for g in guarded.iter_mut() {
        if !g.paused && !g.displaced {
            let due = g.rec.retries.borrow().due(now);
            for rel in due {
                fix_and_report(g, &rel, now, tx);
            }
        }
        if now >= g.rec.next {
            pass(g, tx);
        }
    }
}

/// One reconciliation of a root: compare, fix, and write down where it
/// stands.
fn pass(g: &mut Guarded, tx: &Sender<Message>) {
    let t0 = Instant::now();
    let every = interval(g.baseline.manifest.entries.len());
    let (condition, detail) = if g.paused {
        (Condition::Paused, None)
    } else if g.displaced {
        (Condition::Displaced, g.displaced_why.clone())
    } else {
        let full = g.rec.last_full.elapsed() >= FULL_EVERY;
        match compare_and_fix(g, t0, full, tx) {
            Ok(()) => {
                if full {
                    g.rec.last_full = t0;
                }
                let c = if g.rec.unresolved.is_empty() {
                    Condition::Converged
                } else {
                    Condition::Differs
                };
                (c, None)
            }
            Err(e) => {
                let _ = tx.send(Message::Notice(Notice::Error(format!(
                    "reconciling {} failed: {e}",
                    g.baseline.root.display()
                ))));
                (Condition::Differs, Some(e))
            }
        }
    };
    // Restores go on from the baseline authenticated at load, but the one
    // on disk is not to be trusted: that is not "converged".
    let (condition, detail) = match (&g.baseline_broken, condition) {
        (Some(why), Condition::Converged | Condition::Differs) => {
            (Condition::BaselineBroken, Some(why.clone()))
        }
        _ => (condition, detail),
    };
    g.rec.next = if condition == Condition::Differs {
        // Again soon, but never spending more than a third of the time.
        Instant::now() + AGAIN_SOON.max(t0.elapsed() * 2).min(every)
    } else {
        Instant::now() + every
    };
    let now = Utc::now();
    let oldest = g.rec.unresolved.iter().min_by_key(|(_, since)| **since);
    let state = RootState {
        root: g.baseline.root.display().to_string(),
        condition,
        differing: if condition == Condition::Displaced {
            g.baseline.manifest.entries.len()
        } else {
            g.rec.unresolved.len()
        },
        oldest_path: oldest.map(|(p, _)| display(p)),
        oldest_since: oldest.map(|(_, s)| *s),
        detail,
        checked_at: now,
        next_check_by: now + chrono::Duration::from_std(every).unwrap_or_default(),
    };
    if let Err(e) = state.write(&g.baseline.dir) {
        tracing::warn!(dir = %g.baseline.dir.display(), "cannot write the guard state: {e}");
    }
}

/// A root whose baseline failed its check at the start: nothing to guard
/// it with until it is sealed again, which is watched for.
pub(super) struct Broken {
    root: PathBuf,
    dir: PathBuf,
    why: String,
    manifest_mtime: Option<SystemTime>,
    next: Instant,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Broken {
    /// Note a broken baseline and raise its alarm.
    pub(super) fn new(
        dir: PathBuf,
        root: &Path,
        manifest: PathBuf,
        why: String,
        tx: &Sender<Message>,
    ) -> Broken {
        alarm(
            tx,
            root,
            AlarmKind::BaselineTampered {
                manifest,
                why: why.clone(),
            },
        );
        Broken {
            root: root.to_path_buf(),
            manifest_mtime: mtime(&dir.join("manifest")),
            dir,
            why,
            next: Instant::now(),
        }
    }
}

/// Keep the state of broken roots fresh, and take a root on again once its
/// baseline is sealed anew (and passes its check).
pub(super) fn tick_broken(
    guard: &GuardDir,
    broken: &mut Vec<Broken>,
    guarded: &mut Vec<Guarded>,
    tx: &Sender<Message>,
) {
    let now = Instant::now();
    let mut i = 0;
    while i < broken.len() {
        let b = &mut broken[i];
        if now < b.next {
            i += 1;
            continue;
        }
        b.next = now + interval(0);
        let m = mtime(&b.dir.join("manifest"));
        if m != b.manifest_mtime {
            b.manifest_mtime = m;
            match guard.baseline(&b.root) {
                Ok(baseline) => {
                    let _ = baseline.objects.load_index();
                    let safe = crate::SafeRoot::open(&baseline.root).ok();
                    guarded.push(Guarded {
                        manifest_mtime: m,
                        paused: baseline.paused_until().is_some(),
                        paused_checked: Instant::now(),
                        displaced: false,
                        displaced_why: None,
                        baseline_broken: None,
                        rec: Reconciling::new(),
                        baseline,
                        safe,
                    });
                    let _ = tx.send(Message::Notice(Notice::Reloaded {
                        root: broken.remove(i).root,
                    }));
                    continue;
                }
                Err(crate::GuardError::BaselineTampered { path, why }) => {
                    b.why = why.clone();
                    alarm(
                        tx,
                        &b.root,
                        AlarmKind::BaselineTampered {
                            manifest: path,
                            why,
                        },
                    );
                }
                Err(e) => b.why = e.to_string(),
            }
        }
        let at = Utc::now();
        let state = RootState {
            root: b.root.display().to_string(),
            condition: Condition::BaselineBroken,
            differing: 0,
            oldest_path: None,
            oldest_since: None,
            detail: Some(b.why.clone()),
            checked_at: at,
            next_check_by: at + chrono::Duration::from_std(interval(0)).unwrap_or_default(),
        };
        if let Err(e) = state.write(&b.dir) {
            tracing::warn!(dir = %b.dir.display(), "cannot write the guard state: {e}");
        }
        i += 1;
    }
}

fn display(rel: &[u8]) -> String {
    if rel.is_empty() {
        ".".into()
    } else {
        String::from_utf8_lossy(rel).into_owned()
    }
}

/// Compare the root with its baseline, fix every difference, and keep the
/// paths that differed (and those whose restore still fails) as
/// unresolved: only a pass that finds nothing to fix says converged.
fn compare_and_fix(
    g: &mut Guarded,
    t0: Instant,
    full: bool,
    tx: &Sender<Message>,
) -> Result<(), String> {
    let b = &g.baseline;
    let found = if full {
        diff::diff_tree(&b.manifest.entries, &b.root, &b.filters)
    } else {
        diff::diff_tree_quick(&b.manifest.entries, &b.root, &b.filters)
    }
    .map_err(|e| e.to_string())?;
    let now = Utc::now();
    let mut unresolved = BTreeMap::new();
    for c in &found.changes {
        if c.kind == ChangeKind::WritableAdded {
            continue;
        }
        fix_and_report(g, c.path(), t0, tx);
        let since = g.rec.unresolved.get(c.path()).copied().unwrap_or(now);
        unresolved.insert(c.path().to_vec(), since);
    }
    // A path that could not be read is not known to be as sealed.
    for (p, _) in &found.errors {
        let rel = p
            .strip_prefix(&b.root)
            .map(|r| std::os::unix::ffi::OsStrExt::as_bytes(r.as_os_str()).to_vec())
            .unwrap_or_default();
        let since = g.rec.unresolved.get(&rel).copied().unwrap_or(now);
        unresolved.insert(rel, since);
    }
    for (p, r) in &g.rec.retries.borrow().0 {
        unresolved.entry(p.clone()).or_insert(r.since);
    }
    g.rec.unresolved = unresolved;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn a_failure_repeated_is_reported_once_and_its_success_again() {
        let mut r = Retries::default();
        assert!(r.note(b"index.html", &Err("object corrupt".into())));
        assert!(!r.note(b"index.html", &Err("object corrupt".into())));
        assert!(r.note(b"index.html", &Err("no space left".into())));
        assert!(!r.0.is_empty());
        assert!(r.note(
            b"index.html",
            &Ok(Outcome::Restored {
                aspects: vec![],
                quarantined: None
            })
        ));
        assert!(r.0.is_empty());
    }

    #[test]
    fn each_failure_waits_twice_as_long_up_to_the_cap() {
        let mut r = Retries::default();
        let mut last = Duration::ZERO;
        for _ in 0..20 {
            r.note(b"a", &Err("x".into()));
            let d = r.0[b"a".as_slice()].delay;
            assert!(d >= last && d <= RETRY_MAX);
            last = d;
        }
        assert_eq!(last, RETRY_MAX);
        assert!(r.due(Instant::now()).is_empty(), "not due at once");
        assert_eq!(
            r.due(Instant::now() + RETRY_MAX + Duration::from_millis(1)),
            vec![b"a".to_vec()]
        );
    }
}
