//! What a terminal sends: one JSON [`Report`] per POST, the same from the
//! Linux agent, the shell collector and the Windows collector, and (later)
//! from a unit server to its county server.
//!
//! The server trusts nothing in a report: [`Report::from_json`] reads at
//! most [`MAX_REPORT_BYTES`] and [`Report::validate`] bounds every list and
//! string, so an oversized or malformed report is refused with the reason
//! and changes nothing. Who sent it is not the report's to say: the server
//! takes the terminal's identity from its TLS credential and refuses a
//! report whose `terminal` names another one. Each report has a random
//! `id` the server deduplicates by, so a report delivered twice (the agent
//! did not hear the answer and sent it again) counts once.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The protocol version in every report.
pub const PROTOCOL: u32 = 1;

/// The largest report the server reads: a full host run with evidence is
/// a few hundred KiB.
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// Bounds on what a report may hold, checked by [`Report::validate`].
pub const MAX_RESULTS: usize = 2_000;
pub const MAX_LIST: usize = 512;
pub const MAX_USB_EVENTS: usize = 1_000;
pub const MAX_TEXT: usize = 4_096;

/// One report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub protocol: u32,
    /// 32 hex digits, random: the server's deduplication key.
    pub id: String,
    /// The terminal's id as enrolled; the server checks it against the
    /// credential the report came with.
    pub terminal: String,
    /// The sender's sequence number: reports of one terminal are applied
    /// in this order.
    pub seq: u64,
    pub created_at: DateTime<Utc>,
    /// Reports the sender's spool had to drop before this one (it was
    /// full while the server was unreachable): the server shows the gap.
    #[serde(default)]
    pub dropped_before: u64,
    pub body: Body,
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Body {
    /// A run of the host rules (profile `terminal`, or `dengbao2`/`3`).
    HostCheck { run: Box<shouwang_host::Run> },
    /// What the terminal is.
    Inventory {
        inventory: Box<shouwang_host::inventory::Inventory>,
    },
    /// USB storage plugged in or pulled out since the last report.
    Usb { events: Vec<UsbEvent> },
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Body::HostCheck { .. } => "host-check",
            Body::Inventory { .. } => "inventory",
            Body::Usb { .. } => "usb",
        }
    }
}

/// A USB storage device arriving or leaving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsbEvent {
    pub at: DateTime<Utc>,
    pub action: UsbAction,
    /// USB vendor and product ids (4 hex digits each).
    pub vendor_id: String,
    pub product_id: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub serial: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsbAction {
    Inserted,
    Removed,
}

/// Why a report is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is {bytes} bytes, more than the {MAX_REPORT_BYTES} a report may have")]
    TooLarge { bytes: usize },
    #[error("the report is not valid: {0}")]
    Malformed(String),
    #[error("the report is of protocol {0}; this server reads protocol {PROTOCOL}")]
    Protocol(u32),
    #[error("the report's {field} is out of bounds: {why}")]
    OutOfBounds { field: &'static str, why: String },
    #[error("the report names terminal {claimed:?} but was sent with the credential of {actual:?}")]
    WrongTerminal { claimed: String, actual: String },
}

impl ReportError {
    /// The same in Chinese, for the console's upload form and the audit log.
    pub fn zh(&self) -> String {
        match self {
            ReportError::TooLarge { bytes } => {
                format!("报告过大（{bytes} 字节，上限 {MAX_REPORT_BYTES} 字节）")
            }
            ReportError::Malformed(why) => format!("报告格式错误：{why}"),
            ReportError::Protocol(p) => format!("报告协议版本 {p} 与服务器（{PROTOCOL}）不符"),
            ReportError::OutOfBounds { field, why } => format!("报告字段 {field} 超出限制：{why}"),
            ReportError::WrongTerminal { claimed, actual } => {
                format!("报告自称来自终端 {claimed}，但凭据属于终端 {actual}")
            }
        }
    }
}

impl Report {
    /// A new report of `terminal`, numbered `seq`.
    pub fn new(terminal: &str, seq: u64, body: Body) -> Report {
        let id: [u8; 16] = rand::random();
        Report {
            protocol: PROTOCOL,
            id: hex::encode(id),
            terminal: terminal.to_string(),
            seq,
            created_at: Utc::now(),
            dropped_before: 0,
            body,
        }
    }

    /// Read a report as it arrives, within the byte budget, and validate it.
    pub fn from_json(bytes: &[u8]) -> Result<Report, ReportError> {
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(ReportError::TooLarge { bytes: bytes.len() });
        }
        // serde_json refuses nesting deeper than 128 levels: a hostile
        // document cannot exhaust the stack.
        let report: Report =
            serde_json::from_slice(bytes).map_err(|e| ReportError::Malformed(e.to_string()))?;
        report.validate()?;
        Ok(report)
    }

    /// Check the bounds a server relies on.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.protocol != PROTOCOL {
            return Err(ReportError::Protocol(self.protocol));
        }
        let oob = |field, why: String| Err(ReportError::OutOfBounds { field, why });
        if self.id.len() != 32 || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return oob("id", "not 32 hex digits".into());
        }
        if self.terminal.is_empty() || self.terminal.len() > 64 {
            return oob("terminal", "empty or longer than 64".into());
        }
        match &self.body {
            Body::HostCheck { run } => {
                if run.results.len() > MAX_RESULTS {
                    return oob(
                        "run.results",
                        format!("{} results, at most {MAX_RESULTS}", run.results.len()),
                    );
                }
                for r in &run.results {
                    if r.evidence.len() > MAX_LIST {
                        return oob(
                            "run.results.evidence",
                            format!("{} items in {}", r.evidence.len(), r.id),
                        );
                    }
                }
            }
            Body::Inventory { inventory } => {
                if let Err(why) = inventory.within_bounds(MAX_LIST, MAX_TEXT) {
                    return oob("inventory", why);
                }
            }
            Body::Usb { events } => {
                if events.len() > MAX_USB_EVENTS {
                    return oob(
                        "events",
                        format!("{} events, at most {MAX_USB_EVENTS}", events.len()),
                    );
                }
                for e in events {
                    let ids_ok = [&e.vendor_id, &e.product_id]
                        .iter()
                        .all(|id| id.len() == 4 && id.bytes().all(|b| b.is_ascii_hexdigit()));
                    if !ids_ok {
                        return oob("events.vendor_id", "not 4 hex digits".into());
                    }
                    if [&e.vendor, &e.product, &e.serial]
                        .iter()
                        .any(|s| s.len() > 256)
                    {
                        return oob("events.vendor", "longer than 256".into());
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuse a report that claims to come from another terminal than the
    /// credential it was sent with.
    pub fn check_sender(&self, credential_terminal: &str) -> Result<(), ReportError> {
        if self.terminal != credential_terminal {
            return Err(ReportError::WrongTerminal {
                claimed: self.terminal.clone(),
                actual: credential_terminal.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} report {} of {} (#{})",
            self.body.kind(),
            self.id,
            self.terminal,
            self.seq
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usb(n: usize) -> Report {
        let e = UsbEvent {
            at: Utc::now(),
            action: UsbAction::Inserted,
            vendor_id: "0781".into(),
            product_id: "5567".into(),
            vendor: "SanDisk".into(),
            product: "Cruzer Blade".into(),
            serial: "4C530001".into(),
        };
        Report::new("t-1", 1, Body::Usb { events: vec![e; n] })
    }

    #[test]
    fn a_report_round_trips_and_names_its_kind() {
        let r = usb(2);
        let json = serde_json::to_vec(&r).unwrap();
        let back = Report::from_json(&json).unwrap();
        assert_eq!(back, r);
        assert!(
            String::from_utf8(json)
                .unwrap()
                .contains("\"kind\":\"usb\""),
            "the wire names the kind"
        );
        assert_ne!(usb(1).id, usb(1).id, "ids are random");
    }

    #[test]
    fn oversized_malformed_and_out_of_bounds_reports_are_refused_with_the_reason() {
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert!(matches!(
            Report::from_json(&big),
            Err(ReportError::TooLarge { .. })
        ));
        assert!(matches!(
            Report::from_json(b"{\"protocol\":1"),
            Err(ReportError::Malformed(_))
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            Report::from_json(deep.as_bytes()),
            Err(ReportError::Malformed(_))
        ));
        let flood = serde_json::to_vec(&usb(MAX_USB_EVENTS + 1)).unwrap();
        let err = Report::from_json(&flood).unwrap_err();
        assert!(
            matches!(
                err,
                ReportError::OutOfBounds {
                    field: "events",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.zh().contains("超出限制"));
        let mut bad_id = usb(1);
        bad_id.id = "../../etc/passwd".into();
        assert!(bad_id.validate().is_err());
        let mut newer = usb(1);
        newer.protocol = 2;
        assert_eq!(newer.validate(), Err(ReportError::Protocol(2)));
        let mut extra: serde_json::Value = serde_json::to_value(usb(1)).unwrap();
        extra["admin"] = true.into();
        assert!(
            Report::from_json(&serde_json::to_vec(&extra).unwrap()).is_err(),
            "unknown fields are refused, not ignored"
        );
    }

    proptest::proptest! {
        /// Whatever arrives on the report endpoint is a report or a reason,
        /// never a panic.
        #[test]
        fn any_bytes_are_a_report_or_a_reason(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = Report::from_json(&bytes);
        }

        #[test]
        fn any_mangled_report_is_a_report_or_a_reason(cut in 0usize..400, byte in proptest::num::u8::ANY) {
            let mut json = serde_json::to_vec(&usb(2)).unwrap();
            let at = cut % json.len();
            json[at] = byte;
            if let Ok(r) = Report::from_json(&json) {
                proptest::prop_assert!(r.validate().is_ok());
            }
        }
    }

    #[test]
    fn a_report_claiming_another_terminal_is_refused() {
        let r = usb(1);
        assert_eq!(r.check_sender("t-1"), Ok(()));
        let err = r.check_sender("t-2").unwrap_err();
        assert!(err.zh().contains("凭据属于终端 t-2"), "{}", err.zh());
    }
}
