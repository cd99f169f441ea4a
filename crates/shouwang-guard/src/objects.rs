//! The content-addressed object store of a baseline: every sealed file's
//! bytes, stored once per distinct content under its BLAKE3 hash.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;

use crate::aligned::AlignedBuf;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct ObjectStore {
    dir: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name unique to this process and call: `.tmp-<pid>-<n>`.
fn tmp_name() -> String {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    format!(
        ".tmp-{}-{}",
        PID.get_or_init(std::process::id),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Objects at least this large are written with O_DIRECT.
const DIRECT_MIN: usize = 128 * 1024;

impl ObjectStore {
    pub fn new(dir: PathBuf) -> Self {
        ObjectStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make the 256 fan-out directories up front, so that storing an
    /// object is a create and a rename, not a `mkdir` that fails with
    /// EEXIST and a `stat` for every file.
    pub fn prepare(&self) -> io::Result<()> {
        for b in 0..=255u8 {
            fs::create_dir_all(self.dir.join(hex::encode([b])))?;
        }
        Ok(())
    }

    pub fn path_of(&self, hash: &[u8; 32]) -> PathBuf {
        let hex = hex::encode(hash);
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Store `content` (whose hash the caller computed). Written to a
    /// temporary name and renamed, so an object under its final name is
    /// always complete; written with O_DIRECT where the filesystem allows
    /// (see `aligned`), and made durable by one `syncfs` before the
    /// manifest that refers to it is committed.
    pub fn put(&self, hash: &[u8; 32], content: &AlignedBuf) -> io::Result<()> {
        let path = self.path_of(hash);
        if path.is_file() {
            return Ok(());
        }
        let parent = path.parent().expect("objects have a parent");
        let tmp = parent.join(tmp_name());
        let create = |flags: i32| {
            let open = || {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(flags)
                    .open(&tmp)
            };
            match open() {
                // Not prepared (a publish of one file): make it now.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(parent)?;
                    open()
                }
                other => other,
            }
        };
        // O_DIRECT pays per request: it wins for large files only.
        let direct = content.as_slice().len() >= DIRECT_MIN
            && match create(libc::O_DIRECT).and_then(|mut f| {
                f.write_all(content.padded())?;
                f.set_len(content.as_slice().len() as u64)
            }) {
                Ok(()) => true,
                Err(_) => {
                    // No O_DIRECT here (tmpfs, some network filesystems):
                    // write it again, buffered.
                    let _ = fs::remove_file(&tmp);
                    false
                }
            };
        if !direct {
            create(0)?.write_all(content.as_slice())?;
        }
        fs::rename(&tmp, &path)
    }

    /// Store a large file by streaming it, hashing as we go; returns the hash.
    pub fn put_stream(&self, mut src: impl Read) -> io::Result<([u8; 32], u64)> {
        fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(tmp_name());
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let r = src.read(&mut buf)?;
            if r == 0 {
                break;
            }
            hasher.update(&buf[..r]);
            f.write_all(&buf[..r])?;
            n += r as u64;
        }
        drop(f);
        let hash = *hasher.finalize().as_bytes();
        let path = self.path_of(&hash);
        if path.is_file() {
            fs::remove_file(&tmp)?;
        } else {
            fs::create_dir_all(path.parent().expect("objects have a parent"))?;
            fs::rename(&tmp, &path)?;
        }
        Ok((hash, n))
    }

    /// Open an object for reading, checking nothing: callers verify the
    /// hash of what they read when it matters.
    pub fn open(&self, hash: &[u8; 32]) -> io::Result<File> {
        File::open(self.path_of(hash))
    }

    /// Read an object whole and verify it against its name, so a corrupted
    /// or replaced object is never written back into a web root.
    pub fn read_verified(&self, hash: &[u8; 32]) -> io::Result<Vec<u8>> {
        let mut data = Vec::new();
        self.open(hash)?.read_to_end(&mut data)?;
        if blake3::hash(&data).as_bytes() != hash {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "object {} is corrupt (its content does not match its hash)",
                    hex::encode(hash)
                ),
            ));
        }
        Ok(data)
    }

    /// Remove objects no manifest refers to any more, and stale temporary
    /// files of a seal that was interrupted.
    pub fn collect_garbage(&self, keep: &std::collections::HashSet<[u8; 32]>) -> io::Result<u64> {
        let mut removed = 0;
        let Ok(top) = fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        for sub in top.flatten() {
            let name = sub.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".tmp-") {
                fs::remove_file(sub.path())?;
                continue;
            }
            if name.len() != 2 || !sub.path().is_dir() {
                continue;
            }
            for obj in fs::read_dir(sub.path())?.flatten() {
                let rest = obj.file_name();
                let rest = rest.to_string_lossy();
                let full = format!("{name}{rest}");
                let keep_it = hex::decode(&full)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .is_some_and(|h| keep.contains(&h));
                if !keep_it {
                    fs::remove_file(obj.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}
