//! Rules are data: TOML files embedded in the binary and overridable from a
//! directory. A rule names a typed probe, the value it expects, the 等保
//! clause it serves and how to fix a failure; the engine knows nothing of
//! any particular check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shouwang_model::{Severity, Text};

use crate::probe::{ObservationKind, Probe};
use crate::root::wildcard_match;

/// The rule files compiled into the binary, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("profiles.toml", include_str!("../rules/profiles.toml")),
    ("accounts.toml", include_str!("../rules/accounts.toml")),
    ("auth.toml", include_str!("../rules/auth.toml")),
    ("ssh.toml", include_str!("../rules/ssh.toml")),
    ("audit.toml", include_str!("../rules/audit.toml")),
    ("kernel.toml", include_str!("../rules/kernel.toml")),
    ("network.toml", include_str!("../rules/network.toml")),
    ("software.toml", include_str!("../rules/software.toml")),
    ("files.toml", include_str!("../rules/files.toml")),
    ("windows.toml", include_str!("../rules/windows.toml")),
];

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable, dotted: `ssh.permit-root-login`. Findings are keyed by it.
    pub id: String,
    /// The requirement, as the rule is described (安装了防病毒软件).
    pub title: Text,
    /// The problem a failure is, as a finding is titled (未安装防病毒软件):
    /// a finding that repeats the requirement reads as if all were well.
    /// Every built-in rule has one; a unit's own rule without one gets
    /// "未符合：" before its requirement (`problem_title`).
    #[serde(default)]
    pub fail_title: Option<Text>,
    /// The GB/T 22239-2019 (等保2.0) clause, numbered as at level 3
    /// (安全计算环境 8.1.4.x, 安全区域边界 8.1.3.x), e.g. `8.1.4.1 a)`.
    pub clause: String,
    pub severity: Severity,
    /// The built-in or user profiles that run this rule.
    pub profiles: Vec<String>,
    /// The systems the rule applies to; others skip it.
    #[serde(default)]
    pub os: Os,
    pub probe: Probe,
    pub expect: Expect,
    /// What a setting that is not set anywhere means.
    #[serde(default)]
    pub unset: Unset,
    /// The value the program uses when the setting is absent (sshd's
    /// compiled-in defaults, for instance). Takes precedence over `unset`.
    #[serde(default)]
    pub default: Option<String>,
    pub fix: Fix,
}

impl Rule {
    /// The title of a failure of this rule.
    pub fn problem_title(&self) -> Text {
        self.fail_title.clone().unwrap_or_else(|| Text {
            zh: format!("未符合：{}", self.title.zh),
            en: format!("Not met: {}", self.title.en),
        })
    }
}

/// The operating systems rules are written for. Windows probes (registry
/// values, an exported security policy) slot in without engine changes:
/// their rules say `os = "windows"` and are skipped elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    #[default]
    Linux,
    Windows,
}

/// What makes a rule pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect {
    /// The value equals this (ASCII case-insensitive).
    Equals(String),
    /// The value is one of these (ASCII case-insensitive).
    OneOf(Vec<String>),
    /// The value is none of these.
    NoneOf(Vec<String>),
    /// The value is a number at least this.
    AtLeast(i64),
    /// The value is a number at most this.
    AtMost(i64),
    /// A number between the two, inclusive.
    Between(i64, i64),
    /// The probe found nothing (no offending account, file, port...).
    None,
    /// The probe found at least one thing (an antivirus, a firewall...).
    Some,
    /// Everything the probe found matches one of these wildcards.
    Allow(Vec<String>),
    /// Nothing the probe found matches one of these wildcards.
    Deny(Vec<String>),
    /// The probe found things with at most this many distinct names (one
    /// interface with a default route, not two).
    AtMostDistinct(usize),
}

impl Expect {
    pub fn observes(&self) -> ObservationKind {
        match self {
            Expect::None
            | Expect::Some
            | Expect::Allow(_)
            | Expect::Deny(_)
            | Expect::AtMostDistinct(_) => ObservationKind::Items,
            _ => ObservationKind::Value,
        }
    }

    /// The expectation as a reader sees it.
    pub fn describe(&self) -> String {
        match self {
            Expect::Equals(v) => format!("= {v}"),
            Expect::OneOf(v) => format!("one of {}", v.join(", ")),
            Expect::NoneOf(v) => format!("none of {}", v.join(", ")),
            Expect::AtLeast(n) => format!(">= {n}"),
            Expect::AtMost(n) => format!("<= {n}"),
            Expect::Between(a, b) => format!("{a}..{b}"),
            Expect::None => "nothing found".into(),
            Expect::Some => "at least one found".into(),
            Expect::Allow(v) => format!("only {}", v.join(", ")),
            Expect::Deny(v) => format!("none of {}", v.join(", ")),
            Expect::AtMostDistinct(n) => format!("at most {n} distinct"),
        }
    }

    /// The expectation in Chinese.
    pub fn describe_zh(&self) -> String {
        match self {
            Expect::Equals(v) => v.clone(),
            Expect::OneOf(v) => format!("{} 之一", v.join("、")),
            Expect::NoneOf(v) | Expect::Deny(v) => format!("不是 {}", v.join("、")),
            Expect::AtLeast(n) => format!("不少于 {n}"),
            Expect::AtMost(n) => format!("不超过 {n}"),
            Expect::Between(a, b) => format!("{a} 至 {b}"),
            Expect::None => "未发现任何一项".into(),
            Expect::Some => "至少发现一项".into(),
            Expect::Allow(v) => format!("仅限 {}", v.join("、")),
            Expect::AtMostDistinct(n) => format!("不超过 {n} 个"),
        }
    }
}

/// What an unset value means for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unset {
    /// Not configured is not compliant (the usual case).
    #[default]
    Fail,
    /// Not configured is compliant (the safe state is the absence).
    Pass,
}

/// How to fix a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    pub zh: String,
    pub en: String,
    /// A command or config line that fixes it, when there is one.
    #[serde(default)]
    pub command: Option<String>,
}

/// A named set of rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDef {
    pub name: String,
    pub title: Text,
    /// Start from this profile's rules.
    #[serde(default)]
    pub base: Option<String>,
    /// Add rules whose id matches one of these wildcards.
    #[serde(default)]
    pub include: Vec<String>,
    /// Then drop rules whose id matches one of these.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
    #[serde(default)]
    profile: Vec<ProfileDef>,
}

/// A rule file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: {detail}")]
    Parse { file: String, detail: String },
    #[error("{file}: rule {id}: {detail}")]
    Invalid {
        file: String,
        id: String,
        detail: String,
    },
    #[error("cannot read the rules directory {dir}: {detail}")]
    Dir { dir: PathBuf, detail: String },
    #[error("unknown profile {name:?}: the profiles are {known}")]
    UnknownProfile { name: String, known: String },
}

/// All rules and profiles in effect.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: BTreeMap<String, Rule>,
    profiles: BTreeMap<String, ProfileDef>,
    /// Where each rule came from (`embedded:ssh.toml`, a file path).
    pub origin: BTreeMap<String, String>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn embedded() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in EMBEDDED {
            set.add_file(&format!("embedded:{name}"), text, false)?;
        }
        Ok(set)
    }

    /// The embedded rules, then every `*.toml` in `dir` (sorted by name):
    /// a rule with an existing id replaces it, a new id is added, and
    /// profiles are added or replaced likewise.
    pub fn with_overrides(dir: &Path) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::embedded()?;
        let dir_err = |e: std::io::Error| RuleError::Dir {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(dir_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| RuleError::Parse {
                file: path.display().to_string(),
                detail: e.to_string(),
            })?;
            set.add_file(&path.display().to_string(), &text, true)?;
        }
        Ok(set)
    }

    /// Parse one rule file into the set. Within the embedded files an id
    /// may appear once; an override file may replace.
    pub fn add_file(&mut self, file: &str, text: &str, replace: bool) -> Result<(), RuleError> {
        let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
            file: file.to_string(),
            detail: e.to_string(),
        })?;
        for rule in parsed.rule {
            validate(&rule, !replace).map_err(|detail| RuleError::Invalid {
                file: file.to_string(),
                id: rule.id.clone(),
                detail,
            })?;
            if !replace && self.rules.contains_key(&rule.id) {
                return Err(RuleError::Invalid {
                    file: file.to_string(),
                    id: rule.id.clone(),
                    detail: format!("duplicate id (also in {})", self.origin[&rule.id]),
                });
            }
            self.origin.insert(rule.id.clone(), file.to_string());
            self.rules.insert(rule.id.clone(), rule);
        }
        for p in parsed.profile {
            self.profiles.insert(p.name.clone(), p);
        }
        Ok(())
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    pub fn profiles(&self) -> impl Iterator<Item = &ProfileDef> {
        self.profiles.values()
    }

    /// The rules of a profile, sorted by id.
    pub fn profile(&self, name: &str) -> Result<Vec<&Rule>, RuleError> {
        let ids = self.profile_ids(name, 0)?;
        Ok(ids.iter().filter_map(|id| self.rules.get(id)).collect())
    }

    fn profile_ids(&self, name: &str, depth: usize) -> Result<BTreeSet<String>, RuleError> {
        let def = self
            .profiles
            .get(name)
            .filter(|_| depth < 16)
            .ok_or_else(|| RuleError::UnknownProfile {
                name: name.to_string(),
                known: self.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        let mut ids = match &def.base {
            Some(base) => self.profile_ids(base, depth + 1)?,
            None => BTreeSet::new(),
        };
        for rule in self.rules.values() {
            let named = rule.profiles.iter().any(|p| p == name);
            let included = def.include.iter().any(|pat| wildcard_match(pat, &rule.id));
            if named || included {
                ids.insert(rule.id.clone());
            }
        }
        ids.retain(|id| !def.exclude.iter().any(|pat| wildcard_match(pat, id)));
        Ok(ids)
    }
}

/// `built_in`: the rules compiled in must state their failure; a unit's
/// own may leave it to the default.
fn validate(rule: &Rule, built_in: bool) -> Result<(), String> {
    if rule.id.is_empty() || rule.id.contains(char::is_whitespace) {
        return Err("the id must be non-empty and without spaces".into());
    }
    if rule.title.zh.is_empty() || rule.title.en.is_empty() {
        return Err("title needs both zh and en".into());
    }
    match &rule.fail_title {
        Some(t) if t.zh.is_empty() || t.en.is_empty() => {
            return Err("fail_title needs both zh and en".into());
        }
        None if built_in => return Err("a built-in rule needs a fail_title".into()),
        _ => {}
    }
    if rule.fix.zh.is_empty() || rule.fix.en.is_empty() {
        return Err("fix needs both zh and en".into());
    }
    let observed = rule.probe.observes();
    if observed != rule.expect.observes() {
        return Err(format!(
            "the probe yields {observed:?} but expect {:?} needs {:?}",
            rule.expect.describe(),
            rule.expect.observes()
        ));
    }
    rule.probe.validate()
}

/// The 等保 control a clause belongs to, for scores: `8.1.4.1 a)` → (`8.1.4.1`, 身份鉴别).
pub fn clause_control(clause: &str) -> (String, &'static str) {
    let number = clause
        .split_whitespace()
        .next()
        .unwrap_or(clause)
        .to_string();
    let name = match number.as_str() {
        "8.1.3.1" => "边界防护",
        "8.1.3.2" => "访问控制(边界)",
        "8.1.3.3" => "入侵防范(边界)",
        "8.1.4.1" => "身份鉴别",
        "8.1.4.2" => "访问控制",
        "8.1.4.3" => "安全审计",
        "8.1.4.4" => "入侵防范",
        "8.1.4.5" => "恶意代码防范",
        "8.1.4.6" => "可信验证",
        "8.1.4.7" => "数据完整性",
        "8.1.4.8" => "数据保密性",
        "8.1.4.9" => "数据备份恢复",
        "8.1.4.10" => "剩余信息保护",
        "8.1.4.11" => "个人信息保护",
        "8.1.1.1" => "物理位置选择",
        _ => "其他",
    };
    (number, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load() {
        let set = RuleSet::embedded().unwrap();
        assert!(set.rules().count() >= 120, "{}", set.rules().count());
        for p in ["dengbao2", "dengbao3", "terminal"] {
            assert!(!set.profile(p).unwrap().is_empty(), "{p}");
        }
        assert!(set.profile("nope").is_err());
    }

    #[test]
    fn a_mismatched_expectation_is_refused_with_the_file() {
        let mut set = RuleSet::default();
        let text = r#"
[[rule]]
id = "x.y"
title = { zh = "甲", en = "A" }
clause = "8.1.4.1 a)"
severity = "high"
profiles = ["p"]
probe = { type = "sshd", key = "PermitRootLogin" }
expect = "none"
fix = { zh = "改", en = "fix" }
"#;
        let err = set
            .add_file("mine.toml", text, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mine.toml") && err.contains("x.y"), "{err}");
        let err = set
            .add_file("bad.toml", "[[rule]]\nid = 3\n", true)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.toml"), "{err}");
    }

    #[test]
    fn a_unit_s_rule_without_a_failure_title_still_names_a_problem() {
        let text = r#"
[[rule]]
id = "acct.my-check"
title = { zh = "安装了本单位的终端管理软件", en = "The unit's endpoint agent is installed" }
clause = "8.1.4.5 a)"
severity = "medium"
profiles = ["terminal"]
probe = { type = "packages", names = ["my-agent"] }
expect = "some"
fix = { zh = "安装。", en = "Install it." }
"#;
        let mut set = RuleSet::default();
        set.add_file("mine.toml", text, true).unwrap();
        let t = set.rule("acct.my-check").unwrap().problem_title();
        assert_eq!(t.zh, "未符合：安装了本单位的终端管理软件");
        assert_eq!(t.en, "Not met: The unit's endpoint agent is installed");
        // A built-in rule must say its failure itself.
        let err = RuleSet::default()
            .add_file("embedded:x.toml", text, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fail_title"), "{err}");
    }

    #[test]
    fn every_built_in_rule_id_is_in_a_check_family_the_incident_rules_can_name() {
        let set = RuleSet::embedded().unwrap();
        for r in set.rules() {
            assert!(
                crate::events::CHECK_PREFIXES
                    .iter()
                    .any(|p| r.id.starts_with(p)),
                "{} starts with none of {:?}",
                r.id,
                crate::events::CHECK_PREFIXES
            );
        }
    }
}
