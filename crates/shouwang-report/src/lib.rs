//! Shouwang's reports: documents generated from what Shouwang measured.
//!
//! - 网络安全自查报告 for a period ([`selfcheck_facts`] →
//!   [`selfcheck_docx`], [`selfcheck_docx_with_template`], [`selfcheck_html`]);
//! - 事件报告 (首次报告, 续报) and the 调查评估报告 of an incident
//!   ([`incident_facts`] → [`incident_docx`], [`incident_html`]);
//! - 台账: asset, check and incident ledgers as XLSX ([`ledger_xlsx`]).
//!
//! Facts come first ([`facts`]): plain serde structs with every figure
//! marked measured or declared and the query and records behind it. The
//! documents are laid out from a small block model ([`doc`]) that both the
//! DOCX writer ([`docx`], plain OOXML in schema order, GB/T 9704 layout)
//! and the HTML renderer share, so they say the same thing. A unit's own
//! .docx template is filled by [`template`].

pub mod collect;
pub mod deadline;
pub mod doc;
pub mod docx;
pub mod facts;
pub mod html;
pub mod template;
pub mod xlsx;

use shouwang_model::{ReportStage, UnitProfile};
use shouwang_store::{Store, StoreError};

pub use collect::Options;
pub use facts::{IncidentReportFacts, Period, SelfCheckFacts, Source};
pub use template::PlaceholderProblem;

/// Everything that can go wrong while making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read the report's data from the store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "incident {0} does not exist. List the incidents in the console (事件处置) to find its number"
    )]
    IncidentNotFound(i64),
    #[error(
        "the template {template} is not a .docx file ({detail}). Save it from Word or WPS as \"Word 文档 (*.docx)\""
    )]
    NotDocx { template: String, detail: String },
    #[error("{}", template::describe(template, problems))]
    Template {
        template: String,
        problems: Vec<PlaceholderProblem>,
    },
    #[error("cannot write the document: {0}")]
    Write(String),
    #[error("cannot render the HTML report: {0}")]
    Html(String),
    #[error("cannot write the XLSX ledger: {0}")]
    Xlsx(String),
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// The facts of the 网络安全自查报告 for `period`.
pub fn selfcheck_facts(
    store: &dyn Store,
    unit: &UnitProfile,
    period: Period,
    opts: &Options,
) -> Result<SelfCheckFacts> {
    collect::selfcheck(store, unit, period, opts)
}

/// The built-in 自查报告 as DOCX bytes.
pub fn selfcheck_docx(facts: &SelfCheckFacts) -> Result<Vec<u8>> {
    docx::write(&doc::selfcheck(facts))
}

/// The 自查报告 filled into a unit's own .docx template (`name` is used in
/// error messages, e.g. the file name).
pub fn selfcheck_docx_with_template(
    facts: &SelfCheckFacts,
    template: &[u8],
    name: &str,
) -> Result<Vec<u8>> {
    template::fill(template, name, &doc::SelfCheckValues::new(facts))
}

/// The 自查报告 as one self-contained HTML page.
pub fn selfcheck_html(facts: &SelfCheckFacts) -> Result<String> {
    html::render(&doc::selfcheck(facts))
}

/// The facts of an incident report at a stage.
pub fn incident_facts(
    store: &dyn Store,
    unit: &UnitProfile,
    id: i64,
    stage: ReportStage,
    opts: &Options,
) -> Result<IncidentReportFacts> {
    collect::incident_report(store, unit, id, stage, opts)
}

/// The 事件报告 (first, follow-up) or 调查评估报告 (summary) as DOCX bytes.
pub fn incident_docx(facts: &IncidentReportFacts) -> Result<Vec<u8>> {
    docx::write(&doc::incident(facts))
}

/// The incident report as one self-contained HTML page.
pub fn incident_html(facts: &IncidentReportFacts) -> Result<String> {
    html::render(&doc::incident(facts))
}

/// The ledgers (资产台账, 检查台账, 发现项明细, 事件台账) as XLSX bytes.
pub fn ledger_xlsx(store: &dyn Store, unit: &UnitProfile, opts: &Options) -> Result<Vec<u8>> {
    xlsx::ledgers(store, unit, opts)
}
