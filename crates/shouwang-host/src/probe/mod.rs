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

mod accounts;
mod config;
mod files;
mod packages;
mod system;

use accounts::*;
use config::*;
use files::*;
use packages::*;
use system::*;

/// Where a fact was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The file (inside the root) or pseudo-file it came from.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The line or value as seen, or a note about it.
    pub text: String,
    /// A note's Chinese; empty for a line as seen, which is shown as it is
    /// in the file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub zh: String,
}

impl Evidence {
    /// A line or value as the file has it.
    pub fn new(file: impl Into<String>, line: Option<usize>, text: impl Into<String>) -> Self {
        Evidence {
            file: file.into(),
            line,
            text: text.into(),
            zh: String::new(),
        }
    }

    /// A note of the probe's own, in both languages.
    pub fn note(
        file: impl Into<String>,
        line: Option<usize>,
        en: impl Into<String>,
        zh: impl Into<String>,
    ) -> Self {
        Evidence {
            file: file.into(),
            line,
            text: en.into(),
            zh: zh.into(),
        }
    }

    /// The text in `lang`: a note in that language, a line as seen.
    pub fn text_in(&self, lang: &str) -> &str {
        if lang == "en" || self.zh.is_empty() {
            &self.text
        } else {
            &self.zh
        }
    }
    /// `file:line: text` in `lang`, as `Display` writes it in English.
    pub fn shown_in(&self, lang: &str) -> String {
        let text = self.text_in(lang);
        match self.line {
            Some(l) => format!("{}:{l}: {text}", self.file),
            None => format!("{}: {text}", self.file),
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
#[error("{en}")]
pub struct CannotCheck {
    pub en: String,
    /// The same in Chinese, for the console and reports.
    pub zh: String,
}

impl CannotCheck {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        CannotCheck {
            en: en.into(),
            zh: zh.into(),
        }
    }
}

impl From<ReadError> for CannotCheck {
    fn from(e: ReadError) -> Self {
        CannotCheck::new(e.to_string(), e.zh())
    }
}

pub type ProbeResult = Result<Observation, CannotCheck>;

/// None of the files a probe looks at is there.
pub(crate) fn none_exists(paths: &[String]) -> CannotCheck {
    CannotCheck::new(
        format!("none of {} exists", paths.join(", ")),
        format!("{} 均不存在", paths.join("、")),
    )
}

const NEEDS_LIVE: &str = "needs the live system (this is an offline root)";
const NEEDS_LIVE_ZH: &str = "需要在运行中的系统上检查（本次检查的是离线目录）";

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
                parse::passwd(&t).map_err(|e| {
                    CannotCheck::new(
                        format!("/etc/passwd: {e}"),
                        format!("/etc/passwd 格式有误：{e}"),
                    )
                })
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn shadow(&self) -> Result<&[parse::ShadowEntry], CannotCheck> {
        self.shadow
            .get_or_init(|| {
                let t = self.root.read_text("/etc/shadow")?;
                parse::shadow(&t).map_err(|e| {
                    CannotCheck::new(
                        format!("/etc/shadow: {e}"),
                        format!("/etc/shadow 格式有误：{e}"),
                    )
                })
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn groups(&self) -> Result<&[parse::GroupEntry], CannotCheck> {
        self.groups
            .get_or_init(|| {
                let t = self.root.read_text("/etc/group")?;
                parse::groups(&t).map_err(|e| {
                    CannotCheck::new(
                        format!("/etc/group: {e}"),
                        format!("/etc/group 格式有误：{e}"),
                    )
                })
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
        Probe::RegistryValue { .. } | Probe::SecurityPolicy { .. } => Err(CannotCheck::new(
            "a Windows probe; this is not a Windows system",
            "这是 Windows 检查项，本机不是 Windows 系统",
        )),
    }
}

/// A setting (`what`, a key as the file writes it) found in none of the
/// files looked at.
fn unset(looked: impl IntoIterator<Item = String>, what: &str) -> Observation {
    unset_noted(
        looked,
        &format!("{what} not set"),
        &format!("未设置 {what}"),
    )
}

/// Nothing found in the files looked at, with the note to say so.
fn unset_noted(looked: impl IntoIterator<Item = String>, en: &str, zh: &str) -> Observation {
    Observation::Value {
        value: None,
        evidence: looked
            .into_iter()
            .map(|f| Evidence::note(f, None, en, zh))
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
