//! The few files TLS keeps: read without following a symlink and within a
//! size budget, written whole or not at all (`shouwang_store::replace_file`).

use std::fs;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::TlsError;

/// A certificate chain or key is a few KiB; anything past this is not one.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// `dir`, made 0700 when missing; a symlink or a file there is refused.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), TlsError> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(TlsError::io("create", dir, e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| TlsError::io("inspect", dir, e))?;
    if !meta.is_dir() {
        return Err(TlsError::Unreadable {
            path: dir.to_path_buf(),
            reason: "it is not a directory (a symlink or a file is not accepted)".into(),
        });
    }
    Ok(())
}

/// The text of `path`, `None` when it does not exist. A key file that
/// others can read is made owner-only (and said so).
pub(crate) fn read_private(path: &Path) -> Result<Option<String>, TlsError> {
    read_text(path, true)
}

/// The text of a file the unit configured (`tls = { cert, key }`).
pub(crate) fn read_configured(path: &Path) -> Result<String, TlsError> {
    read_text(path, false)?.ok_or_else(|| TlsError::Unreadable {
        path: path.to_path_buf(),
        reason: "it does not exist".into(),
    })
}

fn read_text(path: &Path, ours: bool) -> Result<Option<String>, TlsError> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    if ours {
        // Our own files are never symlinks; one there was put by someone else.
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TlsError::io("read", path, e)),
    };
    let meta = file.metadata().map_err(|e| TlsError::io("read", path, e))?;
    if !meta.is_file() {
        return Err(TlsError::Unreadable {
            path: path.to_path_buf(),
            reason: "it is not a regular file".into(),
        });
    }
    if ours
        && path.extension().is_some_and(|e| e == "key")
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "a private key was readable by others; making it owner-only");
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| TlsError::io("restrict", path, e))?;
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| TlsError::io("read", path, e))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(TlsError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("it is larger than {} KiB", MAX_FILE_BYTES / 1024),
        });
    }
    Ok(Some(text))
}

pub(crate) fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    shouwang_store::replace_file(path, bytes, mode).map_err(|e| TlsError::io("write", path, e))
}
