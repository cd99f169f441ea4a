//! Space kept back on the data disk, so that when it fills (an intruder
//! writing a huge file, logs run wild) the store can still write the events
//! and audit entries that say so.
//!
//! A file of [`RESERVE_BYTES`] real, written blocks (not a sparse file,
//! which would hold nothing back) lies beside the SQLite database. Before
//! each write the free space is looked at, and under half the reserve the
//! reserve is released; a write of events or findings that fails because
//! the disk is full all the same releases it and is made once more (an
//! audited change is not made twice: its closure runs once). The next start
//! makes the reserve again when there is room to spare (four times its
//! size), so that a command run on a nearly full disk does not take the
//! released space back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Result, StoreError};

/// How much is kept back: room for thousands of events and audit entries.
pub const RESERVE_BYTES: usize = 4 << 20;

#[derive(Debug)]
pub(crate) struct Reserve {
    path: PathBuf,
}

impl Reserve {
    /// The reserve beside the database at `db`, made now if it is missing
    /// and there is room (a full disk is logged, not an error: the store
    /// works without it).
    pub(crate) fn beside(db: &Path) -> Reserve {
        let path = db.with_file_name("shouwang.reserve");
        let have = fs::metadata(&path).is_ok_and(|m| m.len() as usize == RESERVE_BYTES);
        // Made again only with room to spare: a command run while the disk
        // is nearly full must not take back the space just released.
        let room = path
            .parent()
            .and_then(free_bytes)
            .is_some_and(|free| free >= 4 * RESERVE_BYTES as u64);
        if !have && room {
            let made = fs::File::create(&path).and_then(|mut f| {
                f.write_all(&vec![0u8; RESERVE_BYTES])?;
                f.sync_all()
            });
            if let Err(e) = made {
                let _ = fs::remove_file(&path);
                tracing::warn!(path = %path.display(), "cannot keep space in reserve on the data disk: {e}");
            }
        }
        Reserve { path }
    }

    /// Before a write: release the reserve when the disk has less than half
    /// of it left.
    pub(crate) fn before_write(&self) {
        let low = self
            .path
            .parent()
            .and_then(free_bytes)
            .is_some_and(|free| free < (RESERVE_BYTES / 2) as u64);
        if low {
            self.release();
        }
    }

    /// Run `write` (which must be safe to run twice: it commits all or
    /// nothing); when it fails because the disk is full and space is in
    /// reserve, release the reserve and run it once more.
    pub(crate) fn or_release<T>(&self, mut write: impl FnMut() -> Result<T>) -> Result<T> {
        self.before_write();
        match write() {
            Err(e) if is_disk_full(&e) && self.path.exists() => {
                self.release();
                write()
            }
            other => other,
        }
    }

    fn release(&self) {
        if fs::remove_file(&self.path).is_ok() {
            tracing::error!(
                path = %self.path.display(),
                "the data disk is full: the space held in reserve was released so that events and audit entries are still written; free space on it now"
            );
        }
    }
}

/// Bytes an unprivileged writer may still use on the filesystem of `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

fn is_disk_full(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::DiskFull
    )
}
