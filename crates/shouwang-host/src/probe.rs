//! Typed probes: each reads and parses one kind of system fact under a
//! [`Root`] and reports what it saw with the evidence (file, line, text).
//! A probe that cannot see what it needs returns [`CannotCheck`] with the
//! reason; it never guesses.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::parse::{self, PamEntry, Separator};
use crate::root::{ReadError, Root, wildcard_match};

/// Where a fact was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The file (inside the root) or pseudo-file it came from.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The line or value as seen.
    pub text: String,
}

impl Evidence {
    pub fn new(file: impl Into<String>, line: Option<usize>, text: impl Into<String>) -> Self {
        Evidence {
            file: file.into(),
            line,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.text),
            None => write!(f, "{}: {}", self.file, self.text),
        }
    }
}

/// One thing a listing probe found: an account, a port, a package, a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub evidence: Evidence,
}

/// What a probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Observation {
    /// One setting. `None` when it is set nowhere; the evidence then names
    /// the places looked at.
    Value {
        value: Option<String>,
        evidence: Vec<Evidence>,
    },
    /// A list of things found, and where the probe looked.
    Items {
        items: Vec<Item>,
        looked_at: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationKind {
    Value,
    Items,
}

/// Why a probe could not tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CannotCheck(pub String);

impl From<ReadError> for CannotCheck {
    fn from(e: ReadError) -> Self {
        CannotCheck(e.to_string())
    }
}

pub type ProbeResult = Result<Observation, CannotCheck>;

const NEEDS_LIVE: &str = "needs the live system (this is an offline root)";

/// An antivirus product: how to tell it is installed and where its
/// signatures are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvProduct {
    pub name: String,
    /// Package names that mean it is installed.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Paths (last component may hold wildcards) that mean it is installed.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Signature database files (wildcards allowed); the newest sets the age.
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// Which accounts an `accounts` probe lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountQuery {
    /// Accounts whose shadow password field is empty: no password at all.
    EmptyPassword,
    /// Accounts other than root with UID 0.
    ExtraUidZero,
    DuplicateUid,
    DuplicateName,
    DuplicateGid,
    DuplicateGroupName,
    /// Accounts below UID_MIN (system accounts) with a login shell.
    SystemWithShell,
    /// passwd entries whose password is not in /etc/shadow.
    PasswordNotShadowed,
    /// Password hashes made with DES, MD5 or another weak scheme.
    WeakHash,
    /// Accounts with a password whose maximum age exceeds `days` (or none).
    MaxAgeOver,
    /// The listed (default, guest, test) accounts that can log in.
    Named,
    /// Login accounts whose password was not changed for `days`.
    PasswordOlderThan,
    /// Human accounts that can log in but did not for `days` (or never),
    /// per /var/log/lastlog.
    Unused,
    /// Human accounts whose home directory is readable or writable by others.
    HomeOpen,
    /// Members of the wheel/sudo groups other than the `names` allowed.
    AdminGroupMembers,
    /// Groups in /etc/passwd that /etc/group does not define.
    MissingGroup,
    /// root's primary group is not GID 0.
    RootGroupNotZero,
}

/// What a `world-writable` probe lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WritableKind {
    /// Directories writable by everyone without the sticky bit.
    #[default]
    DirsWithoutSticky,
    /// Regular files writable by everyone.
    Files,
}

/// A typed probe, as rule files name it (`probe = { type = "sshd", ... }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Probe {
    /// A key in simple config files (login.defs, pwquality.conf,
    /// journald.conf...). The last assignment wins unless `first_wins`.
    KeyValue {
        files: Vec<String>,
        key: String,
        #[serde(default)]
        separator: Separator,
        #[serde(default)]
        first_wins: bool,
    },
    /// An sshd_config keyword, following `Include`; the first value wins
    /// and `Match` blocks are not global.
    Sshd { key: String },
    /// A kernel parameter: the live value from /proc/sys on a running
    /// system, else the value sysctl.d/sysctl.conf would set at boot.
    Sysctl { key: String },
    /// A shell variable assigned in profile scripts (TMOUT).
    ShellVar { files: Vec<String>, name: String },
    /// A PAM module in the stacks of the first existing services; with
    /// `arg`, the module's `arg=value` (or the fallback config file's).
    Pam {
        services: Vec<String>,
        #[serde(default)]
        stack: Option<String>,
        modules: Vec<String>,
        #[serde(default)]
        arg: Option<String>,
        #[serde(default)]
        fallback: Vec<String>,
        /// The module's compiled-in value of `arg`, used only when the
        /// module is in the stack and neither it nor `fallback` sets it.
        #[serde(default)]
        default: Option<String>,
    },
    /// Accounts in passwd/shadow/group that match a query.
    Accounts {
        select: AccountQuery,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        days: Option<i64>,
        #[serde(default)]
        groups: Vec<String>,
    },
    /// Installed packages (dpkg or rpm) whose names match the wildcards.
    Packages { names: Vec<String> },
    /// Installed packages for which the local package lists hold a newer
    /// version (apt; lists as of the last `apt-get update`).
    PendingUpdates {},
    /// Days since the package lists were refreshed.
    PackageListsAge {},
    /// Sockets listening on the running system, as `tcp/ADDR:PORT`.
    Listening {},
    /// How the modprobe configuration treats a kernel module: `disabled`
    /// (install /bin/false), `blacklisted`, `allowed`, or `loaded` (live).
    KernelModule { module: String },
    /// The state of the first installed of these systemd units (or SysV
    /// scripts): `enabled`, `disabled`, `masked` or `absent`.
    Unit { units: Vec<String> },
    /// Files that are more open than `max_mode` or not owned as allowed.
    FileMode {
        paths: Vec<String>,
        max_mode: String,
        #[serde(default)]
        owners: Vec<String>,
        #[serde(default)]
        groups: Vec<String>,
    },
    /// Set-user-ID and set-group-ID files under the directories.
    Suid {
        dirs: Vec<String>,
        #[serde(default = "default_depth")]
        max_depth: usize,
    },
    /// World-writable directories without the sticky bit, or files.
    WorldWritable {
        dirs: Vec<String>,
        #[serde(default = "default_depth")]
        max_depth: usize,
        #[serde(default)]
        kind: WritableKind,
    },
    /// Non-comment lines that hold these words in this order.
    Lines {
        files: Vec<String>,
        words: Vec<String>,
        #[serde(default)]
        ignore_case: bool,
    },
    /// Which of these files have no auditd watch covering `perms`.
    AuditWatch { paths: Vec<String>, perms: String },
    /// Days the system log is kept, per logrotate.
    LogRetention { logs: Vec<String> },
    /// The firewalls enabled: nftables, firewalld, ufw, iptables.
    Firewall {},
    /// The default policy for incoming traffic of the enabled firewall.
    FirewallPolicy {},
    /// Wireless interfaces (live) and configured Wi-Fi connections.
    Wireless {},
    /// Default routes of the running system.
    DefaultRoute {},
    /// Name servers in resolv.conf outside private address ranges.
    PublicNameservers {},
    /// Which of the listed antivirus products are installed.
    Antivirus { products: Vec<AvProduct> },
    /// Age in days of the newest signature file of the installed products.
    AntivirusSignatureAge { products: Vec<AvProduct> },
    /// Which of these paths exist.
    Exists { paths: Vec<String> },
    /// Whether a mount point carries an option: `set`, `missing`, or
    /// `not-mounted` (not a separate file system).
    MountOption { path: String, option: String },
    /// The mandatory access control in force: `selinux-enforcing`,
    /// `selinux-permissive`, `apparmor`, or `none`.
    Mac {},
    /// A registry value (Windows; reserved for the Windows agent).
    RegistryValue { key: String, name: String },
    /// A setting of an exported security policy (secedit /export).
    SecurityPolicy { section: String, key: String },
}

fn default_depth() -> usize {
    4
}

impl Probe {
    pub fn observes(&self) -> ObservationKind {
        use Probe::*;
        match self {
            KeyValue { .. }
            | Sshd { .. }
            | Sysctl { .. }
            | ShellVar { .. }
            | Pam { .. }
            | PackageListsAge {}
            | KernelModule { .. }
            | Unit { .. }
            | LogRetention { .. }
            | FirewallPolicy {}
            | AntivirusSignatureAge { .. }
            | MountOption { .. }
            | Mac {}
            | RegistryValue { .. }
            | SecurityPolicy { .. } => ObservationKind::Value,
            Accounts { .. }
            | Packages { .. }
            | PendingUpdates {}
            | Listening {}
            | FileMode { .. }
            | Suid { .. }
            | WorldWritable { .. }
            | Lines { .. }
            | AuditWatch { .. }
            | Firewall {}
            | Wireless {}
            | DefaultRoute {}
            | PublicNameservers {}
            | Antivirus { .. }
            | Exists { .. } => ObservationKind::Items,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Probe::FileMode { max_mode, .. } if u32::from_str_radix(max_mode, 8).is_err() => {
                Err(format!("max_mode {max_mode:?} is not an octal mode"))
            }
            Probe::Accounts {
                select:
                    AccountQuery::MaxAgeOver | AccountQuery::PasswordOlderThan | AccountQuery::Unused,
                days: None,
                ..
            } => Err("this account query needs `days`".into()),
            Probe::Lines { words, .. } if words.is_empty() => Err("lines needs words".into()),
            _ => Ok(()),
        }
    }

    /// Where a finding of this probe is on the host: stable across runs,
    /// so that the same failure is the same finding.
    pub fn location(&self) -> String {
        use Probe::*;
        match self {
            KeyValue { files, key, .. } => format!("{} {key}", files.join(",")),
            Sshd { key } => format!("/etc/ssh/sshd_config {key}"),
            Sysctl { key } => format!("sysctl {key}"),
            ShellVar { name, .. } => format!("profile {name}"),
            Pam {
                services, modules, ..
            } => format!("/etc/pam.d/{} {}", services.join(","), modules.join(",")),
            Accounts { .. } => "/etc/passwd".into(),
            Packages { .. } | PendingUpdates {} | PackageListsAge {} => "packages".into(),
            Listening {} => "/proc/net/tcp".into(),
            KernelModule { module } => format!("module {module}"),
            Unit { units } => format!("unit {}", units.join(",")),
            FileMode { paths, .. } => paths.join(","),
            Suid { dirs, .. } | WorldWritable { dirs, .. } => dirs.join(","),
            Lines { files, .. } => files.join(","),
            AuditWatch { .. } => "/etc/audit/rules.d".into(),
            LogRetention { .. } => "/etc/logrotate.conf".into(),
            Firewall {} | FirewallPolicy {} => "firewall".into(),
            Wireless {} => "/sys/class/net".into(),
            DefaultRoute {} => "/proc/net/route".into(),
            PublicNameservers {} => "/etc/resolv.conf".into(),
            Antivirus { .. } | AntivirusSignatureAge { .. } => "antivirus".into(),
            Exists { paths } => paths.join(","),
            MountOption { path, option } => format!("mount {path} {option}"),
            Mac {} => "mandatory access control".into(),
            RegistryValue { key, name } => format!("{key}\\{name}"),
            SecurityPolicy { section, key } => format!("[{section}] {key}"),
        }
    }
}

/// Parsed system facts shared by the probes of one run, each read at most
/// once.
pub struct Facts<'r> {
    pub root: &'r Root,
    now: SystemTime,
    passwd: OnceCell<Result<Vec<parse::PasswdEntry>, CannotCheck>>,
    shadow: OnceCell<Result<Vec<parse::ShadowEntry>, CannotCheck>>,
    groups: OnceCell<Result<Vec<parse::GroupEntry>, CannotCheck>>,
    packages: OnceCell<Result<PackageDb, CannotCheck>>,
    units: OnceCell<UnitIndex>,
}

/// The installed packages and which database said so.
#[derive(Debug, Clone)]
pub struct PackageDb {
    pub source: &'static str,
    pub packages: Vec<parse::Package>,
}

#[derive(Debug, Default)]
struct UnitIndex {
    /// unit name → the `.wants` link that enables it.
    enabled: BTreeMap<String, String>,
}

impl<'r> Facts<'r> {
    pub fn new(root: &'r Root) -> Self {
        Facts::at(root, SystemTime::now())
    }

    /// Facts as of `now` (ages of files and passwords are computed from it).
    pub fn at(root: &'r Root, now: SystemTime) -> Self {
        Facts {
            root,
            now,
            passwd: OnceCell::new(),
            shadow: OnceCell::new(),
            groups: OnceCell::new(),
            packages: OnceCell::new(),
            units: OnceCell::new(),
        }
    }

    fn passwd(&self) -> Result<&[parse::PasswdEntry], CannotCheck> {
        self.passwd
            .get_or_init(|| {
                let t = self.root.read_text("/etc/passwd")?;
                parse::passwd(&t).map_err(|e| CannotCheck(format!("/etc/passwd: {e}")))
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn shadow(&self) -> Result<&[parse::ShadowEntry], CannotCheck> {
        self.shadow
            .get_or_init(|| {
                let t = self.root.read_text("/etc/shadow")?;
                parse::shadow(&t).map_err(|e| CannotCheck(format!("/etc/shadow: {e}")))
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn groups(&self) -> Result<&[parse::GroupEntry], CannotCheck> {
        self.groups
            .get_or_init(|| {
                let t = self.root.read_text("/etc/group")?;
                parse::groups(&t).map_err(|e| CannotCheck(format!("/etc/group: {e}")))
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    /// The installed packages: dpkg's status file, else the rpm database.
    pub fn packages(&self) -> Result<&PackageDb, CannotCheck> {
        self.packages
            .get_or_init(|| read_packages(self.root))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn uid_min(&self) -> u32 {
        self.root
            .read_text("/etc/login.defs")
            .ok()
            .and_then(|t| {
                parse::key_values(&t, Separator::Whitespace)
                    .into_iter()
                    .rfind(|s| s.key == "UID_MIN")
                    .and_then(|s| s.value.parse().ok())
            })
            .unwrap_or(1000)
    }

    fn days_since(&self, t: SystemTime) -> i64 {
        match self.now.duration_since(t) {
            Ok(d) => (d.as_secs() / 86_400) as i64,
            Err(_) => 0,
        }
    }

    fn today(&self) -> i64 {
        self.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| (d.as_secs() / 86_400) as i64)
            .unwrap_or(0)
    }

    fn unit_index(&self) -> &UnitIndex {
        self.units.get_or_init(|| {
            let mut idx = UnitIndex::default();
            for base in [
                "/etc/systemd/system",
                "/usr/lib/systemd/system",
                "/lib/systemd/system",
            ] {
                let Ok(dirs) = self.root.list_dir(base) else {
                    continue;
                };
                for d in dirs
                    .iter()
                    .filter(|d| d.ends_with(".wants") || d.ends_with(".requires"))
                {
                    // Only /etc's wants dirs are the administrator's choice;
                    // the vendor dirs hold static dependencies, which also
                    // make a unit start.
                    let dir = format!("{base}/{d}");
                    for unit in self.root.list_dir(&dir).unwrap_or_default() {
                        idx.enabled
                            .entry(unit.clone())
                            .or_insert_with(|| format!("{dir}/{unit}"));
                    }
                }
            }
            idx
        })
    }
}

fn read_packages(root: &Root) -> Result<PackageDb, CannotCheck> {
    match root.read_text("/var/lib/dpkg/status") {
        Ok(text) => {
            let packages = parse::dpkg_status(&text).map_err(|e| {
                CannotCheck(format!(
                    "the dpkg database /var/lib/dpkg/status is damaged: {e}"
                ))
            })?;
            return Ok(PackageDb {
                source: "/var/lib/dpkg/status",
                packages,
            });
        }
        Err(e) if !e.is_not_found() => return Err(e.into()),
        Err(_) => {}
    }
    crate::rpmdb::read(root)
}

/// Run a probe.
pub fn run(probe: &Probe, facts: &Facts) -> ProbeResult {
    let root = facts.root;
    match probe {
        Probe::KeyValue {
            files,
            key,
            separator,
            first_wins,
        } => key_value(root, files, key, *separator, *first_wins),
        Probe::Sshd { key } => sshd(root, key),
        Probe::Sysctl { key } => sysctl(root, key),
        Probe::ShellVar { files, name } => shell_var(root, files, name),
        Probe::Pam {
            services,
            stack,
            modules,
            arg,
            fallback,
            default,
        } => pam(
            root,
            services,
            stack.as_deref(),
            modules,
            arg.as_deref(),
            fallback,
            default.as_deref(),
        ),
        Probe::Accounts {
            select,
            names,
            days,
            groups,
        } => accounts(facts, *select, names, *days, groups),
        Probe::Packages { names } => packages(facts, names),
        Probe::PendingUpdates {} => pending_updates(facts),
        Probe::PackageListsAge {} => package_lists_age(facts),
        Probe::Listening {} => listening(root),
        Probe::KernelModule { module } => kernel_module(root, module),
        Probe::Unit { units } => unit_state(facts, units),
        Probe::FileMode {
            paths,
            max_mode,
            owners,
            groups,
        } => file_mode(facts, paths, max_mode, owners, groups),
        Probe::Suid { dirs, max_depth } => walk_items(root, dirs, *max_depth, |meta| {
            meta.is_file() && meta.mode() & 0o6000 != 0
        }),
        Probe::WorldWritable {
            dirs,
            max_depth,
            kind,
        } => {
            let kind = *kind;
            walk_items(root, dirs, *max_depth, move |meta| match kind {
                WritableKind::DirsWithoutSticky => {
                    meta.is_dir() && meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0
                }
                WritableKind::Files => meta.is_file() && meta.mode() & 0o002 != 0,
            })
        }
        Probe::Lines {
            files,
            words,
            ignore_case,
        } => lines(root, files, words, *ignore_case),
        Probe::AuditWatch { paths, perms } => audit_watch(root, paths, perms),
        Probe::LogRetention { logs } => log_retention(root, logs),
        Probe::Firewall {} => firewall(facts).map(|(items, looked)| Observation::Items {
            items,
            looked_at: looked,
        }),
        Probe::FirewallPolicy {} => firewall_policy(facts),
        Probe::Wireless {} => wireless(root),
        Probe::DefaultRoute {} => default_route(root),
        Probe::PublicNameservers {} => public_nameservers(root),
        Probe::Antivirus { products } => antivirus(facts, products),
        Probe::AntivirusSignatureAge { products } => signature_age(facts, products),
        Probe::Exists { paths } => exists(root, paths),
        Probe::MountOption { path, option } => mount_option(root, path, option),
        Probe::Mac {} => mac(root),
        Probe::RegistryValue { .. } | Probe::SecurityPolicy { .. } => Err(CannotCheck(
            "a Windows probe; this is not a Windows system".into(),
        )),
    }
}

fn unset(looked: impl IntoIterator<Item = String>, what: &str) -> Observation {
    Observation::Value {
        value: None,
        evidence: looked
            .into_iter()
            .map(|f| Evidence::new(f, None, format!("{what} not set")))
            .collect(),
    }
}

fn value(v: impl Into<String>, ev: Evidence) -> Observation {
    Observation::Value {
        value: Some(v.into()),
        evidence: vec![ev],
    }
}

/// Read the files a pattern list names. Missing ones are skipped; an
/// unreadable or binary one stops the probe.
fn read_all(root: &Root, patterns: &[String]) -> Result<Vec<(String, String)>, CannotCheck> {
    let mut out = Vec::new();
    for pat in patterns {
        for path in root.expand(pat)? {
            match root.read_text(&path) {
                Ok(t) => out.push((path, t)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(out)
}

/// The settings of a config file, unless most of its lines are not
/// settings at all: then it is garbage (a truncated binary, a file pasted
/// into the wrong place) and "not set" would be a guess.
fn settings_of(path: &str, text: &str, sep: Separator) -> Result<Vec<parse::Setting>, CannotCheck> {
    let settings = parse::key_values(text, sep);
    let is_key = |k: &str| {
        !k.is_empty()
            && k.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@' | '$')
            })
    };
    let bad: Vec<&parse::Setting> = settings.iter().filter(|s| !is_key(&s.key)).collect();
    if bad.len() >= 3 && bad.len() * 2 > settings.len() {
        return Err(CannotCheck(format!(
            "{path} does not look like a configuration file: {} of its {} lines are not settings (line {}: {:?})",
            bad.len(),
            settings.len(),
            bad[0].line,
            bad[0].raw.chars().take(40).collect::<String>()
        )));
    }
    Ok(settings)
}

fn key_value(
    root: &Root,
    files: &[String],
    key: &str,
    sep: Separator,
    first_wins: bool,
) -> ProbeResult {
    let mut found = None;
    for (path, text) in read_all(root, files)? {
        for s in settings_of(&path, &text, sep)? {
            if s.key.eq_ignore_ascii_case(key) {
                if first_wins && found.is_some() {
                    continue;
                }
                found = Some(value(
                    s.value.clone(),
                    Evidence::new(&path, Some(s.line), &s.raw),
                ));
            }
        }
    }
    Ok(found.unwrap_or_else(|| unset(files.to_vec(), key)))
}

fn sshd(root: &Root, key: &str) -> ProbeResult {
    const MAIN: &str = "/etc/ssh/sshd_config";
    if !root.exists(MAIN) {
        return Err(CannotCheck(format!(
            "{MAIN} does not exist (is the OpenSSH server installed?)"
        )));
    }
    let mut looked = Vec::new();
    match sshd_file(root, MAIN, key, &mut looked, 0)? {
        Some(obs) => Ok(obs),
        None => Ok(unset(looked, key)),
    }
}

/// Search one sshd config file; `Include` is read in place, the first
/// value wins, and reading stops at the first `Match` (what follows is
/// conditional).
fn sshd_file(
    root: &Root,
    path: &str,
    key: &str,
    looked: &mut Vec<String>,
    depth: usize,
) -> Result<Option<Observation>, CannotCheck> {
    if depth > 8 {
        return Err(CannotCheck(format!("Include nested too deep at {path}")));
    }
    let text = root.read_text(path)?;
    looked.push(path.to_string());
    for s in settings_of(path, &text, Separator::Auto)? {
        if s.key.eq_ignore_ascii_case("Match") {
            return Ok(None);
        }
        if s.key.eq_ignore_ascii_case("Include") {
            for pat in s.value.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("/etc/ssh/{pat}")
                };
                for inc in root.expand(&pat)? {
                    if let Some(o) = sshd_file(root, &inc, key, looked, depth + 1)? {
                        return Ok(Some(o));
                    }
                }
            }
            continue;
        }
        if s.key.eq_ignore_ascii_case(key) {
            return Ok(Some(value(
                s.value.clone(),
                Evidence::new(path, Some(s.line), &s.raw),
            )));
        }
    }
    Ok(None)
}

fn sysctl(root: &Root, key: &str) -> ProbeResult {
    if root.is_live() {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        match root.read_text(&path) {
            Ok(v) => {
                let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                return Ok(value(v.clone(), Evidence::new(path, None, v)));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    // systemd-sysctl order: files by name across the dirs (earlier dirs
    // shadow later ones with the same name), then /etc/sysctl.conf.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in [
        "/etc/sysctl.d",
        "/run/sysctl.d",
        "/usr/local/lib/sysctl.d",
        "/usr/lib/sysctl.d",
        "/lib/sysctl.d",
    ] {
        for path in root.expand(&format!("{dir}/*.conf"))? {
            let name = path.rsplit('/').next().unwrap_or("").to_string();
            by_name.entry(name).or_insert(path);
        }
    }
    let mut files: Vec<String> = by_name.into_values().collect();
    files.push("/etc/sysctl.conf".into());
    let mut found = None;
    let key_slash = key.replace('.', "/");
    for (path, text) in read_all(root, &files)? {
        for s in settings_of(&path, &text, Separator::Equals)? {
            let k = s.key.trim_start_matches('-');
            if k == key || k == key_slash {
                found = Some(value(
                    s.value.clone(),
                    Evidence::new(&path, Some(s.line), &s.raw),
                ));
            }
        }
    }
    Ok(found.unwrap_or_else(|| {
        let mut looked = vec![
            "/etc/sysctl.conf".to_string(),
            "/etc/sysctl.d/*.conf".into(),
        ];
        if !root.is_live() {
            looked.push(format!("(offline root: live value of {key} unknown)"));
        }
        unset(looked, key)
    }))
}

fn shell_var(root: &Root, files: &[String], name: &str) -> ProbeResult {
    let mut found = None;
    for (path, text) in read_all(root, files)? {
        if let Some(s) = parse::shell_assignments(&text, name).pop() {
            found = Some(value(s.value, Evidence::new(&path, Some(s.line), &s.raw)));
        }
    }
    Ok(found.unwrap_or_else(|| unset(files.to_vec(), name)))
}

/// The rules of a PAM service with includes expanded, with their file.
fn pam_stack(
    root: &Root,
    service: &str,
    kind: Option<&str>,
    depth: usize,
    out: &mut Vec<(String, parse::PamLine)>,
) -> Result<(), CannotCheck> {
    if depth > 8 {
        return Err(CannotCheck(format!(
            "PAM includes nested too deep at {service}"
        )));
    }
    let path = if service.starts_with('/') {
        service.to_string()
    } else {
        format!("/etc/pam.d/{service}")
    };
    let text = match root.read_text(&path) {
        Ok(t) => t,
        // pam itself skips a missing included file, with a log line.
        Err(e) if e.is_not_found() && depth > 0 => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in parse::pam_entries(&text) {
        match entry {
            PamEntry::Rule(r) => {
                if kind.is_none_or(|k| k == r.kind) {
                    out.push((path.clone(), r));
                }
            }
            PamEntry::Include {
                kind: inc_kind,
                service,
                ..
            } => {
                if inc_kind.is_none() || kind.is_none() || inc_kind.as_deref() == kind {
                    pam_stack(root, &service, kind, depth + 1, out)?;
                }
            }
        }
    }
    Ok(())
}

fn pam(
    root: &Root,
    services: &[String],
    stack: Option<&str>,
    modules: &[String],
    arg: Option<&str>,
    fallback: &[String],
    default: Option<&str>,
) -> ProbeResult {
    let Some(service) = services
        .iter()
        .find(|s| root.exists(&format!("/etc/pam.d/{s}")))
    else {
        return Err(CannotCheck(format!(
            "no PAM service file among /etc/pam.d/{{{}}}",
            services.join(",")
        )));
    };
    let mut rules = Vec::new();
    pam_stack(root, service, stack, 0, &mut rules)?;
    let arg_of = |r: &parse::PamLine, arg: &str| -> Option<String> {
        r.args.iter().find_map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a.as_str(), "yes"));
            (k == arg).then(|| v.to_string())
        })
    };
    // Prefer a listed module that carries the argument (pam_pwhistory's
    // `remember` before pam_unix's), else the first listed module present.
    let with_arg = arg.and_then(|a| {
        rules
            .iter()
            .find(|(_, r)| modules.contains(&r.module) && arg_of(r, a).is_some())
    });
    let hit = with_arg.or_else(|| rules.iter().find(|(_, r)| modules.contains(&r.module)));
    let Some(arg) = arg else {
        return Ok(match hit {
            Some((file, r)) => value(r.module.clone(), Evidence::new(file, Some(r.line), &r.raw)),
            None => Observation::Value {
                value: None,
                evidence: vec![Evidence::new(
                    format!("/etc/pam.d/{service}"),
                    None,
                    format!("no {} in the stack (includes followed)", modules.join("|")),
                )],
            },
        });
    };
    if let Some((file, r)) = hit
        && let Some(v) = arg_of(r, arg)
    {
        return Ok(value(v, Evidence::new(file, Some(r.line), &r.raw)));
    }
    // The module reads its own config file (pwquality.conf, faillock.conf)
    // when the stack does not pass the argument; only when it is in the
    // stack does that file matter.
    if hit.is_some() {
        let kv = key_value(root, fallback, arg, Separator::Equals, false)?;
        if let Observation::Value {
            value: Some(v),
            evidence,
        } = kv
        {
            // A bare keyword in pwquality.conf (`enforce_for_root`) is a flag.
            let v = if v.is_empty() { "yes".to_string() } else { v };
            return Ok(Observation::Value {
                value: Some(v),
                evidence,
            });
        }
        if let (Some(d), Some((file, r))) = (default, hit) {
            return Ok(value(
                d,
                Evidence::new(
                    file,
                    Some(r.line),
                    format!("{} (no {arg}: {}'s default {d} applies)", r.raw, r.module),
                ),
            ));
        }
    }
    let mut looked = vec![format!("/etc/pam.d/{service}")];
    if hit.is_none() {
        looked[0] = format!(
            "/etc/pam.d/{service} (no {} in the stack)",
            modules.join("|")
        );
    } else {
        looked.extend(fallback.iter().cloned());
    }
    Ok(unset(looked, arg))
}

fn accounts(
    facts: &Facts,
    query: AccountQuery,
    names: &[String],
    days: Option<i64>,
    admin_groups: &[String],
) -> ProbeResult {
    use AccountQuery::*;
    let mut items = Vec::new();
    let mut looked = vec!["/etc/passwd".to_string()];
    let item = |name: &str, file: &str, line: usize, text: String| Item {
        name: name.to_string(),
        evidence: Evidence::new(file, Some(line), text),
    };
    let has_login_shell = |shell: &str| {
        !shell.is_empty()
            && !shell.ends_with("nologin")
            && !shell.ends_with("/false")
            && !shell.ends_with("/sync")
            && !shell.ends_with("/shutdown")
            && !shell.ends_with("/halt")
    };
    let usable_hash = |h: &str| !h.is_empty() && !h.starts_with(['!', '*']);
    match query {
        EmptyPassword | WeakHash | MaxAgeOver | PasswordOlderThan | Named => {
            let shadow = facts.shadow()?;
            looked = vec!["/etc/shadow".into()];
            for s in shadow {
                let hit = match query {
                    EmptyPassword => s.hash.is_empty(),
                    WeakHash => {
                        usable_hash(&s.hash)
                            && !["$6$", "$5$", "$y$", "$gy$", "$2b$", "$2y$", "$7$", "$sm3$"]
                                .iter()
                                .any(|p| s.hash.starts_with(p))
                    }
                    MaxAgeOver => {
                        usable_hash(&s.hash)
                            && s.max_days.is_none_or(|m| m > days.unwrap_or(90) || m < 0)
                    }
                    PasswordOlderThan => {
                        usable_hash(&s.hash)
                            && s.last_change
                                .is_some_and(|c| facts.today() - c > days.unwrap_or(90))
                    }
                    Named => {
                        names.iter().any(|n| n == &s.name)
                            && (usable_hash(&s.hash) || s.hash.is_empty())
                    }
                    _ => false,
                };
                if hit {
                    let shown = match query {
                        MaxAgeOver => format!(
                            "{}: maximum password age {}",
                            s.name,
                            s.max_days.map_or("unset".into(), |d| d.to_string())
                        ),
                        PasswordOlderThan => format!(
                            "{}: password last changed {} days ago",
                            s.name,
                            facts.today() - s.last_change.unwrap_or(0)
                        ),
                        WeakHash => format!(
                            "{}: hash scheme {}",
                            s.name,
                            s.hash.get(..3).unwrap_or(&s.hash)
                        ),
                        EmptyPassword => format!("{}: empty password field", s.name),
                        _ => format!("{}: account can log in", s.name),
                    };
                    items.push(item(&s.name, "/etc/shadow", s.line, shown));
                }
            }
        }
        ExtraUidZero | SystemWithShell | PasswordNotShadowed | HomeOpen | RootGroupNotZero => {
            let uid_min = facts.uid_min();
            for p in facts.passwd()? {
                let hit = match query {
                    ExtraUidZero => p.uid == 0 && p.name != "root",
                    SystemWithShell => {
                        p.uid != 0
                            && p.uid < uid_min
                            && has_login_shell(&p.shell)
                            && !names.contains(&p.name)
                    }
                    PasswordNotShadowed => p.password != "x" && p.password != "*",
                    RootGroupNotZero => p.name == "root" && p.gid != 0,
                    HomeOpen => {
                        if p.uid < uid_min || p.uid == 65534 || !has_login_shell(&p.shell) {
                            false
                        } else {
                            match facts.root.metadata(&p.home) {
                                Ok(m) => m.is_dir() && m.mode() & 0o027 != 0,
                                Err(_) => false,
                            }
                        }
                    }
                    _ => false,
                };
                if hit {
                    let text = match query {
                        HomeOpen => {
                            let mode = facts
                                .root
                                .metadata(&p.home)
                                .map(|m| m.permissions().mode() & 0o7777)
                                .unwrap_or(0);
                            format!("{} home {} mode {mode:04o}", p.name, p.home)
                        }
                        PasswordNotShadowed if !p.password.is_empty() => {
                            format!("{}: password field is not 'x'", p.name)
                        }
                        _ => p.raw.clone(),
                    };
                    items.push(item(&p.name, "/etc/passwd", p.line, text));
                }
            }
        }
        Unused => {
            looked = vec![LASTLOG.into()];
            if !facts.root.exists(LASTLOG) {
                return Err(CannotCheck(format!(
                    "{LASTLOG} does not exist (a system that records logins elsewhere, such as lastlog2 or wtmpdb, is not read yet)"
                )));
            }
            let uid_min = facts.uid_min();
            // Accounts that cannot log in are not "unused accounts": they
            // are locked or system accounts. Without shadow, say so.
            let shadow = facts.shadow()?;
            let can_log_in = |name: &str| {
                shadow
                    .iter()
                    .any(|s| s.name == name && usable_hash(&s.hash))
            };
            let limit = days.unwrap_or(90);
            let now = facts
                .now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for p in facts.passwd()? {
                if p.uid < uid_min
                    || p.uid == 65534
                    || !has_login_shell(&p.shell)
                    || !can_log_in(&p.name)
                {
                    continue;
                }
                let record = facts
                    .root
                    .read_at(LASTLOG, u64::from(p.uid) * LASTLOG_RECORD, 4)?;
                let last = (record.len() == 4)
                    .then(|| {
                        i64::from(i32::from_le_bytes([
                            record[0], record[1], record[2], record[3],
                        ]))
                    })
                    .filter(|t| *t > 0);
                let text = match last {
                    None => format!("{}: never logged in", p.name),
                    Some(t) if now - t > limit * 86_400 => {
                        format!("{}: last login {} days ago", p.name, (now - t) / 86_400)
                    }
                    Some(_) => continue,
                };
                items.push(Item {
                    name: p.name.clone(),
                    evidence: Evidence::new(LASTLOG, None, text),
                });
            }
        }
        DuplicateUid | DuplicateName => {
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for p in facts.passwd()? {
                let key = if query == DuplicateUid {
                    p.uid.to_string()
                } else {
                    p.name.clone()
                };
                if let Some(first) = seen.get(&key) {
                    items.push(item(
                        &p.name,
                        "/etc/passwd",
                        p.line,
                        format!("{} (same as line {first})", p.raw),
                    ));
                } else {
                    seen.insert(key, p.line);
                }
            }
        }
        DuplicateGid | DuplicateGroupName | AdminGroupMembers | MissingGroup => {
            looked = vec!["/etc/group".into()];
            let groups = facts.groups()?;
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            if query == MissingGroup {
                let gids: BTreeSet<u32> = groups.iter().map(|g| g.gid).collect();
                for p in facts.passwd()? {
                    if !gids.contains(&p.gid) {
                        items.push(item(
                            &p.name,
                            "/etc/passwd",
                            p.line,
                            format!("{}: GID {} not in /etc/group", p.name, p.gid),
                        ));
                    }
                }
            }
            for g in groups {
                match query {
                    DuplicateGid | DuplicateGroupName => {
                        let key = if query == DuplicateGid {
                            g.gid.to_string()
                        } else {
                            g.name.clone()
                        };
                        if let Some(first) = seen.get(&key) {
                            items.push(item(
                                &g.name,
                                "/etc/group",
                                g.line,
                                format!("group {} GID {} (same as line {first})", g.name, g.gid),
                            ));
                        } else {
                            seen.insert(key, g.line);
                        }
                    }
                    AdminGroupMembers if admin_groups.contains(&g.name) => {
                        for m in g.members.iter().filter(|m| !names.contains(m)) {
                            items.push(item(
                                m,
                                "/etc/group",
                                g.line,
                                format!("{m} is in group {}", g.name),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn packages(facts: &Facts, names: &[String]) -> ProbeResult {
    let db = facts.packages()?;
    let items = db
        .packages
        .iter()
        .filter(|p| names.iter().any(|n| wildcard_match(n, &p.name)))
        .map(|p| Item {
            name: p.name.clone(),
            evidence: Evidence::new(
                db.source,
                (p.line > 0).then_some(p.line),
                format!("{} {} installed", p.name, p.version),
            ),
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: vec![db.source.to_string()],
    })
}

const APT_LISTS: &str = "/var/lib/apt/lists";
const LASTLOG: &str = "/var/log/lastlog";
/// `struct lastlog` on Linux: a 32-bit time, a 32-byte line, a 256-byte host.
const LASTLOG_RECORD: u64 = 4 + 32 + 256;

fn pending_updates(facts: &Facts) -> ProbeResult {
    let db = facts.packages()?;
    if db.source != "/var/lib/dpkg/status" {
        return rpm_pending_updates(facts, db);
    }
    let root = facts.root;
    // apt keeps its lists uncompressed by default; Docker images and
    // `Acquire::GzipIndexes` keep them lz4- or gzip-compressed.
    let mut lists = Vec::new();
    for suffix in ["", ".lz4", ".gz"] {
        lists.extend(root.expand(&format!("{APT_LISTS}/*_Packages{suffix}"))?);
    }
    if lists.is_empty() {
        let other = root.expand(&format!("{APT_LISTS}/*_Packages.*"))?;
        return Err(CannotCheck(match other.first() {
            None => format!("no package lists in {APT_LISTS}: run `apt-get update` first"),
            Some(f) => format!(
                "the package lists in {APT_LISTS} are compressed in a format this check does not read ({f}); uncompressed, lz4 and gzip are read"
            ),
        }));
    }
    let installed: BTreeMap<&str, &parse::Package> =
        db.packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut any_package = false;
    for list in &lists {
        let text = read_list(root, list)?;
        any_package |= text.starts_with("Package: ") || text.contains("\nPackage: ");
        for (name, version) in parse::apt_list_versions(&text, |n| installed.contains_key(n)) {
            let better = newest
                .get(&name)
                .is_none_or(|(v, _)| parse::debian_version_cmp(&version, v).is_gt());
            if better {
                newest.insert(name, (version, list.clone()));
            }
        }
    }
    // Lists that name no package at all are truncated or damaged: they
    // cannot say that nothing is pending.
    if !any_package {
        return Err(CannotCheck(format!(
            "the package lists in {APT_LISTS} name no package (truncated or damaged?): run `apt-get update`"
        )));
    }
    let items = newest
        .into_iter()
        .filter_map(|(name, (candidate, list))| {
            let p = installed.get(name.as_str())?;
            parse::debian_version_cmp(&candidate, &p.version)
                .is_gt()
                .then(|| Item {
                    evidence: Evidence::new(
                        list.rsplit('/').next().unwrap_or(&list),
                        None,
                        format!("{name} {} -> {candidate}", p.version),
                    ),
                    name,
                })
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: vec![db.source.to_string(), format!("{APT_LISTS}/*_Packages")],
    })
}

const DNF_REPODATA: &str = "/var/cache/dnf/*/repodata";

/// Pending updates on an rpm system: the rpm database against the primary
/// metadata of the repositories dnf has cached (`dnf makecache`).
fn rpm_pending_updates(facts: &Facts, db: &PackageDb) -> ProbeResult {
    let root = facts.root;
    let mut files = Vec::new();
    for pat in ["*-primary.xml", "*-primary.xml.gz"] {
        files.extend(root.expand(&format!("{DNF_REPODATA}/{pat}"))?);
    }
    if files.is_empty() {
        let other = root.expand(&format!("{DNF_REPODATA}/*primary*"))?;
        return Err(CannotCheck(match other.first() {
            None => format!(
                "no repository metadata in {DNF_REPODATA}: run `dnf makecache` first (yum's cache is not read)"
            ),
            Some(f) => format!(
                "the repository metadata {f} is in a format this check does not read; plain and gzip primary.xml are read"
            ),
        }));
    }
    // Several versions of one package (kernels) may be installed: the
    // newest counts.
    let mut installed: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &db.packages {
        let e = installed
            .entry(p.name.as_str())
            .or_insert(p.version.as_str());
        if parse::rpm_version_cmp(&p.version, e).is_gt() {
            *e = p.version.as_str();
        }
    }
    let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut any_package = false;
    for file in &files {
        let xml = read_list(root, file)?;
        any_package |= xml.contains("<package ");
        for (name, evr) in parse::primary_xml_versions(&xml, |n| installed.contains_key(n)) {
            let better = newest
                .get(&name)
                .is_none_or(|(v, _)| parse::rpm_version_cmp(&evr, v).is_gt());
            if better {
                newest.insert(name, (evr, file.clone()));
            }
        }
    }
    if !any_package {
        return Err(CannotCheck(format!(
            "the repository metadata in {DNF_REPODATA} names no package (truncated or damaged?): run `dnf makecache`"
        )));
    }
    let items = newest
        .into_iter()
        .filter_map(|(name, (candidate, file))| {
            let have = installed.get(name.as_str())?;
            parse::rpm_version_cmp(&candidate, have)
                .is_gt()
                .then(|| Item {
                    evidence: Evidence::new(
                        file.rsplit('/').next().unwrap_or(&file),
                        None,
                        format!("{name} {have} -> {candidate}"),
                    ),
                    name,
                })
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: vec![
            db.source.to_string(),
            format!("{DNF_REPODATA}/*-primary.xml*"),
        ],
    })
}

/// An apt package list, decompressed by its suffix.
fn read_list(root: &Root, path: &str) -> Result<String, CannotCheck> {
    use std::io::Read;
    let bytes = root.read_bytes(path)?;
    let damaged =
        |e: std::io::Error| CannotCheck(format!("the package list {path} is damaged: {e}"));
    let mut text = String::new();
    if path.ends_with(".lz4") {
        lz4_flex::frame::FrameDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(damaged)?;
    } else if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(damaged)?;
    } else {
        text = String::from_utf8(bytes)
            .map_err(|_| CannotCheck(format!("the package list {path} is not UTF-8 text")))?;
    }
    Ok(text)
}

fn package_lists_age(facts: &Facts) -> ProbeResult {
    let root = facts.root;
    let candidates = [
        "/var/lib/apt/periodic/update-success-stamp",
        "/var/lib/apt/lists/partial",
        "/var/cache/dnf/last_makecache",
        "/var/cache/dnf/expired_repos.json",
        "/var/cache/yum/x86_64",
    ];
    let mut newest: Option<(SystemTime, String)> = None;
    let mut consider = |path: String| {
        if let Ok(m) = root.metadata(&path)
            && let Ok(t) = m.modified()
            && newest.as_ref().is_none_or(|(n, _)| t > *n)
        {
            newest = Some((t, path));
        }
    };
    for c in candidates {
        consider(c.to_string());
    }
    for l in root.expand(&format!("{APT_LISTS}/*_Release"))? {
        consider(l);
    }
    for l in root.expand(&format!("{DNF_REPODATA}/repomd.xml"))? {
        consider(l);
    }
    for l in root.expand(&format!("{APT_LISTS}/*_InRelease"))? {
        consider(l);
    }
    match newest {
        Some((t, path)) => {
            let days = facts.days_since(t);
            Ok(value(
                days.to_string(),
                Evidence::new(path, None, format!("last refreshed {days} days ago")),
            ))
        }
        None => Ok(unset(
            vec![APT_LISTS.to_string(), "/var/cache/dnf".into()],
            "package lists",
        )),
    }
}

fn listening(root: &Root) -> ProbeResult {
    if !root.is_live() {
        return Err(CannotCheck(format!("listening sockets {NEEDS_LIVE}")));
    }
    let mut items = Vec::new();
    let mut looked = Vec::new();
    let mut any = false;
    for proto in ["tcp", "tcp6", "udp", "udp6"] {
        let path = format!("/proc/net/{proto}");
        let text = match root.read_text(&path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        any = true;
        looked.push(path.clone());
        let listeners = parse::proc_net_listeners(&text, proto)
            .map_err(|e| CannotCheck(format!("{path}: {e}")))?;
        for l in listeners {
            let family = if proto.starts_with("tcp") {
                "tcp"
            } else {
                "udp"
            };
            let addr = if l.address.contains(':') {
                format!("[{}]", l.address)
            } else {
                l.address.clone()
            };
            let name = format!("{family}/{addr}:{}", l.port);
            if items.iter().any(|i: &Item| i.name == name) {
                continue;
            }
            items.push(Item {
                evidence: Evidence::new(
                    &path,
                    Some(l.line),
                    format!("listening on {addr}:{} ({family})", l.port),
                ),
                name,
            });
        }
    }
    if !any {
        return Err(CannotCheck(
            "/proc/net/tcp is missing (is /proc mounted?)".into(),
        ));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn kernel_module(root: &Root, module: &str) -> ProbeResult {
    let norm = |s: &str| s.replace('-', "_");
    let want = norm(module);
    if root.is_live()
        && let Ok(text) = root.read_text("/proc/modules")
    {
        for (i, line) in text.lines().enumerate() {
            if line.split_whitespace().next().map(norm).as_deref() == Some(want.as_str()) {
                return Ok(value(
                    "loaded",
                    Evidence::new("/proc/modules", Some(i + 1), line.trim()),
                ));
            }
        }
    }
    // A driver built into the kernel cannot be blacklisted: modprobe.d does
    // not apply to it. The running kernel's list on a live system, else any
    // installed kernel's.
    let builtin_lists = if root.is_live() {
        match root.read_text("/proc/sys/kernel/osrelease") {
            Ok(rel) => vec![format!("/lib/modules/{}/modules.builtin", rel.trim())],
            Err(_) => root.expand("/lib/modules/*/modules.builtin")?,
        }
    } else {
        root.expand("/lib/modules/*/modules.builtin")?
    };
    for list in builtin_lists {
        let Ok(text) = root.read_text(&list) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let file = line.rsplit('/').next().unwrap_or(line);
            let name = file.split(".ko").next().unwrap_or(file);
            if norm(name) == want {
                return Ok(value(
                    "built-in",
                    Evidence::new(&list, Some(i + 1), line.trim()),
                ));
            }
        }
    }
    let files = read_all(
        root,
        &[
            "/etc/modprobe.d/*.conf".into(),
            "/usr/lib/modprobe.d/*.conf".into(),
            "/lib/modprobe.d/*.conf".into(),
            "/run/modprobe.d/*.conf".into(),
        ],
    )?;
    let mut best: Option<Observation> = None;
    for (path, text) in files {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let w: Vec<&str> = line.split_whitespace().collect();
            let ev = || Evidence::new(&path, Some(i + 1), line);
            match w.as_slice() {
                ["install", m, cmd, ..] if norm(m) == want => {
                    let disabled =
                        cmd.ends_with("/true") || cmd.ends_with("/false") || *cmd == "/dev/null";
                    if disabled {
                        return Ok(value("disabled", ev()));
                    }
                }
                ["blacklist", m] if norm(m) == want => {
                    best = Some(value("blacklisted", ev()));
                }
                _ => {}
            }
        }
    }
    Ok(best.unwrap_or_else(|| {
        value(
            "allowed",
            Evidence::new(
                "/etc/modprobe.d",
                None,
                format!("no `install {module} /bin/false` or `blacklist {module}`"),
            ),
        )
    }))
}

const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

fn unit_state(facts: &Facts, units: &[String]) -> ProbeResult {
    let root = facts.root;
    let mut states: Vec<(u8, String, Evidence)> = Vec::new();
    for unit in units {
        let name = if unit.contains('.') {
            unit.clone()
        } else {
            format!("{unit}.service")
        };
        // Masked: a link to /dev/null in /etc or /run.
        let masked = ["/etc/systemd/system", "/run/systemd/system"]
            .iter()
            .map(|d| format!("{d}/{name}"))
            .find(|p| {
                root.read_link(p)
                    .is_ok_and(|t| t.as_os_str() == "/dev/null")
            });
        if let Some(p) = masked {
            states.push((0, "masked".into(), Evidence::new(p, None, "-> /dev/null")));
            continue;
        }
        if let Some(link) = facts.unit_index().enabled.get(&name) {
            states.push((
                3,
                "enabled".into(),
                Evidence::new(link, None, format!("{name} enabled")),
            ));
            continue;
        }
        let bare = name.trim_end_matches(".service");
        let sysv = ["/etc/rc3.d", "/etc/rc5.d", "/etc/rc2.d"]
            .iter()
            .find_map(|d| {
                root.list_dir(d).ok().and_then(|names| {
                    names
                        .into_iter()
                        .find(|n| {
                            n.starts_with('S')
                                && n.trim_start_matches(|c: char| c == 'S' || c.is_ascii_digit())
                                    == bare
                        })
                        .map(|n| format!("{d}/{n}"))
                })
            });
        if let Some(p) = sysv {
            states.push((
                3,
                "enabled".into(),
                Evidence::new(p, None, "SysV start link"),
            ));
            continue;
        }
        let installed = UNIT_DIRS
            .iter()
            .map(|d| format!("{d}/{name}"))
            .find(|p| root.exists(p))
            .or_else(|| {
                let init = format!("/etc/init.d/{bare}");
                root.exists(&init).then_some(init)
            });
        match installed {
            Some(p) => states.push((
                2,
                "disabled".into(),
                Evidence::new(p, None, format!("{name} installed, not enabled")),
            )),
            None => states.push((
                1,
                "absent".into(),
                Evidence::new(
                    "/usr/lib/systemd/system",
                    None,
                    format!("{name} not installed"),
                ),
            )),
        }
    }
    // The best state wins; on a tie, the first unit named (the usual name).
    let best = states
        .into_iter()
        .rev()
        .max_by_key(|(rank, ..)| *rank)
        .ok_or_else(|| CannotCheck("no unit named".into()))?;
    Ok(value(best.1, best.2))
}

fn name_of(entries: Result<Vec<(String, u32)>, CannotCheck>, id: u32) -> String {
    entries
        .ok()
        .and_then(|e| e.into_iter().find(|(_, i)| *i == id).map(|(n, _)| n))
        .unwrap_or_else(|| id.to_string())
}

fn file_mode(
    facts: &Facts,
    paths: &[String],
    max_mode: &str,
    owners: &[String],
    groups: &[String],
) -> ProbeResult {
    let root = facts.root;
    let max = u32::from_str_radix(max_mode, 8).unwrap_or(0);
    let mut items = Vec::new();
    let mut looked = Vec::new();
    for pat in paths {
        for path in root.expand(pat)? {
            let meta = match root.metadata(&path) {
                Ok(m) => m,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            looked.push(path.clone());
            let mode = meta.mode() & 0o7777;
            let user = name_of(
                facts
                    .passwd()
                    .map(|p| p.iter().map(|e| (e.name.clone(), e.uid)).collect()),
                meta.uid(),
            );
            let group = name_of(
                facts
                    .groups()
                    .map(|g| g.iter().map(|e| (e.name.clone(), e.gid)).collect()),
                meta.gid(),
            );
            let too_open = mode & !max != 0;
            let bad_owner = !owners.is_empty() && !owners.contains(&user);
            let bad_group = !groups.is_empty() && !groups.contains(&group);
            if too_open || bad_owner || bad_group {
                items.push(Item {
                    name: path.clone(),
                    evidence: Evidence::new(
                        &path,
                        None,
                        format!(
                            "mode {mode:04o} owner {user}:{group} (allowed at most {max:04o}{}{})",
                            if owners.is_empty() {
                                String::new()
                            } else {
                                format!(", owner {}", owners.join("|"))
                            },
                            if groups.is_empty() {
                                String::new()
                            } else {
                                format!(", group {}", groups.join("|"))
                            }
                        ),
                    ),
                });
            }
        }
    }
    if looked.is_empty() {
        return Err(CannotCheck(format!("none of {} exists", paths.join(", "))));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

/// Walk directories (not crossing into /proc, /sys, /dev) and list what
/// `pick` selects, up to `max_depth` levels down.
fn walk_items(
    root: &Root,
    dirs: &[String],
    max_depth: usize,
    pick: impl Fn(&std::fs::Metadata) -> bool,
) -> ProbeResult {
    let mut items = Vec::new();
    let mut looked = Vec::new();
    for dir in dirs {
        let start = root.host_path(dir);
        let Ok(meta) = std::fs::symlink_metadata(&start) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        looked.push(dir.clone());
        let mut stack = vec![(start, dir.trim_end_matches('/').to_string(), 0usize)];
        while let Some((host, inside, depth)) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&host) else {
                continue;
            };
            for entry in rd.flatten() {
                let Ok(m) = entry.metadata() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                let inside_path = format!("{inside}/{name}");
                if m.file_type().is_symlink() {
                    continue;
                }
                if pick(&m) {
                    items.push(Item {
                        name: inside_path.clone(),
                        evidence: Evidence::new(
                            &inside_path,
                            None,
                            format!("mode {:04o}", m.mode() & 0o7777),
                        ),
                    });
                }
                if m.is_dir()
                    && depth < max_depth
                    && !matches!(inside_path.as_str(), "/proc" | "/sys" | "/dev" | "/run")
                {
                    stack.push((entry.path(), inside_path, depth + 1));
                }
            }
        }
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    if looked.is_empty() {
        return Err(CannotCheck(format!("none of {} exists", dirs.join(", "))));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn words_in_order(line: &str, words: &[String], ignore_case: bool) -> bool {
    let norm = |s: &str| {
        if ignore_case {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    };
    let tokens: Vec<String> = line.split_whitespace().map(norm).collect();
    let mut at = 0;
    for w in words {
        let w = norm(w);
        // `server|pool`: either word.
        let alternatives: Vec<&str> = w.split('|').collect();
        match tokens[at..]
            .iter()
            .position(|t| alternatives.iter().any(|a| wildcard_match(a, t)))
        {
            Some(p) => at += p + 1,
            None => return false,
        }
    }
    true
}

fn lines(root: &Root, files: &[String], words: &[String], ignore_case: bool) -> ProbeResult {
    let mut items = Vec::new();
    let mut looked = Vec::new();
    for (path, text) in read_all(root, files)? {
        looked.push(path.clone());
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with(['#', ';']) {
                continue;
            }
            if words_in_order(line, words, ignore_case) {
                items.push(Item {
                    name: format!("{path}:{}", i + 1),
                    evidence: Evidence::new(&path, Some(i + 1), line),
                });
            }
        }
    }
    // No file at all is not "no such line": the software the rule is about
    // is missing, or this is another kind of system. Say so.
    if looked.is_empty() {
        return Err(CannotCheck(format!("none of {} exists", files.join(", "))));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn audit_watch(root: &Root, paths: &[String], perms: &str) -> ProbeResult {
    let files = read_all(
        root,
        &[
            "/etc/audit/rules.d/*.rules".into(),
            "/etc/audit/audit.rules".into(),
        ],
    )?;
    let mut watched: Vec<(String, String)> = Vec::new();
    for (file, text) in &files {
        for (_, path, p, _) in parse::audit_watches(text) {
            watched.push((path, p));
            let _ = file;
        }
    }
    let items = paths
        .iter()
        .filter(|p| {
            !watched
                .iter()
                .any(|(w, wp)| w == *p && perms.chars().all(|c| wp.contains(c)))
        })
        .map(|p| Item {
            name: p.clone(),
            evidence: Evidence::new(
                "/etc/audit/rules.d",
                None,
                format!("no `-w {p} -p {perms}` audit rule"),
            ),
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: if files.is_empty() {
            vec!["/etc/audit/rules.d/*.rules (none)".into()]
        } else {
            files.into_iter().map(|(f, _)| f).collect()
        },
    })
}

fn log_retention(root: &Root, logs: &[String]) -> ProbeResult {
    let main = match root.read_text("/etc/logrotate.conf") {
        Ok(t) => t,
        Err(e) if e.is_not_found() => {
            return Ok(unset(vec!["/etc/logrotate.conf".into()], "logrotate"));
        }
        Err(e) => return Err(e.into()),
    };
    let defaults = parse::Rotation {
        period_days: 7,
        rotate: Some(0),
    };
    let mut global = defaults;
    for log in logs {
        let (g, stanza) = parse::logrotate(&main, defaults, log);
        global = g;
        if let Some(s) = stanza {
            let days = s.days().unwrap_or(0);
            return Ok(value(
                days.to_string(),
                Evidence::new(
                    "/etc/logrotate.conf",
                    None,
                    format!(
                        "{log}: rotate {} × {} days",
                        s.rotate.unwrap_or(0),
                        s.period_days
                    ),
                ),
            ));
        }
    }
    for (path, text) in read_all(root, &["/etc/logrotate.d/*".into()])? {
        for log in logs {
            if let (_, Some(s)) = parse::logrotate(&text, global, log) {
                let days = s.days().unwrap_or(0);
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("rotate"))
                    .map(|i| i + 1);
                return Ok(value(
                    days.to_string(),
                    Evidence::new(
                        path,
                        line,
                        format!(
                            "{log}: rotate {} × {} days = {days} days",
                            s.rotate.unwrap_or(0),
                            s.period_days
                        ),
                    ),
                ));
            }
        }
    }
    Ok(unset(
        vec!["/etc/logrotate.conf".into(), "/etc/logrotate.d/*".into()],
        &format!("rotation of {}", logs.join(" or ")),
    ))
}

/// Enabled firewalls, each with the evidence that it is.
fn firewall(facts: &Facts) -> Result<(Vec<Item>, Vec<String>), CannotCheck> {
    let root = facts.root;
    let mut items = Vec::new();
    let enabled = |units: &[&str]| -> Result<Option<Evidence>, CannotCheck> {
        let units: Vec<String> = units.iter().map(|s| s.to_string()).collect();
        match unit_state(facts, &units)? {
            Observation::Value {
                value: Some(v),
                evidence,
            } if v == "enabled" => Ok(evidence.into_iter().next()),
            _ => Ok(None),
        }
    };
    if let Ok(t) = root.read_text("/etc/ufw/ufw.conf")
        && let Some(s) = parse::key_values(&t, Separator::Equals)
            .into_iter()
            .rfind(|s| s.key == "ENABLED")
        && s.value.eq_ignore_ascii_case("yes")
    {
        items.push(Item {
            name: "ufw".into(),
            evidence: Evidence::new("/etc/ufw/ufw.conf", Some(s.line), s.raw),
        });
    }
    if let Some(ev) = enabled(&["firewalld"])? {
        items.push(Item {
            name: "firewalld".into(),
            evidence: ev,
        });
    }
    if let Some(ev) = enabled(&["nftables"])? {
        items.push(Item {
            name: "nftables".into(),
            evidence: ev,
        });
    }
    if let Some(ev) = enabled(&["netfilter-persistent", "iptables"])? {
        items.push(Item {
            name: "iptables".into(),
            evidence: ev,
        });
    }
    Ok((
        items,
        vec![
            "/etc/ufw/ufw.conf".into(),
            "firewalld.service".into(),
            "nftables.service".into(),
            "iptables.service".into(),
        ],
    ))
}

fn firewall_policy(facts: &Facts) -> ProbeResult {
    let root = facts.root;
    let (enabled, looked) = firewall(facts)?;
    let Some(first) = enabled.first() else {
        return Ok(unset(looked, "an enabled firewall"));
    };
    match first.name.as_str() {
        "ufw" => {
            let f = "/etc/default/ufw";
            let t = root.read_text(f)?;
            match parse::key_values(&t, Separator::Equals)
                .into_iter()
                .rfind(|s| s.key == "DEFAULT_INPUT_POLICY")
            {
                Some(s) => Ok(value(
                    s.value.to_lowercase(),
                    Evidence::new(f, Some(s.line), s.raw),
                )),
                None => Ok(unset(vec![f.into()], "DEFAULT_INPUT_POLICY")),
            }
        }
        "firewalld" => {
            let conf = "/etc/firewalld/firewalld.conf";
            let zone = root
                .read_text(conf)
                .ok()
                .and_then(|t| {
                    parse::key_values(&t, Separator::Equals)
                        .into_iter()
                        .rfind(|s| s.key == "DefaultZone")
                        .map(|s| s.value)
                })
                .unwrap_or_else(|| "public".into());
            for dir in ["/etc/firewalld/zones", "/usr/lib/firewalld/zones"] {
                let path = format!("{dir}/{zone}.xml");
                if let Ok(xml) = root.read_text(&path) {
                    // `<zone target="ACCEPT">`; no target means the default,
                    // which rejects what no service allows.
                    let target = xml
                        .find("target=\"")
                        .map(|i| &xml[i + 8..])
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("default");
                    let v = match target {
                        "ACCEPT" => "accept",
                        "DROP" => "drop",
                        _ => "reject",
                    };
                    return Ok(value(
                        v,
                        Evidence::new(path, None, format!("zone {zone} target {target}")),
                    ));
                }
            }
            Ok(value(
                "reject",
                Evidence::new(
                    conf,
                    None,
                    format!("zone {zone}: firewalld's default target rejects"),
                ),
            ))
        }
        "nftables" => {
            let f = "/etc/nftables.conf";
            let t = root.read_text(f)?;
            for (i, line) in t.lines().enumerate() {
                if line.contains("hook input") {
                    let policy = line
                        .split("policy")
                        .nth(1)
                        .map(|p| p.trim().trim_end_matches([';', '}']).trim().to_string())
                        .unwrap_or_else(|| "accept".into());
                    return Ok(value(policy, Evidence::new(f, Some(i + 1), line.trim())));
                }
            }
            Ok(unset(vec![f.into()], "an input chain"))
        }
        _ => {
            for f in ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"] {
                if let Ok(t) = root.read_text(f) {
                    for (i, line) in t.lines().enumerate() {
                        if let Some(rest) = line.strip_prefix(":INPUT ") {
                            let p = rest.split_whitespace().next().unwrap_or("").to_lowercase();
                            return Ok(value(p, Evidence::new(f, Some(i + 1), line.trim())));
                        }
                    }
                }
            }
            Ok(unset(
                vec!["/etc/iptables/rules.v4".into()],
                ":INPUT policy",
            ))
        }
    }
}

fn wireless(root: &Root) -> ProbeResult {
    let mut items = Vec::new();
    let mut looked = Vec::new();
    if root.is_live() {
        looked.push("/sys/class/net".to_string());
        let ifaces = root.list_dir("/sys/class/net").map_err(|e| {
            CannotCheck(format!(
                "cannot list the network interfaces: {e} (is /sys mounted?)"
            ))
        })?;
        for iface in ifaces {
            for marker in ["wireless", "phy80211"] {
                let p = format!("/sys/class/net/{iface}/{marker}");
                if root.exists(&p) {
                    items.push(Item {
                        name: iface.clone(),
                        evidence: Evidence::new(
                            p,
                            None,
                            format!("{iface} is a wireless interface"),
                        ),
                    });
                    break;
                }
            }
        }
    }
    let nm = "/etc/NetworkManager/system-connections/*";
    looked.push(nm.to_string());
    for (path, text) in read_all(root, &[nm.to_string()])? {
        for s in parse::key_values(&text, Separator::Equals) {
            if s.key == "type" && (s.value == "wifi" || s.value == "802-11-wireless") {
                items.push(Item {
                    name: path.rsplit('/').next().unwrap_or(&path).to_string(),
                    evidence: Evidence::new(&path, Some(s.line), s.raw.clone()),
                });
            }
        }
    }
    if !root.is_live() && items.is_empty() {
        return Err(CannotCheck(format!(
            "wireless hardware {NEEDS_LIVE}; no Wi-Fi connection is configured"
        )));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn default_route(root: &Root) -> ProbeResult {
    if !root.is_live() {
        return Err(CannotCheck(format!("the routing table {NEEDS_LIVE}")));
    }
    let text = root.read_text("/proc/net/route")?;
    let mut items: Vec<Item> = parse::default_routes(&text)
        .into_iter()
        .map(|(line, raw)| Item {
            name: raw.split_whitespace().next().unwrap_or("?").to_string(),
            evidence: Evidence::new("/proc/net/route", Some(line), raw),
        })
        .collect();
    if let Ok(t) = root.read_text("/proc/net/ipv6_route") {
        for (i, line) in t.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 10
                && f[0] == "00000000000000000000000000000000"
                && f[1] == "00"
                && f[9] != "lo"
            {
                items.push(Item {
                    name: f[9].to_string(),
                    evidence: Evidence::new("/proc/net/ipv6_route", Some(i + 1), line.trim()),
                });
            }
        }
    }
    Ok(Observation::Items {
        items,
        looked_at: vec!["/proc/net/route".into(), "/proc/net/ipv6_route".into()],
    })
}

fn is_private(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn public_nameservers(root: &Root) -> ProbeResult {
    let mut files = vec!["/etc/resolv.conf".to_string()];
    // systemd-resolved's stub: the real upstreams are in its own file.
    files.push("/run/systemd/resolve/resolv.conf".into());
    let mut items = Vec::new();
    let mut looked = Vec::new();
    for (path, text) in read_all(root, &files)? {
        looked.push(path.clone());
        for (i, line) in text.lines().enumerate() {
            let mut w = line.split_whitespace();
            if w.next() != Some("nameserver") {
                continue;
            }
            let Some(addr) = w.next() else { continue };
            let ip: Option<std::net::IpAddr> = addr.split('%').next().and_then(|a| a.parse().ok());
            match ip {
                Some(ip) if is_private(&ip) => {}
                _ => items.push(Item {
                    name: addr.to_string(),
                    evidence: Evidence::new(&path, Some(i + 1), line.trim()),
                }),
            }
        }
    }
    if looked.is_empty() {
        return Err(CannotCheck("/etc/resolv.conf does not exist".into()));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

fn installed_products<'p>(
    facts: &Facts,
    products: &'p [AvProduct],
) -> Result<Vec<(&'p AvProduct, Evidence)>, CannotCheck> {
    let root = facts.root;
    let db = facts.packages();
    let mut out = Vec::new();
    for p in products {
        let by_package = match &db {
            Ok(db) => db
                .packages
                .iter()
                .find(|pkg| p.packages.iter().any(|n| wildcard_match(n, &pkg.name)))
                .map(|pkg| {
                    Evidence::new(
                        db.source,
                        Some(pkg.line),
                        format!("{} {} installed", pkg.name, pkg.version),
                    )
                }),
            Err(_) => None,
        };
        let found = match by_package {
            Some(ev) => Some(ev),
            None => {
                let mut hit = None;
                for pat in &p.paths {
                    if let Some(path) = root.expand(pat)?.into_iter().next() {
                        hit = Some(Evidence::new(path, None, format!("{} present", p.name)));
                        break;
                    }
                }
                hit
            }
        };
        if let Some(ev) = found {
            out.push((p, ev));
        }
    }
    // Without a package database only paths could be checked; if nothing
    // was found by path either, the answer is unknown, not "no antivirus".
    if out.is_empty()
        && let Err(e) = db
    {
        return Err(CannotCheck(format!(
            "no antivirus found by path, and the package database cannot be read: {e}"
        )));
    }
    Ok(out)
}

fn antivirus(facts: &Facts, products: &[AvProduct]) -> ProbeResult {
    let items = installed_products(facts, products)?
        .into_iter()
        .map(|(p, ev)| Item {
            name: p.name.clone(),
            evidence: ev,
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: products.iter().map(|p| p.name.clone()).collect(),
    })
}

fn signature_age(facts: &Facts, products: &[AvProduct]) -> ProbeResult {
    let root = facts.root;
    let installed = installed_products(facts, products)?;
    if installed.is_empty() {
        return Ok(unset(
            products.iter().map(|p| p.name.clone()),
            "an installed antivirus",
        ));
    }
    let mut newest: Option<(i64, Evidence)> = None;
    let mut any_sig = false;
    for (p, _) in &installed {
        for pat in &p.signatures {
            for path in root.expand(pat)? {
                any_sig = true;
                let (age, how) = match clamav_build_time(root, &path) {
                    Some((t, raw)) => (facts.days_since(t), format!("built {raw}")),
                    None => {
                        let m = root.metadata(&path)?;
                        let t = m
                            .modified()
                            .map_err(|e| CannotCheck(format!("{path}: {e}")))?;
                        (facts.days_since(t), "file modified".to_string())
                    }
                };
                if newest.as_ref().is_none_or(|(a, _)| age < *a) {
                    newest = Some((
                        age,
                        Evidence::new(&path, None, format!("{}: {how}, {age} days ago", p.name)),
                    ));
                }
            }
        }
    }
    match newest {
        Some((age, ev)) => Ok(value(age.to_string(), ev)),
        None => {
            let names: Vec<String> = installed.iter().map(|(p, _)| p.name.clone()).collect();
            debug_assert!(!any_sig);
            Ok(unset(
                installed.iter().flat_map(|(p, _)| p.signatures.clone()),
                &format!("signature database of {}", names.join(", ")),
            ))
        }
    }
}

/// The build time in a ClamAV database header
/// (`ClamAV-VDB:14 Nov 2023 08-46 -0500:27093:...`).
fn clamav_build_time(root: &Root, path: &str) -> Option<(SystemTime, String)> {
    let head = root.read_head(path, 512).ok()?;
    let head = String::from_utf8_lossy(&head);
    let rest = head.strip_prefix("ClamAV-VDB:")?;
    let mut parts = rest.splitn(2, ':');
    let when = parts.next()?.trim();
    let t = chrono::DateTime::parse_from_str(when, "%d %b %Y %H-%M %z").ok()?;
    let secs = u64::try_from(t.timestamp()).ok()?;
    Some((
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        when.to_string(),
    ))
}

fn exists(root: &Root, paths: &[String]) -> ProbeResult {
    let mut items = Vec::new();
    for pat in paths {
        for path in root.expand(pat)? {
            items.push(Item {
                evidence: Evidence::new(&path, None, "exists"),
                name: path,
            });
        }
    }
    Ok(Observation::Items {
        items,
        looked_at: paths.to_vec(),
    })
}

/// SELinux or AppArmor: what the kernel enforces on a live system, what
/// the configuration asks for at boot on an image.
fn mac(root: &Root) -> ProbeResult {
    if root.is_live() {
        if let Ok(v) = root.read_text("/sys/fs/selinux/enforce") {
            let state = if v.trim() == "1" {
                "selinux-enforcing"
            } else {
                "selinux-permissive"
            };
            return Ok(value(
                state,
                Evidence::new("/sys/fs/selinux/enforce", None, v.trim()),
            ));
        }
        if let Ok(v) = root.read_text("/sys/module/apparmor/parameters/enabled")
            && v.trim() == "Y"
        {
            return Ok(value(
                "apparmor",
                Evidence::new("/sys/module/apparmor/parameters/enabled", None, "Y"),
            ));
        }
        if !root.exists("/sys/kernel") {
            return Err(CannotCheck("/sys is not mounted".into()));
        }
        return Ok(value(
            "none",
            Evidence::new(
                "/sys/fs/selinux",
                None,
                "neither SELinux nor AppArmor is active",
            ),
        ));
    }
    let conf = "/etc/selinux/config";
    match root.read_text(conf) {
        Ok(t) => {
            if let Some(s) = parse::key_values(&t, Separator::Equals)
                .into_iter()
                .rfind(|s| s.key == "SELINUX")
            {
                let state = match s.value.to_ascii_lowercase().as_str() {
                    "enforcing" => "selinux-enforcing",
                    "permissive" => "selinux-permissive",
                    _ => "none",
                };
                return Ok(value(state, Evidence::new(conf, Some(s.line), s.raw)));
            }
        }
        Err(e) if !e.is_not_found() => return Err(e.into()),
        Err(_) => {}
    }
    // AppArmor is on by default where it is installed with profiles.
    let profiles = root.expand("/etc/apparmor.d/*")?;
    if root.exists("/etc/apparmor.d") && profiles.iter().any(|p| !p.ends_with("/tunables")) {
        return Ok(value(
            "apparmor",
            Evidence::new(
                "/etc/apparmor.d",
                None,
                format!("{} entries", profiles.len()),
            ),
        ));
    }
    Ok(value(
        "none",
        Evidence::new(conf, None, "no SELinux config and no AppArmor profiles"),
    ))
}

fn mount_option(root: &Root, mount: &str, option: &str) -> ProbeResult {
    let (file, fields_at) = if root.is_live() {
        ("/proc/mounts", 1)
    } else {
        ("/etc/fstab", 1)
    };
    let text = root.read_text(file)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f[fields_at] != mount {
            continue;
        }
        let set = f[3].split(',').any(|o| o == option);
        return Ok(value(
            if set { "set" } else { "missing" },
            Evidence::new(file, Some(i + 1), line),
        ));
    }
    Ok(value(
        "not-mounted",
        Evidence::new(file, None, format!("{mount} is not a separate file system")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_in_order_with_wildcards() {
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(words_in_order(
            "* hard core 0",
            &w(&["*", "hard", "core", "0"]),
            false
        ));
        assert!(words_in_order(
            "*.* @@10.0.0.1:514",
            &w(&["*.*", "@*"]),
            false
        ));
        assert!(!words_in_order(
            "core 0 hard",
            &w(&["hard", "core", "0"]),
            false
        ));
    }
}
