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
        // A failure is titled with the problem, not the requirement.
        let rule = set.rule(&case.rule).unwrap();
        if fail.shown_title() != &rule.problem_title() || pass.shown_title() != &rule.title {
            failures.push(format!(
                "{file} {}: titled {:?} when failing, {:?} when passing",
                case.rule,
                fail.shown_title().zh,
                pass.shown_title().zh
            ));
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

/// Words that say something is wrong, one of which every Chinese failure
/// title carries: a failure titled with the requirement ("禁用蓝牙",
/// "启用地址空间随机化") has none of them.
const PROBLEM_WORDS: &[&str] = &[
    "未",
    "不",
    "没",
    "无",
    "非",
    "存在",
    "有",
    "可",
    "超过",
    "不足",
    "少于",
    "低于",
    "宽于",
    "以外",
    "对外",
    "缺少",
    "开启",
    "在运行",
    "开着",
    "接受",
    "允许",
    "转发",
    "发送",
    "响应",
    "使用",
    "安装了",
    "重复",
    "弱",
    "开放",
    "覆盖",
    "跳过",
];

#[test]
fn every_rule_has_a_failure_title_that_states_the_problem() {
    let set = RuleSet::embedded().unwrap();
    let requirements: Vec<(&str, &str)> = set
        .rules()
        .map(|r| (r.title.zh.as_str(), r.title.en.as_str()))
        .collect();
    let mut bad = Vec::new();
    for r in set.rules() {
        let Some(fail) = &r.fail_title else {
            bad.push(format!("{}: no fail_title", r.id));
            continue;
        };
        if fail.zh == r.title.zh || fail.en == r.title.en {
            bad.push(format!("{}: the failure repeats the requirement", r.id));
        }
        // Not another rule's compliant state either.
        if requirements
            .iter()
            .any(|(zh, en)| *zh == fail.zh || *en == fail.en)
        {
            bad.push(format!("{}: {:?} is a requirement title", r.id, fail.zh));
        }
        if !PROBLEM_WORDS.iter().any(|w| fail.zh.contains(w)) {
            bad.push(format!(
                "{}: {:?} does not say what is wrong",
                r.id, fail.zh
            ));
        }
        if fail.en.is_empty()
            || fail
                .en
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        {
            bad.push(format!("{}: the English failure title {:?}", r.id, fail.en));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The ones a county office read as the opposite of the problem.
    let fail_zh = |id: &str| set.rule(id).unwrap().problem_title().zh;
    assert_eq!(fail_zh("av.installed"), "未安装防病毒软件");
    assert_eq!(fail_zh("pkg.no-pending-updates"), "有待安装的安全补丁");
    assert_eq!(fail_zh("auth.lockout-deny"), "登录失败未在 5 次内锁定");
}
