//! The invariants ARCHITECTURE.md states, checked over `cargo metadata` and
//! the source. Each test names the invariant it guards; when one fails,
//! either the change broke the architecture or the map must be corrected,
//! and the message says where.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

mod source;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

struct Member {
    name: String,
    dir: PathBuf,
    /// Workspace crates this one depends on, normal and build dependencies.
    deps: BTreeSet<String>,
    dev_deps: BTreeSet<String>,
    /// Every dependency by name, normal and build only.
    all_normal: BTreeSet<String>,
}

fn members() -> Vec<Member> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let mut m = Member {
                name: p["name"].as_str().unwrap().to_string(),
                dir: Path::new(p["manifest_path"].as_str().unwrap())
                    .parent()
                    .unwrap()
                    .to_path_buf(),
                deps: BTreeSet::new(),
                dev_deps: BTreeSet::new(),
                all_normal: BTreeSet::new(),
            };
            for d in p["dependencies"].as_array().unwrap() {
                let name = d["name"].as_str().unwrap().to_string();
                let dev = d["kind"].as_str() == Some("dev");
                if !dev {
                    m.all_normal.insert(name.clone());
                }
                if names.contains(&name) {
                    if dev {
                        m.dev_deps.insert(name);
                    } else {
                        m.deps.insert(name);
                    }
                }
            }
            m
        })
        .collect()
}

fn architecture_md() -> String {
    std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

/// The layer table of ARCHITECTURE.md: rows `| N | name | crate, crate |`
/// under the heading "Layers".
fn layers() -> BTreeMap<String, (u32, String)> {
    let doc = architecture_md();
    let section = doc
        .split("\n### Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a '### Layers' section");
    let mut out = BTreeMap::new();
    for line in section.lines().skip(1) {
        if line.starts_with('#') {
            break;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if cells.len() < 3 {
            continue;
        }
        let Ok(n) = cells[0].trim().parse::<u32>() else {
            continue;
        };
        let layer = cells[1].trim().to_string();
        for c in cells[2].split(',') {
            let c = c.trim().trim_matches('`').to_string();
            if !c.is_empty() {
                out.insert(c, (n, layer.clone()));
            }
        }
    }
    assert!(
        !out.is_empty(),
        "the Layers table of ARCHITECTURE.md has no rows"
    );
    out
}

/// Rust sources of a crate's `src/` without the items under `#[cfg(test)]`
/// (blanked, so line numbers stay true): the invariants speak of the code
/// that ships.
fn shipped_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    source::rust_files(&dir.join("src"))
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let shipped = without_test_items(&text);
            (p, shipped)
        })
        .collect()
}

/// Blanks each item that follows `#[cfg(test)]`: up to its `;`, or its
/// braces balanced (braces in strings and comments are rare enough in
/// this tree's test modules to count naively).
fn without_test_items(text: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    let mut depth = 0i64;
    let mut opened = false;
    for line in text.lines() {
        if !skipping && line.trim() == "#[cfg(test)]" {
            skipping = true;
            depth = 0;
            opened = false;
            out.push("");
            continue;
        }
        if skipping {
            out.push("");
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            let t = line.trim();
            if (opened && depth <= 0) || (!opened && t.ends_with(';')) {
                skipping = false;
            }
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with("//")
        })
}

#[test]
fn every_crate_sits_in_one_layer_and_depends_only_on_lower_layers() {
    let layers = layers();
    let mut wrong = Vec::new();
    for m in members() {
        let Some(&(mine, _)) = layers.get(&m.name) else {
            wrong.push(format!(
                "{} is in no row of the Layers table of ARCHITECTURE.md",
                m.name
            ));
            continue;
        };
        for d in m.deps.iter().chain(&m.dev_deps) {
            let Some(&(theirs, _)) = layers.get(d) else {
                continue;
            };
            if theirs >= mine {
                wrong.push(format!(
                    "{} (layer {mine}) depends on {d} (layer {theirs}): imports run down only",
                    m.name
                ));
            }
        }
    }
    for c in layers.keys() {
        if !members().iter().any(|m| &m.name == c) {
            wrong.push(format!(
                "ARCHITECTURE.md's Layers table names {c}, which is not a workspace member"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_sensor_depends_on_another_sensor_or_on_what_consumes_its_output() {
    let layers = layers();
    let sensors: BTreeSet<&String> = layers
        .iter()
        .filter(|(_, (_, l))| l == "sensors")
        .map(|(c, _)| c)
        .collect();
    assert!(
        sensors.len() >= 3,
        "the Layers table names the sensors: {sensors:?}"
    );
    let consumers = [
        "shouwang-incident",
        "shouwang-notify",
        "shouwang-report",
        "shouwang-console",
        "shouwang",
    ];
    let mut wrong = Vec::new();
    for m in members().iter().filter(|m| sensors.contains(&m.name)) {
        for d in &m.deps {
            if sensors.contains(d) || consumers.contains(&d.as_str()) {
                wrong.push(format!("sensor {} depends on {d}", m.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_crate_directory_is_a_member_and_the_code_map_names_each_member() {
    let doc = architecture_md();
    let members = members();
    let mut wrong = Vec::new();
    for e in std::fs::read_dir(workspace_root().join("crates")).unwrap() {
        let dir = e.unwrap().path();
        if dir.join("Cargo.toml").exists() && !members.iter().any(|m| m.dir == dir) {
            wrong.push(format!(
                "{} has a Cargo.toml but is not in [workspace] members",
                dir.display()
            ));
        }
    }
    for m in &members {
        if !doc.contains(&format!("| `{}`", m.name)) {
            wrong.push(format!(
                "the code map of ARCHITECTURE.md has no row for `{}`",
                m.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn libraries_return_typed_errors_and_only_the_binary_uses_anyhow() {
    let wrong: Vec<String> = members()
        .iter()
        .filter(|m| m.name != "shouwang" && m.all_normal.contains("anyhow"))
        .map(|m| format!("{} depends on anyhow: libraries use thiserror", m.name))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `file:line: text` of each shipped code line, in the crates `which`
/// picks, that contains one of `needles`.
fn shipped_lines_containing(which: impl Fn(&str) -> bool, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for m in members().iter().filter(|m| which(&m.name)) {
        for (path, text) in shipped_sources(&m.dir) {
            for (n, line) in code_lines(&text) {
                if needles.iter().any(|x| line.contains(x)) {
                    found.push(format!("{}:{n}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn only_the_binary_writes_to_the_terminal() {
    let wrong = shipped_lines_containing(
        |c| c != "shouwang",
        &["println!", "eprintln!", "print!(", "eprint!(", "dbg!("],
    );
    assert!(
        wrong.is_empty(),
        "libraries report through return values and tracing, not the terminal:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_member_takes_the_workspace_lints_and_only_the_guard_may_use_unsafe() {
    const UNSAFE_ALLOWED: &[&str] = &["shouwang-guard"];
    let mut wrong = Vec::new();
    for m in members() {
        let manifest = std::fs::read_to_string(m.dir.join("Cargo.toml")).unwrap();
        let table: toml::Table = manifest.parse().unwrap();
        let inherits = table
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(|w| w.as_bool())
            == Some(true);
        if !inherits {
            wrong.push(format!(
                "{} lacks `[lints] workspace = true`, so the workspace's deny(unsafe_code) does not reach it",
                m.name
            ));
        }
        let allowed = UNSAFE_ALLOWED.contains(&m.name.as_str());
        for (path, text) in shipped_sources(&m.dir) {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim_start();
                if t.starts_with("//") {
                    continue;
                }
                if line.contains("allow(unsafe_code)") && !allowed {
                    wrong.push(format!(
                        "{}:{}: only the crates named in ARCHITECTURE.md may allow unsafe",
                        path.display(),
                        i + 1
                    ));
                }
                // Blocks and impls; an `unsafe fn` of a trait states the
                // trait's contract, which its `unsafe impl` answers for.
                let opens_unsafe = line.contains("unsafe {") || line.contains("unsafe impl");
                if allowed && opens_unsafe {
                    let from = i.saturating_sub(4);
                    if !lines[from..=i].iter().any(|l| l.contains("SAFETY")) {
                        wrong.push(format!(
                            "{}:{}: an unsafe block without a SAFETY note just above it",
                            path.display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_vocabulary_and_the_matchers_do_no_io() {
    let wrong = shipped_lines_containing(
        |c| c == "shouwang-model" || c == "shouwang-scan",
        &["std::fs", "std::net", "std::process", "tokio", "File::"],
    );
    assert!(
        wrong.is_empty(),
        "shouwang-model and shouwang-scan are pure functions over values:\n{}",
        wrong.join("\n")
    );
}

/// Functions longer than this are split along the seams their comments
/// mark (ARCHITECTURE.md). The list below names any still to split (none
/// today); it only shrinks, and a new long function is never added to it.
const MAX_FUNCTION_LINES: usize = 150;
const LONG_FUNCTIONS_LEFT: &[(&str, &str)] = &[];

/// (name, first line, length in lines) of each `fn` in shipped code, by
/// counting braces outside string and character literals.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    fn braces(line: &str) -> (i64, bool) {
        let (mut depth, mut opened) = (0, false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    while let Some(d) = chars.next() {
                        match d {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                // A char literal ('{', '\'') but not a lifetime ('a).
                '\'' => {
                    let rest: String = chars.clone().take(3).collect();
                    if rest.starts_with('\\') {
                        chars.nth(2);
                    } else if rest.chars().nth(1) == Some('\'') {
                        chars.nth(1);
                    }
                }
                '/' if chars.peek() == Some(&'/') => break,
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        (depth, opened)
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let t = t.strip_prefix("async ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            i += 1;
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened) = (0, false);
        let mut j = i;
        while j < lines.len() {
            let (d, o) = braces(lines[j]);
            depth += d;
            opened |= o;
            if (opened && depth <= 0) || (!opened && lines[j].trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        out.push((name, i + 1, j - i + 1));
        i = j + 1;
    }
    out
}

#[test]
fn no_function_in_shipped_code_is_longer_than_150_lines() {
    let root = workspace_root();
    let mut long = BTreeSet::new();
    let mut wrong = Vec::new();
    for m in members() {
        for (path, text) in shipped_sources(&m.dir) {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            for (name, line, len) in functions(&text) {
                if len <= MAX_FUNCTION_LINES {
                    continue;
                }
                if LONG_FUNCTIONS_LEFT.contains(&(rel.as_str(), name.as_str())) {
                    long.insert((rel.clone(), name));
                } else {
                    wrong.push(format!(
                        "{rel}:{line}: fn {name} is {len} lines (at most {MAX_FUNCTION_LINES})"
                    ));
                }
            }
        }
    }
    for (file, name) in LONG_FUNCTIONS_LEFT {
        if !long.contains(&(file.to_string(), name.to_string())) {
            wrong.push(format!(
                "{file}: fn {name} is no longer long (or moved): take it off LONG_FUNCTIONS_LEFT"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The binary wires the libraries; when it grows past this, something that
/// belongs in a library (a renderer, a runtime loop, a record written to
/// the store) has crept into it.
const CLI_MAX_LINES: usize = 3000;

#[test]
fn the_binary_stays_thin() {
    let dir = workspace_root().join("crates/shouwang/src");
    let lines: usize = source::rust_files(&dir)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
        .sum();
    assert!(
        lines < CLI_MAX_LINES,
        "crates/shouwang/src has {lines} lines (under {CLI_MAX_LINES}): move what is not argument parsing, output or wiring into its library"
    );
}
