//! Package probes: the dpkg and rpm databases, pending updates from apt
//! lists and dnf metadata, package list age, antivirus products.

use super::*;

pub(super) fn read_packages(root: &Root) -> Result<PackageDb, CannotCheck> {
    match root.read_text("/var/lib/dpkg/status") {
        Ok(text) => {
            let packages = parse::dpkg_status(&text).map_err(|e| {
                CannotCheck::new(
                    format!("the dpkg database /var/lib/dpkg/status is damaged: {e}"),
                    format!("软件包数据库 /var/lib/dpkg/status 已损坏：{e}"),
                )
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

pub(super) fn packages(facts: &Facts, names: &[String]) -> ProbeResult {
    let db = facts.packages()?;
    let items = db
        .packages
        .iter()
        .filter(|p| names.iter().any(|n| wildcard_match(n, &p.name)))
        .map(|p| Item {
            name: p.name.clone(),
            evidence: Evidence::note(
                db.source,
                (p.line > 0).then_some(p.line),
                format!("{} {} installed", p.name, p.version),
                format!("已安装 {} {}", p.name, p.version),
            ),
        })
        .collect();
    Ok(Observation::Items {
        items,
        looked_at: vec![db.source.to_string()],
    })
}

pub(super) const APT_LISTS: &str = "/var/lib/apt/lists";

pub(super) fn pending_updates(facts: &Facts) -> ProbeResult {
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
        return Err(match other.first() {
            None => CannotCheck::new(
                format!("no package lists in {APT_LISTS}: run `apt-get update` first"),
                format!("{APT_LISTS} 中没有软件源列表：请先运行 apt-get update"),
            ),
            Some(f) => CannotCheck::new(
                format!(
                    "the package lists in {APT_LISTS} are compressed in a format this check does not read ({f}); uncompressed, lz4 and gzip are read"
                ),
                format!(
                    "{APT_LISTS} 中的软件源列表压缩格式无法读取（{f}）；可读取未压缩、lz4 和 gzip 格式"
                ),
            ),
        });
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
        return Err(CannotCheck::new(
            format!(
                "the package lists in {APT_LISTS} name no package (truncated or damaged?): run `apt-get update`"
            ),
            format!(
                "{APT_LISTS} 中的软件源列表没有任何软件包（不完整或已损坏？）：请运行 apt-get update"
            ),
        ));
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

pub(super) const DNF_REPODATA: &str = "/var/cache/dnf/*/repodata";

/// Pending updates on an rpm system: the rpm database against the primary
/// metadata of the repositories dnf has cached (`dnf makecache`).
pub(super) fn rpm_pending_updates(facts: &Facts, db: &PackageDb) -> ProbeResult {
    let root = facts.root;
    let mut files = Vec::new();
    for pat in ["*-primary.xml", "*-primary.xml.gz"] {
        files.extend(root.expand(&format!("{DNF_REPODATA}/{pat}"))?);
    }
    if files.is_empty() {
        let other = root.expand(&format!("{DNF_REPODATA}/*primary*"))?;
        return Err(match other.first() {
            None => CannotCheck::new(
                format!(
                    "no repository metadata in {DNF_REPODATA}: run `dnf makecache` first (yum's cache is not read)"
                ),
                format!(
                    "{DNF_REPODATA} 中没有软件源元数据：请先运行 dnf makecache（不读取 yum 的缓存）"
                ),
            ),
            Some(f) => CannotCheck::new(
                format!(
                    "the repository metadata {f} is in a format this check does not read; plain and gzip primary.xml are read"
                ),
                format!("软件源元数据 {f} 的格式无法读取；可读取未压缩和 gzip 格式的 primary.xml"),
            ),
        });
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
        return Err(CannotCheck::new(
            format!(
                "the repository metadata in {DNF_REPODATA} names no package (truncated or damaged?): run `dnf makecache`"
            ),
            format!(
                "{DNF_REPODATA} 中的软件源元数据没有任何软件包（不完整或已损坏？）：请运行 dnf makecache"
            ),
        ));
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
pub(super) fn read_list(root: &Root, path: &str) -> Result<String, CannotCheck> {
    use std::io::Read;
    let bytes = root.read_bytes(path)?;
    let damaged = |e: std::io::Error| {
        CannotCheck::new(
            format!("the package list {path} is damaged: {e}"),
            format!("软件源列表 {path} 已损坏：{e}"),
        )
    };
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
        text = String::from_utf8(bytes).map_err(|_| {
            CannotCheck::new(
                format!("the package list {path} is not UTF-8 text"),
                format!("软件源列表 {path} 不是 UTF-8 文本"),
            )
        })?;
    }
    Ok(text)
}

pub(super) fn package_lists_age(facts: &Facts) -> ProbeResult {
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
                Evidence::note(
                    path,
                    None,
                    format!("last refreshed {days} days ago"),
                    format!("{days} 天前更新"),
                ),
            ))
        }
        None => Ok(unset_noted(
            vec![APT_LISTS.to_string(), "/var/cache/dnf".into()],
            "no package lists",
            "未找到软件源列表",
        )),
    }
}

pub(super) fn installed_products<'p>(
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
                    Evidence::note(
                        db.source,
                        Some(pkg.line),
                        format!("{} {} installed", pkg.name, pkg.version),
                        format!("已安装 {} {}", pkg.name, pkg.version),
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
                        hit = Some(Evidence::note(
                            path,
                            None,
                            format!("{} present", p.name),
                            format!("发现 {}", p.name),
                        ));
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
        return Err(CannotCheck::new(
            format!("no antivirus found by path, and the package database cannot be read: {e}"),
            format!("按路径未找到防病毒软件，且软件包数据库无法读取：{}", e.zh),
        ));
    }
    Ok(out)
}

pub(super) fn antivirus(facts: &Facts, products: &[AvProduct]) -> ProbeResult {
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

pub(super) fn signature_age(facts: &Facts, products: &[AvProduct]) -> ProbeResult {
    let root = facts.root;
    let installed = installed_products(facts, products)?;
    if installed.is_empty() {
        return Ok(unset_noted(
            products.iter().map(|p| p.name.clone()),
            "no installed antivirus",
            "未找到已安装的防病毒软件",
        ));
    }
    let mut newest: Option<(i64, Evidence)> = None;
    let mut any_sig = false;
    for (p, _) in &installed {
        for pat in &p.signatures {
            for path in root.expand(pat)? {
                any_sig = true;
                let (age, how) = match clamav_build_time(root, &path) {
                    Some((t, raw)) => (
                        facts.days_since(t),
                        (format!("built {raw}"), format!("生成于 {raw}")),
                    ),
                    None => {
                        let m = root.metadata(&path)?;
                        let t = m.modified().map_err(|e| {
                            CannotCheck::new(
                                format!("{path}: {e}"),
                                format!("无法读取 {path} 的修改时间：{e}"),
                            )
                        })?;
                        (
                            facts.days_since(t),
                            ("file modified".to_string(), "文件修改于".to_string()),
                        )
                    }
                };
                if newest.as_ref().is_none_or(|(a, _)| age < *a) {
                    newest = Some((
                        age,
                        Evidence::note(
                            &path,
                            None,
                            format!("{}: {}, {age} days ago", p.name, how.0),
                            format!("{}：{}，{age} 天前", p.name, how.1),
                        ),
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
            Ok(unset_noted(
                installed.iter().flat_map(|(p, _)| p.signatures.clone()),
                &format!("no signature database of {}", names.join(", ")),
                &format!("未找到 {} 的病毒库", names.join("、")),
            ))
        }
    }
}

/// The build time in a ClamAV database header
/// (`ClamAV-VDB:14 Nov 2023 08-46 -0500:27093:...`).
pub(super) fn clamav_build_time(root: &Root, path: &str) -> Option<(SystemTime, String)> {
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
