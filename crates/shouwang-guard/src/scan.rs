//! Walking a web root: what is there now, with content hashes, read
//! without following symlinks. Sealing stores the content as it reads it;
//! checking only hashes.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::GuardError;
use crate::aligned::AlignedBuf;
use crate::manifest::{Entry, Kind};
use crate::objects::ObjectStore;

/// Files up to this size are read whole and stored from the same buffer;
/// larger ones are streamed.
pub(crate) const WHOLE_READ_LIMIT: u64 = 8 << 20;

/// Which paths a root's baseline leaves out, and which it records but never
/// restores.
#[derive(Clone, Debug)]
pub struct Filters {
    exclude: GlobSet,
    writable: GlobSet,
}

fn globset(patterns: &[String]) -> Result<GlobSet, GuardError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| GuardError::BadPattern {
            pattern: p.clone(),
            detail: e.to_string(),
        })?;
        b.add(glob);
    }
    b.build().map_err(|e| GuardError::BadPattern {
        pattern: patterns.join(", "),
        detail: e.to_string(),
    })
}

impl Filters {
    pub fn new(excludes: &[String], writables: &[String]) -> Result<Self, GuardError> {
        Ok(Filters {
            exclude: globset(excludes)?,
            writable: globset(writables)?,
        })
    }

    /// Excluded paths are neither sealed nor compared. A directory whose
    /// every descendant a pattern excludes (`cache/**`) is excluded too.
    pub fn is_excluded(&self, rel: &[u8]) -> bool {
        if rel.is_empty() || self.exclude.is_empty() {
            return false;
        }
        let inside = join_rel(rel, b"\0");
        self.exclude
            .is_match(Path::new(std::ffi::OsStr::from_bytes(rel)))
            || self
                .exclude
                .is_match(Path::new(std::ffi::OsStr::from_bytes(&inside)))
    }

    /// Is this path inside a writable area (uploads, caches)?
    pub fn is_writable(&self, rel: &[u8]) -> bool {
        !rel.is_empty()
            && self
                .writable
                .is_match(Path::new(std::ffi::OsStr::from_bytes(rel)))
    }
}

pub(crate) fn join_rel(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        name.to_vec()
    } else {
        let mut p = Vec::with_capacity(parent.len() + 1 + name.len());
        p.extend_from_slice(parent);
        p.push(b'/');
        p.extend_from_slice(name);
        p
    }
}

pub(crate) fn abs_path(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(std::ffi::OsStr::from_bytes(rel))
    }
}

pub(crate) fn entry_from_meta(path: impl Into<Box<[u8]>>, meta: &Metadata) -> Entry {
    let kind = Kind::of(meta.file_type());
    Entry {
        path: path.into(),
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: if kind == Kind::Dir { 0 } else { meta.size() },
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        hash: None,
        target: None,
    }
}

/// Open a regular file for reading without following a symlink, and
/// without touching its access time where the kernel lets us.
pub(crate) fn open_nofollow(path: &Path) -> io::Result<File> {
    let open = |extra: i32| {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | extra)
            .open(path)
    };
    match open(libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(0),
        other => other,
    }
}

/// Hash a file's content, storing it in `objects` when given. Returns the
/// hash and the metadata of the file as read (from the open descriptor, so
/// the two belong together).
pub(crate) fn hash_file(
    path: &Path,
    objects: Option<&ObjectStore>,
    buf: &mut AlignedBuf,
) -> io::Result<([u8; 32], Metadata)> {
    for _ in 0..3 {
        let mut f = open_nofollow(path)?;
        let before = f.metadata()?;
        if !before.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let hash = if before.len() <= WHOLE_READ_LIMIT {
            buf.read_all(&mut f, before.len() as usize)?;
            let hash = *blake3::hash(buf.as_slice()).as_bytes();
            if let Some(objects) = objects {
                objects.put(&hash, buf)?;
            }
            hash
        } else if let Some(objects) = objects {
            objects.put_stream(&mut f)?.0
        } else {
            let mut hasher = blake3::Hasher::new();
            hasher.update_reader(&mut f)?;
            *hasher.finalize().as_bytes()
        };
        let after = f.metadata()?;
        // A file written while we read it is read again, so that the hash
        // and the metadata describe the same content.
        if after.mtime_nsec() == before.mtime_nsec()
            && after.mtime() == before.mtime()
            && after.len() == before.len()
        {
            return Ok((hash, after));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::WouldBlock,
        "the file kept changing while it was read",
    ))
}

/// What a walk found, and the paths it could not read.
pub struct Scan {
    pub entries: Vec<Entry>,
    pub errors: Vec<(PathBuf, io::Error)>,
}

/// How far a scan has got, for a progress line: paths walked, then files
/// and bytes read. Counted by the scan's threads, read by anyone.
#[derive(Debug, Default)]
pub struct Progress {
    pub walked: AtomicU64,
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

/// Walk `root`, skipping excluded paths. File contents are hashed (and
/// stored in `objects` when given) except inside writable areas, where only
/// metadata is recorded. The whole list is returned, sorted by path.
pub fn scan(
    root: &Path,
    filters: &Filters,
    objects: Option<&ObjectStore>,
) -> Result<Scan, GuardError> {
    scan_counted(root, filters, objects, None)
}

/// [`scan`], counting what it does in `progress`.
pub fn scan_counted(
    root: &Path,
    filters: &Filters,
    objects: Option<&ObjectStore>,
    progress: Option<&Progress>,
) -> Result<Scan, GuardError> {
    let mut entries = Vec::new();
    // One batch: the whole walk, then the hashing, as sealing always did;
    // the entries are never copied.
    let known = Known {
        entries: None,
        progress,
    };
    let errors = scan_batches(root, filters, objects, known, usize::MAX, |batch| {
        if entries.is_empty() {
            entries = batch;
        } else {
            entries.extend(batch);
        }
    })?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Scan { entries, errors })
}

/// Walk `root` as [`scan`] does, handing the entries over hashed, in walk
/// order, `batch` at a time (the last batch may be shorter), so that a
/// caller that keeps only some of them never holds the whole tree. Returns
/// the paths that could not be read: those met by the walk first, then
/// those whose content could not be read. With `known` (sorted by path), a
/// file whose type, size, mtime, mode and owner are those of its known
/// entry is taken to hold the known content and is not read.
pub(crate) fn scan_batches(
    root: &Path,
    filters: &Filters,
    objects: Option<&ObjectStore>,
    known: Known<'_>,
    batch: usize,
    mut each: impl FnMut(Vec<Entry>),
) -> Result<Vec<(PathBuf, io::Error)>, GuardError> {
    let root_meta = fs::symlink_metadata(root).map_err(|e| GuardError::Io {
        path: root.to_path_buf(),
        source: e,
    })?;
    if !root_meta.is_dir() {
        return Err(GuardError::NotADirectory(root.to_path_buf()));
    }
    let mut errors = Vec::new();
    let mut unreadable = Vec::new();
    let mut pending = Vec::new();
    let mut flush = |pending: &mut Vec<Entry>| {
        unreadable.extend(hash_entries(root, pending, filters, objects, known));
        // Gone between the walk and the read: it is simply not there.
        pending.retain(|e| !vanished(e));
        each(std::mem::take(pending));
    };
    pending.push(entry_from_meta(Vec::new(), &root_meta));
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(dir_rel) = stack.pop() {
        let dir_abs = abs_path(root, &dir_rel);
        let rd = match fs::read_dir(&dir_abs) {
            Ok(rd) => rd,
            Err(e) => {
                errors.push((dir_abs, e));
                continue;
            }
        };
        for item in rd {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    errors.push((dir_abs.clone(), e));
                    continue;
                }
            };
            let rel = join_rel(&dir_rel, item.file_name().as_bytes());
            if filters.is_excluded(&rel) {
                continue;
            }
            let meta = match item.metadata() {
                Ok(m) => m,
                Err(e) => {
                    errors.push((item.path(), e));
                    continue;
                }
            };
            let mut entry = entry_from_meta(rel.clone(), &meta);
            match entry.kind {
                Kind::Dir => stack.push(rel),
                Kind::Symlink => match fs::read_link(item.path()) {
                    Ok(t) => entry.target = Some(t.as_os_str().as_bytes().into()),
                    Err(e) => errors.push((item.path(), e)),
                },
                _ => {}
            }
            pending.push(entry);
            if let Some(p) = known.progress {
                p.walked.fetch_add(1, Ordering::Relaxed);
            }
            if pending.len() >= batch {
                flush(&mut pending);
            }
        }
    }
    if !pending.is_empty() {
        flush(&mut pending);
    }
    errors.extend(unreadable);
    Ok(errors)
}

/// The known hash of `e`, if `known` has an entry for its path with the
/// same type, size, mtime, mode and owner.
fn same_metadata(known: &[Entry], e: &Entry) -> Option<[u8; 32]> {
    let k = &known[known.binary_search_by(|k| k.path.cmp(&e.path)).ok()?];
    (k.kind == e.kind
        && k.size == e.size
        && k.mtime_ns == e.mtime_ns
        && k.mode == e.mode
        && k.uid == e.uid
        && k.gid == e.gid)
        .then_some(k.hash?)
}

/// Marks a file that disappeared before it could be read.
fn vanished(e: &Entry) -> bool {
    e.kind == Kind::Other && e.size == u64::MAX
}

/// Hash the files among `entries` on every core, in place: the walk is
/// cheap, reading is not. Threads take chunks of the entries and fill them
/// in place, so a million files cost no second list. Files gone meanwhile
/// are marked [`vanished`]; the paths that could not be read are returned.
/// What a scan knows beforehand: the entries whose content it need not
/// read again when their metadata matches (sorted by path), and where to
/// count its progress.
#[derive(Clone, Copy, Default)]
pub(crate) struct Known<'a> {
    pub entries: Option<&'a [Entry]>,
    pub progress: Option<&'a Progress>,
}

fn hash_entries(
    root: &Path,
    entries: &mut [Entry],
    filters: &Filters,
    objects: Option<&ObjectStore>,
    known: Known<'_>,
) -> Vec<(PathBuf, io::Error)> {
    let (progress, known) = (known.progress, known.entries);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Sealing also writes, mostly waiting on the device (O_DIRECT): many
    // more threads than cores keep the device busy. Measured on a 2-core VM
    // sealing 2.3 GB: 4 threads 3.6 s, 16 threads 2.4 s, 64 threads 2.4 s.
    let threads = if objects.is_some() {
        (cores * 8).clamp(8, 32)
    } else {
        cores.min(8)
    };
    let queue: Mutex<Vec<&mut [Entry]>> = Mutex::new(entries.chunks_mut(64).collect());
    let failures: Mutex<Vec<(PathBuf, io::Error)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf = AlignedBuf::new();
                loop {
                    let chunk = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some(chunk) = chunk else { break };
                    for e in chunk.iter_mut() {
                        if e.kind != Kind::File || filters.is_writable(&e.path) {
                            continue;
                        }
                        if let Some(hash) = known.and_then(|k| same_metadata(k, e)) {
                            e.hash = Some(hash);
                            continue;
                        }
                        let path = abs_path(root, &e.path);
                        match hash_file(&path, objects, &mut buf) {
                            Ok((hash, meta)) => {
                                let rel = std::mem::take(&mut e.path);
                                *e = entry_from_meta(rel, &meta);
                                e.hash = Some(hash);
                                if let Some(p) = progress {
                                    p.files.fetch_add(1, Ordering::Relaxed);
                                    p.bytes.fetch_add(e.size, Ordering::Relaxed);
                                }
                            }
                            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                                e.kind = Kind::Other;
                                e.size = u64::MAX;
                            }
                            Err(err) => failures
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((path, err)),
                        }
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|p| p.into_inner())
}
