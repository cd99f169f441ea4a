//! `shouwang site inspect` against hostile sites served on 127.0.0.1 by
//! threads of this test: pages built to exhaust the parser, and the
//! peak memory of the real binary while it reads them.

mod common;

use common::http::Reply;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Sandbox;

/// Serve `pages` (path → HTML); every other path is 404. Runs until the
/// test process ends.
fn serve(pages: HashMap<String, String>) -> SocketAddr {
    common::http::serve(move |r| match pages.get(&r.target) {
        Some(b) => Reply::html("200 OK", b.clone()),
        None => Reply::html("404 Not Found", "<html><body>404</body></html>"),
    })
}

/// What a child run of the binary left: its exit code, stdout, and the
/// last peak resident size (VmHWM, KiB) read from /proc while it ran.
struct Measured {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: u64,
}

/// Run `shouwang ARGS` in `sb`, polling its VmHWM until it exits; a child
/// still running after `limit` is killed and the test fails.
fn measure(sb: &Sandbox, args: &[&str], limit: Duration) -> Measured {
    let out = sb.tmp.path().join("stdout");
    let err = sb.tmp.path().join("stderr");
    let mut child = sb
        .command(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kib = 0;
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            peak_kib = kib;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "shouwang {args:?} still ran after {limit:?} (peak so far {} MiB)",
                peak_kib / 1024
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Measured {
        code,
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
        peak_kib,
    }
}

/// Peak resident size an inspection of one small hostile page may reach:
/// the binary itself takes a few tens of MiB.
const MEMORY_BUDGET_MIB: u64 = 160;

/// `<div>`, then `count` formatting elements left open (each with its own
/// attribute, so that the parser cannot fold them together), `</div>`, then
/// `blocks` blocks of text: the parser rebuilds every open formatting
/// element inside every block.
fn reopening_page(open: &str, count: usize, blocks: usize, wrap: (&str, &str)) -> String {
    let mut page = String::from("<html><head><title>首页</title></head><body>");
    page.push_str(wrap.0);
    page.push_str("<div>");
    for i in 0..count {
        page.push_str(&format!("<{open}{i}>"));
    }
    page.push_str("</div>");
    page.push_str(&"<div>x</div>".repeat(blocks));
    page.push_str(wrap.1);
    page.push_str("</body></html>");
    page
}

#[test]
fn a_page_that_makes_the_parser_rebuild_its_formatting_in_every_block_is_a_finding_not_an_oom() {
    let variants = [
        ("b id=", ("", "")),
        ("i title=", ("", "")),
        ("font color=", ("", "")),
        ("strong class=c", ("", "")),
        (
            "b id=",
            (
                "<table><tr><td><table><tr><td>",
                "</td></tr></table></td></tr></table>",
            ),
        ),
    ];
    for (open, wrap) in variants {
        let page = reopening_page(open, 1400, 6000, wrap);
        let addr = serve(HashMap::from([("/".to_string(), page.clone())]));
        let sb = Sandbox::new();
        let url = format!("http://{addr}/");
        let run = measure(
            &sb,
            &["site", "inspect", &url, "--json", "--no-transport"],
            Duration::from_secs(300),
        );
        eprintln!("<{open}…>: peak {} MiB", run.peak_kib / 1024);
        assert!(
            run.peak_kib / 1024 < MEMORY_BUDGET_MIB,
            "<{open}…> ({} KB page): peak {} MiB, budget {MEMORY_BUDGET_MIB} MiB",
            page.len() / 1024,
            run.peak_kib / 1024
        );
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let f = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["provenance"]["check"] == "site.page-too-complex")
            .unwrap_or_else(|| panic!("<{open}…>: no finding in {:?}", common::checks_of(&report)));
        assert_eq!(f["title"]["zh"], "页面结构异常，未完整检查");
        assert_eq!(f["location"], url.as_str());
        // What was read before the cut still counts: the page was analysed.
        assert_eq!(report["pages"], 1, "<{open}…>");
    }
}
