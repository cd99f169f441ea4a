//! Putting a path back to its sealed state, safely against an attacker who
//! is still on the machine.
//!
//! Every path is resolved from an open descriptor of the web root with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, one directory at a
//! time, so a directory swapped for a symlink can never lead a restore
//! outside the root. Kernels before 5.6 have no `openat2` (银河麒麟 V10,
//! 统信 UOS 20 and openEuler 20.03 run 4.19): where it answers ENOSYS
//! (found once, then not tried again), [`resolve`] walks the path itself,
//! one `openat(O_NOFOLLOW | O_DIRECTORY)` per directory from the
//! descriptor it starts at and `O_NOFOLLOW` on the last component, and
//! refuses `..` and absolute paths outright. That keeps both guarantees:
//! nothing is resolved above the starting directory (no component can go
//! up, none starts again from `/`), and no symlink is followed at any step
//! (each `openat` looks up one name and `O_NOFOLLOW` refuses a symlink
//! there, magic links of `/proc` included), and each step starts from the
//! descriptor the last one opened, so swapping a directory we passed for a
//! symlink changes nothing. Moving a directory we hold out of the root is
//! possible with either (`openat2` checks only `..` against the root) and
//! needs write access to what the attacker could write anyway.
//!
//! Files are written to a fresh temporary name in their
//! own directory (`O_CREAT | O_EXCL | O_NOFOLLOW`), given their owner and
//! mode, and renamed into place: readers see the old or the new file, never
//! half of one. What was there instead is kept in quarantine, not deleted,
//! as a copy of its own: the attacker may still hold the file open and
//! write to it, so the record's size and hash are those of the copy, and
//! writes after it land in an inode that is in neither the root nor the
//! quarantine. The quarantine has a budget (size and count): the oldest
//! evidence is dropped first, and what cannot be kept at all (larger than
//! the budget, or the data dir's disk full) still leaves the web root, its
//! record keeping the hash and first bytes; a partial copy is removed, and
//! a tampered page is put back whether or not its version could be kept.
//! Under the watcher no restore waits on the quarantine: an intruding file
//! is held open and leaves the web root in O(1) (renamed into its slot, or
//! unlinked where the quarantine is on another filesystem or the file is
//! over the budget: the descriptor keeps the inode), and a worker with a
//! bounded queue makes the copy, hash and record ([`Later`]); a tampered
//! page's version, linked into its slot, is copied there too after the
//! page is back. With the queue full, the intruder is summarised (hash and
//! first bytes) and dropped with a counted event, as the budget drops
//! evidence. Directories in the way are still moved (or, across
//! filesystems, copied) where they are found.
//! A rebuild elsewhere (`restore_to`) refuses a target whose
//! path goes through a symlink or lies inside a sealed root.
//!
//! A restore can lose a race (the attacker swaps a directory for a symlink
//! between two of our steps, and the step refuses) or fail outright (a
//! corrupt pack, a full disk). Refusing is right; giving up is not: the
//! watcher retries every failed path with backoff and reconciles each root
//! with its baseline periodically (`watch::reconcile`), so the root
//! converges once the attacker stops, and its state says so only then.
//!
//! Two things cannot be restored through: a root whose path was displaced
//! (`mv www www.x; ln -s evilroot www`: [`SafeRoot::open`] refuses the
//! symlink, so nothing is written into the attacker's tree), and a
//! baseline whose MAC fails. Neither is only a log line: each is an event
//! at the highest severity that opens an incident, the root's state says
//! so, and the other roots are guarded on.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Stat, Timestamps, Uid};
use rustix::io::Errno;

use crate::GuardError;
use crate::diff::{Aspect, aspects};
use crate::manifest::{Entry, Kind, Manifest};
use crate::objects::ObjectStore;
use crate::quarantine::{self, Quarantine, QuarantineRecord};
use crate::scan::Filters;

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Set once `openat2` answered ENOSYS: this kernel is older than 5.6, and
/// [`resolve`] walks paths itself from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Open `path` from `dir` as `openat2(flags, how)` does, where `how` is
/// [`RESOLVE`] (beneath `dir`) or `NO_SYMLINKS | NO_MAGICLINKS` (from
/// `dir` or `/`, the web root itself); on a kernel without `openat2`,
/// component by component with the same guarantees (see the module
/// comment). The one way every path of a restore is opened.
pub(crate) fn resolve(
    dir: BorrowedFd<'_>,
    path: impl AsRef<[u8]>,
    flags: OFlags,
    how: ResolveFlags,
) -> rustix::io::Result<OwnedFd> {
    let path = path.as_ref();
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match rustix::fs::openat2(dir, path, flags, Mode::empty(), how) {
            Err(Errno::NOSYS) => {
                NO_OPENAT2.store(true, Ordering::Relaxed);
                tracing::info!(
                    "this kernel has no openat2 (Linux 5.6): restores resolve paths component by component"
                );
            }
            other => return other,
        }
    }
    resolve_by_component(dir, path, flags, how.contains(ResolveFlags::BENEATH))
}

/// [`resolve`] without `openat2`: one `openat` per component, none of
/// them `..`, none followed if a symlink; `beneath` refuses an absolute
/// path, which otherwise starts from `/`.
fn resolve_by_component(
    dir: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
    beneath: bool,
) -> rustix::io::Result<OwnedFd> {
    let absolute = path.first() == Some(&b'/');
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    if absolute && beneath {
        return Err(Errno::XDEV);
    }
    let names: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    if names.iter().any(|c| *c == b"..") {
        return Err(Errno::XDEV);
    }
    let top;
    let mut at = if absolute {
        top = rustix::fs::openat(
            rustix::fs::CWD,
            "/",
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        top
    } else {
        rustix::fs::openat(
            dir,
            ".",
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?
    };
    let Some((last, through)) = names.split_last() else {
        return rustix::fs::openat(
            &at,
            ".",
            flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        );
    };
    let step = |at: &OwnedFd, name: &[u8], flags: OFlags| {
        rustix::fs::openat(
            at,
            name,
            flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            // O_DIRECTORY says ENOTDIR for a symlink; openat2 says ELOOP.
            Errno::NOTDIR
                if rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| kind_of(&st) == Kind::Symlink) =>
            {
                Errno::LOOP
            }
            e => e,
        })
    };
    for name in through {
        at = step(&at, name, OFlags::DIRECTORY | OFlags::RDONLY)?;
    }
    step(&at, last, flags)
}

/// How restores open paths on this kernel, and why.
pub fn resolver() -> (&'static str, &'static str) {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        // Asked once; the answer is kept by `resolve`.
        let _ = resolve(
            rustix::fs::CWD,
            "/",
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            ResolveFlags::NO_SYMLINKS,
        );
    }
    if NO_OPENAT2.load(Ordering::Relaxed) {
        (
            "component by component",
            "the kernel has no openat2 (Linux 5.6): each directory is opened with O_NOFOLLOW from the one before, refusing .., absolute paths and symlinks",
        )
    } else {
        (
            "openat2",
            "RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: no path leads out of the root or through a symlink",
        )
    }
}

/// Prefix of the temporary names restores write to before renaming.
pub const TEMP_PREFIX: &[u8] = b".shouwang-restore-";

/// Temporary files of restores in progress (root path + relative path).
/// A watcher skips exactly these, so an attacker cannot hide a file by
/// giving it our prefix.
static IN_FLIGHT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

pub fn is_restore_temp(abs: &Path) -> bool {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|s| s.contains(abs))
}

struct TempName {
    abs: PathBuf,
    name: Vec<u8>,
}

impl TempName {
    fn new(root: &Path, parent_rel: &[u8]) -> TempName {
        let mut name = TEMP_PREFIX.to_vec();
        name.extend_from_slice(
            format!(
                "{}-{}",
                std::process::id(),
                TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
            )
            .as_bytes(),
        );
        let abs = crate::scan::abs_path(root, &crate::scan::join_rel(parent_rel, &name));
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashSet::new)
            .insert(abs.clone());
        TempName { abs, name }
    }
}

impl Drop for TempName {
    fn drop(&mut self) {
        if let Some(s) = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            s.remove(&self.abs);
        }
    }
}

/// What fixing one path did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It already matched the baseline (for example our own restore).
    Unchanged,
    /// It differed in `aspects` and was put back; the altered version, if
    /// worth keeping, is in quarantine under `quarantined`.
    Restored {
        aspects: Vec<Aspect>,
        quarantined: Option<String>,
    },
    /// It was missing and was recreated.
    Recreated,
    /// It is not in the baseline: moved into quarantine.
    Quarantined { id: String },
    /// A new file in a writable area: left alone, reported.
    WritableNew,
}

fn errno(path: &Path) -> impl Fn(Errno) -> GuardError + '_ {
    move |e| GuardError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

fn split(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[], rel),
    }
}

/// An open web root.
pub struct SafeRoot {
    path: PathBuf,
    fd: OwnedFd,
}

impl SafeRoot {
    /// Open a web root by its canonical path. No component of the path
    /// may be a symlink: the path was canonical when it was sealed, so a
    /// symlink in it now means someone swapped a directory for one, and a
    /// restore through it would write (and quarantine) somewhere else.
    pub fn open(path: &Path) -> Result<SafeRoot, GuardError> {
        let fd = resolve(
            rustix::fs::CWD,
            path.as_os_str().as_bytes(),
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(|e| match e {
            Errno::LOOP | Errno::NOTDIR => GuardError::Io {
                path: path.to_path_buf(),
                source: io::Error::other(
                    "a component of the web root's path is now a symlink (it was not when sealed): refusing to restore through it; investigate, then put the directory back or seal again",
                ),
            },
            other => errno(path)(other),
        })?;
        Ok(SafeRoot {
            path: path.to_path_buf(),
            fd,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Is `other` the same directory (device and inode)?
    pub fn same_dir(&self, other: &SafeRoot) -> bool {
        match (rustix::fs::fstat(&self.fd), rustix::fs::fstat(&other.fd)) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// Like `open_dir`, for callers outside this module.
    pub fn open_existing_dir(&self, rel: &[u8]) -> Result<OwnedFd, GuardError> {
        self.open_dir(rel)
            .map_err(errno(&crate::scan::abs_path(&self.path, rel)))
    }

    /// Open the existing directory `rel` beneath the root, refusing any
    /// symlink on the way.
    fn open_dir(&self, rel: &[u8]) -> rustix::io::Result<OwnedFd> {
        let path: &[u8] = if rel.is_empty() { b"." } else { rel };
        resolve(
            self.fd.as_fd(),
            path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            RESOLVE,
        )
    }
}

fn kind_of(st: &Stat) -> Kind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// The entry describing what is at `name` in `dir` now (hashing a file).
fn current_entry(
    dir: BorrowedFd<'_>,
    name: &[u8],
    rel: &[u8],
) -> rustix::io::Result<Option<Entry>> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let kind = kind_of(&st);
    let mut e = Entry {
        path: rel.into(),
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        size: if kind == Kind::Dir {
            0
        } else {
            st.st_size as u64
        },
        mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec as i64,
        hash: None,
        target: None,
    };
    match kind {
        Kind::File => {
            let fd = match rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut f = std::fs::File::from(fd);
            let mut h = blake3::Hasher::new();
            h.update_reader(&mut f)
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
            e.hash = Some(*h.finalize().as_bytes());
            e.size = f.metadata().map(|m| m.len()).unwrap_or(e.size);
        }
        Kind::Symlink => {
            e.target = Some(
                rustix::fs::readlinkat(dir, name, Vec::new())?
                    .into_bytes()
                    .into(),
            );
        }
        _ => {}
    }
    Ok(Some(e))
}

/// Puts paths of one root back to their sealed state.
pub struct Restorer<'a> {
    pub root: &'a SafeRoot,
    pub manifest: &'a Manifest,
    pub objects: &'a ObjectStore,
    pub quarantine: &'a Quarantine,
    pub filters: &'a Filters,
}

impl Restorer<'_> {
    fn abs(&self, rel: &[u8]) -> PathBuf {
        crate::scan::abs_path(self.root.path(), rel)
    }

    /// Make `rel` match the baseline: restore, recreate or quarantine.
    /// Idempotent: a path that already matches is left untouched, so the
    /// events of our own writes never cause more writes.
    pub fn fix(&self, rel: &[u8]) -> Result<Outcome, GuardError> {
        if self.filters.is_excluded(rel) || is_restore_temp(&self.abs(rel)) {
            return Ok(Outcome::Unchanged);
        }
        let want = self.manifest.get(rel);
        let (parent_rel, name) = split(rel);
        let Some(want) = want else {
            // Not sealed. If its directory is gone, there is nothing here.
            let parent = match self.root.open_dir(parent_rel) {
                Ok(fd) => fd,
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::XDEV) => {
                    return Ok(Outcome::Unchanged);
                }
                Err(e) => return Err(errno(&self.abs(parent_rel))(e)),
            };
            if rel.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            return match rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => Ok(Outcome::Unchanged),
                Err(e) => Err(errno(&self.abs(rel))(e)),
                Ok(_) if self.filters.is_writable(rel) => Ok(Outcome::WritableNew),
                Ok(st) => {
                    let id =
                        self.quarantine_item(parent.as_fd(), name, rel, &st, "intruder", false)?;
                    Ok(Outcome::Quarantined { id })
                }
            };
        };
        if self.filters.is_writable(rel) {
            return Ok(Outcome::Unchanged);
        }
        if rel.is_empty() {
            return self.fix_root(want);
        }
        let parent = self.ensure_dir(parent_rel)?;
        let now = current_entry(parent.as_fd(), name, rel).map_err(errno(&self.abs(rel)))?;
        let Some(now) = now else {
            self.create(parent.as_fd(), parent_rel, name, want)?;
            return Ok(Outcome::Recreated);
        };
        let asp = aspects(want, &now);
        if asp.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        // Keep the altered version as evidence when its content changed.
        let evidence_worthy = asp
            .iter()
            .any(|a| matches!(a, Aspect::Content | Aspect::Type | Aspect::Target));
        let mut quarantined = None;
        if now.kind == Kind::Dir && want.kind != Kind::Dir {
            // A directory where a file belongs: move it (and all in it) away.
            let st = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno(&self.abs(rel)))?;
            quarantined =
                Some(self.quarantine_item(parent.as_fd(), name, rel, &st, "tampered", false)?);
        } else if want.kind == Kind::Dir && now.kind == Kind::Dir {
            let dir = self.root.open_dir(rel).map_err(errno(&self.abs(rel)))?;
            set_owner_mode(dir.as_fd(), want).map_err(errno(&self.abs(rel)))?;
            return Ok(Outcome::Restored {
                aspects: asp,
                quarantined: None,
            });
        } else if evidence_worthy || want.kind == Kind::Dir {
            let st = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno(&self.abs(rel)))?;
            // A non-directory where a directory belongs must go before the
            // mkdir; otherwise a link keeps the evidence and the rename
            // below replaces the path atomically.
            let keep_in_place = want.kind != Kind::Dir;
            if keep_in_place {
                // The page is put back first; the evidence is copied after,
                // so the defacement is served no longer than it must be.
                // Nor does a quarantine that cannot take it stop the restore.
                let kept = self
                    .quarantine_start(parent.as_fd(), name, rel, &st, "tampered", true)
                    .inspect_err(|e| tracing::warn!("cannot keep the tampered version: {e}"))
                    .ok();
                self.create(parent.as_fd(), parent_rel, name, want)?;
                let id = kept.and_then(|k| {
                    self.finish_or_defer(k)
                        .inspect_err(|e| tracing::warn!("cannot record the tampered version: {e}"))
                        .ok()
                });
                return Ok(Outcome::Restored {
                    aspects: asp,
                    quarantined: id,
                });
            }
            quarantined =
                Some(self.quarantine_item(parent.as_fd(), name, rel, &st, "tampered", false)?);
        }
        self.create(parent.as_fd(), parent_rel, name, want)?;
        Ok(Outcome::Restored {
            aspects: asp,
            quarantined,
        })
    }

    fn fix_root(&self, want: &Entry) -> Result<Outcome, GuardError> {
        let st = rustix::fs::fstat(&self.root.fd).map_err(errno(self.root.path()))?;
        let now = Entry {
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            ..want.clone()
        };
        let asp = aspects(want, &now);
        if asp.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        set_owner_mode(self.root.fd.as_fd(), want).map_err(errno(self.root.path()))?;
        Ok(Outcome::Restored {
            aspects: asp,
            quarantined: None,
        })
    }

    /// Open directory `rel`, recreating it (and its parents) from the
    /// baseline when missing, and moving a non-directory in its way to
    /// quarantine.
    fn ensure_dir(&self, rel: &[u8]) -> Result<OwnedFd, GuardError> {
        match self.root.open_dir(rel) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => {}
            Err(e) => return Err(errno(&self.abs(rel))(e)),
        }
        if rel.is_empty() {
            return Err(GuardError::Io {
                path: self.root.path().to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotFound, "the web root itself is gone"),
            });
        }
        let (parent_rel, name) = split(rel);
        let parent = self.ensure_dir(parent_rel)?;
        let want = self
            .manifest
            .get(rel)
            .filter(|e| e.kind == Kind::Dir)
            .ok_or_else(|| GuardError::Io {
                path: self.abs(rel),
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "a parent directory is missing and not in the baseline",
                ),
            })?;
        match rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if kind_of(&st) != Kind::Dir => {
                self.quarantine_item(parent.as_fd(), name, rel, &st, "tampered", false)?;
            }
            _ => {}
        }
        self.create(parent.as_fd(), parent_rel, name, want)?;
        self.root.open_dir(rel).map_err(errno(&self.abs(rel)))
    }

    /// Create `name` in `parent` as the baseline has it, atomically for
    /// files and symlinks.
    fn create(
        &self,
        parent: BorrowedFd<'_>,
        parent_rel: &[u8],
        name: &[u8],
        want: &Entry,
    ) -> Result<(), GuardError> {
        let abs = self.abs(&want.path);
        let err = errno(&abs);
        match want.kind {
            Kind::Dir => {
                match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(err(e)),
                }
                let fd = resolve(
                    parent,
                    name,
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    RESOLVE,
                )
                .map_err(&err)?;
                set_owner_mode(fd.as_fd(), want).map_err(err)
            }
            Kind::File => {
                let hash = want.hash.as_ref().ok_or_else(|| GuardError::Io {
                    path: abs.clone(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the baseline has no content for this file",
                    ),
                })?;
                let content =
                    self.objects
                        .read_verified(hash, want.size)
                        .map_err(|e| GuardError::Io {
                            path: self.objects.path_of(hash),
                            source: e,
                        })?;
                let tmp = TempName::new(self.root.path(), parent_rel);
                let fd = rustix::fs::openat(
                    parent,
                    tmp.name.as_slice(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(&err)?;
                let result = (|| -> rustix::io::Result<()> {
                    let mut f = std::fs::File::from(fd);
                    f.write_all(&content)
                        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
                    set_owner_mode(f.as_fd(), want)?;
                    let t = rustix::fs::Timespec {
                        tv_sec: want.mtime_ns.div_euclid(1_000_000_000),
                        tv_nsec: want.mtime_ns.rem_euclid(1_000_000_000) as _,
                    };
                    let _ = rustix::fs::futimens(
                        &f,
                        &Timestamps {
                            last_access: t,
                            last_modification: t,
                        },
                    );
                    rustix::fs::renameat(parent, tmp.name.as_slice(), parent, name)
                })();
                if result.is_err() {
                    let _ = rustix::fs::unlinkat(parent, tmp.name.as_slice(), AtFlags::empty());
                }
                result.map_err(err)
            }
            Kind::Symlink => {
                let target = want.target.as_deref().unwrap_or_default();
                let tmp = TempName::new(self.root.path(), parent_rel);
                let result = (|| -> rustix::io::Result<()> {
                    rustix::fs::symlinkat(target, parent, tmp.name.as_slice())?;
                    match rustix::fs::chownat(
                        parent,
                        tmp.name.as_slice(),
                        Some(Uid::from_raw(want.uid)),
                        Some(Gid::from_raw(want.gid)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    ) {
                        Ok(()) | Err(Errno::PERM) => {}
                        Err(e) => return Err(e),
                    }
                    rustix::fs::renameat(parent, tmp.name.as_slice(), parent, name)
                })();
                if result.is_err() {
                    let _ = rustix::fs::unlinkat(parent, tmp.name.as_slice(), AtFlags::empty());
                }
                result.map_err(err)
            }
            Kind::Other => Err(GuardError::Io {
                path: abs.clone(),
                source: io::Error::new(
                    io::ErrorKind::Unsupported,
                    "special files (sockets, fifos, devices) are not restored",
                ),
            }),
        }
    }

    /// Move (or, with `keep_in_place`, hard-link) what is at `name` into a
    /// new quarantine slot, with a record of it. Returns the record id.
    fn quarantine_item(
        &self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &Stat,
        reason: &str,
        keep_in_place: bool,
    ) -> Result<String, GuardError> {
        if let Some(later) = &self.quarantine.later
            && !keep_in_place
            && kind_of(st) == Kind::File
        {
            return self.quarantine_later(later, parent, name, rel, st, reason);
        }
        let kept = self.quarantine_start(parent, name, rel, st, reason, keep_in_place)?;
        self.quarantine_finish(kept)
    }

    /// Take the file at `name` out of the web root at once, in O(1): held
    /// open, then renamed into its slot (or, on another filesystem or over
    /// the budget, unlinked: the open descriptor keeps the inode). The
    /// copy, hash and record are the worker's. When its queue is full the
    /// file is summarised here (hash and first bytes) and dropped with a
    /// counted event, as the budget drops evidence.
    fn quarantine_later(
        &self,
        later: &Later,
        parent: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &Stat,
        reason: &str,
    ) -> Result<String, GuardError> {
        let src = match rustix::fs::openat(
            parent,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            // Unreadable to us (not root): moving it needs no read access.
            Err(Errno::ACCESS | Errno::PERM) => {
                let kept = self.quarantine_start(parent, name, rel, st, reason, false)?;
                return self.quarantine_finish(kept);
            }
            Err(e) => return Err(errno(&self.abs(rel))(e)),
        };
        let room = self.quarantine.make_room(st.st_size as u64);
        let (id, slot_path, slot) = self.quarantine.slot()?;
        let record = self.record(id.clone(), rel, st, reason);
        let in_slot = room && quarantine::move_into(parent, name, &slot).is_ok();
        if !in_slot {
            rustix::fs::unlinkat(parent, name, AtFlags::empty()).map_err(errno(&self.abs(rel)))?;
        }
        let pending = Pending {
            kept: Kept {
                slot_path,
                slot,
                record,
                file: true,
                copied: false,
            },
            src: Some(src),
            in_slot,
            room,
            accountant: self.quarantine.accountant(),
        };
        match later.tx.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(p)) => {
                let record = summarise(p);
                self.quarantine.note_dropped(record);
            }
            Err(TrySendError::Disconnected(p)) => finish_pending(p),
        }
        Ok(id)
    }

    /// [`Restorer::quarantine_finish`] by the worker if there is one (its
    /// queue full: here).
    fn finish_or_defer(&self, kept: Kept) -> Result<String, GuardError> {
        let Some(later) = &self.quarantine.later else {
            return self.quarantine_finish(kept);
        };
        let id = kept.record.id.clone();
        let pending = Pending {
            kept,
            src: None,
            in_slot: true,
            room: true,
            accountant: self.quarantine.accountant(),
        };
        match later.tx.try_send(pending) {
            Ok(()) => Ok(id),
            Err(TrySendError::Full(p) | TrySendError::Disconnected(p)) => {
                self.quarantine_finish(p.kept)
            }
        }
    }

    /// The record of what is at `rel`, as `st` describes it.
    fn record(&self, id: String, rel: &[u8], st: &Stat, reason: &str) -> QuarantineRecord {
        QuarantineRecord {
            id,
            path: String::from_utf8_lossy(rel).into_owned(),
            root: self.root.path().display().to_string(),
            reason: reason.to_string(),
            kind: format!("{:?}", kind_of(st)).to_lowercase(),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            blake3: None,
            symlink_target: None,
            quarantined_at: chrono::Utc::now(),
            kept: true,
            first_bytes: None,
        }
    }

    /// Take what is at `name` into a new quarantine slot (moved, or with
    /// `keep_in_place` hard-linked), not yet recorded.
    fn quarantine_start(
        &self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &Stat,
        reason: &str,
        keep_in_place: bool,
    ) -> Result<Kept, GuardError> {
        let kind = kind_of(st);
        // The oldest evidence makes room; an item over the whole budget is
        // not kept, only described.
        let room = self.quarantine.make_room(st.st_size as u64);
        let (id, slot_path, slot) = self.quarantine.slot()?;
        let mut record = self.record(id, rel, st, reason);
        if kind == Kind::Symlink {
            record.symlink_target = rustix::fs::readlinkat(parent, name, Vec::new())
                .ok()
                .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned());
        }
        let moved = if !room {
            Err(Errno::FBIG)
        } else if keep_in_place {
            quarantine::link_into(parent, name, &slot)
        } else {
            quarantine::move_into(parent, name, &slot)
        };
        // A copy is already ours: no one else holds it open.
        let mut copied = false;
        let kept = match moved {
            Ok(()) => true,
            // Quarantine on another filesystem: copy, then remove (unless
            // the caller replaces it atomically right after).
            Err(Errno::XDEV) => {
                match copy_tree(parent, name, slot.as_fd(), quarantine::ITEM.as_bytes()) {
                    Ok(()) => {
                        copied = true;
                        true
                    }
                    Err(e) => {
                        // A partial copy is no evidence and takes the room
                        // that events and audit entries need.
                        let _ = remove_tree(slot.as_fd(), quarantine::ITEM.as_bytes());
                        tracing::warn!(path = %self.abs(rel).display(), "cannot keep a copy in quarantine: {e}");
                        false
                    }
                }
            }
            Err(Errno::FBIG) => false,
            Err(e) => {
                tracing::warn!(path = %self.abs(rel).display(), "cannot move into quarantine: {e}");
                false
            }
        };
        if !kept {
            // Described instead of kept: its hash and first bytes.
            record.kept = false;
            if kind == Kind::File
                && let Ok((hash, first)) = describe(parent, name)
            {
                record.blake3 = Some(hash.to_hex().to_string());
                record.first_bytes = Some(hex::encode(first));
            }
        }
        if (!kept || copied) && !keep_in_place {
            // Out of the web root whether or not it could be kept.
            remove_tree(parent, name).map_err(errno(&self.abs(rel)))?;
        }
        Ok(Kept {
            slot_path,
            slot,
            record,
            file: kept && kind == Kind::File,
            copied,
        })
    }

    /// Record what the slot keeps. A file moved or linked in may still be
    /// open for writing by whoever wrote it, and what they write lands in
    /// that inode: the record would describe bytes that keep changing. So
    /// the slot keeps a copy of its own, and the size and hash recorded are
    /// the copy's. Writes after the copy go to the inode it replaced, which
    /// is gone from the web root and from the quarantine.
    fn quarantine_finish(&self, mut kept: Kept) -> Result<String, GuardError> {
        if kept.file {
            let item = kept.slot_path.join(quarantine::ITEM);
            match own_copy(kept.slot.as_fd(), !kept.copied) {
                Ok((size, hash)) => {
                    kept.record.size = size;
                    kept.record.blake3 = Some(hash.to_hex().to_string());
                }
                Err(e) => {
                    tracing::warn!(item = %item.display(), "cannot keep a copy of the quarantined file: {e}")
                }
            }
        }
        self.quarantine
            .write_record(&kept.slot_path, &kept.record)?;
        // One not kept still costs its record.
        let size = if kept.record.kept {
            kept.record.size
        } else {
            0
        };
        self.quarantine.note_kept(&kept.record.id, size);
        Ok(kept.record.id)
    }
}

/// How many first bytes of a file not kept its record shows.
const FIRST_BYTES: usize = 256;

/// The hash and first bytes of the file `name` in `dir`, read in place.
fn describe(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<(blake3::Hash, Vec<u8>)> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    describe_file(&mut std::fs::File::from(fd))
}

/// The hash and first bytes of an open file, read from its start.
fn describe_file(f: &mut std::fs::File) -> io::Result<(blake3::Hash, Vec<u8>)> {
    use std::io::Seek;
    f.rewind()?;
    let mut first = vec![0u8; FIRST_BYTES];
    let mut n = 0;
    while n < FIRST_BYTES {
        let k = f.read(&mut first[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    first.truncate(n);
    let mut h = blake3::Hasher::new();
    h.update(&first);
    io::copy(f, &mut h)?;
    Ok((h.finalize(), first))
}

/// How many items may wait for the quarantine worker.
const LATER_QUEUE: usize = 64;

/// Evidence out of the web root, not yet copied or recorded.
pub(crate) struct Pending {
    kept: Kept,
    /// The intruder as taken, held open (`None`: a tampered version, linked
    /// into its slot).
    src: Option<OwnedFd>,
    /// In the slot already (renamed or linked there); else only `src`
    /// holds it.
    in_slot: bool,
    /// The budget made room for it.
    room: bool,
    accountant: quarantine::Accountant,
}

/// The watcher's quarantine worker: copies, hashes and records what the
/// restores took out of the web roots, so that no restore waits behind a
/// large copy. A bounded queue; see [`Restorer::quarantine_later`].
#[derive(Clone)]
pub(crate) struct Later {
    tx: SyncSender<Pending>,
}

impl Later {
    /// Start the worker; it ends once every `Later` is dropped and what
    /// was queued is recorded.
    pub(crate) fn start() -> io::Result<(Later, std::thread::JoinHandle<()>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Pending>(LATER_QUEUE);
        let worker = std::thread::Builder::new()
            .name("guard-quarantine".into())
            .spawn(move || rx.into_iter().for_each(finish_pending))?;
        Ok((Later { tx }, worker))
    }
}

/// Keep what `p` holds: a copy of its own in the slot, its size and hash
/// in the record; or, when it cannot be kept, its hash and first bytes.
fn finish_pending(p: Pending) {
    let Pending {
        mut kept,
        src,
        in_slot,
        room,
        accountant,
    } = p;
    let mut src = src.map(std::fs::File::from);
    let copied = if in_slot {
        kept.file.then(|| own_copy(kept.slot.as_fd(), !kept.copied))
    } else if let (true, Some(f)) = (room, src.as_mut()) {
        Some(copy_into_slot(f, kept.slot.as_fd()))
    } else {
        Some(Err(io::Error::from(io::ErrorKind::StorageFull)))
    };
    match copied {
        Some(Ok((size, hash))) => {
            kept.record.size = size;
            kept.record.blake3 = Some(hash.to_hex().to_string());
        }
        Some(Err(e)) if !in_slot => {
            if room {
                tracing::warn!(path = %kept.record.path, "cannot keep a copy in quarantine: {e}");
            }
            kept.record.kept = false;
            if let Some(Ok((hash, first))) = src.as_mut().map(describe_file) {
                kept.record.blake3 = Some(hash.to_hex().to_string());
                kept.record.first_bytes = Some(hex::encode(first));
            }
        }
        Some(Err(e)) => {
            tracing::warn!(slot = %kept.slot_path.display(), "cannot keep a copy of the quarantined file: {e}")
        }
        None => {}
    }
    let record = &kept.record;
    if let Err(e) = quarantine::write_record(&kept.slot_path, record) {
        tracing::warn!("cannot record quarantined evidence: {e}");
    }
    accountant.note_kept(&record.id, if record.kept { record.size } else { 0 });
}

/// Summarise `p` without keeping it (the worker's queue is full): its hash
/// and first bytes in a record marked not kept, the item taken away.
fn summarise(p: Pending) -> QuarantineRecord {
    let Pending {
        mut kept,
        src,
        in_slot,
        accountant,
        ..
    } = p;
    if let Some(Ok((hash, first))) = src.map(|fd| describe_file(&mut std::fs::File::from(fd))) {
        kept.record.blake3 = Some(hash.to_hex().to_string());
        kept.record.first_bytes = Some(hex::encode(first));
    }
    if in_slot {
        let _ = rustix::fs::unlinkat(&kept.slot, quarantine::ITEM, AtFlags::empty());
    }
    kept.record.kept = false;
    if let Err(e) = quarantine::write_record(&kept.slot_path, &kept.record) {
        tracing::warn!("cannot record quarantined evidence: {e}");
    }
    accountant.note_kept(&kept.record.id, 0);
    kept.record
}

/// Copy an open file into the slot's item (its owner and mode as they
/// were); no partial copy is left. Returns the size and hash of the copy.
fn copy_into_slot(
    src: &mut std::fs::File,
    slot: BorrowedFd<'_>,
) -> io::Result<(u64, blake3::Hash)> {
    let dst = rustix::fs::openat(
        slot,
        quarantine::ITEM,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut dst = std::fs::File::from(dst);
    let copied = (|| -> io::Result<(u64, blake3::Hash)> {
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = src.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            dst.write_all(&buf[..k])?;
            n += k as u64;
        }
        let st = rustix::fs::fstat(&*src)?;
        match rustix::fs::fchown(
            &dst,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        ) {
            Ok(()) | Err(Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
        rustix::fs::fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777))?;
        Ok((n, h.finalize()))
    })();
    if copied.is_err() {
        let _ = rustix::fs::unlinkat(slot, quarantine::ITEM, AtFlags::empty());
    }
    copied
}

/// A quarantine slot filled and not yet recorded.
struct Kept {
    slot_path: PathBuf,
    slot: OwnedFd,
    record: QuarantineRecord,
    file: bool,
    copied: bool,
}

/// Hash the slot's item, first replacing it with a copy of its own when
/// `copy` (the item may be an inode someone still writes to). Returns the
/// size and hash of what the slot keeps.
fn own_copy(slot: BorrowedFd<'_>, copy: bool) -> io::Result<(u64, blake3::Hash)> {
    const KEPT: &str = "item.copy";
    let src = rustix::fs::openat(
        slot,
        quarantine::ITEM,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut src = std::fs::File::from(src);
    let mut h = blake3::Hasher::new();
    if !copy {
        let n = io::copy(&mut src, &mut h)?;
        return Ok((n, h.finalize()));
    }
    let dst = rustix::fs::openat(
        slot,
        KEPT,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut dst = std::fs::File::from(dst);
    let copied = (|| -> io::Result<u64> {
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = src.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            dst.write_all(&buf[..k])?;
            n += k as u64;
        }
        // As it was (a release puts it back into the web root as is).
        let st = rustix::fs::fstat(&src)?;
        match rustix::fs::fchown(
            &dst,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        ) {
            Ok(()) | Err(Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
        rustix::fs::fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777))?;
        rustix::fs::renameat(slot, KEPT, slot, quarantine::ITEM)?;
        Ok(n)
    })();
    match copied {
        Ok(n) => Ok((n, h.finalize())),
        Err(e) => {
            // No partial copy is left behind; the item moved in stays.
            let _ = rustix::fs::unlinkat(slot, KEPT, AtFlags::empty());
            Err(e)
        }
    }
}

fn set_owner_mode(fd: BorrowedFd<'_>, want: &Entry) -> rustix::io::Result<()> {
    // Owner first: chown clears setuid/setgid bits, which chmod then sets.
    match rustix::fs::fchown(
        fd,
        Some(Uid::from_raw(want.uid)),
        Some(Gid::from_raw(want.gid)),
    ) {
        Ok(()) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    rustix::fs::fchmod(fd, Mode::from_raw_mode(want.mode))
}

/// Copy a file, symlink or directory tree without following symlinks.
fn copy_tree(
    src_dir: BorrowedFd<'_>,
    name: &[u8],
    dst_dir: BorrowedFd<'_>,
    dst_name: &[u8],
) -> rustix::io::Result<()> {
    let st = rustix::fs::statat(src_dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    match kind_of(&st) {
        Kind::File => {
            let src = rustix::fs::openat(
                src_dir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let dst = rustix::fs::openat(
                dst_dir,
                dst_name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            let (mut s, mut d) = (std::fs::File::from(src), std::fs::File::from(dst));
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = s
                    .read(&mut buf)
                    .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
                if n == 0 {
                    break;
                }
                d.write_all(&buf[..n])
                    .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
            }
            Ok(())
        }
        Kind::Symlink => {
            let target = rustix::fs::readlinkat(src_dir, name, Vec::new())?;
            rustix::fs::symlinkat(target.as_bytes(), dst_dir, dst_name)
        }
        Kind::Dir => {
            rustix::fs::mkdirat(dst_dir, dst_name, Mode::from_raw_mode(0o700))?;
            let src = resolve(
                src_dir,
                name,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                RESOLVE,
            )?;
            let dst = resolve(
                dst_dir,
                dst_name,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                RESOLVE,
            )?;
            for child in children(src.as_fd())? {
                copy_tree(src.as_fd(), &child, dst.as_fd(), &child)?;
            }
            Ok(())
        }
        // A fifo or device is recorded in the quarantine record only.
        Kind::Other => Ok(()),
    }
}

fn remove_tree(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<()> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if kind_of(&st) == Kind::Dir {
        let sub = resolve(
            dir,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            RESOLVE,
        )?;
        for child in children(sub.as_fd())? {
            remove_tree(sub.as_fd(), &child)?;
        }
        rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
    } else {
        rustix::fs::unlinkat(dir, name, AtFlags::empty())
    }
}

fn children(dir: BorrowedFd<'_>) -> rustix::io::Result<Vec<Vec<u8>>> {
    let fd = rustix::fs::openat(
        dir,
        ".",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut out = Vec::new();
    for e in rustix::fs::Dir::read_from(&fd)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(n.to_vec());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ino(fd: &OwnedFd) -> u64 {
        rustix::fs::fstat(fd).unwrap().st_ino
    }

    /// The walk used where `openat2` is missing opens what `openat2`
    /// opens and refuses what it refuses (and `..` even when it would
    /// stay beneath).
    #[test]
    fn the_component_walk_opens_and_refuses_what_openat2_does() {
        let tmp = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(tmp.path()).unwrap();
        let root = top.join("www");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.html"), "x").unwrap();
        std::os::unix::fs::symlink("a", root.join("link")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("a/etc")).unwrap();
        std::os::unix::fs::symlink("b/f.html", root.join("a/page")).unwrap();
        let dir =
            rustix::fs::open(&root, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        for p in [".", "a", "a/b", "a//b/", "./a/./b", "a/b/f.html"] {
            let walked = resolve_by_component(dir.as_fd(), p.as_bytes(), flags, true).unwrap();
            let kernel = rustix::fs::openat2(&dir, p, flags, Mode::empty(), RESOLVE).unwrap();
            assert_eq!(ino(&walked), ino(&kernel), "{p}");
        }
        for (p, want) in [
            ("link", Errno::LOOP),
            ("link/b", Errno::LOOP),
            ("a/etc", Errno::LOOP),
            ("a/etc/passwd", Errno::LOOP),
            ("a/page", Errno::LOOP),
            ("../www/a", Errno::XDEV),
            ("a/../a", Errno::XDEV),
            ("/etc", Errno::XDEV),
            ("a/b/f.html/x", Errno::NOTDIR),
            ("a/none", Errno::NOENT),
            ("", Errno::NOENT),
        ] {
            let got = resolve_by_component(dir.as_fd(), p.as_bytes(), flags, true).unwrap_err();
            assert_eq!(got, want, "{p}");
        }
        // Directories are refused as a symlink, as openat2 refuses them.
        let dirs = OFlags::DIRECTORY | OFlags::RDONLY;
        let got = resolve_by_component(dir.as_fd(), b"link", dirs, true).unwrap_err();
        let kernel = rustix::fs::openat2(&dir, "link", dirs, Mode::empty(), RESOLVE).unwrap_err();
        assert_eq!((got, kernel), (Errno::LOOP, Errno::LOOP));
        // The web root itself, by its absolute path: no symlink on the way.
        let abs = root.join("a/b");
        let walked =
            resolve_by_component(rustix::fs::CWD, abs.as_os_str().as_bytes(), dirs, false).unwrap();
        assert_eq!(
            ino(&walked),
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&abs).unwrap())
        );
        let through = root.join("link/b");
        let got =
            resolve_by_component(rustix::fs::CWD, through.as_os_str().as_bytes(), dirs, false)
                .unwrap_err();
        assert_eq!(got, Errno::LOOP);
    }

    /// When the quarantine worker cannot take more, the intruder still
    /// leaves the web root, and what is kept of it is its hash and first
    /// bytes, with a drop counted (an event, as the budget's drops are).
    #[test]
    fn with_the_workers_queue_full_an_intruder_is_summarised_and_counted_as_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("www");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("index.html"), "<html>乡镇政府</html>").unwrap();
        let g = crate::GuardDir::open(&tmp.path().join("data")).unwrap();
        g.seal(&root, &Default::default()).unwrap();
        let mut b = g.baseline(&root).unwrap();
        // A worker that never takes anything: every hand-over finds it full.
        let (tx, _worker) = std::sync::mpsc::sync_channel(0);
        b.quarantine.later = Some(Later { tx });
        let shell = b"<?php eval($_POST[1]);";
        std::fs::write(root.join("shell.php"), shell).unwrap();
        let safe = SafeRoot::open(&b.root).unwrap();
        let Outcome::Quarantined { id } = b.restorer(&safe).fix(b"shell.php").unwrap() else {
            panic!("not quarantined");
        };
        assert!(!root.join("shell.php").exists());
        let r = b.quarantine.get(&id).unwrap();
        assert!(!r.kept, "{r:?}");
        assert_eq!(r.blake3, Some(blake3::hash(shell).to_hex().to_string()));
        assert_eq!(r.first_bytes, Some(hex::encode(shell)));
        assert!(!b.quarantine.dir().join(&id).join(quarantine::ITEM).exists());
        let dropped = b.quarantine.take_dropped();
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!((dropped[0].0.path.as_str(), dropped[0].1), ("shell.php", 1));
    }
}
