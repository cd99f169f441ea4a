//! Real-time protection: every change under a guarded root is verified
//! against the baseline as soon as the kernel reports it, and undone.
//!
//! The loop reads events (fanotify where the kernel and our privileges
//! allow, inotify otherwise), reduces them to the set of paths touched,
//! and runs [`Restorer::fix`] on each: restore, recreate or quarantine.
//! `fix` is idempotent, so our own writes never start a loop. Reports go
//! out on a channel and are never waited for: storing and alerting cannot
//! delay a restore. A queue overflow triggers a full repair. Failed
//! restores are retried and the roots reconciled periodically
//! ([`reconcile`]), so a lost or raced event never leaves a root altered.

mod fanotify;
pub(crate) use fanotify::flush_inode_marks;
mod inotify;
mod reconcile;

use std::collections::BTreeSet;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

use crate::diff::Aspect;
use crate::manifest::Kind;
use crate::restore::{Outcome, SafeRoot};
use crate::{Baseline, GuardDir, GuardError};

/// What the kernel told us, reduced to what we act on.
pub(crate) enum RawEvent {
    Path { path: PathBuf },
    Overflow,
}

/// Which mechanism a watcher uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Fanotify,
    Inotify,
}

/// One thing the watcher did or saw.
#[derive(Debug, Clone)]
pub struct Report {
    pub root: PathBuf,
    pub path: String,
    pub outcome: Result<Outcome, String>,
    /// From reading the event to the action done.
    pub latency: Duration,
    /// The sealed content hash, where there is one.
    pub sealed_hash: Option<String>,
    /// A maintenance window was open: seen, not undone.
    pub paused: bool,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A notice about the watcher itself.
#[derive(Debug, Clone)]
pub enum Notice {
    Started {
        backend: Backend,
        roots: Vec<PathBuf>,
        /// Why not fanotify, when inotify is used.
        fallback: Option<String>,
    },
    Overflow {
        repaired: usize,
    },
    Reloaded {
        root: PathBuf,
    },
    Error(String),
}

/// Something wrong with a root as a whole: stored as an event at the
/// highest severity, so it opens an incident and is announced.
#[derive(Debug, Clone)]
pub struct Alarm {
    pub root: PathBuf,
    pub kind: AlarmKind,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmKind {
    /// The root's path no longer leads to the sealed directory.
    Displaced {
        symlink_target: Option<String>,
        why: String,
    },
    /// The root's manifest failed its authentication.
    BaselineTampered { manifest: PathBuf, why: String },
}

#[derive(Debug, Clone)]
pub enum Message {
    Report(Report),
    Notice(Notice),
    Alarm(Alarm),
    /// Evidence dropped to keep a quarantine within its budget, with the
    /// number dropped so far.
    Dropped {
        record: crate::QuarantineRecord,
        total: u64,
    },
}

fn alarm(tx: &Sender<Message>, root: &Path, kind: AlarmKind) {
    let _ = tx.send(Message::Alarm(Alarm {
        root: root.to_path_buf(),
        kind,
        at: chrono::Utc::now(),
    }));
}

pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::event::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: timeout.subsec_nanos() as i64,
    };
    match rustix::event::poll(&mut fds, Some(&ts)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

enum Source {
    Fanotify(fanotify::Fanotify),
    Inotify(inotify::Inotify),
}

impl Source {
    /// A root's directory was replaced by a new one: watch the new one.
    /// (A fanotify filesystem mark already covers it.)
    fn rewatch(&mut self, root: &Path) -> io::Result<()> {
        match self {
            Source::Fanotify(_) => Ok(()),
            Source::Inotify(i) => i.add_tree(root),
        }
    }

    fn read(&mut self, out: &mut Vec<RawEvent>, timeout: Duration) -> io::Result<()> {
        match self {
            Source::Fanotify(f) => f.read(out, timeout),
            Source::Inotify(i) => i.read(out, timeout),
        }
    }
}

struct Guarded {
    baseline: Baseline,
    /// The sealed directory, held open; `None` while it is displaced
    /// since the start.
    safe: Option<SafeRoot>,
    /// Set when the manifest on disk failed its check: the baseline in
    /// memory (authenticated when loaded) is still used, and the state
    /// says the baseline is broken.
    baseline_broken: Option<String>,
    manifest_mtime: Option<SystemTime>,
    paused_checked: Instant,
    paused: bool,
    /// Set while the root's path no longer leads to the directory we hold.
    displaced: bool,
    displaced_why: Option<String>,
    rec: reconcile::Reconciling,
}

fn manifest_mtime(b: &Baseline) -> Option<SystemTime> {
    std::fs::metadata(b.dir.join("manifest"))
        .and_then(|m| m.modified())
        .ok()
}

/// Which mechanism [`watch`] would use for `roots` here, and why: the
/// same attempt it makes, undone at once (for `shouwang status`).
pub fn backend_for(roots: &[PathBuf]) -> (Backend, String) {
    match fanotify::Fanotify::new(roots) {
        Ok(_) => (
            Backend::Fanotify,
            "filesystem marks with directory handles: every directory, no watch limit".into(),
        ),
        Err(e) => (Backend::Inotify, fanotify::why_not(&e)),
    }
}

/// Options for [`watch`].
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Use inotify even where fanotify would work.
    pub force_inotify: bool,
}

/// Guard `roots` until `stop` turns true. Sends what it does on `tx`.
/// Quarantined evidence is copied and recorded by a worker of its own, so
/// no restore waits behind a large intruder; what it has queued is
/// recorded before this returns.
pub fn watch(
    guard: &GuardDir,
    roots: &[PathBuf],
    opts: &WatchOptions,
    tx: Sender<Message>,
    stop: Arc<AtomicBool>,
) -> Result<Backend, GuardError> {
    let (later, worker) = crate::restore::Later::start().map_err(GuardError::Thread)?;
    guard.set_later(Some(later));
    let result = watch_roots(guard, roots, opts, tx, stop);
    // The baselines holding the worker are gone with `watch_roots`.
    guard.set_later(None);
    let _ = worker.join();
    result
}

fn watch_roots(
    guard: &GuardDir,
    roots: &[PathBuf],
    opts: &WatchOptions,
    tx: Sender<Message>,
    stop: Arc<AtomicBool>,
) -> Result<Backend, GuardError> {
    let mut guarded = Vec::new();
    let mut broken = Vec::new();
    for r in roots {
        let baseline = match guard.baseline(r) {
            Ok(b) => b,
            // The other roots are guarded on; this one is an alarm.
            Err(GuardError::BaselineTampered { path, why }) => {
                broken.push(reconcile::Broken::new(guard.dir_of(r)?, r, path, why, &tx));
                continue;
            }
            Err(e) => return Err(e),
        };
        baseline.objects.load_index().map_err(|e| GuardError::Io {
            path: baseline.objects.dir().to_path_buf(),
            source: e,
        })?;
        // A root displaced before the start is guarded from when a real
        // directory is back at its path.
        let safe = SafeRoot::open(&baseline.root).ok();
        guarded.push(Guarded {
            manifest_mtime: manifest_mtime(&baseline),
            paused: baseline.paused_until().is_some(),
            paused_checked: Instant::now(),
            displaced: false,
            displaced_why: None,
            baseline_broken: None,
            rec: reconcile::Reconciling::new(),
            baseline,
            safe,
        });
    }
    for g in guarded.iter_mut().filter(|g| g.safe.is_none()) {
        displaced(g, &tx);
    }
    let paths: Vec<PathBuf> = guarded
        .iter()
        .filter(|g| g.safe.is_some())
        .map(|g| g.baseline.root.clone())
        .collect();
    let fan = if opts.force_inotify {
        Err("inotify was asked for (--inotify)".to_string())
    } else {
        fanotify::Fanotify::new(&paths).map_err(|e| fanotify::why_not(&e))
    };
    let (mut source, backend, fallback) = match fan {
        Ok(f) => (Source::Fanotify(f), Backend::Fanotify, None),
        // Not root, or a kernel before 5.9 (no directory handles): inotify
        // sees the same changes, one watch per directory.
        Err(why) => {
            tracing::info!("using inotify: {why}");
            let i = inotify::Inotify::new(&paths).map_err(|e| GuardError::Io {
                path: paths.first().cloned().unwrap_or_default(),
                source: e,
            })?;
            (Source::Inotify(i), Backend::Inotify, Some(why))
        }
    };
    // Whatever changed while nobody watched is repaired first (the marks
    // are in place, so what changes meanwhile waits in the queue); only
    // then is the watcher announced as guarding in real time.
    repair_all(&mut guarded, &tx);
    let _ = tx.send(Message::Notice(Notice::Started {
        backend,
        roots: paths.clone(),
        fallback,
    }));

    let mut raw = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        raw.clear();
        // Also what inotify cannot see: a new directory's contents written
        // before our watch on it existed.
        reconcile::tick(&mut guarded, &tx);
        reconcile::tick_broken(guard, &mut broken, &mut guarded, &tx);
        if let Err(e) = source.read(&mut raw, Duration::from_millis(200)) {
            let _ = tx.send(Message::Notice(Notice::Error(format!(
                "reading events failed: {e}"
            ))));
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        if raw.is_empty() {
            refresh(guard, &mut guarded, &mut source, &tx);
            continue;
        }
        let t0 = Instant::now();
        refresh(guard, &mut guarded, &mut source, &tx);
        if raw.iter().any(|e| matches!(e, RawEvent::Overflow)) {
            let repaired = repair_all(&mut guarded, &tx);
            let _ = tx.send(Message::Notice(Notice::Overflow { repaired }));
            continue;
        }
        // Each path once per batch, parents before children.
        let mut todo: BTreeSet<(usize, Vec<u8>)> = BTreeSet::new();
        for ev in &raw {
            let RawEvent::Path { path } = ev else {
                continue;
            };
            for (i, g) in guarded.iter().enumerate() {
                if let Ok(rel) = path.strip_prefix(&g.baseline.root) {
                    todo.insert((
                        i,
                        std::os::unix::ffi::OsStrExt::as_bytes(rel.as_os_str()).to_vec(),
                    ));
                    break;
                }
            }
        }
        for (i, rel) in todo {
            fix_and_report(&guarded[i], &rel, t0, &tx);
        }
    }
    Ok(backend)
}

fn fix_and_report(g: &Guarded, rel: &[u8], t0: Instant, tx: &Sender<Message>) -> usize {
    let b = &g.baseline;
    let sealed_hash = b.manifest.get(rel).and_then(|e| e.hash_hex());
    let path = if rel.is_empty() {
        ".".to_string()
    } else {
        String::from_utf8_lossy(rel).into_owned()
    };
    if g.paused {
        if b.manifest.get(rel).is_some()
            || std::fs::symlink_metadata(crate::scan::abs_path(&b.root, rel)).is_ok()
        {
            let _ = tx.send(Message::Report(Report {
                root: b.root.clone(),
                path,
                outcome: Ok(Outcome::Unchanged),
                latency: t0.elapsed(),
                sealed_hash,
                paused: true,
                at: chrono::Utc::now(),
            }));
        }
        return 0;
    }
    let Some(safe) = g.safe.as_ref().filter(|_| !g.displaced) else {
        return 0;
    };
    let r = b.restorer(safe);
    let outcome = r.fix(rel).map_err(|e| e.to_string());
    for (record, total) in b.quarantine.take_dropped() {
        let _ = tx.send(Message::Dropped { record, total });
    }
    let worth_reporting = g.rec.retries.borrow_mut().note(rel, &outcome);
    let mut count = 0;
    // A directory put back brings its sealed contents back with it.
    let dir_back = matches!(
        &outcome,
        Ok(Outcome::Recreated) | Ok(Outcome::Restored { .. })
    ) && b.manifest.get(rel).is_some_and(|e| e.kind == Kind::Dir)
        && !matches!(&outcome, Ok(Outcome::Restored { aspects, .. }) if !aspects.contains(&Aspect::Type));
    let latency = t0.elapsed();
    if worth_reporting && !matches!(outcome, Ok(Outcome::Unchanged)) {
        count += 1;
        let _ = tx.send(Message::Report(Report {
            root: b.root.clone(),
            path,
            outcome,
            latency,
            sealed_hash,
            paused: false,
            at: chrono::Utc::now(),
        }));
    }
    if dir_back {
        let mut prefix = rel.to_vec();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        let children: Vec<Vec<u8>> = b
            .manifest
            .entries
            .iter()
            .filter(|e| e.path.starts_with(&prefix) && e.path.len() > prefix.len())
            .map(|e| e.path.to_vec())
            .collect();
        for c in children {
            count += fix_and_report(g, &c, t0, tx);
        }
    }
    count
}

/// Compare every root in full and fix what differs.
fn repair_all(guarded: &mut [Guarded], tx: &Sender<Message>) -> usize {
    let mut n = 0;
    for g in guarded.iter() {
        let t0 = Instant::now();
        match g.baseline.check() {
            Ok(report) => {
                for c in report.changes {
                    n += fix_and_report(g, c.path(), t0, tx);
                }
            }
            Err(e) => {
                let _ = tx.send(Message::Notice(Notice::Error(format!(
                    "full check of {} failed: {e}",
                    g.baseline.root.display()
                ))));
            }
        }
    }
    n
}

/// Does the root's path still lead, without symlinks, to the directory we
/// hold open? If the directory was moved away or the path now holds a
/// symlink, say so (once); when a real directory is back at the path, take
/// it and repair it.
fn check_in_place(g: &mut Guarded, source: &mut Source, tx: &Sender<Message>) {
    let here = SafeRoot::open(&g.baseline.root).ok();
    let same = here
        .as_ref()
        .is_some_and(|h| g.safe.as_ref().is_some_and(|s| h.same_dir(s)));
    if same {
        g.displaced = false;
        return;
    }
    if let Some(h) = here {
        // A real directory at the path again (put back, or recreated):
        // guard that one and bring it to the baseline.
        g.safe = Some(h);
        g.displaced = false;
        g.displaced_why = None;
        g.rec.soon();
        if let Err(e) = source.rewatch(&g.baseline.root) {
            let _ = tx.send(Message::Notice(Notice::Error(format!(
                "cannot watch {} again: {e}",
                g.baseline.root.display()
            ))));
        }
        let t0 = Instant::now();
        if let Ok(report) = g.baseline.check() {
            for c in report.changes {
                fix_and_report(g, c.path(), t0, tx);
            }
        }
        return;
    }
    if !g.displaced {
        displaced(g, tx);
    }
}

/// The root's path no longer leads to the directory sealed: say so as an
/// alarm, once, and restore nothing through the path until it does.
fn displaced(g: &mut Guarded, tx: &Sender<Message>) {
    g.displaced = true;
    g.rec.soon();
    let root = &g.baseline.root;
    let symlink_target = std::fs::read_link(root)
        .ok()
        .map(|t| t.display().to_string());
    let why = format!(
        "the web root {} was moved away or replaced by a symlink: nothing is restored through that path until a real directory is back (shouwang guard restore {} --to ... rebuilds it)",
        root.display(),
        root.display()
    );
    g.displaced_why = Some(why.clone());
    let _ = tx.send(Message::Notice(Notice::Error(why.clone())));
    alarm(
        tx,
        root,
        AlarmKind::Displaced {
            symlink_target,
            why,
        },
    );
}

/// Pick up a published baseline and the state of maintenance windows.
fn refresh(guard: &GuardDir, guarded: &mut [Guarded], source: &mut Source, tx: &Sender<Message>) {
    for g in guarded.iter_mut() {
        if g.paused_checked.elapsed() > Duration::from_millis(500) {
            check_in_place(g, source, tx);
            let was = g.paused;
            g.paused = g.baseline.paused_until().is_some();
            g.paused_checked = Instant::now();
            if was != g.paused {
                g.rec.soon();
            }
            if was && !g.paused {
                // The window closed: whatever changed in it and was not
                // published is undone now.
                let t0 = Instant::now();
                if let Ok(report) = g.baseline.check() {
                    for c in report.changes {
                        fix_and_report(g, c.path(), t0, tx);
                    }
                }
            }
        }
        let m = manifest_mtime(&g.baseline);
        if m != g.manifest_mtime {
            match guard.baseline(&g.baseline.root) {
                Ok(b) => {
                    if let Err(e) = b.objects.load_index() {
                        let _ = tx.send(Message::Notice(Notice::Error(format!(
                            "{}: {e}",
                            b.objects.dir().display()
                        ))));
                    }
                    g.baseline = b;
                    g.manifest_mtime = m;
                    g.baseline_broken = None;
                    g.rec.soon();
                    let _ = tx.send(Message::Notice(Notice::Reloaded {
                        root: g.baseline.root.clone(),
                    }));
                }
                Err(GuardError::BaselineTampered { path, why }) => {
                    // The baseline in memory was authenticated when loaded:
                    // restores go on from it.
                    g.manifest_mtime = m;
                    g.baseline_broken = Some(why.clone());
                    g.rec.soon();
                    alarm(
                        tx,
                        &g.baseline.root,
                        AlarmKind::BaselineTampered {
                            manifest: path,
                            why,
                        },
                    );
                }
                Err(e) => {
                    g.manifest_mtime = m;
                    let _ = tx.send(Message::Notice(Notice::Error(e.to_string())));
                }
            }
        }
    }
}
