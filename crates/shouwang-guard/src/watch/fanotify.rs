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
        })
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
        // SAFETY: gettid has no preconditions.
        self.tid = unsafe { libc::gettid() };
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
                if is_dir
                    && mask
                        & (libc::FAN_MOVED_FROM
                            | libc::FAN_MOVED_TO
                            | libc::FAN_DELETE
                            | libc::FAN_DELETE_SELF
                            | libc::FAN_MOVE_SELF)
                        != 0
                {
                    self.dirs.clear();
                }
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
                        if let Some(dir) = self.resolve(&handle) {
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
