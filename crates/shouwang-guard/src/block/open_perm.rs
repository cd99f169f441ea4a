//! The partial blocking mode for kernels that refuse BPF LSM programs:
//! fanotify permission events (FAN_OPEN_PERM) on every sealed directory.
//!
//! The kernel holds each open of a file in a protected directory until we
//! answer. A permission event does not say how the file is being opened,
//! but the opener is blocked inside its open call while we decide, so its
//! arguments can be read from `/proc/<tid>/syscall` (and, for openat2, the
//! flags from its memory): opens for writing, truncating or creating are
//! denied, reads (the web server) are let through. What this cannot stop
//! (unlink, rename, chmod, mkdir, link, truncate(2), writes through a
//! descriptor opened before the block, a hard link made from outside the
//! root) is still undone by detect-and-restore.
//!
//! The thread that answers never opens anything under a protected root, so
//! it can never wait on itself; this process's own opens (restores, the
//! publish path) are always allowed. If the process dies, the kernel lets
//! every pending and future open through: the block fails open, the web
//! site keeps working.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::BlockError;
use crate::scan::Filters;
use crate::{Baseline, Kind};

/// One protected root as the answering thread sees it.
struct Protected {
    root: PathBuf,
    filters: Filters,
}

#[derive(Default)]
struct Roots {
    protected: Vec<Protected>,
    /// Roots in a maintenance window: opens still in flight when their
    /// marks went are let through.
    lifted: Vec<PathBuf>,
}

struct Shared {
    roots: RwLock<Roots>,
    denied: AtomicU64,
    stop: AtomicBool,
}

/// A running permission-event blocker. Dropping it stops the answering
/// thread and closes the group, which lets every open through again.
pub struct OpenBlocker {
    fd: Arc<OwnedFd>,
    shared: Arc<Shared>,
    /// The directories marked for each root, so a maintenance window can
    /// unmark exactly those.
    marked: HashMap<PathBuf, Vec<PathBuf>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const MASK: u64 = libc::FAN_OPEN_PERM | libc::FAN_EVENT_ON_CHILD;

/// The permission-event group, if this kernel and our privileges allow
/// one (FAN_REPORT_TID needs 4.20).
fn init() -> Result<OwnedFd, BlockError> {
    // SAFETY: plain syscall; the result is checked.
    let raw = unsafe {
        libc::fanotify_init(
            libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC | libc::FAN_REPORT_TID,
            (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as libc::c_uint,
        )
    };
    if raw < 0 {
        let e = io::Error::last_os_error();
        return Err(BlockError::Unavailable(format!(
            "fanotify permission events are not available ({e}; they need root, a kernel built with CONFIG_FANOTIFY_ACCESS_PERMISSIONS, and Linux 4.20 for thread ids)"
        )));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl OpenBlocker {
    /// Can [`OpenBlocker::start`] work here? (Tried, and undone.)
    pub fn available() -> Result<(), BlockError> {
        init().map(drop)
    }

    pub fn start() -> Result<OpenBlocker, BlockError> {
        let fd = Arc::new(init()?);
        let shared = Arc::new(Shared {
            roots: RwLock::new(Roots::default()),
            denied: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let (fd, shared) = (fd.clone(), shared.clone());
            std::thread::Builder::new()
                .name("guard-open-perm".into())
                .spawn(move || answer(&fd, &shared))
                .map_err(|e| BlockError::Unavailable(format!("cannot start a thread: {e}")))?
        };
        Ok(OpenBlocker {
            fd,
            shared,
            marked: HashMap::new(),
            thread: Some(thread),
        })
    }

    fn mark(&self, dir: &Path, add: bool) -> io::Result<()> {
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let flags = if add {
            libc::FAN_MARK_ADD
        } else {
            libc::FAN_MARK_REMOVE
        };
        // SAFETY: valid descriptor and NUL-terminated path. DONT_FOLLOW
        // and ONLYDIR: a directory swapped for a symlink is not followed.
        let r = unsafe {
            libc::fanotify_mark(
                self.fd.as_raw_fd(),
                flags | libc::FAN_MARK_DONT_FOLLOW | libc::FAN_MARK_ONLYDIR,
                MASK,
                libc::AT_FDCWD,
                c.as_ptr(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Mark every sealed directory of `b` that holds protected files
    /// (replacing what was marked for its root before); returns how many.
    pub fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError> {
        self.unprotect(&b.root)?;
        let mut dirs = Vec::new();
        for e in &b.manifest.entries {
            // A directory whose files are all writable needs no mark.
            if e.kind != Kind::Dir
                || b.filters.is_writable(&e.path)
                || b.filters.is_writable(&crate::scan::join_rel(&e.path, b"x"))
            {
                continue;
            }
            let p = crate::scan::abs_path(&b.root, &e.path);
            match self.mark(&p, true) {
                Ok(()) => dirs.push(p),
                // Missing now: the watcher puts it back; it is marked from
                // the next refresh on.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                    ) => {}
                Err(e) => {
                    for d in &dirs {
                        let _ = self.mark(d, false);
                    }
                    let hint = if e.raw_os_error() == Some(libc::ENOSPC) {
                        " (too many fanotify marks: raise /proc/sys/fs/fanotify/max_user_marks)"
                    } else {
                        ""
                    };
                    return Err(BlockError::Io {
                        path: p,
                        source: io::Error::new(e.kind(), format!("{e}{hint}")),
                    });
                }
            }
        }
        let n = dirs.len();
        {
            let mut roots = self.shared.roots.write().unwrap_or_else(|p| p.into_inner());
            roots.lifted.retain(|r| r != &b.root);
            roots.protected.push(Protected {
                root: b.root.clone(),
                filters: b.filters.clone(),
            });
        }
        self.marked.insert(b.root.clone(), dirs);
        Ok(n)
    }

    /// Let writes to `root` through again (a maintenance window).
    pub fn unprotect(&mut self, root: &Path) -> Result<usize, BlockError> {
        // Lift the root first: from then on its opens are allowed.
        {
            let mut roots = self.shared.roots.write().unwrap_or_else(|p| p.into_inner());
            roots.protected.retain(|p| p.root != root);
            if !roots.lifted.iter().any(|r| r == root) {
                roots.lifted.push(root.to_path_buf());
            }
        }
        let Some(dirs) = self.marked.remove(root) else {
            return Ok(0);
        };
        let mut stale = false;
        for d in &dirs {
            stale |= self.mark(d, false).is_err();
        }
        if stale {
            // A marked directory moved away and its mark cannot be found
            // by path: drop every mark and put back those of the roots
            // still protected, so no stray mark outlives the window.
            crate::watch::flush_inode_marks(self.fd.as_fd());
            for others in self.marked.values() {
                for d in others {
                    let _ = self.mark(d, true);
                }
            }
        }
        Ok(dirs.len())
    }

    pub fn denied(&self) -> u64 {
        self.shared.denied.load(Ordering::Relaxed)
    }
}

impl Drop for OpenBlocker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How an open was asked for, as far as `/proc/<tid>/syscall` tells.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpenIntent {
    Read,
    Write,
    /// Not an open call we know (io_uring, a 32-bit process, an exec
    /// helper we do not list): treated as a write inside a sealed root.
    Unknown(String),
}

/// Open flags that change a file, or make one.
fn writes(flags: u64) -> bool {
    let flags = flags as i32;
    flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_TRUNC | libc::O_CREAT) != 0
}

/// Classify the line of `/proc/<tid>/syscall` of a task blocked in an open.
/// `read_mem` reads 8 bytes of the task's memory (openat2 passes its flags
/// in a struct).
pub(crate) fn classify(line: &str, read_mem: impl Fn(u64) -> Option<u64>) -> OpenIntent {
    let mut parts = line.split_whitespace();
    let Some(nr) = parts.next().and_then(|n| n.parse::<i64>().ok()) else {
        return OpenIntent::Unknown(format!("syscall state {:?}", line.trim()));
    };
    let args: Vec<u64> = parts
        .map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap_or(0))
        .collect();
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let by_flags = |f: u64| {
        if writes(f) {
            OpenIntent::Write
        } else {
            OpenIntent::Read
        }
    };
    match nr {
        n if n == libc::SYS_openat => by_flags(arg(2)),
        n if n == libc::SYS_open_by_handle_at => by_flags(arg(2)),
        n if n == libc::SYS_openat2 => match read_mem(arg(2)) {
            Some(f) => by_flags(f),
            None => OpenIntent::Unknown("openat2 with unreadable flags".into()),
        },
        #[cfg(target_arch = "x86_64")]
        n if n == libc::SYS_open => by_flags(arg(1)),
        #[cfg(target_arch = "x86_64")]
        n if n == libc::SYS_creat => OpenIntent::Write,
        // Loading a program or its interpreter reads it.
        n if n == libc::SYS_execve || n == libc::SYS_execveat => OpenIntent::Read,
        n => OpenIntent::Unknown(format!("syscall {n}")),
    }
}

fn intent_of(tid: i32) -> OpenIntent {
    // The kernel shows a task's syscall only once it is off the CPU: we
    // can read the event before the opener has gone to sleep waiting for
    // our answer, and then the file says "running". It sleeps at once.
    let mut line = String::new();
    for attempt in 0..200 {
        line = match std::fs::read_to_string(format!("/proc/{tid}/syscall")) {
            Ok(l) => l,
            Err(e) => return OpenIntent::Unknown(format!("/proc/{tid}/syscall: {e}")),
        };
        if !line.starts_with("running") {
            break;
        }
        if attempt < 20 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    classify(&line, |addr| {
        let mem = std::fs::File::open(format!("/proc/{tid}/mem")).ok()?;
        let mut b = [0u8; 8];
        mem.read_exact_at(&mut b, addr).ok()?;
        Some(u64::from_ne_bytes(b))
    })
}

/// Is `tid` one of this process's threads?
fn is_ours(tid: i32) -> bool {
    tid as u32 == std::process::id() || Path::new(&format!("/proc/self/task/{tid}")).exists()
}

/// Should a write-open of `path` be denied? Every event comes from a
/// directory we marked, so the file was in a protected root when it was
/// opened; where it is now may differ (detect-and-restore can move a new
/// file to quarantine before we answer), so only a writable area or a
/// maintenance window lets the write through.
fn protected(shared: &Shared, path: &Path) -> bool {
    let roots = shared.roots.read().unwrap_or_else(|p| p.into_inner());
    for p in &roots.protected {
        if let Ok(rel) = path.strip_prefix(&p.root) {
            return !p.filters.is_writable(rel.as_os_str().as_bytes());
        }
    }
    !roots.lifted.iter().any(|r| path.starts_with(r))
}

/// The answering loop: read permission events, decide, answer. Never
/// opens anything under a protected root.
fn answer(fd: &OwnedFd, shared: &Shared) {
    let mut buf = vec![0u8; 64 * 1024];
    let meta_len = std::mem::size_of::<libc::fanotify_event_metadata>();
    let mut warned = std::collections::HashSet::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match crate::watch::wait_readable(fd.as_fd(), Duration::from_millis(200)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::error!("blocking mode: waiting for permission events failed: {e}");
                return;
            }
        }
        // SAFETY: reading into our own buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                continue;
            }
            tracing::error!("blocking mode: reading permission events failed: {e}");
            return;
        }
        let n = n as usize;
        let mut off = 0;
        while off + meta_len <= n {
            // SAFETY: the kernel writes whole, aligned records.
            let meta: libc::fanotify_event_metadata =
                unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
            let len = meta.event_len as usize;
            if len < meta_len || off + len > n {
                break;
            }
            off += len;
            if meta.fd < 0 {
                continue;
            }
            // SAFETY: the kernel opened this descriptor for us.
            let file = unsafe { OwnedFd::from_raw_fd(meta.fd) };
            let allow = is_ours(meta.pid)
                || {
                    match intent_of(meta.pid) {
                        OpenIntent::Read => true,
                        intent => {
                            let path =
                                std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
                                    .unwrap_or_default();
                            let deny = protected(shared, &path);
                            if deny {
                                if let OpenIntent::Unknown(why) = &intent
                                    && warned.len() < 64
                                    && warned.insert(why.clone())
                                {
                                    tracing::warn!(
                                        pid = meta.pid,
                                        path = %path.display(),
                                        "blocking mode denied an open it cannot classify ({why}); a read-only open of this kind is denied too"
                                    );
                                }
                                shared.denied.fetch_add(1, Ordering::Relaxed);
                            }
                            !deny
                        }
                    }
                };
            tracing::trace!(pid = meta.pid, allow, "open permission");
            let response = libc::fanotify_response {
                fd: file.as_raw_fd(),
                response: if allow {
                    libc::FAN_ALLOW
                } else {
                    libc::FAN_DENY
                },
            };
            // SAFETY: writing a plain struct the kernel expects.
            let w = unsafe {
                libc::write(
                    fd.as_raw_fd(),
                    (&response as *const libc::fanotify_response).cast(),
                    std::mem::size_of::<libc::fanotify_response>(),
                )
            };
            if w < 0 {
                tracing::warn!(
                    "blocking mode: answering a permission event failed: {}",
                    io::Error::last_os_error()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_calls_are_classified_by_their_flags() {
        let no_mem = |_| None;
        // cat: openat(AT_FDCWD, path, O_RDONLY)
        let read = format!(
            "{} 0xffffff9c 0x7ffce7349ae8 0x0 0x0 0x0 0x0 0x7ffc 0x7ff4",
            libc::SYS_openat
        );
        assert_eq!(classify(&read, no_mem), OpenIntent::Read);
        // sh's `>>`: O_WRONLY|O_CREAT|O_APPEND
        let append = format!(
            "{} 0xffffff9c 0x5625 0x441 0x1b6 0x0 0x20",
            libc::SYS_openat
        );
        assert_eq!(classify(&append, no_mem), OpenIntent::Write);
        // O_RDWR
        let rdwr = format!("{} 0xffffff9c 0x5625 0x2 0x0", libc::SYS_openat);
        assert_eq!(classify(&rdwr, no_mem), OpenIntent::Write);
        // O_RDONLY|O_TRUNC truncates.
        let trunc = format!("{} 0xffffff9c 0x5625 0x200 0x0", libc::SYS_openat);
        assert_eq!(classify(&trunc, no_mem), OpenIntent::Write);
        // openat2 keeps its flags in memory.
        let how = format!("{} 0xffffff9c 0x5625 0x7fff0000 0x18", libc::SYS_openat2);
        assert_eq!(
            classify(&how, |a| (a == 0x7fff0000).then_some(0o101)),
            OpenIntent::Write
        );
        assert_eq!(
            classify(&how, |a| (a == 0x7fff0000).then_some(0)),
            OpenIntent::Read
        );
        assert!(matches!(classify(&how, no_mem), OpenIntent::Unknown(_)));
        assert_eq!(
            classify(&format!("{} 0x1 0x2", libc::SYS_execve), no_mem),
            OpenIntent::Read
        );
        assert!(matches!(
            classify(&format!("{} 0x3 0x0", libc::SYS_io_uring_enter), no_mem),
            OpenIntent::Unknown(_)
        ));
        assert!(matches!(
            classify("running", no_mem),
            OpenIntent::Unknown(_)
        ));
        assert!(matches!(classify("", no_mem), OpenIntent::Unknown(_)));
    }
}
