//! The account probe: passwd, shadow, group and lastlog. One function per
//! file it reads; `accounts` picks by the query.

use super::*;

pub(super) fn accounts(
    facts: &Facts,
    query: AccountQuery,
    names: &[String],
    days: Option<i64>,
    admin_groups: &[String],
) -> ProbeResult {
    use AccountQuery::*;
    let (items, looked) = match query {
        EmptyPassword | WeakHash | MaxAgeOver | PasswordOlderThan | Named => {
            (shadow_items(facts, query, names, days)?, "/etc/shadow")
        }
        ExtraUidZero | SystemWithShell | PasswordNotShadowed | HomeOpen | RootGroupNotZero => {
            (passwd_items(facts, query, names)?, "/etc/passwd")
        }
        Unused => (unused_items(facts, days)?, LASTLOG),
        DuplicateUid | DuplicateName => (duplicate_passwd_items(facts, query)?, "/etc/passwd"),
        DuplicateGid | DuplicateGroupName | AdminGroupMembers | MissingGroup => (
            group_items(facts, query, names, admin_groups)?,
            "/etc/group",
        ),
    };
    Ok(Observation::Items {
        items,
        looked_at: vec![looked.to_string()],
    })
}

/// An account or group found, with the line as seen (`zh` empty) or a
/// note in both languages.
fn item(name: &str, file: &str, line: usize, (en, zh): (String, String)) -> Item {
    Item {
        name: name.to_string(),
        evidence: Evidence::note(file, Some(line), en, zh),
    }
}

/// A line shown as it is in the file.
fn seen(raw: &str) -> (String, String) {
    (raw.to_string(), String::new())
}

fn has_login_shell(shell: &str) -> bool {
    !shell.is_empty()
        && !shell.ends_with("nologin")
        && !shell.ends_with("/false")
        && !shell.ends_with("/sync")
        && !shell.ends_with("/shutdown")
        && !shell.ends_with("/halt")
}

/// A hash a password can match: not empty, not locked (`!`, `*`).
fn usable_hash(h: &str) -> bool {
    !h.is_empty() && !h.starts_with(['!', '*'])
}

fn shadow_items(
    facts: &Facts,
    query: AccountQuery,
    names: &[String],
    days: Option<i64>,
) -> Result<Vec<Item>, CannotCheck> {
    use AccountQuery::*;
    let mut items = Vec::new();
    for s in facts.shadow()? {
        let hit = match query {
            EmptyPassword => s.hash.is_empty(),
            WeakHash => {
                usable_hash(&s.hash)
                    && !["$6$", "$5$", "$y$", "$gy$", "$2b$", "$2y$", "$7$", "$sm3$"]
                        .iter()
                        .any(|p| s.hash.starts_with(p))
            }
            MaxAgeOver => {
                usable_hash(&s.hash) && s.max_days.is_none_or(|m| m > days.unwrap_or(90) || m < 0)
            }
            PasswordOlderThan => {
                usable_hash(&s.hash)
                    && s.last_change
                        .is_some_and(|c| facts.today() - c > days.unwrap_or(90))
            }
            Named => {
                names.iter().any(|n| n == &s.name) && (usable_hash(&s.hash) || s.hash.is_empty())
            }
            _ => false,
        };
        if !hit {
            continue;
        }
        let shown = match query {
            MaxAgeOver => (
                format!(
                    "{}: maximum password age {}",
                    s.name,
                    s.max_days.map_or("unset".into(), |d| d.to_string())
                ),
                format!(
                    "{}：口令最长使用期 {}",
                    s.name,
                    s.max_days.map_or("未设置".into(), |d| format!("{d} 天"))
                ),
            ),
            PasswordOlderThan => {
                let age = facts.today() - s.last_change.unwrap_or(0);
                (
                    format!("{}: password last changed {age} days ago", s.name),
                    format!("{}：口令 {age} 天前更换", s.name),
                )
            }
            WeakHash => {
                let scheme = s.hash.get(..3).unwrap_or(&s.hash);
                (
                    format!("{}: hash scheme {scheme}", s.name),
                    format!("{}：散列算法 {scheme}", s.name),
                )
            }
            EmptyPassword => (
                format!("{}: empty password field", s.name),
                format!("{}：口令为空", s.name),
            ),
            _ => (
                format!("{}: account can log in", s.name),
                format!("{}：账户可以登录", s.name),
            ),
        };
        items.push(item(&s.name, "/etc/shadow", s.line, shown));
    }
    Ok(items)
}

fn passwd_items(
    facts: &Facts,
    query: AccountQuery,
    names: &[String],
) -> Result<Vec<Item>, CannotCheck> {
    use AccountQuery::*;
    let uid_min = facts.uid_min();
    let mut items = Vec::new();
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
        if !hit {
            continue;
        }
        let text = match query {
            HomeOpen => {
                let mode = facts
                    .root
                    .metadata(&p.home)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(0);
                (
                    format!("{} home {} mode {mode:04o}", p.name, p.home),
                    format!("{} 的主目录 {} 权限 {mode:04o}", p.name, p.home),
                )
            }
            PasswordNotShadowed if !p.password.is_empty() => (
                format!("{}: password field is not 'x'", p.name),
                format!("{}：口令字段不是 x", p.name),
            ),
            _ => seen(&p.raw),
        };
        items.push(item(&p.name, "/etc/passwd", p.line, text));
    }
    Ok(items)
}

/// Accounts that can log in and have not for `days` (90) days, from lastlog.
fn unused_items(facts: &Facts, days: Option<i64>) -> Result<Vec<Item>, CannotCheck> {
    if !facts.root.exists(LASTLOG) {
        return Err(CannotCheck::new(
            format!(
                "{LASTLOG} does not exist (a system that records logins elsewhere, such as lastlog2 or wtmpdb, is not read yet)"
            ),
            format!("{LASTLOG} 不存在（登录记录保存在 lastlog2、wtmpdb 等处的系统暂不能读取）"),
        ));
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
    let mut items = Vec::new();
    for p in facts.passwd()? {
        if p.uid < uid_min || p.uid == 65534 || !has_login_shell(&p.shell) || !can_log_in(&p.name) {
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
        let (en, zh) = match last {
            None => (
                format!("{}: never logged in", p.name),
                format!("{}：从未登录", p.name),
            ),
            Some(t) if now - t > limit * 86_400 => {
                let days = (now - t) / 86_400;
                (
                    format!("{}: last login {days} days ago", p.name),
                    format!("{}：最近一次登录在 {days} 天前", p.name),
                )
            }
            Some(_) => continue,
        };
        items.push(Item {
            name: p.name.clone(),
            evidence: Evidence::note(LASTLOG, None, en, zh),
        });
    }
    Ok(items)
}

/// The second and later passwd lines with a UID or name seen before.
fn duplicate_passwd_items(facts: &Facts, query: AccountQuery) -> Result<Vec<Item>, CannotCheck> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for p in facts.passwd()? {
        let key = if query == AccountQuery::DuplicateUid {
            p.uid.to_string()
        } else {
            p.name.clone()
        };
        if let Some(first) = seen.get(&key) {
            items.push(item(
                &p.name,
                "/etc/passwd",
                p.line,
                (
                    format!("{} (same as line {first})", p.raw),
                    format!("{}（与第 {first} 行重复）", p.raw),
                ),
            ));
        } else {
            seen.insert(key, p.line);
        }
    }
    Ok(items)
}

fn group_items(
    facts: &Facts,
    query: AccountQuery,
    names: &[String],
    admin_groups: &[String],
) -> Result<Vec<Item>, CannotCheck> {
    use AccountQuery::*;
    let groups = facts.groups()?;
    let mut items = Vec::new();
    if query == MissingGroup {
        let gids: BTreeSet<u32> = groups.iter().map(|g| g.gid).collect();
        for p in facts.passwd()? {
            if !gids.contains(&p.gid) {
                items.push(item(
                    &p.name,
                    "/etc/passwd",
                    p.line,
                    (
                        format!("{}: GID {} not in /etc/group", p.name, p.gid),
                        format!("{}：GID {} 不在 /etc/group 中", p.name, p.gid),
                    ),
                ));
            }
        }
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
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
                        (
                            format!("group {} GID {} (same as line {first})", g.name, g.gid),
                            format!("用户组 {} GID {}（与第 {first} 行重复）", g.name, g.gid),
                        ),
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
                        (
                            format!("{m} is in group {}", g.name),
                            format!("{m} 属于 {} 组", g.name),
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(items)
}

pub(super) const LASTLOG: &str = "/var/log/lastlog";

/// `struct lastlog` on Linux: a 32-bit time, a 32-byte line, a 256-byte host.
pub(super) const LASTLOG_RECORD: u64 = 4 + 32 + 256;
