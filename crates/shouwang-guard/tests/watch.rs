//! Real-time protection on real temporary web roots, with both kernel
//! mechanisms: fanotify filesystem marks (needs root: CAP_SYS_ADMIN) and
//! inotify. Each scenario changes the tree the way an attacker would and
//! waits for the bytes and modes on disk to be the sealed ones again.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shouwang_guard::state::{Condition, RootState};
use shouwang_guard::watch::{Backend, Message, Notice, WatchOptions, watch};
use shouwang_guard::{GuardDir, Outcome, SealOptions};

mod common;

struct Watching {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    root: PathBuf,
    outside: PathBuf,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Backend>>,
    rx: Receiver<Message>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn start(inotify: bool, files: usize) -> Option<Watching> {
    if !inotify && !is_root() {
        eprintln!("SKIPPED: fanotify filesystem marks need root (CAP_SYS_ADMIN)");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let root = tmp.path().join("www");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(root.join("news/2026")).unwrap();
    fs::create_dir_all(root.join("bulk")).unwrap();
    fs::create_dir_all(root.join("uploads")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(root.join("index.html"), "<html>县政府门户网站</html>").unwrap();
    fs::write(root.join("news/2026/a.html"), "<p>通知</p>").unwrap();
    fs::write(root.join("news/2026/b.html"), "<p>公告</p>").unwrap();
    for i in 0..NEWS {
        fs::write(
            root.join(format!("news/2026/n-{i}.html")),
            format!("<p>{i}</p>"),
        )
        .unwrap();
    }
    for i in 0..files {
        fs::write(
            root.join(format!("bulk/page-{i}.html")),
            format!("<p>page {i}</p>"),
        )
        .unwrap();
    }
    fs::write(outside.join("secret.txt"), "outside").unwrap();
    let guard = GuardDir::open(&data).unwrap();
    guard
        .seal(
            &root,
            &SealOptions {
                writables: vec!["uploads/**".into()],
                ..Default::default()
            },
        )
        .unwrap();

    // On a 4.19 kernel, the watcher's thread too (it is started below).
    common::as_the_kernel_says();
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (r, s, d) = (root.clone(), stop.clone(), data.clone());
    let handle = std::thread::spawn(move || {
        let guard = GuardDir::open(&d).unwrap();
        watch(
            &guard,
            &[r],
            &WatchOptions {
                force_inotify: inotify,
            },
            tx,
            s,
        )
        .unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Message::Notice(Notice::Started {
                backend, fallback, ..
            })) => {
                // Without fanotify directory handles (before 5.9), inotify
                // takes over, and says why.
                let old = common::old_kernel();
                assert_eq!(
                    backend == Backend::Inotify,
                    inotify || old,
                    "the backend asked for"
                );
                if old && !inotify {
                    let why = fallback.expect("the reason for inotify");
                    assert!(why.contains("directory handles"), "{why}");
                }
                break;
            }
            _ => assert!(Instant::now() < deadline, "the watcher did not start"),
        }
    }
    Some(Watching {
        _tmp: tmp,
        data,
        root,
        outside,
        stop,
        handle: Some(handle),
        rx,
    })
}

/// Poll until `cond` holds; fail with `what` after 10 s.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    eventually_within(Duration::from_secs(10), what, cond)
}

fn eventually_within(limit: Duration, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn content(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn reports(w: &Watching) -> Vec<shouwang_guard::watch::Report> {
    w.rx.try_iter()
        .filter_map(|m| {
            if let Message::Report(r) = m {
                Some(r)
            } else {
                None
            }
        })
        .collect()
}

fn defacement_is_restored(w: Watching) {
    fs::write(w.root.join("index.html"), "<html>HACKED BY X</html>").unwrap();
    eventually("index.html restored", || {
        content(&w.root.join("index.html")).as_deref() == Some("<html>县政府门户网站</html>")
    });
    std::thread::sleep(Duration::from_millis(100));
    let r = reports(&w);
    let restored = r
        .iter()
        .find(|r| r.path == "index.html")
        .expect("a report for index.html");
    assert!(
        matches!(restored.outcome, Ok(Outcome::Restored { .. })),
        "{:?}",
        restored.outcome
    );
    assert!(restored.latency < Duration::from_secs(1));
}

fn atomic_replace_is_undone(w: Watching) {
    // Write a temporary file, rename it over the page. The temporary is
    // staged outside the root: inside, the guard quarantines it before the
    // rename can happen, which is the guard working but not this scenario.
    fs::write(w.outside.join(".tmp-evil"), "<p>赌博</p>").unwrap();
    fs::rename(w.outside.join(".tmp-evil"), w.root.join("news/2026/a.html")).unwrap();
    eventually("a.html restored", || {
        content(&w.root.join("news/2026/a.html")).as_deref() == Some("<p>通知</p>")
    });
}

fn new_file_and_new_directory_are_quarantined(w: Watching) {
    fs::write(w.root.join("shell.php"), "<?php eval($_POST[1]);").unwrap();
    fs::create_dir(w.root.join("news/2026/x")).unwrap();
    // The guard may already have moved the new directory away, which makes
    // this write fail: that is the guard winning the race, not an error.
    let _ = fs::write(w.root.join("news/2026/x/dark.html"), "<a href=//casino>");
    eventually("shell.php quarantined", || {
        !w.root.join("shell.php").exists()
    });
    eventually("new directory quarantined", || {
        !w.root.join("news/2026/x").exists()
    });
}

fn moved_in_directory_is_quarantined(w: Watching) {
    let staged = w.outside.join("payload");
    fs::create_dir(&staged).unwrap();
    fs::write(staged.join("index.php"), "<?php system($_GET[c]);").unwrap();
    fs::rename(&staged, w.root.join("payload")).unwrap();
    eventually("moved-in directory quarantined", || {
        !w.root.join("payload").exists()
    });
}

fn deleted_and_renamed_directories_come_back(w: Watching) {
    fs::rename(w.root.join("news"), w.root.join("news-old")).unwrap();
    eventually("news back", || {
        content(&w.root.join("news/2026/b.html")).as_deref() == Some("<p>公告</p>")
    });
    eventually("renamed copy quarantined", || {
        !w.root.join("news-old").exists()
    });
    fs::remove_dir_all(w.root.join("news")).unwrap_or(());
    eventually("news back after rm -r", || {
        content(&w.root.join("news/2026/a.html")).as_deref() == Some("<p>通知</p>")
    });
}

fn chmod_and_symlink_swap_are_undone(w: Watching) {
    fs::set_permissions(w.root.join("index.html"), fs::Permissions::from_mode(0o777)).unwrap();
    eventually("mode restored", || {
        fs::metadata(w.root.join("index.html"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
            == 0o644
    });
    // Swap the page for a symlink in one step, as an attacker would.
    symlink(w.outside.join("secret.txt"), w.outside.join("swap")).unwrap();
    fs::rename(w.outside.join("swap"), w.root.join("news/2026/b.html")).unwrap();
    eventually("symlink replaced by the page", || {
        fs::symlink_metadata(w.root.join("news/2026/b.html")).is_ok_and(|m| m.is_file())
    });
    assert_eq!(
        content(&w.outside.join("secret.txt")).as_deref(),
        Some("outside")
    );
}

fn hard_link_to_outside_is_removed_without_touching_the_target(w: Watching) {
    fs::hard_link(w.outside.join("secret.txt"), w.root.join("leak.txt")).unwrap();
    eventually("hard link quarantined", || {
        !w.root.join("leak.txt").exists()
    });
    assert_eq!(
        content(&w.outside.join("secret.txt")).as_deref(),
        Some("outside")
    );
}

fn writable_area_is_recorded_not_touched(w: Watching) {
    fs::write(w.root.join("uploads/photo.jpg"), "jpeg").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        seen = reports(&w).iter().any(|r| {
            r.path == "uploads/photo.jpg" && matches!(r.outcome, Ok(Outcome::WritableNew))
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "a new upload is reported");
    assert!(w.root.join("uploads/photo.jpg").exists());
}

/// Ransomware-like: ten thousand pages rewritten as fast as one thread
/// can. The event queue may overflow on the way; then a full repair runs.
fn mass_change_is_all_undone(w: Watching) {
    let started = Instant::now();
    for i in 0..MASS {
        fs::write(w.root.join(format!("bulk/page-{i}.html")), "encrypted!").unwrap();
    }
    let written = started.elapsed();
    eventually_within(Duration::from_secs(60), "all pages restored", || {
        (0..MASS).all(|i| {
            content(&w.root.join(format!("bulk/page-{i}.html"))).as_deref()
                == Some(&*format!("<p>page {i}</p>"))
        })
    });
    let overflowed =
        w.rx.try_iter()
            .any(|m| matches!(m, Message::Notice(Notice::Overflow { .. })));
    eprintln!(
        "{MASS} files written in {written:?}, all restored {:?} after the first change (queue overflow: {overflowed})",
        started.elapsed()
    );
}

const MASS: usize = 10_000;
/// Pages in news/2026, the directory the symlink race swaps.
const NEWS: usize = 100;

fn a_displaced_root_is_reported_and_rebuilt(w: Watching) {
    let moved = w.outside.join("moved-www");
    fs::rename(&w.root, &moved).unwrap();
    symlink(&w.outside, &w.root).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut told = false;
    while !told {
        assert!(
            Instant::now() < deadline,
            "no notice about the displaced root"
        );
        if let Ok(Message::Notice(Notice::Error(e))) = w.rx.recv_timeout(Duration::from_millis(100))
        {
            told = e.contains("moved away or replaced by a symlink");
        }
    }
    assert!(
        !w.outside.join("index.html").exists(),
        "nothing restored through the symlink"
    );
    assert_eq!(
        content(&w.outside.join("secret.txt")).as_deref(),
        Some("outside")
    );
    // A real directory back at the path is rebuilt from the baseline.
    fs::remove_file(&w.root).unwrap();
    fs::create_dir(&w.root).unwrap();
    eventually("site rebuilt", || {
        content(&w.root.join("news/2026/a.html")).as_deref() == Some("<p>通知</p>")
    });
}

/// A busy directory elsewhere on the filesystem (logs, a database) stops
/// costing the watcher anything once it is ignored; a directory that was
/// busy outside and is then moved in is still handled like any other.
fn busy_directories_outside_are_ignored_but_not_once_moved_in(w: Watching) {
    let busy = w.outside.join("busy");
    let busy2 = w.outside.join("busy2");
    for d in [&busy, &busy2] {
        fs::create_dir(d).unwrap();
        for i in 0..2_000 {
            fs::write(d.join(format!("{}.log", i % 10)), format!("line {i}\n")).unwrap();
        }
    }
    // Moved into the root: an intruder, quarantined.
    fs::rename(&busy, w.root.join("busy")).unwrap();
    eventually("moved-in busy directory quarantined", || {
        !w.root.join("busy").exists()
    });
    // Moved into the writable area: new files in it are still recorded.
    fs::rename(&busy2, w.root.join("uploads/busy2")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fs::write(
        w.root.join("uploads/busy2/shell.php"),
        "<?php eval($_POST[1]);",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        seen = reports(&w)
            .iter()
            .any(|r| r.path == "uploads/busy2/shell.php");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "a new file in a moved-in busy directory is reported");
    // And the site is still guarded.
    fs::write(w.root.join("index.html"), "HACKED").unwrap();
    eventually("index.html restored", || {
        content(&w.root.join("index.html")).is_some_and(|c| c != "HACKED")
    });
}

/// The differences a full check (every file hashed) finds now.
fn differences(w: &Watching) -> Vec<String> {
    let guard = GuardDir::open(&w.data).unwrap();
    let b = guard.baseline(&w.root).unwrap();
    b.check()
        .unwrap()
        .changes
        .iter()
        .filter(|c| c.kind != shouwang_guard::ChangeKind::WritableAdded)
        .map(|c| c.path_display())
        .collect()
}

fn state(w: &Watching) -> Option<RootState> {
    let guard = GuardDir::open(&w.data).unwrap();
    RootState::read(&guard.baseline(&w.root).unwrap().dir)
}

/// The state is converged, and written after `after`.
fn converged_since(w: &Watching, after: chrono::DateTime<chrono::Utc>) -> bool {
    state(w).is_some_and(|s| s.checked_at > after && s.condition == Condition::Converged)
}

/// `mv -T news/2026 news/2026.x$i; ln -sfn VICTIM news/2026; echo D >
/// news/2026/n1.html; rm news/2026`, in a loop: restores race the
/// attacker, some fail (the directory is a symlink when they run), and
/// events are lost. Once the attacker stops, the root converges.
fn a_symlink_race_converges_to_the_baseline_once_it_stops(w: Watching) {
    let victim = w.outside.join("victim");
    fs::create_dir(&victim).unwrap();
    let news = w.root.join("news");
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(3) {
        // Each step is a process in the shell loop: a millisecond apart.
        let pause = || std::thread::sleep(Duration::from_millis(1));
        let _ = fs::rename(news.join("2026"), news.join(format!("2026.x{i}")));
        pause();
        let _ = symlink(&victim, news.join("2026"));
        pause();
        let _ = fs::write(news.join("2026/n1.html"), "D");
        pause();
        let _ = fs::remove_file(news.join("2026"));
        pause();
        i += 1;
    }
    let stopped = chrono::Utc::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = differences(&w);
        if d.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} path(s) still differ 20 s after the race stopped, first {:?}",
            d.len(),
            &d[..d.len().min(4)]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eventually_within(Duration::from_secs(20), "the state says converged", || {
        converged_since(&w, stopped)
    });
    assert!(differences(&w).is_empty(), "{:?}", differences(&w));
    eprintln!("{i} rounds of the race");
}

/// The first object of `pack` that holds `needle`: flip a byte of it.
fn flip_in_packs(data: &Path, needle: &[u8]) -> (PathBuf, usize) {
    let roots = data.join("guard/roots");
    for root in fs::read_dir(roots).unwrap() {
        let packs = root.unwrap().path().join("objects/packs");
        for p in fs::read_dir(packs).into_iter().flatten() {
            let p = p.unwrap().path();
            if p.extension().is_some_and(|e| e == "pack") {
                let mut bytes = fs::read(&p).unwrap();
                if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                    bytes[at] ^= 0xff;
                    fs::write(&p, bytes).unwrap();
                    return (p, at);
                }
            }
        }
    }
    panic!("no pack holds the content");
}

/// A restore that fails because the sealed copy is corrupt is tried again
/// with backoff: once the pack is repaired, the defaced page comes back
/// without any new event on it.
fn a_failed_restore_is_retried_until_it_succeeds(w: Watching) {
    let page = "<html>县政府门户网站</html>".as_bytes();
    let (pack, at) = flip_in_packs(&w.data, page);
    fs::write(w.root.join("index.html"), "<html>HACKED BY X</html>").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no restore-failed report");
        if let Ok(Message::Report(r)) = w.rx.recv_timeout(Duration::from_millis(100))
            && r.path == "index.html"
        {
            assert!(r.outcome.is_err(), "{:?}", r.outcome);
            break;
        }
    }
    eventually("the state says index.html differs", || {
        state(&w).is_some_and(|s| {
            s.condition == Condition::Differs && s.oldest_path.as_deref() == Some("index.html")
        })
    });
    // The operator puts the pack back from a backup.
    let mut bytes = fs::read(&pack).unwrap();
    bytes[at] ^= 0xff;
    fs::write(&pack, bytes).unwrap();
    let repaired = chrono::Utc::now();
    eventually("index.html restored", || {
        content(&w.root.join("index.html")).as_deref() == Some("<html>县政府门户网站</html>")
    });
    eventually("the state says converged", || converged_since(&w, repaired));
}

macro_rules! both {
    ($($name:ident: $files:expr),* $(,)?) => {
        mod fanotify {
            $( #[test] fn $name() { if let Some(w) = super::start(false, $files) { super::$name(w) } } )*
        }
        mod inotify {
            $( #[test] fn $name() { if let Some(w) = super::start(true, $files) { super::$name(w) } } )*
        }
    };
}

both!(
    defacement_is_restored: 0,
    atomic_replace_is_undone: 0,
    new_file_and_new_directory_are_quarantined: 0,
    moved_in_directory_is_quarantined: 0,
    deleted_and_renamed_directories_come_back: 0,
    chmod_and_symlink_swap_are_undone: 0,
    hard_link_to_outside_is_removed_without_touching_the_target: 0,
    writable_area_is_recorded_not_touched: 0,
    mass_change_is_all_undone: 10_000,
    a_displaced_root_is_reported_and_rebuilt: 0,
    busy_directories_outside_are_ignored_but_not_once_moved_in: 0,
    a_symlink_race_converges_to_the_baseline_once_it_stops: 0,
    a_failed_restore_is_retried_until_it_succeeds: 0,
);

/// Restores never wait on the quarantine. A 2 GiB intruder (sparse, and
/// over the 1 GiB budget, so what is kept of it is its hash and first
/// bytes, which takes reading all of it) leaves the web root at once; a
/// page defaced meanwhile is back before the intruder's record is written.
/// Had the quarantine run on the restore path, the record would come first.
#[test]
fn a_restore_never_waits_behind_a_large_intruder() {
    let Some(w) = start(!is_root(), 0) else {
        return;
    };
    let big = w.outside.join("big.bin");
    fs::File::create(&big).unwrap().set_len(2 << 30).unwrap();
    // Moved in whole, so the watcher never sees it half-made.
    fs::rename(&big, w.root.join("big.bin")).unwrap();
    // Generous limits: what is asserted is the order (the page back before
    // the intruder's record), not how fast a loaded machine gets there.
    eventually_within(
        Duration::from_secs(60),
        "the intruder out of the web root",
        || !w.root.join("big.bin").exists(),
    );
    fs::write(w.root.join("index.html"), "<html>HACKED BY X</html>").unwrap();
    eventually_within(Duration::from_secs(60), "index.html restored", || {
        content(&w.root.join("index.html")).as_deref() == Some("<html>县政府门户网站</html>")
    });
    let record = || {
        let b = GuardDir::open(&w.data).unwrap().baseline(&w.root).unwrap();
        b.quarantine
            .list()
            .unwrap()
            .into_iter()
            .find(|r| r.path == "big.bin")
    };
    assert!(
        record().is_none(),
        "the restore waited for the intruder's record"
    );
    eventually_within(Duration::from_secs(180), "the intruder's record", || {
        record().is_some()
    });
    let r = record().unwrap();
    assert!(!r.kept, "{r:?}");
    assert_eq!(r.size, 2 << 30);
    assert!(r.blake3.is_some(), "{r:?}");
    assert_eq!(r.first_bytes, Some("00".repeat(256)), "{r:?}");
}

/// Every test of this file again as on a 4.19 kernel: no openat2 (restores
/// walk paths component by component) and no fanotify directory handles,
/// so each `fanotify::` test runs on the inotify it falls back to (the
/// `inotify::` twins would run the same code again, and are left out).
#[test]
fn every_test_here_passes_again_on_a_kernel_without_openat2_or_fanotify_handles() {
    let passed = common::rerun_as_on_an_old_kernel(
        "every_test_here_passes_again_on_a_kernel_without_openat2_or_fanotify_handles",
        &["inotify::"],
    );
    assert!(passed >= 13, "{passed} passed");
}
