//! `shouwang site` as a user runs it, against a tiny site served on
//! 127.0.0.1 by a thread of this test.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

mod common;

use common::http::Reply;

const BIN: &str = env!("CARGO_BIN_EXE_shouwang");

/// Serve a homepage with one broken link and a page with a typo; every
/// other path is 404. Runs until the test process ends.
fn serve() -> SocketAddr {
    serve_switchable(Arc::new(AtomicBool::new(false)))
}

/// Like [`serve`]; once `defaced` is set, the homepage is replaced.
fn serve_switchable(defaced: Arc<AtomicBool>) -> SocketAddr {
    common::http::serve(move |r| {
        let (status, body) = match r.target.as_str() {
            "/" if defaced.load(Ordering::SeqCst) => (
                "200 OK",
                "<html><head><title>Hacked by nobody</title></head><body><h1>Hacked</h1>\
                 <p>百家乐 真人娱乐 开户送彩金</p></body></html>",
            ),
            "/" => (
                "200 OK",
                "<html><head><title>某某镇</title></head><body><a href=\"/a.html\">动态</a> \
                 <a href=\"/gone.html\">旧链接</a><p>主办单位：某某镇 联系电话：0591-87654321 \
                 闽ICP备12345678号 闽公网安备 35010202001234号</p></body></html>",
            ),
            "/a.html" => (
                "200 OK",
                "<html><head><title>动态</title></head><body><div id=\"zoom\">全镇上下再接再励，\
                 完成全年任务。</div></body></html>",
            ),
            _ => ("404 Not Found", "<html><body>404</body></html>"),
        };
        Reply::html(status, body)
    })
}

struct Sandbox {
    tmp: tempfile::TempDir,
    data: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::write(tmp.path().join("shouwang.toml"), "# all defaults\n").unwrap();
        Sandbox { tmp, data }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(self.tmp.path().join("shouwang.toml"))
            .args(args)
            .env("HOME", self.tmp.path())
            .env("USER", "tester")
            .env_remove("SHOUWANG_DATA_DIR")
            .env_remove("SHOUWANG_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn a_one_shot_inspection_needs_no_setup_and_exits_1_on_findings() {
    let addr = serve();
    let sb = Sandbox::new();
    let html = sb.tmp.path().join("report.html");
    let url = format!("http://{addr}/");
    let (code, stdout, stderr) = sb.run(&[
        "site",
        "inspect",
        &url,
        "--json",
        "--no-transport",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["pages"], 2, "{stdout}");
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["provenance"]["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"site.broken-link"), "{checks:?}");
    assert!(checks.contains(&"site.wording.typo"), "{checks:?}");
    assert_eq!(report["broken_on_homepage"], 1);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("网站巡查报告") && page.contains("再接再厉"),
        "{page}"
    );
    // Nothing was written to a data dir.
    assert!(!sb.data.exists());

    // The table names the problems too.
    let (code, table, _) = sb.run(&["site", "inspect", &url, "--no-transport"]);
    assert_eq!(code, 1);
    assert!(
        table.contains("site.broken-link") && table.contains("再接再励"),
        "{table}"
    );
}

#[test]
fn sites_are_added_listed_and_inspected_into_the_store() {
    let addr = serve();
    let sb = Sandbox::new();
    let url = format!("http://{addr}/");
    let (code, out, err) = sb.run(&["site", "add", &url, "--name", "某某镇网站", "--own"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = sb.run(&["site", "list", "--json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["url"], url.as_str());
    assert_eq!(list[0]["name"], "某某镇网站");
    assert_eq!(list[0]["own_site"], true);

    // Before any inspection the report says so.
    let (code, out, _) = sb.run(&["site", "report"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not inspected yet"), "{out}");
    let (code, out, err) = sb.run(&["site", "inspect", "--all", "--no-transport"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("某某镇网站"), "{out}");
    // The report reads the store: the last run's counts, the open findings,
    // the score, and an HTML file.
    let html = sb.tmp.path().join("stored.html");
    let (code, out, err) = sb.run(&[
        "site",
        "report",
        &url,
        "--json",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let reports: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reports[0]["site"], url.as_str());
    assert_eq!(reports[0]["pages"], 2);
    assert!(
        reports[0]["findings"].as_array().unwrap().len() >= 2,
        "{out}"
    );
    assert_eq!(reports[0]["score"]["passed"], true, "{out}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("评分估计"));
    let (code, out, _) = sb.run(&["status", "--json"]);
    assert_eq!(code, 1, "open findings: {out}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        status["open_findings_total"].as_u64().unwrap() >= 2,
        "{out}"
    );
    assert!(status["events"].as_u64().unwrap() >= 1, "{out}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let sb = Sandbox::new();
    let (code, _, err) = sb.run(&["site", "inspect", "ftp://example.invalid/"]);
    assert_eq!(code, 2);
    assert!(err.contains("not http or https"), "{err}");
    let (code, _, err) = sb.run(&["site", "inspect", "--all"]);
    assert_eq!(code, 2);
    assert!(err.contains("no Shouwang data"), "{err}");
}

#[test]
fn a_defaced_homepage_is_found_on_the_next_recorded_run() {
    let defaced = Arc::new(AtomicBool::new(false));
    let addr = serve_switchable(defaced.clone());
    let sb = Sandbox::new();
    let url = format!("http://{addr}/");
    let checks =
        |out: &str| common::checks_of(&serde_json::from_str::<serde_json::Value>(out).unwrap());
    let args = [
        "site",
        "inspect",
        &url,
        "--record",
        "--json",
        "--no-transport",
    ];
    let (_, first, err) = sb.run(&args);
    assert!(
        !checks(&first).contains(&"site.defacement".to_string()),
        "{first}{err}"
    );
    // Unchanged: still no defacement.
    let (_, again, _) = sb.run(&args);
    assert!(
        !checks(&again).contains(&"site.defacement".to_string()),
        "{again}"
    );
    defaced.store(true, Ordering::SeqCst);
    let (code, after, _) = sb.run(&args);
    assert_eq!(code, 1);
    assert!(
        checks(&after).contains(&"site.defacement".to_string()),
        "{after}"
    );
    assert!(after.contains("Hacked"), "{after}");
    assert!(sb.data.join("site-snapshots").is_dir());
    // The defacement is an incident of its GB/T 20986 class; the broken
    // link seen on every run is a website defect, not an incident.
    let (code, out, err) = sb.run(&["incident", "list", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let incidents: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = incidents
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incident"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["site-defacement"], "{out}");
    assert_eq!(incidents[0]["category"], "网络攻击事件 / 网页篡改事件");
    assert_eq!(incidents[0]["incident"]["asset"]["locator"], url.as_str());
}

#[test]
fn shouwang_up_inspects_the_added_sites_on_schedule() {
    let addr = serve();
    let sb = Sandbox::new();
    let url = format!("http://{addr}/");
    let (code, _, err) = sb.run(&["site", "add", &url, "--own"]);
    assert_eq!(code, 0, "{err}");
    // A schedule a few seconds from now, in China time as the config says.
    let east8 = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let at = (chrono::Utc::now().with_timezone(&east8) + chrono::Duration::seconds(3))
        .format("%H:%M:%S")
        .to_string();
    std::fs::write(
        sb.tmp.path().join("shouwang.toml"),
        format!(
            "[console]\nenabled = false\n\n[site]\nschedule = [\"{at}\"]\nprobe_interval_seconds = 0\n"
        ),
    )
    .unwrap();
    let mut up = Command::new(BIN)
        .arg("--data-dir")
        .arg(&sb.data)
        .arg("--config")
        .arg(sb.tmp.path().join("shouwang.toml"))
        .arg("up")
        .env("SHOUWANG_ADMIN_PASSWORD", "Kestrel-Lamp-2031")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let mut events = 0;
    while std::time::Instant::now() < deadline {
        let (_, out, _) = sb.run(&["status", "--json"]);
        if let Ok(status) = serde_json::from_str::<serde_json::Value>(&out) {
            events = status["events"].as_u64().unwrap_or(0);
            if events >= 1 {
                assert!(
                    status["open_findings_total"].as_u64().unwrap() >= 2,
                    "{out}"
                );
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let _ = up.kill();
    let _ = up.wait();
    assert!(events >= 1, "no scheduled inspection was recorded");
}

/// GET `path` from the console with an API token; the body.
fn console_get(addr: &str, path: &str, token: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_console_shows_each_site_and_its_history() {
    let addr = serve();
    let sb = Sandbox::new();
    let url = format!("http://{addr}/");
    assert_eq!(sb.run(&["site", "add", &url, "--name", "演示网站"]).0, 0);
    assert_eq!(sb.run(&["site", "inspect", "--all", "--no-transport"]).0, 1);
    // A password of their own: a one-time password's tokens are refused
    // until it is changed.
    let mut add = Command::new(BIN)
        .arg("--data-dir")
        .arg(&sb.data)
        .arg("--config")
        .arg(sb.tmp.path().join("shouwang.toml"))
        .env("HOME", sb.tmp.path())
        .args([
            "user",
            "add",
            "viewer",
            "--role",
            "auditor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut add.stdin.take().unwrap(), b"Read-Only-Eye-7\n").unwrap();
    assert!(add.wait().unwrap().success());
    let (code, out, err) = sb.run(&["user", "token", "viewer"]);
    assert_eq!(code, 0, "{out}{err}");
    let token = out.lines().last().unwrap().trim().to_string();
    std::fs::write(
        sb.tmp.path().join("shouwang.toml"),
        "[console]\nlisten = \"127.0.0.1:0\"\n\n[site]\nschedule = []\n",
    )
    .unwrap();
    let mut up = Command::new(BIN)
        .arg("--data-dir")
        .arg(&sb.data)
        .arg("--config")
        .arg(sb.tmp.path().join("shouwang.toml"))
        .arg("up")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(up.stdout.take().unwrap());
    let console = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("console: http://")
                .map(|rest| rest.trim_end_matches('/').to_string())
        })
        .expect("up prints the console address");
    let list = console_get(&console, "/sites", &token);
    let encoded = url.replace(':', "%3A").replace('/', "%2F");
    let detail = console_get(&console, &format!("/sites/view?url={encoded}"), &token);
    let missing = console_get(
        &console,
        "/sites/view?url=http%3A%2F%2Fnowhere.invalid%2F",
        &token,
    );
    let _ = up.kill();
    let _ = up.wait();
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    // (The page escapes `/` in the URL; the host and port are plain.)
    assert!(
        list.contains("演示网站") && list.contains(&addr.to_string()),
        "{list}"
    );
    assert!(detail.starts_with("HTTP/1.1 200"), "{detail}");
    assert!(detail.contains("巡查记录"), "{detail}");
    assert!(detail.contains("site.broken-link"), "{detail}");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

#[test]
fn shouwang_up_probes_the_homepages_for_availability() {
    // A site that is down: the probes record failures.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sb = Sandbox::new();
    let url = format!("http://{addr}/");
    assert_eq!(sb.run(&["site", "add", &url]).0, 0);
    std::fs::write(
        sb.tmp.path().join("shouwang.toml"),
        "[console]\nenabled = false\n\n[site]\nschedule = []\nprobe_interval_seconds = 1\ntimeout_seconds = 2\n",
    )
    .unwrap();
    let mut up = Command::new(BIN)
        .arg("--data-dir")
        .arg(&sb.data)
        .arg("--config")
        .arg(sb.tmp.path().join("shouwang.toml"))
        .arg("up")
        .env("SHOUWANG_ADMIN_PASSWORD", "Kestrel-Lamp-2031")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut events = 0;
    while std::time::Instant::now() < deadline && events < 3 {
        let (_, out, _) = sb.run(&["status", "--json"]);
        if let Ok(status) = serde_json::from_str::<serde_json::Value>(&out) {
            events = status["events"].as_u64().unwrap_or(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let _ = up.kill();
    let _ = up.wait();
    assert!(events >= 3, "only {events} probes recorded");
    // Too few visits for a week's verdict: no availability finding yet.
    let (_, out, _) = sb.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["open_findings_total"], 0, "{out}");
}
