//! Crafted root file systems in temp dirs, described as data.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use shouwang_host::{Liveness, Root};

/// A file system to build: files with contents, their modes, directories,
/// links, file ages and an rpm database.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Octal modes, e.g. "0640", for files or dirs listed anywhere here.
    #[serde(default)]
    pub modes: BTreeMap<String, String>,
    #[serde(default)]
    pub dirs: Vec<String>,
    /// link path → target (as written in the link).
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// File → age in days (its modification time is set that far back).
    #[serde(default)]
    pub age_days: BTreeMap<String, u64>,
    /// Binary files: path → (offset, hex bytes) written at that offset
    /// (sparse files such as lastlog).
    #[serde(default)]
    pub binary: BTreeMap<String, (u64, String)>,
    /// Packages (name, version, release) in /var/lib/rpm/rpmdb.sqlite.
    #[serde(default)]
    pub rpm: Vec<(String, String, String)>,
    /// Do not lay down the minimal base system first.
    #[serde(default)]
    pub bare: bool,
}

/// The uid and gid files created by this test process get: root in CI
/// containers, someone else on a developer's machine. The base system
/// names that uid `root`, so owner checks see what they would on a real
/// system.
fn my_ids(dir: &Path) -> (u32, u32) {
    let probe = dir.join(".ids");
    std::fs::write(&probe, "").unwrap();
    let m = std::fs::metadata(&probe).unwrap();
    std::fs::remove_file(&probe).unwrap();
    (m.uid(), m.gid())
}

pub fn base_files(dir: &Path) -> BTreeMap<String, String> {
    let (uid, gid) = my_ids(dir);
    let mut f = BTreeMap::new();
    f.insert(
        "/etc/passwd".into(),
        format!(
            "root:x:{uid}:{gid}:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
        ),
    );
    f.insert(
        "/etc/group".into(),
        format!("root:x:{gid}:\ndaemon:x:1:\nshadow:x:42:\nalice:x:1000:\n"),
    );
    f.insert(
        "/etc/shadow".into(),
        "root:$6$salt$hash:19000:1:90:7:30::\ndaemon:*:19000:0:99999:7:::\nalice:$y$j9T$salt$hash:19000:1:90:7:30::\n".into(),
    );
    f.insert("/etc/hostname".into(), "fixture-host\n".into());
    f
}

pub fn set_age(path: &Path, days: u64) {
    let when = SystemTime::now() - Duration::from_secs(days * 86_400 + 60);
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap();
    file.set_modified(when).unwrap();
}

impl Fixture {
    /// Build the fixture in `dir`; `base` (if any) first, then this.
    pub fn build(&self, dir: &Path, base: Option<&Fixture>) {
        let bare = self.bare || base.is_some_and(|b| b.bare);
        if !bare {
            for (p, text) in base_files(dir) {
                write(dir, &p, &text);
            }
        }
        for fx in base.into_iter().chain(std::iter::once(self)) {
            for d in &fx.dirs {
                std::fs::create_dir_all(host(dir, d)).unwrap();
            }
            for (p, text) in &fx.files {
                write(dir, p, text);
            }
            for (p, (offset, hex)) in &fx.binary {
                use std::io::{Seek, SeekFrom, Write};
                let h = host(dir, p);
                std::fs::create_dir_all(h.parent().unwrap()).unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&h)
                    .unwrap();
                f.seek(SeekFrom::Start(*offset)).unwrap();
                f.write_all(&bytes).unwrap();
            }
            for (p, target) in &fx.links {
                let h = host(dir, p);
                std::fs::create_dir_all(h.parent().unwrap()).unwrap();
                let _ = std::fs::remove_file(&h);
                std::os::unix::fs::symlink(target, &h).unwrap();
            }
            if !fx.rpm.is_empty() {
                let db = host(dir, "/var/lib/rpm/rpmdb.sqlite");
                std::fs::create_dir_all(db.parent().unwrap()).unwrap();
                let pk: Vec<(&str, &str, &str)> = fx
                    .rpm
                    .iter()
                    .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                    .collect();
                shouwang_host::rpmdb::write_sqlite(&db, &pk).unwrap();
            }
        }
        for fx in base.into_iter().chain(std::iter::once(self)) {
            for (p, m) in &fx.modes {
                let mode = u32::from_str_radix(m, 8).unwrap();
                std::fs::set_permissions(host(dir, p), std::fs::Permissions::from_mode(mode))
                    .unwrap();
            }
            for (p, days) in &fx.age_days {
                set_age(&host(dir, p), *days);
            }
        }
    }
}

pub fn host(dir: &Path, p: &str) -> std::path::PathBuf {
    dir.join(p.trim_start_matches('/'))
}

pub fn write(dir: &Path, p: &str, text: &str) {
    let h = host(dir, p);
    std::fs::create_dir_all(h.parent().unwrap()).unwrap();
    std::fs::write(h, text).unwrap();
}

pub fn root(dir: &Path, live: bool) -> Root {
    Root::with_liveness(
        dir,
        if live {
            Liveness::Live
        } else {
            Liveness::Offline
        },
    )
}
