//! Parsers for the files probes read. Pure functions over text: no IO, so
//! each format is tested on strings.

use std::cmp::Ordering;

/// A `key value` or `key=value` line of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// 1-based line number.
    pub line: usize,
    pub key: String,
    pub value: String,
    /// The line as written, trimmed, for evidence.
    pub raw: String,
}

/// How keys and values are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Separator {
    /// `key = value` or `key value`: whichever comes first on the line.
    #[default]
    Auto,
    Equals,
    Whitespace,
}

/// Settings of a simple config file: `#` (and `;`) comments, blank lines
/// skipped, `[section]` headers ignored, quotes around values removed.
pub fn key_values(text: &str, sep: Separator) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';', '[']) {
            continue;
        }
        let eq = line.find('=');
        let ws = line.find(char::is_whitespace);
        let split = match sep {
            Separator::Equals => eq,
            Separator::Whitespace => ws,
            Separator::Auto => match (eq, ws) {
                (Some(e), Some(w)) => Some(e.min(w)),
                (e, w) => e.or(w),
            },
        };
        let (key, value) = match split {
            Some(at) => (&line[..at], &line[at..]),
            None => (line, ""),
        };
        let value = value
            .trim_start_matches(|c: char| c.is_whitespace())
            .trim_start_matches('=')
            .trim();
        // A trailing comment after the value (`key = 5 # five`).
        let value = match value.find(" #") {
            Some(at) => value[..at].trim_end(),
            None => value,
        };
        out.push(Setting {
            line: i + 1,
            key: key.trim().to_string(),
            value: unquote(value).to_string(),
            raw: line.to_string(),
        });
    }
    out
}

pub fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// An assignment to a shell variable in a profile script: `TMOUT=600`,
/// `export TMOUT=600`, `readonly TMOUT=600`, `declare -r TMOUT=600`, and
/// several on one line separated by `;`.
pub fn shell_assignments(text: &str, name: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        for stmt in line.split(';') {
            let mut words = stmt.split_whitespace().peekable();
            while let Some(w) = words.peek() {
                if matches!(*w, "export" | "readonly" | "declare" | "typeset" | "local")
                    || w.starts_with('-')
                {
                    words.next();
                } else {
                    break;
                }
            }
            for word in words {
                if let Some(value) = word.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                    out.push(Setting {
                        line: i + 1,
                        key: name.to_string(),
                        value: unquote(value).to_string(),
                        raw: line.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// One rule of a PAM stack: `type control module args...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    pub line: usize,
    pub kind: String,
    pub control: String,
    pub module: String,
    pub args: Vec<String>,
    pub raw: String,
}

/// What a line of a PAM service file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PamEntry {
    Rule(PamLine),
    /// `@include common-auth` (Debian), or a rule whose control is
    /// `include`/`substack` (RHEL): the named file is read in its place.
    Include {
        line: usize,
        kind: Option<String>,
        service: String,
    },
}

pub fn pam_entries(text: &str) -> Vec<PamEntry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@include") {
            out.push(PamEntry::Include {
                line: i + 1,
                kind: None,
                service: rest.trim().to_string(),
            });
            continue;
        }
        let line_body = line.trim_start_matches('-');
        let (kind, rest) = split_word(line_body);
        let rest = rest.trim_start();
        // The control is one word or a bracketed list that may hold spaces.
        let (control, rest) = if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => (&rest[..=end], &rest[end + 1..]),
                None => (rest, ""),
            }
        } else {
            split_word(rest)
        };
        let mut words = rest.split_whitespace();
        let Some(module) = words.next() else {
            continue;
        };
        if matches!(control, "include" | "substack") {
            out.push(PamEntry::Include {
                line: i + 1,
                kind: Some(kind.to_string()),
                service: module.to_string(),
            });
            continue;
        }
        let module = module.rsplit('/').next().unwrap_or(module).to_string();
        out.push(PamEntry::Rule(PamLine {
            line: i + 1,
            kind: kind.to_string(),
            control: control.to_string(),
            module,
            args: words.map(str::to_string).collect(),
            raw: line.to_string(),
        }));
    }
    out
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(at) => (&s[..at], &s[at..]),
        None => (s, ""),
    }
}

/// A line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub line: usize,
    pub name: String,
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    pub raw: String,
}

/// A line of `/etc/shadow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub line: usize,
    pub name: String,
    pub hash: String,
    pub last_change: Option<i64>,
    pub max_days: Option<i64>,
    pub inactive: Option<i64>,
    pub expire: Option<i64>,
}

/// A line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub line: usize,
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A line that is not what the file should hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is not a valid entry: {reason}")]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

fn entries<T>(
    text: &str,
    fields: usize,
    mut make: impl FnMut(usize, &[&str], &str) -> Result<T, String>,
) -> Result<Vec<T>, BadLine> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // NIS compat entries (`+`, `+name`, `-name`) have fewer fields.
        if line.starts_with(['+', '-']) {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        if parts.len() < fields {
            return Err(BadLine {
                line: i + 1,
                reason: format!("{} fields where {fields} are expected", parts.len()),
            });
        }
        out.push(make(i + 1, &parts, line).map_err(|reason| BadLine {
            line: i + 1,
            reason,
        })?);
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}

fn optional_number(s: &str, what: &str) -> Result<Option<i64>, String> {
    if s.is_empty() {
        Ok(None)
    } else {
        number(s, what).map(Some)
    }
}

pub fn passwd(text: &str) -> Result<Vec<PasswdEntry>, BadLine> {
    entries(text, 7, |line, p, raw| {
        Ok(PasswdEntry {
            line,
            name: p[0].to_string(),
            password: p[1].to_string(),
            uid: number(p[2], "UID")?,
            gid: number(p[3], "GID")?,
            home: p[5].to_string(),
            shell: p[6].to_string(),
            raw: raw.to_string(),
        })
    })
}

pub fn shadow(text: &str) -> Result<Vec<ShadowEntry>, BadLine> {
    entries(text, 8, |line, p, _| {
        Ok(ShadowEntry {
            line,
            name: p[0].to_string(),
            hash: p[1].to_string(),
            last_change: optional_number(p[2], "last change")?,
            max_days: optional_number(p[4], "maximum age")?,
            inactive: optional_number(p[6], "inactive days")?,
            expire: optional_number(p[7], "expiry date")?,
        })
    })
}

pub fn groups(text: &str) -> Result<Vec<GroupEntry>, BadLine> {
    entries(text, 4, |line, p, _| {
        Ok(GroupEntry {
            line,
            name: p[0].to_string(),
            gid: number(p[2], "GID")?,
            members: p[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
    })
}

/// A package as a package database lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Where it was read: the line of its stanza in dpkg's status file.
    pub line: usize,
}

/// The installed packages in dpkg's `status` file. A stanza without a
/// `Package:` field means the database is damaged: say where.
pub fn dpkg_status(text: &str) -> Result<Vec<Package>, BadLine> {
    let mut out = Vec::new();
    let mut name = None;
    let mut version = String::new();
    let mut installed = false;
    let mut start = 0;
    let mut seen_fields = false;
    let mut finish = |name: &mut Option<String>,
                      version: &mut String,
                      installed: &mut bool,
                      start: usize,
                      seen: &mut bool|
     -> Result<(), BadLine> {
        if *seen {
            let Some(n) = name.take() else {
                return Err(BadLine {
                    line: start,
                    reason: "a package stanza without a Package: field".into(),
                });
            };
            if *installed {
                out.push(Package {
                    name: n,
                    version: std::mem::take(version),
                    line: start,
                });
            }
        }
        *name = None;
        version.clear();
        *installed = false;
        *seen = false;
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            finish(
                &mut name,
                &mut version,
                &mut installed,
                start,
                &mut seen_fields,
            )?;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if !seen_fields {
            start = i + 1;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(BadLine {
                line: i + 1,
                reason: format!("{line:?} is not a `Field: value` line"),
            });
        };
        seen_fields = true;
        let value = value.trim();
        match key {
            "Package" => name = Some(value.to_string()),
            "Version" => version = value.to_string(),
            "Status" => installed = value.ends_with(" installed"),
            _ => {}
        }
    }
    finish(
        &mut name,
        &mut version,
        &mut installed,
        start,
        &mut seen_fields,
    )?;
    Ok(out)
}

/// `Package:` and `Version:` pairs of an apt `*_Packages` list, for the
/// packages `wanted` says yes to. Fast path: only those two fields are read.
pub fn apt_list_versions(
    text: &str,
    mut wanted: impl FnMut(&str) -> bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Package: ") {
            current = wanted(name.trim()).then_some(name.trim());
        } else if let Some(v) = line.strip_prefix("Version: ")
            && let Some(name) = current.take()
        {
            out.push((name.to_string(), v.trim().to_string()));
        }
    }
    out
}

/// Compare two Debian version strings as dpkg does
/// (`[epoch:]upstream[-revision]`, `~` before everything, letters before
/// other characters).
pub fn debian_version_cmp(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<char>) -> i32 {
        match c {
            Some('~') => -1,
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    fn part(a: &str, b: &str) -> Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            // Non-digit prefix.
            loop {
                let ca = a.get(i).filter(|c| !c.is_ascii_digit()).map(|&c| c as char);
                let cb = b.get(j).filter(|c| !c.is_ascii_digit()).map(|&c| c as char);
                if ca.is_none() && cb.is_none() {
                    break;
                }
                let (oa, ob) = (order(ca), order(cb));
                if oa != ob {
                    return oa.cmp(&ob);
                }
                if ca.is_some() {
                    i += 1;
                }
                if cb.is_some() {
                    j += 1;
                }
            }
            // Numeric part.
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("")
                .trim_start_matches('0');
            let c = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua, ub))
        .then_with(|| part(ra, rb))
}

/// Compare two rpm versions as rpm does (`[epoch:]version[-release]`,
/// each compared with rpmvercmp: alphanumeric segments, numbers newer than
/// letters, `~` before everything, `^` after the end).
pub fn rpm_version_cmp(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((ver, rel)) => (epoch, ver, rel),
            None => (epoch, rest, ""),
        }
    }
    fn vercmp(a: &str, b: &str) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
        loop {
            while i < a.len() && sep(a[i]) {
                i += 1;
            }
            while j < b.len() && sep(b[j]) {
                j += 1;
            }
            let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
            if ca == Some(b'~') || cb == Some(b'~') {
                if ca != Some(b'~') {
                    return Ordering::Greater;
                }
                if cb != Some(b'~') {
                    return Ordering::Less;
                }
                i += 1;
                j += 1;
                continue;
            }
            if ca == Some(b'^') || cb == Some(b'^') {
                if ca.is_none() {
                    return Ordering::Less;
                }
                if cb.is_none() {
                    return Ordering::Greater;
                }
                if ca != Some(b'^') {
                    return Ordering::Greater;
                }
                if cb != Some(b'^') {
                    return Ordering::Less;
                }
                i += 1;
                j += 1;
                continue;
            }
            let (Some(ca), Some(_)) = (ca, cb) else {
                break;
            };
            let numeric = ca.is_ascii_digit();
            let take = |x: &[u8], mut k: usize| {
                let start = k;
                while k < x.len()
                    && (if numeric {
                        x[k].is_ascii_digit()
                    } else {
                        x[k].is_ascii_alphabetic()
                    })
                {
                    k += 1;
                }
                (start, k)
            };
            let (sa, ea) = take(a, i);
            let (sb, eb) = take(b, j);
            i = ea;
            j = eb;
            if sb == eb {
                // Segments of different kinds: a number is newer.
                return if numeric {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            let (mut x, mut y) = (&a[sa..ea], &b[sb..eb]);
            let c = if numeric {
                while x.first() == Some(&b'0') {
                    x = &x[1..];
                }
                while y.first() == Some(&b'0') {
                    y = &y[1..];
                }
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            } else {
                x.cmp(y)
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        match (i >= a.len(), j >= b.len()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            _ => Ordering::Greater,
        }
    }
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| vercmp(va, vb))
        .then_with(|| vercmp(ra, rb))
}

/// Name and `[epoch:]version-release` of the binary packages in a
/// repository's `primary.xml`, for the packages `wanted` says yes to.
pub fn primary_xml_versions(
    xml: &str,
    mut wanted: impl FnMut(&str) -> bool,
) -> Vec<(String, String)> {
    fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
        let start = s.find(open)? + open.len();
        let end = s[start..].find(close)? + start;
        Some(&s[start..end])
    }
    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        between(tag, &format!(" {name}=\""), "\"")
    }
    let mut out = Vec::new();
    for block in xml.split("<package ").skip(1) {
        let block = block.split("</package>").next().unwrap_or(block);
        let (Some(name), Some(arch)) = (
            between(block, "<name>", "</name>"),
            between(block, "<arch>", "</arch>"),
        ) else {
            continue;
        };
        if arch == "src" || !wanted(name) {
            continue;
        }
        let Some(tag) = between(block, "<version", "/>") else {
            continue;
        };
        let (Some(ver), Some(rel)) = (attr(tag, "ver"), attr(tag, "rel")) else {
            continue;
        };
        let epoch = attr(tag, "epoch").unwrap_or("0");
        let evr = if epoch == "0" {
            format!("{ver}-{rel}")
        } else {
            format!("{epoch}:{ver}-{rel}")
        };
        out.push((name.to_string(), evr));
    }
    out
}

/// A socket in the listen state, from `/proc/net/{tcp,tcp6,udp,udp6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub proto: &'static str,
    pub address: String,
    pub port: u16,
    pub line: usize,
}

/// Listening TCP sockets (state 0A) or bound, unconnected UDP sockets
/// (state 07 with no remote address).
pub fn proc_net_listeners(text: &str, proto: &'static str) -> Result<Vec<Listener>, BadLine> {
    let tcp = proto.starts_with("tcp");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 4 {
            return Err(BadLine {
                line: i + 1,
                reason: "fewer than 4 columns".into(),
            });
        }
        let bad = |what: &str| BadLine {
            line: i + 1,
            reason: format!("{what} is not in the kernel's hex format"),
        };
        let (addr_hex, port_hex) = f[1].split_once(':').ok_or_else(|| bad("local address"))?;
        let (_, remote_port) = f[2].split_once(':').ok_or_else(|| bad("remote address"))?;
        let state = f[3];
        let listening = if tcp {
            state == "0A"
        } else {
            state == "07" && remote_port == "0000"
        };
        if !listening {
            continue;
        }
        let port = u16::from_str_radix(port_hex, 16).map_err(|_| bad("port"))?;
        out.push(Listener {
            proto,
            address: hex_address(addr_hex).ok_or_else(|| bad("address"))?,
            port,
            line: i + 1,
        });
    }
    Ok(out)
}

/// The kernel writes addresses as 32-bit words in host (little-endian) order.
fn hex_address(hex: &str) -> Option<String> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let mut ordered = Vec::with_capacity(bytes.len());
    for word in bytes.chunks(4) {
        ordered.extend(word.iter().rev());
    }
    match ordered.len() {
        4 => Some(
            std::net::Ipv4Addr::new(ordered[0], ordered[1], ordered[2], ordered[3]).to_string(),
        ),
        16 => {
            let arr: [u8; 16] = ordered.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(arr).to_string())
        }
        _ => None,
    }
}

/// Default routes from `/proc/net/route` (destination and mask 0).
pub fn default_routes(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter_map(|(i, line)| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000")
                .then(|| (i + 1, line.trim().to_string()))
        })
        .collect()
}

/// How many days of logs a logrotate stanza keeps: `rotate N` times the
/// period (`daily` 1, `weekly` 7, `monthly` 30, `yearly` 365); logrotate's
/// defaults are weekly and 4 rotations... unless the main config says
/// otherwise, which the caller passes as `defaults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub period_days: i64,
    pub rotate: Option<i64>,
}

impl Rotation {
    pub fn days(&self) -> Option<i64> {
        self.rotate.map(|r| r * self.period_days)
    }
}

/// Read the global directives of a logrotate file and those of the stanza
/// naming `log` (e.g. `/var/log/syslog` or `/var/log/messages`).
pub fn logrotate(text: &str, defaults: Rotation, log: &str) -> (Rotation, Option<Rotation>) {
    let mut global = defaults;
    let mut stanza: Option<Rotation> = None;
    let mut in_block = false;
    let mut block_matches = false;
    let mut current = defaults;
    let mut pending_names: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_block {
            if line.ends_with('{') {
                pending_names.extend(
                    line.trim_end_matches('{')
                        .split_whitespace()
                        .map(str::to_string),
                );
                in_block = true;
                block_matches = pending_names.iter().any(|n| n == log);
                current = global;
                pending_names.clear();
                continue;
            }
            if line.starts_with('/') {
                pending_names.extend(line.split_whitespace().map(str::to_string));
                continue;
            }
            apply_rotation(&mut global, line);
        } else if line.starts_with('}') {
            in_block = false;
            if block_matches {
                stanza = Some(current);
            }
        } else {
            apply_rotation(&mut current, line);
        }
    }
    (global, stanza)
}

fn apply_rotation(r: &mut Rotation, line: &str) {
    let mut w = line.split_whitespace();
    match (w.next(), w.next()) {
        (Some("daily"), _) => r.period_days = 1,
        (Some("weekly"), _) => r.period_days = 7,
        (Some("monthly"), _) => r.period_days = 30,
        (Some("yearly"), _) => r.period_days = 365,
        (Some("rotate"), Some(n)) => r.rotate = n.parse().ok(),
        _ => {}
    }
}

/// `-w PATH -p PERMS` watches of auditd rules files.
pub fn audit_watches(text: &str) -> Vec<(usize, String, String, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let value_of = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|p| words.get(p + 1))
                .map(|s| s.to_string())
        };
        if let Some(path) = value_of("-w") {
            let perms = value_of("-p").unwrap_or_else(|| "rwxa".into());
            out.push((i + 1, path, perms, line.to_string()));
        } else if let Some(path) = words
            .iter()
            .find_map(|w| w.strip_prefix("path=").or_else(|| w.strip_prefix("dir=")))
        {
            let perms = words
                .iter()
                .find_map(|w| w.strip_prefix("perm="))
                .unwrap_or("rwxa");
            out.push((i + 1, path.to_string(), perms.to_string(), line.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_take_either_separator() {
        let s = key_values(
            "# c\nPASS_MAX_DAYS\t90\nminlen = 8 # eight\n[x]\nA=\"b c\"\n",
            Separator::Auto,
        );
        let pairs: Vec<(&str, &str, usize)> = s
            .iter()
            .map(|s| (s.key.as_str(), s.value.as_str(), s.line))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("PASS_MAX_DAYS", "90", 2),
                ("minlen", "8", 3),
                ("A", "b c", 5)
            ]
        );
    }

    #[test]
    fn shell_assignments_in_their_forms() {
        let t = "TMOUT=300\nexport TMOUT=600; readonly TMOUT\n# TMOUT=1\ndeclare -r TMOUT=900\n";
        let v: Vec<String> = shell_assignments(t, "TMOUT")
            .into_iter()
            .map(|s| s.value)
            .collect();
        assert_eq!(v, vec!["300", "600", "900"]);
    }

    #[test]
    fn pam_lines_and_includes() {
        let t = "@include common-auth\nauth [success=1 default=ignore] pam_unix.so nullok\n-password requisite /lib/security/pam_pwquality.so retry=3 minlen=8\nauth include system-auth\n";
        let e = pam_entries(t);
        assert_eq!(e.len(), 4);
        assert!(matches!(&e[0], PamEntry::Include { service, .. } if service == "common-auth"));
        let PamEntry::Rule(r) = &e[1] else { panic!() };
        assert_eq!(r.control, "[success=1 default=ignore]");
        assert_eq!(r.module, "pam_unix.so");
        let PamEntry::Rule(r) = &e[2] else { panic!() };
        assert_eq!(r.module, "pam_pwquality.so");
        assert_eq!(r.args, vec!["retry=3", "minlen=8"]);
        assert!(matches!(&e[3], PamEntry::Include { service, .. } if service == "system-auth"));
    }

    #[test]
    fn passwd_rejects_garbage_with_the_line() {
        assert_eq!(
            passwd("root:x:0:0:root:/root:/bin/bash\n").unwrap()[0].uid,
            0
        );
        let e = passwd("root:x:0:0:root:/root:/bin/bash\nhello world\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = passwd("root:x:zero:0:root:/root:/bin/bash\n").unwrap_err();
        assert!(e.reason.contains("UID"), "{e}");
    }

    #[test]
    fn dpkg_status_installed_only_and_broken_stanzas() {
        let t = "Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\n";
        let p = dpkg_status(t).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].name.as_str(), p[0].version.as_str()), ("a", "1.0"));
        let e = dpkg_status("Package: a\nStatus: install ok installed\n\nStatus: install ok installed\nVersion: 1\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(dpkg_status("garbage without colon\n").is_err());
    }

    #[test]
    fn debian_versions_compare_like_dpkg() {
        use Ordering::*;
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.0~rc1", "1.0", Less),
            ("1:0.1", "2.0", Greater),
            ("2.36-9+deb12u4", "2.36-9+deb12u3", Greater),
            ("1.2a", "1.2+", Less),
            ("1.10", "1.9", Greater),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(debian_version_cmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn rpm_versions_compare_like_rpmvercmp() {
        use Ordering::*;
        let cases = [
            ("1.0-1", "1.0-1", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.10-1", "1.9-1", Greater),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0^git1-1", "1.0-1", Greater),
            ("1.0a-1", "1.0-1", Greater),
            ("1.0a-1", "1.0.1-1", Less),
            ("2:1.0-1", "1:9.0-1", Greater),
            ("8.8p1-2.oe2203", "8.8p1-10.oe2203", Less),
            ("5.1.8-6.oe2203sp1", "5.1.8-6.oe2203sp2", Less),
            ("1.01-1", "1.1-1", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpm_version_cmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpm_version_cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn primary_xml_binary_packages() {
        let xml = r#"<metadata><package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.1.8" rel="9.oe2203"/></package>
<package type="rpm"><name>bash</name><arch>src</arch><version epoch="0" ver="9" rel="1"/></package>
<package type="rpm"><name>openssl</name><arch>x86_64</arch><version epoch="1" ver="1.1.1m" rel="20.oe2203"/></package>
<package type="rpm"><name>vim</name><arch>x86_64</arch><version epoch="2" ver="9.0" rel="1"/></package></metadata>"#;
        let v = primary_xml_versions(xml, |n| n != "vim");
        assert_eq!(
            v,
            vec![
                ("bash".to_string(), "5.1.8-9.oe2203".to_string()),
                ("openssl".to_string(), "1:1.1.1m-20.oe2203".to_string())
            ]
        );
    }

    #[test]
    fn proc_net_tcp_listeners() {
        let t = "  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 0\n   1: 0100007F:0CEA 00000000:0000 0A 0\n   2: 0F02000A:0016 0102000A:D431 01 0\n";
        let l = proc_net_listeners(t, "tcp").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].address.as_str(), l[0].port), ("0.0.0.0", 22));
        assert_eq!((l[1].address.as_str(), l[1].port), ("127.0.0.1", 3306));
        assert!(proc_net_listeners("h\n 0: zz:zz 0:0 0A\n", "tcp").is_err());
    }

    #[test]
    fn logrotate_days() {
        let t =
            "weekly\nrotate 4\n/var/log/syslog\n/var/log/messages {\n  daily\n  rotate 200\n}\n";
        let (g, s) = logrotate(
            t,
            Rotation {
                period_days: 7,
                rotate: None,
            },
            "/var/log/messages",
        );
        assert_eq!(g.days(), Some(28));
        assert_eq!(s.unwrap().days(), Some(200));
    }

    #[test]
    fn audit_watch_forms() {
        let w = audit_watches(
            "-w /etc/passwd -p wa -k identity\n-a always,exit -F path=/etc/shadow -F perm=wa\n",
        );
        assert_eq!(w[0].1, "/etc/passwd");
        assert_eq!(w[0].2, "wa");
        assert_eq!(w[1].1, "/etc/shadow");
    }
}
