//! `shouwang guard` and the guard inside `shouwang up`, as an operator runs
//! them: real processes, real signals, real files.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shouwang");

struct Box_ {
    tmp: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    www: PathBuf,
}

fn sandbox() -> Box_ {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("shouwang.toml");
    let www = tmp.path().join("www");
    fs::create_dir_all(www.join("news")).unwrap();
    fs::write(www.join("index.html"), "<html>乡镇政府</html>").unwrap();
    fs::write(www.join("news/1.html"), "<p>通知</p>").unwrap();
    fs::write(&config, "[console]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    Box_ {
        tmp,
        data,
        config,
        www,
    }
}

impl Box_ {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(args);
        c.env("HOME", self.tmp.path())
            .env("USER", "tester")
            .env("SHOUWANG_ADMIN_PASSWORD", "Kestrel-Lamp-2031");
        c.env_remove("SHOUWANG_DATA_DIR")
            .env_remove("SHOUWANG_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    fn www(&self) -> &str {
        self.www.to_str().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The lines a child writes, as they come.
fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn sigterm(child: &Child) {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
}

fn wait_exit(mut child: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn seal_check_restore_from_the_command_line() {
    let b = sandbox();
    let o = b.run(&["guard", "seal", b.www(), "--writable", "uploads/**"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("sealed"), "{}", text(&o));
    let o = b.run(&["guard", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    fs::write(b.www.join("index.html"), "HACKED").unwrap();
    fs::write(b.www.join("news/shell.php"), "<?php eval($_POST[1]);").unwrap();
    let o = b.run(&["guard", "check", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v[0]["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["path"] == "index.html" && c["change"]["change"] == "modified"),
        "{v}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["path"] == "news/shell.php" && c["change"]["change"] == "added"),
        "{v}"
    );

    let o = b.run(&["guard", "restore", b.www()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(b.www.join("index.html")).unwrap(),
        "<html>乡镇政府</html>"
    );
    let o = b.run(&["guard", "quarantine", "list", "--json"]);
    let q: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        q.as_array()
            .unwrap()
            .iter()
            .any(|r| r["path"] == "news/shell.php"),
        "{q}"
    );
    let o = b.run(&["guard", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = b.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn sealing_again_keeps_the_options_and_accepts_changes_only_with_yes() {
    let b = sandbox();
    fs::create_dir_all(b.www.join("uploads")).unwrap();
    let o = b.run(&["guard", "seal", b.www(), "--writable", "uploads/**"]);
    assert!(o.status.success(), "{}", text(&o));
    // Nothing changed: sealed again, saying so, with the writable area kept.
    let o = b.run(&["guard", "seal", b.www()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("nothing changed since"), "{}", text(&o));
    assert!(
        text(&o).contains("kept its --writable uploads/**"),
        "{}",
        text(&o)
    );
    // So an upload is still an upload, not an intruder taken away.
    fs::write(b.www.join("uploads/photo.jpg"), "jpeg").unwrap();
    let o = b.run(&["guard", "restore", b.www()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(b.www.join("uploads/photo.jpg").exists(), "{}", text(&o));
    let o = b.run(&["guard", "quarantine", "list", "--json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    // A page changed since the seal is named, and not taken in unasked.
    fs::write(b.www.join("index.html"), "<html>HACKED</html>").unwrap();
    let o = b.run(&["guard", "seal", b.www()]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("changed index.html"), "{}", text(&o));
    assert!(
        text(&o).contains("0 added, 1 changed, 0 removed"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--yes"), "{}", text(&o));
    let o = b.run(&["guard", "check"]);
    assert_eq!(o.status.code(), Some(1), "the baseline moved: {}", text(&o));
    // With --yes it is the baseline, and the writable area is still kept.
    let o = b.run(&["guard", "seal", b.www(), "--yes", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accepted"]["changed"], 1, "{v}");
    assert_eq!(v["writables"], serde_json::json!(["uploads/**"]), "{v}");
    let o = b.run(&["guard", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn seal_shows_its_progress_on_a_terminal_only() {
    let b = sandbox();
    for i in 0..2000 {
        fs::write(b.www.join(format!("news/{i}.html")), format!("<p>{i}</p>")).unwrap();
    }
    let o = b.run(&["guard", "seal", b.www()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("sealing:"), "{}", text(&o));
    // script(1) gives the seal a terminal.
    let on_a_terminal = |extra: &str| {
        let line = format!(
            "{BIN} --data-dir {} --config {} guard seal {} --yes {extra}",
            b.data.display(),
            b.config.display(),
            b.www()
        );
        Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("HOME", b.tmp.path())
            .env("TERM", "xterm")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
    };
    let Ok(o) = on_a_terminal("") else {
        eprintln!("SKIPPED: no script(1) to give the seal a terminal");
        return;
    };
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("sealing: "), "{}", text(&o));
    assert!(text(&o).contains("sealed "), "{}", text(&o));
    let o = on_a_terminal("--json").unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("sealing: "), "{}", text(&o));
}

/// Every file under `dir`, recursively (missing: none).
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_seal_killed_half_way_leaves_the_old_baseline() {
    let b = sandbox();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    let roots = b.data.join("guard").join("roots");
    let manifest = files_under(&roots)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "manifest"))
        .expect("the first seal wrote a manifest");
    let sealed = fs::read(&manifest).unwrap();
    let objects_before = files_under(&roots).len();
    // Enough data that the second seal is still writing objects when the
    // first new one appears: it is killed right then, before the manifest
    // could be committed (that happens after every object is on disk).
    let big = b.www.join("big");
    fs::create_dir_all(&big).unwrap();
    for i in 0..2000 {
        fs::write(
            big.join(format!("{i}.bin")),
            vec![(i % 251) as u8; 256 * 1024],
        )
        .unwrap();
    }
    let mut child = b
        .cmd(&["guard", "seal", b.www()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while files_under(&roots).len() <= objects_before {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the seal finished before any object was seen"
        );
        assert!(Instant::now() < deadline, "the seal wrote nothing");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The old baseline is intact and authentic: the new files are "added".
    assert_eq!(fs::read(&manifest).unwrap(), sealed, "the manifest changed");
    let o = b.run(&["guard", "check", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v[0]["changes"].as_array().unwrap();
    assert!(
        changes.iter().all(|c| c["change"]["change"] == "added"),
        "only additions: {v}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["path"].as_str().unwrap().starts_with("big"))
    );
    // The old baseline still restores, from its own packs.
    let rebuilt = b.data.join("rebuilt");
    let o = b.run(&[
        "guard",
        "restore",
        b.www(),
        "--to",
        rebuilt.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        fs::read(rebuilt.join("index.html")).unwrap(),
        fs::read(b.www.join("index.html")).unwrap()
    );
    // And a new seal completes over the leftovers of the killed one (the
    // new files accepted with --yes), and clears them away.
    assert!(b.run(&["guard", "seal", b.www(), "--yes"]).status.success());
    assert_eq!(b.run(&["guard", "check"]).status.code(), Some(0));
    let leftovers: Vec<_> = files_under(&roots)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_tampered_baseline_is_refused_with_a_clear_error() {
    let b = sandbox();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    let roots = b.data.join("guard/roots");
    let dir = fs::read_dir(&roots)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest = dir.join("manifest");
    let mut bytes = fs::read(&manifest).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 1;
    fs::write(&manifest, bytes).unwrap();
    fs::write(b.www.join("index.html"), "HACKED").unwrap();
    let o = b.run(&["guard", "restore", b.www()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot be trusted"), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(b.www.join("index.html")).unwrap(),
        "HACKED",
        "nothing restored from it"
    );
}

fn up_and_wait(b: &Box_, marker: &str) -> Child {
    let mut child = b
        .cmd(&["up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let erx = lines_of(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        seen.extend(rx.try_iter());
        seen.extend(erx.try_iter());
        if seen.iter().any(|l| l.contains(marker)) {
            return child;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("up exited with {st}: {seen:#?}");
        }
        assert!(Instant::now() < deadline, "no {marker:?} in {seen:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn up_guards_the_configured_roots_and_records_events() {
    let b = sandbox();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    fs::write(
        &b.config,
        format!(
            "[console]\nlisten = \"127.0.0.1:0\"\n[guard]\nroots = [\"{}\"]\n",
            b.www()
        ),
    )
    .unwrap();
    let child = up_and_wait(&b, "guarding 1 web root");
    fs::write(b.www.join("index.html"), "<html>defaced</html>").unwrap();
    eventually("restored by up", || {
        fs::read_to_string(b.www.join("index.html")).ok().as_deref()
            == Some("<html>乡镇政府</html>")
    });
    fs::write(b.www.join("dark.html"), "<a href=http://casino.example>").unwrap();
    eventually("intruder quarantined", || !b.www.join("dark.html").exists());
    fs::write(b.www.join("shell.php"), "<?php eval($_POST['x']); ?>").unwrap();
    eventually("webshell quarantined", || !b.www.join("shell.php").exists());
    // Give the recorder a moment to store, then stop.
    std::thread::sleep(Duration::from_millis(600));
    sigterm(&child);
    assert!(wait_exit(child).success());
    let o = b.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.to_string().contains("events"), "{v}");
    let o = b.run(&["audit", "verify", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The events name what happened.
    let db = rusqlite::Connection::open(b.data.join("shouwang.db")).unwrap();
    let kinds: Vec<String> = db
        .prepare("SELECT kind FROM events ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(kinds.contains(&"guard.restored".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"guard.quarantined".to_string()),
        "{kinds:?}"
    );
    // The incident rules make them two incidents: the defacement (its
    // restore and the dark-link page joined in one) and the dropped
    // script, each of its GB/T 20986 class.
    let o = b.run(&["incident", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut found: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["incident"]["subclass"].as_str().unwrap().to_string(),
                i["incident"]["event_count"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    // A write may be seen (and undone) more than once: at least the
    // restore and the quarantine make up the defacement.
    assert_eq!(found.len(), 2, "{list:#}");
    assert_eq!(found[0], ("MPTROJ".to_string(), 1), "{list:#}");
    assert_eq!(found[1].0, "NAWEBMOD", "{list:#}");
    assert!(found[1].1 >= 2, "{list:#}");
}

/// `up` with a root whose manifest had a byte flipped starts anyway and
/// guards the other root; the tampered baseline, and then the other root
/// swapped for a symlink (`mv www www.x; ln -s evilroot www`), are each an
/// incident.
#[test]
fn up_runs_on_with_a_tampered_baseline_and_a_displaced_root_opens_an_incident() {
    let b = sandbox();
    let www2 = b.tmp.path().join("www2");
    fs::create_dir_all(&www2).unwrap();
    fs::write(www2.join("index.html"), "<html>第二个网站</html>").unwrap();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    let before: Vec<PathBuf> = files_under(&b.data.join("guard/roots"));
    assert!(
        b.run(&["guard", "seal", www2.to_str().unwrap()])
            .status
            .success()
    );
    let manifest = files_under(&b.data.join("guard/roots"))
        .into_iter()
        .find(|p| p.ends_with("manifest") && !before.contains(p))
        .unwrap();
    let mut bytes = fs::read(&manifest).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 1;
    fs::write(&manifest, bytes).unwrap();
    fs::write(
        &b.config,
        format!(
            "[console]\nlisten = \"127.0.0.1:0\"\n[guard]\nroots = [\"{}\", \"{}\"]\n",
            b.www(),
            www2.display()
        ),
    )
    .unwrap();
    let child = up_and_wait(&b, "guarding 1 web root");
    fs::write(b.www.join("index.html"), "<html>defaced</html>").unwrap();
    eventually("the sound root restored by up", || {
        fs::read_to_string(b.www.join("index.html")).ok().as_deref()
            == Some("<html>乡镇政府</html>")
    });
    let evil = b.tmp.path().join("evilroot");
    fs::create_dir(&evil).unwrap();
    fs::write(evil.join("index.html"), "<html>HACKED</html>").unwrap();
    fs::rename(&b.www, b.tmp.path().join("www.x")).unwrap();
    std::os::unix::fs::symlink(&evil, &b.www).unwrap();
    let db = rusqlite::Connection::open(b.data.join("shouwang.db")).unwrap();
    eventually("both events stored", || {
        let kinds: Vec<String> = db
            .prepare("SELECT kind FROM events")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        kinds.iter().any(|k| k == "guard.root-displaced")
            && kinds.iter().any(|k| k == "guard.baseline-tampered")
    });
    std::thread::sleep(Duration::from_millis(600));
    sigterm(&child);
    assert!(wait_exit(child).success());
    let o = b.run(&["incident", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["incident"]["rule"].as_str())
        .collect();
    assert!(rules.contains(&"guard-root-displaced"), "{list:#}");
    assert!(rules.contains(&"guard-baseline-tampered"), "{list:#}");
}

#[test]
fn a_root_sealed_while_up_runs_is_guarded_without_a_restart() {
    let b = sandbox();
    // No [guard] roots: up starts with nothing sealed.
    fs::write(&b.config, "[console]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let child = up_and_wait(&b, "console:");
    let o = b.run(&["guard", "seal", b.www()]);
    assert!(o.status.success(), "{}", text(&o));
    // The running up takes the new root in within a few seconds; a page
    // defaced after that comes back.
    // (A minute at most: on a loaded 2-core machine the new watcher's
    // start-up scan can take a while.)
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        fs::write(b.www.join("index.html"), "<html>defaced</html>").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        if fs::read_to_string(b.www.join("index.html")).ok().as_deref()
            == Some("<html>乡镇政府</html>")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the root sealed while up runs is not guarded"
        );
    }
    sigterm(&child);
    assert!(wait_exit(child).success());
}

#[test]
fn up_refuses_a_root_that_is_not_sealed() {
    let b = sandbox();
    fs::write(&b.config, format!("[guard]\nroots = [\"{}\"]\n", b.www())).unwrap();
    let o = b.run(&["up"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("guard seal"), "{}", text(&o));
}

#[test]
fn guard_watch_stops_cleanly_on_sigterm() {
    let b = sandbox();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    let mut child = b
        // No root named nor configured: every sealed root is watched.
        .cmd(&["guard", "watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a start line");
    assert!(first.contains("guarding 1 web root"), "{first}");
    fs::remove_file(b.www.join("news/1.html")).unwrap();
    eventually("deleted page back", || b.www.join("news/1.html").exists());
    let line = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a line about the restore");
    assert!(line.contains("news/1.html"), "{line}");
    sigterm(&child);
    assert!(wait_exit(child).success());
}

#[test]
fn watch_block_says_what_it_can_do_and_still_restores() {
    let b = sandbox();
    assert!(b.run(&["guard", "seal", b.www()]).status.success());
    let mut child = b
        .cmd(&["guard", "watch", "--block", b.www()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("guarding")) {
        lines.push(
            rx.recv_timeout(Duration::from_secs(20))
                .expect("start lines"),
        );
    }
    // Either the kernel takes the BPF LSM program, or we are told why not.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("blocking writes to")
                || l.contains("blocking mode is not available")),
        "{lines:?}"
    );
    let blocked = lines.iter().any(|l| l.contains("blocking writes to"));
    let attempt = Command::new("sh")
        .arg("-c")
        .arg(format!("echo HACKED > {}/index.html", b.www()))
        .status()
        .unwrap();
    if blocked {
        assert!(!attempt.success(), "the write went through while blocking");
        assert!(
            lines.iter().any(|l| l.starts_with("blocking mode: ")),
            "the kind of block is not named: {lines:?}"
        );
    }
    eventually("index.html as sealed", || {
        fs::read_to_string(b.www.join("index.html")).ok().as_deref()
            == Some("<html>乡镇政府</html>")
    });
    // What the partial block lets through is still put back.
    if lines.iter().any(|l| l.contains("partial (fanotify")) {
        fs::remove_file(b.www.join("news/1.html")).unwrap();
        eventually("deleted page back", || b.www.join("news/1.html").exists());
    }
    sigterm(&child);
    assert!(wait_exit(child).success());
}
