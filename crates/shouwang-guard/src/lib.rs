//! 网页防篡改: web-root anti-tamper.
//!
//! `seal` records a web root in a baseline: a content-addressed object
//! store (BLAKE3; identical files stored once) and a manifest of every path
//! (type, mode, owner, size, mtime, hash, symlink target) authenticated
//! with a keyed MAC, kept in the data dir outside the web root. `check`
//! compares the tree with it; the `restore` module puts paths back safely
//! and moves intruders to quarantine; `watch` does both in real time.
//!
//! Layout in the data dir:
//! ```text
//! guard.key                      the MAC key (0600)
//! guard/roots/<id>/manifest      the authenticated manifest
//! guard/roots/<id>/objects/      content by hash
//! guard/roots/<id>/quarantine/   intruders and tampered versions, with records
//! guard/roots/<id>/pause         end of a maintenance window, if one is open
//! guard/roots/<id>/state.json    what the watcher's last reconciliation found
//! ```

// The one crate that may use `unsafe` (fanotify, openat2, BPF, O_DIRECT
// buffers); every block carries a SAFETY note. See ARCHITECTURE.md.
#![allow(unsafe_code)]

pub mod actions;
mod aligned;
pub mod block;
mod config;
pub mod diff;
pub mod event;
pub mod preview;
/// The guard's event kinds and details (the types live in the model, which
/// the console and the report read them from).
pub mod events {
    pub use shouwang_model::events::guard::*;
}
#[cfg(test)]
mod held;
pub mod manifest;
pub mod objects;
mod pick;
pub mod quarantine;
pub mod restore;
pub mod runtime;
pub mod scan;
pub mod state;
pub mod text;
pub mod watch;

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use config::GuardConfig;
pub use diff::{Aspect, Change, ChangeKind};
pub use manifest::{Entry, Kind, Manifest};
pub use objects::ObjectStore;
pub use quarantine::{Quarantine, QuarantineRecord};
pub use restore::{Outcome, Restorer, SafeRoot};
pub use scan::Filters;

/// What can go wrong, said so that the person at the console can act.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a directory: give the web root to guard")]
    NotADirectory(PathBuf),
    #[error("{0} is not sealed: run `shouwang guard seal {0}` first")]
    NotSealed(PathBuf),
    #[error(
        "the baseline {path} cannot be trusted: {why}. Nothing was restored from it. If you did not change it, someone did: investigate, then seal the web root again from a known-good copy"
    )]
    BaselineTampered { path: PathBuf, why: String },
    #[error("the pattern {pattern:?} is not a valid glob: {detail}")]
    BadPattern { pattern: String, detail: String },
    #[error(
        "sealing {root} stopped: {count} path(s) could not be read, first {first}: {detail}. The previous baseline is unchanged"
    )]
    SealIncomplete {
        root: PathBuf,
        count: usize,
        first: PathBuf,
        detail: String,
    },
    #[error("no quarantined item {0:?}: `shouwang guard quarantine list` shows them")]
    NoSuchQuarantine(String),
    #[error("{0} is not empty: restore into a new or empty directory")]
    TargetNotEmpty(PathBuf),
    #[error("no web root is sealed yet: `shouwang guard seal DIR` first")]
    NothingSealed,
    /// A seal over a baseline would take in changes no one has looked at.
    #[error(
        "{} is sealed already (since {sealed_at}), and sealing it again would accept {} into the baseline: {}. Nothing was sealed. Look at them (`shouwang guard check`), then seal again with --yes to accept them",
        root.display(), accepted.summary(), accepted.listing()
    )]
    ResealNeedsYes {
        root: PathBuf,
        sealed_at: String,
        accepted: Accepted,
    },
    /// A seal over a baseline that fails its check: nothing to compare with.
    #[error(
        "the baseline of {} fails its check ({why}), so what a new seal would accept cannot be shown and its writable areas and excludes cannot be kept. Nothing was sealed. Investigate; to seal over it, give --writable and --exclude again with --yes",
        root.display()
    )]
    ResealOverBroken { root: PathBuf, why: String },
    /// The change was made but its audit entry could not be written.
    #[error("the change was made, but it could not be recorded in the audit log")]
    Audit(#[source] shouwang_store::StoreError),
    #[error("{0} is not under a sealed web root (`shouwang guard list` shows them)")]
    NotUnderARoot(PathBuf),
    #[error("cannot rebuild into {path}: {why}")]
    BadTarget { path: PathBuf, why: String },
    #[error(transparent)]
    Key(#[from] shouwang_store::StoreError),
    /// A root of the watcher could not be taken on; the cause says why.
    #[error("cannot guard {}", root.display())]
    CannotGuard {
        root: PathBuf,
        #[source]
        source: Box<GuardError>,
    },
    /// The system refused the watcher a thread.
    #[error(transparent)]
    Thread(std::io::Error),
}

pub type Result<T, E = GuardError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> GuardError + '_ {
    move |source| GuardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The guard's part of the data dir.
pub struct GuardDir {
    dir: PathBuf,
    key: [u8; 32],
    budget: quarantine::Budget,
    /// One quarantine budget for all the roots loaded from here.
    shared: quarantine::SharedUsage,
    /// The watcher's quarantine worker, given to every baseline loaded
    /// while it runs.
    later: std::sync::Mutex<Option<restore::Later>>,
}

/// What `seal` did.
#[derive(Debug, Clone, Serialize)]
pub struct SealReport {
    pub root: PathBuf,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub objects: u64,
    pub removed_objects: u64,
    pub seconds: f64,
    /// The options the baseline now has.
    pub excludes: Vec<String>,
    pub writables: Vec<String>,
    /// When the baseline this seal replaced was made (none: a first seal).
    pub previous: Option<DateTime<Utc>>,
    /// The previous baseline's options kept because none were given:
    /// `"writable"`, `"exclude"`.
    pub kept: Vec<&'static str>,
    /// What this seal took in compared with the previous baseline.
    pub accepted: Accepted,
}

/// How to seal a root.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    pub excludes: Vec<String>,
    pub writables: Vec<String>,
}

/// What a person asks of `guard seal`: each option given, or `None` to
/// keep the baseline's; and whether to accept what changed since it.
#[derive(Debug, Clone, Default)]
pub struct SealRequest {
    pub excludes: Option<Vec<String>>,
    pub writables: Option<Vec<String>>,
    pub accept: bool,
    /// Where to count how far the scan has got (a progress line).
    pub progress: Option<std::sync::Arc<scan::Progress>>,
}

/// What a seal takes into the baseline that the previous one did not
/// have: paths added, changed, removed (writable areas left out: they are
/// never restored, so recording them accepts nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Accepted {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// The first few, in path order.
    pub first: Vec<AcceptedPath>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedPath {
    /// `added`, `changed` or `removed`.
    pub change: &'static str,
    pub path: String,
}

/// How many paths [`Accepted`] names.
const ACCEPTED_SHOWN: usize = 5;

impl Accepted {
    fn of(changes: &[Change]) -> Accepted {
        let mut a = Accepted::default();
        for c in changes {
            let change = match c.kind {
                ChangeKind::Added => {
                    a.added += 1;
                    "added"
                }
                ChangeKind::Modified { .. } => {
                    a.changed += 1;
                    "changed"
                }
                ChangeKind::Deleted => {
                    a.removed += 1;
                    "removed"
                }
                ChangeKind::WritableAdded => continue,
            };
            if a.first.len() < ACCEPTED_SHOWN {
                a.first.push(AcceptedPath {
                    change,
                    path: c.path_display(),
                });
            }
        }
        a
    }

    pub fn is_empty(&self) -> bool {
        self.added + self.changed + self.removed == 0
    }

    /// `1 added, 2 changed, 0 removed path(s)`.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} changed, {} removed path(s)",
            self.added, self.changed, self.removed
        )
    }

    /// `changed index.html, added shell.php` and how many more.
    pub fn listing(&self) -> String {
        let mut s: Vec<String> = self
            .first
            .iter()
            .map(|p| format!("{} {}", p.change, p.path))
            .collect();
        let more = (self.added + self.changed + self.removed).saturating_sub(s.len() as u64);
        if more > 0 {
            s.push(format!("and {more} more"));
        }
        s.join(", ")
    }
}

impl GuardDir {
    /// Open the guard's directory in `data_dir`, creating it and its key.
    pub fn open(data_dir: &Path) -> Result<GuardDir> {
        let dir = data_dir.join("guard");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("roots"))
            .map_err(io_err(&dir))?;
        let key = shouwang_store::load_or_create_secret(&data_dir.join("guard.key"))?;
        Ok(GuardDir {
            dir,
            key,
            budget: Default::default(),
            shared: Default::default(),
            later: Default::default(),
        })
    }

    /// The quarantine budget of every baseline loaded from here on: one
    /// budget for all of them together, the oldest evidence of any root
    /// dropped first.
    pub fn with_quarantine_budget(mut self, budget: quarantine::Budget) -> GuardDir {
        self.budget = budget;
        self
    }

    /// Copy and record quarantined evidence on `later` (the watcher's
    /// worker) for the baselines loaded from now on; `None` stops that.
    pub(crate) fn set_later(&self, later: Option<restore::Later>) {
        *self.later.lock().unwrap_or_else(|p| p.into_inner()) = later;
    }

    /// The baseline directory of a root: a stable name derived from the
    /// root's canonical path.
    fn root_dir(&self, canonical: &Path) -> PathBuf {
        let id = blake3::hash(canonical.as_os_str().as_bytes()).to_hex();
        self.dir.join("roots").join(&id[..16])
    }

    fn canonical(root: &Path) -> Result<PathBuf> {
        let c = fs::canonicalize(root).map_err(io_err(root))?;
        if !c.is_dir() {
            return Err(GuardError::NotADirectory(c));
        }
        Ok(c)
    }

    /// Seal `root` with exactly `opts`, whatever its baseline was: record
    /// it in a new baseline that replaces the old one only once it is
    /// complete and on disk. A seal that is killed half-way leaves the
    /// previous baseline as it was.
    pub fn seal(&self, root: &Path, opts: &SealOptions) -> Result<SealReport> {
        self.seal_over(&Self::canonical(root)?, opts, None, None)
    }

    /// Seal `root` as a person asks: a root sealed before keeps each of
    /// its baseline's options not given again, and what the new seal
    /// would take in compared with that baseline (added, changed, removed
    /// paths) is refused unless `req.accept`. What is refused is computed
    /// from the very scan that would be committed, so nothing changed in
    /// between slips in unseen.
    pub fn seal_as_asked(&self, root: &Path, req: &SealRequest) -> Result<SealReport> {
        let root = Self::canonical(root)?;
        let previous = match self.baseline(&root) {
            Ok(b) => Some(b),
            Err(GuardError::NotSealed(_)) => None,
            Err(GuardError::BaselineTampered { why, .. }) if !req.accept => {
                return Err(GuardError::ResealOverBroken { root, why });
            }
            Err(GuardError::BaselineTampered { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut kept = Vec::new();
        let mut pick = |given: &Option<Vec<String>>, old: Option<&Vec<String>>, name| match given {
            Some(v) => v.clone(),
            None => {
                let v = old.cloned().unwrap_or_default();
                if !v.is_empty() {
                    kept.push(name);
                }
                v
            }
        };
        let opts = SealOptions {
            excludes: pick(
                &req.excludes,
                previous.as_ref().map(|b| &b.manifest.excludes),
                "exclude",
            ),
            writables: pick(
                &req.writables,
                previous.as_ref().map(|b| &b.manifest.writables),
                "writable",
            ),
        };
        let mut report = self.seal_over(
            &root,
            &opts,
            previous.as_ref().map(|b| (b, req.accept)),
            req.progress.as_deref(),
        )?;
        report.kept = kept;
        Ok(report)
    }

    /// Seal the canonical `root`; over `previous`, refuse what it would
    /// take in unless accepted.
    fn seal_over(
        &self,
        root: &Path,
        opts: &SealOptions,
        previous: Option<(&Baseline, bool)>,
        progress: Option<&scan::Progress>,
    ) -> Result<SealReport> {
        let started = Instant::now();
        let root = root.to_path_buf();
        let dir = self.root_dir(&root);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("objects"))
            .map_err(io_err(&dir))?;
        let filters = Filters::new(&opts.excludes, &opts.writables)?;
        let objects = ObjectStore::new(dir.join("objects"));
        let scan = scan::scan_counted(&root, &filters, Some(&objects), progress)?;
        let scanned = started.elapsed();
        if let Some((first, e)) = scan.errors.first() {
            return Err(GuardError::SealIncomplete {
                root,
                count: scan.errors.len(),
                first: first.clone(),
                detail: e.to_string(),
            });
        }
        let accepted = previous
            .map(|(b, _)| Accepted::of(&diff::diff(&b.manifest.entries, &scan.entries, &filters)))
            .unwrap_or_default();
        if let Some((b, false)) = previous
            && !accepted.is_empty()
        {
            // The objects this scan stored are nobody's: take them away.
            let keep: HashSet<[u8; 32]> =
                b.manifest.entries.iter().filter_map(|e| e.hash).collect();
            objects
                .collect_garbage(&keep)
                .map_err(io_err(objects.dir()))?;
            return Err(GuardError::ResealNeedsYes {
                root,
                sealed_at: text::beijing(b.sealed_at()),
                accepted,
            });
        }
        // Every object reaches the disk before the manifest that names it.
        objects.make_durable().map_err(io_err(objects.dir()))?;
        tracing::debug!(
            read_hash_store = ?scanned,
            syncfs = ?(started.elapsed() - scanned),
            "seal phases"
        );
        let manifest = Manifest {
            root: root.as_os_str().as_bytes().to_vec(),
            sealed_at_us: Utc::now().timestamp_micros(),
            excludes: opts.excludes.clone(),
            writables: opts.writables.clone(),
            entries: scan.entries,
        };
        self.commit(&dir, &manifest)?;
        let keep: HashSet<[u8; 32]> = manifest.entries.iter().filter_map(|e| e.hash).collect();
        let removed_objects = objects
            .collect_garbage(&keep)
            .map_err(io_err(objects.dir()))?;
        let count = |k: Kind| manifest.entries.iter().filter(|e| e.kind == k).count() as u64;
        Ok(SealReport {
            root,
            files: count(Kind::File),
            dirs: count(Kind::Dir),
            symlinks: count(Kind::Symlink),
            bytes: manifest
                .entries
                .iter()
                .filter(|e| e.kind == Kind::File)
                .map(|e| e.size)
                .sum(),
            objects: keep.len() as u64,
            removed_objects,
            seconds: started.elapsed().as_secs_f64(),
            excludes: opts.excludes.clone(),
            writables: opts.writables.clone(),
            previous: previous.map(|(b, _)| b.sealed_at()),
            kept: Vec::new(),
            accepted,
        })
    }

    /// Write the manifest durably and atomically.
    fn commit(&self, dir: &Path, manifest: &Manifest) -> Result<()> {
        let tmp = dir.join("manifest.tmp");
        let fin = dir.join("manifest");
        let bytes = manifest.encode(&self.key);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(&bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &fin).map_err(io_err(&fin))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))
    }

    /// The baseline of `root`, authenticated.
    pub fn baseline(&self, root: &Path) -> Result<Baseline> {
        let dir = self.dir_of(root)?;
        if !dir.join("manifest").exists() {
            return Err(GuardError::NotSealed(Self::canonical(root)?));
        }
        self.load(dir)
    }

    /// The baseline directory of `root`. The path as given first: it was
    /// canonical when sealed, and if a component was since swapped for a
    /// symlink, resolving it now would lead to another tree (and to "not
    /// sealed" where the truth is "displaced").
    pub fn dir_of(&self, root: &Path) -> Result<PathBuf> {
        if root.is_absolute() {
            let dir = self.root_dir(root);
            if dir.join("manifest").exists() {
                return Ok(dir);
            }
        }
        Ok(self.root_dir(&Self::canonical(root)?))
    }

    fn load(&self, dir: PathBuf) -> Result<Baseline> {
        let path = dir.join("manifest");
        let file = fs::File::open(&path).map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let manifest = Manifest::read(file, len, &self.key, &path)?;
        let filters = Filters::new(&manifest.excludes, &manifest.writables)?;
        let mut quarantine = Quarantine::new(dir.join("quarantine"))
            .sharing(self.dir.join("roots"), self.shared.clone());
        quarantine.set_budget(self.budget);
        quarantine.later = self.later.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(Baseline {
            root: PathBuf::from(std::ffi::OsStr::from_bytes(&manifest.root)),
            objects: ObjectStore::new(dir.join("objects")),
            quarantine,
            dir,
            manifest,
            filters,
        })
    }

    /// Every sealed root. A baseline that fails authentication is returned
    /// as an error in its place, never skipped.
    pub fn baselines(&self) -> Vec<Result<Baseline>> {
        let Ok(rd) = fs::read_dir(self.dir.join("roots")) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("manifest").exists())
            .collect();
        dirs.sort();
        dirs.into_iter().map(|d| self.load(d)).collect()
    }

    /// How many roots are sealed, without reading their manifests.
    pub fn sealed_count(&self) -> usize {
        self.sealed_ids().len()
    }

    /// The baseline directories of the sealed roots, by name, sorted, without
    /// reading their manifests: cheap enough to poll for a new seal.
    pub fn sealed_ids(&self) -> Vec<std::ffi::OsString> {
        let mut ids: Vec<_> = fs::read_dir(self.dir.join("roots")).map_or(Vec::new(), |rd| {
            rd.flatten()
                .filter(|e| e.path().join("manifest").exists())
                .map(|e| e.file_name())
                .collect()
        });
        ids.sort();
        ids
    }

    /// Re-seal only `paths` (relative to or under the root): an operator
    /// approved these changes. Their current state replaces the baseline's.
    pub fn publish(&self, root: &Path, paths: &[PathBuf]) -> Result<Vec<String>> {
        let mut b = self.baseline(root)?;
        let mut published = Vec::new();
        let fresh = scan::scan(&b.root, &b.filters, Some(&b.objects))?;
        for p in paths {
            let rel = b.relative(p)?;
            let prefix = |path: &[u8]| {
                path == rel.as_slice()
                    || (path.starts_with(&rel) && path.get(rel.len()) == Some(&b'/'))
                    || rel.is_empty()
            };
            b.manifest.entries.retain(|e| !prefix(&e.path));
            b.manifest
                .entries
                .extend(fresh.entries.iter().filter(|e| prefix(&e.path)).cloned());
            published.push(String::from_utf8_lossy(&rel).into_owned());
        }
        b.manifest.sort();
        b.manifest.sealed_at_us = Utc::now().timestamp_micros();
        b.objects.make_durable().map_err(io_err(b.objects.dir()))?;
        self.commit(&b.dir, &b.manifest)?;
        Ok(published)
    }
}

impl GuardDir {
    /// [`Baseline::restore_to`], refusing a target inside any sealed root.
    pub fn restore_to(&self, b: &Baseline, target: &Path) -> Result<u64> {
        let mut sealed = vec![b.root.clone()];
        sealed.extend(self.baselines().into_iter().flatten().map(|o| o.root));
        checked_target(target, &sealed)?;
        b.restore_to(target)
    }

    /// Put a quarantined item back where it was and add it to the baseline:
    /// an operator judged it legitimate.
    pub fn release(&self, root: &Path, id: &str) -> Result<String> {
        let b = self.baseline(root)?;
        let record = b.quarantine.get(id)?;
        let rel = record.path.as_bytes().to_vec();
        let (parent_rel, name) = match rel.iter().rposition(|&c| c == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => (&rel[..0], &rel[..]),
        };
        let safe = SafeRoot::open(&b.root)?;
        let parent = safe.open_existing_dir(parent_rel)?;
        let slot_path = b.quarantine.dir().join(id);
        let slot = fs::File::open(&slot_path).map_err(io_err(&slot_path))?;
        rustix::fs::renameat_with(
            &slot,
            quarantine::ITEM,
            &parent,
            name,
            rustix::fs::RenameFlags::NOREPLACE,
        )
        .map_err(|e| GuardError::Io {
            path: b.root.join(&record.path),
            source: e.into(),
        })?;
        self.publish(&b.root, &[PathBuf::from(&record.path)])?;
        b.quarantine.remove(id)?;
        Ok(record.path)
    }
}

/// `target` made absolute, if it is a fit place to rebuild a root into:
/// no component of its path is a symlink or `..` (either could lead the
/// rebuild somewhere other than the path says), and it is not inside any
/// of `sealed` (the guard would fight the rebuild, or the rebuild would
/// overwrite a guarded site).
fn checked_target(target: &Path, sealed: &[PathBuf]) -> Result<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(target).map_err(io_err(target))?;
    let bad = |path: &Path, why: &str| GuardError::BadTarget {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let mut at = PathBuf::new();
    for c in abs.components() {
        if c == Component::ParentDir {
            return Err(bad(&abs, "give the path without \"..\""));
        }
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(bad(
                    &abs,
                    &format!(
                        "{} is a symlink, and the rebuild would go wherever it points: give the real path",
                        at.display()
                    ),
                ));
            }
            Ok(_) => {}
            // Not there yet: created below, as a real directory.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(&at)(e)),
        }
    }
    if let Some(root) = sealed.iter().find(|r| abs.starts_with(r)) {
        return Err(bad(
            &abs,
            &format!(
                "it is inside the sealed web root {}: rebuild outside every guarded root",
                root.display()
            ),
        ));
    }
    Ok(abs)
}

/// One sealed root.
pub struct Baseline {
    pub root: PathBuf,
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub objects: ObjectStore,
    pub quarantine: Quarantine,
    pub filters: Filters,
}

impl Baseline {
    pub fn sealed_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.manifest.sealed_at_us).unwrap_or_default()
    }

    /// `p` as a path relative to the root (it may be given absolute).
    pub fn relative(&self, p: &Path) -> Result<Vec<u8>> {
        let rel = if p.is_absolute() {
            let canon = fs::canonicalize(p.parent().unwrap_or(p))
                .map(|d| d.join(p.file_name().unwrap_or_default()))
                .unwrap_or_else(|_| p.to_path_buf());
            canon
                .strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .map_err(|_| GuardError::Io {
                    path: p.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("not under the web root {}", self.root.display()),
                    ),
                })?
        } else {
            p.to_path_buf()
        };
        let bytes = rel.as_os_str().as_bytes();
        let trimmed = bytes.strip_suffix(b"/").unwrap_or(bytes);
        Ok(if trimmed == b"." {
            Vec::new()
        } else {
            trimmed.to_vec()
        })
    }

    /// Compare the tree with the baseline.
    pub fn check(&self) -> Result<CheckReport> {
        let started = Instant::now();
        let now = diff::diff_tree(&self.manifest.entries, &self.root, &self.filters)?;
        Ok(CheckReport {
            changes: now.changes,
            unreadable: now
                .errors
                .into_iter()
                .map(|(p, e)| (p, e.to_string()))
                .collect(),
            elapsed: started.elapsed(),
        })
    }

    pub fn restorer<'a>(&'a self, root: &'a SafeRoot) -> Restorer<'a> {
        Restorer {
            root,
            manifest: &self.manifest,
            objects: &self.objects,
            quarantine: &self.quarantine,
            filters: &self.filters,
        }
    }

    /// Put the whole root back: every change is restored or quarantined.
    pub fn repair(&self) -> Result<Vec<(String, Result<Outcome>)>> {
        let report = self.check()?;
        let root = SafeRoot::open(&self.root)?;
        let r = self.restorer(&root);
        let mut out = Vec::new();
        // Deepest first for additions (so a new directory's contents go to
        // quarantine with it), baseline order for the rest.
        for c in &report.changes {
            out.push((c.path_display(), r.fix(c.path())));
        }
        Ok(out)
    }

    /// Rebuild the whole sealed tree into `target` (disaster recovery).
    /// The target's path must not go through a symlink (the rebuild would
    /// land wherever it points) nor lie inside this sealed root; see
    /// [`GuardDir::restore_to`] for every sealed root.
    pub fn restore_to(&self, target: &Path) -> Result<u64> {
        let target = checked_target(target, std::slice::from_ref(&self.root))?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&target)
            .map_err(io_err(&target))?;
        if fs::read_dir(&target)
            .map_err(io_err(&target))?
            .next()
            .is_some()
        {
            return Err(GuardError::TargetNotEmpty(target.to_path_buf()));
        }
        // Opened without following any symlink: one swapped in since the
        // check is refused here.
        let root = SafeRoot::open(&target)?;
        let r = self.restorer(&root);
        let mut n = 0;
        for e in &self.manifest.entries {
            if self.filters.is_writable(&e.path) {
                continue;
            }
            if let Outcome::Recreated | Outcome::Restored { .. } = r.fix(&e.path)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The end of the maintenance window, if one is open now.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        let s = fs::read_to_string(self.dir.join("pause")).ok()?;
        let until = DateTime::parse_from_rfc3339(s.trim())
            .ok()?
            .with_timezone(&Utc);
        (until > Utc::now()).then_some(until)
    }

    /// Open a maintenance window: the watcher records but does not restore
    /// until it closes by itself.
    pub fn pause(&self, d: Duration) -> Result<DateTime<Utc>> {
        let until =
            Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1));
        let p = self.dir.join("pause");
        fs::write(&p, until.to_rfc3339()).map_err(io_err(&p))?;
        Ok(until)
    }

    pub fn resume(&self) -> Result<()> {
        match fs::remove_file(self.dir.join("pause")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&self.dir)(e)),
            _ => Ok(()),
        }
    }
}

/// The result of a full comparison.
#[derive(Debug)]
pub struct CheckReport {
    pub changes: Vec<Change>,
    pub unreadable: Vec<(PathBuf, String)>,
    pub elapsed: Duration,
}
