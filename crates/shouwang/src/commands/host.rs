//! `shouwang host check|diff|rules`: host self-inspection. Runs are kept
//! and recorded by `shouwang_host::runs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use shouwang_host::engine::{self, Change, Verdict};
use shouwang_host::{Root, RuleSet, Run, runs};
use shouwang_model::text::shorten;

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
        output::print(&render_run(&run, recorded.as_ref()))?;
    }
    Ok(if run.count(Verdict::Fail) > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn render_run(run: &Run, recorded: Option<&(PathBuf, usize)>) -> String {
    let mut rows: Vec<&engine::CheckResult> = run.results.iter().collect();
    rows.sort_by_key(|r| {
        (
            r.verdict != Verdict::Fail,
            r.verdict != Verdict::CannotCheck,
            std::cmp::Reverse(r.severity),
            r.id.clone(),
        )
    });
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("{} {}", r.verdict.as_str(), r.verdict.zh()),
                r.severity.zh().to_string(),
                r.id.clone(),
                r.title.zh.clone(),
                shorten(&r.summary, 89),
            ]
        })
        .collect();
    let mut out = output::table(&["RESULT", "SEV", "RULE", "TITLE", "SEEN"], &table_rows);
    out.push('\n');
    let failed: Vec<&&engine::CheckResult> =
        rows.iter().filter(|r| r.verdict == Verdict::Fail).collect();
    if !failed.is_empty() {
        out.push_str("Evidence and fixes 证据与整改:\n");
        for r in failed {
            out.push_str(&format!("\n[{}] {} ({})\n", r.id, r.title.zh, r.clause));
            for e in r.evidence.iter().take(5) {
                out.push_str(&format!("  {}\n", shorten(&e.to_string(), 159)));
            }
            if r.evidence.len() > 5 {
                out.push_str(&format!("  … {} more\n", r.evidence.len() - 5));
            }
            out.push_str(&format!("  fix: {}\n", r.fix.zh));
            if let Some(c) = &r.fix.command {
                out.push_str(&format!("       {c}\n"));
            }
        }
        out.push('\n');
    }
    let score_rows: Vec<Vec<String>> = run
        .scores
        .iter()
        .map(|s| {
            vec![
                s.control.clone(),
                s.name.clone(),
                s.pass.to_string(),
                s.fail.to_string(),
                s.cannot_check.to_string(),
                format!("{:.1}", s.score),
            ]
        })
        .collect();
    out.push_str(&output::table(
        &["等保", "CONTROL", "PASS", "FAIL", "CANNOT", "SCORE"],
        &score_rows,
    ));
    let mut pairs = vec![
        ("host", format!("{} ({})", run.host, run.os)),
        (
            "root",
            format!(
                "{}{}",
                run.root,
                if run.live { " (live)" } else { " (offline)" }
            ),
        ),
        ("profile", run.profile.clone()),
        (
            "result",
            format!(
                "score {:.1}; {} pass, {} fail, {} could not check; {} ms",
                run.overall.score,
                run.count(Verdict::Pass),
                run.count(Verdict::Fail),
                run.count(Verdict::CannotCheck),
                run.duration_ms
            ),
        ),
    ];
    if let Some((file, resolved)) = recorded {
        pairs.push(("recorded", file.display().to_string()));
        if *resolved > 0 {
            pairs.push(("resolved", format!("{resolved} findings now pass")));
        }
    }
    out.push('\n');
    out.push_str(&output::key_values(&pairs));
    out
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
            let data_dir = ctx.paths.data_dir()?;
            let host = host.unwrap_or_else(|| engine::hostname(&Root::live()));
            let dir = runs::dir(data_dir, &host);
            let mut runs: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| {
                    format!(
                        "no runs of {host} in {}: run `shouwang host check` first",
                        dir.display()
                    )
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            runs.sort();
            if runs.len() < 2 {
                bail!(
                    "{} holds {} run(s) of {host}; `host diff` needs two (or name two run files)",
                    dir.display(),
                    runs.len()
                );
            }
            let b = runs.pop().unwrap_or_default();
            let a = runs.pop().unwrap_or_default();
            (a, b)
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
        output::print(&render_diff(&ra, &rb, &changes))?;
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

fn render_diff(a: &Run, b: &Run, changes: &[Change]) -> String {
    let v = |x: Option<Verdict>| x.map_or("-".to_string(), |v| v.as_str().to_string());
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                format!("{} -> {}", v(c.before), v(c.after)),
                shorten(c.after_summary.as_deref().unwrap_or(""), 79),
            ]
        })
        .collect();
    let mut out = format!(
        "{}: {} UTC ({}) -> {} UTC ({}): score {:.1} -> {:.1}\n\n",
        b.host,
        a.started_at.format("%Y-%m-%d %H:%M:%S"),
        a.profile,
        b.started_at.format("%Y-%m-%d %H:%M:%S"),
        b.profile,
        a.overall.score,
        b.overall.score
    );
    if changes.is_empty() {
        out.push_str("no change\n");
    } else {
        out.push_str(&output::table(&["RULE", "CHANGE", "NOW"], &rows));
    }
    out
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
                let rows: Vec<Vec<String>> = profiles
                    .iter()
                    .map(|(p, n)| vec![p.name.clone(), n.to_string(), p.title.zh.clone()])
                    .collect();
                output::print(&output::table(&["PROFILE", "RULES", "TITLE"], &rows))?;
            }
        }
        Some(name) => {
            let rules = set.profile(name)?;
            if json {
                output::print_json(&rules)?;
            } else {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.clause.clone(),
                            r.severity.zh().to_string(),
                            r.title.zh.clone(),
                        ]
                    })
                    .collect();
                output::print(&output::table(&["RULE", "等保", "SEV", "TITLE"], &rows))?;
            }
        }
    }
    Ok(Outcome::Clean)
}
