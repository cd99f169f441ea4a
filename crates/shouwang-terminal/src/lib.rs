//! The terminal protocol: how an office PC or server joins its unit's
//! Shouwang and what it sends.
//!
//! - [`token`]: the one-time enrollment token, which carries the unit CA's
//!   key hash so that an agent needs nothing else to trust its server, and
//!   the one decision of whether a token or credential may be used.
//! - [`enroll`]: the enrollment request and answer, the terminal's own
//!   credential (a bearer secret the server keeps only hashed), and the
//!   agent's state file.
//! - [`trust`]: how the agent comes to trust the server from the pin alone.
//! - [`report`]: the JSON report every sender posts (the Linux agent, the
//!   shell and Windows collectors, and later a unit server to its county
//!   server), bounded and validated before the server believes any of it.
//! - [`spool`]: the agent's bounded on-disk queue, delivered in order,
//!   each report counted once by the server.
//!
//! The server side (tables, endpoints, console pages) lives with the store
//! and the console; this crate has no I/O beyond the spool directory.

pub mod agent;
pub mod enroll;
pub mod report;
pub mod spool;
pub mod token;
pub mod trust;

pub use report::{Body, Report, ReportError, UsbAction, UsbEvent};
pub use spool::{Delivered, Delivery, Limits, Spool, SpoolError};
pub use token::{EnrollToken, Refusal, TokenFormatError, TokenRecord, judge};
