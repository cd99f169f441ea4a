//! `shouwang.pid`: one `shouwang up` per data dir.
//!
//! The pid in the file is for people; the exclusive advisory lock on it is
//! what counts, so a file left behind by a crash does not block the next
//! start, and the kernel releases the lock however the process ends.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ConfigError, Result, io};

pub const PID_FILE: &str = "shouwang.pid";

/// Held while `shouwang up` runs; dropping it removes the file.
#[derive(Debug)]
pub struct PidLock {
    file: File,
    path: PathBuf,
}

impl PidLock {
    pub fn acquire(data_dir: &Path) -> Result<PidLock> {
        let path = data_dir.join(PID_FILE);
        // `status` takes a shared lock for a moment to look; retry briefly
        // so that it cannot make a starting `up` fail.
        let mut attempts = 0;
        loop {
            // Not truncated on open: until we hold the lock the pid in it
            // belongs to whoever does.
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("open the pid file", &path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) if attempts < 10 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(TryLockError::WouldBlock) => {
                    let pid = read_pid(&mut file)
                        .map_or_else(|| "unknown".to_string(), |p| p.to_string());
                    return Err(ConfigError::Busy {
                        pid,
                        dir: data_dir.to_path_buf(),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(io("lock the pid file", &path)(e));
                }
            }
            // A previous holder may have removed the file between our open
            // and our lock; then we locked an orphan and must start over.
            let same = fs::metadata(&path)
                .ok()
                .zip(file.metadata().ok())
                .is_some_and(|(on_disk, ours)| {
                    on_disk.ino() == ours.ino() && on_disk.dev() == ours.dev()
                });
            if !same {
                continue;
            }
            let write = |file: &mut File| -> std::io::Result<()> {
                file.set_len(0)?;
                file.rewind()?;
                writeln!(file, "{}", std::process::id())?;
                file.sync_all()
            };
            write(&mut file).map_err(io("write the pid file", &path))?;
            return Ok(PidLock { file, path });
        }
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // Removed while still locked, so nobody sees our pid after we left.
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), "cannot remove the pid file: {e}");
        }
        let _ = self.file.unlock();
    }
}

/// A running `shouwang up`, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    /// Unknown only in the instant between its lock and its write.
    pub pid: Option<u32>,
}

/// Whether a `shouwang up` holds the data dir, without changing anything.
pub fn running(data_dir: &Path) -> Result<Option<Running>> {
    let path = data_dir.join(PID_FILE);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(io("read the pid file", &path)(e));
        }
    };
    match file.try_lock_shared() {
        // Nobody holds it: a file left by a crash. The lock is released
        // when `file` is dropped.
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(Running {
            pid: read_pid(&mut file),
        })),
        Err(TryLockError::Error(e)) => Err(io("check the pid file", &path)(e)),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_the_file_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()).unwrap(), None);
        let lock = PidLock::acquire(dir.path()).unwrap();
        assert_eq!(
            running(dir.path()).unwrap(),
            Some(Running {
                pid: Some(std::process::id())
            })
        );
        let err = PidLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "another `shouwang up` (pid {})",
                std::process::id()
            )),
            "{err}"
        );
        drop(lock);
        assert!(!dir.path().join(PID_FILE).exists());
        assert_eq!(running(dir.path()).unwrap(), None);
    }

    #[test]
    fn a_stale_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PID_FILE), "999999\n").unwrap();
        assert_eq!(running(dir.path()).unwrap(), None);
        let _lock = PidLock::acquire(dir.path()).unwrap();
        let text = fs::read_to_string(dir.path().join(PID_FILE)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
    }
}
