//! HTTP, politely: one client, per-host concurrency and spacing, redirects
//! followed by hand (so that loops and the chain are seen), bodies read up
//! to a cap, every failure turned into a value the checks can report.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, REFERER, USER_AGENT};
use tokio::sync::Semaphore;
use url::Url;

use crate::SiteError;
use crate::address::{AddressPolicy, GuardedResolver, Refused};

/// How we present ourselves.
pub const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Shouwang-Site-Inspector/0.1";
/// Baidu's crawler, to catch pages that show spam only to spiders.
pub const BAIDU_SPIDER_UA: &str =
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)";
/// The Referer of a visitor arriving from a Baidu search.
pub const SEARCH_REFERER: &str = "https://www.baidu.com/s?wd=%E6%94%BF%E5%BA%9C";

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// What to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// Which visitor to pretend to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visitor {
    Browser,
    Spider,
    FromSearch,
}

/// A response, after redirects.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    /// Every URL visited, the first one included.
    pub chain: Vec<Url>,
    pub status: u16,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: Vec<u8>,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
    /// `notAfter` of the server certificate, for HTTPS.
    pub cert_not_after: Option<DateTime<Utc>>,
}

impl Fetched {
    pub fn is_html(&self) -> bool {
        match &self.content_type {
            Some(ct) => {
                let ct = ct.to_ascii_lowercase();
                ct.contains("text/html") || ct.contains("application/xhtml")
            }
            // No type: sniff the start of the body.
            None => {
                let head: Vec<u8> = self
                    .body
                    .iter()
                    .take(512)
                    .map(u8::to_ascii_lowercase)
                    .collect();
                head.windows(5)
                    .any(|w| w == b"<html" || w == b"<body" || w == b"<!doc")
            }
        }
    }
}

/// Why a fetch produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    Timeout,
    Tls(String),
    Connect(String),
    RedirectLoop(Vec<Url>),
    TooManyRedirects(Vec<Url>),
    BadRedirect(String),
    Other(String),
    /// The inspection's time budget was spent: not asked.
    OutOfTime,
    /// This host's time budget was spent (`host:port`): not asked.
    HostOutOfTime(String),
    /// The target is this machine or the link-local network, and the site
    /// may not reach it (`crate::address`): not connected to.
    Refused(String),
    /// Another host gave no answer (why, in Chinese): the reference could
    /// not be verified, which is not the same as broken.
    NoAnswerOutside(String),
}

impl FetchFailure {
    pub fn zh(&self) -> String {
        match self {
            FetchFailure::Timeout => "超时".into(),
            FetchFailure::Tls(e) => format!("TLS/证书错误: {e}"),
            FetchFailure::Connect(e) => format!("无法连接: {e}"),
            FetchFailure::RedirectLoop(chain) => format!(
                "重定向循环: {}",
                chain
                    .iter()
                    .map(Url::as_str)
                    .collect::<Vec<_>>()
                    .join(" → ")
            ),
            FetchFailure::TooManyRedirects(chain) => {
                format!("重定向次数过多 ({} 次)", chain.len().saturating_sub(1))
            }
            FetchFailure::BadRedirect(e) => format!("无效的重定向: {e}"),
            FetchFailure::Other(e) => e.clone(),
            FetchFailure::OutOfTime => "巡查用时已达上限，未检查".into(),
            FetchFailure::HostOutOfTime(host) => {
                format!("在 {host} 上的用时已达上限，未检查")
            }
            FetchFailure::Refused(detail) => format!("{detail}，未访问"),
            FetchFailure::NoAnswerOutside(why) => format!("站外网站无应答（{why}），无法核验"),
        }
    }

    /// No answer came at all (no name, no connection, no reply in time):
    /// what this says of a link on another host is only that this machine
    /// could not reach it.
    pub fn is_no_answer(&self) -> bool {
        matches!(self, FetchFailure::Timeout | FetchFailure::Connect(_))
    }

    /// A budget ran out before the request was made (or finished): the
    /// target was not checked, which says nothing of whether it works.
    pub fn is_unchecked(&self) -> bool {
        matches!(
            self,
            FetchFailure::OutOfTime
                | FetchFailure::HostOutOfTime(_)
                | FetchFailure::Refused(_)
                | FetchFailure::NoAnswerOutside(_)
        )
    }
}

/// How long an inspection may take, in all and on each other host.
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    /// No request is made, or finishes, after this.
    pub deadline: Option<tokio::time::Instant>,
    /// Request time (sending, waiting, reading) one host may take in all.
    pub per_host: Option<Duration>,
    /// Hosts the per-host budget does not apply to: the site's own, which
    /// the deadline bounds.
    pub exempt_hosts: HashSet<String>,
}

/// Spacing and concurrency for one host.
struct HostGate {
    permits: Semaphore,
    next_slot: Mutex<Instant>,
    /// Request time spent on the host so far.
    spent: Mutex<Duration>,
    /// Requests that could not connect (no name, refused, no route, no
    /// handshake in time), and whether one ever got further.
    unreached: AtomicU32,
    reached: AtomicBool,
}

/// Requests to another host that could not connect, with none that did,
/// after which the host is taken as unreachable from here and not asked
/// again: on a machine without internet access each of thousands of links
/// would otherwise wait for its own failed lookup.
const UNREACHABLE_AFTER: u32 = 3;

/// The HTTP side of an inspection.
pub struct Fetcher {
    client: reqwest::Client,
    per_host: usize,
    delay: Duration,
    max_body: usize,
    gates: Mutex<HashMap<String, Arc<HostGate>>>,
    budgets: Budgets,
    /// Where requests may go.
    policy: Arc<AddressPolicy>,
}

impl Fetcher {
    /// A fetcher that connects only where `policy` allows, judged on the
    /// address each name resolves to as it connects.
    pub fn guarded(
        timeout: Duration,
        per_host: usize,
        delay: Duration,
        max_body: usize,
        accept_invalid_certs: bool,
        policy: AddressPolicy,
    ) -> Result<Fetcher, SiteError> {
        let policy = Arc::new(policy);
        // rustls needs a process-wide crypto provider; another part of the
        // program may have installed one already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                policy: policy.clone(),
            })
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            // Shorter than the request's timeout, so that a connection
            // never made is told from an answer that never came.
            .connect_timeout((timeout * 3 / 4).min(Duration::from_secs(10)))
            .gzip(true)
            .brotli(true)
            .tls_info(true)
            .tls_danger_accept_invalid_certs(accept_invalid_certs)
            .pool_max_idle_per_host(per_host.max(1))
            .build()
            .map_err(|e| SiteError::Client(e.to_string()))?;
        Ok(Fetcher {
            client,
            per_host: per_host.max(1),
            delay,
            max_body,
            gates: Mutex::new(HashMap::new()),
            budgets: Budgets::default(),
            policy,
        })
    }

    /// The same fetcher, bounded by `budgets`.
    pub fn with_budgets(mut self, budgets: Budgets) -> Fetcher {
        self.budgets = budgets;
        self
    }

    fn gate_key(url: &Url) -> String {
        format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        )
    }

    /// Whether the per-host budget applies to `url`'s host.
    fn budgeted(&self, url: &Url) -> bool {
        self.budgets.per_host.is_some()
            && !url
                .host_str()
                .is_some_and(|h| self.budgets.exempt_hosts.contains(h))
    }

    /// Refuse a request to a host whose budget is spent.
    fn check_host_budget(&self, url: &Url) -> Result<(), FetchFailure> {
        let Some(limit) = self.budgets.per_host.filter(|_| self.budgeted(url)) else {
            return Ok(());
        };
        let spent = *self
            .gate(url)
            .spent
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if spent >= limit {
            return Err(FetchFailure::HostOutOfTime(Self::gate_key(url)));
        }
        let gate = self.gate(url);
        let failed = gate.unreached.load(Ordering::Relaxed);
        if failed >= UNREACHABLE_AFTER && !gate.reached.load(Ordering::Relaxed) {
            return Err(FetchFailure::NoAnswerOutside(format!(
                "{} 已有 {failed} 次无法连接，不再尝试",
                Self::gate_key(url)
            )));
        }
        Ok(())
    }

    /// Remember whether a request to another host could connect.
    fn note_reach(&self, url: &Url, result: &Result<reqwest::Response, FetchFailure>) {
        if !self.budgeted(url) {
            return;
        }
        let gate = self.gate(url);
        match result {
            Err(FetchFailure::Connect(_)) => {
                gate.unreached.fetch_add(1, Ordering::Relaxed);
            }
            _ => gate.reached.store(true, Ordering::Relaxed),
        }
    }

    /// An address written in the URL is never resolved, so the resolver
    /// cannot judge it: it is judged here.
    fn check_literal_address(&self, url: &Url) -> Result<(), FetchFailure> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(a)) => std::net::IpAddr::V4(a),
            Some(url::Host::Ipv6(a)) => std::net::IpAddr::V6(a),
            _ => return Ok(()),
        };
        self.policy
            .check(url.host_str().unwrap_or_default(), ip)
            .map_err(|e| FetchFailure::Refused(format!("{url}（{e}）")))
    }

    fn charge(&self, url: &Url, took: Duration) {
        if self.budgeted(url) {
            let gate = self.gate(url);
            let mut spent = gate.spent.lock().unwrap_or_else(|p| p.into_inner());
            *spent += took;
        }
    }

    fn gate(&self, url: &Url) -> Arc<HostGate> {
        let key = Self::gate_key(url);
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry(key)
            .or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Semaphore::new(self.per_host),
                    next_slot: Mutex::new(Instant::now()),
                    spent: Mutex::new(Duration::ZERO),
                    unreached: AtomicU32::new(0),
                    reached: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Fetch `url` as `visitor`, following redirects, reading at most the
    /// body cap (`max_body` overrides it when smaller).
    pub async fn fetch(
        &self,
        url: &Url,
        method: Method,
        visitor: Visitor,
        max_body: Option<usize>,
    ) -> Result<Fetched, FetchFailure> {
        let cap = max_body.unwrap_or(self.max_body).min(self.max_body);
        self.fetch_with_cap(url, method, visitor, cap).await
    }

    async fn fetch_with_cap(
        &self,
        url: &Url,
        method: Method,
        visitor: Visitor,
        cap: usize,
    ) -> Result<Fetched, FetchFailure> {
        let fetch = self.follow(url, method, visitor, cap);
        match self.budgets.deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, fetch)
                .await
                .unwrap_or(Err(FetchFailure::OutOfTime)),
            None => fetch.await,
        }
    }

    /// The request and the redirects after it, each hop's time charged to
    /// its host.
    async fn follow(
        &self,
        url: &Url,
        method: Method,
        visitor: Visitor,
        cap: usize,
    ) -> Result<Fetched, FetchFailure> {
        let started = Instant::now();
        let mut chain = vec![url.clone()];
        let mut seen: HashSet<Url> = HashSet::from([url.clone()]);
        let mut current = url.clone();
        loop {
            let resp = self.one_request(&current, method, visitor).await?;
            let status = resp.status().as_u16();
            if (300..400).contains(&status)
                && let Some(loc) = resp.headers().get(LOCATION)
            {
                let loc = String::from_utf8_lossy(loc.as_bytes()).trim().to_string();
                let next = current
                    .join(&loc)
                    .map_err(|e| FetchFailure::BadRedirect(format!("{loc:?}: {e}")))?;
                chain.push(next.clone());
                if !seen.insert(next.clone()) {
                    return Err(FetchFailure::RedirectLoop(chain));
                }
                if chain.len() > MAX_REDIRECTS {
                    return Err(FetchFailure::TooManyRedirects(chain));
                }
                current = next;
                continue;
            }
            let header = |name| {
                resp.headers()
                    .get(name)
                    .map(|v: &reqwest::header::HeaderValue| {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    })
            };
            let content_type = header(CONTENT_TYPE);
            let content_length = header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok());
            let cert_not_after = resp
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|i| i.peer_certificate())
                .and_then(crate::cert::not_after);
            let reading = Instant::now();
            let read = read_body(resp, method, cap).await;
            self.charge(&current, reading.elapsed());
            let (body, truncated) = read?;
            return Ok(Fetched {
                url: current,
                chain,
                status,
                content_type,
                content_length,
                body,
                truncated,
                elapsed: started.elapsed(),
                cert_not_after,
            });
        }
    }

    /// GET with a body cap of its own, which may exceed the page cap
    /// (attachments are larger than pages).
    pub async fn fetch_capped(
        &self,
        url: &Url,
        visitor: Visitor,
        cap: usize,
    ) -> Result<Fetched, FetchFailure> {
        self.fetch_with_cap(url, Method::Get, visitor, cap).await
    }

    async fn one_request(
        &self,
        url: &Url,
        method: Method,
        visitor: Visitor,
    ) -> Result<reqwest::Response, FetchFailure> {
        self.check_literal_address(url)?;
        self.check_host_budget(url)?;
        let gate = self.gate(url);
        let _permit = gate
            .permits
            .acquire()
            .await
            .map_err(|e| FetchFailure::Other(e.to_string()))?;
        let wait = {
            let mut next = gate.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.delay;
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let req = match method {
            Method::Get => self.client.get(url.clone()),
            Method::Head => self.client.head(url.clone()),
        };
        let req = match visitor {
            Visitor::Browser => req.header(USER_AGENT, BROWSER_UA),
            Visitor::Spider => req.header(USER_AGENT, BAIDU_SPIDER_UA),
            Visitor::FromSearch => req
                .header(USER_AGENT, BROWSER_UA)
                .header(REFERER, SEARCH_REFERER),
        };
        // Another request may have spent the budget while this one waited.
        self.check_host_budget(url)?;
        let sent = Instant::now();
        let resp = req.send().await.map_err(|e| classify(&e));
        self.charge(url, sent.elapsed());
        self.note_reach(url, &resp);
        resp
    }
}

/// The body of a GET, up to `cap` bytes; whether it was cut.
async fn read_body(
    mut resp: reqwest::Response,
    method: Method,
    cap: usize,
) -> Result<(Vec<u8>, bool), FetchFailure> {
    let mut body = Vec::new();
    if method == Method::Get {
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        return Ok((body, true));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(classify(&e)),
            }
        }
    }
    Ok((body, false))
}

/// Sort a reqwest error into what a person can act on. The chain of
/// sources is searched because reqwest wraps hyper wraps rustls.
fn classify(e: &reqwest::Error) -> FetchFailure {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return FetchFailure::Refused(match e.url() {
                Some(url) => format!("{url}（{refused}）"),
                None => refused.to_string(),
            });
        }
        source = s.source();
    }
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    // The URL is in the message: a page named Server_Side_TLS that cannot
    // be reached is not a TLS error.
    let lower = match e.url() {
        Some(url) => detail.replace(url.as_str(), ""),
        None => detail.clone(),
    }
    .to_ascii_lowercase();
    if e.is_timeout() && !e.is_connect() {
        // Connected, and no answer in time.
        FetchFailure::Timeout
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        FetchFailure::Tls(detail)
    } else if e.is_connect() {
        // No name, refused, no route, or no connection in time.
        FetchFailure::Connect(detail)
    } else if lower.contains("timed out") {
        FetchFailure::Timeout
    } else {
        FetchFailure::Other(detail)
    }
}

/// The rules of a robots.txt that apply to us: the group for our name, or
/// else the `*` group. Longest matching rule wins; Allow wins ties.
#[derive(Debug, Clone, Default)]
pub struct Robots {
    rules: Vec<(bool, String)>,
}

impl Robots {
    pub fn parse(text: &str) -> Robots {
        let mut ours: Option<Vec<(bool, String)>> = None;
        let mut star: Option<Vec<(bool, String)>> = None;
        let mut agents: Vec<String> = Vec::new();
        let mut rules: Vec<(bool, String)> = Vec::new();
        let mut in_rules = false;
        // A group's rules are kept once for us and once for `*`, however
        // many of its `User-agent` lines name either: copying them per line
        // let a 512 KiB file ask for hundreds of millions of rules.
        let mut flush = |agents: &mut Vec<String>, rules: &mut Vec<(bool, String)>| {
            if agents.iter().any(|a| a.contains("shouwang")) {
                ours.get_or_insert_with(Vec::new)
                    .extend(rules.iter().cloned());
            }
            if agents.iter().any(|a| a == "*") {
                star.get_or_insert_with(Vec::new)
                    .extend(rules.iter().cloned());
            }
            agents.clear();
            rules.clear();
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if in_rules {
                        flush(&mut agents, &mut rules);
                        in_rules = false;
                    }
                    agents.push(value.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if !value.is_empty() {
                        rules.push((key == "allow", value.to_string()));
                    }
                }
                _ => {}
            }
        }
        flush(&mut agents, &mut rules);
        Robots {
            rules: ours.or(star).unwrap_or_default(),
        }
    }

    pub fn allows(&self, url: &Url) -> bool {
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if robots_match(pattern, &path) {
                let len = pattern.len();
                if best.is_none_or(|(l, a)| len > l || (len == l && *allow && !a)) {
                    best = Some((len, *allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// robots.txt patterns: prefixes, with `*` for any run and a final `$`.
fn robots_match(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    if !path.starts_with(parts[0]) {
        return false;
    }
    let mut at = parts[0].len();
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if anchored && i == last {
            return path.len() >= at + part.len() && path.ends_with(part);
        }
        match path[at..].find(part) {
            Some(j) => at += j + part.len(),
            None => return false,
        }
    }
    !anchored || at == path.len()
}

/// Days from `today` until a certificate expires (negative when expired).
pub fn days_left(not_after: DateTime<Utc>, today: NaiveDate) -> i64 {
    (not_after.date_naive() - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(p: &str) -> Url {
        Url::parse(&format!("http://h{p}")).unwrap()
    }

    #[test]
    fn a_robots_txt_repeating_its_user_agent_line_keeps_each_rule_once() {
        // Each repeated `User-agent: *` line once copied the whole group's
        // rules again: a 512 KiB robots.txt made hundreds of millions.
        let text = "User-agent: *\n".repeat(1000) + &"Disallow: /private/\n".repeat(1000);
        let r = Robots::parse(&text);
        assert!(r.rules.len() <= 1000, "{} rules", r.rules.len());
        assert!(!r.allows(&u("/private/a")));
        assert!(r.allows(&u("/public/a")));
    }

    #[test]
    fn robots_groups_and_precedence() {
        let r = Robots::parse(
            "User-agent: Googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /admin/\nDisallow: /*.php$\nAllow: /admin/public\n",
        );
        assert!(r.allows(&u("/index.html")));
        assert!(!r.allows(&u("/admin/x")));
        assert!(r.allows(&u("/admin/public/a")));
        assert!(!r.allows(&u("/a/b.php")));
        assert!(r.allows(&u("/a/b.php?x=1")));
        let ours =
            Robots::parse("User-agent: *\nDisallow: /\nUser-agent: Shouwang\nDisallow: /private\n");
        assert!(ours.allows(&u("/news")));
        assert!(!ours.allows(&u("/private/1")));
        assert!(Robots::parse("garbage\n:::\nDisallow").allows(&u("/")));
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_robots_txt_parses_to_at_most_two_copies_of_its_rules(
                lines in proptest::collection::vec(
                    "(User-agent|user-AGENT|Allow|Disallow|Sitemap|#)? ?:? ?(\\*|shouwang|/[a-z*$/?=.]{0,10}|\\PC{0,8})",
                    0..60,
                ),
                path in "/[a-z*$/?=.%\\PC]{0,20}",
            ) {
                let text = lines.join("\n");
                let r = Robots::parse(&text);
                prop_assert!(r.rules.len() <= 2 * lines.len(), "{} from {}", r.rules.len(), lines.len());
                if let Ok(url) = Url::parse(&format!("http://h{path}")) {
                    let _ = r.allows(&url);
                }
            }
        }
    }
}
