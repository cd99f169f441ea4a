//! The tamper-evident audit log.
//!
//! Each entry's hash is a keyed BLAKE3 MAC over its sequence number, time,
//! actor, action, target, details and the previous entry's hash. The key
//! lives in the data dir (mode 0600), not in the database, so someone who can
//! write the database but not read the key cannot forge a consistent chain.
//! A separate head row records the last sequence number and hash, so deleting
//! rows from the end is caught too.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::{AuditEntry, Result, Store, StoreError, to_micros};

/// Read a 32-byte secret from `path`, or create the file with a fresh
/// random one (mode 0600, written to a temporary file and renamed, so a crash
/// never leaves a short key behind). Used for every key Shouwang keeps in its
/// data dir: the audit-log key, the guard's baseline key.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32]> {
    let err = |detail: String| StoreError::AuditKey {
        path: path.to_path_buf(),
        detail,
    };
    match fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|b: Vec<u8>| {
            err(format!(
                "it holds {} bytes, not 32; restore it from a backup (without it what it protects cannot be verified)",
                b.len()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            crate::replace_file(path, &bytes, 0o600)
                .map_err(|e| err(format!("cannot create it: {e}")))?;
            Ok(bytes)
        }
        Err(e) => Err(err(format!("cannot read it: {e}"))),
    }
}

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The secret the audit chain is keyed with.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AuditKey(bytes)
    }

    /// Read the key file, or create it; see [`load_or_create_secret`].
    pub fn load_or_create(path: &Path) -> Result<Self> {
        load_or_create_secret(path).map(AuditKey)
    }

    /// The chain hash of an entry: over everything but its own `hash`.
    pub fn hash_of(&self, e: &AuditEntry) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(&e.seq.to_le_bytes());
        h.update(&to_micros(e.time).to_le_bytes());
        // Length-prefix every text field so that moving bytes from one field
        // to the next changes the hash.
        for field in [&e.actor, &e.action, &e.target, &e.details, &e.prev_hash] {
            h.update(&(field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum AuditVerdict {
    /// Every row is where the chain says, with the content it was written with.
    Intact { entries: i64 },
    /// Row `seq` is missing: rows were deleted from the middle.
    Deleted { seq: i64 },
    /// Row `seq` links to its predecessor but its content was changed.
    Edited { seq: i64 },
    /// Row `seq` does not belong to the chain: inserted, or forged.
    Inserted { seq: i64 },
    /// The chain ends at `last_seq` but the head says `head_seq`: rows were
    /// deleted from the end (or the head was changed).
    Truncated { last_seq: i64, head_seq: i64 },
}

impl AuditVerdict {
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerdict::Intact { .. })
    }
}

impl std::fmt::Display for AuditVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditVerdict::Intact { entries } => {
                write!(f, "audit log intact: {entries} entries, chain verified")
            }
            AuditVerdict::Deleted { seq } => {
                write!(f, "audit log TAMPERED: entry {seq} was deleted")
            }
            AuditVerdict::Edited { seq } => write!(
                f,
                "audit log TAMPERED: entry {seq} was edited after it was written"
            ),
            AuditVerdict::Inserted { seq } => write!(
                f,
                "audit log TAMPERED: entry {seq} was inserted or forged (it does not chain to entry {})",
                seq - 1
            ),
            AuditVerdict::Truncated { last_seq, head_seq } => write!(
                f,
                "audit log TAMPERED: entries after {last_seq} (up to {head_seq}) were deleted"
            ),
        }
    }
}

const VERIFY_BATCH: usize = 10_000;

/// Walk the chain in batches, oldest first, and name the first misfit.
/// The log may grow while it is walked (a login, a sensor's run): an entry
/// past the head read at the start makes the head be read again, and only
/// an entry past that head too was put there without the chain.
pub(crate) fn verify<S: Store + ?Sized>(store: &S) -> Result<AuditVerdict> {
    let key = store.audit_key();
    let (mut head_seq, mut head_hash) = store.audit_head()?;
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH.to_string();
    loop {
        let batch = store.audit_entries(expected_seq - 1, VERIFY_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if e.seq != expected_seq {
                return Ok(AuditVerdict::Deleted { seq: expected_seq });
            }
            if e.seq > head_seq {
                // The entry and its head move commit together, so the head
                // read now covers every entry appended since.
                (head_seq, head_hash) = store.audit_head()?;
            }
            // A row beyond the recorded head, or one that does not link to
            // its predecessor, was put there without the chain.
            if e.seq > head_seq || e.prev_hash != prev {
                return Ok(AuditVerdict::Inserted { seq: e.seq });
            }
            if e.hash != key.hash_of(e) {
                return Ok(AuditVerdict::Edited { seq: e.seq });
            }
            prev = e.hash.clone();
            expected_seq += 1;
        }
    }
    let last_seq = expected_seq - 1;
    if last_seq != head_seq || prev != head_hash {
        return Ok(AuditVerdict::Truncated { last_seq, head_seq });
    }
    Ok(AuditVerdict::Intact { entries: last_seq })
}

impl AuditKey {
    /// The entry that follows `prev_hash` at `seq`.
    pub(crate) fn chain(
        &self,
        seq: i64,
        time: DateTime<Utc>,
        entry: &crate::NewAuditEntry,
        prev_hash: String,
    ) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            time,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            details: entry.details.clone(),
            prev_hash,
            hash: String::new(),
        };
        e.hash = self.hash_of(&e);
        e
    }
}
