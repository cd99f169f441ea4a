//! The `[site]` section of the config file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use shouwang_scan::{Dictionary, DictionaryError};

use crate::InspectOptions;

/// Settings for website inspection. Every key has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Times of day (China time, HH:MM or HH:MM:SS) at which `shouwang up` inspects
    /// every site added with `site add`: morning and evening by default, as
    /// the 早晚巡查 of the inspection reports. Empty: no scheduled runs.
    pub schedule: Vec<String>,
    /// Seconds between two probes of each site's homepage by `shouwang up`
    /// (availability, 单项否决 V2: at least 20 visits a day); 0: none.
    pub probe_interval_seconds: u64,
    /// A wording dictionary of the unit's own (same format as the built-in
    /// one; it adds, replaces and disables entries).
    pub wording_dictionary: Option<PathBuf>,
    /// Pages crawled at most per site.
    pub max_pages: usize,
    /// Links followed from the homepage at most.
    pub max_depth: usize,
    /// Check links to other sites as well (they are never crawled).
    pub check_external: bool,
    /// Seconds a request may take; the inspection rules count a visit that
    /// has not opened after 15 s as failed.
    pub timeout_seconds: u64,
    /// Least milliseconds between two requests to one host (sites marked
    /// as our own are not spaced).
    pub per_host_delay_ms: u64,
    /// Pages fetched again as Baiduspider and with a search Referer.
    pub cloaking_pages: usize,
    /// Minutes one inspection may take in all; what is not checked by then
    /// is named in a finding.
    pub inspection_budget_minutes: u64,
    /// Seconds of requests one host other than the site's own may take in
    /// one inspection; links to it left then are named in a finding.
    pub host_budget_seconds: u64,
    /// Sites the schedule of `shouwang up` inspects at once, so that one
    /// slow or hostile site does not hold back the others.
    pub concurrent_sites: usize,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            schedule: vec!["08:00".into(), "20:00".into()],
            probe_interval_seconds: 900,
            wording_dictionary: None,
            max_pages: 2000,
            max_depth: 10,
            check_external: true,
            timeout_seconds: 15,
            per_host_delay_ms: 50,
            cloaking_pages: 20,
            inspection_budget_minutes: 60,
            host_budget_seconds: 120,
            concurrent_sites: 4,
        }
    }
}

/// The unit's dictionary file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SiteConfigError {
    #[error("cannot read the wording dictionary {path} ([site] wording_dictionary): {detail}")]
    ReadDictionary { path: PathBuf, detail: String },
    #[error(transparent)]
    Dictionary(#[from] DictionaryError),
    #[error("[site] schedule: {0:?} is not a time of day; write it as \"08:00\"")]
    Schedule(String),
}

impl SiteConfig {
    /// The built-in dictionary with the unit's file applied, if it has one.
    pub fn dictionary(&self) -> Result<Dictionary, SiteConfigError> {
        match &self.wording_dictionary {
            None => Ok(Dictionary::builtin()),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| SiteConfigError::ReadDictionary {
                        path: path.clone(),
                        detail: e.to_string(),
                    })?;
                Ok(Dictionary::builtin_with(
                    &path.display().to_string(),
                    &text,
                )?)
            }
        }
    }

    /// The scheduled times of day, checked.
    pub fn schedule_times(&self) -> Result<Vec<NaiveTime>, SiteConfigError> {
        self.schedule
            .iter()
            .map(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .or_else(|_| NaiveTime::parse_from_str(t.trim(), "%H:%M:%S"))
                    .map_err(|_| SiteConfigError::Schedule(t.clone()))
            })
            .collect()
    }

    /// Options for inspecting `url` with these settings.
    pub fn options(&self, url: url::Url, dictionary: Arc<Dictionary>) -> InspectOptions {
        let mut o = InspectOptions::new(url);
        o.max_pages = self.max_pages.max(1);
        o.max_depth = self.max_depth;
        o.check_external = self.check_external;
        o.timeout = Duration::from_secs(self.timeout_seconds.max(1));
        o.per_host_delay = Duration::from_millis(self.per_host_delay_ms);
        o.cloaking_pages = self.cloaking_pages;
        o.max_duration = Duration::from_secs(self.inspection_budget_minutes.max(1) * 60);
        o.host_budget = Duration::from_secs(self.host_budget_seconds.max(1));
        o.dictionary = dictionary;
        o
    }
}

/// The first scheduled time strictly after `now` (both in the same zone).
pub fn next_run(now: NaiveDateTime, times: &[NaiveTime]) -> Option<NaiveDateTime> {
    times
        .iter()
        .map(|t| {
            let today = now.date().and_time(*t);
            if today > now {
                today
            } else {
                today + chrono::Duration::days(1)
            }
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_fire_in_order() {
        let c = SiteConfig::default();
        let times = c.schedule_times().unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            next_run(at("2025-06-15 07:00"), &times),
            Some(at("2025-06-15 08:00"))
        );
        assert_eq!(
            next_run(at("2025-06-15 08:00"), &times),
            Some(at("2025-06-15 20:00"))
        );
        assert_eq!(
            next_run(at("2025-06-15 21:30"), &times),
            Some(at("2025-06-16 08:00"))
        );
        assert_eq!(next_run(at("2025-06-15 21:30"), &[]), None);
        let precise = SiteConfig {
            schedule: vec!["12:00:30".into()],
            ..SiteConfig::default()
        };
        assert_eq!(precise.schedule_times().unwrap()[0].to_string(), "12:00:30");
        let bad = SiteConfig {
            schedule: vec!["8点".into()],
            ..SiteConfig::default()
        };
        assert!(
            bad.schedule_times()
                .unwrap_err()
                .to_string()
                .contains("8点")
        );
    }

    #[test]
    fn defaults_match_the_inspection_defaults() {
        let o = SiteConfig::default().options(
            "http://x.test/".parse().unwrap(),
            Arc::new(Dictionary::builtin()),
        );
        let d = InspectOptions::new("http://x.test/".parse().unwrap());
        assert_eq!(
            (
                o.max_pages,
                o.max_depth,
                o.timeout,
                o.per_host_delay,
                o.cloaking_pages,
                o.max_duration,
                o.host_budget,
            ),
            (
                d.max_pages,
                d.max_depth,
                d.timeout,
                d.per_host_delay,
                d.cloaking_pages,
                d.max_duration,
                d.host_budget,
            )
        );
    }

    #[test]
    fn a_missing_dictionary_file_is_named() {
        let c = SiteConfig {
            wording_dictionary: Some("/nonexistent/words.toml".into()),
            ..SiteConfig::default()
        };
        let e = c.dictionary().unwrap_err().to_string();
        assert!(e.contains("/nonexistent/words.toml"), "{e}");
    }
}
