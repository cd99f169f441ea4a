//! An inspection as a terminal shows it: the summary, then the findings
//! most severe first. The CLI prints these; the HTML report is `html`.

use shouwang_model::text::{key_values, shorten, table};

use crate::Report;

/// One inspection: what was reached and checked, the score estimate, and
/// every finding.
pub fn report(r: &Report) -> String {
    let homepage = match (&r.homepage.status, &r.homepage.error) {
        (Some(s), _) => format!("HTTP {s}, {} ms", r.homepage.elapsed_ms),
        (None, Some(e)) => format!("无法访问 unreachable: {e}"),
        (None, None) => "?".into(),
    };
    let mut pairs = vec![
        ("网站 site", r.site.clone()),
        ("首页 homepage", homepage),
        ("页面 pages", r.pages.to_string()),
        (
            "链接与资源 links and resources",
            format!(
                "{} 个地址 distinct URLs，{} 处引用 occurrences",
                r.refs_checked, r.links_found
            ),
        ),
        (
            "死链 broken",
            format!(
                "首页 homepage {}，其他页面 other pages {}",
                r.broken_on_homepage, r.broken_elsewhere
            ),
        ),
        ("问题 findings", r.findings.len().to_string()),
        (
            "评分估计 score (estimate)",
            match &r.score.unscored {
                Some(why) => format!("无法评分 not scored：{why}"),
                None => format!(
                    "{}，扣分项得分 {:.1}/100，单项否决 {} 项（自动估计，非官方评分）",
                    if r.score.passed {
                        "合格 pass"
                    } else {
                        "不合格 fail"
                    },
                    r.score.points,
                    r.score.vetoes.len()
                ),
            },
        ),
    ];
    if let Some(name) = &r.name {
        pairs.insert(0, ("名称 name", name.clone()));
    }
    if !r.limits_hit.is_empty() {
        pairs.push(("限制 limits hit", r.limits_hit.join("; ")));
    }
    let mut out = key_values(&pairs);
    if !r.findings.is_empty() {
        let mut findings: Vec<_> = r.findings.iter().collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.provenance.check.cmp(&b.provenance.check))
                .then(a.location.cmp(&b.location))
        });
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.zh().to_string(),
                    f.provenance.check.clone(),
                    shorten(&f.title.zh, 30),
                    shorten(&f.location, 70),
                    shorten(&f.evidence.replace('\n', " "), 60),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &["级别", "CHECK", "问题", "位置 LOCATION", "证据 EVIDENCE"],
            &rows,
        ));
    }
    out
}

/// The sites to inspect: `[url, name, our own site]` per row.
pub fn sites(rows: &[crate::runtime::SiteRow]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let own = if r.own_site { "yes" } else { "no" };
            vec![r.url.clone(), r.name.clone(), own.to_string()]
        })
        .collect();
    table(&["URL", "名称 NAME", "OWN"], &rows)
}
