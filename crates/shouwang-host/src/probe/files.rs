//! File system probes: modes and owners, set-ID and world-writable walks,
//! existence.

use super::*;

/// The name rules compare a file's owner (or group) with. Id 0 is root
/// whatever the image's passwd or group says: the kernel knows no other
/// superuser, and an offline image (a container layer, a rescue copy) may
/// have no `root` line at all, which would otherwise fail every owner check
/// on root's own files. Other ids take the first name the file gives them,
/// else the number.
pub(super) fn name_of(entries: Result<Vec<(String, u32)>, CannotCheck>, id: u32) -> String {
    if id == 0 {
        return "root".into();
    }
    entries
        .ok()
        .and_then(|e| e.into_iter().find(|(_, i)| *i == id).map(|(n, _)| n))
        .unwrap_or_else(|| id.to_string())
}

pub(super) fn file_mode(
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
                    evidence: Evidence::note(
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
                        format!(
                            "权限 {mode:04o}，属主 {user}:{group}（最多允许 {max:04o}{}{}）",
                            if owners.is_empty() {
                                String::new()
                            } else {
                                format!("，属主应为 {}", owners.join("|"))
                            },
                            if groups.is_empty() {
                                String::new()
                            } else {
                                format!("，属组应为 {}", groups.join("|"))
                            }
                        ),
                    ),
                });
            }
        }
    }
    if looked.is_empty() {
        return Err(none_exists(paths));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

/// Walk directories (not crossing into /proc, /sys, /dev) and list what
/// `pick` selects, up to `max_depth` levels down.
pub(super) fn walk_items(
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
                        evidence: Evidence::note(
                            &inside_path,
                            None,
                            format!("mode {:04o}", m.mode() & 0o7777),
                            format!("权限 {:04o}", m.mode() & 0o7777),
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
        return Err(none_exists(dirs));
    }
    Ok(Observation::Items {
        items,
        looked_at: looked,
    })
}

pub(super) fn exists(root: &Root, paths: &[String]) -> ProbeResult {
    let mut items = Vec::new();
    for pat in paths {
        for path in root.expand(pat)? {
            items.push(Item {
                evidence: Evidence::note(&path, None, "exists", "存在"),
                name: path,
            });
        }
    }
    Ok(Observation::Items {
        items,
        looked_at: paths.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_0_is_root_whatever_the_files_say() {
        let none: Result<Vec<(String, u32)>, CannotCheck> = Ok(Vec::new());
        assert_eq!(name_of(none, 0), "root");
        let unreadable = Err(CannotCheck::new(
            "/etc/passwd: not found",
            "/etc/passwd 不存在",
        ));
        assert_eq!(name_of(unreadable, 0), "root");
        let renamed = Ok(vec![("toor".to_string(), 0), ("alice".to_string(), 1000)]);
        assert_eq!(name_of(renamed, 0), "root");
        let others = Ok(vec![("alice".to_string(), 1000)]);
        assert_eq!(name_of(others.clone(), 1000), "alice");
        assert_eq!(name_of(others, 1001), "1001");
    }
}
