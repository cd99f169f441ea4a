//! The audit key file and the log it signs: a key that goes missing once
//! entries exist is an error, not a silent new key.

use shouwang_store::{AUDIT_KEY_FILE, NewAuditEntry, StoreConfig};

#[test]
fn a_missing_audit_key_is_an_error_once_the_log_has_entries() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::default();
    {
        let store = shouwang_store::open(&config, dir.path()).unwrap();
        store
            .record_action(&NewAuditEntry::new(
                "admin",
                "user.login",
                "admin",
                serde_json::Value::Null,
            ))
            .unwrap();
    }
    let key = dir.path().join(AUDIT_KEY_FILE);
    std::fs::remove_file(&key).unwrap();

    let Err(e) = shouwang_store::open(&config, dir.path()) else {
        panic!("the store opened with a new key over a log signed by the old one");
    };
    let message = e.to_string();
    assert!(message.contains(AUDIT_KEY_FILE), "{message}");
    assert!(message.contains("backup"), "{message}");
    // Nothing was made in its place: the next start says the same.
    assert!(!key.exists());
    assert!(shouwang_store::open(&config, dir.path()).is_err());
}

#[test]
fn a_fresh_data_dir_gets_its_key() {
    let dir = tempfile::tempdir().unwrap();
    shouwang_store::open(&StoreConfig::default(), dir.path()).unwrap();
    assert!(dir.path().join(AUDIT_KEY_FILE).exists());
}
