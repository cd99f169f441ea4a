//! Pack files: small objects stored end to end in a few large files
//! instead of one file each.
//!
//! A web root is mostly small files, and an inode per object costs more
//! than its bytes: on ext4 each create searches the inode table (measured:
//! a third of a 20,000-file seal's CPU in `ext4_create`), a million small
//! objects use a million inodes of the filesystem, and each one is a
//! separate small write to flush. Packed, they are appended to a 4 MiB
//! aligned buffer that goes to disk in one O_DIRECT write; large objects
//! are written straight to block-aligned places in the same pack, so a
//! seal creates a handful of files however many it stores.
//!
//! On disk, under `objects/packs/`: `pack-<name>.pack` holds the bytes and
//! `pack-<name>.idx` lists, sorted by hash, where each object is:
//! `SWPACK01`, a u64 count, then per object its 32-byte hash, u64 offset
//! and u64 length (little-endian). Both are written under temporary names
//! and renamed, the pack first: a pack without its index is an unfinished
//! seal and is collected. Nothing here is trusted on read: every object's
//! bytes are checked against its hash before use.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::aligned::{ALIGN, AlignedBuf};

const MAGIC: &[u8; 8] = b"SWPACK01";
const ENTRY: usize = 32 + 8 + 8;
/// The size of one write to a pack.
const CHUNK: usize = 4 << 20;
/// A pack is closed and a new one begun past this size, so that garbage
/// collection can drop whole packs as the site changes.
const PACK_LIMIT: u64 = 256 << 20;

/// Where an object is inside a pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub pack: u32,
    pub offset: u64,
    pub len: u64,
}

/// The merged index of every finished pack of an object store.
#[derive(Default)]
pub(crate) struct PackIndex {
    pub packs: Vec<PathBuf>,
    /// Sorted by hash.
    entries: Vec<([u8; 32], Location)>,
}

impl PackIndex {
    /// Read the index files under `dir`. An index that cannot be read or
    /// parsed is an error: its objects would otherwise look missing.
    pub fn load(dir: &Path) -> io::Result<PackIndex> {
        let mut index = PackIndex::default();
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(index),
            Err(e) => return Err(e),
        };
        let mut idx_files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx_files.sort();
        for idx in idx_files {
            let bytes = fs::read(&idx)?;
            let pack_no = index.packs.len() as u32;
            let entries = parse_index(&bytes)
                .and_then(|entries| fits_its_pack(&idx, entries))
                .map_err(|why| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {why}", idx.display()),
                    )
                })?;
            for (hash, offset, len) in entries {
                index.entries.push((
                    hash,
                    Location {
                        pack: pack_no,
                        offset,
                        len,
                    },
                ));
            }
            index.packs.push(idx.with_extension("pack"));
        }
        index.entries.sort_unstable_by_key(|a| a.0);
        Ok(index)
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<Location> {
        self.entries
            .binary_search_by(|e| e.0.cmp(hash))
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// An object's hash, offset and length, as an index lists it.
type IndexEntry = ([u8; 32], u64, u64);

/// The entries of an index file, each with a length a packed object can
/// have and an end that is a number.
fn parse_index(bytes: &[u8]) -> Result<Vec<IndexEntry>, String> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err("not a pack index".into());
    }
    let count = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let body = &bytes[16..];
    if count.checked_mul(ENTRY) != Some(body.len()) {
        return Err(format!(
            "truncated: {count} objects announced, {} bytes present",
            body.len()
        ));
    }
    body.chunks_exact(ENTRY)
        .map(|c| {
            let hash: [u8; 32] = c[..32].try_into().expect("32 bytes");
            let offset = u64::from_le_bytes(c[32..40].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(c[40..48].try_into().expect("8 bytes"));
            // Larger files are never packed (they are streamed to objects of
            // their own), so a larger length is damage, not a big object.
            if len > crate::scan::WHOLE_READ_LIMIT || offset.checked_add(len).is_none() {
                return Err(format!(
                    "it gives object {} {len} bytes at offset {offset}, where no packed object can be",
                    hex::encode(hash)
                ));
            }
            Ok((hash, offset, len))
        })
        .collect()
}

/// `entries` of the index `idx` if every one lies inside its pack.
fn fits_its_pack(idx: &Path, entries: Vec<IndexEntry>) -> Result<Vec<IndexEntry>, String> {
    let pack = idx.with_extension("pack");
    let pack_len = fs::metadata(&pack)
        .map_err(|e| format!("its pack {} cannot be read ({e})", pack.display()))?
        .len();
    match entries
        .iter()
        .find(|(_, offset, len)| offset.saturating_add(*len) > pack_len)
    {
        Some((hash, offset, len)) => Err(format!(
            "it gives object {} {len} bytes at offset {offset}, past the end of {} ({pack_len} bytes)",
            hex::encode(hash),
            pack.display()
        )),
        None => Ok(entries),
    }
}

/// Read object `hash`, at `loc`, from its pack: `size` long, as the
/// manifest says. The index is not authenticated, so its length is used
/// only when it agrees with the manifest and lies inside the pack.
pub(crate) fn read(
    index: &PackIndex,
    hash: &[u8; 32],
    loc: Location,
    size: u64,
) -> io::Result<Vec<u8>> {
    let path = &index.packs[loc.pack as usize];
    let wrong = |why: String| {
        super::unreadable_index(format!(
            "{}: it gives object {} {why}",
            path.with_extension("idx").display(),
            hex::encode(hash)
        ))
    };
    if loc.len != size {
        return Err(wrong(format!("{} bytes, the baseline {size}", loc.len)));
    }
    let file = File::open(path)?;
    let pack_len = file.metadata()?.len();
    if loc
        .offset
        .checked_add(loc.len)
        .is_none_or(|end| end > pack_len)
    {
        return Err(wrong(format!(
            "{} bytes at offset {}, past the end of {} ({pack_len} bytes)",
            loc.len,
            loc.offset,
            path.display()
        )));
    }
    let mut data = vec![0u8; usize::try_from(loc.len).map_err(io::Error::other)?];
    file.read_exact_at(&mut data, loc.offset)?;
    Ok(data)
}

/// A pack being written.
struct OpenPack {
    tmp: PathBuf,
    file: Arc<File>,
    /// The next free offset (block-aligned): everything before it is
    /// given out, to an object or to the chunk being filled.
    reserved: u64,
    /// Where the object bytes end: the pack's final length.
    data_end: u64,
    entries: Vec<([u8; 32], u64, u64)>,
    /// The chunk being filled and where it goes in the file.
    chunk: Option<(u64, AlignedBuf)>,
}

#[derive(Default)]
struct WriterState {
    current: Option<OpenPack>,
    full: Vec<OpenPack>,
    spare: Vec<AlignedBuf>,
    /// Hashes packed in this session: identical files are stored once.
    seen: HashSet<[u8; 32]>,
    failed: Option<String>,
}

/// Appends objects to new packs from many threads at once. Objects are
/// readable only after [`PackWriter::finish`].
///
/// Small objects are copied into a 4 MiB chunk that is written in one
/// O_DIRECT request when the next object does not fit (an object never
/// straddles two chunks); large ones are written straight from the
/// caller's aligned buffer to a block-aligned place of their own.
pub(crate) struct PackWriter {
    dir: PathBuf,
    /// Where a pack is closed: [`PACK_LIMIT`] but in tests.
    limit: u64,
    state: Mutex<WriterState>,
}

fn tmp_pack(dir: &Path, limit: u64) -> io::Result<(PathBuf, File)> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(super::tmp_name());
    let open = |flags: i32| {
        OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(flags)
            .open(&tmp)
    };
    let file = match open(libc::O_DIRECT) {
        Ok(f) => f,
        // No O_DIRECT here (tmpfs): buffered writes of the same chunks.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => open(0)?,
        Err(e) => return Err(e),
    };
    // Allocate the whole pack up front, size included: a direct write past
    // the end of a file holds the inode's lock until it completes, so
    // writes from many threads would go one at a time; inside the file
    // they go to the device together (and land contiguously). `finish`
    // cuts the pack to what was written. Where the filesystem cannot
    // allocate ahead, the writes simply extend the file.
    let _ = rustix::fs::fallocate(
        &file,
        rustix::fs::FallocateFlags::empty(),
        0,
        limit + (CHUNK as u64) + crate::scan::WHOLE_READ_LIMIT,
    );
    Ok((tmp, file))
}

fn round_up(n: u64) -> u64 {
    n.div_ceil(ALIGN as u64) * ALIGN as u64
}

/// A write to do once the lock is released.
enum Pending {
    /// A full chunk, whose buffer goes back to the spares afterwards.
    Chunk(Arc<File>, u64, AlignedBuf),
    /// A large object, straight from the caller's buffer.
    Direct(Arc<File>, u64),
}

impl PackWriter {
    pub fn new(dir: PathBuf) -> Self {
        PackWriter {
            dir,
            limit: PACK_LIMIT,
            state: Mutex::new(WriterState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WriterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append one object, given in an aligned buffer (large objects are
    /// written from it directly). Returns without writing when this
    /// session already packed the same content.
    pub fn append(&self, hash: &[u8; 32], content: &AlignedBuf) -> io::Result<()> {
        let data = content.as_slice();
        let len = data.len() as u64;
        let mut pending = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            if let Some(why) = &st.failed {
                return Err(io::Error::other(why.clone()));
            }
            if !st.seen.insert(*hash) {
                return Ok(());
            }
            let rotate = st
                .current
                .as_ref()
                .is_none_or(|p| p.reserved + len > self.limit && p.reserved > 0);
            if rotate {
                if let Some(done) = st.current.take() {
                    // Its unfinished chunk is written by `finish`.
                    st.full.push(done);
                }
                let (tmp, file) = tmp_pack(&self.dir, self.limit)?;
                st.current = Some(OpenPack {
                    tmp,
                    file: Arc::new(file),
                    reserved: 0,
                    data_end: 0,
                    entries: Vec::new(),
                    chunk: None,
                });
            }
            let pack = st.current.as_mut().expect("a current pack");
            if data.len() >= super::DIRECT_MIN {
                let at = pack.reserved;
                pack.reserved += round_up(len);
                pack.entries.push((*hash, at, len));
                pack.data_end = pack.data_end.max(at + len);
                pending.push(Pending::Direct(pack.file.clone(), at));
            } else {
                let fits = pack
                    .chunk
                    .as_ref()
                    .is_some_and(|(_, c)| c.as_slice().len() + data.len() <= CHUNK);
                if !fits {
                    if let Some((at, full)) = pack.chunk.take() {
                        pending.push(Pending::Chunk(pack.file.clone(), at, full));
                    }
                    let mut c = st.spare.pop().unwrap_or_default();
                    c.clear_with_capacity(CHUNK);
                    pack.chunk = Some((pack.reserved, c));
                    pack.reserved += CHUNK as u64;
                }
                let (base, c) = pack.chunk.as_mut().expect("a chunk");
                let at = *base + c.as_slice().len() as u64;
                c.extend_from_slice(data);
                pack.entries.push((*hash, at, len));
                pack.data_end = pack.data_end.max(at + len);
            }
        }
        for p in pending {
            let r = match p {
                Pending::Direct(file, at) => file.write_all_at(content.padded(), at),
                Pending::Chunk(file, at, buf) => {
                    let r = file.write_all_at(buf.padded(), at);
                    self.lock().spare.push(buf);
                    r
                }
            };
            if let Err(e) = r {
                self.lock().failed = Some(format!("writing a pack file failed: {e}"));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Write the chunks being filled, cut each pack to its length, write
    /// its index and give both their final names. Returns how many
    /// objects were packed.
    pub fn finish(&self) -> io::Result<usize> {
        let mut st = self.lock();
        if let Some(why) = &st.failed {
            return Err(io::Error::other(why.clone()));
        }
        let mut packs = std::mem::take(&mut st.full);
        packs.extend(st.current.take());
        st.seen.clear();
        st.spare.clear();
        drop(st);
        let mut objects = 0;
        for mut p in packs {
            if let Some((at, c)) = p.chunk.take() {
                p.file.write_all_at(c.padded(), at)?;
            }
            p.file.set_len(p.data_end)?;
            p.entries.sort_unstable_by_key(|a| a.0);
            let mut idx = Vec::with_capacity(16 + p.entries.len() * ENTRY);
            idx.extend_from_slice(MAGIC);
            idx.extend_from_slice(&(p.entries.len() as u64).to_le_bytes());
            for (hash, offset, len) in &p.entries {
                idx.extend_from_slice(hash);
                idx.extend_from_slice(&offset.to_le_bytes());
                idx.extend_from_slice(&len.to_le_bytes());
            }
            let name = format!("pack-{}", &blake3::hash(&idx).to_hex()[..32]);
            let idx_tmp = self.dir.join(super::tmp_name());
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&idx_tmp)?;
            f.write_all(&idx)?;
            drop(f);
            fs::rename(&p.tmp, self.dir.join(format!("{name}.pack")))?;
            fs::rename(&idx_tmp, self.dir.join(format!("{name}.idx")))?;
            objects += p.entries.len();
        }
        Ok(objects)
    }
}

/// Remove packs none of whose objects `keep` names, packs left without an
/// index, and temporary files of an interrupted seal. Returns how many
/// objects went.
pub(crate) fn collect_garbage(dir: &Path, keep: &HashSet<[u8; 32]>) -> io::Result<u64> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(0);
    };
    // Gone already (a pack removed with its index) is what we wanted.
    let remove = |p: &Path| match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    let mut removed = 0;
    for item in rd.flatten() {
        let path = item.path();
        let name = item.file_name();
        let name = name.to_string_lossy();
        // Temporaries of an interrupted seal, and packs it renamed but
        // never gave an index.
        let unfinished = name.starts_with(".tmp-")
            || (name.ends_with(".pack") && !path.with_extension("idx").exists());
        if unfinished {
            remove(&path)?;
        } else if name.ends_with(".idx") {
            let entries = match fs::read(&path) {
                Ok(b) => parse_index(&b).and_then(|e| fits_its_pack(&path, e)),
                Err(_) => continue,
            };
            // An index `load` refuses goes with its pack: this runs after a
            // seal, and a seal that found the index unreadable stored every
            // object again (`ObjectStore::put`), so sealing again repairs it.
            let Ok(entries) = entries else {
                remove(&path)?;
                remove(&path.with_extension("pack"))?;
                continue;
            };
            if !entries.is_empty() && entries.iter().all(|(h, _, _)| !keep.contains(h)) {
                // The index first: a pack without one is garbage anyway.
                remove(&path)?;
                remove(&path.with_extension("pack"))?;
                removed += entries.len() as u64;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::objects) fn aligned(data: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::new();
        b.clear_with_capacity(data.len());
        b.extend_from_slice(data);
        b
    }

    fn object(i: u32) -> Vec<u8> {
        // Sizes from 0 to about 300 KiB, so objects straddle chunk ends.
        let len = (i as usize * 7919) % (300 << 10);
        (0..len)
            .map(|j| (j as u32 ^ i.wrapping_mul(2654435761)) as u8)
            .collect()
    }

    #[test]
    fn objects_packed_from_many_threads_read_back_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("packs");
        let mut w = PackWriter::new(dir.clone());
        // Small packs, so that rotation and several indexes are exercised.
        w.limit = 6 << 20;
        let objects: Vec<Vec<u8>> = (0..400).map(object).collect();
        std::thread::scope(|s| {
            for t in 0..4 {
                let (w, objects) = (&w, &objects);
                s.spawn(move || {
                    // Every thread puts every object: each is stored once.
                    for k in 0..objects.len() {
                        let o = &objects[(k + t * 97) % objects.len()];
                        w.append(blake3::hash(o).as_bytes(), &aligned(o)).unwrap();
                    }
                });
            }
        });
        let distinct: HashSet<_> = objects
            .iter()
            .map(|o| *blake3::hash(o).as_bytes())
            .collect();
        assert_eq!(w.finish().unwrap(), distinct.len());
        let index = PackIndex::load(&dir).unwrap();
        assert!(index.packs.len() > 3, "{} packs", index.packs.len());
        assert_eq!(index.entries.len(), distinct.len());
        for o in &objects {
            let loc = index.get(blake3::hash(o).as_bytes()).expect("packed");
            assert!(
                &read(&index, blake3::hash(o).as_bytes(), loc, o.len() as u64).unwrap() == o,
                "an object read back differs"
            );
        }
        assert!(index.get(&[7; 32]).is_none());

        // A second session adds a pack beside the first ones.
        let extra = b"<html>new page</html>".to_vec();
        w.append(blake3::hash(&extra).as_bytes(), &aligned(&extra))
            .unwrap();
        assert_eq!(w.finish().unwrap(), 1);
        let index = PackIndex::load(&dir).unwrap();
        let loc = index.get(blake3::hash(&extra).as_bytes()).unwrap();
        assert_eq!(
            read(
                &index,
                blake3::hash(&extra).as_bytes(),
                loc,
                extra.len() as u64
            )
            .unwrap(),
            extra
        );

        // Keep only the new page: every pack but its own goes.
        let keep: HashSet<[u8; 32]> = [*blake3::hash(&extra).as_bytes()].into();
        assert_eq!(collect_garbage(&dir, &keep).unwrap(), distinct.len() as u64);
        let index = PackIndex::load(&dir).unwrap();
        assert_eq!(index.packs.len(), 1);
        assert_eq!(index.entries.len(), 1);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn an_unfinished_pack_is_collected_and_a_damaged_index_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("packs");
        let w = PackWriter::new(dir.clone());
        let o = object(5);
        w.append(blake3::hash(&o).as_bytes(), &aligned(&o)).unwrap();
        // Killed before `finish`: only a temporary file exists.
        drop(w);
        assert!(PackIndex::load(&dir).unwrap().entries.is_empty());
        collect_garbage(&dir, &HashSet::new()).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);

        let w = PackWriter::new(dir.clone());
        w.append(blake3::hash(&o).as_bytes(), &aligned(&o)).unwrap();
        w.finish().unwrap();
        let idx = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap();
        let bytes = fs::read(&idx).unwrap();
        fs::write(&idx, &bytes[..bytes.len() - 3]).unwrap();
        let err = PackIndex::load(&dir)
            .err()
            .expect("a truncated index is refused");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
