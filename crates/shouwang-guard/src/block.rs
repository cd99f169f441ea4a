//! Blocking mode: deny writes to sealed web roots in the kernel instead of
//! undoing them after the fact. Two mechanisms, the first that the kernel
//! allows wins:
//!
//! - **BPF LSM** (`bpf/block.bpf.c`): every process except this one (the
//!   publish and restore path) gets EPERM for writes, creates, renames,
//!   unlinks, links, chmod and chown on the protected inodes.
//! - **fanotify permission events** ([`open_perm`]), where BPF LSM programs
//!   are refused: opens for writing, truncating or creating are denied;
//!   the rest is left to detect-and-restore.
//!
//! Writable areas stay writable. A maintenance window (`guard pause`)
//! lifts the block on its root; when it closes, the root is protected again
//! from its baseline as it then is (a publish in the window changed it).

pub mod open_perm;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::Baseline;

/// Why blocking mode is not running.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("blocking mode is not available: {0}. Shouwang detects and restores instead")]
    Unavailable(String),
    #[error("cannot protect {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The kernel's dev_t for a userspace st_dev (MKDEV: major << 20 | minor).
fn kernel_dev(st_dev: u64) -> u32 {
    let major = libc::major(st_dev) as u32;
    let minor = libc::minor(st_dev) as u32;
    (major << 20) | minor
}

/// The (inode, device) pairs to protect under a baseline: every sealed path
/// outside writable areas, except directories that hold a writable area
/// (files must be creatable there).
pub fn protected_inodes(b: &Baseline) -> Result<Vec<(u64, u32)>, BlockError> {
    let mut out = Vec::with_capacity(b.manifest.entries.len());
    for e in &b.manifest.entries {
        if b.filters.is_writable(&e.path) {
            continue;
        }
        if e.kind == crate::Kind::Dir
            && b.filters.is_writable(&crate::scan::join_rel(&e.path, b"x"))
        {
            continue;
        }
        let p = crate::scan::abs_path(&b.root, &e.path);
        match std::fs::symlink_metadata(&p) {
            Ok(m) => out.push((m.ino(), kernel_dev(m.dev()))),
            // Missing now: the watcher puts it back; it is protected from
            // the next refresh on.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BlockError::Io { path: p, source: e }),
        }
    }
    Ok(out)
}

/// Is the BPF LSM active in this kernel?
pub fn bpf_lsm_active() -> Result<(), String> {
    match std::fs::read_to_string("/sys/kernel/security/lsm") {
        Ok(s) if s.split(',').any(|l| l.trim() == "bpf") => Ok(()),
        Ok(s) => Err(format!(
            "the kernel's LSM list ({}) does not include bpf: boot with lsm=...,bpf",
            s.trim()
        )),
        Err(_) => {
            // securityfs may simply not be mounted; the load will tell.
            if Path::new("/sys/kernel/btf/vmlinux").exists() {
                Ok(())
            } else {
                Err("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into())
            }
        }
    }
}

#[cfg(shouwang_bpf)]
mod imp {
    use aya::maps::{Array, HashMap};
    use aya::programs::Lsm;
    use aya::{Btf, Ebpf};

    use super::{BlockError, bpf_lsm_active, protected_inodes};
    use crate::Baseline;

    static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("SHOUWANG_BPF_OBJ"));

    const HOOKS: &[&str] = &[
        "file_open",
        "inode_create",
        "inode_mkdir",
        "inode_symlink",
        "inode_link",
        "inode_unlink",
        "inode_rmdir",
        "inode_rename",
        "inode_setattr",
        "path_truncate",
    ];

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct InodeKey {
        ino: u64,
        dev: u32,
        pad: u32,
    }

    // SAFETY: plain data with no padding holes beyond the explicit `pad`.
    unsafe impl aya::Pod for InodeKey {}

    fn key(ino: u64, dev: u32) -> InodeKey {
        InodeKey { ino, dev, pad: 0 }
    }

    /// A loaded and attached blocker. Dropping it detaches the programs.
    pub struct BpfBlocker {
        ebpf: Ebpf,
        /// The keys put in the map for each root, so a maintenance window
        /// can lift exactly those.
        by_root: std::collections::HashMap<std::path::PathBuf, Vec<(u64, u32)>>,
    }

    fn unavailable(what: &str, e: impl std::fmt::Display) -> BlockError {
        BlockError::Unavailable(format!("{what}: {e}"))
    }

    impl BpfBlocker {
        /// Would [`BpfBlocker::start`] get far enough to load? (The kernel
        /// may still refuse the programs: lockdown, a sandbox.)
        pub fn available() -> Result<(), BlockError> {
            bpf_lsm_active().map_err(BlockError::Unavailable)?;
            if !rustix::process::geteuid().is_root() {
                return Err(BlockError::Unavailable(
                    "loading BPF LSM programs needs root".into(),
                ));
            }
            Ok(())
        }

        pub fn start() -> Result<BpfBlocker, BlockError> {
            bpf_lsm_active().map_err(BlockError::Unavailable)?;
            let mut ebpf = Ebpf::load(OBJECT)
                .map_err(|e| unavailable("loading the BPF object failed (needs root)", e))?;
            let btf = Btf::from_sys_fs()
                .map_err(|e| unavailable("reading the kernel's BTF failed", e))?;
            for hook in HOOKS {
                let prog: &mut Lsm = ebpf
                    .program_mut(hook)
                    .ok_or_else(|| unavailable("the BPF object lacks a program", hook))?
                    .try_into()
                    .map_err(|e| unavailable("not an LSM program", e))?;
                prog.load(hook, &btf).map_err(|e| {
                    let refused = matches!(&e, aya::programs::ProgramError::LoadError { io_error, .. } if io_error.raw_os_error() == Some(libc::EPERM));
                    if refused {
                        BlockError::Unavailable(format!(
                            "the kernel does not let this process load BPF LSM programs (EPERM on the {hook} hook: kernel lockdown, a container or a sandbox policy)"
                        ))
                    } else {
                        unavailable(&format!("the kernel refused the {hook} program"), e)
                    }
                })?;
                prog.attach()
                    .map_err(|e| unavailable(&format!("attaching to the {hook} hook failed"), e))?;
            }
            let mut allowed: HashMap<_, u32, u8> =
                HashMap::try_from(ebpf.map_mut("allowed").expect("map in the object"))
                    .map_err(|e| unavailable("the allowed map", e))?;
            allowed
                .insert(std::process::id(), 1, 0)
                .map_err(|e| unavailable("allowing this process", e))?;
            Ok(BpfBlocker {
                ebpf,
                by_root: Default::default(),
            })
        }

        /// Protect every sealed inode of `b` (replacing what was protected
        /// for its root before, e.g. before a publish); returns how many.
        pub fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError> {
            self.unprotect(&b.root)?;
            let inodes = protected_inodes(b)?;
            let mut map: HashMap<_, InodeKey, u8> =
                HashMap::try_from(self.ebpf.map_mut("protected").expect("map in the object"))
                    .map_err(|e| unavailable("the protected map", e))?;
            for (ino, dev) in &inodes {
                map.insert(key(*ino, *dev), 1, 0)
                    .map_err(|e| unavailable("filling the protected map", e))?;
            }
            let n = inodes.len();
            self.by_root.insert(b.root.clone(), inodes);
            Ok(n)
        }

        /// Let writes to `root` through again (a maintenance window).
        pub fn unprotect(&mut self, root: &std::path::Path) -> Result<usize, BlockError> {
            let Some(inodes) = self.by_root.remove(root) else {
                return Ok(0);
            };
            let mut map: HashMap<_, InodeKey, u8> =
                HashMap::try_from(self.ebpf.map_mut("protected").expect("map in the object"))
                    .map_err(|e| unavailable("the protected map", e))?;
            for (ino, dev) in &inodes {
                // Already gone is fine: the key is what we wanted removed.
                let _ = map.remove(&key(*ino, *dev));
            }
            Ok(inodes.len())
        }

        /// How many operations were denied so far.
        pub fn denied(&self) -> u64 {
            self.ebpf
                .map("denied")
                .and_then(|m| Array::<_, u64>::try_from(m).ok())
                .and_then(|a| a.get(&0, 0).ok())
                .unwrap_or(0)
        }
    }
}

#[cfg(not(shouwang_bpf))]
mod imp {
    use super::BlockError;
    use crate::Baseline;

    pub struct BpfBlocker;

    impl BpfBlocker {
        pub fn available() -> Result<(), BlockError> {
            Self::start().map(drop)
        }

        pub fn start() -> Result<BpfBlocker, BlockError> {
            Err(BlockError::Unavailable(
                "this build has no BPF program (clang and libbpf-dev were missing when it was built)".into(),
            ))
        }

        pub fn protect(&mut self, _b: &Baseline) -> Result<usize, BlockError> {
            Ok(0)
        }

        pub fn unprotect(&mut self, _root: &std::path::Path) -> Result<usize, BlockError> {
            Ok(0)
        }

        pub fn denied(&self) -> u64 {
            0
        }
    }
}

pub use imp::BpfBlocker;
pub use open_perm::OpenBlocker;

/// The blocking mode in force: the full BPF LSM block, or the partial
/// permission-event block where the kernel refuses BPF LSM programs.
pub enum Blocker {
    Bpf(BpfBlocker),
    OpenPerm {
        blocker: OpenBlocker,
        /// Why the BPF LSM block is not in force.
        why_not_bpf: String,
    },
}

fn reason(e: BlockError) -> String {
    match e {
        BlockError::Unavailable(why) => why,
        other => other.to_string(),
    }
}

/// Which block [`Blocker::start`] would get here, and why, without
/// starting one (for `shouwang status`): `BPF LSM`, `fanotify permission
/// events` or `off`.
pub fn probe() -> (&'static str, String) {
    let why_not_bpf = match BpfBlocker::available() {
        Ok(()) => {
            return (
                "BPF LSM",
                "writes, creates, deletes, renames, links and chmod on sealed files are denied in the kernel".into(),
            );
        }
        Err(e) => reason(e),
    };
    match OpenBlocker::available() {
        Ok(()) => (
            "fanotify permission events",
            format!(
                "partial: opens for writing are denied, the rest is undone; the full block is off: {why_not_bpf}"
            ),
        ),
        Err(e) => ("off", format!("{why_not_bpf}; and {}", reason(e))),
    }
}

impl Blocker {
    /// Start the strongest block this kernel allows.
    pub fn start() -> Result<Blocker, BlockError> {
        let why_not_bpf = match BpfBlocker::start() {
            Ok(b) => return Ok(Blocker::Bpf(b)),
            Err(e) => reason(e),
        };
        match OpenBlocker::start() {
            Ok(blocker) => Ok(Blocker::OpenPerm {
                blocker,
                why_not_bpf,
            }),
            Err(e) => Err(BlockError::Unavailable(format!(
                "{why_not_bpf}; and {}",
                reason(e)
            ))),
        }
    }

    /// What this block stops, for the operator.
    pub fn describe(&self) -> String {
        match self {
            Blocker::Bpf(_) => {
                "BPF LSM: writes, creates, deletes, renames, links and chmod are denied".into()
            }
            Blocker::OpenPerm { why_not_bpf, .. } => format!(
                "partial (fanotify permission events): opens for writing, truncating or creating are denied; deletes, renames, chmod and mkdir are undone by detect-and-restore instead. The full block is off: {why_not_bpf}"
            ),
        }
    }

    /// What [`Blocker::protect`] counts: "inodes" or "directories".
    pub fn unit(&self) -> &'static str {
        match self {
            Blocker::Bpf(_) => "inodes",
            Blocker::OpenPerm { .. } => "directories",
        }
    }

    /// Protect `b`'s root (replacing what was protected for it before);
    /// returns how many inodes (BPF) or directories (fanotify) were marked.
    pub fn protect(&mut self, b: &Baseline) -> Result<usize, BlockError> {
        match self {
            Blocker::Bpf(x) => x.protect(b),
            Blocker::OpenPerm { blocker, .. } => blocker.protect(b),
        }
    }

    /// Let writes to `root` through again (a maintenance window).
    pub fn unprotect(&mut self, root: &Path) -> Result<usize, BlockError> {
        match self {
            Blocker::Bpf(x) => x.unprotect(root),
            Blocker::OpenPerm { blocker, .. } => blocker.unprotect(root),
        }
    }

    /// How many operations were denied so far.
    pub fn denied(&self) -> u64 {
        match self {
            Blocker::Bpf(x) => x.denied(),
            Blocker::OpenPerm { blocker, .. } => blocker.denied(),
        }
    }
}
