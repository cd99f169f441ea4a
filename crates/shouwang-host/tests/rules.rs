//! Every rule against a crafted root where it passes and one where it
//! fails: the verdict must flip and the failure must name its evidence.
//! The cases are data, in `testdata/cases/*.toml`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::Fixture;
use serde::Deserialize;
use shouwang_host::rule::Os;
use shouwang_host::{RuleSet, Verdict, engine};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    rule: String,
    /// Treat the crafted root as a running system (its /proc and /sys).
    #[serde(default)]
    live: bool,
    /// Text the failing result must show (in its summary or evidence).
    evidence: String,
    #[serde(default)]
    base: Option<Fixture>,
    pass: Fixture,
    fail: Fixture,
}

fn cases() -> Vec<(String, Case)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let parsed: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.extend(parsed.case.into_iter().map(|c| (name.clone(), c)));
    }
    out
}

fn run_case(set: &RuleSet, case: &Case, fixture: &Fixture) -> engine::CheckResult {
    let rule = set
        .rule(&case.rule)
        .unwrap_or_else(|| panic!("no rule {}", case.rule));
    let tmp = tempfile::tempdir().unwrap();
    fixture.build(tmp.path(), case.base.as_ref());
    let root = common::root(tmp.path(), case.live);
    let run = shouwang_host::run(&root, "test", &[rule]);
    assert_eq!(run.results.len(), 1);
    run.results.into_iter().next().unwrap()
}

#[test]
fn every_rule_passes_and_fails_on_its_fixtures() {
    let set = RuleSet::embedded().unwrap();
    let mut failures = Vec::new();
    for (file, case) in cases() {
        let pass = run_case(&set, &case, &case.pass);
        if pass.verdict != Verdict::Pass {
            failures.push(format!(
                "{file} {}: pass fixture gave {:?}: {} {:?}",
                case.rule, pass.verdict, pass.summary, pass.evidence
            ));
        }
        let fail = run_case(&set, &case, &case.fail);
        if fail.verdict != Verdict::Fail {
            failures.push(format!(
                "{file} {}: fail fixture gave {:?}: {} {:?}",
                case.rule, fail.verdict, fail.summary, fail.evidence
            ));
            continue;
        }
        let shown = format!(
            "{}\n{}",
            fail.summary,
            fail.evidence
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        if fail.evidence.is_empty() || !shown.contains(&case.evidence) {
            failures.push(format!(
                "{file} {}: the failure does not show {:?}:\n{shown}",
                case.rule, case.evidence
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_linux_rule_has_a_case() {
    let set = RuleSet::embedded().unwrap();
    let mut covered: BTreeMap<String, usize> = BTreeMap::new();
    for (_, c) in cases() {
        assert!(
            set.rule(&c.rule).is_some(),
            "a case names the unknown rule {}",
            c.rule
        );
        *covered.entry(c.rule).or_default() += 1;
    }
    let missing: Vec<&str> = set
        .rules()
        .filter(|r| r.os == Os::Linux && !covered.contains_key(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a pass/fail case: {missing:?}"
    );
    assert!(set.rules().filter(|r| r.os == Os::Linux).count() >= 120);
}
