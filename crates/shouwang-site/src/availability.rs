//! Availability as the inspection rules measure it (单项否决 V2): a visit
//! that has not opened after 15 s fails; over a week of at least 20
//! spaced visits a day, failures of 5 % or more are a veto. `shouwang up`
//! probes each site's homepage on an interval and keeps each probe as a
//! `site.probe` event; this module judges one probe and a week of them.

use std::time::Duration;

use shouwang_model::{AssetKind, AssetRef, NewFinding, Severity};
use url::Url;

use crate::SiteError;
use crate::address::AddressPolicy;
use crate::checks::FindingMaker;
use crate::fetch::{Fetcher, Method, Visitor};

/// The rules' failure line: 5 % of visits.
pub const FAILURE_LINE: f64 = 0.05;
/// Visits a day the rules ask for; fewer in a week cannot judge.
pub const VISITS_PER_DAY: usize = 20;
/// The rules' timeout for one visit.
pub const VISIT_TIMEOUT: Duration = Duration::from_secs(15);

/// One visit to a homepage: the details of a `site.probe` event.
pub use shouwang_model::events::site::Probe;

/// Visit `url` once, as the rules do: opened within the timeout with a
/// status below 400 is a success. A redirect reaches this machine or the
/// link-local network only from our own site (`own`), as in a crawl.
pub async fn probe(url: &Url, own: bool, timeout: Duration) -> Result<Probe, SiteError> {
    let policy = AddressPolicy {
        allow_all: own,
        trusted_hosts: url.host_str().map(str::to_string).into_iter().collect(),
        ..AddressPolicy::default()
    };
    let fetcher = Fetcher::guarded(timeout, 1, Duration::ZERO, 64 * 1024, false, policy)?;
    let started = std::time::Instant::now();
    let result = fetcher
        .fetch(url, Method::Get, Visitor::Browser, None)
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(match result {
        Ok(f) => Probe {
            ok: f.status < 400,
            status: Some(f.status),
            elapsed_ms,
            error: (f.status >= 400).then(|| format!("HTTP {}", f.status)),
        },
        Err(e) => Probe {
            ok: false,
            status: None,
            elapsed_ms,
            error: Some(e.zh()),
        },
    })
}

/// The week's verdict for a site from its probes (successes and
/// failures): a finding when there were enough visits and 5 % or more
/// failed.
pub fn weekly_verdict(site: &str, visits: usize, failures: usize, days: f64) -> Option<NewFinding> {
    let needed = (VISITS_PER_DAY as f64 * days).ceil() as usize;
    if visits == 0 || visits < needed {
        return None;
    }
    let ratio = failures as f64 / visits as f64;
    if ratio < FAILURE_LINE {
        return None;
    }
    let maker = FindingMaker {
        asset: AssetRef::new(AssetKind::Website, site),
    };
    Some(maker.make(
        "site.availability",
        Severity::Critical,
        "站点可用性不达标：近 7 天访问失败率超过 5%",
        "Site availability below the line: 5 % or more failed visits in 7 days",
        &format!(
            "近 {days:.0} 天访问 {visits} 次，失败 {failures} 次（{:.1}%）；单项否决线为 5%（每次访问 15 秒未打开即失败）",
            ratio * 100.0
        ),
        &format!("{site} availability"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_percent_line_over_enough_visits() {
        // 7 days × 20 visits = 140 needed.
        assert!(
            weekly_verdict("http://x/", 100, 50, 7.0).is_none(),
            "too few visits"
        );
        assert!(weekly_verdict("http://x/", 672, 33, 7.0).is_none(), "4.9 %");
        let f = weekly_verdict("http://x/", 672, 34, 7.0).unwrap();
        assert_eq!(f.provenance.check, "site.availability");
        assert!(
            f.evidence.contains("672") && f.evidence.contains("5.1%"),
            "{}",
            f.evidence
        );
        assert!(weekly_verdict("http://x/", 0, 0, 7.0).is_none());
    }

    #[tokio::test]
    async fn a_closed_port_is_a_failed_visit() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let p = probe(
            &format!("http://{addr}/").parse().unwrap(),
            false,
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        assert!(!p.ok);
        assert!(p.error.is_some());
    }
}
