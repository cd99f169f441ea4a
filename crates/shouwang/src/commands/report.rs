//! `shouwang report selfcheck|incident|ledger`: documents from what
//! Shouwang recorded (see the `shouwang-report` crate).
//!
//! Reports read the store as it is; incidents are those the engine has
//! opened (`shouwang up` runs it continuously, `shouwang incident sync`
//! once). The unit profile comes from the console's editor, else the
//! config's `[unit]` (one place decides: `incident::unit`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use shouwang_model::ReportStage;
use shouwang_report::{Options, Period};

use super::{Access, Ctx, Outcome};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// 网络安全自查报告 for a period, as DOCX (HTML when -o ends in .html);
    /// every figure from the store, with an appendix of the evidence
    Selfcheck(SelfcheckArgs),
    /// 事件报告 (first or follow-up) or 调查评估报告 (summary) of an incident
    Incident(IncidentArgs),
    /// 台账: assets, checks, findings and incidents as one XLSX workbook
    Ledger(LedgerArgs),
}

#[derive(Debug, Args)]
pub struct SelfcheckArgs {
    /// First day of the period (YYYY-MM-DD, Beijing time)
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// Last day of the period, included (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub to: NaiveDate,
    /// The unit's own .docx with placeholders such as {{unit.name}} and
    /// {{table:open_findings}} (see docs/report-templates.md)
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Where to write: FILE.docx, or FILE.html for a web page
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Print the report's facts as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    /// 首次报告
    First,
    /// 续报
    FollowUp,
    /// 调查评估报告 / 总结报告
    Summary,
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// The incident's number (`shouwang incident list`)
    pub id: i64,
    #[arg(long, value_enum, default_value_t = StageArg::First)]
    pub stage: StageArg,
    /// Where to write: FILE.docx, or FILE.html
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Print the report's facts as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// Where to write the workbook (FILE.xlsx)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(ctx: &Ctx, command: ReportCommand) -> Result<Outcome> {
    match command {
        ReportCommand::Selfcheck(a) => selfcheck(ctx, a),
        ReportCommand::Incident(a) => incident(ctx, a),
        ReportCommand::Ledger(a) => ledger(ctx, a),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Docx,
    Html,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("docx") => Ok(Format::Docx),
        Some("html" | "htm") => Ok(Format::Html),
        _ => bail!(
            "cannot tell the format of {}: name it FILE.docx (Word/WPS) or FILE.html",
            path.display()
        ),
    }
}

/// Write the file whole, so a reader never sees half a report.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    shouwang_store::replace_file(path, bytes, 0o644)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `--json`: where the report went, its size, and the facts it was made of.
fn print_written(output: &Path, bytes: usize, facts: &impl serde::Serialize) -> Result<()> {
    output::print_json(&serde_json::json!({ "output": output, "bytes": bytes, "facts": facts }))
}

fn options(loaded: &shouwang_config::Loaded, store: &dyn shouwang_store::Store) -> Result<Options> {
    Ok(Options {
        policy: Some(super::incident::policy(loaded, store)?),
        ..Options::default()
    })
}

fn selfcheck(ctx: &Ctx, a: SelfcheckArgs) -> Result<Outcome> {
    let format = format_of(&a.output)?;
    let period = Period::days(a.from, a.to).with_context(|| {
        format!(
            "the period is empty: --to {} is before --from {}",
            a.to, a.from
        )
    })?;
    if a.template.is_some() && format != Format::Docx {
        bail!("--template fills a .docx: write the report to FILE.docx");
    }
    // Read the template before the store, so a wrong path fails at once.
    let template = match &a.template {
        Some(p) => Some(
            std::fs::read(p)
                .with_context(|| format!("cannot read the template {}", p.display()))?,
        ),
        None => None,
    };
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let unit = super::incident::unit(&loaded, store.as_ref())?;
    let opts = options(&loaded, store.as_ref())?;
    let facts = shouwang_report::selfcheck_facts(store.as_ref(), &unit, period, &opts)
        .context("cannot collect the report's figures")?;
    let bytes = match (format, &template, &a.template) {
        (Format::Html, _, _) => shouwang_report::selfcheck_html(&facts)?.into_bytes(),
        (Format::Docx, Some(t), Some(p)) => {
            shouwang_report::selfcheck_docx_with_template(&facts, t, &p.display().to_string())?
        }
        _ => shouwang_report::selfcheck_docx(&facts)?,
    };
    write_file(&a.output, &bytes)?;
    if a.json {
        print_written(&a.output, bytes.len(), &facts)?;
    } else {
        let rows: Vec<Vec<String>> = facts
            .figures
            .iter()
            .map(|f| {
                vec![
                    f.area.clone(),
                    f.label.clone(),
                    f.display.clone(),
                    f.source.zh().to_string(),
                ]
            })
            .collect();
        let mut text = format!(
            "网络安全自查报告 {} → {} ({} bytes)\n\n",
            facts.period.zh(),
            a.output.display(),
            bytes.len()
        );
        text.push_str(&output::table(
            &["AREA", "FIGURE", "VALUE", "SOURCE"],
            &rows,
        ));
        if !unit.is_named() {
            text.push_str(
                "\nThe unit has no name yet: set [unit] name in the config (or in the console) so the report names it.\n",
            );
        }
        output::print(&text)?;
    }
    Ok(Outcome::Clean)
}

fn incident(ctx: &Ctx, a: IncidentArgs) -> Result<Outcome> {
    let format = format_of(&a.output)?;
    let stage = match a.stage {
        StageArg::First => ReportStage::First,
        StageArg::FollowUp => ReportStage::FollowUp,
        StageArg::Summary => ReportStage::Summary,
    };
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let unit = super::incident::unit(&loaded, store.as_ref())?;
    let opts = options(&loaded, store.as_ref())?;
    let facts = shouwang_report::incident_facts(store.as_ref(), &unit, a.id, stage, &opts)?;
    let bytes = match format {
        Format::Docx => shouwang_report::incident_docx(&facts)?,
        Format::Html => shouwang_report::incident_html(&facts)?.into_bytes(),
    };
    write_file(&a.output, &bytes)?;
    if a.json {
        print_written(&a.output, bytes.len(), &facts)?;
    } else {
        let to_fill = facts
            .fields
            .iter()
            .filter(|f| f.source == shouwang_report::Source::Declared)
            .count();
        output::print(&format!(
            "{}（事件 {}）→ {}\n{} of {} items come from the record; {} are for the reporter to fill in.\n",
            stage.zh(),
            a.id,
            a.output.display(),
            facts.fields.len() - to_fill,
            facts.fields.len(),
            to_fill
        ))?;
    }
    Ok(Outcome::Clean)
}

fn ledger(ctx: &Ctx, a: LedgerArgs) -> Result<Outcome> {
    if !a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
    {
        bail!(
            "the ledger is an Excel workbook: name it FILE.xlsx (not {})",
            a.output.display()
        );
    }
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let unit = super::incident::unit(&loaded, store.as_ref())?;
    let opts = options(&loaded, store.as_ref())?;
    let bytes = shouwang_report::ledger_xlsx(store.as_ref(), &unit, &opts)?;
    write_file(&a.output, &bytes)?;
    output::print(&format!(
        "台账 (资产台账, 检查台账, 发现项明细, 事件台账) → {}\n",
        a.output.display()
    ))?;
    Ok(Outcome::Clean)
}
