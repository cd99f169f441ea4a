//! Text helpers every output shares: one HTML escape, one way to shorten a
//! string for a table cell or a message, one terminal table layout. Each used to be written per crate,
//! with small differences (one cut inside a UTF-8 character, one dropped the
//! ellipsis); these are the one copy.

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max_chars` characters of `s`, then `…` when something was cut.
/// Counts characters, not bytes, so Chinese text is never cut inside a
/// character.
pub fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// At most `max_bytes` bytes of `s` cut at a character boundary, then `…`
/// when something was cut: for the platforms that limit a message by its
/// UTF-8 length (企业微信 markdown, 4,096 bytes).
pub fn shorten_bytes(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Columns a terminal gives `s`: CJK characters take two. Good enough for
/// the Chinese names and labels Shouwang prints.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

fn pad(s: &str, width: usize) -> String {
    let fill = width.saturating_sub(display_width(s));
    format!("{s}{}", " ".repeat(fill))
}

/// Rows under a header, columns aligned, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `name  value` lines with the names aligned.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| display_width(k))
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{}  {v}\n", pad(k, width)))
        .collect()
}

/// Lines in a frame, to stand out from the log lines around them.
pub fn boxed(lines: &[String]) -> String {
    let width = lines.iter().map(|l| display_width(l)).max().unwrap_or(0);
    let mut out = format!("┌{}┐\n", "─".repeat(width + 2));
    for l in lines {
        out.push_str(&format!("│ {} │\n", pad(l, width)));
    }
    out.push_str(&format!("└{}┘\n", "─".repeat(width + 2)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_both_quotes_are_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape_html("网页篡改"), "网页篡改");
    }

    #[test]
    fn shortening_counts_characters_and_marks_the_cut() {
        assert_eq!(shorten("网页防篡改系统", 3), "网页防…");
        assert_eq!(shorten("网页防", 3), "网页防");
        assert_eq!(shorten("", 0), "");
        assert_eq!(shorten("ab", 0), "…");
    }

    #[test]
    fn shortening_by_bytes_never_cuts_inside_a_character() {
        // "网" is three bytes: a four-byte budget keeps one character.
        assert_eq!(shorten_bytes("网页", 4), "网…");
        assert_eq!(shorten_bytes("网页", 6), "网页");
        assert_eq!(shorten_bytes("网页", 2), "…");
    }

    #[test]
    fn chinese_takes_two_columns() {
        assert_eq!(display_width("admin"), 5);
        assert_eq!(display_width("管理员"), 6);
        assert_eq!(display_width("密码：x"), 7);
    }

    #[test]
    fn tables_align_mixed_scripts() {
        let t = table(
            &["NAME", "ROLE"],
            &[
                vec!["张三".into(), "admin".into()],
                vec!["bob".into(), "auditor".into()],
            ],
        );
        assert_eq!(t, "NAME  ROLE\n张三  admin\nbob   auditor\n");
    }

    #[test]
    fn boxes_close_on_the_right() {
        let b = boxed(&["密码".into(), "abcd".into()]);
        let widths: Vec<usize> = b.lines().map(display_width).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{b}");
    }
}
