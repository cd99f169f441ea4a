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
