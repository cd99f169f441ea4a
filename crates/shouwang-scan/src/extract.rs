//! Text out of the attachments government sites publish, so that the PII
//! detectors can read them: the 低保 list in an XLSX, the scholarship list
//! in a DOCX.
//!
//! - DOCX, XLSX, PPTX, ODT/ODS (zip containers): the XML parts that hold
//!   text, with tags stripped. The zip reader is small and bounded: each
//!   part is inflated to at most [`MAX_PART_BYTES`], so a zip bomb costs
//!   nothing.
//! - PDF: Flate streams are inflated and the literal strings of text
//!   operators read. Text drawn with CID fonts through a ToUnicode map
//!   (most Chinese PDFs) is not decoded; ASCII digits in it usually are.
//! - DOC, XLS, WPS, ET and other binary files: ASCII and UTF-16LE runs,
//!   the way `strings` reads them; BIFF and Word store cell and paragraph
//!   text that way.
//! - TXT and CSV: UTF-8, else GB18030.

use std::io::Read;

/// A part of a container is inflated to at most this many bytes.
pub const MAX_PART_BYTES: usize = 32 * 1024 * 1024;
/// Text returned at most, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Why no text came out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("not a valid {format} file: {detail}")]
    Invalid {
        format: &'static str,
        detail: String,
    },
}

/// The text of a document, chosen by its file extension (lower case, no
/// dot) and, failing that, by its first bytes.
pub fn text_of(bytes: &[u8], extension: &str) -> Result<String, ExtractError> {
    let ext = extension.to_ascii_lowercase();
    let zip = bytes.starts_with(b"PK\x03\x04");
    let mut text = match ext.as_str() {
        "docx" | "xlsx" | "pptx" | "odt" | "ods" | "odp" | "ofd" if zip => office_zip(bytes)?,
        "pdf" => pdf(bytes),
        "txt" | "csv" | "htm" | "html" | "xml" | "json" => decode_text(bytes),
        _ if zip => office_zip(bytes)?,
        _ if bytes.starts_with(b"%PDF") => pdf(bytes),
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

fn le16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The entries of a zip file: name and contents, inflated (bounded).
pub fn zip_entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ExtractError> {
    let bad = |detail: &str| ExtractError::Invalid {
        format: "zip",
        detail: detail.to_string(),
    };
    // End of central directory: within the last 64 KiB + 22 bytes.
    let from = bytes.len().saturating_sub(65_557);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| bad("no end of central directory"))?;
    let count = le16(bytes, eocd + 10).ok_or_else(|| bad("truncated"))?;
    let mut at = le32(bytes, eocd + 16).ok_or_else(|| bad("truncated"))?;
    let mut out = Vec::new();
    for _ in 0..count {
        if !bytes
            .get(at..)
            .is_some_and(|b| b.starts_with(b"PK\x01\x02"))
        {
            return Err(bad("broken central directory"));
        }
        let method = le16(bytes, at + 10).ok_or_else(|| bad("truncated"))?;
        let compressed = le32(bytes, at + 20).ok_or_else(|| bad("truncated"))?;
        let name_len = le16(bytes, at + 28).ok_or_else(|| bad("truncated"))?;
        let extra_len = le16(bytes, at + 30).ok_or_else(|| bad("truncated"))?;
        let comment_len = le16(bytes, at + 32).ok_or_else(|| bad("truncated"))?;
        let local = le32(bytes, at + 42).ok_or_else(|| bad("truncated"))?;
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok_or_else(|| bad("truncated"))?;
        at += 46 + name_len + extra_len + comment_len;

        if !bytes
            .get(local..)
            .is_some_and(|b| b.starts_with(b"PK\x03\x04"))
        {
            continue;
        }
        let lname = le16(bytes, local + 26).unwrap_or(0);
        let lextra = le16(bytes, local + 28).unwrap_or(0);
        let start = local + 30 + lname + lextra;
        let Some(data) = bytes.get(start..start.saturating_add(compressed)) else {
            continue;
        };
        let contents = match method {
            0 => data[..data.len().min(MAX_PART_BYTES)].to_vec(),
            8 => {
                let mut buf = Vec::new();
                let _ = flate2::read::DeflateDecoder::new(data)
                    .take(MAX_PART_BYTES as u64)
                    .read_to_end(&mut buf);
                buf
            }
            _ => continue,
        };
        out.push((name, contents));
    }
    Ok(out)
}

/// The text-bearing XML parts of an office document, tags stripped.
fn office_zip(bytes: &[u8]) -> Result<String, ExtractError> {
    let mut parts = zip_entries(bytes)?;
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (name, data) in parts {
        let wanted = name.ends_with(".xml")
            && (name.starts_with("word/")
                || name.starts_with("xl/sharedStrings")
                || name.starts_with("xl/worksheets/")
                || name.starts_with("ppt/slides/")
                || name == "content.xml"
                || name.starts_with("Doc_")
                || name.contains("/Pages/"));
        if wanted {
            out.push_str(&xml_text(&String::from_utf8_lossy(&data)));
            out.push('\n');
        }
    }
    Ok(out)
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

fn push_unescaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail[..tail.len().min(12)].find(';') else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
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
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Literal strings of a PDF, from its plain and Flate-compressed streams.
fn pdf(bytes: &[u8]) -> String {
    let mut out = String::new();
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
            .take(MAX_PART_BYTES as u64)
            .read_to_end(&mut inflated);
        let content = if inflated.is_empty() { data } else { &inflated };
        pdf_literals(content, &mut out);
        at = data_start + end + b"endstream".len();
        if out.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    out
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
}
