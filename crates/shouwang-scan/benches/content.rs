//! Content matching throughput: the wording dictionary and the PII
//! detectors over page text, on one core.
//!
//! Usage: cargo bench -p shouwang-scan --bench content -- [MB] [DIR]
//! Writes the corpus and the dictionary's words to DIR (so that a peer
//! such as `grep -F` can run on the same input) and prints, last,
//! `shouwang_mb_per_s: X`.

use std::io::Write;
use std::time::Instant;

use shouwang_scan::{Dictionary, find_pii};

/// Sentences of the kind a township site publishes, a few with planted
/// errors and numbers, shuffled into a corpus of the requested size.
const SENTENCES: &[&str] = &[
    "为深入贯彻落实党中央、国务院决策部署，进一步加强基层治理能力建设，现将有关事项通知如下。",
    "各村（社区）要高度重视，明确责任分工，确保各项工作落到实处。",
    "2024年5月1日，我镇召开安全生产工作会议，镇党委书记出席会议并讲话。",
    "会议强调，要坚持人民至上、生命至上，扎实做好防汛抗旱和森林防火工作。",
    "本次活动共发放宣传资料1200余份，接受群众咨询300余人次。",
    "联系人：王某某，联系电话：0591-87654321，邮箱：xxzf@example.gov.cn。",
    "我镇位于县城东部，总面积126平方公里，辖12个行政村、2个社区，户籍人口3.2万人。",
    "近年来，我镇坚持生态优先、绿色发展，大力发展茶叶、竹笋等特色产业。",
    "全镇上下再接再励，奋力推进乡村全面振兴。",
    "为纪念新中国成立75周年，我镇举办文艺汇演。",
    "申请人李某某，身份证号350582199003071238，住址略。",
    "请于2024年6月30日前将材料报送镇党政办，逾期不予受理。",
    "参观革命纪念馆，缅怀革命先烈，传承红色基因。",
    "镇纪委开展作风建设专项检查，发现问题5个，已全部整改到位。",
    "根据《中华人民共和国政府信息公开条例》规定，现将2023年度政府信息公开工作情况报告如下。",
    "Department of Agriculture notice: applications close on 2024-06-30, see http://www.example.gov.cn/.",
];

fn corpus(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 256);
    // xorshift: deterministic, no dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(SENTENCES[(x % SENTENCES.len() as u64) as usize]);
        if x.is_multiple_of(5) {
            out.push('\n');
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mb: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(64);
    let dir = args.get(1).cloned();
    let text = corpus(mb * 1024 * 1024);
    let dictionary = Dictionary::builtin();
    if let Some(dir) = &dir {
        std::fs::write(format!("{dir}/corpus.txt"), &text).unwrap();
        let mut words = std::fs::File::create(format!("{dir}/words.txt")).unwrap();
        for r in dictionary.rules() {
            writeln!(words, "{}", r.find).unwrap();
        }
    }
    let (mut best, mut best_wording, mut best_pii) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut wording_hits, mut pii_hits) = (0, 0);
    for _ in 0..3 {
        let started = Instant::now();
        wording_hits = 0;
        dictionary.for_each(&text, |_| wording_hits += 1);
        let wording = started.elapsed().as_secs_f64();
        pii_hits = find_pii(&text).len();
        let total = started.elapsed().as_secs_f64();
        best = best.min(total);
        best_wording = best_wording.min(wording);
        best_pii = best_pii.min(total - wording);
    }
    let size_mb = text.len() as f64 / (1024.0 * 1024.0);
    println!(
        "corpus: {size_mb:.1} MiB of page text, {} dictionary rules",
        dictionary.rules().len()
    );
    println!("wording hits: {wording_hits}, PII hits: {pii_hits}");
    println!(
        "time: {best:.3} s (best of 3, one core): wording {:.0} MB/s, PII {:.0} MB/s alone",
        size_mb / best_wording,
        size_mb / best_pii
    );
    println!("shouwang_mb_per_s: {:.1}", size_mb / best);
}
