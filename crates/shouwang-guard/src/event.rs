//! Turning what the watcher did into the store's vocabulary.

use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};

use crate::diff::Aspect;
use crate::events::{self, Change};
use crate::restore::Outcome;
use crate::watch::{Alarm, AlarmKind, Report};

/// The store event for a watcher report; `None` for reports not worth
/// keeping (nothing was done).
pub fn to_event(r: &Report) -> Option<NewEvent> {
    let root = r.root.display().to_string();
    let latency_ms = r.latency.as_secs_f64() * 1000.0;
    let change = Change {
        path: r.path.clone(),
        root: root.clone(),
        latency_ms: (latency_ms * 1000.0).round() / 1000.0,
        sealed_blake3: r.sealed_hash.clone(),
    };
    let (kind, severity, summary, details) = match &r.outcome {
        _ if r.paused => (
            events::CHANGED_IN_MAINTENANCE,
            Severity::Info,
            format!("维护窗口内 {} 发生变更（未恢复）", r.path),
            serde_json::to_value(change),
        ),
        Ok(Outcome::Unchanged) => return None,
        Ok(Outcome::Restored {
            aspects,
            quarantined,
        }) => {
            let content = aspects
                .iter()
                .any(|a| matches!(a, Aspect::Content | Aspect::Type | Aspect::Target));
            let what: Vec<&str> = aspects.iter().map(|a| a.zh()).collect();
            (
                events::RESTORED,
                if content {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "{} 的{}被篡改，已在 {:.1} 毫秒内恢复",
                    r.path,
                    what.join("、"),
                    latency_ms
                ),
                serde_json::to_value(events::Restored {
                    change,
                    aspects: aspects.iter().map(|a| a.name().to_string()).collect(),
                    quarantine_id: quarantined.clone(),
                }),
            )
        }
        Ok(Outcome::Recreated) => (
            events::RECREATED,
            Severity::High,
            format!("{} 被删除，已在 {:.1} 毫秒内恢复", r.path, latency_ms),
            serde_json::to_value(change),
        ),
        Ok(Outcome::Quarantined { id }) => (
            events::QUARANTINED,
            Severity::High,
            format!("发现非法新增文件 {}，已隔离", r.path),
            serde_json::to_value(events::Quarantined {
                change,
                quarantine_id: id.clone(),
            }),
        ),
        Ok(Outcome::WritableNew) => (
            events::WRITABLE_NEW,
            Severity::Info,
            format!("可写目录新增文件 {}", r.path),
            serde_json::to_value(change),
        ),
        Err(e) => (
            events::RESTORE_FAILED,
            Severity::Critical,
            format!("{} 被篡改，恢复失败：{e}", r.path),
            serde_json::to_value(events::RestoreFailed {
                change,
                error: e.clone(),
            }),
        ),
    };
    Some(NewEvent {
        time: r.at,
        kind: kind.to_string(),
        asset: AssetRef::new(AssetKind::WebRoot, root.clone()),
        severity,
        summary,
        // Plain strings, numbers and options: serialising cannot fail.
        details: details.unwrap_or_default(),
        provenance: Provenance::now(events::SENSOR, events::WATCH_CHECK, root),
    })
}

/// The store event for evidence dropped from a full quarantine.
pub fn dropped_to_event(r: &crate::QuarantineRecord, total: u64) -> NewEvent {
    let summary = format!(
        "隔离区已满：最早隔离的 {}（{} 字节）已删除，仅保留摘要（累计删除 {total} 项）",
        r.path, r.size
    );
    let details = events::QuarantineDropped {
        change: Change {
            path: r.path.clone(),
            root: r.root.clone(),
            latency_ms: 0.0,
            sealed_blake3: None,
        },
        quarantine_id: r.id.clone(),
        reason: r.reason.clone(),
        size: r.size,
        blake3: r.blake3.clone(),
        quarantined_at: r.quarantined_at.to_rfc3339(),
        dropped_total: total,
    };
    NewEvent {
        time: chrono::Utc::now(),
        kind: events::QUARANTINE_DROPPED.to_string(),
        asset: AssetRef::new(AssetKind::WebRoot, r.root.clone()),
        severity: Severity::Medium,
        summary,
        // Plain strings and numbers: serialising cannot fail.
        details: serde_json::to_value(details).unwrap_or_default(),
        provenance: Provenance::now(events::SENSOR, events::WATCH_CHECK, r.root.clone()),
    }
}

/// The store event for an alarm about a whole root: always critical, so
/// that it opens an incident and is announced.
pub fn alarm_to_event(a: &Alarm) -> NewEvent {
    let root = a.root.display().to_string();
    let change = Change {
        path: ".".into(),
        root: root.clone(),
        latency_ms: 0.0,
        sealed_blake3: None,
    };
    let (kind, summary, details) = match &a.kind {
        AlarmKind::Displaced {
            symlink_target,
            why,
        } => (
            events::ROOT_DISPLACED,
            match symlink_target {
                Some(t) => format!(
                    "网站目录 {root} 被替换为指向 {t} 的链接，对外展示的已不是封存的网站，无法自动恢复"
                ),
                None => format!(
                    "网站目录 {root} 被移走或替换，对外展示的已不是封存的网站，无法自动恢复"
                ),
            },
            serde_json::to_value(events::RootDisplaced {
                change,
                symlink_target: symlink_target.clone(),
                detail: why.clone(),
            }),
        ),
        AlarmKind::BaselineTampered { manifest, why } => (
            events::BASELINE_TAMPERED,
            format!("网站目录 {root} 的防篡改基线未通过完整性校验，已停止依据它恢复"),
            serde_json::to_value(events::BaselineTampered {
                change,
                manifest: manifest.display().to_string(),
                detail: why.clone(),
            }),
        ),
    };
    NewEvent {
        time: a.at,
        kind: kind.to_string(),
        asset: AssetRef::new(AssetKind::WebRoot, root.clone()),
        severity: Severity::Critical,
        summary,
        // Plain strings and options: serialising cannot fail.
        details: details.unwrap_or_default(),
        provenance: Provenance::now(events::SENSOR, events::WATCH_CHECK, root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn report(outcome: Result<Outcome, String>) -> Report {
        Report {
            root: PathBuf::from("/srv/www"),
            path: "index.php".into(),
            outcome,
            latency: Duration::from_micros(4321),
            sealed_hash: Some("ab".into()),
            paused: false,
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_restore_is_stored_with_the_same_details_as_before_the_contract() {
        let e = to_event(&report(Ok(Outcome::Restored {
            aspects: vec![Aspect::Content, Aspect::Mode],
            quarantined: Some("q1".into()),
        })))
        .unwrap();
        assert_eq!(e.kind, "guard.restored");
        assert_eq!(
            e.details,
            serde_json::json!({
                "path": "index.php",
                "root": "/srv/www",
                "latency_ms": 4.321,
                "sealed_blake3": "ab",
                "aspects": ["content", "mode"],
                "quarantine_id": "q1",
            })
        );
        let e = to_event(&report(Err("disk full".into()))).unwrap();
        assert_eq!(e.details["error"], "disk full");
        assert_eq!(e.details["path"], "index.php");
    }

    #[test]
    fn aspect_names_are_their_serialised_names() {
        for a in [
            Aspect::Content,
            Aspect::Mode,
            Aspect::Owner,
            Aspect::Type,
            Aspect::Target,
        ] {
            assert_eq!(serde_json::to_value(a).unwrap(), a.name());
        }
    }
}
