//! `shouwang guard`: 网页防篡改 from the command line; `guard watch` runs
//! `shouwang_guard::runtime`, as `shouwang up` does for the roots in the
//! config.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use shouwang_guard::watch::WatchOptions;
use shouwang_guard::{Baseline, ChangeKind, GuardDir, Outcome, SealOptions};
use shouwang_store::NewAuditEntry;

use super::{Access, Ctx, Outcome as Exit, cli_actor};
use crate::cli::{GuardCommand, QuarantineCommand};
use crate::config::Loaded;
use crate::output;

pub fn run(ctx: &Ctx, cmd: GuardCommand) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    match cmd {
        GuardCommand::Seal {
            root,
            exclude,
            writable,
            json,
        } => seal(ctx, &loaded, root, exclude, writable, json),
        GuardCommand::List(a) => list(ctx, &loaded, a.json),
        GuardCommand::Check { roots, json } => check(ctx, &loaded, &roots, json),
        GuardCommand::Watch {
            roots,
            inotify,
            block,
        } => watch(ctx, &loaded, roots, inotify, block),
        GuardCommand::Publish { paths, all } => publish(ctx, &loaded, &paths, all),
        GuardCommand::Pause { roots, r#for } => pause(ctx, &loaded, &roots, &r#for),
        GuardCommand::Resume { roots } => resume(ctx, &loaded, &roots),
        GuardCommand::Restore { root, to } => restore(ctx, &loaded, &root, to),
        GuardCommand::Quarantine(q) => quarantine(ctx, &loaded, q),
    }
}

fn seal(
    ctx: &Ctx,
    loaded: &Loaded,
    root: PathBuf,
    exclude: Vec<String>,
    writable: Vec<String>,
    json: bool,
) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Create)?;
    let store = super::open_store(loaded, data_dir)?;
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

fn list(ctx: &Ctx, loaded: &Loaded, json: bool) -> Result<Exit> {
    let guard = GuardDir::open(ctx.data_dir(loaded, Access::Existing)?)?;
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
        let watched = loaded
            .config
            .guard
            .roots
            .iter()
            .any(|r| std::fs::canonicalize(r).ok().as_deref() == Some(b.root.as_path()));
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
    if json {
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

fn check(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf], json: bool) -> Result<Exit> {
    let guard = GuardDir::open(ctx.data_dir(loaded, Access::Existing)?)?;
    let baselines = pick(&guard, roots)?;
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

fn watch(
    ctx: &Ctx,
    loaded: &Loaded,
    roots: Vec<PathBuf>,
    inotify: bool,
    block: bool,
) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?.to_path_buf();
    let store = super::open_store(loaded, &data_dir)?;
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
    let config = shouwang_guard::GuardConfig {
        roots,
        block: block || loaded.config.guard.block,
        ..loaded.config.guard.clone()
    };
    let opts = WatchOptions {
        force_inotify: inotify,
    };
    shouwang_guard::runtime::run(&data_dir, &config, &opts, store, stop, |line| {
        let _ = output::print(&format!("{line}\n"));
    })?;
    Ok(Exit::Clean)
}

fn publish(ctx: &Ctx, loaded: &Loaded, paths: &[PathBuf], all: bool) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    if paths.is_empty() {
        bail!("name what to publish: paths under a sealed web root, or web roots with --all");
    }
    for p in paths {
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

fn pause(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf], window: &str) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    let d = parse_duration(window)?;
    for b in pick(&guard, roots)? {
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

fn resume(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf]) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    for b in pick(&guard, roots)? {
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

fn restore(ctx: &Ctx, loaded: &Loaded, root: &Path, to: Option<PathBuf>) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    let b = guard.baseline(root)?;
    match to {
        Some(target) => {
            let n = guard.restore_to(&b, &target)?;
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

fn quarantine(ctx: &Ctx, loaded: &Loaded, q: QuarantineCommand) -> Result<Exit> {
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
