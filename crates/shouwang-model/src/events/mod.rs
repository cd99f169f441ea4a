//! The contracts of the events sensors write and others read: each
//! sensor's event kinds, its finding check-id prefixes, and the details of
//! each kind as a serde struct.
//!
//! The sensors own these (each re-exports its module as
//! `shouwang_<sensor>::events`), but the types live here. The layers would
//! let the console and the report import the sensors, yet that would pull
//! the site sensor's HTTP client and HTML parser into the console for a
//! few structs, and the incident rules (which test details fields) would
//! need all three sensors; no sensor may import another. The model is the
//! one crate every writer and reader already depends on. A field renamed
//! here fails to compile in every reader instead of blanking a page.
//!
//! Every details struct takes `#[serde(default)]`, so events stored by an
//! older version that lack a field still decode.

pub mod guard;
pub mod host;
pub mod site;

use serde::de::DeserializeOwned;

/// An event's details as the contract `T` of its kind. Rows that are not
/// an object of that shape (hand-edited, or written by something else) are
/// an error for the caller to judge; a missing field is not.
pub fn decode<T: DeserializeOwned>(details: &serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(details)
}

/// The top-level fields of the details of `kind`, sorted; `None` for a
/// kind no sensor's contract names. Documentation and tests compare
/// against this, so they follow the structs rather than a copy.
pub fn detail_fields(kind: &str) -> Option<Vec<String>> {
    fn keys<T: serde::Serialize + Default>() -> Vec<String> {
        match serde_json::to_value(T::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
    let mut fields = match kind {
        guard::RESTORED => keys::<guard::Restored>(),
        guard::QUARANTINED => keys::<guard::Quarantined>(),
        guard::RESTORE_FAILED => keys::<guard::RestoreFailed>(),
        guard::ROOT_DISPLACED => keys::<guard::RootDisplaced>(),
        guard::BASELINE_TAMPERED => keys::<guard::BaselineTampered>(),
        guard::QUARANTINE_DROPPED => keys::<guard::QuarantineDropped>(),
        guard::RECREATED | guard::WRITABLE_NEW | guard::CHANGED_IN_MAINTENANCE => {
            keys::<guard::Change>()
        }
        site::INSPECTED => keys::<site::Inspected>(),
        site::PROBE => keys::<site::Probe>(),
        host::CHECK_COMPLETED => keys::<host::CheckCompleted>(),
        _ => return None,
    };
    fields.sort();
    Some(fields)
}

/// What an event of `kind` is, for people: Chinese and English. `None` for
/// a kind no sensor emits (pages show its code name then).
pub fn kind_label(kind: &str) -> Option<crate::Text> {
    let (zh, en) = match kind {
        guard::RESTORED => ("网页篡改已恢复", "Tampering undone"),
        guard::RECREATED => ("被删文件已恢复", "Deleted file restored"),
        guard::QUARANTINED => ("可疑文件已隔离", "Intruding file quarantined"),
        guard::WRITABLE_NEW => ("可写目录新增文件", "New file in a writable area"),
        guard::RESTORE_FAILED => ("网页恢复失败", "Restore failed"),
        guard::CHANGED_IN_MAINTENANCE => ("维护期间的改动", "Change in a maintenance window"),
        guard::ROOT_DISPLACED => ("网站目录被替换", "Web root displaced"),
        guard::BASELINE_TAMPERED => ("防篡改基线被改动", "Baseline tampered with"),
        guard::QUARANTINE_DROPPED => (
            "隔离区已满，旧证据已清除",
            "Quarantine full: old evidence dropped",
        ),
        site::INSPECTED => ("网站巡查完成", "Website inspected"),
        site::PROBE => ("首页可用性探测", "Homepage probe"),
        host::CHECK_COMPLETED => ("主机自查完成", "Host check completed"),
        _ => return None,
    };
    Some(crate::Text::new(zh, en))
}

/// Every kind every sensor emits.
pub fn all_kinds() -> impl Iterator<Item = &'static str> {
    [guard::KINDS, site::KINDS, host::KINDS]
        .into_iter()
        .flatten()
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_sensor_emits_has_a_label_for_people() {
        for kind in all_kinds() {
            let label = kind_label(kind).unwrap_or_else(|| panic!("{kind} has no label"));
            assert!(
                !label.zh.is_empty() && !label.zh.is_ascii(),
                "{kind}: {label:?}"
            );
        }
        assert!(kind_label("nobody.emits-this").is_none());
    }

    #[test]
    fn every_emitted_kind_has_a_details_contract() {
        for k in all_kinds() {
            let f = detail_fields(k).unwrap_or_default();
            assert!(!f.is_empty(), "{k} has no details contract");
        }
    }

    #[test]
    fn every_kind_starts_with_its_sensor() {
        for (sensor, kinds) in [
            (guard::SENSOR, guard::KINDS),
            (site::SENSOR, site::KINDS),
            (host::SENSOR, host::KINDS),
        ] {
            for k in kinds {
                assert!(
                    k.starts_with(&format!("{sensor}.")),
                    "{k} is not {sensor}.*"
                );
            }
        }
    }

    #[test]
    fn a_details_object_of_an_older_version_without_new_fields_still_decodes() {
        let old: site::Inspected = decode(&serde_json::json!({ "pages": 3 })).unwrap();
        assert_eq!(old.pages, 3);
        assert_eq!(old.homepage, None);
        let old: guard::Restored =
            decode(&serde_json::json!({ "path": "/a", "latency_ms": 1.5 })).unwrap();
        assert_eq!(old.change.path, "/a");
        assert_eq!(old.change.latency_ms, 1.5);
        assert!(old.aspects.is_empty());
        let old: host::CheckCompleted = decode(&serde_json::json!({ "fail": 2 })).unwrap();
        assert_eq!((old.fail, old.score), (2, None));
    }

    #[test]
    fn details_that_are_not_an_object_are_an_error_not_a_panic() {
        assert!(decode::<site::Inspected>(&serde_json::json!("x")).is_err());
        assert!(decode::<site::Inspected>(&serde_json::json!({ "pages": "many" })).is_err());
    }

    #[test]
    fn the_fields_the_store_rolls_up_are_fields_of_their_kinds() {
        for k in guard::LATENCY_KINDS {
            let f = detail_fields(k).unwrap();
            assert!(f.iter().any(|f| f == guard::LATENCY_FIELD), "{k}: {f:?}");
        }
        let f = detail_fields(site::PROBE).unwrap();
        assert!(f.iter().any(|f| f == site::PROBE_OK_FIELD), "{f:?}");
    }
}
