//! A real site the checks were not written against: Debian's Python
//! documentation (`python3-doc`, some 500 pages of Sphinx HTML), served on
//! 127.0.0.1 by this test, with every outside host it links to made
//! unreachable (each name connects to 127.0.0.3, where nothing listens:
//! refused, as on a machine without internet access). The inspection
//! must finish with at most one finding about external links, a score
//! that is not 0, and no page of it taken for an article without a body.
//!
//! Skipped when the documentation is not installed, unless
//! `SHOUWANG_REQUIRE_PYTHON_DOCS=1` (which `scripts/test` sets after
//! installing `python3-doc`); `SHOUWANG_PYTHON_DOCS` names another copy.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use shouwang_site::{InspectOptions, inspect};

fn docs_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("SHOUWANG_PYTHON_DOCS") {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/share/doc")
        .ok()?
        .flatten()
        .map(|e| e.path().join("html"))
        .filter(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                // python3.11, not the python3.11-doc or -dev links to it.
                .and_then(|n| n.strip_prefix("python3."))
                .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
                && p.join("library/index.html").is_file()
        })
        .collect();
    found.sort();
    found.pop()
}

/// Every `.html` file under `dir`.
fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            pages(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// The host names the pages link to or load from with an absolute URL.
fn outside_hosts(dir: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    pages(dir, &mut files);
    let mut hosts = BTreeSet::new();
    for f in files {
        let html = std::fs::read_to_string(&f).unwrap_or_default();
        for scheme in ["http://", "https://"] {
            for (i, _) in html.match_indices(scheme) {
                let rest = &html[i + scheme.len()..];
                let host: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                    .collect();
                if host.contains('.') {
                    hosts.insert(host.to_ascii_lowercase());
                }
            }
        }
    }
    hosts
}

async fn serve(State(root): State<Arc<PathBuf>>, uri: Uri) -> Response {
    let rel = Path::new(uri.path().trim_start_matches('/'));
    // Only plain names below the root.
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut path = root.join(rel);
    if path.is_dir() {
        path = path.join("index.html");
    }
    let Ok(body) = std::fs::read(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let kind = match path.extension().and_then(|x| x.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_documentation_offline_gives_one_external_finding_and_no_blank_article() {
    let Some(dir) = docs_dir().filter(|d| d.is_dir()) else {
        if std::env::var("SHOUWANG_REQUIRE_PYTHON_DOCS").as_deref() == Ok("1") {
            panic!(
                "SHOUWANG_REQUIRE_PYTHON_DOCS=1 but no /usr/share/doc/python3.*/html: apt-get install python3-doc"
            );
        }
        eprintln!(
            "skipped: the Python documentation is not installed (apt-get install python3-doc)"
        );
        return;
    };
    let hosts = outside_hosts(&dir);
    assert!(hosts.len() > 50, "{} outside hosts in {dir:?}", hosts.len());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(dir.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut opts = InspectOptions::new(format!("http://{addr}/").parse().unwrap());
    let nowhere: IpAddr = "127.0.0.3".parse().unwrap();
    opts.dns_overrides = hosts
        .iter()
        .map(|h| (h.clone(), vec![nowhere]))
        .collect::<HashMap<_, _>>();
    // The outside stands on this machine (127.0.0.3), which only our own
    // site's links may reach.
    opts.own_site = true;
    opts.transport_checks = false;
    opts.cloaking_pages = 0;
    opts.per_host_delay = Duration::ZERO;
    opts.timeout = Duration::from_secs(10);
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(600), inspect(opts))
        .await
        .expect("the inspection must finish")
        .unwrap();
    let mut by_check: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in &report.findings {
        *by_check.entry(f.provenance.check.as_str()).or_default() += 1;
    }
    eprintln!(
        "python docs {dir:?}: {} pages, {} references, {} outside hosts, {} findings in {:?}, score {:?}: {by_check:?}",
        report.pages,
        report.refs_checked,
        hosts.len(),
        report.findings.len(),
        started.elapsed(),
        report.score.points
    );
    assert!(report.pages > 400, "{} pages", report.pages);
    let blank: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.provenance.check == "site.blank-article")
        .map(|f| f.location.as_str())
        .collect();
    assert!(
        blank.is_empty(),
        "taken for articles without a body: {blank:#?}"
    );
    let external: Vec<_> = report
        .findings
        .iter()
        .filter(|f| {
            f.provenance.check.starts_with("site.external")
                || (f.provenance.check.starts_with("site.broken")
                    && !f.location.contains(&addr.to_string()))
        })
        .collect();
    assert!(
        external.len() <= 1,
        "{:#?}",
        external
            .iter()
            .map(|f| format!("{} {}: {}", f.provenance.check, f.location, f.evidence))
            .collect::<Vec<_>>()
    );
    assert!(report.score.points > 0.0, "{:?}", report.score);
}
