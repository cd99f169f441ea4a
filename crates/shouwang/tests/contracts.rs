//! The contracts between the crates that write events and those that read
//! them: the incident rules name only what a sensor emits, every emitted
//! kind is documented with its fields, and no crate builds or reads event
//! details by hand (where a renamed field would blank a page silently).

use std::path::{Path, PathBuf};

use shouwang_incident::{RuleSet, Source};
use shouwang_model::events::detail_fields;

mod source;

/// Each sensor as its crate exports it: name, event kinds, check-id
/// prefixes of its findings.
fn sensors() -> [(
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
); 3] {
    use shouwang_guard::events as guard;
    use shouwang_host::events as host;
    use shouwang_site::events as site;
    [
        (guard::SENSOR, guard::KINDS, guard::CHECK_PREFIXES),
        (site::SENSOR, site::KINDS, site::CHECK_PREFIXES),
        (host::SENSOR, host::KINDS, host::CHECK_PREFIXES),
    ]
}

fn emitted_kinds() -> Vec<&'static str> {
    sensors().iter().flat_map(|s| s.1.iter().copied()).collect()
}

/// The part of a rule's kind before its first glob character: what every
/// kind it matches starts with.
fn literal_prefix(pattern: &str) -> (&str, bool) {
    match pattern.find(['*', '?', '[', '{']) {
        Some(i) => (&pattern[..i], true),
        None => (pattern, false),
    }
}

#[test]
fn every_kind_the_built_in_incident_rules_name_is_emitted_by_a_sensor() {
    let rules = RuleSet::builtin();
    let kinds = emitted_kinds();
    let prefixes: Vec<&str> = sensors().iter().flat_map(|s| s.2.iter().copied()).collect();
    let mut wrong = Vec::new();
    for rule in rules.rules() {
        for k in rule.kinds() {
            let (lit, glob) = literal_prefix(k);
            let known = match rule.source {
                Source::Event if glob => kinds.iter().any(|e| e.starts_with(lit)),
                Source::Event => kinds.contains(&lit),
                // A finding's check id is the sensor's own (many, some
                // made at run time), so a pattern must fall within one of
                // the families a sensor declares.
                Source::Finding => prefixes
                    .iter()
                    .any(|p| lit.starts_with(p) || (glob && p.starts_with(lit))),
            };
            if !known {
                wrong.push(format!(
                    "rule {:?} ({:?}) names {k:?}, which no sensor emits (event kinds {kinds:?}, check-id prefixes {prefixes:?})",
                    rule.id, rule.source
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn every_details_field_an_incident_rule_tests_is_in_the_contract_of_its_kinds() {
    let rules = RuleSet::builtin();
    let mut wrong = Vec::new();
    for rule in rules.rules().iter().filter(|r| r.source == Source::Event) {
        for field in rule.condition_fields() {
            let Some(name) = field.strip_prefix("details.") else {
                continue;
            };
            let top = name.split('.').next().unwrap_or_default();
            for k in rule.kinds() {
                let (lit, glob) = literal_prefix(k);
                let matched: Vec<&str> = emitted_kinds()
                    .into_iter()
                    .filter(|e| if glob { e.starts_with(lit) } else { *e == lit })
                    .collect();
                for kind in matched {
                    let fields = detail_fields(kind).unwrap_or_default();
                    if !fields.iter().any(|f| f == top) {
                        wrong.push(format!(
                            "rule {:?} tests {field:?} of {kind}, whose details have {fields:?}",
                            rule.id
                        ));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The rows of docs/events.md's table: kind, emitted by, details fields.
fn documented() -> Vec<(String, String, Vec<String>)> {
    let path = workspace().join("docs/events.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let cell = |c: &str| c.trim().trim_matches('`').trim().to_string();
    text.lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() >= 3)
        // The header row and the separator row.
        .filter(|cells| {
            let first = cell(&cells[0]);
            first != "kind" && !first.chars().all(|c| c == '-' || c == ':')
        })
        .map(|cells| {
            let mut fields: Vec<String> = cells[2]
                .split(',')
                .map(cell)
                .filter(|f| !f.is_empty())
                .collect();
            fields.sort();
            (cell(&cells[0]), cell(&cells[1]), fields)
        })
        .collect()
}

#[test]
fn every_emitted_kind_is_documented_with_its_sensor_and_details_fields() {
    let docs = documented();
    let mut wrong = Vec::new();
    for (sensor, kinds, _) in sensors() {
        for kind in kinds {
            match docs.iter().find(|d| d.0 == *kind) {
                None => wrong.push(format!(
                    "{kind} (emitted by {sensor}) is not in docs/events.md"
                )),
                Some((_, by, fields)) => {
                    if !by.contains(&format!("shouwang-{sensor}")) {
                        wrong.push(format!(
                            "docs/events.md says {kind} is emitted by {by:?}; its owner is shouwang-{sensor}"
                        ));
                    }
                    let want = detail_fields(kind).unwrap_or_default();
                    if *fields != want {
                        wrong.push(format!(
                            "docs/events.md lists {kind}'s details as {fields:?}; the contract has {want:?}"
                        ));
                    }
                }
            }
        }
    }
    let kinds = emitted_kinds();
    for d in &docs {
        if !kinds.contains(&d.0.as_str()) {
            wrong.push(format!(
                "docs/events.md documents {}, which no sensor emits",
                d.0
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

// --- source scans ---

/// Every .rs file under crates/*/src, with its path from the workspace.
fn sources() -> Vec<(String, String)> {
    let root = workspace();
    let mut files = Vec::new();
    for c in std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
    {
        files.extend(source::rust_files(&c.path().join("src")));
    }
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (rel, text)
        })
        .collect()
}

/// `text` with comments and the insides of string and char literals
/// blanked (same length, newlines kept), so that brace counting and
/// searches see only code.
fn code_only(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = text[start..].find(&close).map_or(b.len(), |n| start + n);
                blank(&mut out, start, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            // A char literal ('{', '\''), not a lifetime ('a).
            b'\'' if b.get(i + 2) == Some(&b'\'') && b.get(i + 1) != Some(&b'\\') => {
                blank(&mut out, i + 1, i + 2);
                i += 3;
            }
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                let end = b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map_or(b.len(), |n| i + 2 + n);
                blank(&mut out, i + 1, end);
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn line_of(text: &[u8], at: usize) -> usize {
    text[..at].iter().filter(|&&c| c == b'\n').count() + 1
}

/// The index just past the bracket that closes the one at `open`.
fn closing(code: &[u8], open: usize) -> usize {
    let mut depth = 0i32;
    for (i, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every occurrence of the word `word` in `code` from `from` on.
fn words(code: &[u8], word: &str) -> Vec<usize> {
    let w = word.as_bytes();
    (0..code.len().saturating_sub(w.len() - 1))
        .filter(|&i| {
            &code[i..i + w.len()] == w
                && (i == 0 || !is_ident(code[i - 1]))
                && code.get(i + w.len()).is_none_or(|&c| !is_ident(c))
        })
        .collect()
}

/// The value expression of field `details` in the struct literal
/// `code[open..close]` (the braces of `NewEvent { .. }`): its range, or
/// the name it is shorthand for.
fn details_field(code: &[u8], open: usize, close: usize) -> Option<(usize, usize)> {
    let mut depth = 0;
    let mut i = open;
    while i < close {
        match code[i] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b'd' if depth == 1
                && code[i..].starts_with(b"details")
                && matches!(
                    code[..i].iter().rev().find(|c| !c.is_ascii_whitespace()),
                    Some(b'{' | b',')
                ) =>
            {
                let mut j = i + "details".len();
                if code.get(j).is_some_and(|&c| is_ident(c)) {
                    i = j;
                    continue;
                }
                while code[j].is_ascii_whitespace() {
                    j += 1;
                }
                return match code[j] {
                    // `details,` is `details: details,`.
                    b',' | b'}' => Some((i, i + "details".len())),
                    b':' if code.get(j + 1) != Some(&b':') => {
                        let start = j + 1;
                        let mut d = 0;
                        let mut k = start;
                        while k < close {
                            match code[k] {
                                b'{' | b'(' | b'[' => d += 1,
                                b'}' | b')' | b']' if d == 0 => break,
                                b'}' | b')' | b']' => d -= 1,
                                b',' if d == 0 => break,
                                _ => {}
                            }
                            k += 1;
                        }
                        Some((start, k))
                    }
                    _ => None,
                };
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Places in `path`'s source where a `NewEvent`'s details are built with
/// `json!`: in the field itself, or in the `let` that binds the variable
/// the field names.
fn json_built_details(path: &str, text: &str) -> Vec<String> {
    let code = code_only(text);
    let s = String::from_utf8_lossy(&code);
    let mut found = Vec::new();
    for at in words(&code, "NewEvent") {
        let mut open = at + "NewEvent".len();
        while open < code.len() && code[open].is_ascii_whitespace() {
            open += 1;
        }
        if code.get(open) != Some(&b'{') {
            continue;
        }
        let close = closing(&code, open);
        let Some((from, to)) = details_field(&code, open, close) else {
            continue;
        };
        let value = s[from..to].trim();
        if value.contains("json!") {
            found.push(format!(
                "{path}:{}: event details built with json!: use the kind's struct from shouwang_model::events and serde_json::to_value",
                line_of(&code, from)
            ));
            continue;
        }
        if !value.bytes().all(is_ident) {
            continue;
        }
        // The variable's binding: the last `let` before the literal whose
        // pattern names it, up to its `;`.
        let binding = words(&code[..at], "let").into_iter().rev().find(|&l| {
            let eq = s[l..at].find('=').map_or(at, |n| l + n);
            !words(&code[l..eq], value).is_empty()
        });
        if let Some(l) = binding {
            let mut end = l;
            let mut d = 0;
            while end < at {
                match code[end] {
                    b'{' | b'(' | b'[' => d += 1,
                    b'}' | b')' | b']' => d -= 1,
                    b';' if d == 0 => break,
                    _ => {}
                }
                end += 1;
            }
            if s[l..end].contains("json!") {
                found.push(format!(
                    "{path}:{}: event details `{value}` built with json!: use the kind's struct from shouwang_model::events and serde_json::to_value",
                    line_of(&code, l)
                ));
            }
        }
    }
    found
}

#[test]
fn no_crate_builds_event_details_with_json() {
    let found: Vec<String> = sources()
        .iter()
        .flat_map(|(p, t)| json_built_details(p, t))
        .collect();
    assert!(found.is_empty(), "\n{}", found.join("\n"));
}

/// The crates that own event contracts: they write the details (and the
/// model defines them), so they may look inside them.
const OWNERS: [&str; 4] = [
    "crates/shouwang-model/",
    "crates/shouwang-guard/",
    "crates/shouwang-site/",
    "crates/shouwang-host/",
];

/// `details` values indexed by a literal name that are not events' details,
/// each with the reason: (file, field, why).
const NOT_EVENT_DETAILS: [(&str, &str, &str); 3] = [
    (
        "crates/shouwang/src/commands/site.rs",
        "own_site",
        "an asset's details, written by `site add` in the same file",
    ),
    (
        "crates/shouwang-incident/src/actions.rs",
        "stage",
        "an incident timeline entry's details, written by the incident crate itself",
    ),
    (
        "crates/shouwang-incident/src/actions.rs",
        "state",
        "an incident timeline entry's details, written by the incident crate itself",
    ),
];

/// Where `path` reads a field of a details value by a literal name:
/// `x.details["f"]`, `x.details.get("f")`, or the same on a variable bound
/// to `&x.details`. Returns (line, what is indexed, field).
fn indexed_details(text: &str) -> Vec<(usize, String, String)> {
    let code = code_only(text);
    let s = String::from_utf8_lossy(&code);
    // The names the raw details are bound to, and `details` itself.
    let mut names = vec!["details".to_string()];
    for l in words(&code, "let") {
        let end = s[l..].find(';').map_or(s.len(), |n| l + n);
        let stmt = s[l + 3..end].trim();
        if let Some((pat, value)) = stmt.split_once('=') {
            let value = value.trim().trim_start_matches('&');
            let pat = pat.trim().trim_start_matches("mut ").trim();
            if value.ends_with(".details") && pat.bytes().all(is_ident) {
                names.push(pat.to_string());
            }
        }
    }
    let mut found = Vec::new();
    for name in &names {
        for at in words(&code, name) {
            let mut j = at + name.len();
            while j < code.len() && code[j].is_ascii_whitespace() {
                j += 1;
            }
            let arg = if code[j..].starts_with(b"[") {
                j + 1
            } else if code[j..].starts_with(b".get(") {
                j + ".get(".len()
            } else {
                continue;
            };
            // The literal's text is blanked in `code`; read it from `text`.
            let rest = text[arg..].trim_start();
            if let Some(lit) = rest.strip_prefix('"') {
                let field = lit.split('"').next().unwrap_or_default().to_string();
                found.push((line_of(&code, at), name.clone(), field));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_crate_reads_event_details_by_field_name_outside_the_crate_that_owns_the_kind() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        if OWNERS.iter().any(|o| path.starts_with(o)) {
            continue;
        }
        for (line, name, field) in indexed_details(&text) {
            let excused = NOT_EVENT_DETAILS
                .iter()
                .any(|(p, f, _)| *p == path && *f == field);
            if !excused {
                found.push(format!(
                    "{path}:{line}: {name}[{field:?}] read by name: decode with the kind's struct from shouwang_model::events"
                ));
            }
        }
    }
    assert!(found.is_empty(), "\n{}", found.join("\n"));
}

#[test]
fn the_source_scans_see_what_they_look_for() {
    // Each scan on a snippet of the kind it exists to catch, so a scan
    // that stopped matching cannot pass silently.
    let built = r#"
fn f(r: &R) -> NewEvent {
    let mut details = serde_json::json!({ "path": r.path });
    NewEvent { kind: "x".into(), summary: format!("{} }", r.path), details, time }
}
fn g() -> NewEvent {
    NewEvent { kind: K.into(), details: json!({"ok": true}), time }
}
fn h() -> NewEvent {
    let details = serde_json::to_value(Probe::default()).unwrap();
    let other = json!({});
    NewEvent { kind: K.into(), details, time }
}
"#;
    let f = json_built_details("x.rs", built);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(
        f[0].starts_with("x.rs:3:") && f[1].starts_with("x.rs:7:"),
        "{f:#?}"
    );

    let read = r#"
fn f(e: &Event) {
    let d = &e.event.details;
    let n = d["pages"].as_u64();
    let p = e.event.details.get("path");
    let s = "details[\"not code\"]";
    let q = quarantine["id"];
}
"#;
    assert_eq!(
        indexed_details(read),
        vec![
            (4, "d".to_string(), "pages".to_string()),
            (5, "details".to_string(), "path".to_string())
        ]
    );
}
