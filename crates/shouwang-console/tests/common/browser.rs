//! Headless Debian Chromium driven over WebDriver (chromedriver), for the
//! browser tests of the console (`tests/browser.rs`) and of the binary
//! (`crates/shouwang/tests/browser.rs`). Screenshots land in
//! `target/tmp/screenshots/` for a reviewer.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages
//! chromium and chromium-driver; scripts/test installs them). Without them
//! a test says so and passes, unless SHOUWANG_REQUIRE_BROWSER=1.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// NSS's tool (Debian package libnss3-tools), to trust a CA in a profile.
pub const CERTUTIL: &str = "/usr/bin/certutil";

pub fn browser_required() -> bool {
    std::env::var("SHOUWANG_REQUIRE_BROWSER").as_deref() == Ok("1")
}

/// Whether every program in `needed` is there; if not, says so (or panics
/// under SHOUWANG_REQUIRE_BROWSER=1).
pub fn programs_available(needed: &[&str]) -> bool {
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if browser_required() {
        panic!("SHOUWANG_REQUIRE_BROWSER=1 but {missing:?} missing");
    }
    eprintln!(
        "SKIPPED: browser test needs {missing:?} (apt-get install chromium chromium-driver libnss3-tools)"
    );
    false
}

pub fn browser_available() -> bool {
    programs_available(&[CHROMIUM, CHROMEDRIVER])
}

/// chromedriver in a process group of its own, with the Chromium it
/// starts: the whole group is killed when the test ends, so that a test
/// that fails (or never closes its session) leaves no browser running.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn start_browser(profile: &Path) -> (Driver, Client) {
    start_browser_with(profile, &["--window-size=1366,900"]).await
}

pub async fn start_browser_with(profile: &Path, extra: &[&str]) -> (Driver, Client) {
    start_browser_in(profile, extra, None).await
}

/// Chromium with `extra` arguments; with `home`, it runs with that HOME
/// (where it reads the NSS database of trusted CAs, `.pki/nssdb`).
pub async fn start_browser_in(
    profile: &Path,
    extra: &[&str],
    home: Option<&Path>,
) -> (Driver, Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(CHROMEDRIVER);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let driver = Driver(cmd.spawn().expect("chromedriver starts"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--lang=zh-CN",
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(String::from)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    (driver, client)
}

/// Make `home/.pki/nssdb` trust the CA certificate `ca_pem` (a file) for
/// web servers, and nothing else: Chromium on Linux reads its roots added
/// by hand from there, so a page loads only if the server's certificate
/// chains to that CA and names the address.
pub fn trust_ca_in(home: &Path, ca_pem: &Path) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db = format!("sql:{}", db.display());
    let run = |args: &[&str]| {
        let out = Command::new(CERTUTIL).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "certutil {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["-N", "-d", &db, "--empty-password"]);
    run(&[
        "-A",
        "-d",
        &db,
        "-n",
        "unit CA",
        "-t",
        "C,,",
        "-i",
        &ca_pem.display().to_string(),
    ]);
}

pub async fn screenshot(b: &Client, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, b.screenshot().await.unwrap()).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}
