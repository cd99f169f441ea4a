//! Blocking mode on a real web root: with the BPF LSM program attached,
//! another process cannot write, create, delete, rename, link, chmod or
//! truncate anything sealed, while writable areas stay writable and this
//! process (the publish path) still can. Needs root and a kernel with the
//! BPF LSM; says so and passes where they are really absent, unless
//! SHOUWANG_REQUIRE_BPF=1.

use std::fs;
use std::process::Command;

use shouwang_guard::block::{BlockError, BpfBlocker};
use shouwang_guard::{Baseline, GuardDir, SealOptions};

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .unwrap()
        .success()
}

/// A small site sealed with `writables`: index.html, news/a.html,
/// news/2026/b.html, app.log and an empty uploads/.
fn sealed_site(writables: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, Baseline) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let www = tmp.path().join("www");
    fs::create_dir_all(www.join("news/2026")).unwrap();
    fs::create_dir_all(www.join("uploads")).unwrap();
    fs::create_dir_all(&data).unwrap();
    fs::write(www.join("index.html"), "<html>政府网站</html>").unwrap();
    fs::write(www.join("news/a.html"), "<p>通知</p>").unwrap();
    fs::write(www.join("news/2026/b.html"), "<p>公告</p>").unwrap();
    fs::write(www.join("app.log"), "started\n").unwrap();
    let g = GuardDir::open(&data).unwrap();
    g.seal(
        &www,
        &SealOptions {
            writables: writables.iter().map(|w| w.to_string()).collect(),
            ..Default::default()
        },
    )
    .unwrap();
    let b = g.baseline(&www).unwrap();
    (tmp, www, b)
}

/// The blocker, or None (the test says SKIPPED) where the kernel really
/// lacks the mechanism, unless `require` is set to 1.
fn started<B>(start: Result<B, BlockError>, require: &str) -> Option<B> {
    match start {
        Ok(b) => Some(b),
        Err(BlockError::Unavailable(why)) => {
            if std::env::var(require).as_deref() == Ok("1") {
                panic!("{require}=1 but this blocking mode is unavailable: {why}");
            }
            eprintln!("SKIPPED: {why}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn other_processes_cannot_change_a_sealed_root() {
    let (_tmp, www, b) = sealed_site(&["uploads/**"]);

    let Some(mut blocker) = started(BpfBlocker::start(), "SHOUWANG_REQUIRE_BPF") else {
        return;
    };
    let n = blocker.protect(&b).unwrap();
    assert!(n >= 3, "{n} inodes protected");

    let w = www.display();
    for attack in [
        format!("echo HACKED > {w}/index.html"),
        format!("echo x >> {w}/news/a.html"),
        format!("touch {w}/shell.php"),
        format!("touch {w}/news/dark.html"),
        format!("rm -f {w}/news/a.html"),
        format!("mv {w}/index.html {w}/old.html"),
        format!("mv {w}/news {w}/news2"),
        format!("chmod 777 {w}/index.html"),
        format!("ln -s /etc/passwd {w}/p.html"),
        format!("ln {w}/index.html {w}/hard.html"),
        format!("mkdir {w}/evil"),
        format!("truncate -s 0 {w}/index.html"),
        format!("rmdir {w}/uploads"),
    ] {
        assert!(
            !sh(&format!("{attack} 2>/dev/null")),
            "not blocked: {attack}"
        );
    }
    assert_eq!(
        fs::read_to_string(www.join("index.html")).unwrap(),
        "<html>政府网站</html>"
    );
    assert_eq!(
        fs::read_to_string(www.join("news/a.html")).unwrap(),
        "<p>通知</p>"
    );
    assert!(!www.join("shell.php").exists() && !www.join("evil").exists());
    assert!(
        blocker.denied() >= 13,
        "denials counted: {}",
        blocker.denied()
    );

    // Uploads stay writable for the web application.
    assert!(
        sh(&format!("echo jpeg > {w}/uploads/photo.jpg")),
        "writable area blocked"
    );
    // Shouwang itself (this process) may still write: the publish path.
    fs::write(www.join("news/b.html"), "<p>新闻</p>").unwrap();

    drop(blocker);
    assert!(
        sh(&format!("echo ok > {w}/index.html")),
        "unblocked after the blocker is dropped"
    );
}

/// The fallback where the kernel refuses BPF LSM programs (this machine):
/// fanotify permission events deny opens for writing, truncating and
/// creating to other processes, while their reads go through. Needs root;
/// says so and passes where fanotify permission events are really absent,
/// unless SHOUWANG_REQUIRE_FANOTIFY=1.
#[test]
fn permission_events_refuse_write_opens_and_let_reads_through() {
    use shouwang_guard::block::OpenBlocker;
    let (_tmp, www, b) = sealed_site(&["uploads/**", "*.log"]);

    let Some(mut blocker) = started(OpenBlocker::start(), "SHOUWANG_REQUIRE_FANOTIFY") else {
        return;
    };
    // The root, news and news/2026; uploads holds only writable files.
    assert_eq!(blocker.protect(&b).unwrap(), 3);

    let w = www.display();
    let py = |code: &str| {
        Command::new("python3")
            .arg("-c")
            .arg(code)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    for attack in [
        format!("echo HACKED > {w}/index.html"),
        format!("echo x >> {w}/news/a.html"),
        format!("echo x >> {w}/news/2026/b.html"),
        format!("exec 3<> {w}/index.html"),
        format!("echo '<?php eval($_POST[1]);' > {w}/news/shell.php"),
    ] {
        assert!(
            !sh(&format!("{attack} 2>/dev/null")),
            "not blocked: {attack}"
        );
    }
    // openat2 keeps its flags in memory, not in a register.
    if sh("command -v python3 >/dev/null") {
        let code = format!(
            "import ctypes,os,struct,sys\n\
             libc=ctypes.CDLL(None,use_errno=True)\n\
             how=ctypes.create_string_buffer(struct.pack('QQQ',os.O_WRONLY|os.O_TRUNC,0,0))\n\
             fd=libc.syscall(437,-100,b'{w}/index.html',how,24)\n\
             sys.exit(0 if fd>=0 else 1)"
        );
        assert!(!py(&code), "openat2 for writing was not blocked");
        let code = code.replace("os.O_WRONLY|os.O_TRUNC", "os.O_RDONLY");
        assert!(py(&code), "openat2 for reading was blocked");
    }
    assert_eq!(
        fs::read_to_string(www.join("index.html")).unwrap(),
        "<html>政府网站</html>"
    );
    assert_eq!(
        fs::read_to_string(www.join("news/a.html")).unwrap(),
        "<p>通知</p>"
    );
    assert_eq!(
        fs::read_to_string(www.join("news/2026/b.html")).unwrap(),
        "<p>公告</p>"
    );
    // The file the create made stays empty: the open that would have
    // written it was refused (detect-and-restore quarantines it).
    assert_eq!(fs::read(www.join("news/shell.php")).unwrap(), b"");
    assert!(
        blocker.denied() >= 5,
        "denials counted: {}",
        blocker.denied()
    );

    // The web server's reads go through, every one of them (each open is
    // decided while its opener may still be on its way to sleep).
    let out = Command::new("cat")
        .arg(www.join("news/2026/b.html"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "<p>公告</p>");
    assert!(
        sh(&format!(
            "for i in $(seq 300); do cat {w}/index.html {w}/news/a.html >/dev/null || exit 1; done"
        )),
        "a read was refused"
    );
    // Writable areas stay writable, by directory and by file pattern.
    assert!(sh(&format!("echo jpeg > {w}/uploads/photo.jpg")));
    assert!(sh(&format!("echo more >> {w}/app.log")));
    // Shouwang itself (this process) may still write: the restore path.
    fs::write(www.join("news/c.html"), "<p>新闻</p>").unwrap();

    // A maintenance window lifts the block; protecting again restores it.
    blocker.unprotect(&www).unwrap();
    assert!(
        sh(&format!("echo edited >> {w}/news/a.html")),
        "still blocked in a window"
    );
    blocker.protect(&b).unwrap();
    assert!(!sh(&format!("echo again >> {w}/news/a.html 2>/dev/null")));

    drop(blocker);
    assert!(
        sh(&format!("echo ok > {w}/index.html")),
        "unblocked after the blocker is dropped"
    );
}
