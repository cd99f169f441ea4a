//! Runs the rules of a profile against a root and judges what the probes
//! saw: pass, fail, or could not check (with the reason). Scores per 等保
//! control and overall; compares two runs.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{AssetKind, AssetRef, NewFinding, Provenance, Severity, Text};

use crate::parse::{self, Separator};
use crate::probe::{self, Evidence, Facts, Observation};
use crate::root::{Root, wildcard_match};
use crate::rule::{Expect, Os, Rule, Unset, clause_control};

/// The sensor name findings and events carry.
pub const SENSOR: &str = crate::events::SENSOR;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The probe could not see what it needed; `reason` says why.
    CannotCheck,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::CannotCheck => "cannot-check",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Verdict::Pass => "符合",
            Verdict::Fail => "不符合",
            Verdict::CannotCheck => "无法检查",
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    /// The requirement (安装了防病毒软件).
    pub title: Text,
    /// The problem a failure is (未安装防病毒软件). Empty in runs recorded
    /// before rules had one; `shown_title` falls back to the requirement.
    #[serde(default)]
    pub fail_title: Text,
    pub clause: String,
    pub severity: Severity,
    pub verdict: Verdict,
    /// One line: what was seen against what was expected, or why the
    /// check could not run.
    pub summary: String,
    /// The same in Chinese. Empty in runs recorded before it was kept;
    /// `summary_in` falls back to `summary`.
    #[serde(default)]
    pub summary_zh: String,
    /// The value seen, for single-value probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub expected: String,
    pub evidence: Vec<Evidence>,
    /// Where on the host (stable across runs).
    pub location: String,
    pub fix: crate::rule::Fix,
}

impl CheckResult {
    /// The summary in `lang` ("zh" or "en").
    pub fn summary_in(&self, lang: &str) -> &str {
        if lang == "en" || self.summary_zh.is_empty() {
            &self.summary
        } else {
            &self.summary_zh
        }
    }

    /// The title a reader should see for this result: the problem for a
    /// failure, the requirement otherwise (a pass, or what could not be
    /// checked).
    pub fn shown_title(&self) -> &Text {
        if self.verdict == Verdict::Fail && !self.fail_title.zh.is_empty() {
            &self.fail_title
        } else {
            &self.title
        }
    }
}

/// Points per severity in a score: a critical failure costs more than a
/// low one.
fn weight(s: Severity) -> u32 {
    match s {
        Severity::Critical => 10,
        Severity::High => 6,
        Severity::Medium => 3,
        Severity::Low => 1,
        Severity::Info => 1,
    }
}

/// A score out of 100 over some results: the weight of the passed checks
/// over the weight of all of them. A check that could not run earns
/// nothing: unknown is not compliant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub control: String,
    pub name: String,
    pub pass: usize,
    pub fail: usize,
    pub cannot_check: usize,
    pub score: f64,
}

/// A whole run of a profile on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub host: String,
    pub os: String,
    /// `/` for the live system, else the offline root's path.
    pub root: String,
    pub live: bool,
    pub profile: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub version: String,
    pub results: Vec<CheckResult>,
    /// Per 等保 control (8.1.4.1 身份鉴别, ...).
    pub scores: Vec<Score>,
    /// Per 等保 clause item (8.1.4.1 a), 8.1.4.1 b), ...).
    #[serde(default)]
    pub clause_scores: Vec<Score>,
    pub overall: Score,
}

impl Run {
    pub fn count(&self, v: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == v).count()
    }

    pub fn asset(&self) -> AssetRef {
        AssetRef::new(AssetKind::Host, &self.host)
    }

    /// The failed checks as findings for the store.
    pub fn findings(&self) -> Vec<NewFinding> {
        self.results
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .map(|r| self.finding(r))
            .collect()
    }

    pub fn finding(&self, r: &CheckResult) -> NewFinding {
        let evidence = r
            .evidence
            .iter()
            .take(20)
            // Findings are read in Chinese (the console's default, the
            // 自查报告, the 台账).
            .map(|e| e.shown_in("zh"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut provenance = Provenance::now(SENSOR, &r.id, &self.root);
        provenance.observed_at = self.started_at;
        NewFinding {
            asset: self.asset(),
            severity: r.severity,
            title: r.shown_title().clone(),
            evidence: format!("{}\n{evidence}", r.summary_in("zh")),
            location: r.location.clone(),
            provenance,
        }
    }
}

/// Run `rules` against `root`.
pub fn run(root: &Root, profile: &str, rules: &[&Rule]) -> Run {
    run_at(root, profile, rules, SystemTime::now())
}

/// Like [`run`], with ages computed as of `now` (tests pin it).
pub fn run_at(root: &Root, profile: &str, rules: &[&Rule], now: SystemTime) -> Run {
    let started = Instant::now();
    let started_at = Utc::now();
    let facts = Facts::at(root, now);
    let results: Vec<CheckResult> = rules
        .iter()
        .filter(|r| r.os == Os::Linux)
        .map(|r| evaluate(r, &facts))
        .collect();
    let scores = scores(&results);
    let clause_scores = clause_scores(&results);
    let overall = score("all", "总体", results.iter());
    Run {
        host: hostname(root),
        os: os_name(root),
        root: root.base().display().to_string(),
        live: root.is_live(),
        profile: profile.to_string(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        version: shouwang_model::VERSION.to_string(),
        results,
        scores,
        clause_scores,
        overall,
    }
}

/// Run one rule.
pub fn evaluate(rule: &Rule, facts: &Facts) -> CheckResult {
    let base = |verdict, summary: Text, value, evidence| CheckResult {
        id: rule.id.clone(),
        title: rule.title.clone(),
        fail_title: rule.problem_title(),
        clause: rule.clause.clone(),
        severity: rule.severity,
        verdict,
        summary: summary.en,
        summary_zh: summary.zh,
        value,
        expected: rule.expect.describe(),
        evidence,
        location: rule.probe.location(),
        fix: rule.fix.clone(),
    };
    match probe::run(&rule.probe, facts) {
        Err(e) => base(
            Verdict::CannotCheck,
            Text::new(
                format!("无法检查：{}", e.zh),
                format!("could not check: {}", e.en),
            ),
            None,
            Vec::new(),
        ),
        Ok(obs) => {
            let (verdict, summary, value, evidence) = judge(rule, obs);
            base(verdict, summary, value, evidence)
        }
    }
}

type Judged = (Verdict, Text, Option<String>, Vec<Evidence>);

fn judge(rule: &Rule, obs: Observation) -> Judged {
    match obs {
        Observation::Value { value, evidence } => judge_value(rule, value, evidence),
        Observation::Items { items, looked_at } => {
            let offending: Vec<_> = match &rule.expect {
                Expect::None => items.iter().collect(),
                Expect::Allow(allowed) => items
                    .iter()
                    .filter(|i| !allowed.iter().any(|a| wildcard_match(a, &i.name)))
                    .collect(),
                Expect::Deny(denied) => items
                    .iter()
                    .filter(|i| denied.iter().any(|d| wildcard_match(d, &i.name)))
                    .collect(),
                Expect::Some => Vec::new(),
                Expect::AtMostDistinct(n) => {
                    let mut names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                    names.sort_unstable();
                    names.dedup();
                    if names.len() <= *n {
                        Vec::new()
                    } else {
                        items.iter().collect()
                    }
                }
                _ => unreachable!("validated at load: item probes take item expectations"),
            };
            let none_found = || {
                Text::new(
                    format!("未发现（查看了 {}）", looked_at.join("、")),
                    format!("none found (looked at {})", looked_at.join(", ")),
                )
            };
            if rule.expect == Expect::Some {
                if items.is_empty() {
                    let ev = looked_at
                        .iter()
                        .map(|l| Evidence::note(l.clone(), None, "nothing found", "未发现"))
                        .collect();
                    return (Verdict::Fail, none_found(), None, ev);
                }
                let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                let ev = items.iter().map(|i| i.evidence.clone()).collect();
                return (
                    Verdict::Pass,
                    Text::new(
                        format!("发现：{}", names.join("、")),
                        format!("found: {}", names.join(", ")),
                    ),
                    None,
                    ev,
                );
            }
            if offending.is_empty() {
                let what = if items.is_empty() {
                    none_found()
                } else {
                    Text::new(
                        format!("发现 {} 项，均在允许范围内", items.len()),
                        format!("{} found, all allowed", items.len()),
                    )
                };
                let ev = items.iter().map(|i| i.evidence.clone()).collect();
                (Verdict::Pass, what, None, ev)
            } else {
                let names: Vec<&str> = offending.iter().take(10).map(|i| i.name.as_str()).collect();
                let more = offending.len().saturating_sub(10);
                let summary = Text::new(
                    format!(
                        "发现 {} 项：{}{}",
                        offending.len(),
                        names.join("、"),
                        if more > 0 {
                            format!(" 等（另有 {more} 项）")
                        } else {
                            String::new()
                        }
                    ),
                    format!(
                        "{} found: {}{}",
                        offending.len(),
                        names.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    ),
                );
                let ev = offending.iter().map(|i| i.evidence.clone()).collect();
                (Verdict::Fail, summary, None, ev)
            }
        }
    }
}

fn judge_value(rule: &Rule, value: Option<String>, mut evidence: Vec<Evidence>) -> Judged {
    let value = match (value, &rule.default) {
        (Some(v), _) => v,
        (None, Some(d)) => {
            for e in &mut evidence {
                e.zh = format!("{}；按默认值 {d}", e.text_in("zh"));
                e.text = format!("{}; the default {d} applies", e.text);
            }
            d.clone()
        }
        (None, None) => {
            let verdict = match rule.unset {
                Unset::Fail => Verdict::Fail,
                Unset::Pass => Verdict::Pass,
            };
            let summary = Text::new(
                format!("未设置（应为 {}）", rule.expect.describe_zh()),
                format!("not set (expected {})", rule.expect.describe()),
            );
            return (verdict, summary, None, evidence);
        }
    };
    let ci = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let number = || -> Result<i64, Text> {
        parse_number(&value).ok_or_else(|| {
            Text::new(
                format!("无法检查：取值 {value:?} 不是数字"),
                format!("could not check: the value {value:?} is not a number"),
            )
        })
    };
    let seen = |value: &str| {
        Text::new(
            format!("{value}（应为 {}）", rule.expect.describe_zh()),
            format!("{value} (expected {})", rule.expect.describe()),
        )
    };
    let ok = match &rule.expect {
        Expect::Equals(e) => Ok(ci(&value, e)),
        Expect::OneOf(list) => Ok(list.iter().any(|e| ci(&value, e))),
        Expect::NoneOf(list) => Ok(!list.iter().any(|e| ci(&value, e))),
        Expect::AtLeast(n) => number().map(|v| v >= *n),
        Expect::AtMost(n) => number().map(|v| v <= *n),
        Expect::Between(a, b) => number().map(|v| v >= *a && v <= *b),
        Expect::None
        | Expect::Some
        | Expect::Allow(_)
        | Expect::Deny(_)
        | Expect::AtMostDistinct(_) => {
            unreachable!("validated at load: value probes take value expectations")
        }
    };
    match ok {
        Ok(true) => (Verdict::Pass, seen(&value), Some(value), evidence),
        Ok(false) => (Verdict::Fail, seen(&value), Some(value), evidence),
        Err(why) => (Verdict::CannotCheck, why, Some(value), evidence),
    }
}

fn score<'a>(control: &str, name: &str, results: impl Iterator<Item = &'a CheckResult>) -> Score {
    let mut s = Score {
        control: control.to_string(),
        name: name.to_string(),
        pass: 0,
        fail: 0,
        cannot_check: 0,
        score: 0.0,
    };
    let (mut earned, mut total) = (0u32, 0u32);
    for r in results {
        let w = weight(r.severity);
        total += w;
        match r.verdict {
            Verdict::Pass => {
                s.pass += 1;
                earned += w;
            }
            Verdict::Fail => s.fail += 1,
            Verdict::CannotCheck => s.cannot_check += 1,
        }
    }
    s.score = if total == 0 {
        100.0
    } else {
        (f64::from(earned) * 1000.0 / f64::from(total)).round() / 10.0
    };
    s
}

fn scores(results: &[CheckResult]) -> Vec<Score> {
    let mut by: BTreeMap<String, (&'static str, Vec<&CheckResult>)> = BTreeMap::new();
    for r in results {
        let (control, name) = clause_control(&r.clause);
        by.entry(control).or_insert((name, Vec::new())).1.push(r);
    }
    let mut out: Vec<Score> = by
        .into_iter()
        .map(|(c, (name, rs))| score(&c, name, rs.into_iter()))
        .collect();
    // 8.1.4.10 after 8.1.4.9.
    out.sort_by_key(|s| {
        s.control
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    out
}

fn clause_scores(results: &[CheckResult]) -> Vec<Score> {
    let mut by: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
    for r in results {
        by.entry(r.clause.as_str()).or_default().push(r);
    }
    let mut out: Vec<Score> = by
        .into_iter()
        .map(|(clause, rs)| {
            let (_, name) = clause_control(clause);
            score(clause, name, rs.into_iter())
        })
        .collect();
    out.sort_by_key(|s| {
        let (number, item) = s.control.split_once(' ').unwrap_or((&s.control, ""));
        let number: Vec<u32> = number.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        (number, item.to_string())
    });
    out
}

/// The host's name: the live kernel's, else /etc/hostname.
pub fn hostname(root: &Root) -> String {
    let from = |p: &str| {
        root.read_text(p)
            .ok()
            .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
            .filter(|h| !h.is_empty())
    };
    (if root.is_live() {
        from("/proc/sys/kernel/hostname")
    } else {
        None
    })
    .or_else(|| from("/etc/hostname"))
    .unwrap_or_else(|| "unknown-host".into())
}

/// PRETTY_NAME from os-release (Kylin, UOS, openEuler all have one).
pub fn os_name(root: &Root) -> String {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| root.read_text(p).ok())
        .and_then(|t| {
            parse::key_values(&t, Separator::Equals)
                .into_iter()
                .find(|s| s.key == "PRETTY_NAME")
                .map(|s| s.value)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// What changed for one rule between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub title: Text,
    /// `None` when the rule was not in that run.
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
    pub before_summary: Option<String>,
    pub after_summary: Option<String>,
}

/// Rules whose verdict or summary differ between two runs.
pub fn diff(a: &Run, b: &Run) -> Vec<Change> {
    let before: BTreeMap<&str, &CheckResult> =
        a.results.iter().map(|r| (r.id.as_str(), r)).collect();
    let after: BTreeMap<&str, &CheckResult> =
        b.results.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut ids: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| {
            let (x, y) = (before.get(id), after.get(id));
            let same = match (x, y) {
                (Some(x), Some(y)) => x.verdict == y.verdict && x.summary == y.summary,
                _ => false,
            };
            if same {
                return None;
            }
            let any = x.or(y)?;
            Some(Change {
                id: id.to_string(),
                title: any.title.clone(),
                before: x.map(|r| r.verdict),
                after: y.map(|r| r.verdict),
                before_summary: x.map(|r| r.summary.clone()),
                after_summary: y.map(|r| r.summary.clone()),
            })
        })
        .collect()
}

/// A number as config files write it: `-1`, `600`, and sshd's times
/// (`2m`, `1h30m`, `90s`) in seconds.
pub fn parse_number(value: &str) -> Option<i64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let mut total = 0i64;
    let mut digits = String::new();
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total += digits.parse::<i64>().ok()? * unit;
        digits.clear();
    }
    if !digits.is_empty() {
        total += digits.parse::<i64>().ok()?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times() {
        assert_eq!(parse_number("600"), Some(600));
        assert_eq!(parse_number("-1"), Some(-1));
        assert_eq!(parse_number("2m"), Some(120));
        assert_eq!(parse_number("1h30m"), Some(5400));
        assert_eq!(parse_number("ten"), None);
        assert_eq!(parse_number(""), None);
    }
}
