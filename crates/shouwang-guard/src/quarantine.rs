//! Quarantine: where intruding files (and the tampered versions of sealed
//! files) go instead of being deleted, each with a record of where it was,
//! what it was and when.

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::GuardError;

/// What the quarantine keeps about an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    pub id: String,
    /// Where it was, relative to the root.
    pub path: String,
    pub root: String,
    /// `intruder` (not in the baseline) or `tampered` (a sealed path's
    /// altered version, replaced by the restore).
    pub reason: String,
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub blake3: Option<String>,
    pub symlink_target: Option<String>,
    pub quarantined_at: chrono::DateTime<chrono::Utc>,
    /// `false` when it could not be kept (over the budget, or no room on
    /// the disk): it was still removed from the web root, and this record,
    /// with its hash and first bytes, is all that is left of it.
    #[serde(default = "kept_by_default")]
    pub kept: bool,
    /// The first bytes of a file not kept, in hex.
    #[serde(default)]
    pub first_bytes: Option<String>,
}

fn kept_by_default() -> bool {
    true
}

pub struct Quarantine {
    dir: PathBuf,
    budget: Budget,
    /// What the quarantines under one budget hold: this one alone, or every
    /// root's of a guard dir ([`Quarantine::sharing`]). Loaded at the first
    /// item taken.
    usage: std::sync::Arc<std::sync::Mutex<Option<Usage>>>,
    /// The quarantine directories that share `usage`.
    siblings: Siblings,
    dropped: std::sync::Mutex<Vec<(QuarantineRecord, u64)>>,
    dropped_total: AtomicU64,
    /// The watcher's worker that copies and records evidence off the
    /// restore path; without one (a repair from the command line) it is
    /// done in place.
    pub(crate) later: Option<crate::restore::Later>,
}

/// Counts records against a quarantine's budget from another thread.
pub(crate) struct Accountant {
    dir: PathBuf,
    usage: std::sync::Arc<std::sync::Mutex<Option<Usage>>>,
    siblings: Siblings,
}

impl Accountant {
    pub(crate) fn note_kept(&self, id: &str, size: u64) {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = usage.get_or_insert_with(|| Usage::load_dirs(self.siblings.dirs()));
        u.push(self.dir.clone(), id.to_string(), size);
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The name of the quarantined item inside its record directory.
pub const ITEM: &str = "item";
const RECORD: &str = "record.json";

impl Quarantine {
    pub fn new(dir: PathBuf) -> Self {
        Quarantine {
            siblings: Siblings::Alone(dir.clone()),
            dir,
            budget: Budget::default(),
            usage: Default::default(),
            dropped: Default::default(),
            dropped_total: AtomicU64::new(0),
            later: None,
        }
    }

    pub(crate) fn accountant(&self) -> Accountant {
        Accountant {
            dir: self.dir.clone(),
            usage: self.usage.clone(),
            siblings: self.siblings.clone(),
        }
    }

    /// Count evidence summarised and dropped for want of time (the
    /// worker's queue was full), as a drop for want of room is counted.
    pub(crate) fn note_dropped(&self, record: QuarantineRecord) {
        let total = self.dropped_total.fetch_add(1, Ordering::Relaxed) + 1;
        self.dropped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((record, total));
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh, empty record directory and its id.
    pub(crate) fn slot(&self) -> Result<(String, PathBuf, OwnedFd), GuardError> {
        let io = |source| GuardError::Io {
            path: self.dir.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(io)?;
        loop {
            let id = format!(
                "{}-{}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let path = self.dir.join(&id);
            match fs::create_dir(&path) {
                Ok(()) => {
                    let fd = rustix::fs::open(
                        &path,
                        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| GuardError::Io {
                        path: path.clone(),
                        source: e.into(),
                    })?;
                    return Ok((id, path, fd));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    pub(crate) fn write_record(
        &self,
        slot: &Path,
        record: &QuarantineRecord,
    ) -> Result<(), GuardError> {
        write_record(slot, record)
    }

    /// Every record, oldest first.
    pub fn list(&self) -> Result<Vec<QuarantineRecord>, GuardError> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            if let Ok(r) = self.get(&e.file_name().to_string_lossy()) {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub fn get(&self, id: &str) -> Result<QuarantineRecord, GuardError> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            return Err(GuardError::NoSuchQuarantine(id.to_string()));
        }
        let path = self.dir.join(id).join(RECORD);
        let bytes = fs::read(&path).map_err(|_| GuardError::NoSuchQuarantine(id.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| GuardError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// The quarantined item of a record, for reading.
    pub fn item_path(&self, id: &str) -> Result<PathBuf, GuardError> {
        self.get(id)?;
        Ok(self.dir.join(id).join(ITEM))
    }

    /// At most `limit` bytes from the start of a quarantined file, never
    /// following a symlink: a page shows a prefix, and a huge file must not
    /// be read whole to show it.
    pub fn read_prefix(&self, id: &str, limit: usize) -> Result<Vec<u8>, GuardError> {
        use std::io::Read;
        let path = self.item_path(id)?;
        let io = |source| GuardError::Io {
            path: path.clone(),
            source,
        };
        let f = crate::scan::open_nofollow(&path).map_err(io)?;
        let mut out = Vec::new();
        f.take(limit as u64).read_to_end(&mut out).map_err(io)?;
        Ok(out)
    }

    /// Forget a record after its item was moved back.
    pub(crate) fn remove(&self, id: &str) -> Result<(), GuardError> {
        let path = self.dir.join(id);
        fs::remove_dir_all(&path).map_err(|e| GuardError::Io { path, source: e })?;
        if let Some(u) = self
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            u.forget(&self.dir, id);
        }
        Ok(())
    }

    /// Replace the budget (the watcher takes it from the config).
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// Count this quarantine against `shared`, the budget of every
    /// `*/quarantine` under `roots`: one budget for all the roots of a
    /// guard dir, the oldest evidence of any of them dropped first.
    pub(crate) fn sharing(mut self, roots: PathBuf, shared: SharedUsage) -> Self {
        self.siblings = Siblings::Under(roots);
        self.usage = shared.0;
        self
    }

    /// Make room for an item of `size` bytes, dropping the oldest evidence
    /// first (each dropped record is kept for [`take_dropped`] to report).
    /// `false` if the item alone is over the size budget: it cannot be kept
    /// at all, and the caller records a summary of it instead.
    ///
    /// [`take_dropped`]: Quarantine::take_dropped
    pub(crate) fn make_room(&self, size: u64) -> bool {
        if size > self.budget.max_bytes {
            return false;
        }
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = usage.get_or_insert_with(|| Usage::load(self));
        while !u.items.is_empty()
            && (u.items.len() as u64 >= self.budget.max_items
                || u.bytes + size > self.budget.max_bytes)
        {
            let Some((dir, id, bytes)) = u.items.pop_front() else {
                break;
            };
            u.bytes -= bytes;
            let owner = Quarantine::new(dir.clone());
            let record = owner.get(&id).ok();
            if let Err(e) = fs::remove_dir_all(dir.join(&id)) {
                tracing::warn!(id, "cannot drop quarantined evidence: {e}");
                continue;
            }
            let total = self.dropped_total.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(r) = record {
                self.dropped
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((r, total));
            }
        }
        true
    }

    /// Count a record just written against the budget.
    pub(crate) fn note_kept(&self, id: &str, size: u64) {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = usage.get_or_insert_with(|| Usage::load(self));
        u.push(self.dir.clone(), id.to_string(), size);
    }

    /// The records dropped to make room since the last call, each with
    /// the number dropped so far.
    pub fn take_dropped(&self) -> Vec<(QuarantineRecord, u64)> {
        std::mem::take(&mut *self.dropped.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Write the record of the slot `slot`.
pub(crate) fn write_record(slot: &Path, record: &QuarantineRecord) -> Result<(), GuardError> {
    let path = slot.join(RECORD);
    let mut f = fs::File::create(&path).map_err(|e| GuardError::Io {
        path: path.clone(),
        source: e,
    })?;
    let json = serde_json::to_vec_pretty(record).expect("records serialize");
    f.write_all(&json)
        .map_err(|e| GuardError::Io { path, source: e })
}

/// How much a quarantine may hold. The oldest evidence goes first when a
/// new item would pass either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_bytes: u64,
    pub max_items: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_bytes: 1024 * 1024 * 1024,
            max_items: 10_000,
        }
    }
}

/// The usage several quarantines count against together.
#[derive(Clone, Default)]
pub(crate) struct SharedUsage(std::sync::Arc<std::sync::Mutex<Option<Usage>>>);

/// Which quarantine directories count against one budget.
#[derive(Clone)]
enum Siblings {
    Alone(PathBuf),
    /// Every `*/quarantine` under this directory (a guard dir's `roots`).
    Under(PathBuf),
}

impl Siblings {
    fn dirs(&self) -> Vec<PathBuf> {
        match self {
            Siblings::Alone(d) => vec![d.clone()],
            Siblings::Under(roots) => fs::read_dir(roots)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path().join("quarantine"))
                        .filter(|q| q.is_dir())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// What the quarantines under one budget hold, oldest first (ids begin
/// with their time), each item with its quarantine directory.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    items: std::collections::VecDeque<(PathBuf, String, u64)>,
    bytes: u64,
}

impl Usage {
    fn load(q: &Quarantine) -> Usage {
        Usage::load_dirs(q.siblings.dirs())
    }

    fn load_dirs(dirs: Vec<PathBuf>) -> Usage {
        let mut all = Vec::new();
        for dir in dirs {
            for r in Quarantine::new(dir.clone()).list().unwrap_or_default() {
                let size = if r.kept { r.size } else { 0 };
                all.push((dir.clone(), r.id, size));
            }
        }
        all.sort_by(|a, b| a.1.cmp(&b.1));
        let mut u = Usage::default();
        for (dir, id, size) in all {
            u.push(dir, id, size);
        }
        u
    }

    fn push(&mut self, dir: PathBuf, id: String, size: u64) {
        self.bytes += size;
        self.items.push_back((dir, id, size));
    }

    fn forget(&mut self, dir: &Path, id: &str) {
        if let Some(i) = self.items.iter().position(|(d, x, _)| d == dir && x == id)
            && let Some((_, _, b)) = self.items.remove(i)
        {
            self.bytes -= b;
        }
    }
}

/// Move `name` out of `parent` into `slot` (same filesystem: one rename,
/// everything kept). Across filesystems the caller copies instead.
pub(crate) fn move_into(parent: impl AsFd, name: &[u8], slot: impl AsFd) -> rustix::io::Result<()> {
    rustix::fs::renameat(parent, name, slot, ITEM)
}

/// Hard-link `name` into `slot`, leaving it in place (used to keep the
/// tampered version of a file that an atomic rename then replaces).
pub(crate) fn link_into(parent: impl AsFd, name: &[u8], slot: impl AsFd) -> rustix::io::Result<()> {
    rustix::fs::linkat(parent, name, slot, ITEM, AtFlags::empty())
}
