//! The tamper-evident audit log.
//!
//! Each entry's hash is a keyed BLAKE3 MAC over its sequence number, time,
//! actor, action, target, details and the previous entry's hash. The key
//! lives in the data dir (mode 0600), not in the database, so someone who can
//! write the database but not read the key cannot forge a consistent chain.
//! A separate head row records the last sequence number and hash, signed
//! with the same key, so deleting rows from the end is caught too, and so
//! is a head rewritten to match (the MAC cannot be made without the key).
//!
//! What the key cannot catch is a replay: rows deleted from the end and an
//! older head, with its own valid MAC, put back. Only a copy of the head
//! kept elsewhere can: an [`AuditAnchor`], printed in each 自查报告 and by
//! `audit anchor`, sent to the notification channels, and given back to
//! `audit verify --anchor`.

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

/// The migration that added the head's MAC; the store applying it signs
/// the head it finds.
pub(crate) const HEAD_MAC_VERSION: i64 = 5;

/// The head row: the last entry's sequence number and hash, and the MAC
/// over both (`None` only if someone cleared it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub mac: Option<String>,
}

/// An entry's sequence number and hash, written down outside the box (in a
/// report, a notification) to prove later that the log reached it.
/// Written `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditAnchor {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for AuditAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// A `SEQ:HASH` that is not an anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an audit anchor: write it as `audit anchor` prints it, SEQ:HASH (e.g. 1042:3f9a…, 64 hex digits)"
)]
pub struct BadAnchor(pub String);

impl std::str::FromStr for AuditAnchor {
    type Err = BadAnchor;
    fn from_str(s: &str) -> std::result::Result<Self, BadAnchor> {
        let bad = || BadAnchor(s.to_string());
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.trim().parse().map_err(|_| bad())?;
        let hash = hash.trim().to_ascii_lowercase();
        if seq < 0 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(AuditAnchor { seq, hash })
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
    /// The head row does not carry the key's MAC over its sequence number
    /// and hash: it was rewritten, most likely to hide deleted entries.
    HeadForged { head_seq: i64 },
    /// The log holds no entries while the store holds users, each of whose
    /// creation was audited: the log was emptied and its head reset.
    Emptied { users: usize },
    /// The log ends at `head_seq`, before the anchored entry
    /// `anchored_seq`: entries were deleted and an older head put back.
    Rewound { head_seq: i64, anchored_seq: i64 },
    /// The anchored entry is there but is not the entry that was anchored.
    AnchorMismatch { seq: i64 },
}

impl AuditVerdict {
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerdict::Intact { .. })
    }

    /// The verdict in Chinese, for the console and reports.
    pub fn zh(&self) -> String {
        match *self {
            AuditVerdict::Intact { entries } => format!("共 {entries} 条记录，哈希链完整"),
            AuditVerdict::Deleted { seq } => format!("第 {seq} 条记录被删除"),
            AuditVerdict::Edited { seq } => format!("第 {seq} 条记录写入后被修改"),
            AuditVerdict::Inserted { seq } => format!("第 {seq} 条记录是插入或伪造的"),
            AuditVerdict::Truncated { last_seq, head_seq } => {
                format!("第 {last_seq} 条之后（至第 {head_seq} 条）的记录被删除")
            }
            AuditVerdict::HeadForged { head_seq } => {
                format!("日志末尾（第 {head_seq} 条）被改写，很可能是为了掩盖被删除的记录")
            }
            AuditVerdict::Emptied { users } => {
                format!("日志被清空：系统中有 {users} 个用户，其创建记录却都不在了")
            }
            AuditVerdict::Rewound {
                head_seq,
                anchored_seq,
            } => format!(
                "日志只到第 {head_seq} 条，早于已留存的锚点第 {anchored_seq} 条：记录被删除后换回了旧的日志末尾"
            ),
            AuditVerdict::AnchorMismatch { seq } => {
                format!("第 {seq} 条记录与留存的锚点不符")
            }
        }
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
            AuditVerdict::HeadForged { head_seq } => write!(
                f,
                "audit log TAMPERED: its head (entry {head_seq}) was rewritten without the audit key, most likely to hide entries deleted from the end"
            ),
            AuditVerdict::Emptied { users } => write!(
                f,
                "audit log TAMPERED: it holds no entries, but {users} user(s) exist and each one's creation was recorded in it: the log was emptied"
            ),
            AuditVerdict::Rewound {
                head_seq,
                anchored_seq,
            } => write!(
                f,
                "audit log TAMPERED: it ends at entry {head_seq}, but entry {anchored_seq} was anchored: entries were deleted and an older head put back"
            ),
            AuditVerdict::AnchorMismatch { seq } => write!(
                f,
                "audit log TAMPERED: entry {seq} is not the entry that was anchored (it was replaced)"
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
    let mut head = store.signed_audit_head()?;
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
            if e.seq > head.seq {
                // The entry and its head move commit together, so the head
                // read now covers every entry appended since.
                head = store.signed_audit_head()?;
            }
            // A row beyond the recorded head, or one that does not link to
            // its predecessor, was put there without the chain.
            if e.seq > head.seq || e.prev_hash != prev {
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
    let head_seq = head.seq;
    if last_seq != head_seq || prev != head.hash {
        return Ok(AuditVerdict::Truncated { last_seq, head_seq });
    }
    if head.mac.as_deref() != Some(key.head_mac(head.seq, &head.hash).as_str()) {
        return Ok(AuditVerdict::HeadForged { head_seq });
    }
    if last_seq == 0 {
        let users = store.users()?.len();
        if users > 0 {
            return Ok(AuditVerdict::Emptied { users });
        }
    }
    Ok(AuditVerdict::Intact { entries: last_seq })
}

/// [`verify`], and then that the log still reaches `anchor`, an entry
/// written down earlier outside the box.
pub(crate) fn verify_against<S: Store + ?Sized>(
    store: &S,
    anchor: &AuditAnchor,
) -> Result<AuditVerdict> {
    let verdict = verify(store)?;
    let AuditVerdict::Intact { entries } = verdict else {
        return Ok(verdict);
    };
    if anchor.seq == 0 {
        return Ok(verdict);
    }
    if entries < anchor.seq {
        return Ok(AuditVerdict::Rewound {
            head_seq: entries,
            anchored_seq: anchor.seq,
        });
    }
    match store.audit_entries(anchor.seq - 1, 1)?.first() {
        Some(e) if e.seq == anchor.seq && e.hash == anchor.hash => Ok(verdict),
        _ => Ok(AuditVerdict::AnchorMismatch { seq: anchor.seq }),
    }
}

/// The anchor of the log as it stands: its head's sequence number and hash.
pub(crate) fn anchor<S: Store + ?Sized>(store: &S) -> Result<AuditAnchor> {
    let head = store.signed_audit_head()?;
    Ok(AuditAnchor {
        seq: head.seq,
        hash: head.hash,
    })
}

impl AuditKey {
    /// The MAC of the head row over its sequence number and hash; domain
    /// separated from the entries' hashes, so one is never taken for the
    /// other.
    pub(crate) fn head_mac(&self, seq: i64, hash: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"shouwang audit head\0");
        h.update(&seq.to_le_bytes());
        h.update(hash.as_bytes());
        h.finalize().to_hex().to_string()
    }

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

#[cfg(test)]
mod anchor_properties {
    use proptest::prelude::*;

    use super::AuditAnchor;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever is typed after `--anchor` is an anchor or a clear
        /// refusal, and an anchor reads back as it prints.
        #[test]
        fn any_text_is_an_anchor_that_round_trips_or_a_refusal(s in ".{0,100}") {
            if let Ok(a) = s.parse::<AuditAnchor>() {
                prop_assert_eq!(a.to_string().parse::<AuditAnchor>().unwrap(), a);
            }
        }

        #[test]
        fn a_printed_anchor_reads_back(seq in 0i64..i64::MAX, hash in "[0-9a-f]{64}") {
            let a = AuditAnchor { seq, hash };
            prop_assert_eq!(a.to_string().parse::<AuditAnchor>().unwrap(), a);
        }
    }
}
