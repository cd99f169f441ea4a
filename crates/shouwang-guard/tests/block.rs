//! Blocking mode on a real web root: with the BPF LSM program attached,
//! another process cannot write, create, delete, rename, link, chmod or
//! truncate anything sealed, while writable areas stay writable and this
//! process (the publish path) still can. Needs root and a kernel with the
//! BPF LSM; says so and passes where they are really absent, unless
//! SHOUWANG_REQUIRE_BPF=1.

use std::fs;
use std::process::Command;

use shouwang_guard::block::{BlockError, Blocker};
use shouwang_guard::{GuardDir, SealOptions};

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .unwrap()
        .success()
}

#[test]
fn other_processes_cannot_change_a_sealed_root() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let www = tmp.path().join("www");
    fs::create_dir_all(www.join("news")).unwrap();
    fs::create_dir_all(www.join("uploads")).unwrap();
    fs::create_dir_all(&data).unwrap();
    fs::write(www.join("index.html"), "<html>政府网站</html>").unwrap();
    fs::write(www.join("news/a.html"), "<p>通知</p>").unwrap();
    let g = GuardDir::open(&data).unwrap();
    g.seal(
        &www,
        &SealOptions {
            writables: vec!["uploads/**".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let b = g.baseline(&www).unwrap();

    let mut blocker = match Blocker::start() {
        Ok(bl) => bl,
        Err(BlockError::Unavailable(why)) => {
            if std::env::var("SHOUWANG_REQUIRE_BPF").as_deref() == Ok("1") {
                panic!("SHOUWANG_REQUIRE_BPF=1 but blocking mode is unavailable: {why}");
            }
            eprintln!("SKIPPED: {why}");
            return;
        }
        Err(e) => panic!("{e}"),
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
