//! The same documents as one self-contained, printable HTML page (no
//! scripts, no external resources), rendered with minijinja from the block
//! model.

use minijinja::{Environment, context};

use crate::doc::Document;
use crate::{ReportError, Result};

const TEMPLATE: &str = include_str!("../templates/report.html");

/// The document as HTML.
pub fn render(doc: &Document) -> Result<String> {
    let mut env = Environment::new();
    // Auto-escaping is on for .html names.
    env.add_filter("lines", |s: String| -> Vec<String> {
        s.split('\n').map(str::to_string).collect()
    });
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Html(e.to_string()))?;
    let t = env
        .get_template("report.html")
        .map_err(|e| ReportError::Html(e.to_string()))?;
    t.render(context! { title => &doc.title, blocks => &doc.blocks })
        .map_err(|e| ReportError::Html(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Block, Table};

    #[test]
    fn blocks_render_escaped_with_line_breaks() {
        let doc = Document {
            title: "报告<1>".into(),
            blocks: vec![
                Block::Title {
                    text: "报告<1>".into(),
                },
                Block::Para {
                    text: "甲 & 乙\n丙".into(),
                },
                Block::Table {
                    table: Table {
                        widths: vec![1, 1],
                        header: vec!["a".into(), "b".into()],
                        rows: vec![vec!["<script>".into(), "2".into()]],
                    },
                },
            ],
        };
        let html = render(&doc).unwrap();
        assert!(html.contains("<title>报告&lt;1&gt;</title>"));
        assert!(html.contains("甲 &amp; 乙<br>丙"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
