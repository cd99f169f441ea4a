//! The configuration file: one TOML file, every key optional, unknown keys
//! rejected with the file, the line and the nearest valid key; and the data
//! dir it sits beside ([`paths`], one `up` per data dir in [`pidfile`]).
//!
//! One crate because every program that runs Shouwang (the binary today, a
//! terminal agent or a county server later) reads the same file the same
//! way. It knows each component's config type and nothing of what the
//! components do.

mod error;
pub mod lifecycle;
pub mod paths;
pub mod pidfile;

pub use error::{ConfigError, Result};

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shouwang_console::ConsoleConfig;
use shouwang_store::StoreConfig;

use crate::error::io;
use crate::paths::{Origin, Paths};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub console: ConsoleConfig,
    pub unit: UnitConfig,
    pub guard: shouwang_guard::GuardConfig,
    pub site: shouwang_site::SiteConfig,
    pub incident: shouwang_incident::IncidentConfig,
    pub notify: shouwang_notify::NotifyConfig,
}

/// The organisation Shouwang protects (本单位), as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnitConfig {
    pub name: String,
    pub contact: String,
    pub security_officer: String,
    /// 主送机关 of the 自查报告.
    pub recipient: String,
}

impl UnitConfig {
    /// The profile this section declares; the console's editor, when used,
    /// takes precedence (see `shouwang_store::unit_profile`).
    pub fn profile(&self) -> shouwang_model::UnitProfile {
        shouwang_model::UnitProfile {
            name: self.name.clone(),
            security_officer: shouwang_model::Person {
                name: self.security_officer.clone(),
                title: "网络安全员".into(),
                phone: self.contact.clone(),
            },
            recipient: self.recipient.clone(),
            ..Default::default()
        }
    }
}

/// What `shouwang config init` writes. A unit test parses it, so it always
/// says exactly what the defaults are.
pub const TEMPLATE: &str = r#"# Shouwang (守望) configuration.
#
# Every key is optional: a key left out takes the default shown here, and a
# missing file means all defaults. Unknown keys are errors, so that a typo is
# reported instead of silently ignored.
#
# `shouwang config show` prints the configuration in effect.

# The organisation Shouwang protects (本单位). Reports are issued in its name.
[unit]
# The unit's full name, e.g. "某某县人民政府办公室".
name = ""
# How to reach the people who run Shouwang: a phone number or an e-mail address.
contact = ""
# 网络安全负责人: the person responsible for network security.
security_officer = ""
# 主送机关: whom the 自查报告 is addressed to, e.g. "县委网信办".
recipient = ""

[store]
# "sqlite": one file, shouwang.db, in the data dir (the default).
# "postgres": a PostgreSQL server, for a central server that watches many units.
backend = "sqlite"
# For backend = "postgres". When the URL holds a password, make this file
# readable only by the user Shouwang runs as (chmod 600).
# postgres_url = "postgresql://shouwang:PASSWORD@127.0.0.1/shouwang"

[console]
# Whether `shouwang up` starts the web console.
enabled = true
# Address and port the console listens on. "0.0.0.0:8700" opens it to the
# office's PCs; beyond this machine it is served over TLS only.
listen = "127.0.0.1:8700"
# "auto": TLS with a certificate from the unit CA (made by the first
# `shouwang up` in the data dir's tls/, with this machine's name and LAN
# addresses in it) when listening beyond 127.0.0.1, plain HTTP on it;
# "on": TLS on 127.0.0.1 too; "off": plain HTTP, only on 127.0.0.1;
# or the unit's own certificate (PEM chain and key):
#   tls = { cert = "/etc/shouwang/console.crt", key = "/etc/shouwang/console.key" }
# The console's page /trust tells the office how to trust the unit CA.
tls = "auto"
# Only these networks (and this machine) may connect; others are
# disconnected. Empty: everyone who can reach the port.
#   allow_networks = ["192.168.1.0/24", "10.12.0.0/16"]
allow_networks = []
# Hours a login lasts (1 to 720).
session_hours = 8
# Failed logins in a row that lock an account (1 to 100), and for how many
# minutes (1 to 10080).
max_failed_logins = 5
lockout_minutes = 15
# Mark cookies Secure (always so under the console's own TLS): set to true
# behind a TLS reverse proxy.
secure_cookies = false
# The console's language until a user picks one: "zh" or "en".
language = "zh"
# Who may read /metrics (it counts users and logins): "loopback-or-token"
# (this machine, or an API token), "loopback", "token" or "open". Behind a
# reverse proxy on this machine every request is from loopback: use "token".
metrics = "loopback-or-token"

# 网页防篡改: `shouwang up` protects every sealed web root in real time,
# including one sealed in the console or with `shouwang guard seal DIR`
# while it runs. Roots listed here must be sealed for `up` to start.
[guard]
# None by default. Seal each first: shouwang guard seal /var/www/html --writable 'uploads/**'
# roots = ["/var/www/html"]
# Deny writes outright (eBPF LSM) instead of undoing them.
block = false
# What each root's quarantine may hold; the oldest evidence goes first, and
# a file larger than the whole budget is removed and only described.
# Megabytes (1 to 1048576):
quarantine_max_mb = 1024
# Items (1 to 10000000):
quarantine_max_items = 10000

# Website inspection (shouwang site inspect).
[site]
# When `shouwang up` inspects every site added with `shouwang site add`:
# times of day in China time, morning and evening (早晚巡查). [] for never.
schedule = ["08:00", "20:00"]
# Seconds between two probes of each site's homepage (availability over 7
# days, as the inspection rules measure it: >= 20 visits a day, 15 s each,
# 5 % failures is a veto). 0 for none (0 to 86400).
probe_interval_seconds = 900
# A wording dictionary of the unit's own, in the format of the built-in one:
# its rules add to and replace the built-in ones; `disable = [...]` switches
# built-in ones off.
# wording_dictionary = "/etc/shouwang/wording.toml"
# Pages crawled at most per site (1 to 100000), and links followed from the
# homepage (0 to 100).
max_pages = 2000
max_depth = 10
# Also check links to other sites (they are never crawled).
check_external = true
# Seconds a request may take: the inspection rules count a visit that has
# not opened after 15 seconds as failed (1 to 300).
timeout_seconds = 15
# Least milliseconds between two requests to one host (not for sites added
# with --own; 0 to 60000).
per_host_delay_ms = 50
# Pages fetched again as Baiduspider and from a search, to catch spam shown
# only to search engines (0 to 1000).
cloaking_pages = 20
# Minutes one inspection may take; what is left unchecked then is a finding
# (1 to 1440).
inspection_budget_minutes = 60
# Seconds of requests one other site's host may take in one inspection: a
# host that never answers holds each link check for the whole timeout
# (1 to 3600).
host_budget_seconds = 120
# Sites `shouwang up` inspects at once, so one slow site delays no other
# (1 to 32).
concurrent_sites = 4

# Incidents: what the sensors saw, classified and graded per GB/T 20986-2023,
# with the reporting clock of the 2025 national reporting rule (较大 and
# above: first report within 4 h; 2 h for central state organs, 1 h for
# critical information infrastructure, as [unit] operator_type says).
[incident]
# A rule file that replaces the built-in rules (`shouwang incident rules`
# prints them).
# rules_file = "/etc/shouwang/incident-rules.toml"
# Seconds between two runs of the engine and the deadline check in `up`
# (1 to 3600).
interval_seconds = 5
# Also run the clock for 一般 incidents, where a local or sector rule asks.
report_general = false
# Days after handling ends for the summary report (总结报告; 1 to 365).
summary_days = 30
# Warn this long before a deadline: minutes before a first report
# (0 to 1440), days before a summary (0 to 30).
first_report_warn_minutes = 60
summary_warn_days = 5

# Notifications (通知): where new incidents, level changes and nearing
# deadlines are announced. The first notice of a new incident always goes
# out at once; other notices beyond a channel's per-minute limit are
# counted in its next message. `shouwang notify test` sends a test message.
[notify]
# Attempts per message, the first included. Network errors, HTTP 5xx/429
# and the platforms' "too fast" answers are retried; a wrong key is not
# (1 to 20).
max_attempts = 4
# Milliseconds before the first retry (0 to 600000); each further wait
# doubles, up to backoff_max_ms (0 to 3600000).
backoff_base_ms = 1000
backoff_max_ms = 30000
# Seconds one attempt may take (1 to 300).
timeout_seconds = 10
# One [[notify.channels]] table per channel; none by default. This file
# then holds keys and passwords: make it readable only by the user
# Shouwang runs as (chmod 600). For example:
#
# [[notify.channels]]
#   name = "值班群"
#   kind = "wecom"            # wecom, dingtalk, feishu, email or webhook
#   key = "693a91f6-..."      # wecom: the part after key= of the webhook address
#   # token = "..."           # dingtalk: the access_token; feishu: the hook id
#   # secret = "SEC..."       # dingtalk (required), feishu: the signing secret;
#   #                         # webhook: the HMAC key of X-Shouwang-Signature
#   # url = "https://..."     # another endpoint (required for webhook)
#   # min_level = "较大"       # only incidents at this level or above
#   # per_minute = 20         # default: the platform's limit (1 to 1000)
#   # enabled = true
#   # template = "..."        # a minijinja template for the message text
#
# [[notify.channels]]
#   name = "值班邮箱"
#   kind = "email"
#   smtp_host = "smtp.example.gov.cn"
#   tls = "starttls"          # starttls (587), tls (465); plain: this machine only
#   # smtp_port = 587         # 1 to 65535
#   username = "shouwang@example.gov.cn"
#   password = "..."
#   from = "守望 <shouwang@example.gov.cn>"
#   to = ["duty@example.gov.cn"]
#   # ca_file = "/etc/shouwang/smtp-ca.pem"   # a private CA instead of the system's
"#;

/// The config in effect and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub path: PathBuf,
    pub origin: Origin,
    /// False when the default path has no file and the defaults apply.
    pub exists: bool,
}

/// Read the config file. A missing file at the default path means all
/// defaults; a missing file the user named is a mistake worth stopping for.
pub fn load(paths: &Paths) -> Result<Loaded> {
    let path = paths.config()?.to_path_buf();
    let origin = paths.config_origin;
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Loaded {
            config: parse(&text, &path)?,
            path,
            origin,
            exists: true,
        }),
        Err(e) if e.kind() == ErrorKind::NotFound && origin == Origin::Default => {
            tracing::debug!(path = %path.display(), "no config file; using the defaults");
            Ok(Loaded {
                config: Config::default(),
                path,
                origin,
                exists: false,
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Err(ConfigError::Unusable(format!(
            "the config file {} ({}) does not exist; fix the path, or create it with `shouwang config init`",
            path.display(),
            origin.describe("--config", "SHOUWANG_CONFIG")
        ))),
        Err(e) => Err(io("read the config file", &path)(e)),
    }
}

pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let config =
        toml::from_str(text).map_err(|e| ConfigError::Invalid(describe_error(&e, text, path)))?;
    check_ranges(text, path)?;
    check_console(&config, text, path)?;
    Ok(config)
}

/// Beyond loopback the console serves TLS: passwords and session cookies
/// must not cross the office network in the clear.
fn check_console(config: &Config, text: &str, path: &Path) -> Result<()> {
    let console = &config.console;
    let off = console.tls == shouwang_console::TlsSetting::Off;
    if !off || shouwang_console::is_loopback(console.listen.ip()) {
        return Ok(());
    }
    let line = line_of(text, "console", 0, "tls").or_else(|| line_of(text, "console", 0, "listen"));
    let where_ = match line {
        Some(n) => format!("{} line {n}", path.display()),
        None => path.display().to_string(),
    };
    Err(ConfigError::Invalid(format!(
        "{where_}: [console] listen = \"{}\" is reachable from other machines, and tls = \"off\" would send passwords in the clear; set tls = \"auto\" (a certificate from the unit CA) or tls = {{ cert = \"…\", key = \"…\" }}, or listen on 127.0.0.1",
        console.listen
    )))
}

/// A number the config may hold and the values it may take.
struct Range {
    /// The table, dotted; `notify.channels` is each `[[notify.channels]]`.
    section: &'static str,
    key: &'static str,
    min: i64,
    max: i64,
}

/// The range of every number in the config, checked at load, so that a
/// value outside it stops with the file and line instead of a login that
/// panics on `session_hours = 4294967295` or an inspection that waits
/// forever on a huge `per_host_delay_ms`. `TEMPLATE` states each range
/// beside its key (a test holds them to it).
const RANGES: &[Range] = &[
    range("console", "session_hours", 1, 720),
    range("console", "max_failed_logins", 1, 100),
    range("console", "lockout_minutes", 1, 10080),
    range("guard", "quarantine_max_mb", 1, 1048576),
    range("guard", "quarantine_max_items", 1, 10000000),
    range("site", "probe_interval_seconds", 0, 86400),
    range("site", "max_pages", 1, 100000),
    range("site", "max_depth", 0, 100),
    range("site", "timeout_seconds", 1, 300),
    range("site", "per_host_delay_ms", 0, 60000),
    range("site", "cloaking_pages", 0, 1000),
    range("site", "inspection_budget_minutes", 1, 1440),
    range("site", "host_budget_seconds", 1, 3600),
    range("site", "concurrent_sites", 1, 32),
    range("incident", "interval_seconds", 1, 3600),
    range("incident", "summary_days", 1, 365),
    range("incident", "first_report_warn_minutes", 0, 1440),
    range("incident", "summary_warn_days", 0, 30),
    range("notify", "max_attempts", 1, 20),
    range("notify", "backoff_base_ms", 0, 600000),
    range("notify", "backoff_max_ms", 0, 3600000),
    range("notify", "timeout_seconds", 1, 300),
    range("notify.channels", "per_minute", 1, 1000),
    range("notify.channels", "smtp_port", 1, 65535),
];

const fn range(section: &'static str, key: &'static str, min: i64, max: i64) -> Range {
    Range {
        section,
        key,
        min,
        max,
    }
}

fn check_ranges(text: &str, path: &Path) -> Result<()> {
    // The text parsed as a `Config` already, so it is valid TOML.
    let table: toml::Table =
        toml::from_str(text).map_err(|e| ConfigError::Invalid(describe_error(&e, text, path)))?;
    for r in RANGES {
        let (parent, leaf) = r.section.rsplit_once('.').unwrap_or(("", r.section));
        let mut at = Some(&table);
        for part in parent.split('.').filter(|p| !p.is_empty()) {
            at = at.and_then(|t| t.get(part)).and_then(|v| v.as_table());
        }
        let tables: Vec<&toml::Table> = match at.and_then(|t| t.get(leaf)) {
            Some(toml::Value::Table(t)) => vec![t],
            Some(toml::Value::Array(a)) => a.iter().filter_map(|v| v.as_table()).collect(),
            _ => continue,
        };
        for (nth, t) in tables.iter().enumerate() {
            let Some(value) = t.get(r.key).and_then(|v| v.as_integer()) else {
                continue;
            };
            if (r.min..=r.max).contains(&value) {
                continue;
            }
            let section = r.section;
            let where_ = match line_of(text, section, nth, r.key) {
                Some(n) => format!("{} line {n}", path.display()),
                None => path.display().to_string(),
            };
            return Err(ConfigError::Invalid(format!(
                "{where_}: {} in [{section}] is {value}; it must be {} to {}",
                r.key, r.min, r.max
            )));
        }
    }
    Ok(())
}

/// The line of `key = …` in the `nth` table named `section` (for an array
/// of tables, its nth element), when it is written there as a plain key.
fn line_of(text: &str, section: &str, nth: usize, key: &str) -> Option<usize> {
    let mut seen = 0;
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(h) = table_header(trimmed).filter(|_| trimmed.starts_with('[')) {
            inside = h == section && {
                seen += 1;
                seen == nth + 1
            };
            continue;
        }
        if inside && key_of(trimmed) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

/// The config with the password in `postgres_url` replaced, for printing.
pub fn redacted(config: &Config) -> Config {
    let mut shown = config.clone();
    if let Some(url) = &mut shown.store.postgres_url {
        *url = redact_url(url);
    }
    shown.notify = shown.notify.redacted();
    shown
}

const REDACTED: &str = "REDACTED";

/// Hide the password in a PostgreSQL connection string, in either form
/// libpq accepts: `postgresql://user:PASSWORD@host/db?password=PASSWORD`
/// or `host=h user=u password=PASSWORD`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                let (from, to) = (auth_start + colon + 1, auth_start + at);
                out.replace_range(from..to, REDACTED);
            }
        }
    }
    // `password=` as a query parameter or a keyword/value pair.
    let mut search = 0;
    while let Some(i) = out[search..].find("password=") {
        let key_at = search + i;
        let start = key_at + "password=".len();
        let is_key =
            key_at == 0 || matches!(out.as_bytes()[key_at - 1], b'?' | b'&' | b' ' | b'\t');
        if !is_key {
            search = start;
            continue;
        }
        let end = if out[start..].starts_with('\'') {
            // A quoted keyword value may hold spaces: up to the closing quote.
            out[start + 1..]
                .find('\'')
                .map_or(out.len(), |j| start + 1 + j + 1)
        } else {
            out[start..]
                .find(['&', ' ', '\t'])
                .map_or(out.len(), |j| start + j)
        };
        out.replace_range(start..end, REDACTED);
        search = start + REDACTED.len();
    }
    out
}

/// Phrase a TOML error for the person editing the file: the file, line and
/// column, the section, and for a misspelt key or value the nearest valid one.
fn describe_error(err: &toml::de::Error, text: &str, path: &Path) -> String {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return format!("{}: {message}", path.display());
    };
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("").trim_start();
    let header = table_header(line);
    let section = section_of(text, line_start, line, header.as_deref());
    let where_ = format!("{} line {line_no}, column {column}", path.display());
    let in_section = match &section {
        Some(s) => format!("in [{s}]"),
        None => "at the top level".to_string(),
    };

    if let Some((name, expected)) = unknown_name(message, "unknown field") {
        if header.is_some() && section.is_none() {
            // An unknown [table] at the top level: the valid keys are sections.
            return format!(
                "{where_}: unknown section [{name}]{}",
                suggestion(&name, &expected, "[", "]")
            );
        }
        return format!(
            "{where_}: unknown key \"{name}\" {in_section}{}",
            suggestion(&name, &expected, "\"", "\"")
        );
    }
    let key = key_of(line);
    if let Some((value, expected)) = unknown_name(message, "unknown variant") {
        let of = key.map(|k| format!(" for {k}")).unwrap_or_default();
        return format!(
            "{where_}: unknown value \"{value}\"{of} {in_section}{}",
            suggestion(&value, &expected, "\"", "\"")
        );
    }
    match key {
        Some(k) if header.is_none() => format!("{where_}: {k} {in_section}: {message}"),
        _ => format!("{where_}: {message}"),
    }
}

/// `"; did you mean X?"` for the expected name nearest to `name`, or the
/// list of valid names when none is near.
fn suggestion(name: &str, expected: &[String], open: &str, close: &str) -> String {
    let best = expected
        .iter()
        .map(|e| (strsim::jaro_winkler(name, e), e))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, e)) if score >= 0.7 => format!("; did you mean {open}{e}{close}?"),
        _ if expected.is_empty() => String::new(),
        _ => format!(
            "; expected one of: {}",
            expected
                .iter()
                .map(|e| format!("{open}{e}{close}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown
/// variant ..."), the name and the expected names.
fn unknown_name(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix('`')?;
    let end = rest.find('`')?;
    let name = rest[..end].to_string();
    let tail = &rest[end + 1..];
    let expected = tail
        .find("expected")
        .map(|i| {
            tail[i..]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((name, expected))
}

/// The dotted name of a `[table]` or `[[array]]` header line.
fn table_header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.split("]]").next())
        .or_else(|| line.strip_prefix('[').and_then(|l| l.split(']').next()))?;
    Some(
        inner
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The key of a `key = value` line, without quotes.
fn key_of(line: &str) -> Option<&str> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty() && !k.starts_with('#')).then_some(k)
}

/// The table a line belongs to: the last header above it, or for a header
/// line its parent; a dotted key adds its own prefix.
fn section_of(text: &str, line_start: usize, line: &str, header: Option<&str>) -> Option<String> {
    let mut path: Vec<String> = match header {
        Some(h) => {
            let mut parts: Vec<String> = h.split('.').map(str::to_string).collect();
            parts.pop();
            parts
        }
        None => text[..line_start]
            .lines()
            .rev()
            .find_map(|l| table_header(l.trim_start()))
            .map(|h| h.split('.').map(str::to_string).collect())
            .unwrap_or_default(),
    };
    if header.is_none()
        && let Some(key) = key_of(line)
    {
        let mut parts: Vec<String> = key.split('.').map(|p| p.trim().to_string()).collect();
        parts.pop();
        path.extend(parts);
    }
    (!path.is_empty()).then(|| path.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_stated_beside_its_key_in_the_template() {
        let lines: Vec<&str> = TEMPLATE.lines().collect();
        for r in RANGES {
            let stated = format!("{} to {}", r.min, r.max);
            let at = lines
                .iter()
                .position(|l| {
                    l.contains(&format!("{} = ", r.key)) && {
                        // The key's own section: the template names each once,
                        // except timeout_seconds, in [site] and [notify].
                        let above = lines[..lines.iter().position(|x| x == l).unwrap()]
                            .iter()
                            .rev()
                            .find(|x| x.starts_with('['))
                            .copied()
                            .unwrap_or("");
                        above.trim_matches(['[', ']']) == r.section.split('.').next().unwrap()
                    }
                })
                .unwrap_or_else(|| panic!("{} is not in the template's [{}]", r.key, r.section));
            let near = lines[at.saturating_sub(2)..=at].join("\n");
            assert!(
                near.contains(&stated),
                "the template does not state {stated} beside {}:\n{near}",
                r.key
            );
        }
    }

    #[test]
    fn every_number_of_the_default_config_has_a_range() {
        let value = toml::Value::try_from(Config::default()).unwrap();
        for (section, t) in value.as_table().unwrap() {
            for (key, v) in t.as_table().into_iter().flatten() {
                if v.is_integer() || v.is_float() {
                    assert!(
                        RANGES.iter().any(|r| r.section == section && r.key == key),
                        "[{section}] {key} is a number without a range in RANGES"
                    );
                }
            }
        }
    }

    #[test]
    fn a_number_outside_its_range_is_refused_with_the_line_and_the_range() {
        let e = err("[console]\nlisten = \"127.0.0.1:8700\"\nsession_hours = 4294967295\n");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("session_hours"), "{e}");
        assert!(e.contains("1 to 720"), "{e}");
        let e = err("[site]\nper_host_delay_ms = 9223372036854775807\n");
        assert!(e.contains("line 2") && e.contains("0 to 60000"), "{e}");
        let e = err(
            "[[notify.channels]]\nname = \"a\"\nkind = \"wecom\"\nkey = \"k\"\n\n[[notify.channels]]\nname = \"b\"\nkind = \"wecom\"\nkey = \"k\"\nper_minute = 0\n",
        );
        assert!(e.contains("line 10") && e.contains("per_minute"), "{e}");
    }

    fn err(text: &str) -> String {
        parse(text, Path::new("/etc/shouwang/shouwang.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_template_is_exactly_the_defaults() {
        let parsed = parse(TEMPLATE, Path::new("template")).unwrap();
        assert_eq!(parsed, Config::default());
    }

    /// The template with its commented-out settings (`# key = value`)
    /// switched on; those must be valid keys too.
    fn template_with_every_key() -> toml::Table {
        let text: String = TEMPLATE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        parse(&text, Path::new("template")).unwrap();
        toml::from_str(&text).unwrap()
    }

    fn keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in table {
            let name = format!("{prefix}{k}");
            match v {
                toml::Value::Table(t) => keys(t, &format!("{name}."), out),
                _ => out.push(name),
            }
        }
    }

    #[test]
    fn the_template_names_every_key() {
        // Every optional key set, so that it is serialized too.
        let mut full = Config::default();
        full.store.postgres_url = Some("postgresql://u:p@h/db".into());
        full.site.wording_dictionary = Some("/etc/shouwang/wording.toml".into());
        full.incident.rules_file = Some("/etc/shouwang/incident-rules.toml".into());
        let full: toml::Table = toml::from_str(&toml::to_string(&full).unwrap()).unwrap();
        let mut want = Vec::new();
        keys(&full, "", &mut want);
        let mut have = Vec::new();
        keys(&template_with_every_key(), "", &mut have);
        want.sort();
        have.sort();
        assert_eq!(have, want);
    }

    /// The commented [[notify.channels]] examples, uncommented, are valid
    /// channels.
    #[test]
    fn the_notify_channel_examples_are_valid() {
        let start = TEMPLATE.find("# [[notify.channels]]").unwrap();
        let text: String = TEMPLATE[start..]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
            .collect();
        let config = parse(&text, Path::new("template")).unwrap();
        let kinds: Vec<_> = config.notify.channels.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                shouwang_notify::ChannelKind::Wecom,
                shouwang_notify::ChannelKind::Email
            ]
        );
        config.notify.validate().unwrap();
    }

    #[test]
    fn config_show_hides_notify_secrets() {
        let text = "[[notify.channels]]\nname = \"ops\"\nkind = \"dingtalk\"\n\
                    token = \"tok-1234567890\"\nsecret = \"SECabcdef0123456789\"\n";
        let c = parse(text, Path::new("x")).unwrap();
        let shown = toml::to_string(&redacted(&c)).unwrap();
        assert!(!shown.contains("tok-1234567890"), "{shown}");
        assert!(!shown.contains("SECabcdef0123456789"), "{shown}");
        assert!(!format!("{c:?}").contains("SECabcdef0123456789"));
        let back = parse(&shown, Path::new("x")).unwrap();
        assert_eq!(back.notify.channels[0].name, "ops");
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        assert_eq!(parse("", Path::new("x")).unwrap(), Config::default());
    }

    #[test]
    fn a_misspelt_key_names_the_line_and_the_nearest_key() {
        let e = err("[unit]\nname = \"x\"\n\n[console]\nlisen = \"127.0.0.1:1\"\n");
        assert_eq!(
            e,
            "/etc/shouwang/shouwang.toml line 5, column 1: unknown key \"lisen\" in [console]; did you mean \"listen\"?"
        );
    }

    #[test]
    fn a_key_far_from_any_lists_the_valid_ones() {
        let e = err("[unit]\nzzzzzz = 1\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(
            e.contains("expected one of: \"name\", \"contact\", \"security_officer\""),
            "{e}"
        );
    }

    #[test]
    fn a_misspelt_section_is_named_as_a_section() {
        let e = err("[consol]\nlisten = \"127.0.0.1:1\"\n");
        assert!(e.contains("line 1"), "{e}");
        assert!(
            e.contains("unknown section [consol]; did you mean [console]?"),
            "{e}"
        );
    }

    #[test]
    fn a_dotted_key_counts_its_prefix_as_the_section() {
        let e = err("console.lisen = 1\n");
        assert!(e.contains("in [console]; did you mean \"listen\""), "{e}");
    }

    #[test]
    fn a_misspelt_value_suggests_the_nearest() {
        let e = err("[store]\nbackend = \"sqlit\"\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(
            e.contains("unknown value \"sqlit\" for backend in [store]; did you mean \"sqlite\"?"),
            "{e}"
        );
    }

    #[test]
    fn a_wrong_type_names_the_line_and_key() {
        let e = err("[console]\nenabled = true\nsession_hours = \"eight\"\n");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("session_hours in [console]"), "{e}");
        let e = err("[console]\nlisten = \"nowhere\"\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("listen in [console]"), "{e}");
    }

    #[test]
    fn the_console_beyond_loopback_without_tls_is_refused_with_its_line_and_a_fix() {
        let e = err("[console]\nlisten = \"0.0.0.0:8700\"\ntls = \"off\"\n");
        assert!(e.starts_with("/etc/shouwang/shouwang.toml line 3: "), "{e}");
        assert!(e.contains("listen = \"0.0.0.0:8700\""), "{e}");
        assert!(e.contains("set tls = \"auto\""), "{e}");
        assert!(e.contains("or listen on 127.0.0.1"), "{e}");
        // On loopback, off is fine; beyond it, auto and own files are.
        let ok = |t: &str| parse(t, Path::new("x")).unwrap().console;
        assert_eq!(
            ok("[console]\nlisten = \"127.0.0.1:8700\"\ntls = \"off\"\n").tls,
            shouwang_console::TlsSetting::Off
        );
        let c = ok("[console]\nlisten = \"0.0.0.0:8700\"\n");
        assert!(c.tls.serves_tls(c.listen));
        let c = ok(
            "[console]\nlisten = \"[::]:8700\"\ntls = { cert = \"/c.pem\", key = \"/k.pem\" }\nallow_networks = [\"192.168.1.0/24\"]\n",
        );
        assert_eq!(
            c.tls,
            shouwang_console::TlsSetting::Files {
                cert: "/c.pem".into(),
                key: "/k.pem".into()
            }
        );
        assert_eq!(c.allow_networks[0].to_string(), "192.168.1.0/24");
    }

    #[test]
    fn a_misspelt_tls_value_or_network_names_the_line() {
        let e = err("[console]\ntls = \"atuo\"\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("did you mean \"auto\"?"), "{e}");
        let e = err("[console]\ntls = { cert = \"/c\", kye = \"/k\" }\n");
        assert!(e.contains("line 2") && e.contains("kye"), "{e}");
        let e = err("[console]\nallow_networks = [\"192.168.1.0/33\"]\n");
        assert!(e.contains("line 2") && e.contains("allow_networks"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = err("[console]\nlisten = \n");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn passwords_are_redacted() {
        for (url, want) in [
            (
                "postgresql://sw:s3cret@db:5432/sw",
                "postgresql://sw:REDACTED@db:5432/sw",
            ),
            (
                "postgres://sw:p@ss@db/sw?sslmode=require",
                "postgres://sw:REDACTED@db/sw?sslmode=require",
            ),
            ("postgresql://sw@db/sw", "postgresql://sw@db/sw"),
            (
                "postgresql://db/sw?user=sw&password=s3cret&sslmode=require",
                "postgresql://db/sw?user=sw&password=REDACTED&sslmode=require",
            ),
            (
                "host=db user=sw password=s3cret dbname=sw",
                "host=db user=sw password=REDACTED dbname=sw",
            ),
            (
                "host=db password='a b' dbname=sw",
                "host=db password=REDACTED dbname=sw",
            ),
            ("host=db mypassword=x", "host=db mypassword=x"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A refusal names the line, and a line the text has.
        fn names_a_line(text: &str) -> Result<(), TestCaseError> {
            let Err(e) = parse(text, Path::new("/etc/shouwang/shouwang.toml")) else {
                return Ok(());
            };
            let e = e.to_string();
            let line = e
                .strip_prefix("/etc/shouwang/shouwang.toml line ")
                // "line 9, column 3: …" for syntax, "line 92: …" for a range.
                .and_then(|rest| rest.split([',', ':']).next())
                .and_then(|n| n.parse::<usize>().ok());
            prop_assert!(line.is_some(), "no line in {:?}", e);
            let lines = text.split('\n').count();
            prop_assert!(
                line.is_some_and(|n| (1..=lines).contains(&n)),
                "{:?} for {} lines",
                e,
                lines
            );
            Ok(())
        }

        fn fragment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("\n".to_string()),
                Just("[".to_string()),
                Just("\"".to_string()),
                Just("'''".to_string()),
                Just("=".to_string()),
                Just("[console]\n".to_string()),
                Just("[[notify.channels]]\n".to_string()),
                Just("listen = 1\n".to_string()),
                Just("网站 = \"巡查\"\n".to_string()),
                Just("schedule = [\"08:00\", 1]\n".to_string()),
                Just("\u{feff}".to_string()),
                any::<String>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_text_is_read_or_refused_at_a_line(text in any::<String>()) {
                names_a_line(&text)?;
            }

            #[test]
            fn a_damaged_default_config_is_read_or_refused_at_a_line(
                how in 0..5u8,
                at in any::<prop::sample::Index>(),
                len in 0..40usize,
                with in fragment(),
            ) {
                let mut text = TEMPLATE.to_string();
                let boundary = |text: &str, i: usize| {
                    let mut i = i.min(text.len());
                    while !text.is_char_boundary(i) {
                        i -= 1;
                    }
                    i
                };
                let i = boundary(&text, at.index(TEMPLATE.len() + 1));
                let j = boundary(&text, i + len);
                match how {
                    // Cut short, a piece taken out, a piece put in or over.
                    0 => text.truncate(i),
                    1 => text.replace_range(i..j, ""),
                    2 => text.insert_str(i, &with),
                    3 => text.replace_range(i..j, &with),
                    // A line uncommented: `# key = value` becomes a setting.
                    _ => {
                        let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                        if text[start..].starts_with("# ") {
                            text.replace_range(start..start + 2, "");
                        }
                    }
                }
                names_a_line(&text)?;
            }
        }
    }

    #[test]
    fn config_show_output_parses_back() {
        let mut c = Config::default();
        c.store.postgres_url = Some("postgresql://a:b@c/d".into());
        let shown = toml::to_string(&redacted(&c)).unwrap();
        assert!(!shown.contains(":b@"), "{shown}");
        let back = parse(&shown, Path::new("x")).unwrap();
        assert_eq!(back.console, c.console);
    }
}
