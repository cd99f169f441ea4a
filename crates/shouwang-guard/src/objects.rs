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

/// A pack index found wrong, with what to do about it: `why` names the
/// file and what is wrong with it.
pub(crate) fn unreadable_index(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the baseline's pack index is unreadable: {why}. Nothing can be restored from it: check the web root by hand, then seal it again (shouwang guard seal DIR)"
        ),
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
            .map_err(unreadable_index)
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
        // An unreadable index does not stop a seal: it stores everything
        // anew (and `collect_garbage` then drops the damaged index), which
        // is how the operator repairs it.
        let indexed = self.index().is_ok_and(|i| i.get(hash).is_some());
        if indexed || self.path_of(hash).is_file() {
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
    /// or replaced object is never written back into a web root. `size` is
    /// the length the (authenticated) manifest gives it: nothing longer is
    /// read or allocated, whatever an index or the object file says.
    pub fn read_verified(&self, hash: &[u8; 32], size: u64) -> io::Result<Vec<u8>> {
        let data = match File::open(self.path_of(hash)) {
            Ok(f) => {
                let held = f.metadata()?.len();
                if held != size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "object {} is corrupt (it holds {held} bytes, the baseline says {size})",
                            hex::encode(hash)
                        ),
                    ));
                }
                let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                // Bounded too: the file may grow after the look at its size.
                f.take(size).read_to_end(&mut data)?;
                data
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let index = self.index()?;
                let loc = index.get(hash).ok_or(e)?;
                pack::read(index, hash, loc, size)?
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

#[cfg(test)]
mod tests {
    use super::pack::tests::aligned;
    use super::*;

    /// An object store holding `content` in a pack, and its index file.
    fn packed(content: &[u8]) -> (tempfile::TempDir, [u8; 32], PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(tmp.path().join("objects"));
        let hash = *blake3::hash(content).as_bytes();
        store.put(&hash, &aligned(content)).unwrap();
        store.make_durable().unwrap();
        (tmp, hash, index_file(&store.dir().join("packs")))
    }

    fn index_file(packs: &Path) -> PathBuf {
        fs::read_dir(packs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap()
    }

    /// The length field of an index's first entry, after the header, the
    /// hash and the offset.
    const FIRST_LEN: std::ops::Range<usize> = 16 + 40..16 + 48;

    #[test]
    fn an_index_claiming_a_terabyte_object_is_refused_without_allocating_it() {
        let page = b"<html>sealed</html>";
        let (tmp, hash, idx) = packed(page);
        let mut bytes = fs::read(&idx).unwrap();
        bytes[FIRST_LEN].copy_from_slice(&(1u64 << 40).to_le_bytes());
        fs::write(&idx, &bytes).unwrap();
        let store = ObjectStore::new(tmp.path().join("objects"));
        let (read, held) =
            crate::held::peak_during(|| store.read_verified(&hash, page.len() as u64));
        let err = read.unwrap_err().to_string();
        assert!(err.contains("pack index is unreadable"), "{err}");
        assert!(err.contains(&idx.display().to_string()), "{err}");
        assert!(err.contains("seal it again"), "{err}");
        assert!(held < 1 << 20, "{held} bytes held to refuse it");
    }

    #[test]
    fn an_index_disagreeing_with_the_baseline_or_its_pack_is_named() {
        let page = b"<html>sealed</html>";
        let (tmp, hash, idx) = packed(page);
        let store = ObjectStore::new(tmp.path().join("objects"));
        // The manifest says another size than the index.
        let err = store.read_verified(&hash, 4).unwrap_err().to_string();
        assert!(err.contains("19 bytes, the baseline 4"), "{err}");
        assert!(err.contains(&idx.display().to_string()), "{err}");
        // Inside the limit, but past the end of the pack.
        let mut bytes = fs::read(&idx).unwrap();
        bytes[FIRST_LEN].copy_from_slice(&(4u64 << 20).to_le_bytes());
        fs::write(&idx, &bytes).unwrap();
        let store = ObjectStore::new(tmp.path().join("objects"));
        let err = store.load_index().unwrap_err().to_string();
        assert!(err.contains("past the end of"), "{err}");
        assert!(err.contains("seal it again"), "{err}");
    }

    #[test]
    fn a_loose_object_longer_than_the_baseline_says_is_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(tmp.path().join("objects"));
        let big = vec![7u8; 3 << 20];
        let (hash, n) = store.put_stream(&big[..]).unwrap();
        assert_eq!(store.read_verified(&hash, n).unwrap(), big);
        let (read, held) = crate::held::peak_during(|| store.read_verified(&hash, 10));
        let err = read.unwrap_err().to_string();
        assert!(
            err.contains("holds 3145728 bytes, the baseline says 10"),
            "{err}"
        );
        assert!(held < 1 << 20, "{held} bytes held to refuse it");
    }

    #[test]
    fn sealing_again_repairs_a_damaged_index() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("www");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("index.html"), b"<html>sealed</html>").unwrap();
        let guard = crate::GuardDir::open(&tmp.path().join("data")).unwrap();
        guard.seal(&root, &Default::default()).unwrap();
        let b = guard.baseline(&root).unwrap();
        let entry = b.manifest.get(b"index.html").unwrap().clone();
        let idx = index_file(&b.objects.dir().join("packs"));
        let mut bytes = fs::read(&idx).unwrap();
        bytes[FIRST_LEN].copy_from_slice(&u64::MAX.to_le_bytes());
        fs::write(&idx, &bytes).unwrap();
        let b = guard.baseline(&root).unwrap();
        let hash = entry.hash.unwrap();
        assert!(b.objects.read_verified(&hash, entry.size).is_err());

        // A page added since, so that the new pack is not named as the old.
        fs::write(root.join("new.html"), b"<html>new</html>").unwrap();
        guard.seal(&root, &Default::default()).unwrap();
        let b = guard.baseline(&root).unwrap();
        b.objects.load_index().unwrap();
        assert_eq!(
            b.objects.read_verified(&hash, entry.size).unwrap(),
            b"<html>sealed</html>"
        );
        assert!(!idx.exists(), "the damaged index is gone");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::sync::LazyLock;

        /// A valid pack of a few objects of assorted sizes (as the manifest
        /// would list them: hash and size), its index and its bytes.
        struct Sealed {
            objects: Vec<([u8; 32], Vec<u8>)>,
            idx: Vec<u8>,
            pack: Vec<u8>,
        }

        static SEALED: LazyLock<Sealed> = LazyLock::new(|| {
            let tmp = tempfile::tempdir().unwrap();
            let store = ObjectStore::new(tmp.path().join("objects"));
            let objects: Vec<([u8; 32], Vec<u8>)> = [0usize, 1, 300, 5000]
                .iter()
                .map(|&n| {
                    let o: Vec<u8> = (0..n).map(|i| (i * 31 + n) as u8).collect();
                    (*blake3::hash(&o).as_bytes(), o)
                })
                .collect();
            for (h, o) in &objects {
                store.put(h, &aligned(o)).unwrap();
            }
            store.make_durable().unwrap();
            let idx = index_file(&store.dir().join("packs"));
            Sealed {
                objects,
                idx: fs::read(&idx).unwrap(),
                pack: fs::read(idx.with_extension("pack")).unwrap(),
            }
        });

        /// Every object read from a store of this index and pack: each is
        /// its content or an error, and nothing much larger than the two
        /// files is held on the way.
        fn read_all(idx: &[u8], pack: &[u8]) -> Result<(), TestCaseError> {
            // Made before the measurement: packing holds 4 MiB chunks.
            let sealed = &*SEALED;
            let tmp = tempfile::tempdir().unwrap();
            let packs = tmp.path().join("objects/packs");
            fs::create_dir_all(&packs).unwrap();
            fs::write(packs.join("pack-x.idx"), idx).unwrap();
            fs::write(packs.join("pack-x.pack"), pack).unwrap();
            let (reads, held) = crate::held::peak_during(|| {
                let store = ObjectStore::new(tmp.path().join("objects"));
                sealed
                    .objects
                    .iter()
                    .map(|(h, o)| store.read_verified(h, o.len() as u64).map(|d| &d == o))
                    .collect::<Vec<_>>()
            });
            for r in reads {
                prop_assert!(r.unwrap_or(true), "an object read back differs");
            }
            let bound = 4 * (idx.len() + pack.len()) + (64 << 10);
            prop_assert!(
                held <= bound,
                "{} bytes held for {} + {}",
                held,
                idx.len(),
                pack.len()
            );
            Ok(())
        }

        /// Change one u64 field of the index: the count or an entry's
        /// offset or length.
        fn set_u64(b: &mut [u8], at: usize, v: u64) {
            if let Some(f) = b.get_mut(at..at + 8) {
                f.copy_from_slice(&v.to_le_bytes());
            }
        }

        fn huge() -> impl Strategy<Value = u64> {
            prop_oneof![
                Just(u64::MAX),
                Just(1u64 << 40),
                Just((8u64 << 20) + 1),
                any::<u64>(),
                0..(1u64 << 20),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_bytes_as_an_index_or_a_pack_are_read_safely(
                idx in proptest::collection::vec(any::<u8>(), 0..300),
                pack in proptest::collection::vec(any::<u8>(), 0..300),
                magic in any::<bool>(),
                with in 0..3u8,
            ) {
                let mut idx = idx;
                if magic && idx.len() >= 8 {
                    idx[..8].copy_from_slice(b"SWPACK01");
                }
                match with {
                    0 => read_all(&idx, &pack)?,
                    // Garbage beside a real pack, and a real index beside garbage.
                    1 => read_all(&idx, &SEALED.pack)?,
                    _ => read_all(&SEALED.idx, &pack)?,
                }
            }

            #[test]
            fn a_damaged_index_or_pack_never_yields_wrong_bytes_or_a_huge_buffer(
                how in 0..6u8,
                at in any::<prop::sample::Index>(),
                mask in 1..=255u8,
                value in huge(),
                extra in proptest::collection::vec(any::<u8>(), 1..100),
            ) {
                let (mut idx, mut pack) = (SEALED.idx.clone(), SEALED.pack.clone());
                let entries = (idx.len() - 16) / 48;
                match how {
                    0 => {
                        let i = at.index(idx.len());
                        idx[i] ^= mask;
                    }
                    1 => idx.truncate(at.index(idx.len())),
                    2 => idx.extend_from_slice(&extra),
                    3 => set_u64(&mut idx, 8, value),
                    4 => {
                        let field = if mask % 2 == 0 { 32 } else { 40 };
                        set_u64(&mut idx, 16 + at.index(entries) * 48 + field, value);
                    }
                    _ => pack.truncate(at.index(pack.len())),
                }
                read_all(&idx, &pack)?;
            }
        }
    }
}
