//! The guard as a running service: the watcher on the roots, the kernel
//! block kept in step with maintenance windows, and the recorder that turns
//! what the watcher did into store events and audit entries. `shouwang guard
//! watch` and `shouwang up` both run it through [`run`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::json;
use shouwang_store::{NewAuditEntry, Store};

use tokio::sync::watch as shutdown_watch;

use crate::block::{BlockError, Blocker};
use crate::watch::{self, Message, Notice, WatchOptions};
use crate::{Baseline, GuardConfig, GuardDir, GuardError};

/// One part of the guard and the mechanism it uses on this machine.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mechanism {
    /// `restore`, `watch` or `block`.
    pub part: &'static str,
    pub uses: String,
    pub why: String,
}

/// Which mechanism each part of the guard uses here and why, found the way
/// the watcher finds it (each tried and undone at once): restore (openat2
/// or component by component), watch (fanotify or inotify, on the roots
/// that would be watched), block (BPF LSM, fanotify permission events, or
/// off).
pub fn mechanisms(data_dir: &Path, config: &GuardConfig) -> Vec<Mechanism> {
    let (uses, why) = crate::restore::resolver();
    let restore = Mechanism {
        part: "restore",
        uses: uses.into(),
        why: why.into(),
    };
    let mut roots = GuardDir::open(data_dir)
        .and_then(|g| g.roots_to_watch(&[], &config.roots))
        .unwrap_or_default();
    roots.retain(|r| r.is_dir());
    if roots.is_empty() {
        roots.push(data_dir.to_path_buf());
    }
    let (backend, why) = watch::backend_for(&roots);
    let watch = Mechanism {
        part: "watch",
        uses: format!("{backend:?}").to_lowercase(),
        why,
    };
    let (uses, why) = if config.block {
        crate::block::probe()
    } else {
        (
            "off",
            "[guard] block is off: changes are undone, not denied".into(),
        )
    };
    let block = Mechanism {
        part: "block",
        uses: uses.into(),
        why,
    };
    vec![restore, watch, block]
}

/// Run the watcher on `config.roots` (blocking writes in the kernel too if
/// `config.block`) until `stop`, writing every action to the store as an
/// event and to the audit log, and telling `say` what a person watching
/// should see.
/// Check before a service starts anything: every root in the config is
/// sealed. A root whose baseline fails its check passes here: the watcher
/// raises it as an event and guards the other roots.
pub fn check_roots(data_dir: &Path, config: &GuardConfig) -> Result<(), GuardError> {
    if config.roots.is_empty() {
        return Ok(());
    }
    let guard = GuardDir::open(data_dir)?;
    for r in &config.roots {
        match guard.baseline(r) {
            Ok(_) | Err(GuardError::BaselineTampered { .. }) => {}
            Err(e) => {
                return Err(GuardError::CannotGuard {
                    root: r.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(())
}

/// How often `serve` looks for a root sealed while it runs.
const NEW_SEAL_POLL: Duration = Duration::from_secs(3);

/// The roots `up` guards: those `[guard] roots` names (which must be
/// sealed) and every other sealed root, so a root sealed in the console or
/// with `guard seal` is guarded without editing the config.
pub fn roots_for_service(guard: &GuardDir, config: &GuardConfig) -> Vec<PathBuf> {
    let mut roots = config.roots.clone();
    let canonical: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    for b in guard.baselines().into_iter().flatten() {
        if !canonical.contains(&b.root) && !roots.contains(&b.root) {
            roots.push(b.root);
        }
    }
    roots
}

/// [`run`] as a task of an async service (`up`): the watcher keeps a thread
/// of its own, since it blocks on kernel events, and stops when `shutdown`
/// turns true (or its sender is gone). It guards [`roots_for_service`];
/// when a root is sealed (or a seal removed) while it runs, the watcher is
/// started again over the new set, and its start-up reconciliation puts
/// right whatever changed in the moment between.
pub async fn serve(
    data_dir: PathBuf,
    config: GuardConfig,
    store: Arc<dyn Store>,
    mut shutdown: shutdown_watch::Receiver<bool>,
) -> Result<(), GuardError> {
    let guard = GuardDir::open(&data_dir)?;
    loop {
        let ids = guard.sealed_ids();
        let mut this_run = config.clone();
        this_run.roots = roots_for_service(&guard, &config);
        if this_run.roots.is_empty() {
            // Nothing sealed yet: wait for the first seal.
            tokio::select! {
                () = tokio::time::sleep(NEW_SEAL_POLL) => continue,
                () = async { drop(shutdown.wait_for(|&s| s).await) } => return Ok(()),
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (watcher_stop, dir, st) = (stop.clone(), data_dir.clone(), store.clone());
        let mut watcher = tokio::task::spawn_blocking(move || {
            let opts = WatchOptions::default();
            run(
                &dir,
                &this_run,
                &opts,
                st,
                watcher_stop,
                |line| tracing::info!(target: "guard", "{line}"),
            )
        });
        let resealed = async {
            loop {
                tokio::time::sleep(NEW_SEAL_POLL).await;
                if guard.sealed_ids() != ids {
                    return;
                }
            }
        };
        let (ended, again) = tokio::select! {
            ended = &mut watcher => (ended, false),
            // The borrow `wait_for` returns is dropped before the arm runs.
            () = async { drop(shutdown.wait_for(|&s| s).await) } => {
                stop.store(true, Ordering::Relaxed);
                (watcher.await, false)
            }
            () = resealed => {
                tracing::info!(target: "guard", "the sealed web roots changed: guarding the new set");
                stop.store(true, Ordering::Relaxed);
                (watcher.await, true)
            }
        };
        ended.map_err(|e| GuardError::Thread(std::io::Error::other(e.to_string())))??;
        if !again {
            return Ok(());
        }
    }
}

pub fn run(
    data_dir: &Path,
    config: &GuardConfig,
    opts: &WatchOptions,
    store: Arc<dyn Store>,
    stop: Arc<AtomicBool>,
    say: impl Fn(&str) + Send + 'static,
) -> Result<(), GuardError> {
    let roots = &config.roots;
    let guard = GuardDir::open(data_dir)?.with_quarantine_budget(config.quarantine_budget());
    // Refuse to start on a root that is not sealed, before anything runs.
    // A baseline that fails its check is not a reason to leave the other
    // roots unguarded: the watcher raises it as an event and goes on.
    let mut baselines = Vec::new();
    for r in roots {
        match guard.baseline(r) {
            Ok(b) => {
                // Never protect, in the kernel, whatever a displaced root's
                // path leads to now.
                if crate::SafeRoot::open(&b.root).is_ok() {
                    baselines.push(b);
                }
            }
            Err(GuardError::BaselineTampered { .. }) => {}
            Err(e) => {
                return Err(GuardError::CannotGuard {
                    root: r.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
    // Blocking mode denies writes in the kernel; detect-and-restore keeps
    // running underneath it, and alone where blocking is not available.
    let blocker = if config.block {
        start_blocking(&baselines, &say)
    } else {
        None
    };
    let follower = match blocker {
        Some(b) => {
            let (data_dir, stop) = (data_dir.to_path_buf(), stop.clone());
            Some(
                std::thread::Builder::new()
                    .name("guard-block".into())
                    .spawn(move || follow_windows(b, &data_dir, baselines, &stop))
                    .map_err(GuardError::Thread)?,
            )
        }
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let recorder = {
        let store = store.clone();
        std::thread::Builder::new()
            .name("guard-events".into())
            .spawn(move || record(rx, store, say))
            .map_err(GuardError::Thread)?
    };
    let result = watch::watch(&guard, roots, opts, tx, stop.clone());
    stop.store(true, Ordering::Relaxed);
    let _ = recorder.join();
    if let Some(f) = follower {
        let _ = f.join();
    }
    result?;
    Ok(())
}

/// What `follow_windows` needs of the kernel block (a trait so the
/// bookkeeping is tested where the kernel refuses BPF LSM programs).
trait KernelBlock {
    fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError>;
    fn unprotect(&mut self, root: &Path) -> Result<usize, BlockError>;
}

impl KernelBlock for Blocker {
    fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError> {
        Blocker::protect(self, b)
    }
    fn unprotect(&mut self, root: &Path) -> Result<usize, BlockError> {
        Blocker::unprotect(self, root)
    }
}

/// Keep the kernel's block in step with maintenance windows and publishes:
/// a window lifts the block on its root (the people maintaining the site
/// must be able to write); when it closes, or a publish changes the
/// baseline, the root's inodes are protected again as the baseline now
/// says. Dropping the blocker at the end detaches the programs.
fn follow_windows(
    mut blocker: impl KernelBlock,
    data_dir: &Path,
    mut baselines: Vec<Baseline>,
    stop: &AtomicBool,
) {
    let manifest_time = |b: &Baseline| {
        std::fs::metadata(b.dir.join("manifest"))
            .and_then(|m| m.modified())
            .ok()
    };
    let mut lifted = vec![false; baselines.len()];
    let mut sealed: Vec<_> = baselines.iter().map(manifest_time).collect();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        for (i, b) in baselines.iter_mut().enumerate() {
            let paused = b.paused_until().is_some();
            let resealed = manifest_time(b) != sealed[i];
            if paused && !lifted[i] {
                match blocker.unprotect(&b.root) {
                    Ok(n) => {
                        tracing::info!(root = %b.root.display(), inodes = n, "maintenance window: block lifted")
                    }
                    Err(e) => {
                        tracing::warn!(root = %b.root.display(), "cannot lift the block: {e}")
                    }
                }
                lifted[i] = true;
            } else if !paused && (lifted[i] || resealed) {
                let fresh = GuardDir::open(data_dir).and_then(|g| g.baseline(&b.root));
                match fresh {
                    Ok(f) => {
                        *b = f;
                        match blocker.protect(b) {
                            Ok(n) => {
                                tracing::info!(root = %b.root.display(), inodes = n, "block in force again")
                            }
                            Err(e) => {
                                tracing::warn!(root = %b.root.display(), "cannot block again: {e}; detect-and-restore goes on")
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(root = %b.root.display(), "cannot reload the baseline: {e}")
                    }
                }
                lifted[i] = false;
                sealed[i] = manifest_time(b);
            }
        }
    }
}

fn start_blocking(baselines: &[Baseline], say: &impl Fn(&str)) -> Option<Blocker> {
    match Blocker::start() {
        Ok(mut b) => {
            let how = b.describe();
            tracing::info!("blocking mode: {how}");
            say(&format!("blocking mode: {how}"));
            for base in baselines {
                match b.protect(base) {
                    Ok(n) => say(&format!(
                        "blocking writes to {} ({n} {} protected)",
                        base.root.display(),
                        b.unit()
                    )),
                    Err(e) => {
                        say(&format!(
                            "warning: {e}; {} is guarded by detect-and-restore only",
                            base.root.display()
                        ));
                    }
                }
            }
            Some(b)
        }
        Err(e) => {
            tracing::warn!("{e}");
            say(&format!("warning: {e}"));
            None
        }
    }
}

/// Store what the watcher reports, in batches, away from the thread that
/// restores: a slow database never delays a restore.
fn record(rx: Receiver<Message>, store: Arc<dyn Store>, say: impl Fn(&str)) {
    let mut events = Vec::new();
    let mut audit = Vec::new();
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for m in first.into_iter().chain(rx.try_iter().take(10_000)) {
            match m {
                Message::Report(r) => {
                    if let Some(ev) = crate::event::to_event(&r) {
                        say(&format!(
                            "{} {}",
                            ev.time.with_timezone(&chrono::Local).format("%H:%M:%S%.3f"),
                            ev.summary
                        ));
                        audit.push(json!({ "path": r.path, "root": r.root, "kind": ev.kind }));
                        events.push(ev);
                    }
                }
                Message::Dropped { record, total } => {
                    events.push(crate::event::dropped_to_event(&record, total));
                }
                Message::Alarm(a) => {
                    let ev = crate::event::alarm_to_event(&a);
                    tracing::error!(root = %a.root.display(), "{}", ev.summary);
                    say(&format!(
                        "{} {}",
                        ev.time.with_timezone(&chrono::Local).format("%H:%M:%S%.3f"),
                        ev.summary
                    ));
                    events.push(ev);
                }
                Message::Notice(n) => {
                    let text = match &n {
                        Notice::Started {
                            backend,
                            roots,
                            fallback,
                        } => {
                            let why = fallback.as_ref().map(|w| format!(" ({w})"));
                            format!(
                                "guarding {} web root(s) with {backend:?}{}",
                                roots.len(),
                                why.unwrap_or_default()
                            )
                        }
                        Notice::Overflow { repaired } => format!(
                            "event queue overflowed: full check done, {repaired} path(s) fixed"
                        ),
                        Notice::Reloaded { root } => {
                            format!("baseline of {} reloaded", root.display())
                        }
                        Notice::Error(e) => format!("error: {e}"),
                    };
                    tracing::info!("{text}");
                    say(&text);
                }
            }
        }
        if !events.is_empty() {
            if let Err(e) = store.record_events(&events) {
                tracing::error!(error = %e, "cannot store guard events");
            }
            events.clear();
        }
        if !audit.is_empty() {
            // One audit entry per batch keeps a mass attack from flooding the chain.
            let entry = NewAuditEntry::new(
                "guard",
                "guard.auto-restore",
                format!("{} action(s)", audit.len()),
                json!({ "actions": audit.iter().take(100).collect::<Vec<_>>(), "total": audit.len() }),
            );
            if let Err(e) = store.record_action(&entry) {
                tracing::error!(error = %e, "cannot append to the audit log");
            }
            events.clear();
            audit.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SealOptions;
    use std::sync::Mutex;

    /// Records what the follower asked of the kernel.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl KernelBlock for Recorder {
        fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError> {
            let n = b.manifest.entries.len();
            self.0.lock().unwrap().push(format!("protect {n}"));
            Ok(n)
        }
        fn unprotect(&mut self, _root: &Path) -> Result<usize, BlockError> {
            self.0.lock().unwrap().push("unprotect".into());
            Ok(0)
        }
    }

    fn wait_for(rec: &Recorder, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let calls = rec.0.lock().unwrap().clone();
            if calls.len() >= n || std::time::Instant::now() > deadline {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_maintenance_window_lifts_the_block_and_its_end_restores_it_from_the_new_baseline() {
        let tmp = tempfile::tempdir().unwrap();
        let www = tmp.path().join("www");
        std::fs::create_dir(&www).unwrap();
        std::fs::write(www.join("index.html"), "<html>乡镇政府</html>").unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let guard = GuardDir::open(&data).unwrap();
        guard.seal(&www, &SealOptions::default()).unwrap();
        let base = guard.baseline(&www).unwrap();
        let sealed_entries = base.manifest.entries.len();
        let rec = Recorder::default();
        let stop = Arc::new(AtomicBool::new(false));
        let follower = {
            let (rec, data, stop) = (rec.clone(), data.clone(), stop.clone());
            std::thread::spawn(move || follow_windows(rec, &data, vec![base], &stop))
        };
        // A window opens: the block is lifted.
        guard
            .baseline(&www)
            .unwrap()
            .pause(Duration::from_secs(600))
            .unwrap();
        assert_eq!(wait_for(&rec, 1), ["unprotect"]);
        // The maintainers add a page and publish it, then close the window:
        // the block comes back over the new baseline.
        std::fs::write(www.join("new.html"), "<html>通知</html>").unwrap();
        guard.seal(&www, &SealOptions::default()).unwrap();
        guard.baseline(&www).unwrap().resume().unwrap();
        let calls = wait_for(&rec, 2);
        assert_eq!(
            calls,
            [
                "unprotect".to_string(),
                format!("protect {}", sealed_entries + 1)
            ]
        );
        stop.store(true, Ordering::Relaxed);
        follower.join().unwrap();
    }
}

#[cfg(test)]
mod recorder_tests {
    use super::*;
    use crate::restore::Outcome;
    use crate::watch::Report;
    use shouwang_store::{AuditKey, EventFilter, SqliteStore};
    use std::sync::Mutex;

    fn report(path: &str, outcome: Outcome) -> Message {
        Message::Report(Report {
            root: "/srv/www".into(),
            path: path.into(),
            outcome: Ok(outcome),
            latency: Duration::from_micros(1500),
            sealed_hash: Some("ab".repeat(32)),
            paused: false,
            at: chrono::Utc::now(),
        })
    }

    #[test]
    fn a_deleted_page_put_back_is_stored_as_an_event_and_one_audit_entry_and_said() {
        let tmp = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&tmp.path().join("t.db"), AuditKey::from_bytes([5; 32])).unwrap(),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(report("index.html", Outcome::Recreated)).unwrap();
        // Nothing was done to this one: no event, no audit action.
        tx.send(report("about.html", Outcome::Unchanged)).unwrap();
        tx.send(Message::Notice(Notice::Reloaded {
            root: "/srv/www".into(),
        }))
        .unwrap();
        drop(tx);
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let lines = said.clone();
        record(rx, store.clone(), move |l| {
            lines.lock().unwrap().push(l.to_string())
        });

        let events = store
            .events(&EventFilter {
                kind_prefix: Some("guard.".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].event.kind, crate::events::RECREATED);
        assert!(events[0].event.summary.contains("index.html 被删除"));
        let audit = store.recent_audit(10).unwrap();
        let restores: Vec<_> = audit
            .iter()
            .filter(|a| a.action == "guard.auto-restore")
            .collect();
        assert_eq!(restores.len(), 1, "{audit:?}");
        assert_eq!(restores[0].actor, "guard");
        assert_eq!(restores[0].target, "1 action(s)");
        assert!(restores[0].details.contains("index.html"));
        assert!(!restores[0].details.contains("about.html"));
        let said = said.lock().unwrap();
        assert!(said.iter().any(|l| l.ends_with(&events[0].event.summary)));
        assert!(said.contains(&"baseline of /srv/www reloaded".to_string()));
    }
}

#[cfg(test)]
mod run_tests {
    use super::*;
    use shouwang_store::{AuditKey, SqliteStore};

    #[test]
    fn a_root_that_is_not_sealed_is_refused_before_the_watcher_starts() {
        let tmp = tempfile::tempdir().unwrap();
        let www = tmp.path().join("www");
        std::fs::create_dir(&www).unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&tmp.path().join("t.db"), AuditKey::from_bytes([5; 32])).unwrap(),
        );
        let config = GuardConfig {
            roots: vec![www.clone()],
            ..Default::default()
        };
        // Not stopped: were the watcher started, this would not return.
        let stop = Arc::new(AtomicBool::new(false));
        let e = run(
            tmp.path(),
            &config,
            &WatchOptions::default(),
            store.clone(),
            stop,
            |_| {},
        )
        .unwrap_err();
        match e {
            GuardError::CannotGuard { root, source } => {
                assert_eq!(root, www);
                assert!(matches!(*source, GuardError::NotSealed(_)), "{source}");
            }
            other => panic!("expected CannotGuard, got {other}"),
        }
        assert!(store.recent_audit(10).unwrap().is_empty());
    }
}
