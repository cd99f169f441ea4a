//! `shouwang host check|diff|rules`: host self-inspection. Runs are kept
//! and recorded by `shouwang_host::runs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use shouwang_host::engine::{self, Verdict};
use shouwang_host::{Root, RuleSet, runs, text};

use super::{Access, Ctx, Outcome};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Run the checks of a profile on this host (or on an offline root);
    /// exit 1 when a check fails
    Check(CheckArgs),
    /// Show what changed between two runs (default: this host's last two)
    Diff {
        /// The earlier run file (from `host-runs/` in the data dir)
        before: Option<PathBuf>,
        /// The later run file
        after: Option<PathBuf>,
        /// Whose last two runs to compare [default: this machine's host name]
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List the rules of a profile, or the profiles
    Rules {
        /// The profile whose rules to list; without it, list the profiles
        #[arg(long)]
        profile: Option<String>,
        /// Rules directory overriding and adding to the built-in rules
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Audit an offline root file system (a mounted image or a chroot),
    /// read-only, instead of the running system
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// dengbao2, dengbao3, terminal, classified, or one from --rules
    #[arg(long, default_value = "dengbao2")]
    pub profile: String,
    /// Rules directory overriding and adding to the built-in rules
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Print the whole run as JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Do not record the run (no data dir, no store): only print it
    #[arg(long)]
    pub no_record: bool,
}

pub fn run(ctx: &Ctx, command: HostCommand) -> Result<Outcome> {
    match command {
        HostCommand::Check(args) => check(ctx, args),
        HostCommand::Diff {
            before,
            after,
            host,
            json,
        } => diff(ctx, before, after, host, json),
        HostCommand::Rules {
            profile,
            rules,
            json,
        } => list_rules(profile.as_deref(), rules.as_deref(), json),
    }
}

fn rule_set(dir: Option<&Path>) -> Result<RuleSet> {
    Ok(match dir {
        Some(d) => RuleSet::with_overrides(d)?,
        None => RuleSet::embedded()?,
    })
}

fn check(ctx: &Ctx, args: CheckArgs) -> Result<Outcome> {
    let rules = rule_set(args.rules.as_deref())?;
    let selected = rules.profile(&args.profile)?;
    let root = match &args.root {
        Some(dir) => {
            if !dir.is_dir() {
                bail!(
                    "--root {}: not a directory; pass the mount point of the image or the chroot",
                    dir.display()
                );
            }
            Root::offline(std::path::absolute(dir)?)
        }
        None => Root::live(),
    };
    let run = shouwang_host::run(&root, &args.profile, &selected);

    if let Some(path) = &args.html {
        std::fs::write(path, shouwang_host::html::render(&run))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    let mut recorded = None;
    if !args.no_record {
        let loaded = ctx.load_config()?;
        let data_dir = ctx.data_dir(&loaded, Access::Create)?.to_path_buf();
        let store = super::open_store(&loaded, &data_dir)?;
        let file = runs::save(&data_dir, &run)?;
        let resolved = runs::record(store.as_ref(), &run, &file)?;
        recorded = Some((file, resolved));
    }
    if args.json {
        output::print_json(&run)?;
    } else {
        let recorded = recorded.as_ref().map(|(file, resolved)| text::Recorded {
            file,
            resolved: *resolved,
        });
        output::print(&text::run(&run, recorded))?;
    }
    Ok(if run.count(Verdict::Fail) > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn diff(
    ctx: &Ctx,
    before: Option<PathBuf>,
    after: Option<PathBuf>,
    host: Option<String>,
    json: bool,
) -> Result<Outcome> {
    let (a, b) = match (before, after) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => {
            let host = host.unwrap_or_else(|| engine::hostname(&Root::live()));
            runs::last_two(ctx.paths.data_dir()?, &host)?
        }
        _ => bail!("name both run files, or none for this host's last two runs"),
    };
    let (ra, rb) = (runs::load(&a)?, runs::load(&b)?);
    let changes = engine::diff(&ra, &rb);
    if json {
        output::print_json(&json!({
            "before": a.display().to_string(),
            "after": b.display().to_string(),
            "score_before": ra.overall.score,
            "score_after": rb.overall.score,
            "changes": changes,
        }))?;
    } else {
        output::print(&text::diff(&ra, &rb, &changes))?;
    }
    let worse = changes
        .iter()
        .any(|c| c.after == Some(Verdict::Fail) && c.before != Some(Verdict::Fail));
    Ok(if worse {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn list_rules(profile: Option<&str>, dir: Option<&Path>, json: bool) -> Result<Outcome> {
    let set = rule_set(dir)?;
    match profile {
        None => {
            let profiles: Vec<_> = set
                .profiles()
                .map(|p| {
                    let n = set.profile(&p.name).map(|r| r.len()).unwrap_or(0);
                    (p, n)
                })
                .collect();
            if json {
                let v: Vec<_> = profiles
                    .iter()
                    .map(|(p, n)| json!({ "name": p.name, "title": p.title, "rules": n }))
                    .collect();
                output::print_json(&v)?;
            } else {
                output::print(&text::profiles(&profiles))?;
            }
        }
        Some(name) => {
            let rules = set.profile(name)?;
            if json {
                output::print_json(&rules)?;
            } else {
                output::print(&text::rules(&rules))?;
            }
        }
    }
    Ok(Outcome::Clean)
}
