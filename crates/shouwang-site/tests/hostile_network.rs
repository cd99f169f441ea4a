//! Sites that work against the inspection over the network, served on
//! loopback by threads of this test: hosts that accept connections and
//! never answer (tarpits), a schedule with such a site among others, and
//! redirects and links that lead the crawler to this machine.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shouwang_model::NewFinding;
use shouwang_site::{InspectOptions, Report, SiteConfig, inspect};
use shouwang_store::{EventFilter, Store};

/// A listener on `ip` that accepts every connection and never answers;
/// the connections are kept open until the test process ends.
fn tarpit(ip: &str) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Serve `pages` (path → HTML) on 127.0.0.1; a page written `302 URL`
/// redirects there, a path starting `/slow/` is accepted and never
/// answered, every other path is 404.
fn serve(pages: HashMap<String, String>) -> SocketAddr {
    serve_on("127.0.0.1", pages)
}

/// [`serve`] on another loopback address, which stands for another host.
fn serve_on(ip: &str, pages: HashMap<String, String>) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let pages = pages.clone();
            let held = held.clone();
            std::thread::spawn(move || answer(stream, &pages, &held));
        }
    });
    addr
}

fn answer(mut stream: TcpStream, pages: &HashMap<String, String>, held: &Mutex<Vec<TcpStream>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    if path.starts_with("/slow/") {
        held.lock().unwrap().push(stream);
        return;
    }
    let (status, body) = match pages.get(path) {
        Some(b) if b.starts_with("302 ") => {
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                &b[4..]
            );
            return;
        }
        Some(b) => ("200 OK", b.as_str()),
        None => ("404 Not Found", "<html><body>404</body></html>"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !request_line.starts_with("HEAD") {
        let _ = stream.write_all(body.as_bytes());
    }
}

fn homepage_linking(targets: &[String]) -> String {
    let links: String = targets
        .iter()
        .map(|t| format!("<li><a href=\"{t}\">链接</a></li>"))
        .collect();
    format!("<html><head><title>首页</title></head><body><ul>{links}</ul></body></html>")
}

fn of_check<'a>(report: &'a Report, check: &str) -> Vec<&'a NewFinding> {
    report
        .findings
        .iter()
        .filter(|f| f.provenance.check == check)
        .collect()
}

/// The inspection, failing the test if it has not finished after `limit`
/// (the crawl would otherwise wait on the tarpit for as long as it likes).
async fn inspect_within(opts: InspectOptions, limit: Duration) -> Report {
    tokio::time::timeout(limit, inspect(opts))
        .await
        .unwrap_or_else(|_| panic!("the inspection still ran after {limit:?}"))
        .unwrap()
}

#[tokio::test]
async fn links_to_a_host_that_never_answers_are_named_unchecked_once_its_time_budget_is_spent() {
    let pit = tarpit("127.0.0.2");
    let targets: Vec<String> = (0..16).map(|i| format!("http://{pit}/p{i}.html")).collect();
    let site = serve(HashMap::from([(
        "/".to_string(),
        homepage_linking(&targets),
    )]));
    let mut opts = InspectOptions::new(format!("http://{site}/").parse().unwrap());
    // Our own site may link to this machine.
    opts.own_site = true;
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.timeout = Duration::from_secs(2);
    opts.host_budget = Duration::from_secs(3);
    let report = inspect_within(opts, Duration::from_secs(60)).await;

    let budget = of_check(&report, "site.time-budget");
    assert_eq!(budget.len(), 1, "{:#?}", report.findings);
    assert!(
        budget[0].location.contains(&pit.to_string()),
        "{}",
        budget[0].location
    );
    assert!(
        budget[0].title.zh.contains("部分链接未检查") && budget[0].evidence.contains("未检查"),
        "{:?}",
        budget[0]
    );
    // Only the requests already under way when the budget ran out were
    // waited out; the rest are named, not reported broken.
    let broken = of_check(&report, "site.broken-link");
    assert!(
        broken.len() < 16,
        "{} of 16 tarpit links waited out",
        broken.len()
    );
    assert!(!report.limits_hit.is_empty());
}

#[tokio::test]
async fn an_inspection_stops_at_its_time_budget_and_says_what_it_did_not_check() {
    let slow: Vec<String> = (0..16).map(|i| format!("/slow/{i}.html")).collect();
    let site = serve(HashMap::from([("/".to_string(), homepage_linking(&slow))]));
    let home = format!("http://{site}/");
    let mut opts = InspectOptions::new(home.parse().unwrap());
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.timeout = Duration::from_secs(120);
    opts.max_duration = Duration::from_secs(3);
    let report = inspect_within(opts, Duration::from_secs(60)).await;

    let budget = of_check(&report, "site.time-budget");
    assert_eq!(budget.len(), 1, "{:#?}", report.findings);
    assert_eq!(budget[0].location, home);
    assert!(
        budget[0].title.zh.contains("未检查") && budget[0].evidence.contains("16 个"),
        "{:?}",
        budget[0]
    );
    assert!(
        of_check(&report, "site.broken-link").is_empty(),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.pages, 1);
    assert!(!report.limits_hit.is_empty());
}

#[tokio::test]
async fn a_scheduled_site_that_never_answers_does_not_hold_back_the_others() {
    let dir = std::env::temp_dir().join(format!("shouwang-site-schedule-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn Store> = Arc::new(
        shouwang_store::SqliteStore::open(
            &dir.join("shouwang.db"),
            shouwang_store::AuditKey::from_bytes([7; 32]),
        )
        .unwrap(),
    );
    // The store lists sites by address: the tarpit's comes first.
    let pit = format!("http://{}/", tarpit("127.0.0.1"));
    let fine = serve(HashMap::from([(
        "/".to_string(),
        "<html><head><title>首页</title></head><body>正文</body></html>".to_string(),
    )]));
    let fine = format!("http://localhost:{}/", fine.port());
    for url in [&pit, &fine] {
        shouwang_site::runtime::add_site(store.as_ref(), url, "", false, "cli:test", None).unwrap();
    }
    let soon = chrono::Utc::now().with_timezone(&shouwang_model::beijing_offset())
        + chrono::Duration::seconds(2);
    let config = SiteConfig {
        schedule: vec![soon.format("%H:%M:%S").to_string()],
        timeout_seconds: 300,
        ..SiteConfig::default()
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let schedule = {
        let (store, dir) = (store.clone(), dir.clone());
        tokio::spawn(async move {
            shouwang_site::runtime::run_schedule(&config, store, &dir, stop).await
        })
    };
    let inspected = |site: &str| {
        let store = store.clone();
        let asset = shouwang_model::AssetRef::new(shouwang_model::AssetKind::Website, site);
        move || {
            !store
                .events(&EventFilter {
                    kind_prefix: Some("site.inspected".into()),
                    asset: Some(asset.clone()),
                    limit: 1,
                    ..EventFilter::default()
                })
                .unwrap()
                .is_empty()
        }
    };
    let (fine_done, pit_done) = (inspected(&fine), inspected(&pit));
    let mut seen = false;
    for _ in 0..300 {
        if fine_done() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pit_finished = pit_done();
    let _ = stop_tx.send(true);
    let _ = schedule.await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        seen,
        "{fine} was not inspected within a minute while {pit} did not answer"
    );
    assert!(
        !pit_finished,
        "the tarpit's inspection cannot have finished"
    );
}

/// A service on `ip` that must not be reached: a page linking deeper at
/// every path the tests use, and a count of the connections it gets.
fn internal_service(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let page = "<html><head><title>metrics</title></head><body>secret_token 42 \
                <a href=\"/deeper.html\">更多</a></body></html>";
    let pages: HashMap<String, String> = ["/", "/metrics", "/admin", "/direct", "/deeper.html"]
        .iter()
        .map(|p| (p.to_string(), page.to_string()))
        .collect();
    std::thread::spawn(move || {
        let held = Mutex::new(Vec::new());
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            answer(stream, &pages, &held);
        }
    });
    (addr, hits)
}

fn plain(url: &str) -> InspectOptions {
    let mut opts = InspectOptions::new(url.parse().unwrap());
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.timeout = Duration::from_secs(10);
    opts
}

#[tokio::test]
async fn a_homepage_redirect_to_this_machine_is_recorded_not_followed_or_crawled() {
    let (internal, hits) = internal_service("127.0.0.2");
    let site = serve(HashMap::from([(
        "/".to_string(),
        format!("302 http://{internal}/metrics"),
    )]));
    // The homepage's own host is on loopback too: typed by a person, it is
    // trusted; the redirect's is not.
    let report = inspect_within(plain(&format!("http://{site}/")), Duration::from_secs(60)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the crawler reached {internal}"
    );
    let found = of_check(&report, "site.offsite-redirect");
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert!(
        found[0].evidence.contains(&internal.to_string()),
        "{}",
        found[0].evidence
    );
    assert_eq!(report.pages, 0);
    assert!(
        of_check(&report, "site.unreachable").is_empty(),
        "{:#?}",
        report.findings
    );
}

#[tokio::test]
async fn links_to_names_that_resolve_to_this_machine_are_not_followed() {
    let (by_dns, dns_hits) = internal_service("127.0.0.1");
    let (by_override, override_hits) = internal_service("127.0.0.2");
    let links = [
        format!("http://localhost:{}/admin", by_dns.port()),
        format!("http://intranet.test:{}/admin", by_override.port()),
        format!("http://{by_override}/direct"),
    ];
    let site = serve(HashMap::from([("/".to_string(), homepage_linking(&links))]));
    let home = format!("http://{site}/");
    let mut opts = plain(&home);
    opts.dns_overrides = HashMap::from([(
        "intranet.test".to_string(),
        vec!["127.0.0.2".parse().unwrap()],
    )]);
    let report = inspect_within(opts.clone(), Duration::from_secs(60)).await;
    assert_eq!(dns_hits.load(Ordering::SeqCst), 0, "localhost was reached");
    assert_eq!(
        override_hits.load(Ordering::SeqCst),
        0,
        "intranet.test was reached"
    );
    let found = of_check(&report, "site.local-target");
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert!(
        found[0].evidence.starts_with("3 个"),
        "{}",
        found[0].evidence
    );
    assert!(
        of_check(&report, "site.broken-link").is_empty(),
        "{:#?}",
        report.findings
    );

    // A site marked as our own may link to this machine.
    opts.own_site = true;
    let report = inspect_within(opts, Duration::from_secs(60)).await;
    assert!(dns_hits.load(Ordering::SeqCst) > 0);
    assert!(override_hits.load(Ordering::SeqCst) > 0);
    assert!(
        of_check(&report, "site.local-target").is_empty(),
        "{:#?}",
        report.findings
    );
}

#[tokio::test]
async fn a_homepage_redirect_to_another_host_is_recorded_and_that_host_is_not_crawled() {
    let (elsewhere, hits) = internal_service("127.0.0.2");
    let site = serve(HashMap::from([(
        "/".to_string(),
        format!("302 http://elsewhere.test:{}/", elsewhere.port()),
    )]));
    let mut opts = plain(&format!("http://{site}/"));
    // Our own site, so that the address may be reached: what is judged
    // here is the scope.
    opts.own_site = true;
    opts.dns_overrides = HashMap::from([(
        "elsewhere.test".to_string(),
        vec!["127.0.0.2".parse().unwrap()],
    )]);
    let report = inspect_within(opts, Duration::from_secs(60)).await;
    let found = of_check(&report, "site.offsite-redirect");
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert!(
        found[0].evidence.contains("elsewhere.test"),
        "{}",
        found[0].evidence
    );
    // The redirect was followed once; the page there was not crawled.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(report.pages, 0);
}

#[tokio::test]
async fn a_homepage_probe_does_not_follow_a_redirect_to_this_machine() {
    let (internal, hits) = internal_service("127.0.0.2");
    let site = serve(HashMap::from([(
        "/".to_string(),
        format!("302 http://{internal}/metrics"),
    )]));
    let url = format!("http://{site}/").parse().unwrap();
    let probe = shouwang_site::availability::probe(&url, false, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the probe reached {internal}"
    );
    assert!(!probe.ok, "{probe:?}");
    assert!(probe.error.unwrap().contains("未访问"));
}

#[tokio::test]
async fn links_to_hosts_that_give_no_answer_are_unverified_not_broken_and_an_error_answer_is_broken()
 {
    // Nothing listens on port 1 of 127.0.0.3: the connection is refused, as
    // it is for every outside host on a machine without internet access.
    // One named like a TLS error, as the Python documentation's
    // Server_Side_TLS page is: the address is not the error.
    let refused: Vec<String> = ["p0.html", "p1.html", "Security/Server_Side_TLS-certificate"]
        .iter()
        .map(|p| format!("http://127.0.0.3:1/{p}"))
        .collect();
    // An outside host that answers, with 404: that link is dead.
    let dead = serve_on("127.0.0.4", HashMap::new());
    let mut targets = refused.clone();
    targets.push(format!("http://{dead}/gone.html"));
    let site = serve(HashMap::from([(
        "/".to_string(),
        homepage_linking(&targets),
    )]));
    let mut opts = InspectOptions::new(format!("http://{site}/").parse().unwrap());
    // Our own site may link to this machine, which stands in for the outside.
    opts.own_site = true;
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.timeout = Duration::from_secs(5);
    let report = inspect_within(opts, Duration::from_secs(60)).await;

    let unverified = of_check(&report, "site.external-unverified");
    assert_eq!(unverified.len(), 1, "{:#?}", report.findings);
    assert!(
        unverified[0].evidence.contains("3 个站外链接"),
        "{}",
        unverified[0].evidence
    );
    let broken = of_check(&report, "site.broken-link");
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert!(
        broken[0].location.contains("gone.html"),
        "{}",
        broken[0].location
    );
    assert!(
        report.limits_hit.iter().any(|l| l.contains("无法核验")),
        "{:?}",
        report.limits_hit
    );
}

/// An address where no connection is ever made, as behind a firewall
/// that drops packets to the internet: a listener with a backlog of one,
/// already full, that never accepts, so the kernel drops every new SYN.
fn blackhole(ip: &str) -> SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    while held.len() < 16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
        "the backlog of {addr} did not fill"
    );
    // Kept until the test process ends.
    std::mem::forget((listener, held));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_a_host_that_cannot_be_connected_to_are_given_up_after_a_few_tries_and_are_one_finding()
 {
    let hole = blackhole("127.0.0.5");
    let targets: Vec<String> = (0..30)
        .map(|i| format!("http://{hole}/p{i}.html"))
        .collect();
    let site = serve(HashMap::from([(
        "/".to_string(),
        homepage_linking(&targets),
    )]));
    let mut opts = InspectOptions::new(format!("http://{site}/").parse().unwrap());
    // Our own site may link to this machine, which stands in for the outside.
    opts.own_site = true;
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.timeout = Duration::from_secs(2);
    opts.host_budget = Duration::from_secs(20);
    let started = std::time::Instant::now();
    let report = inspect_within(opts, Duration::from_secs(120)).await;
    let took = started.elapsed();

    // Each link waited for its own connection would take 30 × 2 × 2 s / 4
    // at a time, and spend the host's budget.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        of_check(&report, "site.time-budget").is_empty(),
        "{:#?}",
        report.findings
    );
    assert!(of_check(&report, "site.broken-link").is_empty());
    let unverified = of_check(&report, "site.external-unverified");
    assert_eq!(unverified.len(), 1, "{:#?}", report.findings);
    assert!(
        unverified[0].evidence.contains("30 个站外链接"),
        "{}",
        unverified[0].evidence
    );
}
