//! inotify, where fanotify is not available: one watch per directory,
//! added as directories appear.

use std::collections::HashMap;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::RawEvent;

pub struct Inotify {
    fd: OwnedFd,
    dirs: HashMap<i32, PathBuf>,
    buf: Vec<MaybeUninit<u8>>,
}

fn flags() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::DONT_FOLLOW
        | WatchFlags::ONLYDIR
}

impl Inotify {
    pub fn new(roots: &[PathBuf]) -> io::Result<Inotify> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        let mut me = Inotify {
            fd,
            dirs: HashMap::new(),
            buf: vec![MaybeUninit::uninit(); 256 * 1024],
        };
        for r in roots {
            me.add_tree(r)?;
        }
        Ok(me)
    }

    /// Watch `dir` and every directory below it. Hitting the watch limit is
    /// an error that names the sysctl to raise.
    pub fn add_tree(&mut self, dir: &Path) -> io::Result<()> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            match inotify::add_watch(&self.fd, &d, flags()) {
                Ok(wd) => {
                    self.dirs.insert(wd, d.clone());
                }
                Err(rustix::io::Errno::NOSPC) => {
                    return Err(io::Error::other(
                        "the inotify watch limit is reached: raise fs.inotify.max_user_watches, or run as root so that fanotify is used",
                    ));
                }
                // Gone or not a directory any more: its own event says so.
                Err(_) => continue,
            }
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
        }
        Ok(())
    }

    pub fn read(&mut self, out: &mut Vec<RawEvent>, timeout: Duration) -> io::Result<()> {
        if !super::wait_readable(self.fd.as_fd(), timeout)? {
            return Ok(());
        }
        let mut new_dirs = Vec::new();
        let mut gone = Vec::new();
        {
            let mut reader = inotify::Reader::new(&self.fd, &mut self.buf);
            loop {
                let ev = match reader.next() {
                    Ok(ev) => ev,
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(e) => return Err(e.into()),
                };
                let flags = ev.events();
                if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                    out.push(RawEvent::Overflow);
                    continue;
                }
                let Some(dir) = self.dirs.get(&ev.wd()) else {
                    continue;
                };
                let is_dir = flags.contains(ReadFlags::ISDIR);
                let path = match ev.file_name() {
                    Some(n) if !n.to_bytes().is_empty() => {
                        dir.join(std::ffi::OsStr::from_bytes(n.to_bytes()))
                    }
                    _ => dir.clone(),
                };
                if is_dir && flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
                    new_dirs.push(path.clone());
                }
                if flags.contains(ReadFlags::IGNORED) {
                    gone.push(ev.wd());
                    continue;
                }
                out.push(RawEvent::Path { path });
            }
        }
        for wd in gone {
            self.dirs.remove(&wd);
        }
        for d in new_dirs {
            self.add_tree(&d)?;
        }
        Ok(())
    }
}
