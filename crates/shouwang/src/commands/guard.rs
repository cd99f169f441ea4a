//! `shouwang guard`: 网页防篡改 from the command line, and the watcher that
//! `shouwang up` runs for the roots in the config.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use shouwang_guard::watch::{self, Message, Notice, WatchOptions};
use shouwang_guard::{Baseline, ChangeKind, GuardDir, Outcome, SealOptions};
use shouwang_store::{NewAuditEntry, Store};

use super::{Access, Ctx, Outcome as Exit, cli_actor};
use crate::cli::{GuardCommand, QuarantineCommand};
use crate::output;

pub fn run(ctx: &Ctx, cmd: GuardCommand) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    match cmd {
        GuardCommand::Seal {
            root,
            exclude,
            writable,
            json,
        } => {
            let data_dir = ctx.data_dir(&loaded, Access::Create)?;
            let store = super::open_store(&loaded, data_dir)?;
            let guard = GuardDir::open(data_dir)?;
            let report = guard
                .seal(
                    &root,
                    &SealOptions {
                        excludes: exclude.clone(),
                        writables: writable.clone(),
                    },
                )
                .with_context(|| format!("cannot seal {}", root.display()))?;
            store.record_action(&NewAuditEntry::new(
                cli_actor(),
                "guard.seal",
                report.root.display().to_string(),
                json!({ "files": report.files, "bytes": report.bytes, "exclude": exclude, "writable": writable }),
            ))?;
            if json {
                output::print_json(&report)?;
            } else {
                output::print(&format!(
                    "sealed {}: {} files, {} directories, {} symlinks, {:.1} MB ({} distinct objects) in {:.2} s\n",
                    report.root.display(),
                    report.files,
                    report.dirs,
                    report.symlinks,
                    report.bytes as f64 / 1e6,
                    report.objects,
                    report.seconds
                ))?;
            }
            Ok(Exit::Clean)
        }
        GuardCommand::List(a) => {
            let guard = GuardDir::open(ctx.data_dir(&loaded, Access::Existing)?)?;
            let mut rows = Vec::new();
            let mut json_rows = Vec::new();
            for b in guard.baselines() {
                let b = b?;
                let files = b
                    .manifest
                    .entries
                    .iter()
                    .filter(|e| e.kind == shouwang_guard::Kind::File)
                    .count();
                let paused = b.paused_until();
                let watched =
                    loaded.config.guard.roots.iter().any(|r| {
                        std::fs::canonicalize(r).ok().as_deref() == Some(b.root.as_path())
                    });
                rows.push(vec![
                    b.root.display().to_string(),
                    files.to_string(),
                    b.sealed_at()
                        .with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                    if watched { "yes".into() } else { "no".into() },
                    paused
                        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                        .unwrap_or_default(),
                ]);
                json_rows.push(json!({
                    "root": b.root, "files": files, "sealed_at": b.sealed_at(),
                    "in_config": watched, "paused_until": paused,
                    "excludes": b.manifest.excludes, "writables": b.manifest.writables,
                }));
            }
            if a.json {
                output::print_json(&json_rows)?;
            } else if rows.is_empty() {
                output::print("no web root is sealed yet: `shouwang guard seal DIR`\n")?;
            } else {
                output::print(&output::table(
                    &["root", "files", "sealed", "watched by up", "paused until"],
                    &rows,
                ))?;
            }
            Ok(Exit::Clean)
        }
        GuardCommand::Check { roots, json } => {
            let guard = GuardDir::open(ctx.data_dir(&loaded, Access::Existing)?)?;
            let baselines = pick(&guard, &roots)?;
            let mut any = false;
            let mut out = Vec::new();
            let mut rows = Vec::new();
            for b in &baselines {
                let report = b.check()?;
                for c in &report.changes {
                    if c.kind != ChangeKind::WritableAdded {
                        any = true;
                    }
                    rows.push(vec![
                        b.root.display().to_string(),
                        change_label(&c.kind),
                        c.path_display(),
                    ]);
                }
                for (p, e) in &report.unreadable {
                    any = true;
                    rows.push(vec![
                        b.root.display().to_string(),
                        "unreadable".into(),
                        format!("{}: {e}", p.display()),
                    ]);
                }
                out.push(json!({
                    "root": b.root,
                    "seconds": report.elapsed.as_secs_f64(),
                    "changes": report.changes.iter().map(|c| json!({
                        "path": c.path_display(),
                        "change": c.kind,
                        "sealed_blake3": c.before.as_ref().and_then(|e| e.hash_hex()),
                        "now_blake3": c.after.as_ref().and_then(|e| e.hash_hex()),
                    })).collect::<Vec<_>>(),
                    "unreadable": report.unreadable.iter().map(|(p, e)| json!({"path": p, "error": e})).collect::<Vec<_>>(),
                }));
            }
            if json {
                output::print_json(&out)?;
            } else if rows.is_empty() {
                output::print(&format!(
                    "{} web root(s) match their baselines\n",
                    baselines.len()
                ))?;
            } else {
                output::print(&output::table(&["root", "change", "path"], &rows))?;
            }
            Ok(if any { Exit::Findings } else { Exit::Clean })
        }
        GuardCommand::Watch {
            roots,
            inotify,
            block,
        } => {
            let data_dir = ctx.data_dir(&loaded, Access::Existing)?.to_path_buf();
            let store = super::open_store(&loaded, &data_dir)?;
            let roots = if roots.is_empty() {
                loaded.config.guard.roots.clone()
            } else {
                roots
            };
            if roots.is_empty() {
                bail!(
                    "no web root to watch: name one (`shouwang guard watch DIR`) or list them in [guard] roots in the config"
                );
            }
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone()).context("cannot handle signals")?;
            }
            run_watch(
                &data_dir,
                store,
                roots,
                WatchOptions {
                    force_inotify: inotify,
                },
                block || loaded.config.guard.block,
                stop,
                |line| {
                    let _ = output::print(&format!("{line}\n"));
                },
            )?;
            Ok(Exit::Clean)
        }
        GuardCommand::Publish { paths, all } => {
            let data_dir = ctx.data_dir(&loaded, Access::Existing)?;
            let store = super::open_store(&loaded, data_dir)?;
            let guard = GuardDir::open(data_dir)?;
            if paths.is_empty() {
                bail!(
                    "name what to publish: paths under a sealed web root, or web roots with --all"
                );
            }
            for p in &paths {
                let b = owning_baseline(&guard, p)?;
                let published = if all {
                    guard.seal(
                        &b.root,
                        &SealOptions {
                            excludes: b.manifest.excludes.clone(),
                            writables: b.manifest.writables.clone(),
                        },
                    )?;
                    vec![".".to_string()]
                } else {
                    guard.publish(&b.root, std::slice::from_ref(p))?
                };
                store.record_action(&NewAuditEntry::new(
                    cli_actor(),
                    "guard.publish",
                    b.root.display().to_string(),
                    json!({ "paths": published }),
                ))?;
                output::print(&format!(
                    "published {} in {}\n",
                    published.join(", "),
                    b.root.display()
                ))?;
            }
            Ok(Exit::Clean)
        }
        GuardCommand::Pause { roots, r#for } => {
            let data_dir = ctx.data_dir(&loaded, Access::Existing)?;
            let store = super::open_store(&loaded, data_dir)?;
            let guard = GuardDir::open(data_dir)?;
            let d = parse_duration(&r#for)?;
            for b in pick(&guard, &roots)? {
                let until = b.pause(d)?;
                store.record_action(&NewAuditEntry::new(
                    cli_actor(),
                    "guard.pause",
                    b.root.display().to_string(),
                    json!({ "until": until }),
                ))?;
                output::print(&format!(
                    "{}: maintenance window open until {}; changes are recorded, not undone, and what is not published is undone when it closes\n",
                    b.root.display(),
                    until
                        .with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M:%S")
                ))?;
            }
            Ok(Exit::Clean)
        }
        GuardCommand::Resume { roots } => {
            let data_dir = ctx.data_dir(&loaded, Access::Existing)?;
            let store = super::open_store(&loaded, data_dir)?;
            let guard = GuardDir::open(data_dir)?;
            for b in pick(&guard, &roots)? {
                b.resume()?;
                store.record_action(&NewAuditEntry::new(
                    cli_actor(),
                    "guard.resume",
                    b.root.display().to_string(),
                    serde_json::Value::Null,
                ))?;
            }
            Ok(Exit::Clean)
        }
        GuardCommand::Restore { root, to } => {
            let data_dir = ctx.data_dir(&loaded, Access::Existing)?;
            let store = super::open_store(&loaded, data_dir)?;
            let guard = GuardDir::open(data_dir)?;
            let b = guard.baseline(&root)?;
            match to {
                Some(target) => {
                    let n = b.restore_to(&target)?;
                    store.record_action(&NewAuditEntry::new(
                        cli_actor(),
                        "guard.restore-to",
                        b.root.display().to_string(),
                        json!({ "to": target, "paths": n }),
                    ))?;
                    output::print(&format!(
                        "rebuilt {} paths of {} into {}\n",
                        n,
                        b.root.display(),
                        target.display()
                    ))?;
                }
                None => {
                    let results = b.repair()?;
                    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
                    for (p, r) in &results {
                        match r {
                            Ok(o) => output::print(&format!("{:<12} {p}\n", outcome_label(o)))?,
                            Err(e) => output::print(&format!("{:<12} {p}: {e}\n", "FAILED"))?,
                        }
                    }
                    store.record_action(&NewAuditEntry::new(
                        cli_actor(),
                        "guard.restore",
                        b.root.display().to_string(),
                        json!({ "paths": results.len(), "failed": failed }),
                    ))?;
                    if failed > 0 {
                        bail!("{failed} path(s) could not be restored");
                    }
                }
            }
            Ok(Exit::Clean)
        }
        GuardCommand::Quarantine(q) => quarantine(ctx, &loaded, q),
    }
}

fn quarantine(ctx: &Ctx, loaded: &crate::config::Loaded, q: QuarantineCommand) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let guard = GuardDir::open(data_dir)?;
    match q {
        QuarantineCommand::List { roots, json } => {
            let mut all = Vec::new();
            for b in pick(&guard, &roots)? {
                all.extend(b.quarantine.list()?);
            }
            if json {
                output::print_json(&all)?;
            } else if all.is_empty() {
                output::print("the quarantine is empty\n")?;
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.reason.clone(),
                            r.kind.clone(),
                            r.size.to_string(),
                            format!("{}/{}", r.root, r.path),
                        ]
                    })
                    .collect();
                output::print(&output::table(
                    &["id", "reason", "kind", "bytes", "was at"],
                    &rows,
                ))?;
            }
            Ok(Exit::Clean)
        }
        QuarantineCommand::Show { id } => {
            let (b, record) = find_record(&guard, &id)?;
            output::print_json(&record)?;
            let item = b.quarantine.item_path(&id)?;
            if record.kind == "file" {
                let bytes = std::fs::read(&item)
                    .with_context(|| format!("cannot read {}", item.display()))?;
                let shown = &bytes[..bytes.len().min(4096)];
                output::print(&format!(
                    "--- content (first {} of {} bytes) ---\n{}\n",
                    shown.len(),
                    bytes.len(),
                    String::from_utf8_lossy(shown)
                ))?;
            }
            Ok(Exit::Clean)
        }
        QuarantineCommand::Release { id } => {
            let store = super::open_store(loaded, data_dir)?;
            let (b, _) = find_record(&guard, &id)?;
            let path = guard.release(&b.root, &id)?;
            store.record_action(&NewAuditEntry::new(
                cli_actor(),
                "guard.quarantine.release",
                b.root.display().to_string(),
                json!({ "id": id, "path": path }),
            ))?;
            output::print(&format!(
                "released {id}: {} is back and part of the baseline\n",
                b.root.join(&path).display()
            ))?;
            Ok(Exit::Clean)
        }
    }
}

fn find_record(guard: &GuardDir, id: &str) -> Result<(Baseline, shouwang_guard::QuarantineRecord)> {
    for b in guard.baselines() {
        let b = b?;
        if let Ok(r) = b.quarantine.get(id) {
            return Ok((b, r));
        }
    }
    bail!("no quarantined item {id:?}: `shouwang guard quarantine list` shows them")
}

/// The baselines named, or all of them.
fn pick(guard: &GuardDir, roots: &[PathBuf]) -> Result<Vec<Baseline>> {
    if roots.is_empty() {
        let all: Vec<Baseline> = guard.baselines().into_iter().collect::<Result<_, _>>()?;
        if all.is_empty() {
            bail!("no web root is sealed yet: `shouwang guard seal DIR` first");
        }
        return Ok(all);
    }
    roots
        .iter()
        .map(|r| guard.baseline(r).map_err(Into::into))
        .collect()
}

/// The sealed root that `p` lies in.
fn owning_baseline(guard: &GuardDir, p: &Path) -> Result<Baseline> {
    let abs = std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?;
    let parent = abs.parent().and_then(|d| std::fs::canonicalize(d).ok());
    let candidates = [
        std::fs::canonicalize(&abs).ok(),
        parent.map(|d| d.join(abs.file_name().unwrap_or_default())),
    ];
    for b in guard.baselines() {
        let b = b?;
        if candidates.iter().flatten().any(|c| c.starts_with(&b.root)) {
            return Ok(b);
        }
    }
    bail!(
        "{} is not under a sealed web root (`shouwang guard list` shows them)",
        p.display()
    )
}

fn change_label(k: &ChangeKind) -> String {
    match k {
        ChangeKind::Added => "added".into(),
        ChangeKind::Deleted => "deleted".into(),
        ChangeKind::WritableAdded => "new upload".into(),
        ChangeKind::Modified { aspects } => {
            let a: Vec<String> = aspects
                .iter()
                .map(|a| format!("{a:?}").to_lowercase())
                .collect();
            format!("modified ({})", a.join(", "))
        }
    }
}

fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Unchanged => "unchanged",
        Outcome::Restored { .. } => "restored",
        Outcome::Recreated => "recreated",
        Outcome::Quarantined { .. } => "quarantined",
        Outcome::WritableNew => "new upload",
    }
}

/// A maintenance window's length: `30m`, `2h`, `90s`, `1d`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let d = shouwang_model::parse_duration(s)?;
    if d.is_zero() || d.as_secs() > 7 * 86400 {
        bail!("a maintenance window lasts between 1 second and 7 days, not {s:?}");
    }
    Ok(d)
}

/// Run the watcher on `roots` until `stop`, writing every action to the
/// store as an event and to the audit log. Used by `guard watch` and `up`.
pub fn run_watch(
    data_dir: &Path,
    store: Arc<dyn Store>,
    roots: Vec<PathBuf>,
    opts: WatchOptions,
    block: bool,
    stop: Arc<AtomicBool>,
    say: impl Fn(&str) + Send + 'static,
) -> Result<()> {
    let guard = GuardDir::open(data_dir)?;
    // Refuse to start on a root that is not sealed or whose baseline fails
    // its check, before anything runs.
    let mut baselines = Vec::new();
    for r in &roots {
        baselines.push(
            guard
                .baseline(r)
                .with_context(|| format!("cannot guard {}", r.display()))?,
        );
    }
    // Blocking mode denies writes in the kernel; detect-and-restore keeps
    // running underneath it, and alone where blocking is not available.
    let blocker = if block {
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
                    .spawn(move || follow_windows(b, &data_dir, baselines, &stop))?,
            )
        }
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let recorder = {
        let store = store.clone();
        std::thread::Builder::new()
            .name("guard-events".into())
            .spawn(move || record(rx, store, say))?
    };
    let result = watch::watch(&guard, &roots, &opts, tx, stop.clone());
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
    fn protect(&mut self, b: &Baseline) -> Result<usize, shouwang_guard::block::BlockError>;
    fn unprotect(&mut self, root: &Path) -> Result<usize, shouwang_guard::block::BlockError>;
}

impl KernelBlock for shouwang_guard::block::Blocker {
    fn protect(&mut self, b: &Baseline) -> Result<usize, shouwang_guard::block::BlockError> {
        shouwang_guard::block::Blocker::protect(self, b)
    }
    fn unprotect(&mut self, root: &Path) -> Result<usize, shouwang_guard::block::BlockError> {
        shouwang_guard::block::Blocker::unprotect(self, root)
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
                        tracing::warn!(root = %b.root.display(), "cannot reload the baseline: {e:#}")
                    }
                }
                lifted[i] = false;
                sealed[i] = manifest_time(b);
            }
        }
    }
}

fn start_blocking(
    baselines: &[Baseline],
    say: &impl Fn(&str),
) -> Option<shouwang_guard::block::Blocker> {
    match shouwang_guard::block::Blocker::start() {
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
                    if let Some(ev) = shouwang_guard::event::to_event(&r) {
                        say(&format!(
                            "{} {}",
                            ev.time.with_timezone(&chrono::Local).format("%H:%M:%S%.3f"),
                            ev.summary
                        ));
                        audit.push(json!({ "path": r.path, "root": r.root, "kind": ev.kind }));
                        events.push(ev);
                    }
                }
                Message::Notice(n) => {
                    let text = match &n {
                        Notice::Started { backend, roots } => {
                            format!("guarding {} web root(s) with {backend:?}", roots.len())
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
mod block_window_tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what the follower asked of the kernel.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl KernelBlock for Recorder {
        fn protect(&mut self, b: &Baseline) -> Result<usize, shouwang_guard::block::BlockError> {
            let n = b.manifest.entries.len();
            self.0.lock().unwrap().push(format!("protect {n}"));
            Ok(n)
        }
        fn unprotect(&mut self, _root: &Path) -> Result<usize, shouwang_guard::block::BlockError> {
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
