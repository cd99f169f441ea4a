//! What a seal would take in, shown before sealing (the console's 添加网站
//! 目录): how many files and bytes, which top-level entries are sealed,
//! writable or excluded under the given patterns, and writable areas the
//! tree suggests (upload and cache directories by their usual names).
//!
//! The walk never follows a symlink and stops at a budget of entries, and
//! says so, so a huge or hostile tree cannot hold the page.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;

use crate::scan::Filters;
use crate::{GuardError, Result};

/// Entries a preview walks at most.
pub const PREVIEW_MAX_ENTRIES: usize = 200_000;

/// Directory names that usually hold what visitors or the CMS write.
const USUALLY_WRITABLE: &[&str] = &[
    "upload",
    "uploads",
    "uploadfiles",
    "upfiles",
    "attachment",
    "attachments",
    "cache",
    "caches",
    "tmp",
    "temp",
    "runtime",
    "log",
    "logs",
    "session",
    "sessions",
];

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Preview {
    /// Files the seal would record and restore.
    pub sealed_files: u64,
    pub sealed_bytes: u64,
    /// Files in writable areas (recorded, never restored) and excluded ones.
    pub writable_files: u64,
    pub excluded_files: u64,
    /// The entries directly under the root, with what the seal does to each.
    pub top: Vec<TopEntry>,
    /// `name/**` patterns for directories that look like upload or cache
    /// areas and are not writable yet.
    pub suggested_writables: Vec<String>,
    /// The walk stopped at [`PREVIEW_MAX_ENTRIES`]: the counts are partial.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopEntry {
    pub name: String,
    pub dir: bool,
    /// `sealed`, `writable` or `excluded`.
    pub treated: &'static str,
    pub files: u64,
}

/// Preview sealing `root` with these patterns.
pub fn preview(root: &Path, excludes: &[String], writables: &[String]) -> Result<Preview> {
    let filters = Filters::new(excludes, writables)?;
    let meta = fs::symlink_metadata(root).map_err(|e| GuardError::Io {
        path: root.to_path_buf(),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(GuardError::NotADirectory(root.to_path_buf()));
    }
    let mut p = Preview::default();
    let mut budget = PREVIEW_MAX_ENTRIES;
    let mut top: Vec<_> = fs::read_dir(root)
        .map_err(|e| GuardError::Io {
            path: root.to_path_buf(),
            source: e,
        })?
        .flatten()
        .collect();
    top.sort_by_key(|e| e.file_name());
    for e in top {
        let name = e.file_name();
        let rel = name.as_bytes().to_vec();
        let dir = e.file_type().is_ok_and(|t| t.is_dir());
        let treated = if filters.is_excluded(&rel) {
            "excluded"
        } else if filters.is_writable(&rel)
            || filters.is_writable(&[rel.as_slice(), b"/x"].concat())
        {
            "writable"
        } else {
            "sealed"
        };
        let before = p.sealed_files + p.writable_files + p.excluded_files;
        walk(&e.path(), &rel, &filters, &mut p, &mut budget);
        let files = p.sealed_files + p.writable_files + p.excluded_files - before;
        let lower = name.to_string_lossy().to_ascii_lowercase();
        if dir && treated == "sealed" && USUALLY_WRITABLE.contains(&lower.as_str()) {
            p.suggested_writables
                .push(format!("{}/**", name.to_string_lossy()));
        }
        p.top.push(TopEntry {
            name: name.to_string_lossy().into_owned(),
            dir,
            treated,
            files,
        });
    }
    p.truncated = budget == 0;
    Ok(p)
}

/// Count what is under `path` (relative name `rel`). Iterative, with the
/// pending entries on the heap: a hostile tree thousands of levels deep
/// uses no stack, only the entry budget.
fn walk(path: &Path, rel: &[u8], filters: &Filters, p: &mut Preview, budget: &mut usize) {
    let mut pending = vec![(path.to_path_buf(), rel.to_vec(), false)];
    while let Some((path, rel, under_excluded)) = pending.pop() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        // Under an excluded directory every file counts as excluded.
        let excluded = under_excluded || filters.is_excluded(&rel);
        if meta.is_dir() {
            let Ok(rd) = fs::read_dir(&path) else {
                continue;
            };
            for e in rd.flatten() {
                let child = [rel.as_slice(), b"/", e.file_name().as_bytes()].concat();
                pending.push((e.path(), child, excluded));
            }
        } else if excluded {
            p.excluded_files += 1;
        } else if filters.is_writable(&rel) {
            p.writable_files += 1;
        } else {
            p.sealed_files += 1;
            p.sealed_bytes += meta.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_counts_what_each_pattern_takes_and_suggests_upload_areas() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("news")).unwrap();
        fs::create_dir_all(r.join("uploads/2026")).unwrap();
        fs::create_dir_all(r.join("cache")).unwrap();
        fs::write(r.join("index.html"), "0123456789").unwrap();
        fs::write(r.join("news/1.html"), "x").unwrap();
        fs::write(r.join("uploads/2026/a.jpg"), "x").unwrap();
        fs::write(r.join("cache/c"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", r.join("etc-link")).unwrap();
        let p = preview(r, &[], &[]).unwrap();
        assert_eq!(p.sealed_files, 5, "{p:?}"); // the symlink is recorded too
        assert_eq!(p.suggested_writables, ["cache/**", "uploads/**"]);
        let p = preview(r, &["cache/**".into()], &["uploads/**".into()]).unwrap();
        assert_eq!(
            (p.sealed_files, p.writable_files, p.excluded_files),
            (3, 1, 1),
            "{p:?}"
        );
        assert!(p.suggested_writables.is_empty());
        let uploads = p.top.iter().find(|t| t.name == "uploads").unwrap();
        assert_eq!((uploads.treated, uploads.files), ("writable", 1));
        assert!(!p.truncated);
        assert!(preview(&r.join("index.html"), &[], &[]).is_err());
        assert!(preview(r, &["[".into()], &[]).is_err());
    }

    #[test]
    fn a_deep_tree_is_walked_without_recursion() {
        let d = tempfile::tempdir().unwrap();
        let mut at = d.path().to_path_buf();
        for _ in 0..1500 {
            at.push("d");
        }
        fs::create_dir_all(&at).unwrap();
        fs::write(at.join("leaf"), "x").unwrap();
        let p = preview(d.path(), &[], &[]).unwrap();
        assert_eq!(p.sealed_files, 1, "{p:?}");
        assert!(!p.truncated);
    }
}
