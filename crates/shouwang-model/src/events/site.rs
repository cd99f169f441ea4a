//! 网站巡查: one event per inspection, one per homepage probe.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const SENSOR: &str = "site";

/// An inspection finished (its findings are recorded beside it).
pub const INSPECTED: &str = "site.inspected";
/// One visit to a homepage by the availability schedule.
pub const PROBE: &str = "site.probe";

pub const KINDS: &[&str] = &[INSPECTED, PROBE];

/// Every site finding's check id starts so (`site.dark-link`,
/// `site.pii.id-number`, ...).
pub const CHECK_PREFIXES: &[&str] = &["site."];

/// A page made the HTML parser build far more elements than it wrote (the
/// rules rebuild every formatting element left open in each later block);
/// the part past the budget was not checked.
pub const PAGE_TOO_COMPLEX: &str = "site.page-too-complex";

/// A time budget ran out (the inspection's, or one other host's): the
/// pages and references not checked by then are named, not passed.
pub const TIME_BUDGET: &str = "site.time-budget";

/// The homepage redirected off the site's hosts: the target is recorded,
/// not crawled (nor followed at all when it is this machine).
pub const OFFSITE_REDIRECT: &str = "site.offsite-redirect";
/// Links or redirects to this machine or the link-local network, on a
/// site not marked as our own: not connected to.
pub const LOCAL_TARGET: &str = "site.local-target";
/// Links and resources on other hosts that gave no answer at all (the name
/// did not resolve, the connection failed or timed out): they could not be
/// verified, and are not counted as broken. One finding for them all: a
/// machine without internet access (政务外网) reaches no other host.
pub const EXTERNAL_UNVERIFIED: &str = "site.external-unverified";

/// The details field that says whether a probe succeeded, for the store's
/// rollup and the incident rules' outage condition.
pub const PROBE_OK_FIELD: &str = "ok";

/// How the homepage answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HomepageStatus {
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    pub final_url: String,
    /// Every URL on the way, when the homepage redirected.
    pub redirects: Vec<String>,
    pub error: Option<String>,
}

/// The details of `site.inspected`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Inspected {
    /// HTML pages fetched and analysed.
    pub pages: u64,
    /// Distinct references checked.
    pub refs_checked: u64,
    /// References found on all pages, counting repeats.
    pub links_found: u64,
    pub broken_on_homepage: u64,
    pub broken_elsewhere: u64,
    pub homepage: Option<HomepageStatus>,
    /// Findings of the run per check id.
    pub findings_by_check: BTreeMap<String, u64>,
    /// Limits that cut the crawl short.
    pub limits_hit: Vec<String>,
    pub duration_ms: i64,
    /// The estimated score out of 100 against 国办秘函〔2019〕19号
    /// (`shouwang_site::score`); `None` when the homepage could not be
    /// reached, or for runs recorded before the score was kept.
    pub score: Option<f64>,
}

impl Inspected {
    pub fn findings(&self) -> u64 {
        self.findings_by_check.values().sum()
    }
}

/// The details of `site.probe`: one visit to a homepage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Probe {
    pub ok: bool,
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    pub error: Option<String>,
}
