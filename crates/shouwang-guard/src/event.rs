//! Turning what the watcher did into the store's vocabulary.

use shouwang_model::{AssetKind, AssetRef, NewEvent, Provenance, Severity};

use crate::diff::Aspect;
use crate::restore::Outcome;
use crate::watch::Report;

/// The store event for a watcher report; `None` for reports not worth
/// keeping (nothing was done).
pub fn to_event(r: &Report) -> Option<NewEvent> {
    let root = r.root.display().to_string();
    let latency_ms = r.latency.as_secs_f64() * 1000.0;
    let (kind, severity, summary, extra) = match &r.outcome {
        _ if r.paused => (
            "guard.changed-in-maintenance",
            Severity::Info,
            format!("维护窗口内 {} 发生变更（未恢复）", r.path),
            serde_json::json!({}),
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
                "guard.restored",
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
                serde_json::json!({ "aspects": aspects, "quarantine_id": quarantined }),
            )
        }
        Ok(Outcome::Recreated) => (
            "guard.recreated",
            Severity::High,
            format!("{} 被删除，已在 {:.1} 毫秒内恢复", r.path, latency_ms),
            serde_json::json!({}),
        ),
        Ok(Outcome::Quarantined { id }) => (
            "guard.quarantined",
            Severity::High,
            format!("发现非法新增文件 {}，已隔离", r.path),
            serde_json::json!({ "quarantine_id": id }),
        ),
        Ok(Outcome::WritableNew) => (
            "guard.writable-new",
            Severity::Info,
            format!("可写目录新增文件 {}", r.path),
            serde_json::json!({}),
        ),
        Err(e) => (
            "guard.restore-failed",
            Severity::Critical,
            format!("{} 被篡改，恢复失败：{e}", r.path),
            serde_json::json!({ "error": e }),
        ),
    };
    let mut details = serde_json::json!({
        "path": r.path,
        "root": root,
        "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
        "sealed_blake3": r.sealed_hash,
    });
    if let (Some(d), serde_json::Value::Object(x)) = (details.as_object_mut(), extra) {
        d.extend(x);
    }
    Some(NewEvent {
        time: r.at,
        kind: kind.to_string(),
        asset: AssetRef::new(AssetKind::WebRoot, root.clone()),
        severity,
        summary,
        details,
        provenance: Provenance::now("guard", "guard.watch", root),
    })
}
