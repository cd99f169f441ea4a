//! Broken, missing, unreadable and garbage inputs give "could not check:
//! why", never a pass and never a crash.

mod common;

use std::collections::BTreeSet;

use shouwang_host::rule::Os;
use shouwang_host::{CheckResult, Root, RuleSet, Verdict};

fn check(root: &Root, id: &str) -> CheckResult {
    let set = RuleSet::embedded().unwrap();
    let rule = set.rule(id).unwrap();
    shouwang_host::run(root, "test", &[rule]).results.remove(0)
}

fn cannot(root: &Root, id: &str, why: &str) {
    let r = check(root, id);
    assert_eq!(r.verdict, Verdict::CannotCheck, "{id}: {r:?}");
    assert!(
        r.summary.starts_with("could not check: ") && r.summary.contains(why),
        "{id}: {:?} should say {why:?}",
        r.summary
    );
}

fn fixture(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
    let tmp = tempfile::tempdir().unwrap();
    for (p, t) in files {
        common::write(tmp.path(), p, t);
    }
    let root = Root::offline(tmp.path());
    (tmp, root)
}

/// Rules that may pass on an empty directory, because there the absence
/// of a thing is the compliant state. Every other rule must fail or say it
/// could not check.
const ABSENCE_IS_COMPLIANCE: &[&str] = &[
    // No .rhosts / hosts.equiv file: no trust relationship.
    "net.no-rhosts-trust",
    // A service that is not installed is not running.
    "svc.",
    "auth.ctrl-alt-del-masked",
];

#[test]
fn an_empty_root_passes_nothing_it_cannot_see() {
    let tmp = tempfile::tempdir().unwrap();
    let set = RuleSet::embedded().unwrap();
    let rules: Vec<_> = set.rules().filter(|r| r.os == Os::Linux).collect();
    for liveness in [false, true] {
        let root = common::root(tmp.path(), liveness);
        let run = shouwang_host::run(&root, "all", &rules);
        let wrongly_passed: Vec<&str> = run
            .results
            .iter()
            .filter(|r| r.verdict == Verdict::Pass)
            .filter(|r| !ABSENCE_IS_COMPLIANCE.iter().any(|a| r.id.starts_with(a)))
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            wrongly_passed.is_empty(),
            "passed on an empty root: {wrongly_passed:?}"
        );
        for r in &run.results {
            if r.verdict == Verdict::CannotCheck {
                assert!(r.summary.len() > "could not check: ".len(), "{r:?}");
            }
        }
    }
}

#[test]
fn garbage_account_files_name_the_line() {
    let (_t, root) = fixture(&[(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nthis is not a passwd line\n",
    )]);
    cannot(
        &root,
        "acct.uid0-only-root",
        "/etc/passwd: line 2 is not a valid entry",
    );
    cannot(&root, "acct.duplicate-uid", "line 2");
    let (_t, root) = fixture(&[("/etc/shadow", "root:$6$x:notanumber:0:90:7:::\n")]);
    cannot(
        &root,
        "acct.empty-password",
        "last change \"notanumber\" is not a number",
    );
}

#[test]
fn binary_files_are_not_read_as_config() {
    let (_t, root) = fixture(&[("/etc/ssh/sshd_config", "PermitRootLogin no\n\0\0\x7fELF")]);
    cannot(
        &root,
        "ssh.permit-root-login",
        "/etc/ssh/sshd_config is not a text file (it holds NUL bytes)",
    );
    let (_t, root) = fixture(&[("/etc/login.defs", "\0\0\0\0")]);
    cannot(&root, "acct.pass-max-days", "not a text file");
}

#[test]
fn unreadable_files_say_so() {
    // A directory where a file should be is unreadable as a file, even as root.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("etc/shadow")).unwrap();
    let root = Root::offline(tmp.path());
    cannot(
        &root,
        "acct.empty-password",
        "/etc/shadow is not a text file (it is a directory)",
    );

    // Without root privileges, a mode-000 file is denied.
    let tmp = tempfile::tempdir().unwrap();
    common::write(tmp.path(), "/etc/shadow", "root:$6$x:19000:0:90:7:::\n");
    let shadow = tmp.path().join("etc/shadow");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shadow, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&shadow).is_err() {
        let root = Root::offline(tmp.path());
        cannot(
            &root,
            "acct.empty-password",
            "permission denied (run as root)",
        );
    }
}

#[test]
fn values_that_are_not_numbers_cannot_be_compared() {
    let (_t, root) = fixture(&[("/etc/login.defs", "PASS_MAX_DAYS ninety\n")]);
    let r = check(&root, "acct.pass-max-days");
    assert_eq!(r.verdict, Verdict::CannotCheck);
    assert!(
        r.summary.contains("\"ninety\" is not a number"),
        "{}",
        r.summary
    );
    assert_eq!(r.evidence[0].line, Some(1));
}

#[test]
fn package_databases_missing_or_damaged() {
    let (_t, root) = fixture(&[]);
    cannot(&root, "pkg.no-telnet-server", "no package database");
    let (_t, root) = fixture(&[(
        "/var/lib/dpkg/status",
        "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\nStatus: install ok installed\nVersion: 1\n",
    )]);
    cannot(
        &root,
        "pkg.no-telnet-server",
        "the dpkg database /var/lib/dpkg/status is damaged: line 5",
    );
    cannot(&root, "audit.auditd-installed", "damaged");
    cannot(&root, "pkg.no-pending-updates", "damaged");
    let (_t, root) = fixture(&[(
        "/var/lib/rpm/rpmdb.sqlite",
        "this is not sqlite at all, just text of some length ........................................................................",
    )]);
    cannot(
        &root,
        "pkg.no-telnet-server",
        "the rpm database /var/lib/rpm/rpmdb.sqlite is damaged or not readable",
    );
    let (_t, root) = fixture(&[("/var/lib/rpm/Packages", "bdb")]);
    cannot(&root, "pkg.no-telnet-server", "Berkeley DB");
}

#[test]
fn pending_updates_need_readable_lists() {
    let status = "Package: bash\nStatus: install ok installed\nVersion: 5.2\n";
    let (_t, root) = fixture(&[("/var/lib/dpkg/status", status)]);
    cannot(
        &root,
        "pkg.no-pending-updates",
        "run `apt-get update` first",
    );
    let (_t, root) = fixture(&[
        ("/var/lib/dpkg/status", status),
        (
            "/var/lib/apt/lists/x_main_binary-amd64_Packages.lz4",
            "\u{4}\"M\u{18}",
        ),
    ]);
    cannot(&root, "pkg.no-pending-updates", "name no package");
    let (_t, root) = fixture(&[
        ("/var/lib/dpkg/status", status),
        (
            "/var/lib/apt/lists/x_main_binary-amd64_Packages.xz",
            "\u{fd}7zXZ",
        ),
    ]);
    cannot(&root, "pkg.no-pending-updates", "does not read");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("var/lib/rpm")).unwrap();
    shouwang_host::rpmdb::write_sqlite(
        &tmp.path().join("var/lib/rpm/rpmdb.sqlite"),
        &[("bash", "5.1", "1")],
    )
    .unwrap();
    let root = Root::offline(tmp.path());
    cannot(&root, "pkg.no-pending-updates", "run `dnf makecache` first");
}

#[test]
fn offline_roots_do_not_guess_the_running_state() {
    let (_t, root) = fixture(&[("/proc/net/tcp", "header\n")]);
    cannot(&root, "net.listening-allowed", "needs the live system");
    cannot(&root, "net.no-high-risk-ports", "needs the live system");
    cannot(
        &root,
        "net.isolated-no-default-route",
        "needs the live system",
    );
    cannot(&root, "net.no-wireless", "needs the live system");
}

#[test]
fn a_live_root_with_garbage_in_proc() {
    let tmp = tempfile::tempdir().unwrap();
    common::write(
        tmp.path(),
        "/proc/net/tcp",
        "  sl local rem st\n   0: nonsense\n",
    );
    let root = common::root(tmp.path(), true);
    cannot(
        &root,
        "net.listening-allowed",
        "/proc/net/tcp: line 2 is not a valid entry",
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = common::root(tmp.path(), true);
    cannot(&root, "net.listening-allowed", "/proc/net/tcp is missing");
}

#[test]
fn missing_programs_are_not_compliant_programs() {
    let (_t, root) = fixture(&[]);
    cannot(
        &root,
        "ssh.permit-root-login",
        "is the OpenSSH server installed?",
    );
    cannot(&root, "auth.pw-minlen", "no PAM service file");
    cannot(&root, "ssh.no-weak-ciphers", "none of /etc/ssh/sshd_config");
}

#[test]
fn windows_rules_are_skipped_on_linux() {
    let set = RuleSet::embedded().unwrap();
    let win: Vec<_> = set.rules().filter(|r| r.os == Os::Windows).collect();
    assert!(!win.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let run = shouwang_host::run(&Root::offline(tmp.path()), "x", &win);
    assert!(run.results.is_empty());
    // Their probes exist in the schema and refuse to run here.
    let root = Root::offline(tmp.path());
    let facts = shouwang_host::Facts::new(&root);
    let err = shouwang_host::probe::run(&win[0].probe, &facts).unwrap_err();
    assert!(
        err.en.contains("Windows") && err.zh.contains("Windows"),
        "{err}"
    );
}

#[test]
fn profiles_differ_and_nest() {
    let set = RuleSet::embedded().unwrap();
    let ids = |p: &str| -> BTreeSet<String> {
        set.profile(p)
            .unwrap()
            .iter()
            .map(|r| r.id.clone())
            .collect()
    };
    let (d2, d3, term, classified) = (
        ids("dengbao2"),
        ids("dengbao3"),
        ids("terminal"),
        ids("classified"),
    );
    assert!(d3.len() > d2.len(), "{} vs {}", d3.len(), d2.len());
    assert!(term.is_subset(&classified));
    assert!(classified.contains("net.isolated-no-default-route"));
    assert!(!term.contains("net.isolated-no-default-route"));
    assert!(term.contains("usb.storage-disabled") && term.contains("net.no-wireless"));
}

#[test]
fn user_rules_override_and_add_profiles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.toml"),
        r#"
[[profile]]
name = "school"
title = { zh = "学校", en = "School" }
base = "dengbao2"
include = ["usb.*"]
exclude = ["ssh.*"]

[[rule]]
id = "net.listening-allowed"
title = { zh = "只开放允许的端口", en = "Only allowed ports listen" }
clause = "8.1.4.4 b)"
severity = "medium"
profiles = ["dengbao2"]
probe = { type = "listening" }
expect = { allow = ["tcp/*:22", "tcp/*:443"] }
fix = { zh = "停止不需要的服务。", en = "Stop what you do not need." }
"#,
    )
    .unwrap();
    let set = RuleSet::with_overrides(dir.path()).unwrap();
    let school: Vec<String> = set
        .profile("school")
        .unwrap()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert!(school.iter().any(|i| i == "usb.storage-disabled"));
    assert!(!school.iter().any(|i| i.starts_with("ssh.")));
    assert_eq!(
        set.rule("net.listening-allowed").unwrap().expect,
        shouwang_host::rule::Expect::Allow(vec!["tcp/*:22".into(), "tcp/*:443".into()])
    );
    assert!(set.origin["net.listening-allowed"].ends_with("local.toml"));

    std::fs::write(dir.path().join("broken.toml"), "[[rule]]\nid = \"x\"\n").unwrap();
    let err = RuleSet::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(err.contains("broken.toml"), "{err}");
}

#[test]
fn pending_updates_read_lz4_and_gzip_lists() {
    use std::io::Write;
    let status = "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\n";
    let list = "Package: openssl\nVersion: 3.0.11-1~deb12u2\n";
    let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
    lz4.write_all(list.as_bytes()).unwrap();
    let lz4 = lz4.finish().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(list.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for (name, bytes) in [("a_Packages.lz4", lz4), ("b_Packages.gz", gz)] {
        let tmp = tempfile::tempdir().unwrap();
        common::write(tmp.path(), "/var/lib/dpkg/status", status);
        let dir = tmp.path().join("var/lib/apt/lists");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        let r = check(&Root::offline(tmp.path()), "pkg.no-pending-updates");
        assert_eq!(r.verdict, Verdict::Fail, "{name}: {r:?}");
        assert_eq!(
            r.evidence[0].text,
            "openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2"
        );
        assert_eq!(r.evidence[0].file, name);
    }
}

#[test]
fn a_software_allow_list_is_a_user_rule() {
    let mut set = RuleSet::embedded().unwrap();
    set.add_file(
        "local.toml",
        r#"
[[rule]]
id = "local.software-allow-list"
title = { zh = "只安装单位允许的软件", en = "Only the unit's allowed software is installed" }
clause = "8.1.4.4 a)"
severity = "medium"
profiles = ["terminal"]
probe = { type = "packages", names = ["*"] }
expect = { allow = ["lib*", "bash", "wps-office"] }
fix = { zh = "卸载未经允许的软件。", en = "Remove the software that is not allowed." }
"#,
        true,
    )
    .unwrap();
    let rule = set.rule("local.software-allow-list").unwrap();
    let status = |extra: &str| {
        format!(
            "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\nPackage: libc6\nStatus: install ok installed\nVersion: 2.36\n{extra}"
        )
    };
    let (_t, root) = fixture(&[("/var/lib/dpkg/status", &status(""))]);
    let r = &shouwang_host::run(&root, "t", &[rule]).results[0];
    assert_eq!(r.verdict, Verdict::Pass, "{r:?}");
    let (_t, root) = fixture(&[(
        "/var/lib/dpkg/status",
        &status("\nPackage: steam\nStatus: install ok installed\nVersion: 1.0\n"),
    )]);
    let r = &shouwang_host::run(&root, "t", &[rule]).results[0];
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.summary, "1 found: steam");
    assert!(
        set.profile("terminal")
            .unwrap()
            .iter()
            .any(|r| r.id == "local.software-allow-list")
    );
}

#[test]
fn pending_updates_on_rpm_systems_read_dnf_metadata() {
    use std::io::Write;
    let xml = r#"<?xml version="1.0"?><metadata packages="2">
<package type="rpm"><name>openssh-server</name><arch>x86_64</arch><version epoch="0" ver="8.8p1" rel="21.oe2203sp3"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.1.8" rel="6.oe2203"/></package>
</metadata>"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(xml.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for (installed, verdict) in [("8.8p1", Verdict::Fail), ("9.3p1", Verdict::Pass)] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("var/lib/rpm")).unwrap();
        shouwang_host::rpmdb::write_sqlite(
            &tmp.path().join("var/lib/rpm/rpmdb.sqlite"),
            &[
                ("bash", "5.1.8", "6.oe2203"),
                ("openssh-server", installed, "2.oe2203sp3"),
            ],
        )
        .unwrap();
        let repo = tmp.path().join("var/cache/dnf/OS-6f1e2a/repodata");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("abc123-primary.xml.gz"), &gz).unwrap();
        let r = check(&Root::offline(tmp.path()), "pkg.no-pending-updates");
        assert_eq!(r.verdict, verdict, "{installed}: {r:?}");
        if verdict == Verdict::Fail {
            assert_eq!(r.summary, "1 found: openssh-server");
            assert_eq!(r.evidence[0].file, "abc123-primary.xml.gz");
            assert_eq!(
                r.evidence[0].text,
                "openssh-server 8.8p1-2.oe2203sp3 -> 8.8p1-21.oe2203sp3"
            );
        }
    }
}

#[test]
fn a_built_in_driver_cannot_be_blacklisted() {
    let (_t, root) = fixture(&[
        (
            "/etc/modprobe.d/usb.conf",
            "install usb-storage /bin/false\n",
        ),
        (
            "/lib/modules/6.1.0-13-amd64/modules.builtin",
            "kernel/drivers/usb/host/xhci-hcd.ko\nkernel/drivers/usb/storage/usb-storage.ko\n",
        ),
    ]);
    let r = check(&root, "usb.storage-disabled");
    assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
    assert_eq!(r.value.as_deref(), Some("built-in"));
    assert_eq!(r.evidence[0].line, Some(2));
}

#[test]
fn garbage_text_in_a_config_file_is_not_read_as_settings() {
    let garbage = "<html><head><title>404 Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n<p>The requested URL was not found.</p>\n</body></html>\n";
    let (_t, root) = fixture(&[("/etc/login.defs", garbage)]);
    cannot(
        &root,
        "acct.pass-max-days",
        "/etc/login.defs does not look like a configuration file",
    );
    let (_t, root) = fixture(&[("/etc/ssh/sshd_config", garbage)]);
    cannot(
        &root,
        "ssh.permit-root-login",
        "does not look like a configuration file",
    );
    let (_t, root) = fixture(&[("/etc/sysctl.conf", garbage)]);
    cannot(
        &root,
        "kernel.aslr",
        "/etc/sysctl.conf does not look like a configuration file",
    );
    // A real file with a stray line is still read.
    let (_t, root) = fixture(&[(
        "/etc/login.defs",
        "MAIL_DIR /var/mail\n!!! stray\nPASS_MAX_DAYS 90\nPASS_MIN_DAYS 1\nUMASK 027\n",
    )]);
    assert_eq!(check(&root, "acct.pass-max-days").verdict, Verdict::Pass);
}
