//! Website inspection: find on a unit's own sites what government-site
//! inspectors and attackers would find first.
//!
//! [`inspect`] crawls a site politely (per-host concurrency and spacing,
//! robots.txt unless the site is our own, depth, page and size limits,
//! timeouts), checks every link, image, script, stylesheet and attachment
//! it finds, and runs the content checks on every page: blank pages,
//! articles and columns, stale columns, wording, personal information,
//! dark links and spam, script redirects, pages shown differently to
//! search engines, footer identity marks, HTTPS, certificates and IPv6.
//! Each problem is a [`NewFinding`](shouwang_model::NewFinding) of sensor
//! `site`; the run is summed up in one [`NewEvent`](shouwang_model::NewEvent).

mod address;
pub mod availability;
/// The site sensor's event kinds, check-id prefixes and details (the types
/// live in the model, which the console and the report read them from).
pub mod events {
    pub use shouwang_model::events::site::*;
}
mod cert;
mod checks;
mod config;
mod crawl;
pub mod dates;
mod decode;
mod fetch;
mod html;
pub mod page;
mod parse;
pub mod progress;
pub mod runtime;
pub mod score;
mod snapshot;
mod template;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{AssetKind, AssetRef, NewEvent, NewFinding, Provenance, Severity};

pub use checks::{StaleRule, default_stale_rules};
pub use config::{SiteConfig, SiteConfigError, next_run};
pub use decode::decode;
pub use html::render_html;
pub use shouwang_scan::Dictionary;
pub use snapshot::{PageSnapshot, SiteSnapshot};
pub use url::Url;

/// The sensor name on every finding and event of this crate.
pub const SENSOR: &str = events::SENSOR;

/// What can stop an inspection before it starts, or keeping its result
/// (see [`runtime`]). Everything that goes wrong while crawling is a
/// finding instead.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(
        "{0:?} is not a website address: {1}. Give a full URL such as https://www.example.gov.cn/"
    )]
    BadUrl(String, String),
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Config(#[from] SiteConfigError),
    /// `what` says what could not be done, e.g. "cannot record the
    /// findings"; the store's error says why.
    #[error("{what}")]
    Store {
        what: &'static str,
        #[source]
        source: shouwang_store::StoreError,
    },
    #[error("cannot {doing} {}", path.display())]
    Snapshot {
        doing: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Panicked(#[from] shouwang_store::Panicked),
}

/// How to inspect a site. [`InspectOptions::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// The homepage.
    pub url: Url,
    /// A human name, e.g. 某某镇人民政府网站.
    pub name: Option<String>,
    /// Our own site: robots.txt is not consulted and the crawl may go
    /// faster.
    pub own_site: bool,
    /// Host names besides the homepage's that belong to the site.
    pub extra_hosts: Vec<String>,
    /// Names connected to at these addresses instead of those DNS gives
    /// (a site served from an address its name does not point to yet);
    /// judged as resolved addresses are.
    pub dns_overrides: std::collections::HashMap<String, Vec<std::net::IpAddr>>,
    pub max_pages: usize,
    pub max_depth: usize,
    /// Links, images and other references checked at most.
    pub max_refs: usize,
    /// Requests in flight at once, in all.
    pub concurrency: usize,
    /// Requests in flight at once to one host.
    pub per_host_concurrency: usize,
    /// Least time between the starts of two requests to one host.
    pub per_host_delay: Duration,
    /// Per request, including the body. The inspection rules count a visit
    /// that has not opened after 15 s as failed.
    pub timeout: Duration,
    /// The whole inspection, at most: requests not made by then are not
    /// made, and the finding `site.time-budget` says what was not checked.
    pub max_duration: Duration,
    /// Request time each host other than the site's own may take in all
    /// (a host that accepts connections and never answers would hold every
    /// check of a link to it for the whole timeout).
    pub host_budget: Duration,
    /// Bytes of one page read at most; the rest is not looked at.
    pub max_page_bytes: usize,
    /// Download the site's own attachments (DOCX, XLSX, PDF, DOC, XLS, …)
    /// and look for personal information in them.
    pub scan_attachments: bool,
    /// Bytes of one attachment read at most.
    pub max_attachment_bytes: usize,
    /// Check links to other sites too (not crawled, only checked).
    pub check_external: bool,
    /// HTTPS offered, HTTP → HTTPS redirect, certificate expiry, IPv6.
    pub transport_checks: bool,
    /// Pages (from the homepage on) fetched again as Baiduspider and with a
    /// search Referer, to catch content shown only to search engines.
    pub cloaking_pages: usize,
    /// Apply the rules for government sites (网站标识码). `None`: when the
    /// host ends in .gov.cn or .政务.
    pub government: Option<bool>,
    pub stale_rules: Vec<StaleRule>,
    pub dictionary: Arc<Dictionary>,
    /// "Today" for dates (tests pin it); `None` is the clock's today.
    pub today: Option<NaiveDate>,
    /// Counters a progress line or page reads while the inspection runs.
    pub progress: Arc<progress::Progress>,
}

impl InspectOptions {
    pub fn new(url: Url) -> InspectOptions {
        InspectOptions {
            url,
            name: None,
            own_site: false,
            extra_hosts: Vec::new(),
            dns_overrides: Default::default(),
            max_pages: 2000,
            max_depth: 10,
            max_refs: 50_000,
            concurrency: 16,
            per_host_concurrency: 4,
            per_host_delay: Duration::from_millis(50),
            timeout: Duration::from_secs(15),
            max_duration: Duration::from_secs(60 * 60),
            host_budget: Duration::from_secs(120),
            max_page_bytes: 8 * 1024 * 1024,
            scan_attachments: true,
            max_attachment_bytes: 32 * 1024 * 1024,
            check_external: true,
            transport_checks: true,
            cloaking_pages: 20,
            government: None,
            stale_rules: default_stale_rules(),
            dictionary: Arc::new(Dictionary::builtin()),
            today: None,
            progress: Arc::default(),
        }
    }

    /// Parse a URL as a person types it: `www.example.gov.cn` becomes
    /// `http://www.example.gov.cn/`. One site is one address: the scheme
    /// and host are lower-cased and a default port dropped (by `Url`), a
    /// `#fragment` dropped, and a default page (`index.html`, `index.php`,
    /// `default.aspx` …) without a query is its directory, so
    /// `http://host/index.html` and `host` are the same site.
    pub fn parse_url(input: &str) -> Result<Url, SiteError> {
        shouwang_model::website_url(input)
            .map_err(|detail| SiteError::BadUrl(input.to_string(), detail))
    }
}

#[cfg(test)]
mod url_tests {
    use super::InspectOptions;

    #[test]
    fn one_site_is_one_address_however_it_is_typed() {
        let same = [
            "www.Example.gov.cn",
            "http://www.example.gov.cn/",
            "HTTP://WWW.EXAMPLE.GOV.CN:80/index.html",
            "http://www.example.gov.cn/#top",
            "www.example.gov.cn/Index.htm",
        ];
        for typed in same {
            assert_eq!(
                InspectOptions::parse_url(typed).unwrap().as_str(),
                "http://www.example.gov.cn/",
                "{typed}"
            );
        }
        let sub = InspectOptions::parse_url("https://a.gov.cn/xxgk/default.aspx").unwrap();
        assert_eq!(sub.as_str(), "https://a.gov.cn/xxgk/");
        // A page with a query is a page, not the site's directory.
        let q = InspectOptions::parse_url("http://a.gov.cn/index.php?m=content").unwrap();
        assert_eq!(q.as_str(), "http://a.gov.cn/index.php?m=content");
        let other = InspectOptions::parse_url("http://a.gov.cn/news.html").unwrap();
        assert_eq!(other.as_str(), "http://a.gov.cn/news.html");
    }

    proptest::proptest! {
        /// Whatever a person types is an address or an error, never a
        /// panic, and an address parsed again is the same site.
        #[test]
        fn any_typed_address_parses_to_one_stable_site(typed in "\\PC{0,80}") {
            if let Ok(url) = InspectOptions::parse_url(&typed) {
                let again = InspectOptions::parse_url(url.as_str()).unwrap();
                proptest::prop_assert_eq!(again.as_str(), url.as_str());
                proptest::prop_assert!(url.fragment().is_none());
            }
        }
    }
}

/// How the homepage answered (part of the `site.inspected` contract).
pub use shouwang_model::events::site::HomepageStatus;

/// The result of one inspection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub site: String,
    pub name: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub homepage: HomepageStatus,
    /// HTML pages fetched and analysed.
    pub pages: usize,
    /// Links, images, scripts, stylesheets and attachments checked: each
    /// distinct URL once.
    pub refs_checked: usize,
    /// References found on all pages, counting repeats (a menu link on
    /// every page counts on every page); each is judged by its URL's check.
    pub links_found: usize,
    /// Distinct broken targets referenced from the homepage.
    pub broken_on_homepage: usize,
    /// Distinct broken targets referenced only from other pages.
    pub broken_elsewhere: usize,
    /// Bytes of page text the content checks read.
    pub text_bytes: u64,
    /// Limits that cut the crawl short (pages, depth, references).
    pub limits_hit: Vec<String>,
    pub findings: Vec<NewFinding>,
    /// The estimate against the official inspection rules.
    pub score: score::Score,
    /// What the pages said, for the next run's defacement comparison.
    /// Kept apart by the caller (the data dir), not printed.
    #[serde(skip)]
    pub snapshot: SiteSnapshot,
}

impl Report {
    /// Compare with the snapshot of an earlier run of the same site and
    /// add a finding for a sudden large change of the homepage or a changed
    /// page title.
    pub fn compare_with(&mut self, previous: &SiteSnapshot, dictionary: &Dictionary) {
        let maker = checks::FindingMaker {
            asset: self.asset(),
        };
        let found = snapshot::compare(previous, &self.snapshot, dictionary, &maker);
        self.findings.extend(found);
        self.score = score::score(&self.findings);
    }

    pub fn asset(&self) -> AssetRef {
        AssetRef::new(AssetKind::Website, &self.site)
    }

    /// The summary event of the run, for the store.
    pub fn event(&self) -> NewEvent {
        let worst = self.findings.iter().map(|f| f.severity).max();
        let mut by_check = std::collections::BTreeMap::<String, u64>::new();
        for f in &self.findings {
            *by_check.entry(f.provenance.check.clone()).or_default() += 1;
        }
        NewEvent {
            time: self.finished_at,
            kind: events::INSPECTED.into(),
            asset: self.asset(),
            severity: match worst {
                Some(s) if s >= Severity::High => s,
                Some(_) => Severity::Low,
                None => Severity::Info,
            },
            summary: format!(
                "网站巡查 {}：{} 个页面，{} 个链接和资源，{} 项问题（首页死链 {}，其他页面死链 {}）",
                self.site,
                self.pages,
                self.refs_checked,
                self.findings.len(),
                self.broken_on_homepage,
                self.broken_elsewhere
            ),
            // Numbers, strings and maps with string keys: serialising
            // cannot fail.
            details: serde_json::to_value(events::Inspected {
                pages: self.pages as u64,
                refs_checked: self.refs_checked as u64,
                links_found: self.links_found as u64,
                broken_on_homepage: self.broken_on_homepage as u64,
                broken_elsewhere: self.broken_elsewhere as u64,
                homepage: Some(self.homepage.clone()),
                findings_by_check: by_check,
                limits_hit: self.limits_hit.clone(),
                duration_ms: (self.finished_at - self.started_at).num_milliseconds(),
                score: self.score.unscored.is_none().then_some(self.score.points),
            })
            .unwrap_or_default(),
            provenance: Provenance::now(SENSOR, "site.inspection", &self.site),
        }
    }
}

/// Inspect one site. Errors only when it cannot start; a site that is down
/// is a report with a finding.
pub async fn inspect(options: InspectOptions) -> Result<Report, SiteError> {
    crawl::run(options).await
}
