//! `shouwang report …` as a user runs it: the real binary against a data
//! dir whose store was filled through the `Store` API.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use shouwang_model::{AssetKind, AssetRef, NewEvent, NewFinding, Provenance, Severity, Text};
use shouwang_store::{Store, StoreConfig};

struct Sandbox {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        let s = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(s.data()).unwrap();
        std::fs::write(
            s.config(),
            "[unit]\nname = \"某某镇人民政府\"\nsecurity_officer = \"李四\"\n",
        )
        .unwrap();
        s
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("shouwang.toml")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> Box<dyn Store> {
        shouwang_store::open(&StoreConfig::default(), &self.data()).unwrap()
    }

    fn run(&self, args: &[&str]) -> Run {
        let o = Command::new(env!("CARGO_BIN_EXE_shouwang"))
            .args(args)
            .env("SHOUWANG_DATA_DIR", self.data())
            .env("SHOUWANG_CONFIG", self.config())
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

fn fill(store: &dyn Store) {
    let root = AssetRef::new(AssetKind::WebRoot, "/srv/www");
    let events: Vec<NewEvent> = (0..4)
        .map(|i| NewEvent {
            time: Utc.with_ymd_and_hms(2026, 4, 2 + i, 3, 0, 0).unwrap(),
            kind: "guard.restored".into(),
            asset: root.clone(),
            severity: Severity::High,
            summary: "index.html 被篡改，已恢复".into(),
            details: serde_json::json!({"latency_ms": 1.5, "path": "index.html"}),
            provenance: Provenance::now("guard", "guard.watch", "/srv/www"),
        })
        .collect();
    store.record_events(&events).unwrap();
    store
        .record_findings(&[NewFinding {
            asset: AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/"),
            severity: Severity::Medium,
            title: Text::new("失效链接", "Broken link"),
            evidence: "/a.html → 404".into(),
            location: "/a.html".into(),
            provenance: Provenance::now("site", "site.broken-link", "https://www.example.gov.cn/"),
        }])
        .unwrap();
}

fn zip_text(path: &Path, part: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut z.by_name(part).unwrap(), &mut s).unwrap();
    s
}

#[test]
fn selfcheck_writes_docx_html_and_json() {
    let s = Sandbox::new();
    fill(s.store().as_ref());
    let docx = s.path("自查报告.docx");
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "-o",
        docx.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("篡改后自动恢复次数"), "{run}");
    let xml = zip_text(&docx, "word/document.xml");
    assert!(xml.contains("某某镇人民政府网络安全自查报告"), "{xml}");
    assert!(xml.contains("4 次"));
    assert!(!xml.contains("{{"));

    let html = s.path("report.html");
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "-o",
        html.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let restore = v["facts"]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "guard.restore_count")
        .unwrap();
    assert_eq!(restore["value"], 4.0);
    assert_eq!(restore["source"], "measured");
    assert_eq!(v["facts"]["unit"]["name"], "某某镇人民政府");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("自动恢复篡改 4 次"), "{page}");

    // Another period sees none of it.
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
        "-o",
        html.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["facts"]["guard"]["restored"], 0, "{run}");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let s = Sandbox::new();
    fill(s.store().as_ref());
    let out = s.path("r.pdf");
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("FILE.docx"), "{run}");

    let out = s.path("r.docx");
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-04-30",
        "--to",
        "2026-04-01",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("before --from"), "{run}");

    // A template with a misspelt placeholder: named, nothing written.
    let template = s.path("t.docx");
    std::fs::write(
        &template,
        shouwang_report::docx::write(&shouwang_report::doc::Document {
            title: "t".into(),
            blocks: vec![shouwang_report::doc::Block::Para {
                text: "单位：{{unit.nam}}".into(),
            }],
        })
        .unwrap(),
    )
    .unwrap();
    let run = s.run(&[
        "report",
        "selfcheck",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-30",
        "--template",
        template.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("paragraph 1: {{unit.nam}}"), "{run}");
    assert!(run.stderr.contains("{{unit.name}}"), "{run}");
    assert!(!out.exists());

    let run = s.run(&["report", "incident", "999", "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("incident 999 does not exist"), "{run}");
}

#[test]
fn ledger_writes_a_workbook() {
    let s = Sandbox::new();
    fill(s.store().as_ref());
    let out = s.path("台账.xlsx");
    let run = s.run(&["report", "ledger", "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    assert!(zip_text(&out, "xl/workbook.xml").contains("检查台账"));
    assert!(zip_text(&out, "xl/sharedStrings.xml").contains("失效链接"));
    let run = s.run(&["report", "ledger", "-o", s.path("x.csv").to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
}
