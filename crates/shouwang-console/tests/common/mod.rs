//! A real console on 127.0.0.1, on a real SQLite store in a temporary data
//! dir, with three accounts and a few findings.
#![allow(dead_code)]

pub mod browser;
pub mod netns;

use std::net::SocketAddr;
use std::sync::Arc;

use shouwang_console::{ConsoleConfig, accounts};
use shouwang_model::{AssetKind, AssetRef, NewEvent, NewFinding, Provenance, Severity, Text};
use shouwang_store::{Role, Store};

pub const ADMIN_PW: &str = "Guard-Tower-2026";
pub const OPERATOR_PW: &str = "Night-Watch-2026";
pub const AUDITOR_PW: &str = "Read-Only-Eye-7";

pub struct Console {
    pub base: String,
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    /// The data dir (store, guard baselines).
    pub data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn spawn(config: ConsoleConfig) -> Console {
    spawn_at(config, "127.0.0.1:0".parse().unwrap()).await
}

/// The console listening on `listen` (port 0: any free port).
pub async fn spawn_at(config: ConsoleConfig, listen: SocketAddr) -> Console {
    spawn_serving(config, listen, false).await
}

/// The console on `listen` as `up` serves it: the unit CA and the
/// console certificate made in its data dir (`tls/`), and TLS when the
/// config says so (`tls = "on"` serves it on loopback too).
pub async fn spawn_serving(mut config: ConsoleConfig, listen: SocketAddr, tls: bool) -> Console {
    let dir = tempfile::tempdir().unwrap();
    config
        .data_dir
        .get_or_insert_with(|| dir.path().to_path_buf());
    let store: Arc<dyn Store> =
        Arc::from(shouwang_store::open(&Default::default(), dir.path()).unwrap());
    let seed = store.clone();
    tokio::task::spawn_blocking(move || seed_store(&*seed))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = if tls {
        config.listen = addr;
        let (c, data) = (config.clone(), dir.path().to_path_buf());
        let prepared =
            tokio::task::spawn_blocking(move || shouwang_console::tls::prepare(&c, "某县", &data))
                .await
                .unwrap()
                .unwrap();
        prepared.server
    } else {
        None
    };
    let scheme = if server.is_some() { "https" } else { "http" };
    let served = store.clone();
    tokio::spawn(async move {
        shouwang_console::serve_with(listener, served, config, server, std::future::pending())
            .await
            .unwrap();
    });
    let host = match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Console {
        base: format!("{scheme}://{host}:{}", addr.port()),
        addr,
        store,
        data: dir.path().to_path_buf(),
        _dir: dir,
    }
}

fn seed_store(s: &dyn Store) {
    accounts::add_user(s, "test", "admin", Role::Admin, ADMIN_PW, false).unwrap();
    accounts::add_user(s, "test", "operator", Role::Operator, OPERATOR_PW, false).unwrap();
    accounts::add_user(s, "test", "auditor", Role::Auditor, AUDITOR_PW, false).unwrap();
    let host = AssetRef::new(AssetKind::Host, "office-pc-01");
    let site = AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    s.record_findings(&[
        NewFinding {
            asset: host.clone(),
            severity: Severity::High,
            title: Text::new("SSH 允许 root 直接登录", "SSH permits root login"),
            evidence: "PermitRootLogin yes".into(),
            location: "/etc/ssh/sshd_config:32".into(),
            provenance: Provenance::now(
                "host",
                "host.ssh.permit-root-login",
                "/etc/ssh/sshd_config",
            ),
        },
        NewFinding {
            asset: site.clone(),
            severity: Severity::Medium,
            title: Text::new("首页存在死链", "Broken link on the homepage"),
            evidence: "<a href=\"/old.html\">".into(),
            location: "https://www.example.gov.cn/ → /old.html (404)".into(),
            provenance: Provenance::now("site", "site.broken-link", "https://www.example.gov.cn/"),
        },
        NewFinding {
            asset: host,
            severity: Severity::Critical,
            title: Text::new("存在空口令账户", "Account with an empty password"),
            evidence: "guest::19000:0:99999:7:::".into(),
            location: "/etc/shadow".into(),
            provenance: Provenance::now("host", "host.accounts.empty-password", "/etc/shadow"),
        },
    ])
    .unwrap();
    s.record_events(&[NewEvent {
        time: chrono::Utc::now(),
        kind: "guard.restored".into(),
        asset: AssetRef::new(AssetKind::WebRoot, "/var/www/html"),
        severity: Severity::High,
        summary: "index.html 被篡改，已在 3 毫秒内恢复".into(),
        details: serde_json::json!({ "path": "index.html", "restore_ms": 3 }),
        provenance: Provenance::now("guard", "guard.watch", "/var/www/html"),
    }])
    .unwrap();
}

/// The value of the first `name="csrf"` hidden field in a page.
pub fn csrf_of(html: &str) -> String {
    let i = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a CSRF field");
    let rest = &html[i + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn finding_id(store: &dyn Store, check: &str) -> i64 {
    store
        .findings(&Default::default())
        .unwrap()
        .into_iter()
        .find(|f| f.provenance.check == check)
        .unwrap()
        .id
}

/// A reqwest client builder for the tests. The workspace also builds
/// reqwest with rustls and no default crypto provider (the site crawler
/// installs ring); feature unification gives these tests the same reqwest,
/// so they install the provider too.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A client that keeps cookies and shows redirects instead of following
/// them, as the tests want to see them.
pub fn browser_like_client() -> reqwest::Client {
    http_client_builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Submit the login form as a browser does (the form's token first), with
/// `next` when given; the server's answer, whatever it is.
pub async fn submit_login(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    pw: &str,
    next: Option<&str>,
) -> reqwest::Response {
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let mut form = vec![("username", user), ("password", pw), ("csrf", &csrf)];
    if let Some(next) = next {
        form.push(("next", next));
    }
    c.post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Log in through the form, as a person does; asserts that it worked.
pub async fn log_in(c: &reqwest::Client, base: &str, user: &str, pw: &str) {
    let r = submit_login(c, base, user, pw, None).await;
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "login as {user}"
    );
}

/// A fresh client, logged in through the form as `user`.
pub async fn logged_in(base: &str, user: &str, pw: &str) -> reqwest::Client {
    let c = browser_like_client();
    log_in(&c, base, user, pw).await;
    c
}

/// GET a page: its status and body.
pub async fn page(c: &reqwest::Client, url: String) -> (reqwest::StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// `n` restores on the web root `root`, one a second from `t0` (each taking
/// 4 ms), run through the incident engine: one 网页篡改 incident. Returns
/// its id.
pub fn seed_restores(
    store: &dyn Store,
    root: &str,
    t0: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> i64 {
    use shouwang_incident::{Engine, RuleSet};
    let events: Vec<NewEvent> = (0..n)
        .map(|i| NewEvent {
            time: t0 + chrono::Duration::seconds(i as i64),
            kind: "guard.restored".into(),
            asset: AssetRef::new(AssetKind::WebRoot, root),
            severity: Severity::High,
            summary: format!("news/{i}.html 被篡改，已恢复"),
            details: serde_json::json!({ "path": format!("news/{i}.html"), "root": root, "latency_ms": 4 }),
            provenance: Provenance::now("guard", "guard.watch", root),
        })
        .collect();
    store.record_events(&events).unwrap();
    Engine::new(RuleSet::builtin()).catch_up(store).unwrap();
    store
        .incidents(&shouwang_store::IncidentFilter::default())
        .unwrap()
        .into_iter()
        .find(|i| i.asset.locator == root)
        .expect("the engine opened an incident for the web root")
        .id
}
