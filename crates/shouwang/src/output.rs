//! Tables, boxes and JSON on stdout. Logs go to stderr, so that stdout
//! stays parseable.

use std::io::{self, Write};

use anyhow::{Context, Result};
use serde::Serialize;

/// Write `value` as pretty JSON and a newline.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("cannot write JSON to stdout")?;
    writeln!(out).context("cannot write to stdout")?;
    Ok(())
}

/// Write text as is.
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
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
