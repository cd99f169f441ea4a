//! The baseline manifest: one entry per path under a sealed root, written
//! in a compact binary form and authenticated with a keyed BLAKE3 MAC so
//! that a baseline changed behind Shouwang's back is refused, not trusted.

use std::ffi::OsStr;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::GuardError;

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Sockets, fifos, devices: recorded, never restored.
    Other,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::File => b'f',
            Kind::Dir => b'd',
            Kind::Symlink => b'l',
            Kind::Other => b'o',
        }
    }

    fn from_code(c: u8) -> Option<Kind> {
        Some(match c {
            b'f' => Kind::File,
            b'd' => Kind::Dir,
            b'l' => Kind::Symlink,
            b'o' => Kind::Other,
            _ => return None,
        })
    }

    pub fn of(ft: std::fs::FileType) -> Kind {
        if ft.is_file() {
            Kind::File
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        }
    }
}

/// One path as sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the root, `/`-separated, no leading slash; the root
    /// itself is the empty path. Raw bytes: file names need not be UTF-8.
    /// Boxed slices, not vectors: a million entries are held at once.
    pub path: Box<[u8]>,
    pub kind: Kind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i64,
    /// BLAKE3 of the content, for files.
    pub hash: Option<[u8; 32]>,
    /// The link target, for symlinks.
    pub target: Option<Box<[u8]>>,
}

impl Entry {
    pub fn path_display(&self) -> String {
        if self.path.is_empty() {
            ".".into()
        } else {
            String::from_utf8_lossy(&self.path).into_owned()
        }
    }

    pub fn rel_path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }

    pub fn hash_hex(&self) -> Option<String> {
        self.hash.map(hex::encode)
    }
}

/// A sealed root: where it is, how it was sealed, and its entries sorted by
/// path (so lookups are binary searches and diffs are merges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub root: Vec<u8>,
    pub sealed_at_us: i64,
    pub excludes: Vec<String>,
    pub writables: Vec<String>,
    pub entries: Vec<Entry>,
}

const MAGIC: &[u8; 8] = b"SWGUARD1";
const MAC_LEN: usize = 32;

impl Manifest {
    pub fn get(&self, path: &[u8]) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path[..].cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// The bytes of the manifest with the MAC appended.
    pub fn encode(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.entries.len() * 96);
        w.extend_from_slice(MAGIC);
        put_bytes(&mut w, &self.root);
        w.extend_from_slice(&self.sealed_at_us.to_le_bytes());
        put_strings(&mut w, &self.excludes);
        put_strings(&mut w, &self.writables);
        w.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for e in &self.entries {
            put_bytes(&mut w, &e.path);
            w.push(e.kind.code());
            w.extend_from_slice(&e.mode.to_le_bytes());
            w.extend_from_slice(&e.uid.to_le_bytes());
            w.extend_from_slice(&e.gid.to_le_bytes());
            w.extend_from_slice(&e.size.to_le_bytes());
            w.extend_from_slice(&e.mtime_ns.to_le_bytes());
            match &e.hash {
                Some(h) => {
                    w.push(1);
                    w.extend_from_slice(h);
                }
                None => w.push(0),
            }
            match &e.target {
                Some(t) => {
                    w.push(1);
                    put_bytes(&mut w, t);
                }
                None => w.push(0),
            }
        }
        let mac = blake3::keyed_hash(key, &w);
        w.extend_from_slice(mac.as_bytes());
        w
    }

    /// Parse and authenticate. A wrong MAC or a malformed body is an error
    /// that says the baseline cannot be trusted.
    pub fn decode(bytes: &[u8], key: &[u8; 32], file: &Path) -> Result<Manifest, GuardError> {
        Self::read(bytes, bytes.len() as u64, key, file)
    }

    /// [`decode`](Self::decode) the `len` bytes of `source` as they are
    /// read: a million entries are not held twice, once as bytes and once
    /// parsed. Nothing parsed is returned unless the MAC matches.
    pub fn read(
        source: impl Read,
        len: u64,
        key: &[u8; 32],
        file: &Path,
    ) -> Result<Manifest, GuardError> {
        let bad = |why: &str| GuardError::BaselineTampered {
            path: file.to_path_buf(),
            why: why.to_string(),
        };
        let io = |source| GuardError::Io {
            path: file.to_path_buf(),
            source,
        };
        if len < (MAGIC.len() + MAC_LEN) as u64 {
            return Err(bad("it is not a Shouwang baseline manifest"));
        }
        let mut r = Reader {
            // No larger than the file: a small manifest is not read
            // through a quarter-megabyte buffer.
            buf: BufReader::with_capacity(
                usize::try_from(len).map_or(256 << 10, |n| n.min(256 << 10)),
                MacReader {
                    inner: source,
                    mac: blake3::Hasher::new_keyed(key),
                    left: len - MAC_LEN as u64,
                },
            ),
            failed: None,
        };
        if r.array::<8>().as_ref() != Some(MAGIC) {
            return Err(r
                .failed
                .map_or_else(|| bad("it is not a Shouwang baseline manifest"), io));
        }
        let parse = |r: &mut Reader<_>| -> Option<Manifest> {
            let root = r.bytes()?.into_vec();
            let sealed_at_us = i64::from_le_bytes(r.array()?);
            let excludes = r.strings()?;
            let writables = r.strings()?;
            let n = u64::from_le_bytes(r.array()?) as usize;
            let mut entries: Vec<Entry> = Vec::with_capacity(n.min((r.remaining() / 30) as usize));
            for _ in 0..n {
                let path = r.bytes()?;
                // Sorted and unique: lookups are binary searches.
                if entries.last().is_some_and(|prev| prev.path >= path) {
                    return None;
                }
                let kind = Kind::from_code(r.u8()?)?;
                let mode = u32::from_le_bytes(r.array()?);
                let uid = u32::from_le_bytes(r.array()?);
                let gid = u32::from_le_bytes(r.array()?);
                let size = u64::from_le_bytes(r.array()?);
                let mtime_ns = i64::from_le_bytes(r.array()?);
                let hash = match r.u8()? {
                    0 => None,
                    1 => Some(r.array::<32>()?),
                    _ => return None,
                };
                let target = match r.u8()? {
                    0 => None,
                    1 => Some(r.bytes()?),
                    _ => return None,
                };
                entries.push(Entry {
                    path,
                    kind,
                    mode,
                    uid,
                    gid,
                    size,
                    mtime_ns,
                    hash,
                    target,
                });
            }
            (r.remaining() == 0).then_some(Manifest {
                root,
                sealed_at_us,
                excludes,
                writables,
                entries,
            })
        };
        let parsed = parse(&mut r);
        if let Some(e) = r.failed {
            return Err(io(e));
        }
        // The MAC is checked whatever the body held, so that a changed
        // manifest is reported as changed rather than as malformed.
        let mut mac_reader = r.buf;
        std::io::copy(&mut mac_reader, &mut std::io::sink()).map_err(io)?;
        let MacReader { mut inner, mac, .. } = mac_reader.into_inner();
        let mut tag = [0; MAC_LEN];
        inner.read_exact(&mut tag).map_err(io)?;
        // blake3::Hash compares in constant time.
        if mac.finalize() != blake3::Hash::from_bytes(tag) {
            return Err(bad(
                "its authentication code does not match: it was changed after sealing, or sealed with another key",
            ));
        }
        parsed.ok_or_else(|| bad("it is malformed"))
    }
}

/// Reads at most `left` bytes of `inner`, MACing them as they go by.
struct MacReader<R> {
    inner: R,
    mac: blake3::Hasher,
    left: u64,
}

impl<R: Read> Read for MacReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let cap = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.mac.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    w.extend_from_slice(&(b.len() as u32).to_le_bytes());
    w.extend_from_slice(b);
}

fn put_strings(w: &mut Vec<u8>, v: &[String]) {
    w.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for s in v {
        put_bytes(w, s.as_bytes());
    }
}

/// The manifest body, parsed field by field: `None` is a body that ends
/// early or holds what no manifest holds, or a read that failed (kept in
/// `failed`).
struct Reader<R> {
    buf: BufReader<MacReader<R>>,
    failed: Option<std::io::Error>,
}

impl<R: Read> Reader<R> {
    /// Body bytes not yet parsed.
    fn remaining(&self) -> u64 {
        self.buf.get_ref().left + self.buf.buffer().len() as u64
    }

    fn fill(&mut self, out: &mut [u8]) -> Option<()> {
        if out.len() as u64 > self.remaining() {
            return None;
        }
        match self.buf.read_exact(out) {
            Ok(()) => Some(()),
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0; N];
        self.fill(&mut a)?;
        Some(a)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn bytes(&mut self) -> Option<Box<[u8]>> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        if n as u64 > self.remaining() {
            return None;
        }
        let mut b = vec![0; n].into_boxed_slice();
        self.fill(&mut b)?;
        Some(b)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        // Each string takes at least its 4-byte length, so the count the
        // body claims is believed only as far as the body could hold it.
        let mut v = Vec::with_capacity(n.min((self.remaining() / 4) as usize));
        for _ in 0..n {
            v.push(String::from_utf8(self.bytes()?.into_vec()).ok()?);
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            root: b"/var/www/html".to_vec(),
            sealed_at_us: 1_700_000_000_000_000,
            excludes: vec!["cache/**".into()],
            writables: vec!["uploads/**".into()],
            entries: vec![
                Entry {
                    path: Box::default(),
                    kind: Kind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    size: 4096,
                    mtime_ns: 1,
                    hash: None,
                    target: None,
                },
                Entry {
                    path: b"index.html"[..].into(),
                    kind: Kind::File,
                    mode: 0o644,
                    uid: 33,
                    gid: 33,
                    size: 5,
                    mtime_ns: 2,
                    hash: Some([7; 32]),
                    target: None,
                },
                Entry {
                    path: b"link"[..].into(),
                    kind: Kind::Symlink,
                    mode: 0o777,
                    uid: 0,
                    gid: 0,
                    size: 10,
                    mtime_ns: 3,
                    hash: None,
                    target: Some(b"index.html"[..].into()),
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_authenticates() {
        let key = [9; 32];
        let m = sample();
        let bytes = m.encode(&key);
        assert_eq!(Manifest::decode(&bytes, &key, Path::new("m")).unwrap(), m);
        assert!(
            Manifest::decode(&bytes, &[8; 32], Path::new("m")).is_err(),
            "another key"
        );
        for i in [10, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1;
            let err = Manifest::decode(&flipped, &key, Path::new("m")).unwrap_err();
            assert!(matches!(err, GuardError::BaselineTampered { .. }), "{err}");
        }
        assert!(Manifest::decode(&bytes[..20], &key, Path::new("m")).is_err());
        assert!(Manifest::decode(b"", &key, Path::new("m")).is_err());
    }

    /// Hands out a few bytes at a time, as a slow disk or a pipe might.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_as_it_goes() {
        let key = [9; 32];
        let m = sample();
        let bytes = m.encode(&key);
        let read = Manifest::read(Trickle(&bytes, 0), bytes.len() as u64, &key, Path::new("m"));
        assert_eq!(read.unwrap(), m);
        // Shorter than it said: an I/O error, not a verdict on the baseline.
        let short = Manifest::read(&bytes[..50], bytes.len() as u64, &key, Path::new("m"));
        assert!(matches!(short, Err(GuardError::Io { .. })), "{short:?}");
    }

    #[test]
    fn entries_out_of_order_are_refused() {
        let key = [9; 32];
        let mut m = sample();
        m.entries.swap(1, 2);
        let err = Manifest::decode(&m.encode(&key), &key, Path::new("m")).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        let mut m = sample();
        m.entries[2].path = m.entries[1].path.clone();
        let err = Manifest::decode(&m.encode(&key), &key, Path::new("m")).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const KEY: [u8; 32] = [9; 32];

        /// Decode `bytes`, and how much was held at most on the way.
        fn decode(bytes: &[u8]) -> (Result<Manifest, GuardError>, usize) {
            crate::held::peak_during(|| Manifest::decode(bytes, &KEY, Path::new("m")))
        }

        /// No more held than a small multiple of the file, whatever its
        /// counts and lengths claim.
        fn bounded(bytes: &[u8], held: usize) -> Result<(), TestCaseError> {
            prop_assert!(
                held <= 8 * bytes.len() + 4096,
                "{} bytes held for a manifest of {}",
                held,
                bytes.len()
            );
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_bytes_are_refused_without_allocating_by_their_claims(
                body in proptest::collection::vec(any::<u8>(), 0..400),
                magic in any::<bool>(),
            ) {
                let mut bytes = if magic { MAGIC.to_vec() } else { Vec::new() };
                bytes.extend_from_slice(&body);
                let (r, held) = decode(&bytes);
                prop_assert!(r.is_err());
                bounded(&bytes, held)?;
            }

            #[test]
            fn any_change_to_a_sealed_manifest_is_refused(
                how in 0..4u8,
                at in any::<prop::sample::Index>(),
                mask in 1..=255u8,
                extra in proptest::collection::vec(any::<u8>(), 1..64),
                count in prop_oneof![Just(u32::MAX), Just(1u32 << 31), any::<u32>()],
            ) {
                let sealed = sample().encode(&KEY);
                let mut bytes = sealed.clone();
                match how {
                    0 => {
                        let i = at.index(bytes.len());
                        bytes[i] ^= mask;
                    }
                    1 => bytes.truncate(at.index(bytes.len())),
                    2 => bytes.extend_from_slice(&extra),
                    // A huge count or length anywhere (the root's length,
                    // the pattern counts, the entry count, a path's length).
                    _ => {
                        let i = at.index(bytes.len() - 4);
                        bytes[i..i + 4].copy_from_slice(&count.to_le_bytes());
                    }
                }
                prop_assume!(bytes != sealed);
                let (r, held) = decode(&bytes);
                let refused = matches!(r, Err(GuardError::BaselineTampered { .. }));
                prop_assert!(refused, "{:?}", r);
                bounded(&bytes, held)?;
            }
        }
    }

    #[test]
    fn looks_up_by_path() {
        let m = sample();
        assert_eq!(m.get(b"index.html").unwrap().size, 5);
        assert!(m.get(b"nope").is_none());
        assert_eq!(m.get(b"").unwrap().kind, Kind::Dir);
    }
}
