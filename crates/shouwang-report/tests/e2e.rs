//! End to end: a real SQLite store filled through the `Store` API with
//! guard, site and host records and an incident; the 自查报告, a report
//! filled into a template and the 事件报告 written as DOCX, converted to
//! PDF by LibreOffice, and the PDF text checked for the measured figures
//! and for leftover placeholders. Page images land in
//! `target/tmp/report-pages/` for a person to look at.
//!
//! Skips (loudly) without `soffice` and `pdftotext`, unless
//! `SHOUWANG_REQUIRE_OFFICE=1`, which `scripts/test` sets.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{
    Asset, AssetKind, AssetRef, FindingStatus, NewEvent, NewFinding, NewIncident, Person,
    Provenance, ReportStage, Severity, SystemEntry, Text, UnitProfile,
};
use shouwang_report::{Options, Period};
use shouwang_store::{AuditKey, IncidentBatch, Incidents, Members, SqliteStore, Store};

fn unit() -> UnitProfile {
    UnitProfile {
        name: "某某县教育局".into(),
        recipient: "县委网信办".into(),
        next_plan: "一、完成剩余主机的补丁更新。\n二、组织一次应急演练。".into(),
        leading_group: vec![
            Person {
                name: "王局长".into(),
                title: "局长".into(),
                phone: "0000-1234567".into(),
            },
            Person {
                name: "李副局长".into(),
                title: "副局长".into(),
                phone: String::new(),
            },
        ],
        security_officer: Person {
            name: "张三".into(),
            title: "网络安全员".into(),
            phone: "13800000000".into(),
        },
        systems: vec![SystemEntry {
            name: "门户网站".into(),
            dengbao_level: "二级".into(),
            address: "https://www.example.gov.cn/".into(),
            note: String::new(),
        }],
        policies: "制定了《网络安全管理制度》《应急预案》。".into(),
        training: "3 月组织全员网络安全培训 1 次，参训 45 人。".into(),
        drills: String::new(),
        ..UnitProfile::default()
    }
}

struct Filled {
    store: SqliteStore,
    period: Period,
    restore_count: u64,
    incident: i64,
    _dir: tempfile::TempDir,
}

fn at(day: u32, hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn fill() -> Filled {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        &dir.path().join("shouwang.db"),
        AuditKey::from_bytes([3; 32]),
    )
    .unwrap();
    let period = Period::days(
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    )
    .unwrap();

    // 防护: one web root, 7 restored + 2 recreated + 1 quarantined in the
    // period, one restore before it (not counted).
    let root = AssetRef::new(AssetKind::WebRoot, "/srv/www/portal");
    store
        .upsert_asset(&Asset {
            id: root.clone(),
            name: "门户网站目录".into(),
            details: serde_json::json!({}),
        })
        .unwrap();
    let guard = |kind: &str, t, latency: f64| NewEvent {
        time: t,
        kind: kind.into(),
        asset: root.clone(),
        severity: Severity::High,
        summary: format!("{kind} index.html"),
        details: serde_json::json!({"path": "index.html", "root": "/srv/www/portal", "latency_ms": latency}),
        provenance: Provenance::now("guard", "guard.watch", "/srv/www/portal"),
    };
    let mut events = Vec::new();
    for i in 0..7 {
        events.push(guard("guard.restored", at(2 + i, 10), 2.0 + i as f64));
    }
    events.push(guard("guard.recreated", at(12, 9), 5.5));
    events.push(guard("guard.recreated", at(13, 9), 1.5));
    events.push(guard("guard.quarantined", at(14, 9), 0.0));
    events.push(guard("guard.restored", at(1, 0) - Duration::days(3), 99.0));

    // 监测: one site, 10 probes (9 ok), 2 inspections, 3 findings (1 fixed).
    let site = AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    store
        .upsert_asset(&Asset {
            id: site.clone(),
            name: "某某县教育局门户网站".into(),
            details: serde_json::json!({"own_site": true}),
        })
        .unwrap();
    for i in 0..10 {
        events.push(NewEvent {
            time: at(3, 0) + Duration::hours(i),
            kind: "site.probe".into(),
            asset: site.clone(),
            severity: Severity::Info,
            summary: "首页探测".into(),
            details: serde_json::json!({"ok": i != 4, "status": 200, "elapsed_ms": 80}),
            provenance: Provenance::now("site", "site.probe", "https://www.example.gov.cn/"),
        });
    }
    for d in [5, 20] {
        events.push(NewEvent {
            time: at(d, 8),
            kind: "site.inspected".into(),
            asset: site.clone(),
            severity: Severity::Medium,
            summary: "网站巡查".into(),
            details: serde_json::json!({"pages": 120, "duration_ms": 5000}),
            provenance: Provenance::now("site", "site.inspection", "https://www.example.gov.cn/"),
        });
    }
    let site_finding = |check: &str, title: &str, loc: &str, sev| {
        let mut p = Provenance::now("site", check, "https://www.example.gov.cn/");
        p.observed_at = at(5, 8);
        NewFinding {
            asset: site.clone(),
            severity: sev,
            title: Text::new(title, title),
            evidence: format!("{title}：{loc}"),
            location: loc.into(),
            provenance: p,
        }
    };
    let ids = store
        .record_findings(&[
            site_finding(
                "site.broken-link",
                "失效链接",
                "/news/1.html",
                Severity::Low,
            ),
            site_finding(
                "site.wording.typo",
                "错别字：“按装”应为“安装”",
                "/notice/2.html",
                Severity::Medium,
            ),
            site_finding(
                "site.pii.id-number",
                "页面中有身份证号",
                "/list/3.html",
                Severity::High,
            ),
        ])
        .unwrap();
    (&store as &dyn Store)
        .audited(|tx| {
            tx.set_finding_status(ids[0], FindingStatus::Resolved)?;
            tx.audit(&shouwang_store::NewAuditEntry::new(
                "operator",
                "finding.status",
                format!("finding/{}", ids[0]),
                serde_json::json!({ "to": "resolved" }),
            ))
        })
        .unwrap();

    // 主机自查: a real run of the dengbao2 profile on a crafted root.
    let host_root = dir.path().join("host-root");
    std::fs::create_dir_all(host_root.join("etc/ssh")).unwrap();
    std::fs::write(
        host_root.join("etc/login.defs"),
        "PASS_MAX_DAYS 99999\nPASS_MIN_LEN 5\n",
    )
    .unwrap();
    std::fs::write(
        host_root.join("etc/ssh/sshd_config"),
        "PermitRootLogin yes\nPasswordAuthentication yes\n",
    )
    .unwrap();
    std::fs::write(host_root.join("etc/hostname"), "office-pc-01\n").unwrap();
    // Packages are readable and hold no antivirus: 未安装防病毒软件.
    std::fs::create_dir_all(host_root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        host_root.join("var/lib/dpkg/status"),
        "Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n\n",
    )
    .unwrap();
    let rules = shouwang_host::RuleSet::embedded().unwrap();
    let profile = rules.profile("dengbao2").unwrap();
    let mut run = shouwang_host::run(
        &shouwang_host::Root::offline(&host_root),
        "dengbao2",
        &profile,
    );
    run.started_at = at(10, 2);
    let run_file = dir.path().join("host-run.json");
    std::fs::write(&run_file, serde_json::to_vec(&run).unwrap()).unwrap();
    store
        .upsert_asset(&Asset {
            id: run.asset(),
            name: run.host.clone(),
            details: serde_json::json!({}),
        })
        .unwrap();
    store.record_findings(&run.findings()).unwrap();
    events.push(NewEvent {
        time: run.started_at,
        kind: "host.check.completed".into(),
        asset: run.asset(),
        severity: Severity::High,
        summary: "主机自查".into(),
        details: serde_json::json!({
            "profile": "dengbao2",
            "score": run.overall.score,
            "pass": run.count(shouwang_host::Verdict::Pass),
            "fail": run.count(shouwang_host::Verdict::Fail),
            "cannot_check": run.count(shouwang_host::Verdict::CannotCheck),
            "run_file": run_file.display().to_string(),
        }),
        provenance: Provenance::now("host", "profile:dengbao2", "/"),
    });
    store.record_events(&events).unwrap();

    // 事件: the tampering as a 较大 incident (so it has deadlines).
    let ids = store
        .apply_incident_batch(&IncidentBatch {
            opened: vec![(
                NewIncident {
                    title: "网站目录 /srv/www/portal 网页被篡改".into(),
                    subclass: "NAWEBMOD".into(),
                    level: IncidentLevel::Large,
                    asset: root.clone(),
                    rule: "guard-tamper".into(),
                    group_key: "guard:/srv/www/portal".into(),
                    discovered_at: at(2, 10),
                    summary: "首页被篡改，已自动恢复".into(),
                },
                Members {
                    events: vec![1, 2],
                    findings: vec![],
                    last_activity: Some(at(3, 10)),
                },
            )],
            ..IncidentBatch::default()
        })
        .unwrap();
    Filled {
        store,
        period,
        restore_count: 9,
        incident: ids[0],
        _dir: dir,
    }
}

fn opts() -> Options {
    Options {
        samples: 5,
        now: at(31, 12),
        policy: None,
    }
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("-v")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty() || !o.stdout.is_empty())
        .unwrap_or(false)
}

fn office_available() -> bool {
    let ok = Command::new("soffice")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && tool("pdftotext")
        && tool("pdftoppm");
    if !ok {
        if std::env::var("SHOUWANG_REQUIRE_OFFICE").as_deref() == Ok("1") {
            panic!(
                "SHOUWANG_REQUIRE_OFFICE=1 but soffice, pdftotext or pdftoppm is missing: apt-get install libreoffice-writer-nogui poppler-utils"
            );
        }
        eprintln!(
            "SKIPPED: DOCX → PDF checks need soffice, pdftotext and pdftoppm (apt-get install libreoffice-writer-nogui poppler-utils; scripts/test does)"
        );
    }
    ok
}

/// Convert DOCX files to PDF with a private LibreOffice profile.
fn to_pdf(files: &[PathBuf], out: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(out)
        .args(files)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "soffice failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn pdf_text(pdf: &Path) -> String {
    let o = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(o.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8(o.stdout).unwrap()
}

/// Text without any whitespace: PDF lines wrap anywhere in Chinese.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// In the target dir (CARGO_TARGET_DIR when set), never in the source
/// tree, which may be read-only (scripts/test-fresh-debian mounts it so).
fn pages_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-pages");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn selfcheck_facts_are_the_measured_figures() {
    let f = fill();
    let facts = shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap();
    let value = |k: &str| facts.figure(k).and_then(|x| x.value);
    assert_eq!(value("guard.restore_count"), Some(f.restore_count as f64));
    assert_eq!(value("guard.quarantined"), Some(1.0));
    assert_eq!(value("guard.latency_max_ms"), Some(8.0));
    assert_eq!(value("site.probes"), Some(10.0));
    assert_eq!(value("site.availability"), Some(90.0));
    assert_eq!(value("site.found"), Some(3.0));
    assert_eq!(value("site.fixed"), Some(1.0));
    assert_eq!(value("host.count"), Some(1.0));
    assert_eq!(value("incident.total"), Some(1.0));
    assert_eq!(value("incident.reportable"), Some(1.0));
    let open: u64 = f
        .store
        .open_finding_counts()
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(facts.open_total, open);
    assert!(open > 2, "the host run should fail some checks");
    // Every measured figure has its evidence, samples bounded.
    for x in &facts.figures {
        let e = facts
            .evidence
            .iter()
            .find(|e| e.figure == x.key)
            .unwrap_or_else(|| panic!("no evidence for {}", x.key));
        assert!(e.samples.len() <= 5);
        assert!(!e.query.is_empty());
        // The appendix says what was counted in words, and a row that
        // counts nothing names no records.
        assert!(
            !e.basis.is_empty() && !e.basis.contains("表中") && !e.basis.contains("details."),
            "{}: {}",
            x.key,
            e.basis
        );
        if e.count == 0 && e.record != "asset" && e.record != "file" {
            assert!(
                e.samples.is_empty(),
                "{} counts 0 but names {:?}",
                x.key,
                e.samples
            );
        }
    }
    let restore = facts
        .evidence
        .iter()
        .find(|e| e.figure == "guard.restore_count")
        .unwrap();
    assert_eq!(restore.count, 9);
    assert_eq!(restore.samples.len(), 5);
    // Topics the 自查 forms ask about are there, with findings behind them.
    let pw = facts
        .host
        .topics
        .iter()
        .find(|t| t.key == "password")
        .unwrap();
    assert!(pw.pass + pw.fail + pw.cannot_check > 0);
    assert!(facts.host.controls.iter().any(|c| c.fail > 0));
    // Remediation comes from the checks' fix advice.
    assert!(
        facts
            .remediation
            .iter()
            .any(|r| r.check == "site.pii.id-number" && r.advice.contains("身份证号"))
    );
    assert!(
        facts
            .remediation
            .iter()
            .filter(|r| r.area == "主机自查")
            .all(|r| !r.advice.is_empty())
    );
}

#[test]
fn documents_convert_to_pdf_with_the_figures_and_no_placeholders() {
    let f = fill();
    let facts = shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap();
    let open = facts.open_total;
    let out = tempfile::tempdir().unwrap();
    let selfcheck = out.path().join("selfcheck.docx");
    std::fs::write(&selfcheck, shouwang_report::selfcheck_docx(&facts).unwrap()).unwrap();

    // A unit's template: placeholders in the title, a paragraph, a table
    // and a section, written by the same writer a unit would get from Word.
    let template = shouwang_report::docx::write(&shouwang_report::doc::Document {
        title: "模板".into(),
        blocks: vec![
            shouwang_report::doc::Block::Title {
                text: "{{unit.name}}{{period.from}}至{{period.to}}自查情况".into(),
            },
            shouwang_report::doc::Block::Para {
                text: "网页防篡改自动恢复 {{guard.restore_count}}，网站可用率 {{site.availability}}，未整改问题 {{findings.open_total}}。网络安全员：{{unit.security_officer}}。".into(),
            },
            shouwang_report::doc::Block::Para {
                text: "{{table:open_findings}}".into(),
            },
            shouwang_report::doc::Block::Para {
                text: "{{section:host}}".into(),
            },
        ],
    })
    .unwrap();
    let filled = out.path().join("template.docx");
    std::fs::write(
        &filled,
        shouwang_report::selfcheck_docx_with_template(&facts, &template, "unit-template.docx")
            .unwrap(),
    )
    .unwrap();

    let incident_facts =
        shouwang_report::incident_facts(&f.store, &unit(), f.incident, ReportStage::First, &opts())
            .unwrap();
    let incident = out.path().join("incident.docx");
    std::fs::write(
        &incident,
        shouwang_report::incident_docx(&incident_facts).unwrap(),
    )
    .unwrap();

    // The HTML says the same.
    let html = shouwang_report::selfcheck_html(&facts).unwrap();
    assert!(squash(&html).contains(&format!("自动恢复篡改{}次", f.restore_count)));
    assert!(!html.contains("{{"));
    // The audit log's anchor travels with the report, to check it later.
    let anchor = f.store.audit_anchor().unwrap();
    assert!(anchor.seq > 0);
    assert!(
        html.contains(&format!("审计日志锚点：{anchor}")),
        "no anchor"
    );

    if !office_available() {
        return;
    }
    to_pdf(
        &[selfcheck.clone(), filled.clone(), incident.clone()],
        out.path(),
    );

    let text = pdf_text(&out.path().join("selfcheck.pdf"));
    let s = squash(&text);
    assert!(s.contains("某某县教育局网络安全自查报告"), "{text}");
    assert!(
        s.contains(&format!("自动恢复篡改{}次", f.restore_count)),
        "{text}"
    );
    assert!(s.contains(&format!("尚有未整改问题{open}个")), "{text}");
    assert!(s.contains("网站可用率90%"), "{text}");
    assert!(s.contains("按时报告") || s.contains("待报告") || s.contains("已逾期"));
    assert!(s.contains("（填报）") && s.contains("（实测）"));
    assert!(s.contains("附件1：数据来源"));
    // No page holds only its page number (a page break after a full page
    // used to leave one).
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    for (n, page) in pages.iter().enumerate() {
        let words: String = squash(page)
            .chars()
            .filter(|c| !c.is_ascii_digit() && *c != '—')
            .collect();
        assert!(!words.is_empty(), "page {} of the 自查报告 is blank", n + 1);
    }
    assert!(!text.contains("{{") && !text.contains("}}"), "{text}");
    // A document to hand in: addressed, a remediation table with room for
    // who and by when, the next steps, and evidence in plain words.
    assert!(s.contains("县委网信办："), "{text}");
    assert!(
        s.contains("责任人") && s.contains("整改时限") && s.contains("待整改"),
        "{text}"
    );
    assert!(
        s.contains("下一步工作计划") && s.contains("组织一次应急演练"),
        "{text}"
    );
    for db_speak in [
        "events表中",
        "findings表中",
        "incidents表中",
        "details.",
        "kind为",
    ] {
        assert!(
            !s.contains(db_speak),
            "the report speaks database: {db_speak}"
        );
    }
    // 存在问题 names the problems (the crafted host has no antivirus), not
    // the requirements they fail.
    let end = s.find("、整改措施").expect("a 整改措施 section");
    let start = s[..end].rfind("、存在问题").expect("a 存在问题 section");
    let problems = &s[start..end];
    assert!(problems.contains("未安装防病毒软件"), "{problems}");
    assert!(problems.contains("允许root远程登录"), "{problems}");
    for requirement in ["安装了防病毒软件", "禁止root远程登录", "没有待安装的补丁"]
    {
        assert!(!problems.contains(requirement), "{requirement}: {problems}");
    }

    let t = squash(&pdf_text(&out.path().join("template.pdf")));
    assert!(
        t.contains("某某县教育局2026年3月1日至2026年3月31日自查情况"),
        "{t}"
    );
    assert!(t.contains(&format!("自动恢复{}次", f.restore_count)), "{t}");
    assert!(t.contains(&format!("未整改问题{open}个")), "{t}");
    assert!(t.contains("页面中有身份证号"), "{t}");
    assert!(t.contains("主机安全自查情况"), "{t}");
    assert!(!t.contains("{{"), "{t}");

    let i = squash(&pdf_text(&out.path().join("incident.pdf")));
    assert!(i.contains("网络安全事件报告（首次报告）"), "{i}");
    assert!(i.contains("网页篡改事件"), "{i}");
    assert!(i.contains("较大"), "{i}");
    assert!(i.contains("属地省级网信部门"), "{i}");
    assert!(!i.contains("{{"));

    // Pages for a person to look at.
    let pages = pages_dir();
    for name in ["selfcheck", "template", "incident"] {
        // Drop the pages of an earlier, longer run.
        for old in std::fs::read_dir(&pages).unwrap().flatten() {
            if old
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
            {
                let _ = std::fs::remove_file(old.path());
            }
        }
        let ok = Command::new("pdftoppm")
            .args(["-png", "-r", "60"])
            .arg(out.path().join(format!("{name}.pdf")))
            .arg(pages.join(name))
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

#[test]
fn a_template_with_an_unknown_placeholder_is_refused_naming_it() {
    let f = fill();
    let facts = shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap();
    let template = shouwang_report::docx::write(&shouwang_report::doc::Document {
        title: "模板".into(),
        blocks: vec![
            shouwang_report::doc::Block::Para {
                text: "开头".into(),
            },
            shouwang_report::doc::Block::Para {
                text: "恢复 {{guard.restore_cnt}} 次".into(),
            },
        ],
    })
    .unwrap();
    let e = shouwang_report::selfcheck_docx_with_template(&facts, &template, "unit.docx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unit.docx"), "{e}");
    assert!(e.contains("paragraph 2: {{guard.restore_cnt}}"), "{e}");
    assert!(e.contains("did you mean {{guard.restore_count}}"), "{e}");
}

#[test]
fn ledgers_are_an_xlsx_workbook_with_the_records() {
    let f = fill();
    let bytes = shouwang_report::ledger_xlsx(&f.store, &unit(), &opts()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut wb = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut wb).unwrap();
    for sheet in ["资产台账", "检查台账", "发现项明细", "事件台账"] {
        assert!(wb.contains(sheet), "{wb}");
    }
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    assert!(strings.contains("/srv/www/portal"));
    assert!(strings.contains("页面中有身份证号"));
    assert!(strings.contains("网页被篡改"));
    // The host's failures are listed by their problem.
    assert!(strings.contains("未安装防病毒软件"), "{strings}");
    assert!(!strings.contains("安装了防病毒软件"), "{strings}");
}

#[test]
fn every_placeholder_is_documented() {
    use shouwang_report::doc::Values;
    let f = fill();
    let facts = shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap();
    let values = shouwang_report::doc::SelfCheckValues::new(&facts);
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report-templates.md"),
    )
    .unwrap();
    let mut missing = Vec::new();
    for name in values.names() {
        let documented = doc.contains(&format!("{{{{{name}}}}}"))
            || name
                .split_once(':')
                .is_some_and(|(_, n)| doc.contains(&format!("`{n}`")));
        if !documented {
            missing.push(name.clone());
        }
        // And every name the filler knows gives something.
        assert!(
            values.scalar(&name).is_some() || values.blocks(&name).is_some(),
            "{name}"
        );
    }
    assert!(
        missing.is_empty(),
        "not in docs/report-templates.md: {missing:?}"
    );
}

#[test]
fn incident_reports_carry_the_fields_the_rule_asks_for() {
    let f = fill();
    let first =
        shouwang_report::incident_facts(&f.store, &unit(), f.incident, ReportStage::First, &opts())
            .unwrap();
    let labels: Vec<&str> = first.fields.iter().map(|x| x.label.as_str()).collect();
    assert_eq!(labels.len(), 12, "{labels:?}");
    assert_eq!(labels[0], "报告单位及受影响的设施、系统或平台");
    assert!(labels.contains(&"初步原因分析") && labels.contains(&"现场保护情况"));
    assert!(!labels.iter().any(|l| l.contains("勒索")));
    let value = |l: &str| first.fields.iter().find(|x| x.label == l).unwrap();
    assert_eq!(value("事件类型").value, "网络攻击事件 / 网页篡改事件");
    assert_eq!(value("事件类型").source, shouwang_report::Source::Measured);
    assert_eq!(
        value("初步原因分析").source,
        shouwang_report::Source::Declared
    );
    // 较大, ordinary operator: first report due 4 h after discovery, missed.
    let d = &first.deadlines[0];
    assert_eq!(d.stage, ReportStage::First);
    assert_eq!(d.due, Some(at(2, 14)));
    assert_eq!(d.state, "overdue");
    assert_eq!(first.report_to, "属地省级网信部门");

    let summary = shouwang_report::incident_facts(
        &f.store,
        &unit(),
        f.incident,
        ReportStage::Summary,
        &opts(),
    )
    .unwrap();
    let labels: Vec<&str> = summary.fields.iter().map(|x| x.label.as_str()).collect();
    assert!(
        labels.contains(&"事件原因") && labels.contains(&"责任认定及处理"),
        "{labels:?}"
    );
    assert!(labels.contains(&"经验教训及改进措施"));

    // Ransomware: the rule also asks for the ransom.
    let ids = f
        .store
        .apply_incident_batch(&IncidentBatch {
            opened: vec![(
                NewIncident {
                    title: "办公电脑感染勒索软件".into(),
                    subclass: "MPRANS".into(),
                    level: IncidentLevel::Large,
                    asset: AssetRef::new(AssetKind::Host, "office-pc-01"),
                    rule: "manual".into(),
                    group_key: "manual:1".into(),
                    discovered_at: at(20, 9),
                    summary: "文件被加密".into(),
                },
                Members::default(),
            )],
            ..IncidentBatch::default()
        })
        .unwrap();
    let r = shouwang_report::incident_facts(&f.store, &unit(), ids[0], ReportStage::First, &opts())
        .unwrap();
    assert!(r.fields.iter().any(|x| x.label.contains("勒索金额")));
    let e = shouwang_report::incident_facts(&f.store, &unit(), 9999, ReportStage::First, &opts())
        .unwrap_err();
    assert!(
        e.to_string().contains("incident 9999 does not exist"),
        "{e}"
    );
}

#[test]
fn parts_the_unit_left_empty_say_so_once() {
    let f = fill();
    let empty = UnitProfile {
        name: "某某县教育局".into(),
        ..Default::default()
    };
    let facts = shouwang_report::selfcheck_facts(&f.store, &empty, f.period, &opts()).unwrap();
    let html = shouwang_report::selfcheck_html(&facts).unwrap();
    assert!(html.contains("（未填报）"), "empty parts are named");
    for bad in ["（未填报）（填报）", "（未填报）。（填报）"] {
        assert!(!html.contains(bad), "{bad:?} in the report");
    }
    let full = shouwang_report::selfcheck_html(
        &shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap(),
    )
    .unwrap();
    assert!(full.contains("（填报）"), "declared parts are marked");
}

#[test]
fn a_finding_longer_than_an_excel_cell_is_cut_with_a_marker_and_the_ledger_still_builds() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        &dir.path().join("shouwang.db"),
        AuditKey::from_bytes([4; 32]),
    )
    .unwrap();
    let site = AssetRef::new(AssetKind::Website, "https://www.example.gov.cn/");
    // A crawled URL of 40,000 characters: Excel keeps 32,767 in a cell.
    let long = format!("/a?{}", "x".repeat(40_000));
    store
        .record_findings(&[NewFinding {
            asset: site.clone(),
            severity: Severity::Low,
            title: Text::new("失效链接", "broken link"),
            evidence: long.clone(),
            location: long,
            provenance: Provenance::now("site", "site.broken-link", "https://www.example.gov.cn/"),
        }])
        .unwrap();
    let bytes = shouwang_report::ledger_xlsx(&store, &unit(), &opts()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    assert!(strings.contains("已截断"), "the cut cell says so");
    assert!(
        strings.contains("/a?xxxx"),
        "the start of the value is kept"
    );
}

/// Name who answers for the open findings of `check` and by when, as the
/// console does.
fn assign(store: &dyn Store, check: &str, owner: &str, due: NaiveDate) {
    let open = store
        .findings(&shouwang_store::FindingFilter {
            status: Some(FindingStatus::Open),
            limit: 1_000,
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<i64> = open
        .iter()
        .filter(|f| f.check_id() == check)
        .map(|f| f.id)
        .collect();
    assert!(!ids.is_empty(), "no open finding of {check}");
    store
        .audited(|tx| {
            for id in &ids {
                tx.set_finding_assignment(
                    *id,
                    &shouwang_model::FindingAssignment {
                        owner: owner.into(),
                        due: Some(due),
                    },
                )?;
            }
            tx.audit(&shouwang_store::NewAuditEntry::new(
                "tester",
                "finding.assign",
                check,
                serde_json::json!({ "owner": owner }),
            ))
        })
        .unwrap();
}

#[test]
fn the_remediation_table_prints_the_owner_the_date_and_whether_it_is_overdue() {
    let f = fill();
    let open = f
        .store
        .findings(&shouwang_store::FindingFilter {
            status: Some(FindingStatus::Open),
            limit: 1_000,
            ..Default::default()
        })
        .unwrap();
    let mut checks: Vec<&str> = open.iter().map(|x| x.check_id()).collect();
    checks.sort();
    checks.dedup();
    assert!(checks.len() >= 3, "{checks:?}");
    // The report is made on 2026-03-31: one date has passed, one has not,
    // and one check is left for handwriting.
    assign(
        &f.store,
        checks[0],
        "王五",
        NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
    );
    assign(
        &f.store,
        checks[1],
        "赵六",
        NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(),
    );
    let facts = shouwang_report::selfcheck_facts(&f.store, &unit(), f.period, &opts()).unwrap();
    let row = |check: &str| {
        facts
            .remediation
            .iter()
            .find(|r| r.check == check)
            .unwrap_or_else(|| panic!("no remediation row for {check}"))
    };
    assert_eq!(row(checks[0]).owner, "王五");
    assert_eq!(row(checks[2]).owner, "");
    assert_eq!(row(checks[2]).due, None);

    let html = shouwang_report::selfcheck_html(&facts).unwrap();
    let start = html.find("整改措施").expect("a 整改措施 section");
    let table = &html[start..];
    for want in [
        "王五",
        "2026年3月20日",
        "已超期",
        "赵六",
        "2026年4月15日",
        "待整改",
    ] {
        assert!(table.contains(want), "{want} missing from 整改措施");
    }

    let docx = shouwang_report::selfcheck_docx(&facts).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
        .unwrap();
    for want in ["王五", "2026年3月20日", "已超期", "赵六", "2026年4月15日"] {
        assert!(xml.contains(want), "{want} missing from the DOCX");
    }

    // The 台账's finding sheet carries the same two columns.
    let bytes = shouwang_report::ledger_xlsx(&f.store, &unit(), &opts()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    for want in ["责任人", "整改时限", "王五", "2026年4月15日"] {
        assert!(strings.contains(want), "{want} missing from the 台账");
    }
}
