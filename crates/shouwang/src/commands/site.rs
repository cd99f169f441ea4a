//! `shouwang site inspect|add|list`: website inspection.
//!
//! `site inspect URL` is a one-shot: no config, data dir or store needed,
//! it prints what it finds (and writes an HTML report with --html). With
//! --record, and always with --all, the findings and the run's summary
//! event go into the store, and findings of the site that were not seen
//! again are marked resolved (by [`shouwang_site::runtime`], which also
//! runs the schedule and the probes of `shouwang up`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use shouwang_site::InspectOptions;
use shouwang_site::runtime::{self, AddedBy, Target, stored_report, websites};

use super::{Access, Ctx, Outcome, cli_actor};
use crate::cli::JsonArg;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Inspect a website now: crawl it, check every link, image and
    /// attachment, and look for what inspectors and attackers find first;
    /// exit 1 when anything is found
    Inspect(InspectArgs),
    /// Add a website to the sites `site inspect --all` inspects
    Add {
        /// The homepage, e.g. https://www.example.gov.cn/
        url: String,
        /// A human name, e.g. 某某镇人民政府网站
        #[arg(long)]
        name: Option<String>,
        /// The site is our own: do not consult robots.txt, do not space
        /// requests
        #[arg(long)]
        own: bool,
    },
    /// List the websites added with `site add`
    List(JsonArg),
    /// What the store says of the sites: the last inspection's counts and
    /// the findings still open (exit 1 when there are any)
    Report {
        /// One site's homepage; all sites when left out
        url: Option<String>,
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML report to FILE (one site)
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The homepage, e.g. https://www.example.gov.cn/
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub url: Option<String>,
    /// Inspect every site added with `site add` (and record the results)
    #[arg(long)]
    pub all: bool,
    /// Print JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to FILE
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub html: Option<PathBuf>,
    /// A human name for the report
    #[arg(long)]
    pub name: Option<String>,
    /// The site is our own: do not consult robots.txt, do not space requests
    #[arg(long)]
    pub own: bool,
    /// Another host name that belongs to the site (repeatable), e.g. the
    /// host its attachments are served from
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Pages crawled at most [default: [site] max_pages, 2000]
    #[arg(long, value_name = "N")]
    pub max_pages: Option<usize>,
    /// Do not check links to other sites
    #[arg(long)]
    pub no_external: bool,
    /// Skip the HTTPS, certificate and IPv6 checks
    #[arg(long)]
    pub no_transport: bool,
    /// Record the findings and the run in the store
    #[arg(long)]
    pub record: bool,
}

pub fn run(ctx: &Ctx, command: SiteCommand) -> Result<Outcome> {
    match command {
        SiteCommand::Inspect(args) => inspect(ctx, args),
        SiteCommand::Add { url, name, own } => add(ctx, &url, name, own),
        SiteCommand::List(a) => list(ctx, a.json),
        SiteCommand::Report { url, json, html } => report(ctx, url.as_deref(), json, html),
    }
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let config = &loaded.config.site;
    let dictionary = Arc::new(config.dictionary()?);
    let record = args.record || args.all;
    let store = if args.all {
        Some(ctx.open_store(&loaded, Access::Existing)?)
    } else if record {
        Some(ctx.open_store(&loaded, Access::Create)?)
    } else {
        None
    };
    // Snapshots for the defacement comparison live in the data dir, next
    // to the store; a one-shot run without --record keeps none.
    let snapshots = match &store {
        Some(_) => {
            let access = if args.all {
                Access::Existing
            } else {
                Access::Create
            };
            Some(ctx.data_dir(&loaded, access)?.join("site-snapshots"))
        }
        None => None,
    };
    let targets = match (&args.url, &store) {
        (Some(url), _) => vec![Target {
            url: InspectOptions::parse_url(url)?,
            name: args.name.clone(),
            own: args.own,
        }],
        (None, Some(store)) => {
            let targets = runtime::stored_targets(store.as_ref(), args.own)?;
            if targets.is_empty() {
                bail!("no websites to inspect: add one with `shouwang site add URL`");
            }
            targets
        }
        (None, None) => bail!("name a URL to inspect, or use --all"),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shouwang-site")
        .build()
        .context("cannot start the async runtime")?;
    // Sites from the store are there already; one named on the command line
    // is added by whoever ran this.
    let added_by = (!args.all).then(|| AddedBy {
        actor: cli_actor(),
        by: "site inspect --record",
    });
    let mut reports = Vec::new();
    for t in targets {
        let mut opts = config.options(t.url.clone(), dictionary.clone());
        opts.name = t.name.clone();
        opts.own_site = t.own;
        opts.extra_hosts = args.hosts.clone();
        if let Some(n) = args.max_pages {
            opts.max_pages = n.max(1);
        }
        if args.no_external {
            opts.check_external = false;
        }
        if args.no_transport {
            opts.transport_checks = false;
        }
        tracing::info!(site = %t.url, "inspecting");
        let progress = opts.progress.clone();
        let mut report = output::with_progress(
            !args.json,
            || format!("{}  {}", t.url, progress.snapshot().line_zh()),
            || runtime.block_on(shouwang_site::inspect(opts)),
        )
        .with_context(|| format!("cannot inspect {}", t.url))?;
        if let (Some(store), Some(dir)) = (&store, &snapshots) {
            runtime::record_run(
                store.as_ref(),
                dir,
                &mut report,
                &t,
                added_by.as_ref(),
                &dictionary,
            )?;
        }
        reports.push(report);
    }

    if let Some(path) = &args.html
        && let Some(report) = reports.first()
    {
        std::fs::write(path, shouwang_site::render_html(report))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    if args.json {
        if reports.len() == 1 {
            output::print_json(&reports[0])?;
        } else {
            output::print_json(&reports)?;
        }
    } else {
        let text: String = reports
            .iter()
            .map(shouwang_site::text::report)
            .collect::<Vec<_>>()
            .join("\n");
        output::print(&text)?;
    }
    Ok(if reports.iter().any(|r| !r.findings.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn add(ctx: &Ctx, url: &str, name: Option<String>, own: bool) -> Result<Outcome> {
    let url = InspectOptions::parse_url(url)?;
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Create)?;
    let added = runtime::add_site(
        store.as_ref(),
        url.as_str(),
        &name.unwrap_or_default(),
        own,
        &cli_actor(),
        None,
    )
    .context("cannot add the site")?;
    let done = match added {
        runtime::Added::New => "added",
        runtime::Added::AlreadyListed => "already listed, updated",
    };
    output::print(&format!(
        "{done} {url}{}; inspect it with `shouwang site inspect --all`\n",
        if own { " (our own site)" } else { "" }
    ))?;
    Ok(Outcome::Clean)
}

fn list(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let rows = runtime::site_rows(store.as_ref())?;
    if json {
        output::print_json(&rows)?;
    } else {
        output::print(&shouwang_site::text::sites(&rows))?;
    }
    Ok(Outcome::Clean)
}

fn report(ctx: &Ctx, url: Option<&str>, json: bool, html: Option<PathBuf>) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let mut sites = websites(store.as_ref())?;
    if let Some(url) = url {
        let wanted = InspectOptions::parse_url(url)?;
        sites.retain(|a| a.id.locator == wanted.as_str());
        if sites.is_empty() {
            bail!("{wanted} is not among the sites; add it with `shouwang site add {wanted}`");
        }
    }
    let mut reports = Vec::new();
    let mut never = Vec::new();
    for a in &sites {
        match stored_report(store.as_ref(), a)? {
            Some(r) => reports.push(r),
            None => never.push(a.id.locator.clone()),
        }
    }
    if let Some(path) = &html {
        let Some(first) = reports.first() else {
            bail!("no inspection recorded yet: run `shouwang site inspect --all`");
        };
        std::fs::write(path, shouwang_site::render_html(first))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    if json {
        output::print_json(&reports)?;
    } else {
        let mut text: String = reports
            .iter()
            .map(shouwang_site::text::report)
            .collect::<Vec<_>>()
            .join("\n");
        for n in &never {
            text.push_str(&format!(
                "{n}: not inspected yet (shouwang site inspect --all)\n"
            ));
        }
        output::print(&text)?;
    }
    Ok(if reports.iter().any(|r| !r.findings.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
