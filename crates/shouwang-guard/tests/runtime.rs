//! The guard as `up` runs it (`runtime::run`, with a real store): what is
//! wrong with a root as a whole (its path displaced, its baseline
//! tampered with) is a stored event at the highest severity, and never
//! stops the guarding of the other roots.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shouwang_guard::state::{Condition, RootState};
use shouwang_guard::watch::WatchOptions;
use shouwang_guard::{GuardConfig, GuardDir, GuardError, SealOptions};
use shouwang_model::Severity;
use shouwang_store::{AuditKey, EventFilter, SqliteStore, Store};

const PAGE: &str = "<html>县政府门户网站</html>";

struct Running {
    tmp: tempfile::TempDir,
    store: Arc<dyn Store>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<(), GuardError>>>,
}

impl Running {
    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// Stop the guard and return how it ended.
    fn stop(mut self) -> Result<(), GuardError> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }

    fn events(&self, kind: &str) -> Vec<shouwang_model::Event> {
        self.store
            .events(&EventFilter {
                kind_prefix: Some(kind.into()),
                ..Default::default()
            })
            .unwrap()
    }

    fn state(&self, root: &Path) -> Option<RootState> {
        let g = GuardDir::open(&self.data()).unwrap();
        RootState::read(&g.dir_of(root).unwrap())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn site(tmp: &Path, name: &str) -> PathBuf {
    let root = tmp.join(name);
    fs::create_dir_all(root.join("news")).unwrap();
    fs::write(root.join("index.html"), PAGE).unwrap();
    fs::write(root.join("news/a.html"), "<p>通知</p>").unwrap();
    root
}

/// Seal `names` as web roots, let `before` change things, then run the
/// guard on them as `up` does.
fn run(names: &[&str], before: impl FnOnce(&Path, &[PathBuf])) -> (Running, Vec<PathBuf>) {
    run_with(names, GuardConfig::default(), before)
}

fn run_with(
    names: &[&str],
    config: GuardConfig,
    before: impl FnOnce(&Path, &[PathBuf]),
) -> (Running, Vec<PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let guard = GuardDir::open(&data).unwrap();
    let roots: Vec<PathBuf> = names.iter().map(|n| site(tmp.path(), n)).collect();
    for r in &roots {
        guard.seal(r, &SealOptions::default()).unwrap();
    }
    before(&data, &roots);
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&tmp.path().join("t.db"), AuditKey::from_bytes([7; 32])).unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let config = GuardConfig {
        roots: roots.clone(),
        ..config
    };
    let (s, st) = (store.clone(), stop.clone());
    let handle = std::thread::spawn(move || {
        shouwang_guard::runtime::run(&data, &config, &WatchOptions::default(), s, st, |_| {})
    });
    let running = Running {
        tmp,
        store,
        stop,
        handle: Some(handle),
    };
    (running, roots)
}

fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_root_swapped_for_a_symlink_to_a_defaced_tree_is_a_critical_event() {
    let (g, roots) = run(&["www"], |_, _| {});
    let www = &roots[0];
    eventually("the watcher has checked the root", || {
        g.state(www)
            .is_some_and(|s| s.condition == Condition::Converged)
    });
    // mv www www.x; ln -s evilroot www
    let evil = g.tmp.path().join("evilroot");
    fs::create_dir(&evil).unwrap();
    fs::write(evil.join("index.html"), "<html>HACKED BY X</html>").unwrap();
    fs::rename(www, g.tmp.path().join("www.x")).unwrap();
    symlink(&evil, www).unwrap();
    eventually("a guard.root-displaced event", || {
        !g.events("guard.root-displaced").is_empty()
    });
    let ev = &g.events("guard.root-displaced")[0].event;
    assert_eq!(ev.severity, Severity::Critical);
    assert_eq!(ev.asset.locator, www.display().to_string());
    assert_eq!(
        ev.details["symlink_target"],
        evil.display().to_string(),
        "{}",
        ev.details
    );
    eventually("the state says displaced", || {
        g.state(www)
            .is_some_and(|s| s.condition == Condition::Displaced)
    });
    // Nothing was restored through the symlink.
    assert_eq!(
        fs::read_to_string(evil.join("index.html")).unwrap(),
        "<html>HACKED BY X</html>"
    );
    assert!(g.stop().is_ok());
}

/// A root displaced while nobody watched is an event as soon as the guard
/// starts (it used to be "not sealed", which stopped `up`).
#[test]
fn a_root_displaced_before_the_start_is_an_event_and_the_guard_starts() {
    let (g, roots) = run(&["www", "other"], |_, roots| {
        let www = &roots[0];
        let evil = www.with_file_name("evilroot");
        fs::create_dir(&evil).unwrap();
        fs::rename(www, www.with_file_name("www.x")).unwrap();
        symlink(&evil, www).unwrap();
    });
    eventually("a guard.root-displaced event", || {
        !g.events("guard.root-displaced").is_empty()
    });
    // The other root is guarded.
    fs::write(roots[1].join("index.html"), "HACKED").unwrap();
    eventually("the other root's page restored", || {
        fs::read_to_string(roots[1].join("index.html")).is_ok_and(|c| c == PAGE)
    });
    assert!(g.stop().is_ok());
}

#[test]
fn a_manifest_with_a_flipped_byte_is_a_critical_event_and_the_other_roots_are_still_guarded() {
    let (g, roots) = run(&["www", "other"], |data, roots| {
        let guard = GuardDir::open(data).unwrap();
        let manifest = guard.dir_of(&roots[1]).unwrap().join("manifest");
        let mut bytes = fs::read(&manifest).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        fs::write(&manifest, bytes).unwrap();
    });
    eventually("a guard.baseline-tampered event", || {
        !g.events("guard.baseline-tampered").is_empty()
    });
    let ev = &g.events("guard.baseline-tampered")[0].event;
    assert_eq!(ev.severity, Severity::Critical);
    assert_eq!(ev.asset.locator, roots[1].display().to_string());
    eventually("the broken root's state says so", || {
        g.state(&roots[1])
            .is_some_and(|s| s.condition == Condition::BaselineBroken)
    });
    // The root whose baseline is sound is still guarded.
    fs::write(roots[0].join("index.html"), "<html>HACKED BY X</html>").unwrap();
    eventually("the sound root's page restored", || {
        fs::read_to_string(roots[0].join("index.html")).is_ok_and(|c| c == PAGE)
    });
    assert!(g.stop().is_ok());
}

#[test]
fn each_item_dropped_from_a_full_quarantine_is_a_counted_event() {
    let config = GuardConfig {
        quarantine_max_items: 2,
        ..Default::default()
    };
    let (g, roots) = run_with(&["www"], config, |_, _| {});
    let www = &roots[0];
    eventually("the watcher has checked the root", || {
        g.state(www)
            .is_some_and(|s| s.condition == Condition::Converged)
    });
    for i in 0..4 {
        let p = www.join(format!("shell-{i}.php"));
        fs::write(&p, "<?php eval($_POST[1]);").unwrap();
        eventually("the shell quarantined", || !p.exists());
    }
    eventually("two drops stored", || {
        g.events("guard.quarantine-dropped").len() == 2
    });
    let mut totals: Vec<(String, i64)> = g
        .events("guard.quarantine-dropped")
        .iter()
        .map(|e| {
            (
                e.event.details["path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e.event.details["dropped_total"]
                    .as_i64()
                    .unwrap_or_default(),
            )
        })
        .collect();
    totals.sort();
    assert_eq!(
        totals,
        [
            ("shell-0.php".to_string(), 1),
            ("shell-1.php".to_string(), 2)
        ]
    );
    assert!(g.stop().is_ok());
}
