//! An automated estimate against the official inspection rules
//! (国办秘函〔2019〕19号 检查指标; see `shared/gov-site-rules.md`): the
//! single-veto items and the deductions this inspection can measure, each
//! linked to the findings behind it. It is an estimate, labelled as one:
//! inspectors monitor for weeks, read interaction and service sections we
//! do not, and some point values in the rules are unconfirmed.

use serde::{Deserialize, Serialize};
use shouwang_model::{NewFinding, Severity};

/// The label every score carries.
pub const ESTIMATE_LABEL: &str =
    "自动估计，非官方评分：依据国办秘函〔2019〕19号检查指标，仅统计本次巡查可测的项目";

/// One veto or deduction item and the findings behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreItem {
    /// The rule, e.g. "单项否决 V4(c)：空白栏目 ≥ 5 个".
    pub rule: String,
    /// Points deducted; `None` where the rules give no confirmed value.
    pub points: Option<f64>,
    /// Where the rule and its number come from, and how sure we are.
    pub basis: String,
    /// The findings (check and location) that make up the item.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub label: String,
    /// 合格 / 不合格 (estimated).
    pub passed: bool,
    /// The deduction score out of 100 (before any bonus).
    pub points: f64,
    /// Veto items hit: any one is a fail.
    pub vetoes: Vec<ScoreItem>,
    pub deductions: Vec<ScoreItem>,
    /// Things seen that the rules count only over a longer period.
    pub warnings: Vec<ScoreItem>,
    /// Parts of the rules this inspection does not measure.
    pub not_measured: Vec<String>,
    /// Why no estimate could be made (the homepage could not be reached):
    /// then the site is never 合格, whatever the points say.
    #[serde(default)]
    pub unscored: Option<String>,
}

fn refs(findings: &[&NewFinding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{} @ {}", f.provenance.check, f.location))
        .collect()
}

fn with_check(findings: &[NewFinding], pred: impl Fn(&NewFinding) -> bool) -> Vec<&NewFinding> {
    findings.iter().filter(|f| pred(f)).collect()
}

fn check(f: &NewFinding, c: &str) -> bool {
    f.provenance.check == c
}

/// Score one inspection's findings: any veto fails; otherwise 100 less the
/// deductions, 60 to pass.
pub fn score(findings: &[NewFinding]) -> Score {
    let vetoes = vetoes(findings);
    let deductions = deductions(findings);
    let deducted: f64 = deductions.iter().filter_map(|d| d.points).sum();
    let points = (100.0 - deducted).max(0.0);
    // Nothing was seen of a site whose homepage did not answer: that is no
    // ground for 合格, and no deduction says so.
    let unscored = findings
        .iter()
        .any(|f| check(f, "site.unreachable"))
        .then(|| "首页无法访问，本次巡查无法评分".to_string());
    Score {
        label: ESTIMATE_LABEL.into(),
        passed: vetoes.is_empty() && points >= 60.0 && unscored.is_none(),
        unscored,
        points: (points * 10.0).round() / 10.0,
        vetoes,
        deductions,
        warnings: warnings(findings),
        not_measured: vec![
            "V2 站点无法访问：由 shouwang up 每 15 分钟探测首页、按 7 天统计，单次巡查不判定"
                .into(),
            "V5 互动回应差、V6 服务不实用：留言答复和办事指南未检查".into(),
            "加分项（30 分，仅门户网站）".into(),
        ],
    }
}

/// The single-veto items (单项否决) the findings hit.
fn vetoes(findings: &[NewFinding]) -> Vec<ScoreItem> {
    let mut vetoes = Vec::new();
    // V1: security incidents, leaks, pornographic or gambling content and
    // links, defacement. Personal information is counted here, as the
    // rules document advises (no line of its own was found).
    let v1 = with_check(findings, |f| {
        f.severity == Severity::Critical
            && [
                "site.dark-link",
                "site.hidden-spam",
                "site.cloaking",
                "site.defacement",
                "site.title-changed",
                "site.script-redirect",
                "site.document-write-link",
            ]
            .iter()
            .any(|c| check(f, c))
            || check(f, "site.spam-link")
            || (f.provenance.check.starts_with("site.pii.") && f.severity == Severity::Critical)
    });
    if !v1.is_empty() {
        vetoes.push(ScoreItem {
            rule: "单项否决 V1：安全、泄密事故等严重问题（涉赌涉黄链接或内容、篡改、个人信息泄露）"
                .into(),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第1项；个人信息泄露归入此项为守望的判断".into(),
            findings: refs(&v1),
        });
    }
    // V3: homepage not updated for two weeks.
    let v3 = with_check(findings, |f| check(f, "site.homepage-stale"));
    if !v3.is_empty() {
        vetoes.push(ScoreItem {
            rule: "单项否决 V3：首页 2 周内无更新".into(),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第3项".into(),
            findings: refs(&v3),
        });
    }
    // V4: stale and blank columns, by count.
    let stale = with_check(findings, |f| check(f, "site.stale-column"));
    let blank = with_check(findings, |f| check(f, "site.blank-column"));
    if stale.len() >= 5 {
        vetoes.push(ScoreItem {
            rule: format!("单项否决 V4(a)：动态要闻 2 周、通知公告政策文件 6 个月未更新的栏目合计 ≥ 5 个（本次 {} 个）", stale.len()),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第4项".into(),
            findings: refs(&stale),
        });
    }
    if blank.len() >= 5 {
        vetoes.push(ScoreItem {
            rule: format!("单项否决 V4(c)：空白栏目 ≥ 5 个（本次 {} 个）", blank.len()),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第4项".into(),
            findings: refs(&blank),
        });
    }
    // V2 from a week of probes by `shouwang up`.
    let v2 = with_check(findings, |f| check(f, "site.availability"));
    if !v2.is_empty() {
        vetoes.push(ScoreItem {
            rule: "单项否决 V2：站点无法访问（1 周内访问失败率 ≥ 5%）".into(),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第2项".into(),
            findings: refs(&v2),
        });
    }
    vetoes
}

/// Things the rules count only over a longer period, seen once here.
fn warnings(findings: &[NewFinding]) -> Vec<ScoreItem> {
    let mut warnings = Vec::new();
    // V2 needs a week of probes; one failed visit is a warning.
    let down = with_check(findings, |f| {
        check(f, "site.unreachable") || check(f, "site.tls-error")
    });
    if !down.is_empty() {
        warnings.push(ScoreItem {
            rule: "单项否决 V2 风险：本次巡查首页无法访问（否决需 1 周内失败率 ≥ 5%）".into(),
            points: None,
            basis: "国办秘函〔2019〕19号 单项否决第2项；单次巡查不能判定".into(),
            findings: refs(&down),
        });
    }
    // A pass says nothing about what could not be read.
    let unread = with_check(findings, |f| check(f, "site.unreadable-attachment"));
    if !unread.is_empty() {
        warnings.push(ScoreItem {
            rule: format!(
                "单项否决 V1 未完全检查：{} 个附件无法读取，其中是否泄露个人信息未知",
                unread.len()
            ),
            points: None,
            basis: "守望的判断：无法读取的附件不能当作没有个人信息".into(),
            findings: refs(&unread),
        });
    }

    warnings
}

/// The deductions, with points where the rules' value is known.
fn deductions(findings: &[NewFinding]) -> Vec<ScoreItem> {
    let mut deductions = Vec::new();
    let policy_idle: Vec<&NewFinding> = with_check(findings, |f| check(f, "site.stale-column"))
        .into_iter()
        .filter(|f| f.title.zh.contains("政策文件"))
        .collect();
    if !policy_idle.is_empty() {
        deductions.push(ScoreItem {
            rule: "政策文件一级栏目 6 个月未更新".into(),
            points: Some(5.0),
            basis: "国管局 2019 年自查按检查指标扣 5 分（已确认）".into(),
            findings: refs(&policy_idle),
        });
    }
    // Broken references linked from the homepage are reported at medium
    // severity, the others at low (see crawl.rs): that is the split here.
    let broken = |home: bool| {
        with_check(findings, move |f| {
            f.provenance.check.starts_with("site.broken-")
                && (f.severity == Severity::Medium) == home
        })
    };
    let (home_broken, other_broken) = (broken(true), broken(false));
    if !home_broken.is_empty() {
        deductions.push(ScoreItem {
            rule: format!("首页不可用链接 {} 个，每个扣 1 分", home_broken.len()),
            points: Some(home_broken.len() as f64),
            basis: "常见说法，原文分值未确认".into(),
            findings: refs(&home_broken),
        });
    }
    if !other_broken.is_empty() {
        deductions.push(ScoreItem {
            rule: format!(
                "其他页面不可用链接 {} 个，每个扣 0.1 分",
                other_broken.len()
            ),
            points: Some(other_broken.len() as f64 * 0.1),
            basis: "常见说法（监测厂商按 0.1 计），原文分值未确认".into(),
            findings: refs(&other_broken),
        });
    }
    let unscored = [
        (
            "site.footer.",
            "功能设计：网站标识（标识码、ICP备案、公安备案、主办单位、联系方式）不全",
        ),
        ("site.ipv6-missing", "功能设计：未支持 IPv6"),
        (
            "site.wording.",
            "错别字及不规范表述（严重错误属单项否决，需人工判断）",
        ),
    ];
    for (prefix, rule) in unscored {
        let hit = with_check(findings, |f| f.provenance.check.starts_with(prefix));
        if !hit.is_empty() {
            deductions.push(ScoreItem {
                rule: rule.into(),
                points: None,
                basis: "检查指标列有此项，分值未确认，未计分".into(),
                findings: refs(&hit),
            });
        }
    }
    deductions
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_model::{AssetKind, AssetRef, Provenance, Text};

    fn f(check: &str, severity: Severity, title: &str, location: &str) -> NewFinding {
        NewFinding {
            asset: AssetRef::new(AssetKind::Website, "http://x.test/"),
            severity,
            title: Text::new(title, ""),
            evidence: String::new(),
            location: location.into(),
            provenance: Provenance::now("site", check, location),
        }
    }

    #[test]
    fn a_clean_site_passes_with_full_marks() {
        let s = score(&[]);
        assert!(s.passed);
        assert_eq!(s.points, 100.0);
        assert!(s.label.contains("自动估计"));
    }

    #[test]
    fn deductions_add_up_and_link_their_findings() {
        let findings = vec![
            f(
                "site.broken-link",
                Severity::Medium,
                "首页内链死链",
                "http://x.test/a",
            ),
            f(
                "site.broken-link",
                Severity::Medium,
                "首页内链死链",
                "http://x.test/b",
            ),
            f(
                "site.broken-image",
                Severity::Low,
                "内链图片无法显示",
                "http://x.test/c.png",
            ),
            f(
                "site.stale-column",
                Severity::Medium,
                "栏目「政策文件」长期未更新",
                "http://x.test/zcwj/",
            ),
            f(
                "site.footer.icp",
                Severity::Low,
                "页面底部未列明ICP备案编号",
                "http://x.test/ footer",
            ),
        ];
        let s = score(&findings);
        assert!(s.passed, "{s:#?}");
        assert_eq!(s.points, 100.0 - 2.0 - 0.1 - 5.0);
        let home = s
            .deductions
            .iter()
            .find(|d| d.rule.contains("首页"))
            .unwrap();
        assert_eq!(
            home.findings,
            [
                "site.broken-link @ http://x.test/a",
                "site.broken-link @ http://x.test/b"
            ]
        );
        let footer = s
            .deductions
            .iter()
            .find(|d| d.rule.contains("网站标识"))
            .unwrap();
        assert_eq!(footer.points, None);
    }

    #[test]
    fn an_attachment_that_could_not_be_read_is_a_warning_on_the_pass() {
        let s = score(&[f(
            "site.unreadable-attachment",
            Severity::Low,
            "附件无法读取",
            "http://x.test/a.docx",
        )]);
        assert_eq!(s.warnings.len(), 1, "{s:#?}");
        assert!(s.warnings[0].rule.contains("1 个附件无法读取"));
        assert_eq!(
            s.warnings[0].findings,
            ["site.unreadable-attachment @ http://x.test/a.docx"]
        );
        assert_eq!(s.points, 100.0);
    }

    #[test]
    fn vetoes_fail_the_site() {
        let s = score(&[f(
            "site.dark-link",
            Severity::Critical,
            "暗链",
            "http://x.test/ → http://c",
        )]);
        assert!(!s.passed);
        assert_eq!(s.vetoes.len(), 1);
        let blanks: Vec<NewFinding> = (0..5)
            .map(|i| {
                f(
                    "site.blank-column",
                    Severity::Medium,
                    "空白栏目",
                    &format!("http://x.test/{i}/"),
                )
            })
            .collect();
        let s = score(&blanks);
        assert!(!s.passed);
        assert!(s.vetoes[0].rule.contains("V4(c)"));
        // Four blank columns are not yet a veto.
        assert!(score(&blanks[..4]).passed);
    }

    #[test]
    fn a_site_whose_homepage_did_not_answer_is_never_scored_as_passing() {
        let home = f(
            "site.unreachable",
            Severity::Critical,
            "首页无法访问",
            "http://x.test/",
        );
        let s = score(&[home]);
        assert!(!s.passed, "{s:?}");
        assert!(
            s.unscored
                .as_deref()
                .is_some_and(|w| w.contains("首页无法访问"))
        );
    }
}
