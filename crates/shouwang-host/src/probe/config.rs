//! Probes of configuration files: key-value files, sshd_config, sysctl,
//! profile scripts, PAM stacks, matching lines, auditd watches, logrotate.

use super::*;

/// The settings of a config file, unless most of its lines are not
/// settings at all: then it is garbage (a truncated binary, a file pasted
/// into the wrong place) and "not set" would be a guess.
pub(super) fn settings_of(
    path: &str,
    text: &str,
    sep: Separator,
) -> Result<Vec<parse::Setting>, CannotCheck> {
    let settings = parse::key_values(text, sep);
    let is_key = |k: &str| {
        !k.is_empty()
            && k.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@' | '$')
            })
    };
    let bad: Vec<&parse::Setting> = settings.iter().filter(|s| !is_key(&s.key)).collect();
    if bad.len() >= 3 && bad.len() * 2 > settings.len() {
        let sample = bad[0].raw.chars().take(40).collect::<String>();
        return Err(CannotCheck::new(
            format!(
                "{path} does not look like a configuration file: {} of its {} lines are not settings (line {}: {sample:?})",
                bad.len(),
                settings.len(),
                bad[0].line,
            ),
            format!(
                "{path} 不像配置文件：{} 行中有 {} 行不是设置项（第 {} 行：{sample:?}）",
                settings.len(),
                bad.len(),
                bad[0].line,
            ),
        ));
    }
    Ok(settings)
}

pub(super) fn key_value(
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

pub(super) fn sshd(root: &Root, key: &str) -> ProbeResult {
    const MAIN: &str = "/etc/ssh/sshd_config";
    if !root.exists(MAIN) {
        return Err(CannotCheck::new(
            format!("{MAIN} does not exist (is the OpenSSH server installed?)"),
            format!("{MAIN} 不存在（是否安装了 OpenSSH 服务端？）"),
        ));
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
pub(super) fn sshd_file(
    root: &Root,
    path: &str,
    key: &str,
    looked: &mut Vec<String>,
    depth: usize,
) -> Result<Option<Observation>, CannotCheck> {
    if depth > 8 {
        return Err(CannotCheck::new(
            format!("Include nested too deep at {path}"),
            format!("{path} 处 Include 嵌套过深"),
        ));
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

pub(super) fn sysctl(root: &Root, key: &str) -> ProbeResult {
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
        let looked = vec![
            "/etc/sysctl.conf".to_string(),
            "/etc/sysctl.d/*.conf".into(),
        ];
        let mut obs = unset(looked, key);
        if let (false, Observation::Value { evidence, .. }) = (root.is_live(), &mut obs) {
            evidence.push(Evidence::note(
                format!("/proc/sys/{}", key.replace('.', "/")),
                None,
                "offline root: the live value is unknown",
                "离线检查，运行中的取值未知",
            ));
        }
        obs
    }))
}

pub(super) fn shell_var(root: &Root, files: &[String], name: &str) -> ProbeResult {
    let mut found = None;
    for (path, text) in read_all(root, files)? {
        if let Some(s) = parse::shell_assignments(&text, name).pop() {
            found = Some(value(s.value, Evidence::new(&path, Some(s.line), &s.raw)));
        }
    }
    Ok(found.unwrap_or_else(|| unset(files.to_vec(), name)))
}

/// The rules of a PAM service with includes expanded, with their file.
pub(super) fn pam_stack(
    root: &Root,
    service: &str,
    kind: Option<&str>,
    depth: usize,
    out: &mut Vec<(String, parse::PamLine)>,
) -> Result<(), CannotCheck> {
    if depth > 8 {
        return Err(CannotCheck::new(
            format!("PAM includes nested too deep at {service}"),
            format!("{service} 处 PAM 引用嵌套过深"),
        ));
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

pub(super) fn pam(
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
        return Err(CannotCheck::new(
            format!(
                "no PAM service file among /etc/pam.d/{{{}}}",
                services.join(",")
            ),
            format!("/etc/pam.d/{{{}}} 中没有 PAM 服务文件", services.join(",")),
        ));
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
                evidence: vec![Evidence::note(
                    format!("/etc/pam.d/{service}"),
                    None,
                    format!("no {} in the stack (includes followed)", modules.join("|")),
                    format!("认证栈中没有 {}（已展开引用）", modules.join("|")),
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
                Evidence::note(
                    file,
                    Some(r.line),
                    format!("{} (no {arg}: {}'s default {d} applies)", r.raw, r.module),
                    format!("{}（未设置 {arg}：按 {} 的默认值 {d}）", r.raw, r.module),
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

pub(super) fn words_in_order(line: &str, words: &[String], ignore_case: bool) -> bool {
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

pub(super) fn lines(
    root: &Root,
    files: &[String],
    words: &[String],
    ignore_case: bool,
) -> ProbeResult {
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
        return Err(none_exists(files));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

pub(super) fn audit_watch(root: &Root, paths: &[String], perms: &str) -> ProbeResult {
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
            evidence: Evidence::note(
                "/etc/audit/rules.d",
                None,
                format!("no `-w {p} -p {perms}` audit rule"),
                format!("没有 -w {p} -p {perms} 审计规则"),
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

pub(super) fn log_retention(root: &Root, logs: &[String]) -> ProbeResult {
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
                Evidence::note(
                    "/etc/logrotate.conf",
                    None,
                    format!(
                        "{log}: rotate {} × {} days",
                        s.rotate.unwrap_or(0),
                        s.period_days
                    ),
                    format!(
                        "{log}：保留 {} 份 × 每份 {} 天",
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
                    Evidence::note(
                        path,
                        line,
                        format!(
                            "{log}: rotate {} × {} days = {days} days",
                            s.rotate.unwrap_or(0),
                            s.period_days
                        ),
                        format!(
                            "{log}：保留 {} 份 × 每份 {} 天 = {days} 天",
                            s.rotate.unwrap_or(0),
                            s.period_days
                        ),
                    ),
                ));
            }
        }
    }
    Ok(unset_noted(
        vec!["/etc/logrotate.conf".into(), "/etc/logrotate.d/*".into()],
        &format!("rotation of {} not set", logs.join(" or ")),
        &format!("未设置 {} 的轮转", logs.join(" 或 ")),
    ))
}
