//! False hits of the built-in wording dictionary on correct official text.
//!
//! Usage: cargo bench -p shouwang-scan --bench wording_fp -- DIR [--show]
//! DIR is what `scripts/fetch-wording-corpus` made: `DIR/text/*.txt` and
//! `DIR/PROVENANCE`. Every hit on that text is counted as false, since the
//! text is taken to be correct. Prints the corpus size in characters, its
//! provenance, the hits, hits per 100,000 characters, the rules that fire
//! most and (with --show) every hit in its context; last,
//! `false_hits_per_100k_chars: X`.

use std::collections::BTreeMap;
use std::path::Path;

use shouwang_scan::{Dictionary, RuleKind};

/// The corpus is third-party text: bounded so that a wrong DIR cannot make
/// the bench read without end.
const MAX_FILES: usize = 20_000;
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show = args.iter().any(|a| a == "--show");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: wording_fp DIR [--show]  (DIR from scripts/fetch-wording-corpus)");
        std::process::exit(2);
    };
    let dir = Path::new(dir);
    let mut files: Vec<_> = std::fs::read_dir(dir.join("text"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("text").display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() <= MAX_FILES, "more than {MAX_FILES} files");
    let dictionary = Dictionary::builtin();
    // Spam words are counted apart: the site checks look for them only in
    // hidden links and cloaked pages, never report them in ordinary text
    // (a law against gambling names gambling).
    let (mut chars, mut hits, mut spam) = (0usize, 0usize, 0usize);
    let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
    let mut shown = Vec::new();
    for path in &files {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len <= MAX_FILE_BYTES, "{} is too large", path.display());
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        chars += text.chars().count();
        dictionary.for_each(&text, |h| {
            if dictionary.rule(&h).kind == RuleKind::Spam {
                spam += 1;
                return;
            }
            hits += 1;
            *per_rule.entry(h.rule).or_default() += 1;
            if show {
                let from = floor(&text, h.start.saturating_sub(30));
                let to = ceil(&text, (h.end + 30).min(text.len()));
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                shown.push(format!(
                    "  {name}: {}【{}】{}",
                    text[from..h.start].replace('\n', " "),
                    &text[h.start..h.end],
                    text[h.end..to].replace('\n', " ")
                ));
            }
        });
    }
    let provenance = std::fs::read_to_string(dir.join("PROVENANCE")).unwrap_or_default();
    println!("corpus: {chars} characters in {} files", files.len());
    print!("provenance:\n{provenance}");
    println!("dictionary: {} rules", dictionary.rules().len());
    let rate = hits as f64 * 100_000.0 / chars.max(1) as f64;
    println!("hits (would be findings: expression, typo, forbidden): {hits}");
    println!("spam words (not findings in ordinary text): {spam}");
    println!("hits per 100,000 characters: {rate:.3} (goal: under 1)");
    let mut top: Vec<_> = per_rule.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !top.is_empty() {
        println!("rules that fire most:");
    }
    for (rule, n) in top.iter().take(15) {
        let r = &dictionary.rules()[*rule];
        println!("  {n:>5}  {} → {} ({})", r.find, r.suggest, r.kind);
    }
    for line in &shown {
        println!("{line}");
    }
    println!("false_hits_per_100k_chars: {rate:.3}");
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
