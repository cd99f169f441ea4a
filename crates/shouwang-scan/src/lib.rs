//! Matchers shared by Shouwang's sensors.
//!
//! - [`pii`]: personal information in text: 18-digit resident ID numbers
//!   (GB 11643 checksum and a plausible birth date), mainland mobile
//!   numbers, bank card numbers (Luhn), and masking so that no report or
//!   store ever holds the full value.
//! - [`wording`]: user-editable dictionaries of wrong → right expressions,
//!   common 错别字 and forbidden or spam words, matched in one Aho-Corasick
//!   pass, with context rules that keep valid uses (纪念馆, 建国门) quiet.
//!
//! - [`extract`]: text out of attachments (DOCX, XLSX, PDF, DOC, XLS,
//!   CSV) for the PII detectors.
//!
//! Pure functions over bytes and `&str`: no IO.

pub mod extract;
pub mod pii;
pub mod wording;

pub use pii::{PiiKind, PiiMatch, find_pii, redact};
pub use wording::{Dictionary, DictionaryError, Rule, RuleKind, WordingHit};

/// A window of `text` around `start..end`, at most `radius` characters on
/// each side, cut on character boundaries. Used for evidence snippets.
pub fn snippet(text: &str, start: usize, end: usize, radius: usize) -> &str {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut from = start;
    for _ in 0..radius {
        match text[..from].chars().next_back() {
            Some(c) => from -= c.len_utf8(),
            None => break,
        }
    }
    let mut to = end;
    for _ in 0..radius {
        match text[to..].chars().next() {
            Some(c) => to += c.len_utf8(),
            None => break,
        }
    }
    &text[from..to]
}

/// A snippet fit to show or store: every personal number in it masked,
/// including one cut in half by the window's edge (a half number is still
/// too much of one).
pub fn masked_snippet(text: &str, start: usize, end: usize, radius: usize) -> String {
    let window = snippet(text, start, end, radius);
    let offset = window.as_ptr() as usize - text.as_ptr() as usize;
    let cut_left = text[..offset]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_digit());
    let cut_right = text[offset + window.len()..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit());
    let mut out = redact(window).into_owned();
    let star_edge = |s: &mut String, from_left: bool| {
        let bytes = s.as_bytes();
        let run = if from_left {
            bytes.iter().take_while(|b| b.is_ascii_digit()).count()
        } else {
            bytes
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let range = if from_left {
            0..run
        } else {
            s.len() - run..s.len()
        };
        s.replace_range(range, &"*".repeat(run));
    };
    if cut_left {
        star_edge(&mut out, true);
    }
    if cut_right {
        star_edge(&mut out, false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_snippets_hide_half_numbers_at_the_edges() {
        let text = "联系电话 13812345678，另见";
        // A window that ends inside the number.
        let end = text.find("567").unwrap();
        let s = masked_snippet(text, 0, "联系".len(), 8);
        assert!(!s.contains("138123"), "{s}");
        let s = masked_snippet(text, end, end + 3, 2);
        assert!(!s.contains("1234"), "{s}");
        assert_eq!(masked_snippet("无数字", 0, 3, 5), "无数字");
    }

    #[test]
    fn snippets_cut_on_characters() {
        let t = "一二三四五六七八九十";
        // 四 is bytes 9..12
        assert_eq!(snippet(t, 9, 12, 2), "二三四五六");
        assert_eq!(snippet(t, 0, 3, 5), "一二三四五六");
        assert_eq!(snippet(t, 27, 30, 100), t);
        assert_eq!(snippet(t, 10, 11, 1), "三四五");
        assert_eq!(snippet("", 5, 9, 3), "");
    }
}
