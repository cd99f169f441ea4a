//! A self-contained HTML report of a run (`host check --html FILE`): one
//! file, no scripts, to attach to a 自查报告 or open in any browser.

use std::fmt::Write as _;

use crate::engine::{Run, Verdict};

use shouwang_model::text::escape_html as esc;

pub fn render(run: &Run) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>主机安全自查 {host}</title>\
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;width:100%;margin:1em 0}}\
td,th{{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}}.pass{{color:#176f2c}}.fail{{color:#b00020;font-weight:bold}}\
.cannot-check{{color:#8a6d00}}pre{{margin:0;white-space:pre-wrap;font-size:90%}}</style></head><body>\n\
<h1>主机安全自查报告 Host self-inspection</h1>\n<p>主机 Host: <b>{host}</b> · 系统 OS: {os} · 检查范围 Profile: {profile} · \
时间 Time: {time} · 根目录 Root: {root} · 用时 {ms} ms · 守望 {version}</p>\n",
        host = esc(&run.host),
        os = esc(&run.os),
        profile = esc(&run.profile),
        time = run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        root = esc(&run.root),
        ms = run.duration_ms,
        version = esc(&run.version),
    );
    let _ = writeln!(
        h,
        "<p>总分 Overall: <b>{:.1}</b> · 符合 {} · 不符合 {} · 无法检查 {}</p>",
        run.overall.score, run.overall.pass, run.overall.fail, run.overall.cannot_check
    );
    for (heading, scores) in [
        ("等保条款得分 Scores per 等保 control", &run.scores),
        ("条款得分 Scores per clause", &run.clause_scores),
    ] {
        let _ = writeln!(
            h,
            "<h2>{heading}</h2>\n<table><tr><th>条款</th><th>控制点</th><th>符合</th><th>不符合</th><th>无法检查</th><th>得分</th></tr>"
        );
        for s in scores {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
                esc(&s.control),
                esc(&s.name),
                s.pass,
                s.fail,
                s.cannot_check,
                s.score
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>检查结果 Results</h2>\n<table><tr><th>结果</th><th>检查项</th><th>条款</th><th>级别</th><th>所见与证据</th><th>整改建议</th></tr>\n");
    let mut results: Vec<_> = run.results.iter().collect();
    results.sort_by_key(|r| {
        (
            r.verdict != Verdict::Fail,
            r.verdict != Verdict::CannotCheck,
            std::cmp::Reverse(r.severity),
        )
    });
    for r in results {
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .take(20)
            .map(|e| esc(&e.shown_in("zh")))
            .collect();
        let fix = match &r.fix.command {
            Some(c) => format!("{}<pre>{}</pre>", esc(&r.fix.zh), esc(c)),
            None => esc(&r.fix.zh),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"{cls}\">{zh}</td><td>{title}<br><small>{id}</small></td><td>{clause}</td><td>{sev}</td><td>{summary}<pre>{ev}</pre></td><td>{fix}</td></tr>",
            cls = r.verdict.as_str(),
            zh = r.verdict.zh(),
            title = esc(&r.shown_title().zh),
            id = esc(&r.id),
            clause = esc(&r.clause),
            sev = r.severity.zh(),
            summary = esc(r.summary_in("zh")),
            ev = evidence.join("\n"),
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}
