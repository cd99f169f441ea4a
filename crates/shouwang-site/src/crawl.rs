//! The crawl: the homepage first, then every page in scope breadth-first
//! within the limits, then every other reference (images, scripts,
//! stylesheets, attachments, links to other sites) checked once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use shouwang_model::{AssetKind, AssetRef, NewFinding, Severity};
use shouwang_scan::Dictionary;
use tokio::task::JoinSet;
use url::Url;

use crate::address::AddressPolicy;
use crate::checks::{self, FindingMaker, PageContext, StaleRule};
use crate::decode::decode;
use crate::fetch::{Budgets, FetchFailure, Fetched, Fetcher, Method, Robots, Visitor, days_left};
use crate::page::{PageFacts, RefKind, analyse, shorten};
use crate::progress::Phase;
use crate::{HomepageStatus, InspectOptions, PageSnapshot, Report, SiteError, SiteSnapshot};

/// Bytes read of a reference that is only checked, not analysed.
const REF_BODY_CAP: usize = 64 * 1024;
/// A homepage or key column slower than this is reported.
const SLOW_HOMEPAGE: Duration = Duration::from_secs(3);

/// Read-only state every page task shares.
struct Shared {
    fetcher: Fetcher,
    dictionary: Arc<Dictionary>,
    maker: FindingMaker,
    scope: HashSet<String>,
    today: NaiveDate,
    stale_rules: Vec<StaleRule>,
    homepage: Url,
    /// Pages still to be fetched again as a spider and from a search.
    cloak_budget: AtomicUsize,
}

impl Shared {
    fn in_scope(&self, url: &Url) -> bool {
        url.host_str().is_some_and(|h| self.scope.contains(h))
    }

    fn ctx<'a>(&'a self, is_homepage: bool, anchor: Option<&'a str>) -> PageContext<'a> {
        PageContext {
            maker: &self.maker,
            dictionary: &self.dictionary,
            scope: &self.scope,
            today: self.today,
            stale_rules: &self.stale_rules,
            is_homepage,
            anchor,
        }
    }
}

struct PageJob {
    url: Url,
    depth: usize,
    anchor: Option<String>,
}

struct PageOutcome {
    job: PageJob,
    /// `None` when the page answered; else why it is broken.
    failure: Option<String>,
    facts: Option<PageFacts>,
    findings: Vec<NewFinding>,
    text_bytes: u64,
    /// A budget ran out before the page was fetched.
    unchecked: Option<FetchFailure>,
}

/// What we know of a URL the site refers to.
struct RefInfo {
    url: Url,
    kind: RefKind,
    first_referrer: String,
    element: String,
    from_homepage: bool,
    referrers: usize,
}

/// Today in China, where the sites' dates are written.
fn today_in_china() -> NaiveDate {
    Utc::now()
        .with_timezone(&shouwang_model::beijing_offset())
        .date_naive()
}

pub async fn run(opts: InspectOptions) -> Result<Report, SiteError> {
    let started_at = Utc::now();
    let today = opts.today.unwrap_or_else(today_in_china);
    let site = opts.url.as_str().to_string();
    let maker = FindingMaker {
        asset: AssetRef::new(AssetKind::Website, &site),
    };
    let mut findings = Vec::new();

    let (fetcher, home) = fetch_homepage(&opts, &site, &maker, &mut findings).await?;
    opts.progress.enter(Phase::Pages);
    let homepage = homepage_status(&home, &site);
    let scope = scope_hosts(&opts.url, &opts.extra_hosts);
    let reachable = judge_homepage(&home, &site, &maker, &scope, &mut findings);
    if opts.transport_checks {
        findings.extend(transport_checks(&fetcher, &opts.url, &home, &maker, today).await);
    }
    if !reachable {
        opts.progress.enter(Phase::Done);
        return Ok(Report {
            site,
            name: opts.name,
            started_at,
            finished_at: Utc::now(),
            homepage,
            pages: 0,
            refs_checked: 0,
            links_found: 0,
            broken_on_homepage: 0,
            broken_elsewhere: 0,
            text_bytes: 0,
            limits_hit: Vec::new(),
            score: crate::score::score(&findings),
            findings,
            snapshot: SiteSnapshot::default(),
        });
    }
    let home_final = home
        .as_ref()
        .map(|f| f.url.clone())
        .ok()
        .filter(|u| u.host_str().is_some_and(|h| scope.contains(h)))
        .unwrap_or(opts.url.clone());
    let robots = fetch_robots(&opts, &fetcher, &home_final).await;

    let government = opts.government.unwrap_or_else(|| {
        opts.url
            .host_str()
            .is_some_and(|h| h.ends_with(".gov.cn") || h.ends_with(".xn--zfr164b"))
    });
    let shared = Arc::new(Shared {
        fetcher,
        dictionary: opts.dictionary.clone(),
        maker: maker.clone(),
        scope,
        today,
        stale_rules: opts.stale_rules.clone(),
        homepage: opts.url.clone(),
        cloak_budget: AtomicUsize::new(opts.cloaking_pages),
    });

    let mut crawl = Crawl::new(&opts, &home_final, findings);
    crawl.pages_in_scope(&shared, &opts, &robots, home).await;
    opts.progress.enter(Phase::References);
    let (refs_checked, mut ref_failures) = check_other_refs(&shared, &opts, &robots, &crawl).await;
    let refs_checked = refs_checked
        - ref_failures
            .values()
            .filter(|c| c.unchecked.is_some())
            .count();
    let (broken_on_homepage, broken_elsewhere) =
        crawl.report_broken_refs(&shared, &mut ref_failures);
    crawl.report_unchecked(&shared, &opts);

    let mut findings = merge_template_repeats(crawl.findings);
    findings.extend(crawl.template.blank_articles(&maker));
    // A footer mark missing from the part of a cut homepage that was read
    // may be in the part that was not.
    if let Some(facts) = crawl.home_facts.as_ref().filter(|f| f.is_complete()) {
        findings.extend(checks::identity(
            &maker,
            opts.url.as_str(),
            facts,
            government,
        ));
    }

    opts.progress.enter(Phase::Done);
    Ok(Report {
        site,
        name: opts.name,
        started_at,
        finished_at: Utc::now(),
        homepage,
        pages: crawl.pages,
        refs_checked,
        links_found: crawl.links_found,
        broken_on_homepage,
        broken_elsewhere,
        text_bytes: crawl.text_bytes,
        limits_hit: crawl.limits_hit,
        score: crate::score::score(&findings),
        findings,
        snapshot: crawl.snapshot,
    })
}

/// Fetch the homepage with the fetcher the rest of the crawl uses: one that
/// accepts a bad certificate when the homepage has one.
async fn fetch_homepage(
    opts: &InspectOptions,
    site: &str,
    maker: &FindingMaker,
    findings: &mut Vec<NewFinding>,
) -> Result<(Fetcher, Result<Fetched, FetchFailure>), SiteError> {
    let (per_host, delay) = if opts.own_site {
        (opts.per_host_concurrency.max(8), Duration::ZERO)
    } else {
        (opts.per_host_concurrency, opts.per_host_delay)
    };
    let budgets = Budgets {
        deadline: Some(tokio::time::Instant::now() + opts.max_duration),
        per_host: Some(opts.host_budget),
        exempt_hosts: scope_hosts(&opts.url, &opts.extra_hosts),
    };
    // The homepage is trusted as the person typed it; other hosts reach
    // this machine and the link-local network only on our own sites.
    let policy = AddressPolicy {
        allow_all: opts.own_site,
        trusted_hosts: opts
            .url
            .host_str()
            .map(str::to_string)
            .into_iter()
            .collect(),
        overrides: opts
            .dns_overrides
            .iter()
            .map(|(name, ips)| (name.to_ascii_lowercase(), ips.clone()))
            .collect(),
    };
    let fetcher_with = |accept_invalid: bool| {
        Fetcher::guarded(
            opts.timeout,
            per_host,
            delay,
            opts.max_page_bytes,
            accept_invalid,
            policy.clone(),
        )
        .map(|f| f.with_budgets(budgets.clone()))
    };
    let mut fetcher = fetcher_with(false)?;
    let mut home = fetcher
        .fetch(&opts.url, Method::Get, Visitor::Browser, None)
        .await;
    if let Err(FetchFailure::Tls(detail)) = &home {
        // Report the certificate problem, then look at the site as a
        // visitor who clicks through the browser's warning would: its
        // content still needs inspecting.
        findings.push(maker.make(
            "site.tls-error",
            Severity::High,
            "HTTPS 证书无效或握手错误（浏览器会显示安全警告）",
            "Invalid HTTPS certificate or handshake error",
            &format!("访问 {site} 时：{}", shorten(detail, 400)),
            site,
        ));
        fetcher = fetcher_with(true)?;
        home = fetcher
            .fetch(&opts.url, Method::Get, Visitor::Browser, None)
            .await;
    }
    Ok((fetcher, home))
}

fn homepage_status(home: &Result<Fetched, FetchFailure>, site: &str) -> HomepageStatus {
    HomepageStatus {
        status: home.as_ref().ok().map(|f| f.status),
        elapsed_ms: home.as_ref().map_or(0, |f| f.elapsed.as_millis() as u64),
        final_url: home
            .as_ref()
            .map_or_else(|_| site.to_string(), |f| f.url.to_string()),
        redirects: home.as_ref().map_or_else(
            |_| Vec::new(),
            |f| {
                if f.chain.len() > 1 {
                    f.chain.iter().map(Url::to_string).collect()
                } else {
                    Vec::new()
                }
            },
        ),
        error: home.as_ref().err().map(FetchFailure::zh),
    }
}

/// Whether the homepage answered, with the findings on how it answered. A
/// redirect off the site's hosts is recorded, not crawled: the host it
/// ends on does not join the scope (an attacker's redirect would make the
/// crawl theirs).
fn judge_homepage(
    home: &Result<Fetched, FetchFailure>,
    site: &str,
    maker: &FindingMaker,
    scope: &HashSet<String>,
    findings: &mut Vec<NewFinding>,
) -> bool {
    match home {
        Ok(f) if f.status < 400 => {
            if !f.url.host_str().is_some_and(|h| scope.contains(h)) {
                findings.push(maker.make(
                    crate::events::OFFSITE_REDIRECT,
                    Severity::Medium,
                    "首页跳转到站外地址",
                    "Homepage redirects off the site",
                    &format!(
                        "首页跳转到 {}（{}），不属于本网站的主机，未继续巡查；\
                         如该主机确属本网站，请把它加入网站的主机名（--host）",
                        f.url,
                        f.chain.iter().map(Url::as_str).collect::<Vec<_>>().join(" → ")
                    ),
                    site,
                ));
            }
            if f.elapsed > SLOW_HOMEPAGE {
                findings.push(maker.make(
                    "site.slow-homepage",
                    Severity::Low,
                    "首页打开缓慢",
                    "Homepage is slow",
                    &format!(
                        "首页响应用时 {} 毫秒（超过 15 秒计为无法访问）",
                        f.elapsed.as_millis()
                    ),
                    site,
                ));
            }
            true
        }
        Ok(f) => {
            findings.push(maker.make(
                "site.unreachable",
                Severity::Critical,
                "首页无法访问",
                "Homepage unreachable",
                &format!("首页返回 HTTP {}（{}）", f.status, f.url),
                site,
            ));
            false
        }
        Err(FetchFailure::Refused(detail)) => {
            findings.push(maker.make(
                crate::events::OFFSITE_REDIRECT,
                Severity::High,
                "首页跳转到本机或链路本地地址",
                "Homepage redirects to this machine or the link-local network",
                &format!(
                    "首页跳转到 {detail}，未跟随；\
                     公开网站这样跳转，访客打不开首页，也可能是网站被篡改"
                ),
                site,
            ));
            false
        }
        Err(e) => {
            let (check, zh) = match e {
                FetchFailure::Tls(_) => ("site.tls-error", "首页 HTTPS 证书或握手错误，无法访问"),
                _ => ("site.unreachable", "首页无法访问"),
            };
            findings.push(maker.make(
                check,
                Severity::Critical,
                zh,
                "Homepage unreachable",
                &format!("访问首页失败：{}", e.zh()),
                site,
            ));
            false
        }
    }
}

async fn fetch_robots(opts: &InspectOptions, fetcher: &Fetcher, home_final: &Url) -> Robots {
    if opts.own_site {
        return Robots::default();
    }
    let mut robots_url = home_final.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    match fetcher
        .fetch(&robots_url, Method::Get, Visitor::Browser, Some(512 * 1024))
        .await
    {
        Ok(f) if f.status == 200 => Robots::parse(&decode(&f.body, f.content_type.as_deref()).0),
        _ => Robots::default(),
    }
}

/// The crawl's state: what the pages found and referred to, carried from
/// the crawl of pages to the checks of references and the report.
struct Crawl {
    frontier: VecDeque<PageJob>,
    seen: HashSet<String>,
    refs: HashMap<String, RefInfo>,
    page_failures: HashMap<String, Option<String>>,
    home_facts: Option<PageFacts>,
    pages: usize,
    links_found: usize,
    snapshot: SiteSnapshot,
    text_bytes: u64,
    enqueued: usize,
    findings: Vec<NewFinding>,
    limits_hit: Vec<String>,
    /// Pages and references a budget left unchecked, and which budget.
    unchecked: HashMap<String, FetchFailure>,
    progress: Arc<crate::progress::Progress>,
    /// The pages compared, for what is a page's own content.
    template: crate::template::Template,
}

impl Crawl {
    fn new(opts: &InspectOptions, home_final: &Url, findings: Vec<NewFinding>) -> Self {
        Crawl {
            frontier: VecDeque::new(),
            seen: HashSet::from([opts.url.to_string(), home_final.to_string()]),
            refs: HashMap::new(),
            page_failures: HashMap::new(),
            home_facts: None,
            progress: opts.progress.clone(),
            pages: 0,
            links_found: 0,
            snapshot: SiteSnapshot {
                taken_at: Some(Utc::now()),
                homepage: opts.url.to_string(),
                pages: Default::default(),
            },
            text_bytes: 0,
            enqueued: 1,
            findings,
            limits_hit: Vec::new(),
            unchecked: HashMap::new(),
            template: Default::default(),
        }
    }

    /// The homepage (already fetched), then every page in scope
    /// breadth-first within the limits.
    async fn pages_in_scope(
        &mut self,
        shared: &Arc<Shared>,
        opts: &InspectOptions,
        robots: &Robots,
        home: Result<Fetched, FetchFailure>,
    ) {
        let mut tasks: JoinSet<PageOutcome> = JoinSet::new();
        {
            let shared = shared.clone();
            let job = PageJob {
                url: opts.url.clone(),
                depth: 0,
                anchor: None,
            };
            tasks.spawn(process_page(shared, job, Some(home)));
        }
        loop {
            while tasks.len() < opts.concurrency.max(1) {
                let Some(job) = self.frontier.pop_front() else {
                    break;
                };
                tasks.spawn(process_page(shared.clone(), job, None));
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let outcome = match joined {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(error = %e, "a page task failed");
                    continue;
                }
            };
            self.absorb(outcome, shared, opts, robots);
        }
    }

    /// Take in one page's outcome: its findings, its references, and the
    /// pages it links to that are still to be crawled.
    fn absorb(
        &mut self,
        outcome: PageOutcome,
        shared: &Shared,
        opts: &InspectOptions,
        robots: &Robots,
    ) {
        let is_home = outcome.job.url == opts.url;
        if let Some(why) = outcome.unchecked {
            self.unchecked.insert(outcome.job.url.to_string(), why);
            return;
        }
        self.page_failures
            .insert(outcome.job.url.to_string(), outcome.failure);
        self.findings.extend(outcome.findings);
        self.text_bytes += outcome.text_bytes;
        let Some(facts) = outcome.facts else {
            return;
        };
        self.pages += 1;
        self.progress.page_done();
        self.links_found += facts.refs.len();
        let anchor = outcome.job.anchor.as_deref();
        let judge = !is_home
            && facts.is_complete()
            && !checks::is_blank_page(&shared.ctx(is_home, anchor), &facts);
        self.template.add(&outcome.job.url, &facts, anchor, judge);
        self.snapshot.pages.insert(
            outcome.job.url.to_string(),
            PageSnapshot::new(&facts.title, &facts.text, is_home),
        );
        for r in &facts.refs {
            let key = r.url.to_string();
            let full = self.refs.len() >= opts.max_refs;
            if let Some(info) = self.refs.get_mut(&key) {
                info.referrers += 1;
                info.from_homepage |= is_home;
            } else if full {
                note(
                    &mut self.limits_hit,
                    format!("引用数上限 {}", opts.max_refs),
                );
                continue;
            } else {
                self.refs.insert(
                    key.clone(),
                    RefInfo {
                        url: r.url.clone(),
                        kind: r.kind,
                        first_referrer: outcome.job.url.to_string(),
                        element: r.element.clone(),
                        from_homepage: is_home,
                        referrers: 1,
                    },
                );
            }
            if r.kind != RefKind::Link || !shared.in_scope(&r.url) || self.seen.contains(&key) {
                continue;
            }
            if !robots.allows(&r.url) {
                continue;
            }
            if outcome.job.depth + 1 > opts.max_depth {
                note(&mut self.limits_hit, format!("深度上限 {}", opts.max_depth));
                continue;
            }
            if self.enqueued >= opts.max_pages {
                note(
                    &mut self.limits_hit,
                    format!("页面数上限 {}", opts.max_pages),
                );
                continue;
            }
            self.seen.insert(key);
            self.enqueued += 1;
            self.frontier.push_back(PageJob {
                url: r.url.clone(),
                depth: outcome.job.depth + 1,
                anchor: Some(r.text.clone()).filter(|t| !t.is_empty()),
            });
        }
        if is_home {
            self.home_facts = Some(facts);
        }
    }

    /// The findings for broken and empty references, in the order of their
    /// URLs; returns how many were broken on the homepage and elsewhere.
    fn report_broken_refs(
        &mut self,
        shared: &Shared,
        ref_failures: &mut HashMap<String, RefCheck>,
    ) -> (usize, usize) {
        let maker = &shared.maker;
        let mut broken_on_homepage = 0;
        let mut broken_elsewhere = 0;
        let mut keys: Vec<&String> = self.refs.keys().collect();
        keys.sort();
        for key in keys {
            let info = &self.refs[key];
            let (broken, empty) = match (self.page_failures.get_mut(key), ref_failures.get_mut(key))
            {
                (Some(f), _) => (f.clone(), false),
                // Another host that gave no answer is not verified, and
                // not broken: only an HTTP error answer makes a link dead.
                (None, Some(c)) if c.no_answer && !shared.in_scope(&info.url) => {
                    let why = c.broken.take().unwrap_or_default();
                    self.unchecked
                        .insert(key.clone(), FetchFailure::NoAnswerOutside(why));
                    continue;
                }
                (None, Some(c)) if c.unchecked.is_some() => {
                    if let Some(why) = c.unchecked.take() {
                        self.unchecked.insert(key.clone(), why);
                    }
                    continue;
                }
                (None, Some(c)) => {
                    self.findings.append(&mut c.findings);
                    (c.broken.clone(), c.empty)
                }
                (None, None) => continue,
            };
            if empty {
                self.findings.push(maker.make(
                    "site.empty-attachment",
                    Severity::Medium,
                    "空白附件",
                    "Empty attachment",
                    &format!(
                        "附件大小为 0 字节；出现在 {} {}",
                        info.first_referrer, info.element
                    ),
                    info.url.as_str(),
                ));
            }
            let Some(why) = broken else {
                continue;
            };
            if info.from_homepage {
                broken_on_homepage += 1;
            } else {
                broken_elsewhere += 1;
            }
            self.findings
                .push(broken_ref(maker, info, !shared.in_scope(&info.url), &why));
        }
        (broken_on_homepage, broken_elsewhere)
    }

    /// The findings saying what was left unchecked: one for the
    /// inspection's time budget, one per other host whose budget ran out
    /// (each also a limit hit, so that findings not seen are not taken as
    /// fixed), one for targets on this machine the site may not reach.
    fn report_unchecked(&mut self, shared: &Shared, opts: &InspectOptions) {
        let mut groups: HashMap<Left, Vec<&String>> = HashMap::new();
        for (url, why) in &self.unchecked {
            let left = match why {
                FetchFailure::HostOutOfTime(host) => Left::Host(host.clone()),
                FetchFailure::Refused(_) => Left::Local,
                FetchFailure::NoAnswerOutside(_) => Left::Outside,
                _ => Left::Inspection,
            };
            groups.entry(left).or_default().push(url);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort();
        for (left, mut urls) in groups {
            urls.sort();
            let examples: Vec<&str> = urls.iter().take(3).map(|u| u.as_str()).collect();
            let examples = format!(
                "如 {}{}",
                examples.join("、"),
                if urls.len() > 3 { " 等" } else { "" }
            );
            let n = urls.len();
            let home = shared.homepage.as_str();
            let (check, severity, zh, en, evidence, at, limit) = match &left {
                Left::Inspection => (
                    crate::events::TIME_BUDGET,
                    Severity::Low,
                    "巡查用时达到上限，部分内容未检查".to_string(),
                    "Inspection time budget spent: not everything was checked",
                    format!(
                        "巡查用时超过 {} 分钟；{n} 个页面、链接和资源未检查（{examples}），它们是否正常未知",
                        opts.max_duration.as_secs() / 60,
                    ),
                    home.to_string(),
                    Some(format!(
                        "巡查用时上限 {} 分钟",
                        opts.max_duration.as_secs() / 60
                    )),
                ),
                Left::Host(host) => (
                    crate::events::TIME_BUDGET,
                    Severity::Low,
                    format!("站外网站 {host} 响应过慢，部分链接未检查"),
                    "Another host's time budget spent: links to it not all checked",
                    format!(
                        "对 {host} 的请求累计用时超过 {} 秒；指向它的 {n} 个链接和资源未检查（{examples}），它们是否正常未知",
                        opts.host_budget.as_secs(),
                    ),
                    format!("{home} {host}"),
                    Some(format!(
                        "单个站外主机用时上限 {} 秒",
                        opts.host_budget.as_secs()
                    )),
                ),
                Left::Outside => (
                    crate::events::EXTERNAL_UNVERIFIED,
                    Severity::Info,
                    "站外链接无法核验".to_string(),
                    "Links to other hosts could not be verified",
                    format!(
                        "{n} 个站外链接和资源没有任何应答（域名无法解析、无法连接或超时，{examples}），\
                         无法判断是否为死链，未计为死链；若都如此，多半是本机不能访问互联网（如政务外网），\
                         可在能上网的电脑上复查"
                    ),
                    format!("{home} external"),
                    Some("站外链接无法核验".to_string()),
                ),
                Left::Local => (
                    crate::events::LOCAL_TARGET,
                    Severity::Medium,
                    "链接或跳转指向本机或链路本地地址，未访问".to_string(),
                    "Links or redirects to this machine or the link-local network: not followed",
                    format!(
                        "{n} 个链接或跳转的目标是本机（loopback）或链路本地地址（{examples}）；\
                         本网站未标记为本单位网站，巡查不访问这些地址。访客打不开这样的链接，\
                         它们也可能是借巡查探测本机服务的企图"
                    ),
                    format!("{home} local"),
                    None,
                ),
            };
            self.findings
                .push(shared.maker.make(check, severity, zh, en, &evidence, &at));
            if let Some(limit) = limit {
                note(&mut self.limits_hit, limit);
            }
        }
    }
}

/// What left a page or a reference unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Left {
    /// The inspection's time budget.
    Inspection,
    /// One other host's time budget (`host:port`).
    Host(String),
    /// This machine or the link-local network, which the site may not
    /// reach.
    Local,
    /// Other hosts that gave no answer.
    Outside,
}

/// The finding for one reference that is broken.
fn broken_ref(maker: &FindingMaker, info: &RefInfo, external: bool, why: &str) -> NewFinding {
    let (check, zh, en) = match info.kind {
        RefKind::Link => ("site.broken-link", "死链", "Broken link"),
        RefKind::Attachment => (
            "site.broken-attachment",
            "附件无法下载",
            "Broken attachment",
        ),
        RefKind::Image => ("site.broken-image", "图片无法显示", "Broken image"),
        _ => (
            "site.broken-resource",
            "页面资源无法加载",
            "Broken page resource",
        ),
    };
    let where_zh = if info.from_homepage { "首页" } else { "" };
    let scope_zh = if external { "外链" } else { "内链" };
    maker.make(
        check,
        if info.from_homepage {
            Severity::Medium
        } else {
            Severity::Low
        },
        format!("{where_zh}{scope_zh}{zh}"),
        format!("{en} ({})", if external { "external" } else { "internal" }),
        &format!(
            "{why}；首次出现于 {}：{}；共 {} 处引用",
            info.first_referrer, info.element, info.referrers
        ),
        info.url.as_str(),
    )
}

/// Every reference that was not crawled as a page, checked once; returns
/// how many references were checked in all, pages included, and what each
/// check found.
async fn check_other_refs(
    shared: &Arc<Shared>,
    opts: &InspectOptions,
    robots: &Robots,
    crawl: &Crawl,
) -> (usize, HashMap<String, RefCheck>) {
    let mut to_check: Vec<(String, Url, RefKind, String)> = Vec::new();
    for (key, info) in &crawl.refs {
        if crawl.page_failures.contains_key(key) || crawl.unchecked.contains_key(key) {
            continue;
        }
        let in_scope = shared.in_scope(&info.url);
        if (in_scope && info.kind == RefKind::Link && !robots.allows(&info.url))
            || (!in_scope && !opts.check_external)
        {
            continue;
        }
        to_check.push((
            key.clone(),
            info.url.clone(),
            info.kind,
            info.first_referrer.clone(),
        ));
    }
    let refs_checked = to_check.len() + crawl.page_failures.len();
    opts.progress.refs_to_check(to_check.len());
    let mut ref_failures: HashMap<String, RefCheck> = HashMap::new();
    let mut checks: JoinSet<(String, RefCheck)> = JoinSet::new();
    // Which reference each task checks: a task that panics returns no key.
    let mut tasks: HashMap<tokio::task::Id, (String, Url, String, bool)> = HashMap::new();
    let mut pending = to_check.into_iter();
    loop {
        while checks.len() < opts.concurrency.max(1) {
            let Some((key, url, kind, referrer)) = pending.next() else {
                break;
            };
            let shared = shared.clone();
            // Our own attachments are downloaded and read for personal
            // information; other sites' are only checked.
            let scan =
                (kind == RefKind::Attachment && opts.scan_attachments && shared.in_scope(&url))
                    .then_some(opts.max_attachment_bytes);
            let task = (key.clone(), url.clone(), referrer.clone(), scan.is_some());
            let handle = checks.spawn(async move {
                let result = match scan {
                    Some(cap) => scan_attachment(&shared, &url, &referrer, cap).await,
                    None => check_ref(&shared.fetcher, &url, kind).await,
                };
                (key, result)
            });
            tasks.insert(handle.id(), task);
        }
        let done = checks.join_next_with_id().await;
        if done.is_some() {
            opts.progress.ref_done();
        }
        match done {
            Some(Ok((id, (key, result)))) => {
                tasks.remove(&id);
                ref_failures.insert(key, result);
            }
            Some(Err(e)) => match tasks.remove(&e.id()) {
                Some((key, url, referrer, true)) => {
                    let finding = reader_failed(
                        &shared.maker,
                        url.as_str(),
                        &referrer,
                        false,
                        &failure_of(e),
                    );
                    ref_failures.insert(
                        key,
                        RefCheck {
                            findings: vec![finding],
                            ..RefCheck::default()
                        },
                    );
                }
                _ => tracing::warn!(error = %e, "a link check failed"),
            },
            None => break,
        }
    }
    (refs_checked, ref_failures)
}

/// The hosts that belong to the site: the homepage's, the same name with
/// or without `www.` (sites answer on both and link to both), and any the
/// caller names.
fn scope_hosts(url: &Url, extra: &[String]) -> HashSet<String> {
    let mut scope: HashSet<String> = extra.iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(url::Host::Domain(host)) = url.host() {
        scope.insert(host.to_string());
        match host.strip_prefix("www.") {
            Some(bare) if bare.contains('.') => scope.insert(bare.to_string()),
            Some(_) => false,
            None => scope.insert(format!("www.{host}")),
        };
    } else if let Some(host) = url.host_str() {
        scope.insert(host.to_string());
    }
    scope
}

/// Checks whose findings repeat on every page when the problem sits in
/// the site's template (a typo in the footer, a dark link in the header).
const TEMPLATE_CHECKS: &[&str] = &[
    "site.wording.",
    "site.pii.",
    "site.dark-link",
    "site.hidden-spam",
    "site.spam-link",
    "site.document-write-link",
    "site.script-redirect",
];

/// One finding for a problem repeated word for word on many pages: the
/// one at the first location in sort order (stable across runs, whatever
/// order the pages were fetched in), with the number of pages and a few of
/// them added to its evidence.
fn merge_template_repeats(findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut out: Vec<NewFinding> = Vec::with_capacity(findings.len());
    let mut groups: HashMap<(String, String), Vec<NewFinding>> = HashMap::new();
    for f in findings {
        if TEMPLATE_CHECKS
            .iter()
            .any(|c| f.provenance.check.starts_with(c))
        {
            groups
                .entry((f.provenance.check.clone(), f.evidence.clone()))
                .or_default()
                .push(f);
        } else {
            out.push(f);
        }
    }
    let mut merged: Vec<NewFinding> = groups
        .into_values()
        .map(|mut group| {
            group.sort_by(|a, b| a.location.cmp(&b.location));
            let others: Vec<String> = group[1..]
                .iter()
                .take(3)
                .map(|f| f.location.clone())
                .collect();
            let count = group.len();
            let mut first = group.swap_remove(0);
            if count > 1 {
                first.evidence.push_str(&format!(
                    "；相同内容共出现在 {count} 个页面（另如 {}{}）",
                    others.join("、"),
                    if count > 4 { " 等" } else { "" }
                ));
            }
            first
        })
        .collect();
    merged.sort_by(|a, b| {
        (&a.provenance.check, &a.location).cmp(&(&b.provenance.check, &b.location))
    });
    out.extend(merged);
    out
}

fn note(limits: &mut Vec<String>, what: String) {
    if !limits.contains(&what) {
        limits.push(what);
    }
}

/// Fetch a page (unless the homepage was fetched already), analyse it, run
/// the page checks, and for the first pages compare what search engines
/// are shown.
async fn process_page(
    shared: Arc<Shared>,
    job: PageJob,
    prefetched: Option<Result<Fetched, FetchFailure>>,
) -> PageOutcome {
    let mut outcome = PageOutcome {
        job,
        failure: None,
        facts: None,
        findings: Vec::new(),
        text_bytes: 0,
        unchecked: None,
    };
    let Some(f) = fetch_page(&shared, &mut outcome, prefetched).await else {
        return outcome;
    };
    let is_home = outcome.job.url == shared.homepage;
    // Key columns are the pages the homepage links to; the homepage's own
    // time is judged in `run`.
    if outcome.job.depth == 1 && f.elapsed > SLOW_HOMEPAGE {
        outcome.findings.push(shared.maker.make(
            "site.slow-page",
            Severity::Low,
            "栏目页打开缓慢",
            "Key column page is slow",
            &format!(
                "首页链接的栏目页「{}」响应用时 {} 毫秒",
                outcome.job.anchor.as_deref().unwrap_or(""),
                f.elapsed.as_millis()
            ),
            outcome.job.url.as_str(),
        ));
    }
    if f.truncated {
        outcome.findings.push(shared.maker.make(
            "site.oversized-page",
            Severity::Low,
            "页面过大",
            "Page too large",
            &format!("页面超过 {} 字节，只检查了前面部分", f.body.len()),
            outcome.job.url.as_str(),
        ));
    }
    let (facts, findings) = analyse_page(&shared, &outcome.job, f, is_home).await;
    outcome.text_bytes = facts.text.len() as u64;
    outcome.findings.extend(findings);
    if shared
        .cloak_budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
        && let Some(finding) = compare_search_views(&shared, &outcome.job, is_home, &facts).await
    {
        outcome.findings.push(finding);
    }
    outcome.facts = Some(facts);
    outcome
}

/// The page as a visitor's browser gets it, when it answered with HTML on
/// the site; else `None`, with why it is broken in the outcome.
async fn fetch_page(
    shared: &Shared,
    outcome: &mut PageOutcome,
    prefetched: Option<Result<Fetched, FetchFailure>>,
) -> Option<Fetched> {
    let fetched = match prefetched {
        Some(r) => r,
        None => {
            shared
                .fetcher
                .fetch(&outcome.job.url, Method::Get, Visitor::Browser, None)
                .await
        }
    };
    let f = match fetched {
        Ok(f) => f,
        Err(e) if e.is_unchecked() => {
            outcome.unchecked = Some(e);
            return None;
        }
        Err(e) => {
            if let FetchFailure::RedirectLoop(_) | FetchFailure::TooManyRedirects(_) = e {
                outcome.findings.push(shared.maker.make(
                    "site.redirect-loop",
                    Severity::Medium,
                    "重定向循环",
                    "Redirect loop",
                    &e.zh(),
                    outcome.job.url.as_str(),
                ));
            }
            outcome.failure = Some(e.zh());
            return None;
        }
    };
    if f.status >= 400 {
        outcome.failure = Some(format!("HTTP {}", f.status));
        return None;
    }
    // A link that redirects off the site is checked, not analysed.
    if !f.is_html() || !shared.in_scope(&f.url) {
        return None;
    }
    Some(f)
}

/// Decode and analyse the page and run the page checks, off the async
/// threads; a panic in them is a finding saying so.
async fn analyse_page(
    shared: &Arc<Shared>,
    job: &PageJob,
    f: Fetched,
    is_home: bool,
) -> (PageFacts, Vec<NewFinding>) {
    let anchor = job.anchor.clone();
    let page_url = job.url.clone();
    let shared = shared.clone();
    let maker = shared.maker.clone();
    let final_url = f.url.clone();
    let content_type = f.content_type.clone();
    let body = f.body;
    tokio::task::spawn_blocking(move || {
        let (text, _) = decode(&body, content_type.as_deref());
        let facts = analyse(&text, &final_url, shared.today);
        let ctx = shared.ctx(is_home, anchor.as_deref());
        let mut findings = checks::page_checks(&ctx, &page_url, &facts);
        if let Some(at) = facts.cut_at_nesting {
            findings.push(shared.maker.make(
                "site.malformed-html",
                Severity::Low,
                "页面 HTML 结构异常（元素嵌套过深）",
                "Malformed HTML: elements nested too deep",
                &format!(
                    "元素嵌套超过 {} 层，第 {at} 字节之后的内容未检查",
                    crate::page::MAX_NESTING
                ),
                page_url.as_str(),
            ));
        }
        if let Some(at) = facts.cut_at_budget {
            findings.push(shared.maker.make(
                crate::events::PAGE_TOO_COMPLEX,
                Severity::Low,
                "页面结构异常，未完整检查",
                "Malformed HTML: the page was not fully checked",
                &format!(
                    "页面中大量未闭合的格式标签（如 <b>、<font>）使浏览器在其后每个段落中重建这些元素，\
                     所需元素超过 {} 个；第 {at} 字节之后的内容（共 {} 字节）未检查",
                    crate::parse::element_budget(&text),
                    text.len()
                ),
                page_url.as_str(),
            ));
        }
        (facts, findings)
    })
    .await
    .unwrap_or_else(|e| {
        let finding = page_failed(&maker, job.url.as_str(), &failure_of(e));
        (PageFacts::default(), vec![finding])
    })
}

/// Fetch the page again as a spider and as a visitor from a search, and
/// compare what they are shown with what the browser was.
async fn compare_search_views(
    shared: &Arc<Shared>,
    job: &PageJob,
    is_home: bool,
    facts: &PageFacts,
) -> Option<NewFinding> {
    for (visitor, name) in [
        (Visitor::Spider, "百度蜘蛛"),
        (Visitor::FromSearch, "搜索引擎来访者"),
    ] {
        let Ok(other) = shared
            .fetcher
            .fetch(&job.url, Method::Get, visitor, None)
            .await
        else {
            continue;
        };
        if other.status >= 400 {
            continue;
        }
        let other_final = other.url.clone();
        let shared2 = shared.clone();
        let browser = facts.clone();
        let at = job.url.to_string();
        let anchor = job.anchor.clone();
        let found = tokio::task::spawn_blocking(move || {
            let (text, _) = decode(&other.body, other.content_type.as_deref());
            let other_facts = analyse(&text, &other.url, shared2.today);
            let ctx = shared2.ctx(is_home, anchor.as_deref());
            checks::cloaking(&ctx, &at, name, &browser, &other_facts, &other_final)
        })
        .await
        .ok()
        .flatten();
        if found.is_some() {
            // One finding per page is enough to send someone to look.
            return found;
        }
    }
    None
}

/// The result of checking one reference.
#[derive(Debug, Clone, Default)]
struct RefCheck {
    broken: Option<String>,
    /// The request got no answer at all (see `FetchFailure::is_no_answer`).
    no_answer: bool,
    /// A budget ran out before the reference was checked.
    unchecked: Option<FetchFailure>,
    empty: bool,
    /// What reading the reference found (personal information in an
    /// attachment).
    findings: Vec<NewFinding>,
}

/// Download one of the site's attachments, check it like any reference,
/// and read its text for personal information.
async fn scan_attachment(shared: &Shared, url: &Url, referrer: &str, cap: usize) -> RefCheck {
    let mut out = RefCheck::default();
    let f = match shared
        .fetcher
        .fetch_capped(url, Visitor::Browser, cap)
        .await
    {
        Ok(f) => f,
        Err(e) if e.is_unchecked() => {
            out.unchecked = Some(e);
            return out;
        }
        Err(e) => {
            out.no_answer = e.is_no_answer();
            out.broken = Some(e.zh());
            return out;
        }
    };
    if f.status == 429 {
        return out;
    }
    if f.status >= 400 {
        out.broken = Some(format!("HTTP {}", f.status));
        return out;
    }
    if f.body.is_empty() {
        out.empty = true;
        return out;
    }
    let extension = url
        .path()
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let maker = shared.maker.clone();
    let at = url.to_string();
    let referrer = referrer.to_string();
    let truncated = f.truncated;
    let body = f.body;
    let read = {
        let (maker, at, referrer) = (maker.clone(), at.clone(), referrer.clone());
        tokio::task::spawn_blocking(move || {
            let mut findings = Vec::new();
            match shouwang_scan::extract::text_of(&body, &extension) {
                Ok(text) => {
                    checks::attachment_pii(&maker, &at, &referrer, &text, truncated, &mut findings)
                }
                Err(e) => findings.push(checks::unreadable_attachment(
                    &maker,
                    &at,
                    &referrer,
                    &e.zh(),
                    &e.to_string(),
                    truncated,
                )),
            }
            findings
        })
        .await
    };
    out.findings = read.unwrap_or_else(|e| {
        vec![reader_failed(
            &maker,
            &at,
            &referrer,
            truncated,
            &failure_of(e),
        )]
    });
    out
}

/// The finding for a page whose analysis stopped with a panic: none of
/// its checks ran, and that is said rather than passed.
fn page_failed(maker: &FindingMaker, at: &str, failure: &str) -> NewFinding {
    tracing::warn!(page = at, failure, "page analysis failed");
    maker.make(
        "site.unreadable-page",
        Severity::Low,
        "页面无法分析",
        format!("Page could not be analysed ({failure})"),
        "分析页面的程序内部出错；此页面的内容检查（个人信息、暗链、错别字等）未能进行",
        at,
    )
}

/// What a task that did not finish left: its panic message, or that it was
/// cancelled.
fn failure_of(e: tokio::task::JoinError) -> String {
    if e.is_panic() {
        let payload = e.into_panic();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("panic: {message}")
    } else {
        "cancelled".into()
    }
}

/// The finding for an attachment whose reading stopped with a panic: said,
/// not swallowed, so that its check is not taken for a pass.
fn reader_failed(
    maker: &FindingMaker,
    at: &str,
    referrer: &str,
    truncated: bool,
    failure: &str,
) -> NewFinding {
    tracing::warn!(attachment = at, failure, "reading an attachment failed");
    checks::unreadable_attachment(
        maker,
        at,
        referrer,
        "读取附件的程序内部出错",
        &format!("the reader failed ({failure})"),
        truncated,
    )
}

/// HEAD first (cheap, keeps the connection), GET when HEAD is refused or
/// says nothing useful.
async fn check_ref(fetcher: &Fetcher, url: &Url, kind: RefKind) -> RefCheck {
    let mut out = RefCheck::default();
    let attachment = kind == RefKind::Attachment;
    match fetcher
        .fetch(url, Method::Head, Visitor::Browser, Some(0))
        .await
    {
        Ok(f) if f.status < 400 && !(attachment && f.content_length.is_none()) => {
            out.empty = attachment && f.content_length == Some(0);
            if kind == RefKind::Image && content_is_html(&f) {
                out.broken = Some("返回的是网页而不是图片".into());
            }
            return out;
        }
        Ok(f) if matches!(f.status, 404 | 410) => {
            out.broken = Some(format!("HTTP {}", f.status));
            return out;
        }
        Err(e) if e.is_unchecked() => {
            out.unchecked = Some(e);
            return out;
        }
        _ => {}
    }
    match fetcher
        .fetch(url, Method::Get, Visitor::Browser, Some(REF_BODY_CAP))
        .await
    {
        // Rate limiting is not a broken link.
        Ok(f) if f.status == 429 => {}
        Ok(f) if f.status >= 400 => out.broken = Some(format!("HTTP {}", f.status)),
        Ok(f) => {
            out.empty = attachment && f.body.is_empty() && !f.truncated;
            if kind == RefKind::Image && content_is_html(&f) {
                out.broken = Some("返回的是网页而不是图片".into());
            }
        }
        Err(e) if e.is_unchecked() => out.unchecked = Some(e),
        Err(e) => {
            out.no_answer = e.is_no_answer();
            out.broken = Some(e.zh());
        }
    }
    out
}

fn content_is_html(f: &Fetched) -> bool {
    f.content_type
        .as_deref()
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/html"))
}

/// HTTPS offered, HTTP sent on to HTTPS, certificate expiry, IPv6.
async fn transport_checks(
    fetcher: &Fetcher,
    url: &Url,
    home: &Result<Fetched, FetchFailure>,
    maker: &FindingMaker,
    today: NaiveDate,
) -> Vec<NewFinding> {
    let mut out = Vec::new();
    let at = url.as_str();
    let final_https = home.as_ref().is_ok_and(|f| f.url.scheme() == "https");
    if let Ok(f) = home
        && let Some(not_after) = f.cert_not_after
    {
        let left = days_left(not_after, today);
        if left < 30 {
            out.push(maker.make(
                "site.tls.cert-expiring",
                if left < 7 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                "HTTPS 证书即将过期",
                "TLS certificate expires soon",
                &format!(
                    "证书有效期至 {}，剩余 {left} 天",
                    not_after.format("%Y-%m-%d")
                ),
                at,
            ));
        }
    }
    let mut other = url.clone();
    let switched = if url.scheme() == "https" {
        other.set_scheme("http").is_ok() && other.set_port(None).is_ok()
    } else {
        other.set_scheme("https").is_ok() && other.set_port(None).is_ok()
    };
    if switched {
        let probe = fetcher
            .fetch(&other, Method::Get, Visitor::Browser, Some(REF_BODY_CAP))
            .await;
        if url.scheme() == "https" || final_https {
            // We have HTTPS: does plain HTTP send visitors there?
            let http_url = if url.scheme() == "http" { url } else { &other };
            let served_plain = if url.scheme() == "http" {
                home.as_ref().is_ok_and(|f| f.url.scheme() == "http")
            } else {
                probe
                    .as_ref()
                    .is_ok_and(|f| f.status < 400 && f.url.scheme() == "http")
            };
            if served_plain {
                out.push(maker.make(
                    "site.http-no-redirect",
                    Severity::Low,
                    "HTTP 访问未跳转到 HTTPS",
                    "HTTP is not redirected to HTTPS",
                    &format!("{http_url} 以明文 HTTP 提供内容"),
                    at,
                ));
            }
        } else {
            match probe {
                Ok(f) if f.status < 400 && f.url.scheme() == "https" => out.push(maker.make(
                    "site.http-no-redirect",
                    Severity::Low,
                    "HTTP 访问未跳转到 HTTPS",
                    "HTTP is not redirected to HTTPS",
                    &format!("站点提供 HTTPS（{other}），但 {at} 仍以明文 HTTP 提供内容"),
                    at,
                )),
                // Not asked: says nothing of HTTPS.
                Err(e) if e.is_unchecked() => {}
                Err(FetchFailure::Tls(e)) => out.push(maker.make(
                    "site.tls-error",
                    Severity::High,
                    "HTTPS 证书或握手错误",
                    "HTTPS certificate or handshake error",
                    &format!("{other}：{}", shorten(&e, 300)),
                    at,
                )),
                _ => out.push(maker.make(
                    "site.https-missing",
                    Severity::Low,
                    "未提供 HTTPS 访问",
                    "No HTTPS",
                    &format!("{other} 无法访问"),
                    at,
                )),
            }
        }
    }
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(80);
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            let addrs: Vec<_> = addrs.collect();
            if !addrs.is_empty() && !addrs.iter().any(|a| a.is_ipv6()) {
                out.push(maker.make(
                    "site.ipv6-missing",
                    Severity::Low,
                    "网站不支持 IPv6 访问",
                    "No IPv6 (AAAA) address",
                    &format!(
                        "{host} 只解析到 IPv4 地址：{}",
                        addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    at,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(url: &str, extra: &[&str]) -> Vec<String> {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut v: Vec<String> = scope_hosts(&url.parse().unwrap(), &extra)
            .into_iter()
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn an_attachment_reader_that_panics_is_a_finding_saying_so() {
        let maker = FindingMaker {
            asset: AssetRef::new(AssetKind::Website, "http://x/"),
        };
        let joined = tokio::task::spawn_blocking(|| -> Vec<NewFinding> {
            panic!("end byte index 12 is not a char boundary")
        })
        .await;
        let f = reader_failed(
            &maker,
            "http://x/files/a.docx",
            "http://x/",
            false,
            &failure_of(joined.unwrap_err()),
        );
        assert_eq!(f.provenance.check, "site.unreadable-attachment");
        assert_eq!(f.title.zh, "附件无法读取");
        assert!(
            f.title.en.contains("could not be read") && f.title.en.contains("char boundary"),
            "{}",
            f.title.en
        );
        assert!(f.evidence.contains("内部出错"), "{}", f.evidence);
        assert!(!f.evidence.contains("panic"), "{}", f.evidence);
        assert_eq!(f.location, "http://x/files/a.docx");
    }

    #[tokio::test]
    async fn a_page_whose_analysis_panics_is_a_finding_saying_so() {
        let maker = FindingMaker {
            asset: AssetRef::new(AssetKind::Website, "http://x/"),
        };
        let joined =
            tokio::task::spawn_blocking(|| -> Vec<NewFinding> { panic!("deep tree") }).await;
        let f = page_failed(&maker, "http://x/a.html", &failure_of(joined.unwrap_err()));
        assert_eq!(f.provenance.check, "site.unreadable-page");
        assert_eq!(f.title.zh, "页面无法分析");
        assert!(f.title.en.contains("deep tree"), "{}", f.title.en);
        assert!(f.evidence.contains("未能进行"), "{}", f.evidence);
    }

    #[test]
    fn a_problem_in_the_template_is_one_finding() {
        let maker = FindingMaker {
            asset: AssetRef::new(AssetKind::Website, "http://x/"),
        };
        let typo = |page: &str| {
            maker.make(
                "site.wording.typo",
                Severity::Low,
                "错别字",
                "typo",
                "…再接再励…（本页 1 处）",
                &format!("http://x/{page} 「再接再励」"),
            )
        };
        let other = maker.make(
            "site.broken-link",
            Severity::Low,
            "死链",
            "",
            "HTTP 404",
            "http://x/gone",
        );
        let merged = merge_template_repeats(vec![
            typo("c"),
            typo("a"),
            other.clone(),
            typo("b"),
            typo("d"),
            typo("e"),
        ]);
        assert_eq!(merged.len(), 2, "{merged:#?}");
        let t = merged
            .iter()
            .find(|f| f.provenance.check == "site.wording.typo")
            .unwrap();
        assert_eq!(t.location, "http://x/a 「再接再励」");
        assert!(
            t.evidence.contains("共出现在 5 个页面") && t.evidence.contains(" 等"),
            "{}",
            t.evidence
        );
        // A problem on one page only is left as it was.
        let single = merge_template_repeats(vec![typo("z")]);
        assert_eq!(single[0].evidence, "…再接再励…（本页 1 处）");
    }

    #[test]
    fn the_scope_covers_www_and_named_hosts() {
        assert_eq!(
            hosts("http://www.xx.gov.cn/", &[]),
            ["www.xx.gov.cn", "xx.gov.cn"]
        );
        assert_eq!(
            hosts("https://xx.gov.cn/a", &[]),
            ["www.xx.gov.cn", "xx.gov.cn"]
        );
        assert_eq!(
            hosts("http://127.0.0.1:8080/", &["Files.XX.gov.cn"]),
            ["127.0.0.1", "files.xx.gov.cn"]
        );
        assert_eq!(hosts("http://www.localhost/", &[]), ["www.localhost"]);
    }
}
