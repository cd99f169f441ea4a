//! The guard's state as a terminal shows it: the sealed roots, what a check
//! found, the quarantine, and one word per change or restore outcome. Times
//! are Beijing time and say so. The CLI prints these.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shouwang_model::beijing_seconds;
use shouwang_model::text::table;

use crate::{Baseline, ChangeKind, CheckReport, Kind, Outcome, QuarantineRecord, SealReport};

/// `2026-11-22 16:00:05（北京时间）`.
pub fn beijing(t: DateTime<Utc>) -> String {
    format!("{}（北京时间）", beijing_seconds(t))
}

/// How many regular files a baseline holds.
pub fn files(b: &Baseline) -> usize {
    b.manifest
        .entries
        .iter()
        .filter(|e| e.kind == Kind::File)
        .count()
}

/// The sealed roots, each with whether `up` watches it (`watched`).
pub fn baselines(rows: &[(&Baseline, bool)]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(b, watched)| {
            vec![
                b.root.display().to_string(),
                files(b).to_string(),
                beijing(b.sealed_at()),
                if *watched { "yes" } else { "no" }.into(),
                b.paused_until().map(beijing).unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["root", "files", "sealed", "watched by up", "paused until"],
        &rows,
    )
}

/// What `seal` recorded, in a line; over a baseline, a line more saying
/// what it kept of that baseline and what it accepted (or that nothing
/// changed).
pub fn sealed(r: &SealReport) -> String {
    let mut s = format!(
        "sealed {}: {} files, {} directories, {} symlinks, {:.1} MB ({} distinct objects) in {:.2} s\n",
        r.root.display(),
        r.files,
        r.dirs,
        r.symlinks,
        r.bytes as f64 / 1e6,
        r.objects,
        r.seconds
    );
    let Some(previous) = r.previous else {
        return s;
    };
    let what = if r.accepted.is_empty() {
        "nothing changed since".to_string()
    } else {
        format!(
            "accepted {} ({}) compared with",
            r.accepted.summary(),
            r.accepted.listing()
        )
    };
    s.push_str(&format!("{what} the baseline of {}", beijing(previous)));
    for (name, v) in [("writable", &r.writables), ("exclude", &r.excludes)] {
        if r.kept.contains(&name) {
            s.push_str(&format!("; kept its --{name} {}", v.join(" ")));
        }
    }
    s.push('\n');
    s
}

/// How far a seal has got: `sealing: 1234 paths walked, 567 files (12.3 MB) read`.
pub fn seal_progress(p: &crate::scan::Progress) -> String {
    let n = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    format!(
        "sealing: {} paths walked, {} files ({:.1} MB) read",
        n(&p.walked),
        n(&p.files),
        n(&p.bytes) as f64 / 1e6
    )
}

/// A sealed root for `guard list --json`.
pub fn baseline_json(b: &Baseline, watched: bool) -> Value {
    json!({
        "root": b.root, "files": files(b), "sealed_at": b.sealed_at(),
        "in_config": watched, "paused_until": b.paused_until(),
        "excludes": b.manifest.excludes, "writables": b.manifest.writables,
    })
}

/// What `check` found under `b`, for `guard check --json`.
pub fn check_json(b: &Baseline, report: &CheckReport) -> Value {
    let changes: Vec<Value> = report
        .changes
        .iter()
        .map(|c| {
            json!({
                "path": c.path_display(),
                "change": c.kind,
                "sealed_blake3": c.before.as_ref().and_then(|e| e.hash_hex()),
                "now_blake3": c.after.as_ref().and_then(|e| e.hash_hex()),
            })
        })
        .collect();
    let unreadable: Vec<Value> = report
        .unreadable
        .iter()
        .map(|(p, e)| json!({ "path": p, "error": e }))
        .collect();
    json!({
        "root": b.root,
        "seconds": report.elapsed.as_secs_f64(),
        "changes": changes,
        "unreadable": unreadable,
    })
}

/// Table rows of what `check` found under `b`: each change, then each path
/// that could not be read.
pub fn check_rows(b: &Baseline, report: &CheckReport) -> Vec<Vec<String>> {
    let root = b.root.display().to_string();
    let changes = report
        .changes
        .iter()
        .map(|c| vec![root.clone(), change(&c.kind), c.path_display()]);
    let unreadable = report.unreadable.iter().map(|(p, e)| {
        vec![
            root.clone(),
            "unreadable".into(),
            format!("{}: {e}", p.display()),
        ]
    });
    changes.chain(unreadable).collect()
}

/// The rows of [`check_rows`] under a header.
pub fn check(rows: &[Vec<String>]) -> String {
    table(&["root", "change", "path"], rows)
}

/// What the quarantine holds.
pub fn quarantine(records: &[QuarantineRecord]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.reason.clone(),
                r.kind.clone(),
                r.size.to_string(),
                format!("{}/{}", r.root, r.path),
            ]
        })
        .collect();
    table(&["id", "reason", "kind", "bytes", "was at"], &rows)
}

/// A change in a word or two: `modified (content, mode)`.
pub fn change(k: &ChangeKind) -> String {
    match k {
        ChangeKind::Added => "added".into(),
        ChangeKind::Deleted => "deleted".into(),
        ChangeKind::WritableAdded => "new upload".into(),
        ChangeKind::Modified { aspects } => {
            let a: Vec<&str> = aspects.iter().map(|a| a.name()).collect();
            format!("modified ({})", a.join(", "))
        }
    }
}

/// What a restore did to one path.
pub fn outcome(o: &Outcome) -> &'static str {
    match o {
        Outcome::Unchanged => "unchanged",
        Outcome::Restored { .. } => "restored",
        Outcome::Recreated => "recreated",
        Outcome::Quarantined { .. } => "quarantined",
        Outcome::WritableNew => "new upload",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aspect;

    #[test]
    fn times_are_beijing_time_and_say_so() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T08:00:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(beijing(t), "2026-11-22 16:00:05（北京时间）");
    }

    #[test]
    fn a_modification_names_what_changed() {
        let k = ChangeKind::Modified {
            aspects: vec![Aspect::Content, Aspect::Mode],
        };
        assert_eq!(change(&k), "modified (content, mode)");
    }
}
