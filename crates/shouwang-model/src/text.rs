//! Text helpers every output shares: one HTML escape, one way to shorten a
//! string for a table cell or a message. Each used to be written per crate,
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
}
