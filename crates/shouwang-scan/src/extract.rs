//! Text out of the attachments government sites publish, so that the PII
//! detectors can read them: the 低保 list in an XLSX, the scholarship list
//! in a DOCX.
//!
//! - DOCX, XLSX, PPTX, ODT/ODS (zip containers): the XML parts that hold
//!   text, with tags stripped. The zip reader is small and bounded: each
//!   part is inflated to at most [`MAX_PART_BYTES`] and a document to
//!   [`MAX_INFLATED_BYTES`] in all, so a zip bomb costs little, even one
//!   whose entries all point at the same compressed data.
//! - PDF: Flate streams are inflated and the literal strings of text
//!   operators read. Text drawn with CID fonts through a ToUnicode map
//!   (most Chinese PDFs) is not decoded; ASCII digits in it usually are.
//! - DOC, XLS, WPS, ET and other binary files: ASCII and UTF-16LE runs,
//!   the way `strings` reads them; BIFF and Word store cell and paragraph
//!   text that way.
//! - TXT and CSV: UTF-8, else GB18030.
//!
//! A file that cannot be read as what its name says (a DOCX that is not a
//! zip, a PDF without a PDF header, a workbook behind a password) is an
//! error saying why, in English and in Chinese, so that the caller can say
//! what it could not check instead of passing it as clean.

use std::io::Read;

/// A part of a container is inflated to at most this many bytes.
pub const MAX_PART_BYTES: usize = 32 * 1024 * 1024;
/// Bytes inflated from one document at most, all its parts or streams
/// together.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;
/// Text returned at most, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Why no text came out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("not a valid {format} file: {problem}")]
    Invalid {
        format: &'static str,
        problem: Problem,
    },
    #[error("the {format} file is password-protected")]
    Encrypted { format: &'static str },
}

impl ExtractError {
    /// The same, in Chinese.
    pub fn zh(&self) -> String {
        match self {
            ExtractError::Invalid { format, problem } => {
                format!("不是有效的 {format} 文件：{}", problem.zh())
            }
            ExtractError::Encrypted { format } => {
                format!("{format} 文件设有密码（已加密），无法读取内容")
            }
        }
    }
}

/// What is wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not a zip archive")]
    NotZip,
    #[error("no end of central directory (damaged or cut short)")]
    NoDirectory,
    #[error("ZIP64 archives are not read")]
    Zip64,
    #[error("broken central directory")]
    BrokenDirectory,
    #[error("no document text in it ({entries} entries)")]
    NoText { entries: usize },
    #[error("{part}: {why}")]
    Part { part: String, why: PartProblem },
    #[error("no %PDF header")]
    NotPdf,
    #[error("no worksheet in it")]
    NoSheet,
}

impl Problem {
    pub fn zh(&self) -> String {
        match self {
            Problem::NotZip => "不是 zip 压缩包（文件损坏或内容与扩展名不符）".into(),
            Problem::NoDirectory => "找不到 zip 中央目录（文件损坏或不完整）".into(),
            Problem::Zip64 => "暂不支持 ZIP64 格式".into(),
            Problem::BrokenDirectory => "zip 中央目录损坏".into(),
            Problem::NoText { entries } => {
                format!("压缩包中没有文档正文（共 {entries} 个条目）")
            }
            Problem::Part { part, why } => format!("正文部分 {part} 无法读取：{}", why.zh()),
            Problem::NotPdf => "缺少 %PDF 文件头，不是 PDF 文件".into(),
            Problem::NoSheet => "其中没有工作表".into(),
        }
    }
}

/// Why one entry of a zip could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartProblem {
    #[error("local header missing")]
    NoLocalHeader,
    #[error("data past the end of the file")]
    PastEnd,
    #[error("compression method {0} not supported")]
    Method(usize),
    #[error("encrypted")]
    Encrypted,
    #[error("corrupt deflate data")]
    Corrupt,
}

impl PartProblem {
    pub fn zh(&self) -> String {
        match self {
            PartProblem::NoLocalHeader => "缺少本地文件头".into(),
            PartProblem::PastEnd => "数据超出文件末尾".into(),
            PartProblem::Method(m) => format!("不支持的压缩方法 {m}"),
            PartProblem::Encrypted => "已加密".into(),
            PartProblem::Corrupt => "压缩数据损坏".into(),
        }
    }
}

/// The formats that are zip containers, by extension, with their names.
fn zip_format(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "docx" => "DOCX",
        "xlsx" => "XLSX",
        "pptx" => "PPTX",
        "odt" => "ODT",
        "ods" => "ODS",
        "odp" => "ODP",
        "ofd" => "OFD",
        _ => return None,
    })
}

/// An OLE compound file: DOC, XLS, WPS, ET, and encrypted OOXML.
fn is_compound(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])
}

/// Office keeps a password-protected DOCX or XLSX in a compound file
/// with a stream of this name.
fn is_encrypted_package(bytes: &[u8]) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    find(bytes, &name).is_some()
}

/// The text of a document, chosen by its file extension (lower case, no
/// dot) and, failing that, by its first bytes.
pub fn text_of(bytes: &[u8], extension: &str) -> Result<String, ExtractError> {
    let ext = extension.to_ascii_lowercase();
    // A local header, or an empty archive's end of central directory.
    let zip = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06");
    let mut text = match (zip_format(&ext), ext.as_str()) {
        (Some(format), _) if zip => office_zip(bytes, format, true)?,
        (Some(format), _) if is_compound(bytes) && is_encrypted_package(bytes) => {
            return Err(ExtractError::Encrypted { format });
        }
        // A legacy document under the new name: Word and Excel open those.
        (Some(_), _) if is_compound(bytes) => binary_strings(bytes),
        (Some(format), _) => {
            return Err(ExtractError::Invalid {
                format,
                problem: Problem::NotZip,
            });
        }
        (None, "pdf") => pdf(bytes)?,
        (None, "txt" | "csv" | "htm" | "html" | "xml" | "json") => decode_text(bytes),
        _ if zip => office_zip(bytes, "zip", false)?,
        _ if bytes.starts_with(b"%PDF") => pdf(bytes)?,
        _ => binary_strings(bytes),
    };
    if text.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Ok(text)
}

fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// A little-endian field of `width` bytes at `at + off`; `None` past the
/// end, and never an overflow, whatever offsets the file claims.
fn le(b: &[u8], at: usize, off: usize, width: usize) -> Option<usize> {
    let start = at.checked_add(off)?;
    let field = b.get(start..start.checked_add(width)?)?;
    Some(
        field
            .iter()
            .rev()
            .fold(0usize, |v, &x| (v << 8) | usize::from(x)),
    )
}

/// One entry of a zip's central directory.
struct Entry {
    name: String,
    flags: usize,
    method: usize,
    compressed: usize,
    local: usize,
}

/// The central directory of a zip: names and where the data is, nothing
/// inflated yet.
fn directory(bytes: &[u8]) -> Result<Vec<Entry>, Problem> {
    // End of central directory: within the last 64 KiB + 22 bytes.
    let from = bytes.len().saturating_sub(65_557);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Problem::NoDirectory)?;
    let count = le(bytes, eocd, 10, 2).ok_or(Problem::NoDirectory)?;
    let mut at = le(bytes, eocd, 16, 4).ok_or(Problem::NoDirectory)?;
    if count == 0xffff || at == 0xffff_ffff {
        return Err(Problem::Zip64);
    }
    // At most 65535 entries of a few words each: the count cannot make
    // this large.
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if !bytes
            .get(at..)
            .is_some_and(|b| b.starts_with(b"PK\x01\x02"))
        {
            return Err(Problem::BrokenDirectory);
        }
        let field = |off, width| le(bytes, at, off, width).ok_or(Problem::BrokenDirectory);
        let flags = field(8, 2)?;
        let method = field(10, 2)?;
        let compressed = field(20, 4)?;
        let name_len = field(28, 2)?;
        let extra_len = field(30, 2)?;
        let comment_len = field(32, 2)?;
        let local = field(42, 4)?;
        if compressed == 0xffff_ffff || local == 0xffff_ffff {
            return Err(Problem::Zip64);
        }
        // Each length is at most 65535: these sums cannot overflow once
        // `at` is inside the file.
        let name_at = at + 46;
        let name = bytes
            .get(name_at..name_at + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok_or(Problem::BrokenDirectory)?;
        at = name_at + name_len + extra_len + comment_len;
        out.push(Entry {
            name,
            flags,
            method,
            compressed,
            local,
        });
    }
    Ok(out)
}

/// The contents of one entry, inflated to at most [`MAX_PART_BYTES`] and
/// what is left of `budget`, which it spends.
fn read_entry(bytes: &[u8], entry: &Entry, budget: &mut usize) -> Result<Vec<u8>, PartProblem> {
    if entry.flags & 1 != 0 {
        return Err(PartProblem::Encrypted);
    }
    if !bytes
        .get(entry.local..)
        .is_some_and(|b| b.starts_with(b"PK\x03\x04"))
    {
        return Err(PartProblem::NoLocalHeader);
    }
    let lname = le(bytes, entry.local, 26, 2).ok_or(PartProblem::PastEnd)?;
    let lextra = le(bytes, entry.local, 28, 2).ok_or(PartProblem::PastEnd)?;
    // `local` is inside the file and the lengths are 16-bit.
    let start = entry.local + 30 + lname + lextra;
    let data = start
        .checked_add(entry.compressed)
        .and_then(|end| bytes.get(start..end))
        .ok_or(PartProblem::PastEnd)?;
    let cap = MAX_PART_BYTES.min(*budget);
    let contents = match entry.method {
        0 => data[..data.len().min(cap)].to_vec(),
        8 => {
            let mut buf = Vec::new();
            let read = flate2::read::DeflateDecoder::new(data)
                .take(cap as u64)
                .read_to_end(&mut buf);
            // What inflated before the damage is still read.
            if read.is_err() && buf.is_empty() {
                return Err(PartProblem::Corrupt);
            }
            buf
        }
        m => return Err(PartProblem::Method(m)),
    };
    *budget -= contents.len();
    Ok(contents)
}

/// The entries of a zip file that can be read: name and contents,
/// inflated within [`MAX_INFLATED_BYTES`] in all.
pub fn zip_entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ExtractError> {
    let entries = directory(bytes).map_err(|problem| ExtractError::Invalid {
        format: "zip",
        problem,
    })?;
    let mut budget = MAX_INFLATED_BYTES;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let data = read_entry(bytes, &e, &mut budget).ok()?;
            Some((e.name, data))
        })
        .collect())
}

/// The cells of a workbook's first sheet, row by row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SheetRows {
    /// Each row as its cells' text, from column A to the last one with a
    /// value (cells without one are empty); rows with no value at all are
    /// left out. At most the `max_rows` asked for.
    pub rows: Vec<Vec<String>>,
    /// Each row's number as the spreadsheet shows it (1 for the first).
    pub numbers: Vec<usize>,
    /// Whether the sheet had more rows than that.
    pub truncated: bool,
}

/// At most this many columns of a row are read (column `ZZ`).
const MAX_SHEET_COLUMNS: usize = 702;

/// The first worksheet of an XLSX (the first `<sheet>` of the workbook),
/// with shared strings resolved, read through the same bounded zip reader.
pub fn xlsx_first_sheet(bytes: &[u8], max_rows: usize) -> Result<SheetRows, ExtractError> {
    const FORMAT: &str = "XLSX";
    if is_compound(bytes) && is_encrypted_package(bytes) {
        return Err(ExtractError::Encrypted { format: FORMAT });
    }
    let invalid = |problem| ExtractError::Invalid {
        format: FORMAT,
        problem,
    };
    let entries = directory(bytes).map_err(invalid)?;
    let mut budget = MAX_INFLATED_BYTES;
    let mut part = |name: &str| -> Result<Option<String>, ExtractError> {
        let Some(e) = entries.iter().find(|e| e.name == name) else {
            return Ok(None);
        };
        read_entry(bytes, e, &mut budget)
            .map(|d| Some(String::from_utf8_lossy(&d).into_owned()))
            .map_err(|why| {
                invalid(Problem::Part {
                    part: name.into(),
                    why,
                })
            })
    };
    let sheet_path = first_sheet_path(
        part("xl/workbook.xml")?,
        part("xl/_rels/workbook.xml.rels")?,
    );
    let sheet = part(&sheet_path)?.ok_or_else(|| invalid(Problem::NoSheet))?;
    let shared: Vec<String> = part("xl/sharedStrings.xml")?
        .map(|x| elements(&x, "si").map(run_text).collect())
        .unwrap_or_default();
    let mut out = SheetRows::default();
    let mut number = 0;
    for (row_attrs, row) in element_pairs(&sheet, "row") {
        number = attr(row_attrs, "r")
            .and_then(|r| r.parse().ok())
            .unwrap_or(number + 1);
        let mut cells: Vec<String> = Vec::new();
        let mut next = 0;
        for (attrs, inner) in cells_of(row) {
            let col = attr(attrs, "r").and_then(column_of).unwrap_or(next);
            next = col + 1;
            if col >= MAX_SHEET_COLUMNS {
                continue;
            }
            let value = match attr(attrs, "t") {
                Some("s") => first(inner, "v")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .and_then(|i| shared.get(i).cloned())
                    .unwrap_or_default(),
                Some("inlineStr") => first(inner, "is").map(run_text).unwrap_or_default(),
                _ => first(inner, "v").map(unescape).unwrap_or_default(),
            };
            if value.is_empty() {
                continue;
            }
            if cells.len() <= col {
                cells.resize(col + 1, String::new());
            }
            cells[col] = value;
        }
        if cells.is_empty() {
            continue;
        }
        if out.rows.len() == max_rows {
            out.truncated = true;
            break;
        }
        out.rows.push(cells);
        out.numbers.push(number);
    }
    Ok(out)
}

/// Where the workbook's first sheet is: its relationship's target, else
/// the name Excel gives it.
fn first_sheet_path(workbook: Option<String>, rels: Option<String>) -> String {
    let fallback = "xl/worksheets/sheet1.xml".to_string();
    let (Some(wb), Some(rels)) = (workbook, rels) else {
        return fallback;
    };
    let Some(id) = tags(&wb, "sheet").next().and_then(|a| attr(a, "r:id")) else {
        return fallback;
    };
    tags(&rels, "Relationship")
        .find(|a| attr(a, "Id") == Some(id))
        .and_then(|a| attr(a, "Target"))
        .map(|t| match t.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None => format!("xl/{t}"),
        })
        .unwrap_or(fallback)
}

/// The attribute text of each start tag `<name …>` (or `<name …/>`).
fn tags<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{name}");
    let mut rest = xml;
    std::iter::from_fn(move || {
        loop {
            let i = rest.find(&open)?;
            let after = &rest[i + open.len()..];
            let gt = after.find('>')?;
            rest = &after[gt + 1..];
            // `<sheet` must not match `<sheets` or `<sheetPr`.
            if after.starts_with([' ', '>', '/', '\t', '\n', '\r']) {
                return Some(after[..gt].trim_end_matches('/'));
            }
        }
    })
}

/// The contents of each element `<name …>…</name>` (empty for `<name/>`).
fn elements<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    element_pairs(xml, name).map(|(_, inner)| inner)
}

/// Each element `<name …>…</name>` as its attributes and contents.
fn element_pairs<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        loop {
            let i = rest.find(&open)?;
            let after = &rest[i + open.len()..];
            let gt = after.find('>')?;
            if !after.starts_with([' ', '>', '/', '\t', '\n', '\r']) {
                rest = &after[gt + 1..];
                continue;
            }
            let attrs = &after[..gt];
            if attrs.ends_with('/') {
                rest = &after[gt + 1..];
                return Some((attrs.trim_end_matches('/'), ""));
            }
            let body = &after[gt + 1..];
            let Some(end) = body.find(&close) else {
                rest = "";
                return Some((attrs, body));
            };
            rest = &body[end + close.len()..];
            return Some((attrs, &body[..end]));
        }
    })
}

fn cells_of(row: &str) -> impl Iterator<Item = (&str, &str)> {
    element_pairs(row, "c")
}

fn first<'a>(xml: &'a str, name: &'a str) -> Option<&'a str> {
    elements(xml, name).next()
}

/// The value of attribute `name` in a tag's attribute text.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest.as_bytes()[i - 1].is_ascii_whitespace();
        let after = rest[i + name.len()..].trim_start();
        if before_ok && let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            let quote = v.chars().next()?;
            if quote == '"' || quote == '\'' {
                let v = &v[1..];
                return v.find(quote).map(|end| &v[..end]);
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// Column index (A = 0) of a cell reference such as `C12`.
fn column_of(reference: &str) -> Option<usize> {
    let letters: Vec<u8> = reference
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .collect();
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let n = letters.iter().fold(0usize, |n, b| {
        n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
    });
    Some(n - 1)
}

/// The text of a string item: its `<t>` runs, phonetic guides left out.
fn run_text(si: &str) -> String {
    let mut out = String::new();
    let mut rest = si;
    while let Some(i) = rest.find("<rPh") {
        for t in elements(&rest[..i], "t") {
            out.push_str(&unescape(t));
        }
        rest = rest[i..]
            .find("</rPh>")
            .map_or("", |e| &rest[i + e + "</rPh>".len()..]);
    }
    for t in elements(rest, "t") {
        out.push_str(&unescape(t));
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_unescaped(&mut out, s);
    out
}

/// A zip entry that holds document text.
fn is_text_part(name: &str) -> bool {
    name.ends_with(".xml")
        && (name.starts_with("word/")
            || name.starts_with("xl/sharedStrings")
            || name.starts_with("xl/worksheets/")
            || name.starts_with("ppt/slides/")
            || name == "content.xml"
            || name.starts_with("Doc_")
            || name.contains("/Pages/"))
}

/// The text-bearing XML parts of an office document, tags stripped, read
/// one at a time. `strict`: the file says it is an office document, so a
/// zip without text parts is not one. Parts that cannot be read are an
/// error when no part can.
fn office_zip(bytes: &[u8], format: &'static str, strict: bool) -> Result<String, ExtractError> {
    let invalid = |problem| ExtractError::Invalid { format, problem };
    let entries = directory(bytes).map_err(invalid)?;
    let mut parts: Vec<&Entry> = entries.iter().filter(|e| is_text_part(&e.name)).collect();
    if strict && parts.is_empty() {
        return Err(invalid(Problem::NoText {
            entries: entries.len(),
        }));
    }
    parts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut budget = MAX_INFLATED_BYTES;
    let mut out = String::new();
    let mut read = 0;
    let mut failure = None;
    for part in parts {
        if budget == 0 {
            break;
        }
        match read_entry(bytes, part, &mut budget) {
            Ok(data) => {
                out.push_str(&xml_text(&String::from_utf8_lossy(&data)));
                out.push('\n');
                read += 1;
            }
            Err(why) => {
                failure.get_or_insert(Problem::Part {
                    part: part.name.clone(),
                    why,
                });
            }
        }
    }
    match failure {
        Some(problem) if read == 0 => Err(invalid(problem)),
        _ => Ok(out),
    }
}

/// Character data of an XML document: tags dropped (paragraph, row and
/// cell ends become line breaks or tabs), the five entities and numeric
/// references decoded.
pub fn xml_text(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() / 3);
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        push_unescaped(&mut out, &rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        let name = tag.trim_start_matches('/');
        let name = name.split([' ', '/', '\t', '\n']).next().unwrap_or("");
        if tag.starts_with('/') {
            match name {
                "w:p" | "a:p" | "text:p" | "row" | "text:h" => out.push('\n'),
                "c" | "si" | "w:tc" | "table:table-cell" => out.push('\t'),
                _ => {}
            }
        } else if matches!(name, "w:tab" | "w:br") {
            out.push(' ');
        }
        rest = &rest[lt + gt + 1..];
    }
    push_unescaped(&mut out, rest);
    out
}

/// Characters an entity name may have before its `;`: `#x10FFFF` is the
/// longest we decode.
const MAX_ENTITY_CHARS: usize = 10;

fn push_unescaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp + 1..];
        // Counted in characters, not bytes: a bare `&` before Chinese text
        // is common in Word documents (研发&测试部).
        let entity = tail
            .char_indices()
            .take(MAX_ENTITY_CHARS + 1)
            .find(|&(_, c)| c == ';')
            .map(|(semi, _)| &tail[..semi]);
        match entity.and_then(|e| Some((e, decode_entity(e)?))) {
            Some((entity, c)) => {
                out.push(c);
                rest = &tail[entity.len() + 1..];
            }
            // Unknown or unterminated: kept as text.
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(entity: &str) -> Option<char> {
    match entity {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => entity
            .strip_prefix("#x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
            .and_then(char::from_u32),
    }
}

/// Literal strings of a PDF, from its plain and Flate-compressed streams.
fn pdf(bytes: &[u8]) -> Result<String, ExtractError> {
    // Readers accept the header anywhere in the first 1024 bytes.
    if find(&bytes[..bytes.len().min(1024)], b"%PDF").is_none() {
        return Err(ExtractError::Invalid {
            format: "PDF",
            problem: Problem::NotPdf,
        });
    }
    let mut out = String::new();
    let mut budget = MAX_INFLATED_BYTES;
    let mut at = 0;
    while let Some(i) = find(&bytes[at..], b"stream") {
        let start = at + i + b"stream".len();
        // Skip "endstream" itself.
        if at + i >= 3 && &bytes[at + i - 3..at + i] == b"end" {
            at = start;
            continue;
        }
        let data_start = match bytes.get(start..start + 2) {
            Some(b"\r\n") => start + 2,
            Some([b'\n', _]) | Some([b'\r', _]) => start + 1,
            _ => start,
        };
        let Some(end) = find(&bytes[data_start..], b"endstream") else {
            break;
        };
        let data = &bytes[data_start..data_start + end];
        let mut inflated = Vec::new();
        let _ = flate2::read::ZlibDecoder::new(data)
            .take(MAX_PART_BYTES.min(budget) as u64)
            .read_to_end(&mut inflated);
        budget -= inflated.len();
        let content = if inflated.is_empty() { data } else { &inflated };
        pdf_literals(content, &mut out);
        at = data_start + end + b"endstream".len();
        if out.len() > MAX_TEXT_BYTES || budget == 0 {
            break;
        }
    }
    Ok(out)
}

/// `(…)` strings of a content stream, with PDF escapes, one line per `ET`.
fn pdf_literals(content: &[u8], out: &mut String) {
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                let mut depth = 1;
                let mut s = Vec::new();
                i += 1;
                while i < content.len() && depth > 0 {
                    match content[i] {
                        b'\\' if i + 1 < content.len() => {
                            i += 1;
                            match content[i] {
                                b'n' => s.push(b'\n'),
                                b'r' | b't' | b'b' | b'f' => s.push(b' '),
                                d @ b'0'..=b'7' => {
                                    let mut v = u32::from(d - b'0');
                                    for _ in 0..2 {
                                        if let Some(&n @ b'0'..=b'7') = content.get(i + 1) {
                                            v = v * 8 + u32::from(n - b'0');
                                            i += 1;
                                        }
                                    }
                                    s.push(v as u8);
                                }
                                c => s.push(c),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            s.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(b')');
                            }
                        }
                        c => s.push(c),
                    }
                    i += 1;
                }
                out.push_str(&decode_text(&s));
            }
            b'E' if content.get(i + 1) == Some(&b'T') => {
                out.push('\n');
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// Printable runs of a binary file: ASCII runs of 4 or more, and UTF-16LE
/// runs of 2 or more characters that are CJK, ASCII or CJK punctuation.
fn binary_strings(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut run = Vec::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            run.push(b);
        } else {
            if run.len() >= 4 {
                out.push_str(&String::from_utf8_lossy(&run));
                out.push('\n');
            }
            run.clear();
        }
    }
    if run.len() >= 4 {
        out.push_str(&String::from_utf8_lossy(&run));
        out.push('\n');
    }
    // UTF-16LE at both alignments.
    for offset in 0..2 {
        let mut s = String::new();
        let mut count = 0;
        for pair in bytes[offset.min(bytes.len())..].chunks_exact(2) {
            let unit = u16::from_le_bytes([pair[0], pair[1]]);
            let c = char::from_u32(u32::from(unit)).filter(|c| {
                let v = *c as u32;
                (0x20..0x7f).contains(&v)
                    || (0x4e00..=0x9fff).contains(&v)
                    || (0x3000..=0x303f).contains(&v)
                    || (0xff00..=0xffef).contains(&v)
            });
            match c {
                Some(c) => {
                    s.push(c);
                    count += 1;
                }
                None => {
                    if keep_utf16_run(&s, count) {
                        out.push_str(&s);
                        out.push('\n');
                    }
                    s.clear();
                    count = 0;
                }
            }
        }
        if keep_utf16_run(&s, count) {
            out.push_str(&s);
            out.push('\n');
        }
        if out.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    out
}

/// A UTF-16 run worth keeping: two CJK characters, or six of anything
/// (short ASCII-only runs at random alignments are noise).
fn keep_utf16_run(s: &str, count: usize) -> bool {
    (count >= 2 && !s.is_ascii()) || count >= 6
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|&b| b == first) {
        let start = at + i;
        if hay[start..].starts_with(needle) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_first_sheet_is_read_by_cell_reference_with_shared_and_inline_strings() {
        let workbook = r#"<workbook><sheets><sheet name="名册" sheetId="2" r:id="rId7"/><sheet name="其他" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        let rels = r#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId7" Target="worksheets/sheet2.xml"/></Relationships>"#;
        let shared = r#"<sst><si><t>姓名</t></si><si><r><t>手</t></r><r><t xml:space="preserve">机</t></r><rPh><t>ショウ</t></rPh></si><si><t>张&amp;三</t></si></sst>"#;
        let sheet = r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"/><c r="C2"><v>13800138000</v></c></row><row r="3"></row><row r="4"><c r="B4" t="inlineStr"><is><t>李四</t></is></c></row></sheetData></worksheet>"#;
        let other = r#"<worksheet><sheetData><row><c t="inlineStr"><is><t>不该读到</t></is></c></row></sheetData></worksheet>"#;
        let zip = make_zip(&[
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", rels),
            ("xl/sharedStrings.xml", shared),
            ("xl/worksheets/sheet1.xml", other),
            ("xl/worksheets/sheet2.xml", sheet),
        ]);
        let got = xlsx_first_sheet(&zip, 10).unwrap();
        assert_eq!(
            got.rows,
            [
                vec!["姓名".to_string(), String::new(), "手机".into()],
                vec!["张&三".into(), String::new(), "13800138000".into()],
                vec![String::new(), "李四".into()],
            ]
        );
        assert_eq!(got.numbers, [1, 2, 4]);
        assert!(!got.truncated);
        let cut = xlsx_first_sheet(&zip, 2).unwrap();
        assert_eq!(cut.rows.len(), 2);
        assert!(cut.truncated);
        assert!(matches!(
            xlsx_first_sheet(b"not a zip", 10),
            Err(ExtractError::Invalid { .. })
        ));
        let no_sheet = make_zip(&[("xl/workbook.xml", "<workbook/>")]);
        assert_eq!(
            xlsx_first_sheet(&no_sheet, 10).unwrap_err().zh(),
            "不是有效的 XLSX 文件：其中没有工作表"
        );
    }

    /// A zip archive written here, entry by entry (deflated), to test the
    /// reader without a zip library.
    pub(crate) fn make_zip(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, content) in entries {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(content.as_bytes()).unwrap();
            let data = enc.finish().unwrap();
            let offset = out.len() as u32;
            let header = |sig: &[u8]| sig.to_vec();
            let mut local = header(b"PK\x03\x04");
            local.extend([20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            local.extend(0u32.to_le_bytes()); // crc (not checked)
            local.extend((data.len() as u32).to_le_bytes());
            local.extend((content.len() as u32).to_le_bytes());
            local.extend((name.len() as u16).to_le_bytes());
            local.extend(0u16.to_le_bytes());
            local.extend(name.as_bytes());
            out.extend(&local);
            out.extend(&data);
            let mut c = header(b"PK\x01\x02");
            c.extend([20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            c.extend(0u32.to_le_bytes());
            c.extend((data.len() as u32).to_le_bytes());
            c.extend((content.len() as u32).to_le_bytes());
            c.extend((name.len() as u16).to_le_bytes());
            c.extend([0, 0, 0, 0, 0, 0, 0, 0]);
            c.extend(0u32.to_le_bytes());
            c.extend(offset.to_le_bytes());
            c.extend(name.as_bytes());
            central.extend(c);
        }
        let cd_offset = out.len() as u32;
        out.extend(&central);
        out.extend(b"PK\x05\x06");
        out.extend([0, 0, 0, 0]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend([0, 0]);
        out
    }

    #[test]
    fn docx_paragraphs() {
        let docx = make_zip(&[
            ("[Content_Types].xml", "<Types/>"),
            (
                "word/document.xml",
                "<w:document><w:body><w:p><w:r><w:t>低保名单</w:t></w:r></w:p><w:p><w:r><w:t>张三 &amp; 李四</w:t></w:r><w:r><w:tab/><w:t>13812345678</w:t></w:r></w:p></w:body></w:document>",
            ),
        ]);
        let text = text_of(&docx, "docx").unwrap();
        assert!(text.contains("低保名单\n"), "{text:?}");
        assert!(text.contains("张三 & 李四 13812345678"), "{text:?}");
    }

    #[test]
    fn xlsx_shared_strings_and_cells() {
        let xlsx = make_zip(&[
            (
                "xl/sharedStrings.xml",
                "<sst><si><t>姓名</t></si><si><t>身份证号</t></si></sst>",
            ),
            (
                "xl/worksheets/sheet1.xml",
                "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>王五</t></is></c><c><v>42</v></c></row></sheetData></worksheet>",
            ),
            ("xl/styles.xml", "<styleSheet><t>不该出现</t></styleSheet>"),
        ]);
        let text = text_of(&xlsx, "xlsx").unwrap();
        assert!(
            text.contains("姓名") && text.contains("王五\t42"),
            "{text:?}"
        );
        assert!(!text.contains("不该出现"));
    }

    #[test]
    fn pdf_literal_strings_plain_and_deflated() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"BT /F1 12 Tf (ID: 350582199003071238) Tj ET")
            .unwrap();
        let stream = enc.finish().unwrap();
        let mut pdf_bytes = b"%PDF-1.4\n1 0 obj << /Length 44 >>\nstream\nBT (Hello \\(x\\) 138) Tj ET\nendstream\nendobj\n2 0 obj << /Filter /FlateDecode >>\nstream\n".to_vec();
        pdf_bytes.extend(stream);
        pdf_bytes.extend(b"\nendstream\nendobj\n%%EOF");
        let text = text_of(&pdf_bytes, "pdf").unwrap();
        assert!(text.contains("Hello (x) 138"), "{text:?}");
        assert!(text.contains("ID: 350582199003071238"), "{text:?}");
    }

    #[test]
    fn binary_files_give_their_ascii_and_utf16_runs() {
        let mut doc = vec![0xd0, 0xcf, 0x11, 0xe0, 0, 0, 1, 2];
        doc.extend(b"350582199003071238");
        doc.extend([0, 0, 7]);
        for unit in "联系电话".encode_utf16() {
            doc.extend(unit.to_le_bytes());
        }
        doc.extend([0xff, 0xfe, 0]);
        let text = text_of(&doc, "xls").unwrap();
        assert!(text.contains("350582199003071238"), "{text:?}");
        assert!(text.contains("联系电话"), "{text:?}");
    }

    #[test]
    fn text_files_in_gbk() {
        let gbk = encoding_rs::GB18030.encode("姓名,电话\n张三,13812345678").0;
        assert!(text_of(&gbk, "csv").unwrap().contains("张三,13812345678"));
    }

    #[test]
    fn an_ampersand_before_chinese_text_is_kept_and_the_rest_is_read() {
        let docx = make_zip(&[(
            "word/document.xml",
            "<w:p><w:r><w:t>研发&测试部 张三 350582199003071238</w:t></w:r></w:p>",
        )]);
        let text = text_of(&docx, "docx").unwrap();
        assert!(
            text.contains("研发&测试部 张三 350582199003071238"),
            "{text:?}"
        );
    }

    #[test]
    fn unknown_and_unterminated_entities_are_kept_as_text() {
        assert_eq!(
            xml_text("a &unknown; b &#x4E2D;&#25991; &amp &&lt;测&试;"),
            "a &unknown; b 中文 &amp &<测&试;"
        );
        assert_eq!(xml_text("张三&"), "张三&");
        assert_eq!(
            xml_text("&#x110000;&#99999999999;"),
            "&#x110000;&#99999999999;"
        );
    }

    /// One deflated part and `names.len()` central-directory entries that
    /// all point at it: the overlapping-entry zip bomb.
    fn overlapping_zip(content: &[u8], names: &[String]) -> Vec<u8> {
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(content).unwrap();
        let data = enc.finish().unwrap();
        let mut out = b"PK\x03\x04".to_vec();
        out.extend([20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        out.extend(0u32.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((content.len() as u32).to_le_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.push(b'a');
        out.extend(&data);
        let cd = out.len() as u32;
        let mut central = Vec::new();
        for name in names {
            central.extend(b"PK\x01\x02");
            central.extend([20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            central.extend(0u32.to_le_bytes());
            central.extend((data.len() as u32).to_le_bytes());
            central.extend((content.len() as u32).to_le_bytes());
            central.extend((name.len() as u16).to_le_bytes());
            central.extend([0; 12]);
            central.extend(0u32.to_le_bytes());
            central.extend(name.as_bytes());
        }
        out.extend(&central);
        out.extend(b"PK\x05\x06\0\0\0\0");
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(cd.to_le_bytes());
        out.extend([0, 0]);
        out
    }

    #[test]
    fn entries_that_share_one_bomb_inflate_no_more_than_the_budget() {
        let names: Vec<String> = (0..5).map(|i| format!("word/part{i}.xml")).collect();
        let bomb = overlapping_zip(&vec![b'0'; MAX_PART_BYTES], &names);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        let inflated: usize = zip_entries(&bomb)
            .unwrap()
            .iter()
            .map(|(_, data)| data.len())
            .sum();
        assert!(
            inflated <= MAX_INFLATED_BYTES,
            "{inflated} bytes inflated from a {} byte zip",
            bomb.len()
        );
        let text = text_of(&bomb, "docx").unwrap();
        assert!(
            text.len() <= MAX_INFLATED_BYTES + names.len(),
            "{}",
            text.len()
        );
    }

    #[test]
    fn a_docx_that_is_not_a_zip_is_an_error_saying_so() {
        let e = text_of(b"<html><body>404 Not Found</body></html>", "docx").unwrap_err();
        assert!(e.to_string().contains("not a zip"), "{e}");
        assert!(e.zh().contains("不是 zip"), "{}", e.zh());
        // A legacy document under the new name is read as one.
        let mut doc = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        doc.extend(b"\x00\x00350582199003071238\x00");
        assert!(
            text_of(&doc, "docx")
                .unwrap()
                .contains("350582199003071238")
        );
    }

    #[test]
    fn a_password_protected_xlsx_is_an_error_saying_so() {
        // Excel keeps an encrypted workbook in a compound file with an
        // EncryptedPackage stream.
        let mut cfb = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        cfb.extend([0; 64]);
        for unit in "EncryptedPackage".encode_utf16() {
            cfb.extend(unit.to_le_bytes());
        }
        cfb.extend([0; 64]);
        let e = text_of(&cfb, "xlsx").unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
        assert!(e.zh().contains("密码"), "{}", e.zh());
    }

    #[test]
    fn a_docx_zip_without_document_text_is_an_error() {
        let zip = make_zip(&[("[Content_Types].xml", "<Types/>"), ("media/a.png", "x")]);
        let e = text_of(&zip, "docx").unwrap_err();
        assert!(e.to_string().contains("no document text"), "{e}");
        // Any other zip says nothing about what it should hold.
        assert!(text_of(&zip, "zip").is_ok());
    }

    #[test]
    fn a_text_part_that_cannot_be_inflated_is_an_error_naming_it() {
        let mut zip = make_zip(&[("word/document.xml", "<w:t>张三</w:t>")]);
        // Compression method 14 (LZMA) in the central directory.
        let cd = find(&zip, b"PK\x01\x02").unwrap();
        zip[cd + 10] = 14;
        let e = text_of(&zip, "docx").unwrap_err();
        assert!(
            e.to_string().contains("word/document.xml") && e.to_string().contains("14"),
            "{e}"
        );
    }

    #[test]
    fn a_pdf_that_is_not_a_pdf_is_an_error() {
        let e = text_of(b"<html><body>404</body></html>", "pdf").unwrap_err();
        assert!(e.to_string().contains("%PDF"), "{e}");
        // A PDF with nothing to read in it is still a PDF.
        assert_eq!(text_of(b"%PDF-1.4 fake", "pdf").unwrap(), "");
    }

    #[test]
    fn broken_and_hostile_input_is_an_error_or_empty_never_a_panic() {
        assert!(text_of(b"PK\x03\x04garbage", "docx").is_err());
        let mut z = make_zip(&[("word/document.xml", "<w:t>x</w:t>")]);
        let n = z.len();
        z[n - 6] = 0xff; // central directory offset out of range
        assert!(text_of(&z, "docx").is_err());
        // A bomb: a part that inflates past the cap is cut at the cap.
        let zeros = "0".repeat(MAX_PART_BYTES + 4 * 1024 * 1024);
        let bomb = make_zip(&[("word/document.xml", zeros.as_str())]);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        let text = text_of(&bomb, "docx").unwrap();
        assert!(text.len() <= MAX_PART_BYTES + 1, "{}", text.len());
        for junk in [&b""[..], b"%PDF", b"stream", b"(((((", b"\xff\xfe\xfd"] {
            let _ = text_of(junk, "pdf");
            let _ = text_of(junk, "doc");
        }
    }

    /// Properties on hostile input: every reader of attachment bytes
    /// returns, within its budgets, and says when it could not read.
    mod hostile {
        use super::*;
        use proptest::prelude::*;

        const EXTENSIONS: &[&str] = &[
            "docx", "xlsx", "pptx", "odt", "ods", "odp", "ofd", "pdf", "doc", "xls", "wps", "et",
            "txt", "csv", "zip", "",
        ];

        const SIGNATURES: &[&[u8]] = &[
            b"PK\x03\x04",
            b"PK\x05\x06",
            b"%PDF-1.7\n",
            b"%PDF-1.4\nstream\n",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            b"\xef\xbb\xbf",
        ];

        /// The formats read without inflating anything: what they give is
        /// at most this many times their size (UTF-16 and GB18030 runs
        /// grow by half in UTF-8, at both alignments).
        const PLAIN_GROWTH: usize = 5;

        fn small_docx() -> Vec<u8> {
            make_zip(&[
                ("[Content_Types].xml", "<Types/>"),
                (
                    "word/document.xml",
                    "<w:document><w:body><w:p><w:r><w:t>研发&测试部 张三 &amp; 李四</w:t></w:r></w:p><w:p><w:t>350582199003071238</w:t></w:p></w:body></w:document>",
                ),
            ])
        }

        fn small_xlsx() -> Vec<u8> {
            make_zip(&[
                (
                    "xl/sharedStrings.xml",
                    "<sst><si><t>姓名</t></si><si><t>研发&测试部</t></si></sst>",
                ),
                (
                    "xl/worksheets/sheet1.xml",
                    "<worksheet><sheetData><row><c><v>1</v></c></row></sheetData></worksheet>",
                ),
            ])
        }

        fn small_odt() -> Vec<u8> {
            make_zip(&[(
                "content.xml",
                "<office:text><text:p>王五&#x4E2D;&lt;</text:p></office:text>",
            )])
        }

        fn small_pdf() -> Vec<u8> {
            let mut enc =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(b"BT (ID: 350582199003071238) Tj ET").unwrap();
            let mut pdf = b"%PDF-1.4\n1 0 obj <<>>\nstream\nBT (plain \\(x\\) \\101) Tj ET\nendstream\nendobj\n2 0 obj << /Filter /FlateDecode >>\nstream\n".to_vec();
            pdf.extend(enc.finish().unwrap());
            pdf.extend(b"\nendstream\nendobj\n%%EOF");
            pdf
        }

        fn small_doc() -> Vec<u8> {
            let mut doc = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0];
            for unit in "联系电话".encode_utf16() {
                doc.extend(unit.to_le_bytes());
            }
            doc.extend(b"\0\x0013812345678\0");
            doc
        }

        /// One change a damaged download or a hostile author makes.
        #[derive(Debug, Clone)]
        enum Mutation {
            Flip(usize, u8),
            Insert(usize, Vec<u8>),
            Remove(usize, usize),
            Truncate(usize),
            /// A length or offset field overwritten with a hostile value.
            Word(usize, u32),
        }

        fn mutation() -> impl Strategy<Value = Mutation> {
            prop_oneof![
                (any::<usize>(), 1..=255u8).prop_map(|(at, x)| Mutation::Flip(at, x)),
                (
                    any::<usize>(),
                    proptest::collection::vec(any::<u8>(), 1..16)
                )
                    .prop_map(|(at, b)| Mutation::Insert(at, b)),
                (any::<usize>(), 1..64usize).prop_map(|(at, n)| Mutation::Remove(at, n)),
                any::<usize>().prop_map(Mutation::Truncate),
                (
                    any::<usize>(),
                    prop_oneof![
                        Just(0u32),
                        Just(u32::MAX),
                        Just(0x7fff_ffff),
                        Just(0xffff),
                        any::<u32>()
                    ]
                )
                    .prop_map(|(at, v)| Mutation::Word(at, v)),
            ]
        }

        fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
            for m in mutations {
                let n = bytes.len().max(1);
                match m {
                    Mutation::Flip(at, x) => {
                        if let Some(b) = bytes.get_mut(at % n) {
                            *b ^= x;
                        }
                    }
                    Mutation::Insert(at, b) => {
                        let at = at % (bytes.len() + 1);
                        bytes.splice(at..at, b.iter().copied());
                    }
                    Mutation::Remove(at, len) => {
                        let at = at % n;
                        let end = (at + len).min(bytes.len());
                        if at < end {
                            bytes.drain(at..end);
                        }
                    }
                    Mutation::Truncate(at) => bytes.truncate(at % n),
                    Mutation::Word(at, v) => {
                        let at = at % n;
                        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
                            if let Some(slot) = bytes.get_mut(at + i) {
                                *slot = b;
                            }
                        }
                    }
                }
            }
            bytes
        }

        /// What every call must satisfy, whatever it was given.
        fn within_budgets(bytes: &[u8], ext: &str) -> Result<String, ExtractError> {
            let result = text_of(bytes, ext);
            if let Ok(text) = &result {
                assert!(text.len() <= MAX_TEXT_BYTES, "{}", text.len());
            }
            result
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn arbitrary_bytes_under_any_name_are_read_or_refused_within_budget(
                bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                ext in proptest::sample::select(EXTENSIONS),
            ) {
                let result = within_budgets(&bytes, ext);
                let zip = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06");
                if zip_format(ext).is_some() && !zip && !is_compound(&bytes) {
                    prop_assert!(result.is_err(), "{ext}: {result:?}");
                }
                if ext == "pdf" && find(&bytes[..bytes.len().min(1024)], b"%PDF").is_none() {
                    prop_assert!(result.is_err(), "{result:?}");
                }
                if let Ok(text) = &result
                    && !zip
                    && !bytes.windows(6).any(|w| w == b"stream")
                {
                    prop_assert!(text.len() <= PLAIN_GROWTH * bytes.len() + 8, "{} from {}", text.len(), bytes.len());
                }
            }

            #[test]
            fn arbitrary_bytes_after_a_format_signature_are_read_or_refused_within_budget(
                signature in proptest::sample::select(SIGNATURES),
                tail in proptest::collection::vec(any::<u8>(), 0..2048),
                ext in proptest::sample::select(EXTENSIONS),
            ) {
                let mut bytes = signature.to_vec();
                bytes.extend(tail);
                let result = within_budgets(&bytes, ext);
                // No end of central directory: no zip can be read.
                if zip_format(ext).is_some() && bytes.starts_with(b"PK")
                    && !bytes.windows(4).any(|w| w == b"PK\x05\x06")
                {
                    prop_assert!(result.is_err(), "{ext}: {result:?}");
                }
            }

            #[test]
            fn a_damaged_office_document_is_read_or_refused_within_budget(
                which in 0..3usize,
                mutations in proptest::collection::vec(mutation(), 1..6),
            ) {
                let (original, ext) = match which {
                    0 => (small_docx(), "docx"),
                    1 => (small_xlsx(), "xlsx"),
                    _ => (small_odt(), "odt"),
                };
                let bytes = mutate(original, &mutations);
                let result = within_budgets(&bytes, ext);
                if !bytes.windows(4).any(|w| w == b"PK\x05\x06") {
                    prop_assert!(result.is_err(), "{result:?}");
                }
            }

            #[test]
            fn a_damaged_pdf_or_legacy_file_is_read_or_refused_within_budget(
                pdf in any::<bool>(),
                mutations in proptest::collection::vec(mutation(), 1..6),
            ) {
                let (original, ext) = if pdf { (small_pdf(), "pdf") } else { (small_doc(), "doc") };
                let bytes = mutate(original, &mutations);
                let result = within_budgets(&bytes, ext);
                if pdf && find(&bytes[..bytes.len().min(1024)], b"%PDF").is_none() {
                    prop_assert!(result.is_err(), "{result:?}");
                }
                if !pdf {
                    let text = result.unwrap();
                    prop_assert!(text.len() <= PLAIN_GROWTH * bytes.len() + 8);
                }
            }

            #[test]
            fn zips_with_hostile_entries_and_sizes_are_read_or_refused_within_budget(
                entries in proptest::collection::vec(
                    (
                        proptest::sample::select(&[
                            "word/document.xml", "word/header1.xml", "xl/sharedStrings.xml",
                            "xl/worksheets/sheet1.xml", "content.xml", "media/image1.png",
                            "[Content_Types].xml", "docProps/app.xml",
                        ][..]),
                        "(\\PC|[&;<>#x])*",
                    ),
                    0..6,
                ),
                hostile in proptest::collection::vec((any::<usize>(), 0..6usize, prop_oneof![
                    Just(0u32), Just(u32::MAX), Just(0x7fff_ffff), Just(0xffff), any::<u32>()
                ]), 0..3),
            ) {
                let plain: Vec<(&str, &str)> = entries.iter().map(|(n, c)| (*n, c.as_str())).collect();
                let mut zip = make_zip(&plain);
                // Overwrite fields of the central directory records:
                // flags, method, compressed size, name length, extra length
                // and local offset.
                let records: Vec<usize> = (0..zip.len().saturating_sub(3))
                    .filter(|&i| zip[i..].starts_with(b"PK\x01\x02"))
                    .collect();
                let fields = [8usize, 10, 20, 28, 30, 42];
                let mut touched = false;
                for (record, field, value) in &hostile {
                    let Some(&at) = records.get(record % records.len().max(1)) else { continue };
                    let at = at + fields[*field];
                    let width = if matches!(fields[*field], 20 | 42) { 4 } else { 2 };
                    for (i, b) in value.to_le_bytes().into_iter().take(width).enumerate() {
                        zip[at + i] = b;
                    }
                    touched = true;
                }
                let result = within_budgets(&zip, "docx");
                let has_text_part = plain.iter().any(|(n, _)| is_text_part(n));
                if !has_text_part {
                    prop_assert!(result.is_err(), "{result:?}");
                }
                if !touched {
                    let text = result.as_ref().map_err(|e| e.to_string());
                    if has_text_part {
                        let text = text.unwrap();
                        for (name, content) in &plain {
                            if is_text_part(name) {
                                prop_assert!(text.contains(xml_text(content).trim()), "{text:?}");
                            }
                        }
                    }
                }
            }

            #[test]
            fn xml_text_of_any_string_is_no_longer_than_it_and_keeps_plain_text(
                xml in "(\\PC|[&;<>#x/])*",
                plain in "[^&<]*",
            ) {
                prop_assert!(xml_text(&xml).len() <= xml.len());
                prop_assert_eq!(xml_text(&plain), plain);
            }
        }
    }
}
