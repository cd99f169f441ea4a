//! The content-addressed object store of a baseline: every sealed file's
//! bytes, stored once per distinct content under its BLAKE3 hash, in pack
//! files ([`pack`]). Files too large to read whole (over 8 MiB) are
//! streamed into objects of their own, `objects/<2 hex>/<62 hex>`.

mod pack;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;

use crate::aligned::AlignedBuf;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct ObjectStore {
    dir: PathBuf,
    packer: pack::PackWriter,
    /// The finished packs, read on first need.
    index: std::sync::OnceLock<Result<pack::PackIndex, String>>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name unique to this process and call: `.tmp-<pid>-<n>`.
pub(crate) fn tmp_name() -> String {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    format!(
        ".tmp-{}-{}",
        PID.get_or_init(std::process::id),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Objects at least this large are written to a pack straight from the
/// reader's buffer; smaller ones are gathered into chunks first.
const DIRECT_MIN: usize = 128 * 1024;

impl ObjectStore {
    pub fn new(dir: PathBuf) -> Self {
        ObjectStore {
            packer: pack::PackWriter::new(dir.join("packs")),
            index: std::sync::OnceLock::new(),
            dir,
        }
    }

    fn index(&self) -> io::Result<&pack::PackIndex> {
        self.index
            .get_or_init(|| {
                pack::PackIndex::load(&self.dir.join("packs")).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|why| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the baseline's pack index is unreadable: {why}. Nothing can be restored from it: check the web root by hand, then seal it again (shouwang guard seal DIR)"
                    ),
                )
            })
    }

    /// Read the pack index now rather than at the first restore, so that
    /// restore stays fast and a damaged index is reported at start.
    pub fn load_index(&self) -> io::Result<()> {
        self.index().map(|_| ())
    }

    /// Is this content stored (in a finished pack or as its own file)?
    pub fn contains(&self, hash: &[u8; 32]) -> io::Result<bool> {
        Ok(self.index()?.get(hash).is_some() || self.path_of(hash).is_file())
    }

    /// Finish the packs written since the last call (objects put before
    /// are readable only after this) and flush the filesystem, with one
    /// `syncfs`: called before a manifest that names them is committed.
    pub fn make_durable(&self) -> io::Result<()> {
        self.packer.finish()?;
        rustix::fs::syncfs(File::open(&self.dir)?)?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, hash: &[u8; 32]) -> PathBuf {
        let hex = hex::encode(hash);
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Store `content` (whose hash the caller computed) in a pack; it is
    /// readable and on disk after [`ObjectStore::make_durable`].
    pub fn put(&self, hash: &[u8; 32], content: &AlignedBuf) -> io::Result<()> {
        if self.contains(hash)? {
            return Ok(());
        }
        self.packer.append(hash, content)
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

    /// Read an object whole and verify it against its name, so a corrupted
    /// or replaced object is never written back into a web root.
    pub fn read_verified(&self, hash: &[u8; 32]) -> io::Result<Vec<u8>> {
        let data = match File::open(self.path_of(hash)) {
            Ok(mut f) => {
                let mut data = Vec::new();
                f.read_to_end(&mut data)?;
                data
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let index = self.index()?;
                let loc = index.get(hash).ok_or(e)?;
                pack::read(index, loc)?
            }
            Err(e) => return Err(e),
        };
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

    /// Remove objects no manifest refers to any more (packs once none of
    /// their objects is), and stale temporary files of a seal that was
    /// interrupted.
    pub fn collect_garbage(&self, keep: &std::collections::HashSet<[u8; 32]>) -> io::Result<u64> {
        let mut removed = pack::collect_garbage(&self.dir.join("packs"), keep)?;
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
