//! Comparing what is on disk with the baseline.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::GuardError;
use crate::manifest::{Entry, Kind};
use crate::scan::{self, Filters};

/// One way a path differs from its sealed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aspect {
    Content,
    Mode,
    Owner,
    Type,
    Target,
}

impl Aspect {
    /// The name events store (`guard.restored`'s `aspects`).
    pub fn name(self) -> &'static str {
        match self {
            Aspect::Content => "content",
            Aspect::Mode => "mode",
            Aspect::Owner => "owner",
            Aspect::Type => "type",
            Aspect::Target => "target",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Aspect::Content => "内容",
            Aspect::Mode => "权限",
            Aspect::Owner => "属主",
            Aspect::Type => "类型",
            Aspect::Target => "链接目标",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Not in the baseline: an intruder, to be quarantined.
    Added,
    /// In the baseline, gone: to be restored.
    Deleted,
    /// Differs in these aspects: to be restored.
    Modified { aspects: Vec<Aspect> },
    /// A new file in a writable area (uploads): recorded, left in place.
    WritableAdded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub before: Option<Entry>,
    pub after: Option<Entry>,
}

impl Change {
    pub fn path(&self) -> &[u8] {
        &self
            .before
            .as_ref()
            .or(self.after.as_ref())
            .expect("a change has a side")
            .path
    }

    pub fn path_display(&self) -> String {
        self.before
            .as_ref()
            .or(self.after.as_ref())
            .expect("a change has a side")
            .path_display()
    }
}

/// How `now` differs from `sealed` in the aspects that matter.
pub fn aspects(sealed: &Entry, now: &Entry) -> Vec<Aspect> {
    let mut a = Vec::new();
    if sealed.kind != now.kind {
        a.push(Aspect::Type);
        return a;
    }
    if sealed.kind == Kind::File && (sealed.hash != now.hash || sealed.size != now.size) {
        a.push(Aspect::Content);
    }
    if sealed.kind == Kind::Symlink && sealed.target != now.target {
        a.push(Aspect::Target);
    }
    // Symlink permission bits mean nothing on Linux.
    if sealed.kind != Kind::Symlink && sealed.mode != now.mode {
        a.push(Aspect::Mode);
    }
    if sealed.uid != now.uid || sealed.gid != now.gid {
        a.push(Aspect::Owner);
    }
    a
}

/// How a path compares with the baseline, given its sealed entry and what
/// is there now (`None`: absent). `None` when nothing that matters changed.
/// Writable areas (uploads) are never restored: a new file there is only
/// recorded, and their sealed files may change or go.
pub fn compare(
    sealed: Option<&Entry>,
    now: Option<&Entry>,
    filters: &Filters,
) -> Option<ChangeKind> {
    match (sealed, now) {
        (None, None) => None,
        (Some(a), None) => (!filters.is_writable(&a.path)).then_some(ChangeKind::Deleted),
        (None, Some(b)) => Some(if filters.is_writable(&b.path) {
            ChangeKind::WritableAdded
        } else {
            ChangeKind::Added
        }),
        (Some(a), Some(b)) => {
            if filters.is_writable(&a.path) {
                return None;
            }
            let aspects = aspects(a, b);
            (!aspects.is_empty()).then_some(ChangeKind::Modified { aspects })
        }
    }
}

/// The changes that turn `sealed` into `now` (both sorted by path), in
/// path order.
pub fn diff(sealed: &[Entry], now: &[Entry], filters: &Filters) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let (a, b) = match (sealed.get(i), now.get(j)) {
            (None, None) => break,
            (Some(a), Some(b)) if a.path == b.path => (Some(a), Some(b)),
            (Some(a), Some(b)) if a.path < b.path => (Some(a), None),
            (Some(a), None) => (Some(a), None),
            (_, b) => (None, b),
        };
        i += usize::from(a.is_some());
        j += usize::from(b.is_some());
        if let Some(kind) = compare(a, b, filters) {
            out.push(Change {
                kind,
                before: a.cloned(),
                after: b.cloned(),
            });
        }
    }
    out
}

/// Entries walked per batch by [`diff_tree`]: hashed together, then all
/// but the changed ones dropped (32,768 small entries are about 4 MB).
const TREE_BATCH: usize = 32 * 1024;

/// What [`diff_tree`] found: the changes, in path order, and the paths that
/// could not be read.
pub struct TreeDiff {
    pub changes: Vec<Change>,
    pub errors: Vec<(PathBuf, io::Error)>,
}

/// The changes that turn `sealed` (sorted by path) into the tree at `root`
/// now, in path order, and the paths that could not be read: the same as
/// [`diff`] against a [`scan`](crate::scan::scan) of the tree, without ever
/// holding the second list. The walk is hashed and compared a batch at a
/// time; only changed entries are kept, and a bit per sealed entry says
/// whether the walk met it (those it never met are gone).
pub fn diff_tree(sealed: &[Entry], root: &Path, filters: &Filters) -> Result<TreeDiff, GuardError> {
    diff_tree_by(sealed, root, filters, TREE_BATCH, false)
}

/// Like [`diff_tree`], reading only the files whose metadata (type, size,
/// mtime, mode, owner) differs from their sealed entry: a walk and a stat
/// per path. A change that kept the size and put the mtime back is not
/// seen by it; the watcher's events and [`diff_tree`] see those.
pub fn diff_tree_quick(
    sealed: &[Entry],
    root: &Path,
    filters: &Filters,
) -> Result<TreeDiff, GuardError> {
    diff_tree_by(sealed, root, filters, TREE_BATCH, true)
}

fn diff_tree_by(
    sealed: &[Entry],
    root: &Path,
    filters: &Filters,
    batch: usize,
    quick: bool,
) -> Result<TreeDiff, GuardError> {
    debug_assert!(sealed.windows(2).all(|w| w[0].path < w[1].path));
    let mut seen = vec![0u64; sealed.len().div_ceil(64)];
    let mut out = Vec::new();
    let known = quick.then_some(sealed);
    let known = scan::Known {
        entries: known,
        progress: None,
    };
    let errors = scan::scan_batches(root, filters, None, known, batch, |walked| {
        for now in walked {
            let before = match sealed.binary_search_by(|e| e.path.cmp(&now.path)) {
                Ok(i) => {
                    seen[i / 64] |= 1 << (i % 64);
                    Some(&sealed[i])
                }
                Err(_) => None,
            };
            if let Some(kind) = compare(before, Some(&now), filters) {
                out.push(Change {
                    kind,
                    before: before.cloned(),
                    after: Some(now),
                });
            }
        }
    })?;
    for (i, a) in sealed.iter().enumerate() {
        if seen[i / 64] & (1 << (i % 64)) != 0 {
            continue;
        }
        if let Some(kind) = compare(Some(a), None, filters) {
            out.push(Change {
                kind,
                before: Some(a.clone()),
                after: None,
            });
        }
    }
    out.sort_unstable_by(|a, b| a.path().cmp(b.path()));
    Ok(TreeDiff {
        changes: out,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown, symlink};

    use super::*;
    use crate::scan::scan;

    /// xorshift64*: the same trees and mutations on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.below(of.len())]
        }

        fn bytes(&mut self, max: usize) -> Vec<u8> {
            (0..self.below(max) + 1)
                .map(|_| self.next() as u8)
                .collect()
        }
    }

    const DIRS: &[&str] = &[
        "",
        "a",
        "a/b",
        "a/b/c",
        "d",
        "uploads",
        "uploads/2026",
        "cache",
    ];

    fn filters() -> Filters {
        Filters::new(&["cache/**".into(), "*.tmp".into()], &["uploads/**".into()]).unwrap()
    }

    fn build(root: &Path, rng: &mut Rng) {
        for d in DIRS {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for i in 0..40 {
            let p = root.join(rng.pick(DIRS)).join(format!("f{i}.html"));
            fs::write(&p, rng.bytes(300)).unwrap();
            let mode = [0o644, 0o600, 0o755][rng.below(3)];
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        }
        for i in 0..6 {
            let target = rng.pick(&["f1.html", "../f2.html", "/etc/passwd", "nowhere"]);
            symlink(target, root.join(rng.pick(DIRS)).join(format!("l{i}"))).unwrap();
        }
        let fifo = root.join(rng.pick(DIRS)).join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        fs::write(root.join("a/skip.tmp"), "excluded").unwrap();
    }

    fn remove(p: &Path) {
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(p).unwrap(),
            Ok(_) => fs::remove_file(p).unwrap(),
            Err(_) => {}
        }
    }

    /// Every kind of tampering, on a random quarter of the sealed paths,
    /// and additions everywhere (writable and excluded areas included).
    fn mutate(root: &Path, sealed: &[Entry], rng: &mut Rng) {
        for e in sealed.iter().skip(1) {
            if rng.below(4) != 0 {
                continue;
            }
            let p = root.join(e.rel_path());
            let Ok(meta) = fs::symlink_metadata(&p) else {
                continue; // under a directory already replaced or removed
            };
            match rng.below(9) {
                0 => remove(&p),
                1 if meta.is_file() => {
                    // Same size, other bytes.
                    let mut body = fs::read(&p).unwrap();
                    body[0] ^= 0xff;
                    fs::write(&p, body).unwrap();
                }
                2 if meta.is_file() => {
                    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
                    std::io::Write::write_all(&mut f, b"<script>").unwrap();
                }
                1..=3 if !meta.is_symlink() => {
                    let mode = meta.permissions().mode() ^ 0o011;
                    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
                }
                4 => {
                    remove(&p);
                    fs::create_dir(&p).unwrap();
                    fs::write(p.join("inside.php"), "<?php").unwrap();
                }
                5 => {
                    remove(&p);
                    symlink("/", &p).unwrap();
                }
                6 if meta.is_symlink() => {
                    remove(&p);
                    symlink("elsewhere", &p).unwrap();
                }
                6 | 7 => {
                    remove(&p);
                    fs::write(&p, rng.bytes(50)).unwrap();
                }
                // Needs root; without it the path is left as it was.
                _ => {
                    let _ = lchown(&p, Some(meta.uid() + 1), None);
                }
            }
        }
        for i in 0..rng.below(10) {
            let dir = root.join(rng.pick(DIRS));
            if dir.is_dir() && !dir.is_symlink() {
                let name = rng.pick(&["new.php", "new.tmp", "n.html"]);
                fs::write(dir.join(format!("{i}{name}")), rng.bytes(100)).unwrap();
            }
        }
        if rng.below(2) == 0 {
            let _ = fs::create_dir_all(root.join("evil/deep"));
            let _ = fs::write(root.join("evil/deep/x.php"), "<?php");
        }
        if rng.below(2) == 0 {
            // Rewritten as it was: only the mtime moves, which is no change.
            if let Some(e) = sealed.iter().find(|e| e.kind == Kind::File) {
                let p = root.join(e.rel_path());
                if let Ok(body) = fs::read(&p) {
                    fs::write(&p, body).unwrap();
                }
            }
        }
    }

    #[test]
    fn the_streaming_check_finds_what_the_list_diff_finds() {
        let filters = filters();
        let mut seen_kinds = HashSet::new();
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("www");
            build(&root, &mut rng);
            let sealed = scan(&root, &filters, None).unwrap();
            assert!(sealed.errors.is_empty());
            mutate(&root, &sealed.entries, &mut rng);

            let now = scan(&root, &filters, None).unwrap();
            let want = diff(&sealed.entries, &now.entries, &filters);
            let want_errors: Vec<_> = now.errors.iter().map(|(p, _)| p.clone()).collect();
            // The quick check reads only what changed by its metadata, and
            // every mutation here moves size or mtime: it finds the same.
            for (batch, quick) in [1, 3, 64, TREE_BATCH]
                .into_iter()
                .flat_map(|b| [(b, false), (b, true)])
            {
                let TreeDiff {
                    changes: got,
                    errors,
                } = diff_tree_by(&sealed.entries, &root, &filters, batch, quick).unwrap();
                assert_eq!(got, want, "seed {seed}, batch {batch}, quick {quick}");
                let errors: Vec<_> = errors.into_iter().map(|(p, _)| p).collect();
                assert_eq!(
                    errors, want_errors,
                    "seed {seed}, batch {batch}, quick {quick}"
                );
            }
            for c in &want {
                assert!(!c.path().starts_with(b"cache"), "excluded: {c:?}");
                assert!(!c.path().ends_with(b".tmp"), "excluded: {c:?}");
                match &c.kind {
                    ChangeKind::Modified { aspects } => {
                        assert!(!c.path().starts_with(b"uploads/"), "writable: {c:?}");
                        seen_kinds.extend(aspects.iter().map(|a| format!("{a:?}")));
                    }
                    k => {
                        seen_kinds.insert(format!("{k:?}"));
                    }
                }
            }
        }
        let mut expected = vec![
            "Added",
            "Deleted",
            "WritableAdded",
            "Content",
            "Mode",
            "Type",
            "Target",
        ];
        if unsafe { libc::geteuid() } == 0 {
            expected.push("Owner");
        }
        for k in expected {
            assert!(
                seen_kinds.contains(k),
                "never exercised {k}: {seen_kinds:?}"
            );
        }
    }
}
