//! Probes of the running or configured system: listening sockets, kernel
//! modules, systemd units, firewalls, wireless, routes, DNS, MAC, mounts.

use super::*;

pub(super) fn listening(root: &Root) -> ProbeResult {
    if !root.is_live() {
        return Err(CannotCheck::new(
            format!("listening sockets {NEEDS_LIVE}"),
            format!("监听端口{NEEDS_LIVE_ZH}"),
        ));
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
        let listeners = parse::proc_net_listeners(&text, proto).map_err(|e| {
            CannotCheck::new(format!("{path}: {e}"), format!("{path} 格式有误：{e}"))
        })?;
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
                evidence: Evidence::note(
                    &path,
                    Some(l.line),
                    format!("listening on {addr}:{} ({family})", l.port),
                    format!("监听 {addr}:{}（{family}）", l.port),
                ),
                name,
            });
        }
    }
    if !any {
        return Err(CannotCheck::new(
            "/proc/net/tcp is missing (is /proc mounted?)",
            "/proc/net/tcp 不存在（/proc 是否已挂载？）",
        ));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

pub(super) fn kernel_module(root: &Root, module: &str) -> ProbeResult {
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
            Evidence::note(
                "/etc/modprobe.d",
                None,
                format!("no `install {module} /bin/false` or `blacklist {module}`"),
                format!(
                    "未禁止加载 {module}（没有 install {module} /bin/false 或 blacklist {module}）"
                ),
            ),
        )
    }))
}

pub(super) const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

pub(super) fn unit_state(facts: &Facts, units: &[String]) -> ProbeResult {
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
                Evidence::note(
                    link,
                    None,
                    format!("{name} enabled"),
                    format!("{name} 已设为开机启动"),
                ),
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
                Evidence::note(p, None, "SysV start link", "SysV 启动链接"),
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
                Evidence::note(
                    p,
                    None,
                    format!("{name} installed, not enabled"),
                    format!("已安装 {name}，未设为开机启动"),
                ),
            )),
            None => states.push((
                1,
                "absent".into(),
                Evidence::note(
                    "/usr/lib/systemd/system",
                    None,
                    format!("{name} not installed"),
                    format!("未安装 {name}"),
                ),
            )),
        }
    }
    // The best state wins; on a tie, the first unit named (the usual name).
    let best = states
        .into_iter()
        .rev()
        .max_by_key(|(rank, ..)| *rank)
        .ok_or_else(|| CannotCheck::new("no unit named", "检查项未指定服务名"))?;
    Ok(value(best.1, best.2))
}

/// Enabled firewalls, each with the evidence that it is.
pub(super) fn firewall(facts: &Facts) -> Result<(Vec<Item>, Vec<String>), CannotCheck> {
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

pub(super) fn firewall_policy(facts: &Facts) -> ProbeResult {
    let root = facts.root;
    let (enabled, looked) = firewall(facts)?;
    let Some(first) = enabled.first() else {
        return Ok(unset_noted(
            looked,
            "no enabled firewall",
            "未找到已启用的防火墙",
        ));
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
                        Evidence::note(
                            path,
                            None,
                            format!("zone {zone} target {target}"),
                            format!("区域 {zone} 的默认动作 {target}"),
                        ),
                    ));
                }
            }
            Ok(value(
                "reject",
                Evidence::note(
                    conf,
                    None,
                    format!("zone {zone}: firewalld's default target rejects"),
                    format!("区域 {zone}：firewalld 默认拒绝"),
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
            Ok(unset_noted(
                vec![f.into()],
                "no input chain",
                "未找到 INPUT 链",
            ))
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
            Ok(unset_noted(
                vec!["/etc/iptables/rules.v4".into()],
                ":INPUT policy not set",
                "未设置 :INPUT 默认策略",
            ))
        }
    }
}

pub(super) fn wireless(root: &Root) -> ProbeResult {
    let mut items = Vec::new();
    let mut looked = Vec::new();
    if root.is_live() {
        looked.push("/sys/class/net".to_string());
        let ifaces = root.list_dir("/sys/class/net").map_err(|e| {
            CannotCheck::new(
                format!("cannot list the network interfaces: {e} (is /sys mounted?)"),
                format!("无法列出网卡：{}（/sys 是否已挂载？）", e.zh()),
            )
        })?;
        for iface in ifaces {
            for marker in ["wireless", "phy80211"] {
                let p = format!("/sys/class/net/{iface}/{marker}");
                if root.exists(&p) {
                    items.push(Item {
                        name: iface.clone(),
                        evidence: Evidence::note(
                            p,
                            None,
                            format!("{iface} is a wireless interface"),
                            format!("{iface} 是无线网卡"),
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
        return Err(CannotCheck::new(
            format!("wireless hardware {NEEDS_LIVE}; no Wi-Fi connection is configured"),
            format!("无线网卡{NEEDS_LIVE_ZH}；未配置 Wi-Fi 连接"),
        ));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

pub(super) fn default_route(root: &Root) -> ProbeResult {
    if !root.is_live() {
        return Err(CannotCheck::new(
            format!("the routing table {NEEDS_LIVE}"),
            format!("路由表{NEEDS_LIVE_ZH}"),
        ));
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

pub(super) fn is_private(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

pub(super) fn public_nameservers(root: &Root) -> ProbeResult {
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
        return Err(CannotCheck::new(
            "/etc/resolv.conf does not exist",
            "/etc/resolv.conf 不存在",
        ));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

/// SELinux or AppArmor: what the kernel enforces on a live system, what
/// the configuration asks for at boot on an image.
pub(super) fn mac(root: &Root) -> ProbeResult {
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
            return Err(CannotCheck::new("/sys is not mounted", "/sys 未挂载"));
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
            Evidence::note(
                "/etc/apparmor.d",
                None,
                format!("{} entries", profiles.len()),
                format!("{} 条", profiles.len()),
            ),
        ));
    }
    Ok(value(
        "none",
        Evidence::note(
            conf,
            None,
            "no SELinux config and no AppArmor profiles",
            "没有 SELinux 配置，也没有 AppArmor 策略",
        ),
    ))
}

pub(super) fn mount_option(root: &Root, mount: &str, option: &str) -> ProbeResult {
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
        Evidence::note(
            file,
            None,
            format!("{mount} is not a separate file system"),
            format!("{mount} 不是独立的文件系统"),
        ),
    ))
}
