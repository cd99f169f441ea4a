//! A run and a diff of two runs as a terminal shows them: failures first
//! with their evidence and fix, then the score per 等保 control. The CLI
//! prints these; the HTML report is `html`.

use std::path::Path;

use shouwang_model::text::{key_values, shorten, table};
use shouwang_model::{Text, beijing_seconds};

use crate::engine::{Change, CheckResult, Run, Verdict};
use crate::rule::{ProfileDef, Rule};

/// Where a recorded run was kept and how many findings it resolved.
pub struct Recorded<'a> {
    pub file: &'a Path,
    pub resolved: usize,
}

/// The whole run: every rule's verdict, the failures' evidence and fixes,
/// the scores, and a summary.
pub fn run(run: &Run, recorded: Option<Recorded<'_>>) -> String {
    let mut rows: Vec<&CheckResult> = run.results.iter().collect();
    rows.sort_by_key(|r| {
        (
            r.verdict != Verdict::Fail,
            r.verdict != Verdict::CannotCheck,
            std::cmp::Reverse(r.severity),
            r.id.clone(),
        )
    });
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("{} {}", r.verdict.as_str(), r.verdict.zh()),
                r.severity.zh().to_string(),
                r.id.clone(),
                r.shown_title().zh.clone(),
                shorten(&r.summary, 89),
            ]
        })
        .collect();
    let mut out = table(&["RESULT", "SEV", "RULE", "TITLE", "SEEN"], &table_rows);
    out.push('\n');
    out.push_str(&failures(&rows));
    out.push_str(&scores(run));
    out.push('\n');
    out.push_str(&summary(run, recorded));
    out
}

/// Evidence and fix of each failed rule, most severe first.
fn failures(rows: &[&CheckResult]) -> String {
    let failed: Vec<&&CheckResult> = rows.iter().filter(|r| r.verdict == Verdict::Fail).collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from("Evidence and fixes 证据与整改:\n");
    for r in failed {
        out.push_str(&format!(
            "\n[{}] {} ({})\n",
            r.id,
            r.shown_title().zh,
            r.clause
        ));
        for e in r.evidence.iter().take(5) {
            out.push_str(&format!("  {}\n", shorten(&e.to_string(), 159)));
        }
        if r.evidence.len() > 5 {
            out.push_str(&format!("  … {} more\n", r.evidence.len() - 5));
        }
        out.push_str(&format!("  fix: {}\n", r.fix.zh));
        if let Some(c) = &r.fix.command {
            out.push_str(&format!("       {c}\n"));
        }
    }
    out.push('\n');
    out
}

fn scores(run: &Run) -> String {
    let rows: Vec<Vec<String>> = run
        .scores
        .iter()
        .map(|s| {
            vec![
                s.control.clone(),
                s.name.clone(),
                s.pass.to_string(),
                s.fail.to_string(),
                s.cannot_check.to_string(),
                format!("{:.1}", s.score),
            ]
        })
        .collect();
    table(
        &["等保", "CONTROL", "PASS", "FAIL", "CANNOT", "SCORE"],
        &rows,
    )
}

fn summary(run: &Run, recorded: Option<Recorded<'_>>) -> String {
    let mode = if run.live { " (live)" } else { " (offline)" };
    let mut pairs = vec![
        ("host", format!("{} ({})", run.host, run.os)),
        ("root", format!("{}{mode}", run.root)),
        ("profile", run.profile.clone()),
        (
            "result",
            format!(
                "score {:.1}; {} pass, {} fail, {} could not check; {} ms",
                run.overall.score,
                run.count(Verdict::Pass),
                run.count(Verdict::Fail),
                run.count(Verdict::CannotCheck),
                run.duration_ms
            ),
        ),
    ];
    if let Some(r) = recorded {
        pairs.push(("recorded", r.file.display().to_string()));
        if r.resolved > 0 {
            pairs.push(("resolved", format!("{} findings now pass", r.resolved)));
        }
    }
    key_values(&pairs)
}

/// What changed from run `a` to run `b`, with when each ran (Beijing time).
pub fn diff(a: &Run, b: &Run, changes: &[Change]) -> String {
    let v = |x: Option<Verdict>| x.map_or("-".to_string(), |v| v.as_str().to_string());
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                format!("{} -> {}", v(c.before), v(c.after)),
                shorten(c.after_summary.as_deref().unwrap_or(""), 79),
            ]
        })
        .collect();
    let when = |r: &Run| beijing_seconds(r.started_at);
    let mut out = format!(
        "{}: {} ({}) -> {} ({}), 北京时间: score {:.1} -> {:.1}\n\n",
        b.host,
        when(a),
        a.profile,
        when(b),
        b.profile,
        a.overall.score,
        b.overall.score
    );
    if changes.is_empty() {
        out.push_str("no change\n");
    } else {
        out.push_str(&table(&["RULE", "CHANGE", "NOW"], &rows));
    }
    out
}

/// The profiles with how many rules each has.
pub fn profiles(profiles: &[(&ProfileDef, usize)]) -> String {
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|(p, n)| vec![p.name.clone(), n.to_string(), zh(&p.title)])
        .collect();
    table(&["PROFILE", "RULES", "TITLE"], &rows)
}

/// A profile's rules with their 等保 clause and severity.
pub fn rules(rules: &[&Rule]) -> String {
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.clause.clone(),
                r.severity.zh().to_string(),
                r.title.zh.clone(),
            ]
        })
        .collect();
    table(&["RULE", "等保", "SEV", "TITLE"], &rows)
}

fn zh(t: &Text) -> String {
    t.zh.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSet;
    use crate::root::Root;

    #[test]
    fn a_diff_says_its_times_are_beijing_time() {
        let set = RuleSet::embedded().unwrap();
        let rules = set.profile("dengbao2").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a = crate::run(&Root::offline(dir.path().to_path_buf()), "dengbao2", &rules);
        let text = diff(&a, &a, &crate::diff(&a, &a));
        let utc = a.started_at.format("%H:%M:%S").to_string();
        let beijing = (a.started_at + chrono::Duration::hours(8))
            .format("%H:%M:%S")
            .to_string();
        assert!(text.contains("北京时间"), "{text}");
        assert!(text.contains(&beijing) && !text.contains(&utc), "{text}");
        assert!(text.contains("no change"), "{text}");
    }

    #[test]
    fn a_run_lists_each_failure_with_its_fix_and_the_scores() {
        let set = RuleSet::embedded().unwrap();
        let rules = set.profile("dengbao2").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::fs::write(
            dir.path().join("etc/ssh/sshd_config"),
            "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
        )
        .unwrap();
        let r = crate::run(&Root::offline(dir.path().to_path_buf()), "dengbao2", &rules);
        assert!(
            r.count(Verdict::Fail) > 0,
            "the planted sshd_config fails no rule"
        );
        let text = run(&r, None);
        assert!(text.contains("证据与整改"), "{text}");
        for c in r.results.iter().filter(|c| c.verdict == Verdict::Fail) {
            assert!(text.contains(&format!("[{}]", c.id)), "{} missing", c.id);
        }
        assert!(text.contains("SCORE") && text.contains("profile"), "{text}");
    }
}
