//! A self-contained HTML report of one inspection: no scripts, no external
//! styles, so that it can be mailed or archived as one file.

use std::fmt::Write as _;

use shouwang_model::Severity;

use crate::Report;

use shouwang_model::text::escape_html as esc;

/// The report as one HTML document (Chinese, as it is meant for the unit).
pub fn render_html(report: &Report) -> String {
    let mut h = String::new();
    let title = format!(
        "网站巡查报告 — {}",
        report.name.as_deref().unwrap_or(&report.site)
    );
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{t}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%;margin:1em 0}}
th,td{{border:1px solid #ccc;padding:.35em .5em;vertical-align:top;text-align:left;font-size:.92em}}
th{{background:#f3f3f3}} .critical{{color:#fff;background:#a00}} .high{{background:#f4a}}
.medium{{background:#fc6}} .low{{background:#cef}} .info{{background:#eee}}
td.ev{{word-break:break-all;max-width:40em}} .sev{{white-space:nowrap}} .note{{color:#666;font-size:.9em}}
</style></head><body>
<h1>{t}</h1>
<p class="note">守望 Shouwang {v} 自动巡查生成。个人信息已脱敏。</p>
<table>
<tr><th>网站</th><td>{site}</td></tr>
<tr><th>巡查时间</th><td>{start} — {end}（北京时间）</td></tr>
<tr><th>首页</th><td>{home}</td></tr>
<tr><th>检查页面数</th><td>{pages}</td></tr>
<tr><th>检查链接与资源数</th><td>{refs}</td></tr>
<tr><th>首页死链</th><td>{bh}</td></tr>
<tr><th>其他页面死链</th><td>{be}</td></tr>
<tr><th>问题总数</th><td>{n}</td></tr>
</table>
"#,
        t = esc(&title),
        v = shouwang_model::VERSION,
        site = esc(&report.site),
        start = shouwang_model::beijing_seconds(report.started_at),
        end = shouwang_model::beijing_seconds(report.finished_at),
        home = esc(&match (&report.homepage.status, &report.homepage.error) {
            (Some(s), _) => format!("HTTP {s}，{} 毫秒", report.homepage.elapsed_ms),
            (None, Some(e)) => format!("无法访问：{e}"),
            (None, None) => "未知".to_string(),
        }),
        pages = report.pages,
        refs = report.refs_checked,
        bh = report.broken_on_homepage,
        be = report.broken_elsewhere,
        n = report.findings.len(),
    );
    if !report.limits_hit.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"note\">本次巡查受到限制：{}</p>",
            esc(&report.limits_hit.join("；"))
        );
    }
    let sc = &report.score;
    match &sc.unscored {
        Some(why) => {
            let _ = writeln!(
                h,
                "<h2>评分估计</h2>\n<p class=\"note\">{}</p>\n<p><strong>无法评分</strong>：{}</p>",
                esc(&sc.label),
                esc(why)
            );
        }
        None => {
            let _ = writeln!(
                h,
                "<h2>评分估计</h2>\n<p class=\"note\">{}</p>\n<p><strong>{}</strong>，扣分项得分 {:.1} / 100；单项否决 {} 项</p>",
                esc(&sc.label),
                if sc.passed {
                    "合格（估计）"
                } else {
                    "不合格（估计）"
                },
                sc.points,
                sc.vetoes.len()
            );
        }
    }
    for (heading, items) in [
        ("单项否决", &sc.vetoes),
        ("扣分", &sc.deductions),
        ("风险提示", &sc.warnings),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<h3>{heading}</h3><table><tr><th>项目</th><th>扣分</th><th>依据</th><th>相关问题</th></tr>"
        );
        for item in items.iter() {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"ev\">{}</td></tr>",
                esc(&item.rule),
                item.points.map_or("—".to_string(), |p| format!("{p:.1}")),
                esc(&item.basis),
                item.findings
                    .iter()
                    .map(|f| esc(f))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">未测项目：{}</p>",
        esc(&sc.not_measured.join("；"))
    );
    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.provenance.check.cmp(&b.provenance.check))
    });
    h.push_str("<h2>问题清单</h2>\n");
    if findings.is_empty() {
        h.push_str("<p>未发现问题。</p>\n");
    } else {
        h.push_str(
            "<table><tr><th>级别</th><th>问题</th><th>位置</th><th>证据</th><th>检查项</th></tr>\n",
        );
        for f in findings {
            let class = f.severity.as_str();
            let _ = writeln!(
                h,
                "<tr><td class=\"{class} sev\">{}</td><td>{}</td><td class=\"ev\">{}</td><td class=\"ev\">{}</td><td>{}</td></tr>",
                esc(Severity::zh(f.severity)),
                esc(&f.title.zh),
                esc(&f.location),
                esc(&f.evidence),
                esc(&f.provenance.check),
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HomepageStatus;
    use shouwang_model::{AssetKind, AssetRef, NewFinding, Provenance, Text};

    fn report() -> Report {
        Report {
            site: "http://x.test/".into(),
            name: Some("某镇".into()),
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
            homepage: HomepageStatus {
                status: Some(200),
                elapsed_ms: 12,
                final_url: "http://x.test/".into(),
                redirects: vec![],
                error: None,
            },
            pages: 1,
            refs_checked: 2,
            links_found: 3,
            broken_on_homepage: 0,
            broken_elsewhere: 0,
            text_bytes: 10,
            limits_hit: vec![],
            snapshot: Default::default(),
            score: crate::score::score(&[]),
            findings: vec![NewFinding {
                asset: AssetRef::new(AssetKind::Website, "http://x.test/"),
                severity: Severity::Critical,
                title: Text::new("暗链", "dark link"),
                evidence: "<a href=\"http://evil\">百家乐</a>".into(),
                location: "http://x.test/".into(),
                provenance: Provenance::now("site", "site.dark-link", "http://x.test/"),
            }],
        }
    }

    #[test]
    fn findings_are_escaped() {
        let html = render_html(&report());
        assert!(html.contains("&lt;a href=&quot;http://evil&quot;&gt;"));
        assert!(!html.contains("<a href=\"http://evil\">"));
        assert!(html.contains("某镇"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_runs_event_is_stored_with_the_same_details_as_before_the_contract() {
        let r = report();
        let e = r.event();
        assert_eq!(e.kind, "site.inspected");
        assert_eq!(
            e.details,
            serde_json::json!({
                "pages": 1,
                "refs_checked": 2,
                "links_found": 3,
                "broken_on_homepage": 0,
                "broken_elsewhere": 0,
                "homepage": {
                    "status": 200, "elapsed_ms": 12, "final_url": "http://x.test/",
                    "redirects": [], "error": null
                },
                "findings_by_check": { "site.dark-link": 1 },
                "limits_hit": [],
                "duration_ms": (r.finished_at - r.started_at).num_milliseconds(),
                "score": 100.0,
            })
        );
        // A homepage that did not answer gives no estimate, not a 100.
        let mut down = report();
        down.score.unscored = Some("首页无法访问，本次巡查无法评分".into());
        assert_eq!(down.event().details["score"], serde_json::Value::Null);
    }
}
