//! Defacement: each run keeps a snapshot of what the pages said (title and
//! a fingerprint of the text; the homepage's text itself), and the next
//! run compares. A sudden large change of the homepage, or a changed page
//! title, is flagged with a diff.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shouwang_model::{NewFinding, Severity};
use shouwang_scan::{Dictionary, RuleKind};

use crate::checks::{FindingMaker, similarity};
use crate::page::shorten;

/// Homepage text kept in a snapshot, at most (characters).
const HOMEPAGE_TEXT_CHARS: usize = 32 * 1024;
/// Below this similarity of homepage text, the change is "large".
const DEFACED_BELOW: f64 = 0.5;

/// What one page said at the last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSnapshot {
    pub title: String,
    /// FNV-1a of the visible text: equal text, equal hash.
    pub text_hash: u64,
    /// The visible text, for the homepage only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// What the site said at the last run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSnapshot {
    pub taken_at: Option<DateTime<Utc>>,
    pub homepage: String,
    pub pages: BTreeMap<String, PageSnapshot>,
}

impl SiteSnapshot {
    /// A file name for the snapshot of a site: its host and a hash of its
    /// URL, safe on any file system.
    pub fn file_name(site: &str) -> String {
        let host: String = url::Url::parse(site)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{host}-{:016x}.json", fnv1a(site))
    }
}

pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl PageSnapshot {
    pub fn new(title: &str, text: &str, keep_text: bool) -> PageSnapshot {
        PageSnapshot {
            title: title.to_string(),
            text_hash: fnv1a(text),
            text: keep_text.then(|| text.chars().take(HOMEPAGE_TEXT_CHARS).collect()),
        }
    }
}

fn spam_in(dictionary: &Dictionary, text: &str) -> HashSet<String> {
    dictionary
        .find(text)
        .iter()
        .map(|h| dictionary.rule(h))
        .filter(|r| r.kind == RuleKind::Spam)
        .map(|r| r.find.clone())
        .collect()
}

/// Lines added and removed between two texts, a few of each, as a diff.
fn line_diff(before: &str, after: &str, max: usize) -> String {
    let old: HashSet<&str> = before.lines().collect();
    let new: HashSet<&str> = after.lines().collect();
    let mut out = Vec::new();
    for l in before.lines().filter(|l| !new.contains(l)).take(max) {
        out.push(format!("- {}", shorten(l, 80)));
    }
    for l in after.lines().filter(|l| !old.contains(l)).take(max) {
        out.push(format!("+ {}", shorten(l, 80)));
    }
    out.join("\n")
}

/// Findings for what changed between the last snapshot and this one.
pub fn compare(
    previous: &SiteSnapshot,
    current: &SiteSnapshot,
    dictionary: &Dictionary,
    maker: &FindingMaker,
) -> Vec<NewFinding> {
    let mut out = Vec::new();
    let since = previous
        .taken_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "上次巡查".into());
    for (url, now) in &current.pages {
        let Some(before) = previous.pages.get(url) else {
            continue;
        };
        let is_home = *url == current.homepage;
        let new_spam: Vec<String> = {
            let had = spam_in(
                dictionary,
                &format!("{} {}", before.title, before.text.as_deref().unwrap_or("")),
            );
            let mut v: Vec<String> = spam_in(
                dictionary,
                &format!("{} {}", now.title, now.text.as_deref().unwrap_or("")),
            )
            .into_iter()
            .filter(|w| !had.contains(w))
            .collect();
            v.sort();
            v
        };
        if is_home
            && let (Some(old), Some(new)) = (&before.text, &now.text)
            && before.text_hash != now.text_hash
        {
            let sim = similarity(old, new);
            if sim < DEFACED_BELOW || !new_spam.is_empty() {
                out.push(maker.make(
                    "site.defacement",
                    if new_spam.is_empty() {
                        Severity::High
                    } else {
                        Severity::Critical
                    },
                    "首页内容突变，疑似被篡改",
                    "Homepage changed suddenly: possible defacement",
                    &format!(
                        "与 {since} 相比，首页文字相似度 {:.0}%{}；标题「{}」→「{}」\n{}",
                        sim * 100.0,
                        if new_spam.is_empty() {
                            String::new()
                        } else {
                            format!("，新出现「{}」", new_spam.join("、"))
                        },
                        shorten(&before.title, 40),
                        shorten(&now.title, 40),
                        line_diff(old, new, 5)
                    ),
                    &format!("{url} defacement"),
                ));
                continue;
            }
        }
        if before.title.trim() != now.title.trim() && !before.title.trim().is_empty() {
            let severity = if !new_spam.is_empty() {
                Severity::Critical
            } else if is_home {
                Severity::High
            } else {
                Severity::Low
            };
            out.push(maker.make(
                "site.title-changed",
                severity,
                if is_home {
                    "首页标题被修改"
                } else {
                    "页面标题被修改"
                },
                "Page title changed",
                &format!(
                    "与 {since} 相比：\n- {}\n+ {}{}",
                    shorten(&before.title, 80),
                    shorten(&now.title, 80),
                    if new_spam.is_empty() {
                        String::new()
                    } else {
                        format!("\n新出现「{}」", new_spam.join("、"))
                    }
                ),
                &format!("{url} title"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_model::{AssetKind, AssetRef};

    fn maker() -> FindingMaker {
        FindingMaker {
            asset: AssetRef::new(AssetKind::Website, "http://x.test/"),
        }
    }

    fn snap(home_title: &str, home_text: &str, page_title: &str) -> SiteSnapshot {
        let mut pages = BTreeMap::new();
        pages.insert(
            "http://x.test/".to_string(),
            PageSnapshot::new(home_title, home_text, true),
        );
        pages.insert(
            "http://x.test/a.html".to_string(),
            PageSnapshot::new(page_title, "正文", false),
        );
        SiteSnapshot {
            taken_at: Some(Utc::now()),
            homepage: "http://x.test/".into(),
            pages,
        }
    }

    const HOME: &str = "某某镇人民政府\n工作动态\n我镇召开安全生产会议\n通知公告\n关于防汛工作的通知\n政务公开\n办事服务";

    #[test]
    fn ordinary_updates_are_quiet() {
        let d = Dictionary::builtin();
        let before = snap("某某镇人民政府", HOME, "通知");
        let after = snap(
            "某某镇人民政府",
            &HOME.replace("安全生产会议", "防汛工作会议"),
            "通知",
        );
        assert!(compare(&before, &after, &d, &maker()).is_empty());
        assert!(compare(&before, &before, &d, &maker()).is_empty());
    }

    #[test]
    fn a_defaced_homepage_is_flagged_with_a_diff() {
        let d = Dictionary::builtin();
        let before = snap("某某镇人民政府", HOME, "通知");
        let after = snap(
            "Hacked by X",
            "Hacked by X\n百家乐 真人娱乐 开户送彩金",
            "通知",
        );
        let f = compare(&before, &after, &d, &maker());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].provenance.check, "site.defacement");
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].evidence.contains("- 工作动态"), "{}", f[0].evidence);
        assert!(f[0].evidence.contains("+ 百家乐"), "{}", f[0].evidence);
    }

    #[test]
    fn changed_titles_are_flagged() {
        let d = Dictionary::builtin();
        let before = snap("某某镇人民政府", HOME, "通知");
        let after = snap("某某镇人民政府", HOME, "澳门葡京 百家乐");
        let f = compare(&before, &after, &d, &maker());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].provenance.check, "site.title-changed");
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].location.ends_with("a.html title"));
    }

    #[test]
    fn snapshots_round_trip_through_json() {
        let s = snap("a", "b", "c");
        let back: SiteSnapshot = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
