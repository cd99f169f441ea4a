//! Filling a unit's own .docx template.
//!
//! Placeholders are `{{name}}` (spaces inside the braces allowed): a
//! scalar such as `{{unit.name}}` or `{{guard.restore_count}}` anywhere in
//! the body, headers and footers; or a block, `{{table:NAME}}` or
//! `{{section:NAME}}`, alone in its own paragraph, which the table or the
//! section's headings, paragraphs and tables replace. See
//! `docs/report-templates.md` for the names.
//!
//! Word and WPS split text into runs wherever formatting, spell checking
//! or editing history changes, so `{{unit.name}}` is often stored as
//! `{{`, `unit`, `.name}}` in three runs. The filler works on the text of
//! each paragraph as a whole: a placeholder's value goes into the run where
//! the placeholder starts (keeping that run's formatting) and the rest of
//! the placeholder is cut from the runs it spilled into. Everything else
//! in the part is copied byte for byte.
//!
//! Every problem (unknown name, a `{{` without `}}`, a bad name, a block
//! placeholder sharing its paragraph) is reported together, each with the
//! part, the paragraph number and the paragraph's text, and nothing is
//! written.

use std::io::Read;

use serde::Serialize;
use shouwang_model::text::shorten;

use crate::doc::Values;
use crate::docx::{blocks_xml, escape, zip_parts};
use crate::{ReportError, Result};

/// One problem in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceholderProblem {
    /// The part: `word/document.xml`, `word/header1.xml`...
    pub part: String,
    /// 1-based paragraph number within the part.
    pub paragraph: usize,
    /// The placeholder as written (or the start of the broken text).
    pub placeholder: String,
    /// What is wrong and what to do.
    pub problem: String,
    /// The paragraph's text, shortened.
    pub context: String,
}

/// The message of [`ReportError::Template`].
pub fn describe(template: &str, problems: &[PlaceholderProblem]) -> String {
    let mut s = format!(
        "the template {template} has {} placeholder problem{}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str(&format!(
            "\n  {} paragraph {}: {} {} (in \"{}\")",
            p.part, p.paragraph, p.placeholder, p.problem, p.context
        ));
    }
    s.push_str("\nThe placeholders are listed in docs/report-templates.md; fix them in Word or WPS and try again.");
    s
}

/// A token of an XML part.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// `<name ...>`
    Start(String),
    /// `</name>`
    End(String),
    /// `<name .../>`
    Empty(String),
    /// Character data, still escaped.
    Text,
    /// Declarations, comments, processing instructions, CDATA.
    Other,
}

/// Split an XML part into tokens with their byte ranges. OOXML parts are
/// machine-written, so this small scanner (quotes respected in tags) is
/// enough; anything it cannot read is an error, not a guess.
fn tokenize(xml: &str) -> std::result::Result<Vec<(Tok, usize, usize)>, String> {
    let b = xml.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let end = xml[i..].find('<').map(|j| i + j).unwrap_or(b.len());
            out.push((Tok::Text, i, end));
            i = end;
            continue;
        }
        let rest = &xml[i..];
        let close = |pat: &str| {
            rest.find(pat)
                .map(|j| i + j + pat.len())
                .ok_or_else(|| format!("unterminated markup at byte {i}"))
        };
        if rest.starts_with("<!--") {
            let end = close("-->")?;
            out.push((Tok::Other, i, end));
            i = end;
        } else if rest.starts_with("<![CDATA[") {
            let end = close("]]>")?;
            out.push((Tok::Other, i, end));
            i = end;
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = close(">")?;
            out.push((Tok::Other, i, end));
            i = end;
        } else {
            let mut j = i + 1;
            let mut quote = 0u8;
            while j < b.len() {
                let c = b[j];
                if quote != 0 {
                    if c == quote {
                        quote = 0;
                    }
                } else if c == b'"' || c == b'\'' {
                    quote = c;
                } else if c == b'>' {
                    break;
                }
                j += 1;
            }
            if j >= b.len() {
                return Err(format!("unterminated tag at byte {i}"));
            }
            let inner = &xml[i + 1..j];
            let end = j + 1;
            if let Some(name) = inner.strip_prefix('/') {
                out.push((Tok::End(name.trim().to_string()), i, end));
            } else {
                let self_closing = inner.ends_with('/');
                let name: String = inner
                    .trim_end_matches('/')
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .to_string();
                out.push((
                    if self_closing {
                        Tok::Empty(name)
                    } else {
                        Tok::Start(name)
                    },
                    i,
                    end,
                ));
            }
            i = end;
        }
    }
    Ok(out)
}

/// Decode the five entities and character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let Some(semi) = rest.find(';') else {
            out.push_str(rest);
            return out;
        };
        let ent = &rest[1..semi];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A paragraph: its token range and its `w:t` texts.
struct Paragraph {
    start: usize,
    end: usize,
    /// (token index of the text, decoded text); `w:t` elements only.
    segments: Vec<(usize, String)>,
    /// Inside another paragraph (a text box): blocks cannot go here.
    nested: bool,
}

/// A placeholder found in a paragraph's text.
struct Found {
    /// Character offsets into the paragraph text, `{{` to after `}}`.
    start: usize,
    end: usize,
    name: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// Find the placeholders of a paragraph's text, or its problems.
fn scan(text: &str) -> std::result::Result<Vec<Found>, Vec<(String, String)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == '{' && chars[i + 1] == '{' {
            let mut j = i + 2;
            let mut closed = None;
            while j + 1 < chars.len() {
                if chars[j] == '}' && chars[j + 1] == '}' {
                    closed = Some(j);
                    break;
                }
                if chars[j] == '{' && chars[j + 1] == '{' {
                    break;
                }
                j += 1;
            }
            match closed {
                Some(j) => {
                    let raw: String = chars[i + 2..j].iter().collect();
                    let name = raw.trim().to_string();
                    let written: String = chars[i..j + 2].iter().collect();
                    if valid_name(&name) {
                        found.push(Found {
                            start: i,
                            end: j + 2,
                            name,
                        });
                    } else {
                        problems.push((
                            written,
                            "is not a valid placeholder name (use letters, digits, '.', '_', ':' as in {{unit.name}})".into(),
                        ));
                    }
                    i = j + 2;
                }
                None => {
                    let written: String = chars[i..chars.len().min(i + 30)].iter().collect();
                    problems.push((written, "has no closing }}".into()));
                    i = j.max(i + 2);
                }
            }
        } else {
            i += 1;
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

/// Fill one XML part. Returns the new XML, or the problems found.
pub(crate) fn fill_part(
    part: &str,
    xml: &str,
    values: &dyn Values,
    blocks_allowed: bool,
) -> std::result::Result<String, Vec<PlaceholderProblem>> {
    let toks = tokenize(xml).map_err(|e| {
        vec![PlaceholderProblem {
            part: part.into(),
            paragraph: 0,
            placeholder: String::new(),
            problem: format!("cannot be read as XML ({e})"),
            context: String::new(),
        }]
    })?;
    let mut edits = Edits::default();
    let mut problems = Vec::new();
    for (n, p) in paragraphs(xml, &toks).iter().enumerate() {
        let text: String = p.segments.iter().map(|(_, t)| t.as_str()).collect();
        if !text.contains("{{") {
            continue;
        }
        let problem = |placeholder: &str, what: &str| PlaceholderProblem {
            part: part.into(),
            paragraph: n + 1,
            placeholder: placeholder.into(),
            problem: what.into(),
            context: shorten(&text, 60).replace('\n', " "),
        };
        if let Err(ps) = fill_paragraph(p, &text, values, blocks_allowed, &mut edits) {
            problems.extend(ps.iter().map(|(ph, what)| problem(ph, what)));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(write_back(xml, &toks, edits))
}

/// What filling a part changes: new text per text token, and paragraphs
/// (first and last token) replaced whole by a block's XML.
#[derive(Default)]
struct Edits {
    text: std::collections::HashMap<usize, String>,
    replaced: Vec<(usize, usize, String)>,
}

/// The paragraphs of a part with the decoded texts of their `w:t` runs.
fn paragraphs(xml: &str, toks: &[(Tok, usize, usize)]) -> Vec<Paragraph> {
    let mut paragraphs: Vec<Paragraph> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut in_t = false;
    for (k, (tok, s, e)) in toks.iter().enumerate() {
        match tok {
            Tok::Start(n) if n == "w:p" => {
                paragraphs.push(Paragraph {
                    start: k,
                    end: k,
                    segments: Vec::new(),
                    nested: !open.is_empty(),
                });
                open.push(paragraphs.len() - 1);
            }
            Tok::End(n) if n == "w:p" => {
                if let Some(p) = open.pop() {
                    paragraphs[p].end = k;
                }
            }
            Tok::Start(n) if n == "w:t" => in_t = true,
            Tok::End(n) if n == "w:t" => in_t = false,
            Tok::Text if in_t => {
                if let Some(&p) = open.last() {
                    paragraphs[p].segments.push((k, unescape(&xml[*s..*e])));
                }
            }
            _ => {}
        }
    }
    paragraphs
}

/// Fills one paragraph whose text holds `{{`: a block placeholder replaces
/// the paragraph, scalars are spliced into its runs. Problems come back as
/// (placeholder, what is wrong).
fn fill_paragraph(
    p: &Paragraph,
    text: &str,
    values: &dyn Values,
    blocks_allowed: bool,
    edits: &mut Edits,
) -> std::result::Result<(), Vec<(String, String)>> {
    let found = scan(text)?;
    // Block placeholders: the paragraph must hold only that.
    if let Some(block) = found
        .iter()
        .find(|f| f.name.starts_with("table:") || f.name.starts_with("section:"))
    {
        let written = format!("{{{{{}}}}}", block.name);
        let alone = found.len() == 1
            && text.trim()
                == text
                    .chars()
                    .skip(block.start)
                    .take(block.end - block.start)
                    .collect::<String>();
        if !alone {
            return Err(vec![(
                written,
                "is a block placeholder: put it alone in its own paragraph".into(),
            )]);
        }
        if !blocks_allowed || p.nested {
            return Err(vec![(
                written,
                "is a block placeholder and can only stand in the document body, not in a header, footer or text box".into(),
            )]);
        }
        return match values.blocks(&block.name) {
            Some(blocks) => {
                edits.replaced.push((p.start, p.end, blocks_xml(&blocks)));
                Ok(())
            }
            None => Err(vec![(written, unknown(&block.name, values))]),
        };
    }
    // Scalars: compute the value of each, then splice segment texts.
    let mut subs = Vec::new();
    let mut problems = Vec::new();
    for f in &found {
        match values.scalar(&f.name) {
            Some(v) => subs.push((f.start, f.end, v)),
            None => problems.push((format!("{{{{{}}}}}", f.name), unknown(&f.name, values))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    for ((tok, old), new) in p.segments.iter().zip(splice(&p.segments, subs)) {
        if &new != old {
            edits.text.insert(*tok, new);
        }
    }
    Ok(())
}

/// The segment texts after replacing each (start, end, value) character
/// span of their concatenation. A span that crosses segments leaves its
/// value in the first and empties the rest of the span, so each run keeps
/// its formatting.
fn splice(segments: &[(usize, String)], subs: Vec<(usize, usize, String)>) -> Vec<String> {
    let mut segs: Vec<Vec<char>> = segments.iter().map(|(_, t)| t.chars().collect()).collect();
    // Offsets of each segment in the original paragraph text; edits go
    // right to left, so the offsets of earlier placeholders stay valid.
    let mut spans = Vec::with_capacity(segs.len());
    let mut acc = 0;
    for seg in &segs {
        spans.push((acc, acc + seg.len()));
        acc += seg.len();
    }
    // The segment holding character `pos` and the offset in it.
    let locate = |pos: usize| -> (usize, usize) {
        let i = spans
            .iter()
            .position(|&(a, b)| a <= pos && pos < b)
            .unwrap_or(spans.len() - 1);
        (i, pos - spans[i].0)
    };
    for (start, end, value) in subs.into_iter().rev() {
        let (si, so) = locate(start);
        let (ei, eo) = locate(end - 1);
        let eo = eo + 1;
        if si == ei {
            segs[si].splice(so..eo, value.chars());
        } else {
            segs[ei].drain(..eo);
            for seg in segs.iter_mut().take(ei).skip(si + 1) {
                seg.clear();
            }
            let s = &mut segs[si];
            s.truncate(so);
            s.extend(value.chars());
        }
    }
    segs.into_iter().map(|s| s.into_iter().collect()).collect()
}

/// The part with its edits applied; tokens not edited are copied as they were.
fn write_back(xml: &str, toks: &[(Tok, usize, usize)], edits: Edits) -> String {
    let mut out = String::with_capacity(xml.len() + 1024);
    let mut k = 0;
    let mut replaced = edits.replaced.into_iter().peekable();
    while k < toks.len() {
        if let Some((s, e, xml_block)) = replaced.peek()
            && *s == k
        {
            out.push_str(xml_block);
            k = *e + 1;
            replaced.next();
            continue;
        }
        let (tok, s, e) = &toks[k];
        match (tok, edits.text.get(&k)) {
            (Tok::Text, Some(t)) => {
                // Lines become breaks inside the same run.
                let parts: Vec<String> = t.split('\n').map(escape).collect();
                out.push_str(&parts.join("</w:t><w:br/><w:t xml:space=\"preserve\">"));
            }
            (Tok::Start(n), _)
                if n == "w:t"
                    && toks
                        .get(k + 1)
                        .is_some_and(|_| edits.text.contains_key(&(k + 1))) =>
            {
                out.push_str("<w:t xml:space=\"preserve\">");
            }
            _ => out.push_str(&xml[*s..*e]),
        }
        k += 1;
    }
    out
}

fn unknown(name: &str, values: &dyn Values) -> String {
    let names = values.names();
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(n, name), n))
        .filter(|(d, n)| *d <= 2.max(n.chars().count() / 5))
        .collect();
    scored.sort();
    let close: Vec<&String> = scored.into_iter().take(3).map(|(_, n)| n).collect();
    if close.is_empty() {
        "is not a placeholder Shouwang knows".into()
    } else {
        format!(
            "is not a placeholder Shouwang knows (did you mean {}?)",
            close
                .iter()
                .map(|n| format!("{{{{{n}}}}}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    }
}

/// The parts that can hold placeholders: the body, headers, footers.
fn is_text_part(name: &str) -> bool {
    name == "word/document.xml"
        || (name.starts_with("word/header") || name.starts_with("word/footer"))
            && name.ends_with(".xml")
}

/// All parts of a template together inflate to at most this: a unit's
/// letterhead with its seal and logo images is a few MB.
const MAX_TEMPLATE_BYTES: u64 = 64 << 20;
/// The XML of the document, headers and footers together: the parts
/// that are parsed into tokens (a 40-page report is about 1 MB).
const MAX_TEMPLATE_TEXT_BYTES: u64 = 8 << 20;

/// Fill a .docx template; `name` names it in errors.
pub fn fill(template: &[u8], name: &str, values: &dyn Values) -> Result<Vec<u8>> {
    let not_docx = |detail: String| ReportError::NotDocx {
        template: name.into(),
        detail,
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(template))
        .map_err(|e| not_docx(e.to_string()))?;
    if zip.by_name("word/document.xml").is_err() {
        return Err(not_docx("it has no word/document.xml".into()));
    }
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    let (mut inflated, mut text) = (0u64, 0u64);
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| not_docx(e.to_string()))?;
        if f.is_dir() {
            continue;
        }
        let part = f.name().map_err(|e| not_docx(e.to_string()))?.to_string();
        // Templates are small; refuse a zip bomb rather than fill memory.
        // The sizes a zip declares are the uploader's word, so the budget
        // counts the bytes that really come out, over all parts together
        // (entries that share one compressed stream count each time).
        let left = MAX_TEMPLATE_BYTES - inflated;
        let mut bytes = Vec::new();
        (&mut f)
            .take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| not_docx(format!("{part}: {e}")))?;
        inflated += bytes.len() as u64;
        if inflated > MAX_TEMPLATE_BYTES {
            return Err(not_docx(format!(
                "its parts inflate to more than {} MB (at {part})",
                MAX_TEMPLATE_BYTES >> 20
            )));
        }
        if is_text_part(&part) {
            // Text parts are tokenized whole: a tighter budget for them.
            text += bytes.len() as u64;
            if text > MAX_TEMPLATE_TEXT_BYTES {
                return Err(not_docx(format!(
                    "its document, headers and footers hold more than {} MB of XML (at {part})",
                    MAX_TEMPLATE_TEXT_BYTES >> 20
                )));
            }
            let xml = String::from_utf8(bytes)
                .map_err(|_| not_docx(format!("{part} is not UTF-8 XML")))?;
            match fill_part(&part, &xml, values, part == "word/document.xml") {
                Ok(x) => bytes = x.into_bytes(),
                Err(ps) => {
                    problems.extend(ps);
                    bytes = xml.into_bytes();
                }
            }
        }
        parts.push((part, bytes));
    }
    if !problems.is_empty() {
        return Err(ReportError::Template {
            template: name.into(),
            problems,
        });
    }
    zip_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Block, Table};

    struct V;
    impl Values for V {
        fn scalar(&self, name: &str) -> Option<String> {
            match name {
                "unit.name" => Some("某某县教育局".into()),
                "guard.restore_count" => Some("12 次".into()),
                "odd" => Some("a<b & \"c\"".into()),
                "lines" => Some("第一行\n第二行".into()),
                _ => None,
            }
        }
        fn blocks(&self, name: &str) -> Option<Vec<Block>> {
            (name == "table:open_findings").then(|| {
                vec![Block::Table {
                    table: Table {
                        widths: vec![1],
                        header: vec!["问题".into()],
                        rows: vec![vec!["弱口令".into()]],
                    },
                }]
            })
        }
        fn names(&self) -> Vec<String> {
            vec![
                "unit.name".into(),
                "guard.restore_count".into(),
                "table:open_findings".into(),
            ]
        }
    }

    fn doc(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="x"><w:body>{body}</w:body></w:document>"#
        )
    }

    fn texts(xml: &str) -> String {
        let toks = tokenize(xml).unwrap();
        let mut in_t = false;
        let mut s = String::new();
        for (t, a, b) in toks {
            match t {
                Tok::Start(n) if n == "w:t" => in_t = true,
                Tok::End(n) if n == "w:t" => in_t = false,
                Tok::Empty(n) if n == "w:br" => s.push('\n'),
                Tok::End(n) if n == "w:p" => s.push('|'),
                Tok::Text if in_t => s.push_str(&unescape(&xml[a..b])),
                _ => {}
            }
        }
        s
    }

    #[test]
    fn a_placeholder_split_across_runs_is_merged_and_formatting_kept() {
        // As Word stores it after editing: three runs, the middle one bold.
        let x = doc(concat!(
            r#"<w:p><w:r><w:t xml:space="preserve">单位：{{</w:t></w:r>"#,
            r#"<w:proofErr w:type="spellStart"/><w:r><w:rPr><w:b/></w:rPr><w:t>unit</w:t></w:r><w:proofErr w:type="spellEnd"/>"#,
            r#"<w:r><w:t>.name}}，恢复 {{ guard.restore_count }}。</w:t></w:r></w:p>"#
        ));
        let out = fill_part("word/document.xml", &x, &V, true).unwrap();
        assert_eq!(texts(&out), "单位：某某县教育局，恢复 12 次。|");
        // The value sits in the run where the placeholder began.
        assert!(
            out.contains(r#"<w:t xml:space="preserve">单位：某某县教育局</w:t>"#),
            "{out}"
        );
        assert!(
            out.contains("<w:b/></w:rPr><w:t xml:space=\"preserve\"></w:t>"),
            "{out}"
        );
        assert!(!out.contains("{{"));
    }

    #[test]
    fn a_placeholder_split_character_by_character_is_merged() {
        let runs: String = "{{unit.name}}"
            .chars()
            .map(|c| format!("<w:r><w:t>{c}</w:t></w:r>"))
            .collect();
        let x = doc(&format!("<w:p>{runs}</w:p>"));
        let out = fill_part("word/document.xml", &x, &V, true).unwrap();
        assert_eq!(texts(&out), "某某县教育局|");
    }

    #[test]
    fn values_are_escaped_and_lines_break() {
        let x = doc(
            r#"<w:p><w:r><w:t>{{odd}}</w:t></w:r></w:p><w:p><w:r><w:t>{{lines}}</w:t></w:r></w:p>"#,
        );
        let out = fill_part("word/document.xml", &x, &V, true).unwrap();
        assert!(out.contains("a&lt;b &amp; &quot;c&quot;"), "{out}");
        assert_eq!(texts(&out), "a<b & \"c\"|第一行\n第二行|");
    }

    #[test]
    fn unknown_and_malformed_placeholders_are_named_with_their_paragraph() {
        let x = doc(concat!(
            r#"<w:p><w:r><w:t>前言</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>单位 {{unit.nmae}} 报告</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>恢复 {{guard.restore_count 次</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>{{单位}}</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>见下表 {{table:open_findings}}</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>{{table:nope}}</w:t></w:r></w:p>"#,
        ));
        let ps = fill_part("word/document.xml", &x, &V, true).unwrap_err();
        let got: Vec<(usize, &str)> = ps
            .iter()
            .map(|p| (p.paragraph, p.placeholder.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "{{unit.nmae}}"),
                (3, "{{guard.restore_count 次"),
                (4, "{{单位}}"),
                (5, "{{table:open_findings}}"),
                (6, "{{table:nope}}"),
            ]
        );
        assert!(
            ps[0].problem.contains("did you mean {{unit.name}}"),
            "{}",
            ps[0].problem
        );
        assert!(ps[1].problem.contains("no closing"));
        assert!(ps[3].problem.contains("alone in its own paragraph"));
        assert_eq!(ps[0].context, "单位 {{unit.nmae}} 报告");
        let msg = describe("my.docx", &ps);
        assert!(msg.contains("my.docx has 5 placeholder problems"));
        assert!(msg.contains("word/document.xml paragraph 2: {{unit.nmae}}"));
    }

    #[test]
    fn a_block_placeholder_replaces_its_paragraph() {
        let x = doc(concat!(
            r#"<w:p><w:r><w:t>问题如下：</w:t></w:r></w:p>"#,
            r#"<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:t>{{table:</w:t></w:r><w:r><w:t>open_findings}}</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>完</w:t></w:r></w:p>"#,
        ));
        let out = fill_part("word/document.xml", &x, &V, true).unwrap();
        assert!(out.contains("<w:tbl>"));
        assert!(
            texts(&out).starts_with("问题如下：|问题|弱口令|"),
            "{}",
            texts(&out)
        );
        assert!(texts(&out).ends_with("完|"));
        assert!(!out.contains("{{"));
        // Not in a footer.
        let f = r#"<w:ftr xmlns:w="x"><w:p><w:r><w:t>{{table:open_findings}}</w:t></w:r></w:p></w:ftr>"#;
        let ps = fill_part("word/footer1.xml", f, &V, false).unwrap_err();
        assert!(ps[0].problem.contains("header, footer"));
    }

    #[test]
    fn text_without_placeholders_is_copied_byte_for_byte() {
        let x = doc(
            r#"<w:p><w:r><w:t xml:space="preserve"> a &amp; b &#x4E2D; </w:t></w:r><!-- c --><w:r><w:t>{ not }</w:t></w:r></w:p>"#,
        );
        assert_eq!(fill_part("word/document.xml", &x, &V, true).unwrap(), x);
    }

    #[test]
    fn a_template_whose_parts_inflate_past_the_budget_is_refused() {
        // Twenty 5 MiB images of zeros: a small upload, 100 MiB inflated
        // (the same as twenty zip entries pointing at one stream).
        let mut parts = vec![("word/document.xml".to_string(), doc("").into_bytes())];
        for i in 0..20 {
            parts.push((format!("word/media/image{i}.png"), vec![0u8; 5 << 20]));
        }
        let upload = zip_parts(&parts).unwrap();
        assert!(upload.len() < 1 << 20, "{}", upload.len());
        let Err(e) = fill(&upload, "bomb.docx", &V) else {
            panic!("a template that inflates to 100 MiB was filled");
        };
        assert!(matches!(e, ReportError::NotDocx { .. }), "{e}");
        assert!(e.to_string().contains("64 MB"), "{e}");
    }

    #[test]
    fn a_template_with_more_text_than_a_document_has_is_refused() {
        let filler = format!("<w:p>{}</w:p>", " ".repeat(3 << 20));
        let mut parts = vec![("word/document.xml".to_string(), doc(&filler).into_bytes())];
        for i in 1..=3 {
            parts.push((format!("word/header{i}.xml"), doc(&filler).into_bytes()));
        }
        let Err(e) = fill(&zip_parts(&parts).unwrap(), "t.docx", &V) else {
            panic!("a template with 12 MiB of text was filled");
        };
        assert!(e.to_string().contains("8 MB"), "{e}");
    }

    #[test]
    fn a_broken_file_is_not_a_docx() {
        let e = fill(b"not a zip", "x.docx", &V).unwrap_err();
        assert!(matches!(e, ReportError::NotDocx { .. }), "{e}");
        assert!(e.to_string().contains("x.docx"));
    }
}
