//! DOCX (WordprocessingML) from the block model, written as plain XML
//! strings: every element in the order the OOXML schema gives (Word drops
//! run properties it meets out of order, fonts first), layout after
//! GB/T 9704-2012 (党政机关公文格式): A4, margins top 37 mm, bottom 35 mm,
//! left 28 mm, right 26 mm; title 方正小标宋简体 二号; first-level
//! headings 黑体 三号, second-level 楷体_GB2312 三号; body 仿宋_GB2312 三号
//! at a fixed 28.95 pt line (22 lines a page); page numbers 宋体 四号
//! "— 1 —". Every run carries its fonts and size itself, so blocks
//! inserted into a unit's template look the same there.
//!
//! Fonts missing on a machine fall back as `word/fontTable.xml` says
//! (方正小标宋简体 → 宋体, 仿宋_GB2312 → 仿宋, 楷体_GB2312 → 楷体,
//! 黑体 → SimHei), and the East Asian language is zh-CN, so LibreOffice
//! picks a Chinese font (Noto CJK SC on Debian) rather than tofu.

use std::io::Write;

use crate::doc::{Block, Document, Table};
use crate::{ReportError, Result};

/// Text width between the margins, twentieths of a point: A4 (11906)
/// less 28 mm (1588) and 26 mm (1474).
pub const TEXT_WIDTH: u32 = 8844;

/// Escape text for XML content or attribute values, dropping characters
/// XML 1.0 cannot carry (control characters other than tab, LF, CR).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// How a run looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Font {
    pub east_asia: &'static str,
    pub latin: &'static str,
    /// Half-points: 44 = 二号, 32 = 三号, 28 = 四号, 24 = 小四.
    pub size: u32,
    pub bold: bool,
}

pub(crate) const TITLE: Font = Font {
    east_asia: "方正小标宋简体",
    latin: "Times New Roman",
    size: 44,
    bold: false,
};
pub(crate) const SUBTITLE: Font = Font {
    east_asia: "楷体_GB2312",
    latin: "Times New Roman",
    size: 32,
    bold: false,
};
pub(crate) const HEADING1: Font = Font {
    east_asia: "黑体",
    latin: "Times New Roman",
    size: 32,
    bold: false,
};
pub(crate) const HEADING2: Font = Font {
    east_asia: "楷体_GB2312",
    latin: "Times New Roman",
    size: 32,
    bold: false,
};
pub(crate) const BODY: Font = Font {
    east_asia: "仿宋_GB2312",
    latin: "Times New Roman",
    size: 32,
    bold: false,
};
pub(crate) const NOTE: Font = Font {
    east_asia: "仿宋_GB2312",
    latin: "Times New Roman",
    size: 28,
    bold: false,
};
pub(crate) const CELL: Font = Font {
    east_asia: "仿宋_GB2312",
    latin: "Times New Roman",
    size: 24,
    bold: false,
};
pub(crate) const CELL_HEAD: Font = Font {
    east_asia: "黑体",
    latin: "Times New Roman",
    size: 24,
    bold: false,
};

/// `<w:rPr>` in schema order: rFonts, b, bCs, sz, szCs, lang.
fn rpr(f: &Font) -> String {
    let mut s = format!(
        r#"<w:rPr><w:rFonts w:ascii="{l}" w:hAnsi="{l}" w:eastAsia="{e}" w:cs="{l}"/>"#,
        l = f.latin,
        e = f.east_asia
    );
    if f.bold {
        s.push_str("<w:b/><w:bCs/>");
    }
    s.push_str(&format!(
        r#"<w:sz w:val="{0}"/><w:szCs w:val="{0}"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr>"#,
        f.size
    ));
    s
}

/// Runs for a text: lines become `<w:br/>`, tabs `<w:tab/>`.
pub(crate) fn runs(text: &str, f: &Font) -> String {
    let rpr = rpr(f);
    let mut s = String::new();
    s.push_str("<w:r>");
    s.push_str(&rpr);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            s.push_str("<w:br/>");
        }
        for (j, part) in line.split('\t').enumerate() {
            if j > 0 {
                s.push_str("<w:tab/>");
            }
            if !part.is_empty() {
                s.push_str(r#"<w:t xml:space="preserve">"#);
                s.push_str(&escape(part));
                s.push_str("</w:t>");
            }
        }
    }
    s.push_str("</w:r>");
    s
}

/// How a paragraph sits.
#[derive(Clone, Copy)]
struct Para {
    keep_next: bool,
    /// Twentieths of a point before and after.
    before: u32,
    after: u32,
    /// Exact line height (twentieths of a point), else single.
    exact: Option<u32>,
    /// First-line indent in hundredths of a character.
    indent_chars: u32,
    jc: &'static str,
    outline: Option<u8>,
    /// Start a new page with this paragraph (a page break that leaves no
    /// empty page behind when the page before ended full).
    page_break_before: bool,
}

/// `<w:pPr>` in schema order: keepNext, snapToGrid, spacing, ind, jc,
/// outlineLvl, rPr.
fn ppr(p: &Para, font: &Font) -> String {
    let mut s = String::from("<w:pPr>");
    if p.keep_next {
        s.push_str("<w:keepNext/>");
    }
    if p.page_break_before {
        s.push_str("<w:pageBreakBefore/>");
    }
    if p.exact.is_none() {
        // Single-spaced text (tables) must not snap to the 28.95 pt grid.
        s.push_str(r#"<w:snapToGrid w:val="0"/>"#);
    }
    match p.exact {
        Some(line) => s.push_str(&format!(
            r#"<w:spacing w:before="{}" w:after="{}" w:line="{line}" w:lineRule="exact"/>"#,
            p.before, p.after
        )),
        None => s.push_str(&format!(
            r#"<w:spacing w:before="{}" w:after="{}" w:line="240" w:lineRule="auto"/>"#,
            p.before, p.after
        )),
    }
    if p.indent_chars > 0 {
        s.push_str(&format!(
            r#"<w:ind w:firstLineChars="{}" w:firstLine="{}"/>"#,
            p.indent_chars,
            p.indent_chars * font.size / 10
        ));
    }
    s.push_str(&format!(r#"<w:jc w:val="{}"/>"#, p.jc));
    if let Some(l) = p.outline {
        s.push_str(&format!(r#"<w:outlineLvl w:val="{l}"/>"#));
    }
    s.push_str(&rpr(font));
    s.push_str("</w:pPr>");
    s
}

const PAGE_BREAK: &str = r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#;

const LINE: u32 = 579; // 28.95 pt: 22 lines on the GB/T 9704 text block

fn paragraph(text: &str, font: &Font, p: &Para) -> String {
    format!("<w:p>{}{}</w:p>", ppr(p, font), runs(text, font))
}

fn body_para() -> Para {
    Para {
        keep_next: false,
        before: 0,
        after: 0,
        exact: Some(LINE),
        indent_chars: 200,
        jc: "both",
        outline: None,
        page_break_before: false,
    }
}

/// The XML of blocks, for the document body or a template's placeholder.
pub fn blocks_xml(blocks: &[Block]) -> String {
    let mut s = String::new();
    // A page break before a paragraph becomes that paragraph's
    // pageBreakBefore; before a table or at the end, a paragraph of its own.
    let mut break_next = false;
    for (i, b) in blocks.iter().enumerate() {
        let brk = std::mem::take(&mut break_next);
        let paragraph = |text: &str, font: &Font, p: &Para| {
            paragraph(
                text,
                font,
                &Para {
                    page_break_before: brk,
                    ..*p
                },
            )
        };
        match b {
            Block::Title { text } => s.push_str(&paragraph(
                text,
                &TITLE,
                &Para {
                    keep_next: true,
                    before: 0,
                    after: 0,
                    exact: Some(700),
                    indent_chars: 0,
                    jc: "center",
                    outline: Some(0),
                    page_break_before: false,
                },
            )),
            Block::Subtitle { text } => s.push_str(&paragraph(
                text,
                &SUBTITLE,
                &Para {
                    keep_next: true,
                    before: 0,
                    after: LINE,
                    exact: Some(LINE),
                    indent_chars: 0,
                    jc: "center",
                    outline: None,
                    page_break_before: false,
                },
            )),
            Block::Heading { level, text } => s.push_str(&paragraph(
                text,
                if *level <= 1 { &HEADING1 } else { &HEADING2 },
                &Para {
                    keep_next: true,
                    outline: Some(*level),
                    ..body_para()
                },
            )),
            Block::Para { text } => s.push_str(&paragraph(text, &BODY, &body_para())),
            // Left-aligned: a note may hold a long unbroken token (a path, a
            // URL, the audit anchor), and justifying the line before it
            // would spread its characters across the page.
            Block::Note { text } => s.push_str(&paragraph(
                text,
                &NOTE,
                &Para {
                    exact: Some(480),
                    jc: "left",
                    ..body_para()
                },
            )),
            Block::Table { table } => {
                if brk {
                    s.push_str(PAGE_BREAK);
                }
                s.push_str(&table_xml(table))
            }
            Block::Addressee { text } => s.push_str(&paragraph(
                text,
                &BODY,
                &Para {
                    indent_chars: 0,
                    jc: "left",
                    ..body_para()
                },
            )),
            // GB/T 9704: the 落款 right-aligned (here four characters in from
            // the right edge), three blank lines above for the seal.
            Block::Signature { lines } => {
                for (n, line) in lines.iter().enumerate() {
                    s.push_str(&paragraph(
                        line,
                        &BODY,
                        &Para {
                            before: if n == 0 { 3 * LINE } else { 0 },
                            indent_chars: 0,
                            jc: "right",
                            ..body_para()
                        },
                    ));
                }
            }
            Block::PageBreak => {
                if i + 1 < blocks.len() && !matches!(blocks[i + 1], Block::PageBreak) {
                    break_next = true;
                } else {
                    s.push_str(PAGE_BREAK);
                }
            }
        }
    }
    s
}

fn cell_para(text: &str, font: &Font, jc: &'static str) -> String {
    paragraph(
        text,
        font,
        &Para {
            keep_next: false,
            before: 0,
            after: 0,
            exact: None,
            indent_chars: 0,
            jc,
            outline: None,
            page_break_before: false,
        },
    )
}

/// A table over the text width, columns by relative weight, the header
/// row repeated on each page, "（无）" in one spanning cell when empty.
pub fn table_xml(t: &Table) -> String {
    let total: u32 = t.widths.iter().sum::<u32>().max(1);
    let widths: Vec<u32> = t.widths.iter().map(|w| TEXT_WIDTH * w / total).collect();
    let border = r#"w:val="single" w:sz="4" w:space="0" w:color="000000""#;
    let mut s = format!(
        concat!(
            "<w:tbl><w:tblPr>",
            r#"<w:tblW w:w="{w}" w:type="dxa"/><w:jc w:val="center"/>"#,
            "<w:tblBorders><w:top {b}/><w:left {b}/><w:bottom {b}/><w:right {b}/><w:insideH {b}/><w:insideV {b}/></w:tblBorders>",
            r#"<w:tblLayout w:type="fixed"/>"#,
            r#"<w:tblCellMar><w:left w:w="80" w:type="dxa"/><w:right w:w="80" w:type="dxa"/></w:tblCellMar>"#,
            r#"<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>"#,
            "</w:tblPr><w:tblGrid>"
        ),
        w = TEXT_WIDTH,
        b = border
    );
    for w in &widths {
        s.push_str(&format!(r#"<w:gridCol w:w="{w}"/>"#));
    }
    s.push_str("</w:tblGrid>");
    // Header: trPr has cantSplit before tblHeader (schema order).
    s.push_str("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>");
    for (i, h) in t.header.iter().enumerate() {
        s.push_str(&format!(
            r#"<w:tc><w:tcPr><w:tcW w:w="{}" w:type="dxa"/><w:shd w:val="clear" w:color="auto" w:fill="E7E6E6"/><w:vAlign w:val="center"/></w:tcPr>{}</w:tc>"#,
            widths.get(i).copied().unwrap_or(0),
            cell_para(h, &CELL_HEAD, "center")
        ));
    }
    s.push_str("</w:tr>");
    if t.rows.is_empty() {
        s.push_str(&format!(
            r#"<w:tr><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr><w:tcW w:w="{}" w:type="dxa"/><w:gridSpan w:val="{}"/></w:tcPr>{}</w:tc></w:tr>"#,
            TEXT_WIDTH,
            widths.len().max(1),
            cell_para("（无）", &CELL, "center")
        ));
    }
    for row in &t.rows {
        s.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for (i, w) in widths.iter().enumerate() {
            let text = row.get(i).map(String::as_str).unwrap_or("");
            let numeric = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '%' | ',' | '-'));
            s.push_str(&format!(
                r#"<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>{}</w:tc>"#,
                cell_para(text, &CELL, if numeric { "center" } else { "left" })
            ));
        }
        s.push_str("</w:tr>");
    }
    s.push_str("</w:tbl>");
    // A table must be followed by a paragraph before another table or the
    // section end; an empty, small one keeps tables apart.
    s.push_str(&cell_para("", &CELL, "left"));
    s
}

pub(crate) const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
pub(crate) const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

fn sect_pr() -> String {
    concat!(
        r#"<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter1"/>"#,
        r#"<w:pgSz w:w="11906" w:h="16838"/>"#,
        r#"<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1588" w:header="851" w:footer="992" w:gutter="0"/>"#,
        r#"<w:pgNumType w:start="1"/><w:cols w:space="425"/>"#,
        r#"<w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr>"#
    )
    .to_string()
}

fn document_xml(doc: &Document) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{NS_W}" xmlns:r="{NS_R}"><w:body>{}{}</w:body></w:document>"#,
        blocks_xml(&doc.blocks),
        sect_pr()
    )
}

fn styles_xml() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{NS_W}"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="仿宋_GB2312" w:cs="Times New Roman"/><w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="{LINE}" w:lineRule="exact"/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style><w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style><w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/><w:pPr><w:jc w:val="center"/></w:pPr></w:style></w:styles>"#
    )
}

fn font_table_xml() -> String {
    let font = |name: &str, alt: &str, family: &str| {
        format!(
            r#"<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/><w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:fonts xmlns:w="{NS_W}">{}{}{}{}{}<w:font w:name="Times New Roman"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font></w:fonts>"#,
        font("方正小标宋简体", "宋体", "script"),
        font("仿宋_GB2312", "仿宋", "modern"),
        font("楷体_GB2312", "楷体", "modern"),
        font("黑体", "SimHei", "modern"),
        font("宋体", "SimSun", "auto"),
    )
}

fn footer_xml() -> String {
    let f = crate::docx::Font {
        east_asia: "宋体",
        latin: "宋体",
        size: 28,
        bold: false,
    };
    let r = rpr(&f);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="{NS_W}" xmlns:r="{NS_R}"><w:p><w:pPr><w:pStyle w:val="Footer"/><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr><w:r>{r}<w:t xml:space="preserve">— </w:t></w:r><w:r>{r}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{r}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r>{r}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{r}<w:t>1</w:t></w:r><w:r>{r}<w:fldChar w:fldCharType="end"/></w:r><w:r>{r}<w:t xml:space="preserve"> —</w:t></w:r></w:p></w:ftr>"#
    )
}

fn core_xml(title: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>守望 Shouwang</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>"#,
        escape(title)
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdSettings" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rIdFonts" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable" Target="fontTable.xml"/><Relationship Id="rIdFooter1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/></Relationships>"#;

const APP_XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Shouwang</Application></Properties>"#;

fn settings_xml() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="{NS_W}"><w:zoom w:percent="100"/><w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>"#
    )
}

/// Write a zip of `(name, bytes)` parts, deflated.
pub(crate) fn zip_parts(parts: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let err = |e: &dyn std::fmt::Display| ReportError::Write(e.to_string());
    for (name, bytes) in parts {
        zw.start_file(name.as_str(), opts).map_err(|e| err(&e))?;
        zw.write_all(bytes).map_err(|e| err(&e))?;
    }
    let cursor = zw.finish().map_err(|e| err(&e))?;
    Ok(cursor.into_inner())
}

/// The document as DOCX bytes.
pub fn write(doc: &Document) -> Result<Vec<u8>> {
    let parts: Vec<(String, Vec<u8>)> = vec![
        ("[Content_Types].xml".into(), CONTENT_TYPES.into()),
        ("_rels/.rels".into(), ROOT_RELS.into()),
        (
            "docProps/core.xml".into(),
            core_xml(&doc.title).into_bytes(),
        ),
        ("docProps/app.xml".into(), APP_XML.into()),
        ("word/document.xml".into(), document_xml(doc).into_bytes()),
        ("word/styles.xml".into(), styles_xml().into_bytes()),
        ("word/settings.xml".into(), settings_xml().into_bytes()),
        ("word/fontTable.xml".into(), font_table_xml().into_bytes()),
        ("word/footer1.xml".into(), footer_xml().into_bytes()),
        ("word/_rels/document.xml.rels".into(), DOCUMENT_RELS.into()),
    ];
    zip_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("x\u{1}\u{8}y\tz\n"), "xy\tz\n");
        assert_eq!(escape("网站 </w:t><w:r>"), "网站 &lt;/w:t&gt;&lt;w:r&gt;");
    }

    #[test]
    fn run_properties_are_in_schema_order() {
        let x = rpr(&Font { bold: true, ..BODY });
        let pos = |tag: &str| {
            x.find(tag)
                .unwrap_or_else(|| panic!("{tag} missing in {x}"))
        };
        assert!(pos("<w:rFonts") < pos("<w:b/>"));
        assert!(pos("<w:b/>") < pos("<w:bCs/>"));
        assert!(pos("<w:bCs/>") < pos("<w:sz "));
        assert!(pos("<w:sz ") < pos("<w:szCs "));
        assert!(pos("<w:szCs ") < pos("<w:lang "));
        assert!(x.contains(r#"w:eastAsia="仿宋_GB2312""#));
    }

    #[test]
    fn text_with_markup_lines_and_tabs_stays_text() {
        let r = runs("a<b\nc\td", &BODY);
        assert!(r.contains("a&lt;b</w:t><w:br/>"));
        assert!(r.contains("c</w:t><w:tab/><w:t xml:space=\"preserve\">d"));
    }

    #[test]
    fn an_empty_table_says_none_across_all_columns() {
        let t = Table {
            widths: vec![1, 2, 3],
            header: vec!["甲".into(), "乙".into(), "丙".into()],
            rows: vec![],
        };
        let x = table_xml(&t);
        assert!(x.contains(r#"<w:gridSpan w:val="3"/>"#));
        assert!(x.contains("（无）"));
        assert_eq!(x.matches("<w:gridCol ").count(), 3);
    }
}
