//! From a change on disk to the sealed content back on disk: p50 and p99
//! at 1 change per second and at 1,000 per second (modify, delete, create
//! in turn), for `shouwang guard`'s watcher and, on the same tree in the
//! same run, for the do-it-yourself peer many small sites use: an
//! `inotifywait -m -r` loop that copies the file back from a backup.
//!
//!   cargo bench -p shouwang-guard --bench latency [-- SLOW FAST]
//!
//! SLOW changes at 1/s (default 20) and FAST changes at 1,000/s (default
//! 10,000). The restore is observed with an inotify watch of our own: the
//! moment the restored name reappears (or the intruder leaves). The last
//! line is "ratio: X" = the peer's p50 / ours at 1 change/s (at 1,000/s the
//! peer falls seconds behind; that ratio is printed on the line before).

use std::collections::HashMap;
use std::fs;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use shouwang_guard::watch::{Message, Notice, WatchOptions, watch};
use shouwang_guard::{GuardDir, SealOptions};

const DIRS: usize = 50;

fn page(i: usize) -> String {
    format!("<html><body>栏目页面 {i}</body></html>\n")
}

fn rel(i: usize) -> PathBuf {
    PathBuf::from(format!("d{:02}/p{i}.html", i % DIRS))
}

fn make_tree(root: &Path, n: usize) {
    for d in 0..DIRS {
        fs::create_dir_all(root.join(format!("d{d:02}"))).unwrap();
    }
    for i in 0..n {
        fs::write(root.join(rel(i)), page(i)).unwrap();
    }
}

/// Watches the tree and timestamps, per path, when it was put back.
struct Observer {
    restored: Arc<Mutex<HashMap<PathBuf, Instant>>>,
    stop: Arc<AtomicBool>,
}

impl Observer {
    fn start(root: &Path) -> Observer {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).unwrap();
        let mut dirs = HashMap::new();
        for d in 0..DIRS {
            let p = root.join(format!("d{d:02}"));
            let wd = inotify::add_watch(
                &fd,
                &p,
                WatchFlags::MOVED_TO | WatchFlags::MOVED_FROM | WatchFlags::CLOSE_WRITE,
            )
            .unwrap();
            dirs.insert(wd, PathBuf::from(format!("d{d:02}")));
        }
        let restored = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (restored.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![MaybeUninit::uninit(); 1 << 20];
            let mut reader = inotify::Reader::new(&fd, &mut buf);
            while !s.load(Ordering::Relaxed) {
                match reader.next() {
                    Ok(ev) => {
                        let now = Instant::now();
                        let Some(dir) = dirs.get(&ev.wd()) else {
                            continue;
                        };
                        let Some(name) = ev.file_name() else { continue };
                        let name = name.to_bytes();
                        // Renames into place (ours and the peer's cp land
                        // as CLOSE_WRITE or MOVED_TO) and intruders leaving.
                        if ev.events().intersects(
                            ReadFlags::MOVED_TO | ReadFlags::MOVED_FROM | ReadFlags::CLOSE_WRITE,
                        ) {
                            let p = dir.join(std::ffi::OsStr::from_bytes(name));
                            r.lock().unwrap().insert(p, now);
                        }
                    }
                    Err(rustix::io::Errno::AGAIN) => std::thread::sleep(Duration::from_micros(100)),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        Observer { restored, stop }
    }

    fn clear(&self) {
        self.restored.lock().unwrap().clear();
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy)]
enum Change {
    Modify,
    Delete,
    Create,
}

/// Make `count` changes at `per_sec`, then wait for every path to be back
/// as sealed; return the latencies.
fn run(
    root: &Path,
    obs: &Observer,
    n_files: usize,
    count: usize,
    per_sec: f64,
    offset: usize,
) -> Vec<Duration> {
    obs.clear();
    let interval = Duration::from_secs_f64(1.0 / per_sec);
    let mut changes = Vec::with_capacity(count);
    let start = Instant::now();
    for k in 0..count {
        let due = start + interval * k as u32;
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let kind = [Change::Modify, Change::Delete, Change::Create][k % 3];
        let i = (offset + k) % n_files;
        let (p, t) = match kind {
            Change::Modify => {
                let t = Instant::now();
                fs::write(root.join(rel(i)), "<html>HACKED</html>").unwrap();
                (rel(i), t)
            }
            Change::Delete => {
                let t = Instant::now();
                fs::remove_file(root.join(rel(i))).unwrap();
                (rel(i), t)
            }
            Change::Create => {
                let p = PathBuf::from(format!("d{:02}/evil-{offset}-{k}.php", i % DIRS));
                let t = Instant::now();
                fs::write(root.join(&p), "<?php eval($_POST[1]);").unwrap();
                (p, t)
            }
        };
        changes.push((p, t, kind, i));
    }
    // Wait until everything is back, then read the observer's timestamps.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lat = Vec::new();
    for (p, t, kind, i) in &changes {
        let full = root.join(p);
        loop {
            let done = match kind {
                Change::Create => !full.exists(),
                _ => fs::read_to_string(&full).ok().as_deref() == Some(page(*i).as_str()),
            };
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} was never restored",
                p.display()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // The restore event after the change; if the observer missed it
        // (queue overflow), count the time we saw it done, which is later.
        let seen = obs
            .restored
            .lock()
            .unwrap()
            .get(p)
            .copied()
            .filter(|s| s > t)
            .unwrap_or_else(Instant::now);
        lat.push(seen - *t);
    }
    lat
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, v: &mut [Duration]) -> Duration {
    let (p50, p99) = (pct(v, 0.50), pct(v, 0.99));
    println!(
        "{name:<34} n={:<6} p50 {:>9.3} ms  p99 {:>9.3} ms  max {:>9.3} ms",
        v.len(),
        ms(p50),
        ms(p99),
        ms(pct(v, 1.0))
    );
    p50
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The peer: inotifywait + cp from a backup copy, as a shell loop.
fn start_peer(root: &Path, backup: &Path) -> Option<Child> {
    if Command::new("inotifywait")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return None;
    }
    let script = format!(
        r#"inotifywait -m -r -q -e close_write,delete,moved_to,create --format '%e %w%f' '{root}' | while read -r ev path; do
  rel="${{path#{root}/}}"
  if [ -f '{backup}'/"$rel" ]; then
    cmp -s '{backup}'/"$rel" "$path" || cp -p '{backup}'/"$rel" "$path"
  elif [ -e "$path" ] && [ ! -d "$path" ]; then
    mv "$path" '{backup}'.quarantine/ 2>/dev/null
  fi
done"#,
        root = root.display(),
        backup = backup.display()
    );
    fs::create_dir_all(format!("{}.quarantine", backup.display())).unwrap();
    let child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_secs(2)); // inotifywait sets up its watches
    Some(child)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let slow = args.first().copied().unwrap_or(20);
    let fast = args.get(1).copied().unwrap_or(10_000);
    let n_files = fast.max(1000);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("www");
    let data = tmp.path().join("data");
    make_tree(&root, n_files);
    let guard = GuardDir::open(&data).unwrap();
    guard.seal(&root, &SealOptions::default()).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (d, r, s) = (data.clone(), root.clone(), stop.clone());
    let watcher = std::thread::spawn(move || {
        let g = GuardDir::open(&d).unwrap();
        watch(&g, &[r], &WatchOptions::default(), tx, s).unwrap()
    });
    let backend = loop {
        if let Ok(Message::Notice(Notice::Started { backend, .. })) = rx.recv() {
            break backend;
        }
    };
    std::thread::spawn(move || for _ in rx {});
    let obs = Observer::start(&root);
    println!(
        "tree: {n_files} files in {DIRS} directories; shouwang guard watching with {backend:?}"
    );
    let mut a = run(&root, &obs, n_files, slow, 1.0, 0);
    let ours_slow = report("shouwang guard, 1 change/s", &mut a);
    let mut b = run(&root, &obs, n_files, fast, 1000.0, slow);
    let ours = report("shouwang guard, 1,000 changes/s", &mut b);
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();

    // The peer, on the same tree, restored from a plain copy.
    let backup = tmp.path().join("backup");
    make_tree(&backup, n_files);
    let Some(mut peer) = start_peer(&root, &backup) else {
        println!("inotifywait + cp peer: not measured (apt-get install inotify-tools)");
        println!("ratio: n/a");
        return;
    };
    let mut c = run(&root, &obs, n_files, slow, 1.0, 2 * fast);
    let theirs_slow = report("inotifywait + cp, 1 change/s", &mut c);
    let mut e = run(&root, &obs, n_files, fast, 1000.0, 3 * fast);
    let theirs = report("inotifywait + cp, 1,000 changes/s", &mut e);
    let _ = peer.kill();
    let _ = Command::new("pkill")
        .arg("-f")
        .arg(format!(
            "inotifywait -m -r -q -e close_write,delete,moved_to,create --format %e %w%f {}",
            root.display()
        ))
        .status();
    println!(
        "p50 ratio at 1,000 changes/s: {:.0}",
        ms(theirs) / ms(ours).max(0.001)
    );
    println!("ratio: {:.2}", ms(theirs_slow) / ms(ours_slow).max(0.001));
}
