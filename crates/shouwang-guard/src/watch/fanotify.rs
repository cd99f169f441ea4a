//! fanotify filesystem marks: one mark per filesystem covers every
//! directory under a web root, however many there are (no watch limits),
//! and events carry the directory's file handle and the entry's name.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use super::RawEvent;

const MASK: u64 = libc::FAN_MODIFY
    | libc::FAN_ATTRIB
    | libc::FAN_CLOSE_WRITE
    | libc::FAN_CREATE
    | libc::FAN_DELETE
    | libc::FAN_MOVED_FROM
    | libc::FAN_MOVED_TO
    | libc::FAN_DELETE_SELF
    | libc::FAN_MOVE_SELF
    | libc::FAN_ONDIR;

pub struct Fanotify {
    fd: OwnedFd,
    /// One descriptor per marked filesystem, to resolve handles against.
    mounts: Vec<OwnedFd>,
    /// Directory handle → its path at the time it was resolved. Cleared
    /// whenever a directory moves or goes, since then a cached path may lie.
    dirs: HashMap<Vec<u8>, Option<PathBuf>>,
    buf: Vec<u8>,
    /// The thread that reads events is the thread that restores (events
    /// carry thread ids with FAN_REPORT_TID): its own writes are skipped.
    tid: i32,
    /// The guarded roots: events in directories neither inside nor above
    /// one are someone else's.
    roots: Vec<PathBuf>,
    /// Events seen per foreign directory handle. A filesystem mark sees
    /// the whole filesystem: a directory outside the roots that keeps
    /// busy (a database, logs, our own store) gets an ignore mark, so the
    /// kernel stops sending its events at all.
    foreign: HashMap<Vec<u8>, u32>,
    /// How many ignore marks are in place.
    ignoring: usize,
    /// Whether the last read brought foreign events and nothing else to
    /// handle (our own restores do not count).
    foreign_only: bool,
    /// Foreign events seen so far.
    foreign_seen: u64,
}

/// Remove every inode mark of a fanotify group (its filesystem and mount
/// marks stay).
pub(crate) fn flush_inode_marks(group: std::os::fd::BorrowedFd<'_>) {
    // SAFETY: valid descriptor; FLUSH takes no path. Without
    // FAN_MARK_FILESYSTEM or FAN_MARK_MOUNT it removes the inode marks.
    unsafe {
        libc::fanotify_mark(
            group.as_raw_fd(),
            libc::FAN_MARK_FLUSH,
            0,
            libc::AT_FDCWD,
            std::ptr::null(),
        )
    };
}

/// Foreign events from one directory before it is ignored.
const BUSY: u32 = 256;

/// How long to let events gather after a wake-up that brought only
/// foreign ones.
const FLOOD_PAUSE: Duration = Duration::from_millis(2);

/// Why [`Fanotify::new`] failed, in words that say what to do.
pub fn why_not(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            "fanotify filesystem marks need root (CAP_SYS_ADMIN): inotify is used".into()
        }
        Some(libc::EINVAL) => {
            "this kernel's fanotify has no directory handles (FAN_REPORT_DFID_NAME and filesystem marks, Linux 5.9): inotify is used".into()
        }
        Some(libc::ENOSYS) => "this kernel has no fanotify: inotify is used".into(),
        _ => format!("fanotify cannot be used here ({e}): inotify is used"),
    }
}

impl Fanotify {
    /// Mark the filesystems holding `roots`. Fails (and the caller falls
    /// back to inotify) without CAP_SYS_ADMIN or on kernels before 5.9.
    pub fn new(roots: &[PathBuf]) -> io::Result<Fanotify> {
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_NOTIF
                    | libc::FAN_CLOEXEC
                    | libc::FAN_NONBLOCK
                    | libc::FAN_REPORT_DFID_NAME
                    | libc::FAN_REPORT_TID,
                (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as libc::c_uint,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut mounts = Vec::new();
        for root in roots {
            let c =
                std::ffi::CString::new(root.as_os_str().as_bytes()).map_err(io::Error::other)?;
            // SAFETY: valid descriptor and NUL-terminated path.
            let r = unsafe {
                libc::fanotify_mark(
                    fd.as_raw_fd(),
                    libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
                    MASK,
                    libc::AT_FDCWD,
                    c.as_ptr(),
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            mounts.push(OwnedFd::from(std::fs::File::open(root)?));
        }
        Ok(Fanotify {
            fd,
            mounts,
            dirs: HashMap::new(),
            buf: vec![0; 256 * 1024],
            tid: 0,
            roots: roots.to_vec(),
            foreign: HashMap::new(),
            ignoring: 0,
            foreign_only: false,
            foreign_seen: 0,
        })
    }

    /// Neither inside a root nor above one (where a root itself can be
    /// moved or deleted).
    fn is_foreign(&self, dir: &std::path::Path) -> bool {
        !self
            .roots
            .iter()
            .any(|r| dir.starts_with(r) || r.starts_with(dir))
    }

    /// Count an event of a foreign directory; a busy one is ignored from
    /// now on.
    fn count_foreign(&mut self, handle: &[u8]) {
        self.foreign_seen += 1;
        if self.foreign.len() > 100_000 {
            self.foreign.clear();
        }
        let n = self.foreign.entry(handle.to_vec()).or_insert(0);
        *n += 1;
        if *n != BUSY {
            return;
        }
        for m in &self.mounts {
            // SAFETY: `handle` is a `struct file_handle` as the kernel gave it.
            let fd = unsafe {
                libc::open_by_handle_at(
                    m.as_raw_fd(),
                    handle.as_ptr() as *mut libc::file_handle,
                    // Not O_PATH: fanotify_mark refuses those (EBADF).
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                continue;
            }
            // SAFETY: a fresh descriptor we own.
            let dir = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: valid descriptors; a NULL path marks `dir` itself.
            let r = unsafe {
                libc::fanotify_mark(
                    self.fd.as_raw_fd(),
                    libc::FAN_MARK_ADD | libc::FAN_MARK_IGNORE_SURV,
                    MASK | libc::FAN_EVENT_ON_CHILD,
                    dir.as_raw_fd(),
                    std::ptr::null(),
                )
            };
            if r == 0 {
                self.ignoring += 1;
            } else {
                tracing::debug!(
                    "cannot ignore a busy directory: {}",
                    io::Error::last_os_error()
                );
            }
            break;
        }
    }

    /// Drop every ignore mark: a directory moved into a root may carry
    /// one from when it was outside.
    fn forget_ignores(&mut self) {
        if self.ignoring == 0 {
            return;
        }
        // Only ignore marks are inode marks here: the filesystem mark stays.
        flush_inode_marks(self.fd.as_fd());
        self.ignoring = 0;
        self.foreign.clear();
    }

    /// Resolve a directory handle to its current path.
    fn resolve(&mut self, handle: &[u8]) -> Option<PathBuf> {
        if let Some(p) = self.dirs.get(handle) {
            return p.clone();
        }
        let mut path = None;
        for m in &self.mounts {
            // SAFETY: `handle` is a `struct file_handle` as the kernel gave it.
            let fd = unsafe {
                libc::open_by_handle_at(
                    m.as_raw_fd(),
                    handle.as_ptr() as *mut libc::file_handle,
                    libc::O_PATH | libc::O_CLOEXEC,
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor we own.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok();
                break;
            }
        }
        if self.dirs.len() > 100_000 {
            self.dirs.clear();
        }
        self.dirs.insert(handle.to_vec(), path.clone());
        path
    }

    /// Wait up to `timeout` and read what is pending.
    pub fn read(&mut self, out: &mut Vec<RawEvent>, timeout: Duration) -> io::Result<()> {
        // The raw syscall, not libc::gettid: glibc has the wrapper only
        // since 2.30, and the package must run on glibc 2.28.
        // SAFETY: gettid takes no arguments and cannot fail.
        self.tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
        // The last wake-up brought only other people's events (a flood
        // elsewhere on the filesystem): let more gather before reading
        // again, instead of waking for every few of them. A change in a
        // root waits at most this long.
        if self.foreign_only {
            std::thread::sleep(FLOOD_PAUSE);
        }
        let before = (out.len(), self.foreign_seen);
        let result = self.read_ready(out, timeout);
        self.foreign_only = out.len() == before.0 && self.foreign_seen > before.1;
        result
    }

    fn read_ready(&mut self, out: &mut Vec<RawEvent>, timeout: Duration) -> io::Result<()> {
        if !super::wait_readable(self.fd.as_fd(), timeout)? {
            return Ok(());
        }
        loop {
            // SAFETY: reading into our own buffer.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(());
                }
                return Err(e);
            }
            let n = n as usize;
            let mut events = Vec::new();
            let mut off = 0;
            let meta_len = std::mem::size_of::<libc::fanotify_event_metadata>();
            while off + meta_len <= n {
                // SAFETY: the kernel writes whole, aligned records.
                let meta: libc::fanotify_event_metadata =
                    unsafe { std::ptr::read_unaligned(self.buf[off..].as_ptr().cast()) };
                let len = meta.event_len as usize;
                if len < meta_len || off + len > n {
                    break;
                }
                events.push((
                    meta.mask,
                    meta.pid,
                    off + meta.metadata_len as usize,
                    off + len,
                ));
                off += len;
            }
            for (mask, pid, start, end) in events {
                if mask & libc::FAN_Q_OVERFLOW != 0 {
                    out.push(RawEvent::Overflow);
                    continue;
                }
                // Our own restores: nothing to verify.
                if pid == self.tid {
                    continue;
                }
                let is_dir = mask & libc::FAN_ONDIR != 0;
                // A directory that moves or goes makes cached paths lie;
                // the cache is dropped unless it happened outside every
                // root (then the cached paths it spoils are outside too,
                // and a later move into a root is an event in the root).
                let dir_moved = is_dir
                    && mask
                        & (libc::FAN_MOVED_FROM
                            | libc::FAN_MOVED_TO
                            | libc::FAN_DELETE
                            | libc::FAN_DELETE_SELF
                            | libc::FAN_MOVE_SELF)
                        != 0;
                let mut pos = start;
                while pos + 4 <= end {
                    let info_type = self.buf[pos];
                    let info_len =
                        u16::from_ne_bytes([self.buf[pos + 2], self.buf[pos + 3]]) as usize;
                    if info_len < 4 || pos + info_len > end {
                        break;
                    }
                    if info_type == libc::FAN_EVENT_INFO_TYPE_DFID_NAME {
                        // header (4) + fsid (8) + file_handle { bytes: u32, type: i32, f_handle[bytes] } + name\0
                        let h = pos + 12;
                        if h + 8 > pos + info_len {
                            break;
                        }
                        let hbytes =
                            u32::from_ne_bytes(self.buf[h..h + 4].try_into().expect("4 bytes"))
                                as usize;
                        let handle_end = h + 8 + hbytes;
                        if handle_end > pos + info_len {
                            break;
                        }
                        let handle = self.buf[h..handle_end].to_vec();
                        let name =
                            CStr::from_bytes_until_nul(&self.buf[handle_end..pos + info_len])
                                .map(|c| c.to_bytes().to_vec())
                                .unwrap_or_default();
                        let resolved = self.resolve(&handle);
                        if let Some(dir) = &resolved
                            && self.is_foreign(dir)
                        {
                            self.count_foreign(&handle);
                            pos += info_len;
                            continue;
                        }
                        if dir_moved {
                            self.dirs.clear();
                        }
                        if let Some(dir) = resolved {
                            if is_dir && mask & libc::FAN_MOVED_TO != 0 {
                                self.forget_ignores();
                            }
                            let path = if name.is_empty() || name == b"." {
                                dir
                            } else {
                                dir.join(std::ffi::OsStr::from_bytes(&name))
                            };
                            out.push(RawEvent::Path { path });
                        }
                    }
                    pos += info_len;
                }
            }
        }
    }
}
