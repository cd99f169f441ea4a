//! `shouwang status`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;
use shouwang_model::Severity;

use super::{Access, Ctx, Outcome};
use crate::output;
use shouwang_config::paths::Origin;
use shouwang_config::pidfile;

#[derive(Debug, Serialize)]
struct Status {
    version: &'static str,
    data_dir: String,
    config: ConfigStatus,
    store: StoreStatus,
    up: UpStatus,
    users: usize,
    /// Open findings by severity name, most severe first in the table.
    open_findings: BTreeMap<&'static str, u64>,
    open_findings_total: u64,
    events: u64,
    audit_entries: i64,
    /// The unit CA, once `up` has made it: the fingerprints a person
    /// compares before trusting it.
    unit_ca: Option<shouwang_console::tls::CaIdentity>,
    /// The mechanism each part of the guard uses here, and why.
    guard: Vec<shouwang_guard::runtime::Mechanism>,
}

#[derive(Debug, Serialize)]
struct ConfigStatus {
    path: String,
    origin: Origin,
    exists: bool,
}

#[derive(Debug, Serialize)]
struct StoreStatus {
    backend: String,
    location: String,
    schema_version: i64,
}

#[derive(Debug, Serialize)]
struct UpStatus {
    running: bool,
    pid: Option<u32>,
}

pub fn run(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let data_dir = ctx.data_dir(&loaded, Access::Existing)?;
    let running = pidfile::running(data_dir)?;
    let store = super::open_store(&loaded, data_dir)?;

    let mut open_findings: BTreeMap<&'static str, u64> =
        Severity::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for c in store
        .open_finding_counts()
        .context("cannot count the open findings")?
    {
        *open_findings.entry(c.severity.as_str()).or_default() += c.count;
    }
    let status = Status {
        version: shouwang_model::VERSION,
        data_dir: data_dir.display().to_string(),
        config: ConfigStatus {
            path: loaded.path.display().to_string(),
            origin: loaded.origin,
            exists: loaded.exists,
        },
        store: StoreStatus {
            backend: store.backend().to_string(),
            location: store.location(),
            schema_version: store
                .schema_version()
                .context("cannot read the schema version")?,
        },
        up: UpStatus {
            running: running.is_some(),
            pid: running.and_then(|r| r.pid),
        },
        users: store.users().context("cannot list the users")?.len(),
        open_findings_total: open_findings.values().sum(),
        open_findings,
        events: store.event_count().context("cannot count the events")?,
        audit_entries: store.audit_head().context("cannot read the audit log")?.0,
        unit_ca: shouwang_console::tls::UnitCa::identity_in(&shouwang_console::tls::tls_dir(
            data_dir,
        ))
        .context("cannot read the unit CA")?
        .map(|(id, _)| id),
        guard: shouwang_guard::runtime::mechanisms(data_dir, &loaded.config.guard),
    };

    if json {
        output::print_json(&status)?;
    } else {
        output::print(&render(&status))?;
    }
    Ok(if status.open_findings_total > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn render(s: &Status) -> String {
    let config = format!(
        "{} ({}{})",
        s.config.path,
        s.config.origin.describe("--config", "SHOUWANG_CONFIG"),
        if s.config.exists {
            ""
        } else {
            "; not found, using the defaults"
        }
    );
    let up = match (s.up.running, s.up.pid) {
        (true, Some(pid)) => format!("running (pid {pid})"),
        (true, None) => "running".to_string(),
        (false, _) => "not running".to_string(),
    };
    let mut pairs = vec![
        ("version", s.version.to_string()),
        ("data dir", s.data_dir.clone()),
        ("config", config),
        (
            "store",
            format!(
                "{} {} (schema {})",
                s.store.backend, s.store.location, s.store.schema_version
            ),
        ),
        ("shouwang up", up),
        ("users", s.users.to_string()),
        ("events", s.events.to_string()),
        ("audit log", format!("{} entries", s.audit_entries)),
        ("open findings", s.open_findings_total.to_string()),
    ];
    if let Some(ca) = &s.unit_ca {
        pairs.push(("unit CA key SHA-256", ca.key_sha256.clone()));
        pairs.push(("unit CA cert SHA-256", ca.cert_sha256.clone()));
    }
    let by_severity: Vec<(String, String)> = Severity::ALL
        .iter()
        .map(|sev| {
            (
                format!("  {} {}", sev.as_str(), sev.zh()),
                s.open_findings
                    .get(sev.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            )
        })
        .collect();
    if s.open_findings_total > 0 {
        pairs.extend(by_severity.iter().map(|(k, v)| (k.as_str(), v.clone())));
    }
    let guard: Vec<_> = (s.guard.iter())
        .map(|m| {
            (
                format!("guard {}", m.part),
                format!("{} ({})", m.uses, m.why),
            )
        })
        .collect();
    pairs.extend(guard.iter().map(|(k, v)| (k.as_str(), v.clone())));
    output::key_values(&pairs)
}
