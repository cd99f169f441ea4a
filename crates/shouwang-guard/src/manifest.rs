//! The baseline manifest: one entry per path under a sealed root, written
//! in a compact binary form and authenticated with a keyed BLAKE3 MAC so
//! that a baseline changed behind Shouwang's back is refused, not trusted.

use std::ffi::OsStr;
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
        let bad = |why: &str| GuardError::BaselineTampered {
            path: file.to_path_buf(),
            why: why.to_string(),
        };
        if bytes.len() < MAGIC.len() + MAC_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("it is not a Shouwang baseline manifest"));
        }
        let (body, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        let expected = blake3::keyed_hash(key, body);
        // blake3::Hash compares in constant time.
        if expected != blake3::Hash::from_bytes(mac.try_into().expect("split at MAC_LEN")) {
            return Err(bad(
                "its authentication code does not match: it was changed after sealing, or sealed with another key",
            ));
        }
        let mut r = Reader {
            buf: body,
            pos: MAGIC.len(),
        };
        let parse = |r: &mut Reader| -> Option<Manifest> {
            let root = r.bytes()?.to_vec();
            let sealed_at_us = i64::from_le_bytes(r.array()?);
            let excludes = r.strings()?;
            let writables = r.strings()?;
            let n = u64::from_le_bytes(r.array()?) as usize;
            let mut entries = Vec::with_capacity(n.min(r.remaining() / 30));
            for _ in 0..n {
                let path = r.bytes()?.into();
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
                    1 => Some(r.bytes()?.into()),
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
        parse(&mut r).ok_or_else(|| bad("it is malformed"))
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

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        self.take(n)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        (0..n)
            .map(|_| String::from_utf8(self.bytes()?.to_vec()).ok())
            .collect()
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

    #[test]
    fn looks_up_by_path() {
        let m = sample();
        assert_eq!(m.get(b"index.html").unwrap().size, 5);
        assert!(m.get(b"nope").is_none());
        assert_eq!(m.get(b"").unwrap().kind, Kind::Dir);
    }
}
