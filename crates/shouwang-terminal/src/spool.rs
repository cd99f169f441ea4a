//! The agent's on-disk spool: reports wait here while the unit server is
//! unreachable, and leave in the order they were made.
//!
//! Invariants (each has a test below):
//! - A report is in the spool whole or not at all: it is written to a
//!   temporary file, synced, and renamed into place; a crash leaves at
//!   most a temporary file, removed at the next open.
//! - Delivery is in sequence order and stops at the first failure, so a
//!   later report never overtakes an earlier one.
//! - A report leaves the spool only after the server accepted it (or said
//!   it already had it). Sent twice after a lost answer, it counts once,
//!   because the server deduplicates by report id.
//! - The spool is bounded in items and bytes. When full, the oldest
//!   reports go first, and the next report sent says how many went
//!   (`dropped_before`), so the server shows the gap instead of a silence.
//! - A spooled file that cannot be read back is set aside (`.bad`), never
//!   silently deleted, and counted as dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::report::{MAX_REPORT_BYTES, Report};

/// How much the spool may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_items: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    /// A week of reports every ten minutes, and 64 MiB.
    fn default() -> Self {
        Limits {
            max_items: 7 * 24 * 6,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("a report of {0} bytes is larger than a report may be")]
    TooLarge(usize),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a delivery attempt of one report came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server has it (now or from before): it leaves the spool.
    Accepted,
    /// The server refused it for good (malformed, wrong terminal): it is
    /// set aside as `.refused` so it does not block the ones behind it.
    Refused(String),
    /// The server could not be reached or failed: try again later.
    Later(String),
}

/// What [`Spool::deliver`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub refused: usize,
    /// Why delivery stopped, when it did before the spool was empty.
    pub stopped: Option<String>,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: Limits,
}

const EXT: &str = "json";
const DROPPED_FILE: &str = "dropped";
const SEQ_FILE: &str = "seq";

impl Spool {
    /// Open (or make) the spool in `dir`, private to its owner, clearing
    /// what a crash left half-written.
    pub fn open(dir: &Path, limits: Limits) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        set_private(dir)?;
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                let p = entry.path();
                fs::remove_file(&p).map_err(io_err(&p))?;
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            limits,
        })
    }

    /// The sequence numbers waiting, oldest first, with their sizes.
    fn waiting(&self) -> Result<Vec<(u64, u64)>, SpoolError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Some(seq) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let len = entry.metadata().map_err(io_err(&entry.path()))?.len();
            out.push((seq, len));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The next sequence number, kept in the spool so that it grows across
    /// restarts and never names two reports.
    pub fn next_seq(&self) -> Result<u64, SpoolError> {
        let p = self.dir.join(SEQ_FILE);
        let last = fs::read_to_string(&p)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0);
        // A lost counter file must not reuse a number still waiting.
        let waiting = self.waiting()?.last().map_or(0, |(s, _)| *s);
        let next = last.max(waiting) + 1;
        let tmp = self.dir.join(".tmp-seq");
        fs::write(&tmp, next.to_string()).map_err(io_err(&tmp))?;
        fs::rename(&tmp, &p).map_err(io_err(&p))?;
        Ok(next)
    }

    /// How many reports wait.
    pub fn len(&self) -> Result<usize, SpoolError> {
        Ok(self.waiting()?.len())
    }

    pub fn is_empty(&self) -> Result<bool, SpoolError> {
        Ok(self.len()? == 0)
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.{EXT}"))
    }

    /// Put `report` in the spool, making room by dropping the oldest
    /// reports when it is full. Returns how many were dropped.
    pub fn push(&self, report: &Report) -> Result<usize, SpoolError> {
        let bytes = serde_json::to_vec(report).expect("a report serialises");
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(SpoolError::TooLarge(bytes.len()));
        }
        let mut waiting = self.waiting()?;
        let mut total: u64 = waiting.iter().map(|(_, n)| n).sum();
        let mut dropped = 0;
        while !waiting.is_empty()
            && (waiting.len() + 1 > self.limits.max_items
                || total + bytes.len() as u64 > self.limits.max_bytes)
        {
            let (seq, len) = waiting.remove(0);
            let p = self.path(seq);
            fs::remove_file(&p).map_err(io_err(&p))?;
            total -= len;
            dropped += 1;
        }
        if dropped > 0 {
            self.add_dropped(dropped)?;
            tracing::warn!(
                dropped,
                "the report spool was full: the oldest reports were dropped"
            );
        }
        let tmp = self.dir.join(format!(".tmp-{}", report.seq));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(&bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        let dest = self.path(report.seq);
        fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
        sync_dir(&self.dir)?;
        Ok(dropped)
    }

    fn dropped(&self) -> u64 {
        fs::read_to_string(self.dir.join(DROPPED_FILE))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    fn add_dropped(&self, n: usize) -> Result<(), SpoolError> {
        self.set_dropped(self.dropped() + n as u64)
    }

    fn set_dropped(&self, n: u64) -> Result<(), SpoolError> {
        let p = self.dir.join(DROPPED_FILE);
        if n == 0 {
            return match fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&p)(e)),
                _ => Ok(()),
            };
        }
        let tmp = self.dir.join(".tmp-dropped");
        fs::write(&tmp, n.to_string()).map_err(io_err(&tmp))?;
        fs::rename(&tmp, &p).map_err(io_err(&p))
    }

    /// Hand the waiting reports, oldest first, to `send`, until the spool
    /// is empty or `send` says to try later. The first report sent after
    /// drops carries their count.
    pub fn deliver(
        &self,
        mut send: impl FnMut(&Report) -> Delivery,
    ) -> Result<Delivered, SpoolError> {
        let mut done = Delivered::default();
        for (seq, _) in self.waiting()? {
            let p = self.path(seq);
            let mut report = match fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Report>(&b).ok())
            {
                Some(r) => r,
                None => {
                    // Unreadable: set aside, count it, go on.
                    let aside = p.with_extension("bad");
                    fs::rename(&p, &aside).map_err(io_err(&p))?;
                    self.add_dropped(1)?;
                    tracing::warn!(path = %aside.display(), "a spooled report could not be read back; set aside");
                    continue;
                }
            };
            let dropped = self.dropped();
            report.dropped_before += dropped;
            match send(&report) {
                Delivery::Accepted => {
                    fs::remove_file(&p).map_err(io_err(&p))?;
                    if dropped > 0 {
                        self.set_dropped(self.dropped().saturating_sub(dropped))?;
                    }
                    done.sent += 1;
                }
                Delivery::Refused(why) => {
                    let aside = p.with_extension("refused");
                    fs::rename(&p, &aside).map_err(io_err(&p))?;
                    tracing::warn!(%why, path = %aside.display(), "the unit server refused a report; set aside");
                    done.refused += 1;
                }
                Delivery::Later(why) => {
                    done.stopped = Some(why);
                    break;
                }
            }
        }
        Ok(done)
    }
}

fn set_private(dir: &Path) -> Result<(), SpoolError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Body, UsbAction, UsbEvent};
    use chrono::Utc;

    fn report(seq: u64) -> Report {
        Report::new(
            "t-1",
            seq,
            Body::Usb {
                events: vec![UsbEvent {
                    at: Utc::now(),
                    action: UsbAction::Removed,
                    vendor_id: "0951".into(),
                    product_id: "1666".into(),
                    vendor: "Kingston".into(),
                    product: "DataTraveler".into(),
                    serial: format!("S{seq}"),
                }],
            },
        )
    }

    fn limits(max_items: usize) -> Limits {
        Limits {
            max_items,
            max_bytes: 1 << 20,
        }
    }

    #[test]
    fn reports_wait_while_the_server_is_down_and_leave_in_order_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), limits(100)).unwrap();
        for seq in [3, 1, 2, 10] {
            spool.push(&report(seq)).unwrap();
        }
        // The server is down.
        let down = spool
            .deliver(|_| Delivery::Later("connection refused".into()))
            .unwrap();
        assert_eq!(down.sent, 0);
        assert_eq!(spool.len().unwrap(), 4);
        // It comes back for two reports, then fails again: order is kept.
        let mut seen = Vec::new();
        let part = spool
            .deliver(|r| {
                if seen.len() == 2 {
                    return Delivery::Later("timeout".into());
                }
                seen.push(r.seq);
                Delivery::Accepted
            })
            .unwrap();
        assert_eq!((part.sent, part.stopped.as_deref()), (2, Some("timeout")));
        // The agent restarts: the spool is read again from disk.
        let spool = Spool::open(dir.path(), limits(100)).unwrap();
        spool
            .deliver(|r| {
                seen.push(r.seq);
                Delivery::Accepted
            })
            .unwrap();
        assert_eq!(seen, vec![1, 2, 3, 10]);
        assert!(spool.is_empty().unwrap());
        assert_eq!(spool.next_seq().unwrap(), 1);
        assert_eq!(spool.next_seq().unwrap(), 2);
        spool.push(&report(40)).unwrap();
        fs::remove_file(dir.path().join("seq")).unwrap();
        assert_eq!(
            spool.next_seq().unwrap(),
            41,
            "never a number still waiting"
        );
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_the_next_report_says_how_many() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), limits(3)).unwrap();
        let mut dropped = 0;
        for seq in 1..=5 {
            dropped += spool.push(&report(seq)).unwrap();
        }
        assert_eq!(dropped, 2);
        let mut got = Vec::new();
        spool
            .deliver(|r| {
                got.push((r.seq, r.dropped_before));
                Delivery::Accepted
            })
            .unwrap();
        assert_eq!(got, vec![(3, 2), (4, 0), (5, 0)]);
    }

    #[test]
    fn a_crash_mid_write_leaves_no_partial_report_and_a_damaged_one_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), limits(10)).unwrap();
        spool.push(&report(1)).unwrap();
        // What a crash between write and rename leaves.
        fs::write(dir.path().join(".tmp-2"), b"{\"protocol\":1,\"id\":").unwrap();
        // A report damaged on disk.
        fs::write(dir.path().join(format!("{:020}.json", 3)), b"\0\0garbage").unwrap();
        let spool = Spool::open(dir.path(), limits(10)).unwrap();
        assert!(!dir.path().join(".tmp-2").exists());
        let mut got = Vec::new();
        spool
            .deliver(|r| {
                got.push((r.seq, r.dropped_before));
                Delivery::Accepted
            })
            .unwrap();
        assert_eq!(got, vec![(1, 0)]);
        assert!(
            dir.path().join(format!("{:020}.bad", 3)).exists(),
            "set aside, not deleted"
        );
        // The damaged one counts as a drop, said by the next report.
        spool.push(&report(4)).unwrap();
        let mut next = Vec::new();
        spool
            .deliver(|r| {
                next.push(r.dropped_before);
                Delivery::Accepted
            })
            .unwrap();
        assert_eq!(next, vec![1]);
    }

    #[test]
    fn a_refused_report_is_set_aside_and_does_not_block_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), limits(10)).unwrap();
        spool.push(&report(1)).unwrap();
        spool.push(&report(2)).unwrap();
        let d = spool
            .deliver(|r| {
                if r.seq == 1 {
                    Delivery::Refused("wrong terminal".into())
                } else {
                    Delivery::Accepted
                }
            })
            .unwrap();
        assert_eq!((d.sent, d.refused), (1, 1));
        assert!(dir.path().join(format!("{:020}.refused", 1)).exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "reports describe the terminal: owner only");
    }
}
