//! The file system a check looks at: the running system (`/`) or an offline
//! root (a mounted image, a chroot, a test's temp dir).
//!
//! Every probe reads through [`Root`], never through `std::fs` with an
//! absolute path, so that `--root DIR` and the live system run the same code
//! and tests can craft whole systems in temp dirs.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};

/// Why a file under the root could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{path} does not exist")]
    NotFound { path: String },
    #[error("cannot read {path}: permission denied (run as root)")]
    Denied { path: String },
    #[error("{path} is not a text file ({detail})")]
    NotText { path: String, detail: String },
    #[error("cannot read {path}: {detail}")]
    Io { path: String, detail: String },
}

impl ReadError {
    /// The reason in Chinese, for the console and reports.
    pub fn zh(&self) -> String {
        match self {
            ReadError::NotFound { path } => format!("{path} 不存在"),
            ReadError::Denied { path } => format!("无权读取 {path}（请以 root 运行）"),
            ReadError::NotText { path, detail } => format!("{path} 不是文本文件（{detail}）"),
            ReadError::Io { path, detail } => format!("无法读取 {path}：{detail}"),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }

    fn from_io(path: &str, e: &io::Error) -> ReadError {
        match e.kind() {
            ErrorKind::NotFound => ReadError::NotFound { path: path.into() },
            ErrorKind::PermissionDenied => ReadError::Denied { path: path.into() },
            // A path whose parent is a file ("not a directory") is as absent
            // as a missing one.
            _ if e.raw_os_error() == Some(20) => ReadError::NotFound { path: path.into() },
            _ => ReadError::Io {
                path: path.into(),
                detail: e.to_string(),
            },
        }
    }
}

/// Whether the kernel-backed files (`/proc`, `/sys`) under the root describe
/// a running system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The running system: `/proc/net/tcp` and `/proc/sys` are real.
    Live,
    /// An image or chroot: nothing runs, so listening sockets, loaded
    /// modules and live sysctl values cannot be known.
    Offline,
}

/// A root file system, read-only.
#[derive(Debug, Clone)]
pub struct Root {
    base: PathBuf,
    liveness: Liveness,
}

/// Files larger than this are not read whole: no config file is this big,
/// and a check must not stall on a stray disk image named like one.
const MAX_TEXT_BYTES: u64 = 256 * 1024 * 1024;

impl Root {
    /// The running system.
    pub fn live() -> Root {
        Root {
            base: PathBuf::from("/"),
            liveness: Liveness::Live,
        }
    }

    /// An offline root file system at `dir`.
    pub fn offline(dir: impl Into<PathBuf>) -> Root {
        Root {
            base: dir.into(),
            liveness: Liveness::Offline,
        }
    }

    /// A root at `dir` whose `proc` and `sys` are treated as a live
    /// system's: how tests craft a running system in a temp dir.
    pub fn with_liveness(dir: impl Into<PathBuf>, liveness: Liveness) -> Root {
        Root {
            base: dir.into(),
            liveness,
        }
    }

    pub fn is_live(&self) -> bool {
        self.liveness == Liveness::Live
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Where `abs` (an absolute path inside the root) is on this machine.
    /// Symbolic links are followed inside the root: an image's
    /// `/etc/localtime -> /usr/share/zoneinfo/...` must not read the
    /// auditing machine's file.
    pub fn host_path(&self, abs: &str) -> PathBuf {
        if self.base == Path::new("/") {
            return PathBuf::from(abs);
        }
        self.resolve(abs, 0)
    }

    fn resolve(&self, abs: &str, depth: usize) -> PathBuf {
        let mut inside: Vec<OsString> = Vec::new();
        let parts: Vec<Component> = Path::new(abs).components().collect();
        for (i, part) in parts.iter().enumerate() {
            match part {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    inside.pop();
                }
                Component::Normal(name) => {
                    inside.push(name.to_os_string());
                    let here = self.join(&inside);
                    let Ok(meta) = fs::symlink_metadata(&here) else {
                        continue;
                    };
                    if !meta.file_type().is_symlink() || depth > 40 {
                        continue;
                    }
                    let Ok(target) = fs::read_link(&here) else {
                        continue;
                    };
                    inside.pop();
                    let mut next = if target.is_absolute() {
                        PathBuf::from("/")
                    } else {
                        let mut p = PathBuf::from("/");
                        p.extend(&inside);
                        p
                    };
                    next.push(&target);
                    for rest in &parts[i + 1..] {
                        next.push(rest.as_os_str());
                    }
                    return self.resolve(&next.to_string_lossy(), depth + 1);
                }
            }
        }
        self.join(&inside)
    }

    fn join(&self, inside: &[OsString]) -> PathBuf {
        let mut p = self.base.clone();
        p.extend(inside);
        p
    }

    /// A text file's contents. Invalid UTF-8 is replaced (config files in
    /// GBK happen on Chinese systems); a NUL byte means it is not text.
    pub fn read_text(&self, abs: &str) -> Result<String, ReadError> {
        let path = self.host_path(abs);
        let meta = fs::metadata(&path).map_err(|e| ReadError::from_io(abs, &e))?;
        if meta.is_dir() {
            return Err(ReadError::NotText {
                path: abs.into(),
                detail: "it is a directory".into(),
            });
        }
        if meta.len() > MAX_TEXT_BYTES {
            return Err(ReadError::NotText {
                path: abs.into(),
                detail: format!("{} bytes, too large for a config file", meta.len()),
            });
        }
        let bytes = fs::read(&path).map_err(|e| ReadError::from_io(abs, &e))?;
        if bytes.contains(&0) {
            return Err(ReadError::NotText {
                path: abs.into(),
                detail: "it holds NUL bytes".into(),
            });
        }
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// A file's bytes (package lists, compressed or not), with the same
    /// size limit as text.
    pub fn read_bytes(&self, abs: &str) -> Result<Vec<u8>, ReadError> {
        let path = self.host_path(abs);
        let meta = fs::metadata(&path).map_err(|e| ReadError::from_io(abs, &e))?;
        if meta.len() > MAX_TEXT_BYTES {
            return Err(ReadError::NotText {
                path: abs.into(),
                detail: format!("{} bytes, too large", meta.len()),
            });
        }
        fs::read(&path).map_err(|e| ReadError::from_io(abs, &e))
    }

    /// Up to `len` bytes at `offset` (records of sparse files such as
    /// lastlog, whose apparent size can be terabytes). Short at the end.
    pub fn read_at(&self, abs: &str, offset: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.host_path(abs);
        let mut file = fs::File::open(&path).map_err(|e| ReadError::from_io(abs, &e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| ReadError::from_io(abs, &e))?;
        let mut buf = Vec::with_capacity(len);
        file.take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| ReadError::from_io(abs, &e))?;
        Ok(buf)
    }

    /// The first `n` bytes of a file (binary headers such as ClamAV's).
    pub fn read_head(&self, abs: &str, n: usize) -> Result<Vec<u8>, ReadError> {
        use std::io::Read;
        let path = self.host_path(abs);
        let file = fs::File::open(&path).map_err(|e| ReadError::from_io(abs, &e))?;
        let mut buf = Vec::with_capacity(n);
        file.take(n as u64)
            .read_to_end(&mut buf)
            .map_err(|e| ReadError::from_io(abs, &e))?;
        Ok(buf)
    }

    /// Metadata, following links inside the root.
    pub fn metadata(&self, abs: &str) -> Result<Metadata, ReadError> {
        fs::metadata(self.host_path(abs)).map_err(|e| ReadError::from_io(abs, &e))
    }

    /// Metadata of the path itself (a link is reported as a link).
    pub fn symlink_metadata(&self, abs: &str) -> Result<Metadata, ReadError> {
        let parent_resolved = match abs.rsplit_once('/') {
            Some((dir, name)) if !name.is_empty() => {
                let dir = if dir.is_empty() { "/" } else { dir };
                self.host_path(dir).join(name)
            }
            _ => self.host_path(abs),
        };
        fs::symlink_metadata(parent_resolved).map_err(|e| ReadError::from_io(abs, &e))
    }

    /// Where the link at `abs` points, as written in the link.
    pub fn read_link(&self, abs: &str) -> Result<PathBuf, ReadError> {
        let (dir, name) = abs.rsplit_once('/').unwrap_or(("/", abs));
        let dir = if dir.is_empty() { "/" } else { dir };
        fs::read_link(self.host_path(dir).join(name)).map_err(|e| ReadError::from_io(abs, &e))
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.symlink_metadata(abs).is_ok()
    }

    /// The names in a directory, sorted (so results do not depend on the
    /// order the file system returns them in).
    pub fn list_dir(&self, abs: &str) -> Result<Vec<String>, ReadError> {
        let rd = fs::read_dir(self.host_path(abs)).map_err(|e| ReadError::from_io(abs, &e))?;
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Expand a pattern whose last component may hold `*` and `?`
    /// (`/etc/sysctl.d/*.conf`) into the existing paths, sorted. A pattern
    /// without wildcards yields itself when it exists.
    pub fn expand(&self, pattern: &str) -> Result<Vec<String>, ReadError> {
        let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        // Wildcards in a directory component (`/var/cache/dnf/*/repodata`):
        // expand the directories first.
        let dirs = if dir.contains(['*', '?']) {
            self.expand(dir)?
        } else {
            vec![if dir.is_empty() {
                "/".to_string()
            } else {
                dir.to_string()
            }]
        };
        let mut out = Vec::new();
        for dir in dirs {
            if !name.contains(['*', '?']) {
                let path = format!("{}/{name}", dir.trim_end_matches('/'));
                if self.exists(&path) {
                    out.push(path);
                }
                continue;
            }
            match self.list_dir(&dir) {
                Ok(names) => out.extend(
                    names
                        .into_iter()
                        .filter(|n| wildcard_match(name, n))
                        .map(|n| format!("{}/{n}", dir.trim_end_matches('/'))),
                ),
                Err(e) if e.is_not_found() || matches!(e, ReadError::Io { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Shell-style matching of `*` (any run) and `?` (one character).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "99-x.conf"));
        assert!(!wildcard_match("*.conf", "x.conf.bak"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("x", "y"));
        assert!(wildcard_match("*", "*.*"));
        assert!(wildcard_match("@*", "@@10.0.0.1:514"));
    }

    #[test]
    fn absolute_links_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        fs::create_dir_all(base.join("etc")).unwrap();
        fs::create_dir_all(base.join("real")).unwrap();
        fs::write(base.join("real/hosts"), "inside\n").unwrap();
        std::os::unix::fs::symlink("/real/hosts", base.join("etc/hosts")).unwrap();
        std::os::unix::fs::symlink("/real", base.join("lnk")).unwrap();
        let root = Root::offline(base);
        assert_eq!(root.read_text("/etc/hosts").unwrap(), "inside\n");
        assert_eq!(root.read_text("/lnk/hosts").unwrap(), "inside\n");
        assert_eq!(
            root.expand("/*/hosts").unwrap(),
            ["/etc/hosts", "/lnk/hosts", "/real/hosts"]
        );
        assert_eq!(root.expand("/etc/hosts").unwrap(), ["/etc/hosts"]);
        assert!(root.expand("/nope/*/x").unwrap().is_empty());
        assert!(root.read_text("/etc/nope").unwrap_err().is_not_found());
        assert!(
            root.symlink_metadata("/etc/hosts")
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
