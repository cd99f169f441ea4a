//! Bytes to text. Many government sites still serve GBK or GB2312, often
//! declared only in a `<meta>` tag, sometimes not at all.

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Decode a page: a BOM wins, then the charset of the Content-Type header,
/// then a `<meta charset>` or `http-equiv` declaration in the first 4 KiB,
/// then UTF-8 if the bytes are valid UTF-8, else GB18030 (a superset of GBK
/// and GB2312, the likely encoding of an undeclared Chinese page).
/// Returns the text and the name of the encoding used.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> (String, &'static str) {
    let encoding = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| content_type.and_then(charset_of_content_type))
        .or_else(|| meta_charset(bytes))
        .unwrap_or_else(|| {
            if std::str::from_utf8(bytes).is_ok() {
                UTF_8
            } else {
                GB18030
            }
        });
    // GB2312 and GBK labels map to GBK in the WHATWG table; decoding as
    // GB18030 is a superset and never worse.
    let encoding = if encoding.name() == "GBK" {
        GB18030
    } else {
        encoding
    };
    let (text, used, _had_errors) = encoding.decode(bytes);
    (text.into_owned(), used.name())
}

fn charset_of_content_type(ct: &str) -> Option<&'static Encoding> {
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

/// `<meta charset="gbk">` or `<meta http-equiv="Content-Type"
/// content="text/html; charset=gb2312">` near the top of the document.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut at = 0;
    while let Some(i) = find(&lower[at..], b"charset") {
        let mut j = at + i + b"charset".len();
        while j < lower.len() && matches!(lower[j], b' ' | b'\t' | b'\n' | b'\r') {
            j += 1;
        }
        if lower.get(j) == Some(&b'=') {
            j += 1;
            while j < lower.len() && matches!(lower[j], b' ' | b'"' | b'\'') {
                j += 1;
            }
            let end = lower[j..]
                .iter()
                .position(|b| {
                    !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
                })
                .map_or(lower.len(), |k| j + k);
            if let Some(e) = Encoding::for_label(&lower[j..end]) {
                return Some(e);
            }
        }
        at = j.max(at + i + 1);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn meta_declared_gbk() {
        let mut page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>".to_vec();
        page.extend(gbk("通知公告"));
        let (text, enc) = decode(&page, Some("text/html"));
        assert!(text.contains("通知公告"), "{text}");
        assert_eq!(enc, "gb18030");
    }

    #[test]
    fn header_charset_wins_over_guessing() {
        let (text, _) = decode(&gbk("政务公开"), Some("text/html; charset=GBK"));
        assert_eq!(text, "政务公开");
    }

    #[test]
    fn undeclared_bytes_fall_back_to_utf8_then_gb18030() {
        assert_eq!(
            decode("领导班子".as_bytes(), None),
            ("领导班子".into(), "UTF-8")
        );
        let (text, enc) = decode(&gbk("本地概况"), None);
        assert_eq!((text.as_str(), enc), ("本地概况", "gb18030"));
    }

    #[test]
    fn html5_meta_charset() {
        let mut page = b"<meta charset='gbk'>".to_vec();
        page.extend(gbk("机构职能"));
        assert!(decode(&page, None).0.contains("机构职能"));
    }

    #[test]
    fn garbage_decodes_without_panicking() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let _ = decode(&bytes, Some("text/html; charset=nonsense"));
        let _ = decode(b"charset=", None);
        let _ = decode(b"", None);
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_bytes_under_any_declared_charset_decode_within_three_times_their_size(
                head in proptest::sample::select(&[
                    "", "<meta charset=gbk>", "<meta charset=\"", "charset=", "\u{feff}",
                    "<meta http-equiv=Content-Type content='text/html; charset=big5'>",
                ][..]),
                bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                content_type in proptest::option::of("[a-z/]{0,12}(; ?charset=[a-z0-9_:.\"'-]{0,12})?;?"),
            ) {
                let mut page = head.as_bytes().to_vec();
                page.extend(bytes);
                let (text, _) = decode(&page, content_type.as_deref());
                // A byte becomes at most one U+FFFD, three bytes of UTF-8.
                prop_assert!(text.len() <= 3 * page.len(), "{} from {}", text.len(), page.len());
            }
        }
    }
}
