//! `shouwang guard`: 网页防篡改 from the command line; `guard watch` runs
//! `shouwang_guard::runtime`, as `shouwang up` does for the roots in the
//! config.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use shouwang_guard::watch::WatchOptions;
use shouwang_guard::{Baseline, ChangeKind, GuardDir, SealRequest, actions, text};

use super::{Access, Ctx, Outcome as Exit, cli_actor};
use crate::cli::{GuardCommand, QuarantineCommand};
use crate::output;
use shouwang_config::Loaded;

pub fn run(ctx: &Ctx, cmd: GuardCommand) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    match cmd {
        GuardCommand::Seal {
            root,
            exclude,
            writable,
            yes,
            json,
        } => {
            let req = SealRequest {
                excludes: exclude,
                writables: writable,
                accept: yes,
                progress: None,
            };
            seal(ctx, &loaded, root, &req, json)
        }
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

fn seal(ctx: &Ctx, loaded: &Loaded, root: PathBuf, req: &SealRequest, json: bool) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Create)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    let counts: Arc<shouwang_guard::scan::Progress> = Arc::default();
    let req = SealRequest {
        progress: Some(counts.clone()),
        ..req.clone()
    };
    let report = output::with_progress(
        !json,
        || text::seal_progress(&counts),
        || actions::seal(&guard, store.as_ref(), &cli_actor(), &root, &req),
    );
    let report = report.with_context(|| format!("cannot seal {}", root.display()))?;
    if json {
        output::print_json(&report)?;
    } else {
        output::print(&text::sealed(&report))?;
    }
    Ok(Exit::Clean)
}

fn list(ctx: &Ctx, loaded: &Loaded, json: bool) -> Result<Exit> {
    let guard = GuardDir::open(ctx.data_dir(loaded, Access::Existing)?)?;
    let baselines: Vec<Baseline> = guard.baselines().into_iter().collect::<Result<_, _>>()?;
    let watched = |b: &Baseline| {
        let roots = &loaded.config.guard.roots;
        roots
            .iter()
            .any(|r| std::fs::canonicalize(r).ok().as_deref() == Some(b.root.as_path()))
    };
    let rows: Vec<(&Baseline, bool)> = baselines.iter().map(|b| (b, watched(b))).collect();
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|(b, w)| text::baseline_json(b, *w))
            .collect();
        output::print_json(&v)?;
    } else if rows.is_empty() {
        output::print("no web root is sealed yet: `shouwang guard seal DIR`\n")?;
    } else {
        output::print(&text::baselines(&rows))?;
    }
    Ok(Exit::Clean)
}

fn check(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf], json: bool) -> Result<Exit> {
    let guard = GuardDir::open(ctx.data_dir(loaded, Access::Existing)?)?;
    let baselines = guard.pick(roots)?;
    let mut any = false;
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for b in &baselines {
        let report = b.check()?;
        any |= !report.unreadable.is_empty()
            || report
                .changes
                .iter()
                .any(|c| c.kind != ChangeKind::WritableAdded);
        rows.extend(text::check_rows(b, &report));
        out.push(text::check_json(b, &report));
    }
    if json {
        output::print_json(&out)?;
    } else if rows.is_empty() {
        output::print(&format!(
            "{} web root(s) match their baselines\n",
            baselines.len()
        ))?;
    } else {
        output::print(&text::check(&rows))?;
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
    let roots = GuardDir::open(&data_dir)?.roots_to_watch(&roots, &loaded.config.guard.roots)?;
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
    for (root, published) in actions::publish(&guard, store.as_ref(), &cli_actor(), paths, all)? {
        output::print(&format!(
            "published {} in {}\n",
            published.join(", "),
            root.display()
        ))?;
    }
    Ok(Exit::Clean)
}

fn pause(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf], window: &str) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    let d = parse_duration(window)?;
    for (root, until) in actions::pause(&guard, store.as_ref(), &cli_actor(), roots, d)? {
        output::print(&format!(
            "{}: maintenance window open until {}; changes are recorded, not undone, and what is not published is undone when it closes\n",
            root.display(),
            text::beijing(until)
        ))?;
    }
    Ok(Exit::Clean)
}

fn resume(ctx: &Ctx, loaded: &Loaded, roots: &[PathBuf]) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    for root in actions::resume(&guard, store.as_ref(), &cli_actor(), roots)? {
        output::print(&format!("{}: maintenance window closed\n", root.display()))?;
    }
    Ok(Exit::Clean)
}

fn restore(ctx: &Ctx, loaded: &Loaded, root: &Path, to: Option<PathBuf>) -> Result<Exit> {
    let data_dir = ctx.data_dir(loaded, Access::Existing)?;
    let store = super::open_store(loaded, data_dir)?;
    let guard = GuardDir::open(data_dir)?;
    let actor = cli_actor();
    match to {
        Some(target) => {
            let (root, n) = actions::restore_to(&guard, store.as_ref(), &actor, root, &target)?;
            output::print(&format!(
                "rebuilt {n} paths of {} into {}\n",
                root.display(),
                target.display()
            ))?;
        }
        None => {
            let results = actions::restore(&guard, store.as_ref(), &actor, root)?;
            let failed = results.iter().filter(|(_, r)| r.is_err()).count();
            for (p, r) in &results {
                match r {
                    Ok(o) => output::print(&format!("{:<12} {p}\n", text::outcome(o)))?,
                    Err(e) => output::print(&format!("{:<12} {p}: {e}\n", "FAILED"))?,
                }
            }
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
            for b in guard.pick(&roots)? {
                all.extend(b.quarantine.list()?);
            }
            if json {
                output::print_json(&all)?;
            } else if all.is_empty() {
                output::print("the quarantine is empty\n")?;
            } else {
                output::print(&text::quarantine(&all))?;
            }
            Ok(Exit::Clean)
        }
        QuarantineCommand::Show { id } => {
            let (b, record) = guard.quarantined(&id)?;
            output::print_json(&record)?;
            let item = b.quarantine.item_path(&id)?;
            if record.kind == "file" {
                // Only what is shown is read: an intruder may be gigabytes.
                let cannot = || format!("cannot read {}", item.display());
                let file = std::fs::File::open(&item).with_context(cannot)?;
                let size = file.metadata().with_context(cannot)?.len();
                let mut shown = Vec::with_capacity(4096);
                file.take(4096)
                    .read_to_end(&mut shown)
                    .with_context(cannot)?;
                output::print(&format!(
                    "--- content (first {} of {size} bytes) ---\n{}\n",
                    shown.len(),
                    String::from_utf8_lossy(&shown)
                ))?;
            }
            Ok(Exit::Clean)
        }
        QuarantineCommand::Release { id } => {
            let store = super::open_store(loaded, data_dir)?;
            let (root, path) = actions::release(&guard, store.as_ref(), &cli_actor(), &id)?;
            output::print(&format!(
                "released {id}: {} is back and part of the baseline\n",
                root.join(&path).display()
            ))?;
            Ok(Exit::Clean)
        }
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
