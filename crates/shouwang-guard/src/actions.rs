//! What a person does to the guard: seal, publish, open and close a
//! maintenance window, restore, release from quarantine. Each one does the
//! work and then records who did it in the audit log, so the CLI and the
//! console make the same change with the same entry.
//!
//! The work is on the file system and the entry in the store, so they
//! cannot share a transaction: the entry is written after the work
//! succeeded, and a failed entry is an error the person sees.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use shouwang_store::{NewAuditEntry, Store};

use crate::{GuardDir, GuardError, Outcome, Result, SealOptions, SealReport, SealRequest};

fn audit(
    store: &dyn Store,
    actor: &str,
    action: &str,
    root: &Path,
    details: serde_json::Value,
) -> Result<()> {
    let entry = NewAuditEntry::new(actor, action, root.display().to_string(), details);
    store.record_action(&entry).map_err(GuardError::Audit)?;
    Ok(())
}

/// Seal `root`: its current state becomes the baseline. Sealed before,
/// it keeps the options not given again, and what it would take in must
/// be accepted ([`GuardDir::seal_as_asked`]).
pub fn seal(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    root: &Path,
    req: &SealRequest,
) -> Result<SealReport> {
    let report = guard.seal_as_asked(root, req)?;
    let details = json!({
        "files": report.files, "bytes": report.bytes,
        "exclude": report.excludes, "writable": report.writables,
        "accepted": report.accepted,
    });
    audit(store, actor, "guard.seal", &report.root, details)?;
    Ok(report)
}

/// Accept the current state of `paths` (or, with `all`, of the whole web
/// roots they lie in). Returns each root with what was published in it.
pub fn publish(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    paths: &[PathBuf],
    all: bool,
) -> Result<Vec<(PathBuf, Vec<String>)>> {
    let mut out = Vec::new();
    for p in paths {
        let b = guard.owning(p)?;
        let published = if all {
            let opts = SealOptions {
                excludes: b.manifest.excludes.clone(),
                writables: b.manifest.writables.clone(),
            };
            guard.seal(&b.root, &opts)?;
            vec![".".to_string()]
        } else {
            guard.publish(&b.root, std::slice::from_ref(p))?
        };
        audit(
            store,
            actor,
            "guard.publish",
            &b.root,
            json!({ "paths": published }),
        )?;
        out.push((b.root, published));
    }
    Ok(out)
}

/// Open a maintenance window of `d` on `roots` (all sealed roots when
/// none is named). Returns each root with when its window closes.
pub fn pause(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    roots: &[PathBuf],
    d: Duration,
) -> Result<Vec<(PathBuf, DateTime<Utc>)>> {
    let mut out = Vec::new();
    for b in guard.pick(roots)? {
        let until = b.pause(d)?;
        audit(
            store,
            actor,
            "guard.pause",
            &b.root,
            json!({ "until": until }),
        )?;
        out.push((b.root, until));
    }
    Ok(out)
}

/// Close the maintenance windows of `roots` now.
pub fn resume(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    roots: &[PathBuf],
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for b in guard.pick(roots)? {
        b.resume()?;
        audit(
            store,
            actor,
            "guard.resume",
            &b.root,
            serde_json::Value::Null,
        )?;
        out.push(b.root);
    }
    Ok(out)
}

/// Put `root` back to its baseline now; every path with what was done to
/// it, or why it could not be.
pub fn restore(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    root: &Path,
) -> Result<Vec<(String, Result<Outcome>)>> {
    let b = guard.baseline(root)?;
    let results = b.repair()?;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let details = json!({ "paths": results.len(), "failed": failed });
    audit(store, actor, "guard.restore", &b.root, details)?;
    Ok(results)
}

/// Rebuild `root`'s baseline into the empty directory `target` (disaster
/// recovery); returns how many paths were written.
pub fn restore_to(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    root: &Path,
    target: &Path,
) -> Result<(PathBuf, u64)> {
    let b = guard.baseline(root)?;
    let n = guard.restore_to(&b, target)?;
    let details = json!({ "to": target, "paths": n });
    audit(store, actor, "guard.restore-to", &b.root, details)?;
    Ok((b.root, n))
}

/// Put the quarantined item `id` back where it was and into the baseline.
/// Returns the root and the path, relative to it.
pub fn release(
    guard: &GuardDir,
    store: &dyn Store,
    actor: &str,
    id: &str,
) -> Result<(PathBuf, String)> {
    let (b, _) = guard.quarantined(id)?;
    let path = guard.release(&b.root, id)?;
    let details = json!({ "id": id, "path": path });
    audit(store, actor, "guard.quarantine.release", &b.root, details)?;
    Ok((b.root, path))
}
