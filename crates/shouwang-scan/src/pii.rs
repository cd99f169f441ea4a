//! Personal information in text.
//!
//! A township publishes 低保 (minimum-income aid) lists, a school publishes
//! scholarship lists: the numbers in them are what leaks. We look for three
//! kinds of number and validate each, so that an order number or a
//! statistics table does not raise an alarm:
//!
//! - 18-digit resident ID numbers (GB 11643-1999): a known province code, a
//!   real birth date no later than today and at most 120 years ago, and the
//!   ISO 7064 MOD 11-2 check character;
//! - mainland mobile numbers: 11 digits `1[3-9]xxxxxxxxx`, also written
//!   `138-1234-5678` or `138 1234 5678`;
//! - bank card numbers: 16 to 19 digits with a card-scheme prefix (UnionPay
//!   62, Visa 4, Mastercard 51-55 and 2221-2720, JCB 35, Amex 34/37 at 15)
//!   and a valid Luhn check digit, also written in groups of four.
//!
//! Every value leaves this module masked (`35*************123`,
//! `138****5678`, `6222***********0123`), the way inspectors ask sites to
//! publish them; [`redact`] masks every hit in a snippet before it is shown
//! or stored.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What kind of personal information a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiKind {
    /// 居民身份证号码.
    IdCard,
    /// 手机号码.
    Mobile,
    /// 银行卡号.
    BankCard,
}

impl PiiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::IdCard => "id-card",
            PiiKind::Mobile => "mobile",
            PiiKind::BankCard => "bank-card",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            PiiKind::IdCard => "身份证号",
            PiiKind::Mobile => "手机号",
            PiiKind::BankCard => "银行卡号",
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated number in a text. The full value is never kept: only
/// where it is and its masked form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiMatch {
    pub kind: PiiKind,
    /// Byte range in the text that was scanned.
    pub start: usize,
    pub end: usize,
    /// The value as it may be shown: most digits replaced by `*`.
    pub masked: String,
}

/// Every ID number, mobile number and bank card number in `text`, in order,
/// validated against today's date.
pub fn find_pii(text: &str) -> Vec<PiiMatch> {
    find_pii_on(text, Utc::now().date_naive())
}

/// Like [`find_pii`], with "today" given (birth dates after it are not
/// plausible), so that results do not depend on the clock.
pub fn find_pii_on(text: &str, today: NaiveDate) -> Vec<PiiMatch> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Cheap skip: most of a page is not digits.
        let Some(off) = bytes[i..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        i += off;
        if i > 0 && is_word_byte(bytes[i - 1]) {
            // In the middle of a token such as `abc123`: skip the run.
            i = digit_run_end(bytes, i);
            continue;
        }
        let run_end = digit_run_end(bytes, i);
        if is_fraction(bytes, i) {
            // The digits after a decimal point (3.14159265359): not a number
            // of their own.
            i = run_end;
            continue;
        }
        match classify_at(bytes, i, run_end, today) {
            Some((kind, end, digits)) => {
                out.push(PiiMatch {
                    kind,
                    start: i,
                    end,
                    masked: mask(kind, &digits),
                });
                i = end;
            }
            None => i = run_end,
        }
    }
    out
}

/// `text` with every personal number replaced by its masked form.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_on(text, Utc::now().date_naive())
}

/// [`redact`] with "today" given.
pub fn redact_on(text: &str, today: NaiveDate) -> Cow<'_, str> {
    let hits = find_pii_on(text, today);
    if hits.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for h in hits {
        out.push_str(&text[at..h.start]);
        out.push_str(&h.masked);
        at = h.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Whether the digits at `at` follow a decimal point or separator that
/// follows a digit: `3.1415…`, `1,380,000…`.
fn is_fraction(bytes: &[u8], at: usize) -> bool {
    at >= 2 && matches!(bytes[at - 1], b'.' | b',') && bytes[at - 2].is_ascii_digit()
}

/// Whether a number ending at `end` goes on as a decimal: `13812345678.5`.
fn continues_as_decimal(bytes: &[u8], end: usize) -> bool {
    bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn digit_run_end(bytes: &[u8], from: usize) -> usize {
    from + bytes[from..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// True when nothing word-like follows `end`: the number stands alone.
fn ends_clean(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|b| !is_word_byte(*b)) && !continues_as_decimal(bytes, end)
}

/// What the number starting at `start` (a digit run up to `run_end`) is,
/// where it ends and its digits.
fn classify_at(
    bytes: &[u8],
    start: usize,
    run_end: usize,
    today: NaiveDate,
) -> Option<(PiiKind, usize, Vec<u8>)> {
    let run = &bytes[start..run_end];
    match run.len() {
        17 if matches!(bytes.get(run_end), Some(b'X' | b'x')) && ends_clean(bytes, run_end + 1) => {
            let mut digits = run.to_vec();
            digits.push(b'X');
            valid_id_card(&digits, today).then_some((PiiKind::IdCard, run_end + 1, digits))
        }
        18 if ends_clean(bytes, run_end) => {
            if valid_id_card(run, today) {
                Some((PiiKind::IdCard, run_end, run.to_vec()))
            } else if valid_bank_card(run) {
                Some((PiiKind::BankCard, run_end, run.to_vec()))
            } else {
                None
            }
        }
        11 if ends_clean(bytes, run_end) && valid_mobile(run) => {
            Some((PiiKind::Mobile, run_end, run.to_vec()))
        }
        15..=19 if ends_clean(bytes, run_end) && valid_bank_card(run) => {
            Some((PiiKind::BankCard, run_end, run.to_vec()))
        }
        3 => grouped(bytes, start, &[4, 4])
            .filter(|(_, d)| valid_mobile(d))
            .map(|(end, d)| (PiiKind::Mobile, end, d)),
        4 => grouped_card(bytes, start)
            .filter(|(_, d)| valid_bank_card(d))
            .map(|(end, d)| (PiiKind::BankCard, end, d)),
        _ => None,
    }
}

/// A number written in groups: the first group (already known to be a
/// digit run at `start`), then groups of exactly the given lengths, each
/// after the same single separator (`-` or a space). Returns the end and
/// the digits.
fn grouped(bytes: &[u8], start: usize, rest: &[usize]) -> Option<(usize, Vec<u8>)> {
    let mut end = digit_run_end(bytes, start);
    let mut digits = bytes[start..end].to_vec();
    let sep = *bytes.get(end)?;
    if sep != b'-' && sep != b' ' {
        return None;
    }
    for &len in rest {
        if bytes.get(end) != Some(&sep) {
            return None;
        }
        let group_end = digit_run_end(bytes, end + 1);
        if group_end - (end + 1) != len {
            return None;
        }
        digits.extend_from_slice(&bytes[end + 1..group_end]);
        end = group_end;
    }
    ends_clean(bytes, end).then_some((end, digits))
}

/// A card number in groups of four with a last group of one to four
/// digits: 16 to 19 digits in all.
fn grouped_card(bytes: &[u8], start: usize) -> Option<(usize, Vec<u8>)> {
    let mut end = start + 4;
    let sep = *bytes.get(end)?;
    if sep != b'-' && sep != b' ' {
        return None;
    }
    let mut digits = bytes[start..end].to_vec();
    while bytes.get(end) == Some(&sep) && digits.len() < 19 {
        let group_end = digit_run_end(bytes, end + 1);
        let len = group_end - (end + 1);
        if len == 0 || len > 4 {
            break;
        }
        digits.extend_from_slice(&bytes[end + 1..group_end]);
        end = group_end;
        if len < 4 {
            break;
        }
    }
    ((16..=19).contains(&digits.len()) && ends_clean(bytes, end)).then_some((end, digits))
}

/// Province-level codes that start a resident ID number: the 31 mainland
/// provinces, Taiwan (71), Hong Kong (81), Macao (82), residence permits
/// for Taiwan residents (83) and the 2023 permanent residence ID for
/// foreigners (91..).
fn known_region(d0: u8, d1: u8) -> bool {
    let code = (d0 - b'0') * 10 + (d1 - b'0');
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83 | 91..=99
    )
}

/// ISO 7064 MOD 11-2, as GB 11643 specifies for the 18th character.
fn id_check_char(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// An 18-character resident ID number: region, birth date, checksum.
pub fn valid_id_card(id: &[u8], today: NaiveDate) -> bool {
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = id[17].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == b'X') || !known_region(id[0], id[1]) {
        return false;
    }
    let (y, m, d) = (number(&id[6..10]), number(&id[10..12]), number(&id[12..14]));
    let Some(birth) = NaiveDate::from_ymd_opt(y as i32, m, d) else {
        return false;
    };
    if birth > today || today.year() - birth.year() > 120 {
        return false;
    }
    id_check_char(&id[..17]) == last
}

fn valid_mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1])
}

/// The Luhn (mod 10) check every payment card number carries.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.len() < 2 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = v * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number: a scheme prefix that fits the length, and Luhn. A run of
/// zeros passes Luhn, so the prefix rule also keeps padding out.
fn valid_bank_card(d: &[u8]) -> bool {
    let len = d.len();
    let prefix2 = number(&d[..2.min(len)]);
    let prefix4 = number(&d[..4.min(len)]);
    let scheme = match len {
        15 => matches!(prefix2, 34 | 37),
        16..=19 => {
            prefix2 == 62
                || d[0] == b'4'
                || (51..=55).contains(&prefix2)
                || (2221..=2720).contains(&prefix4)
                || prefix2 == 35
        }
        _ => false,
    };
    scheme && luhn_valid(d)
}

/// The masked form of a value, as inspectors ask it be published.
fn mask(kind: PiiKind, digits: &[u8]) -> String {
    let (keep_head, keep_tail) = match kind {
        PiiKind::IdCard => (2, 3),
        PiiKind::Mobile => (3, 4),
        PiiKind::BankCard => (4, 4),
    };
    let n = digits.len();
    let mut out = String::with_capacity(n);
    for (i, d) in digits.iter().enumerate() {
        if i < keep_head || i >= n.saturating_sub(keep_tail) {
            out.push(char::from(*d));
        } else {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    /// A valid ID number for a region and birth date, with the checksum
    /// computed here from the standard's weights (not copied from a list).
    pub(crate) fn make_id(first17: &str) -> String {
        let c = id_check_char(first17.as_bytes());
        format!("{first17}{}", char::from(c))
    }

    #[test]
    fn the_checksum_of_the_standards_worked_example() {
        // GB 11643-1999 appendix: 11010519491231002 → X.
        assert_eq!(id_check_char(b"11010519491231002"), b'X');
        assert!(valid_id_card(b"11010519491231002X", today()));
        assert!(valid_id_card(b"11010519491231002x", today()));
        assert!(!valid_id_card(b"110105194912310021", today()));
    }

    #[test]
    fn id_numbers_need_a_real_past_birth_date_and_region() {
        let ok = make_id("35058219900307123");
        assert!(valid_id_card(ok.as_bytes(), today()), "{ok}");
        // 30 February.
        assert!(!valid_id_card(
            make_id("35058219900230123").as_bytes(),
            today()
        ));
        // Born in the future.
        assert!(!valid_id_card(
            make_id("35058220300101123").as_bytes(),
            today()
        ));
        // Born 1850: not a living person's card.
        assert!(!valid_id_card(
            make_id("35058218500101123").as_bytes(),
            today()
        ));
        // Region 00 does not exist.
        assert!(!valid_id_card(
            make_id("00058219900307123").as_bytes(),
            today()
        ));
    }

    #[test]
    fn finds_and_masks_an_id_number_in_chinese_text() {
        let id = make_id("35058219900307123");
        let text = format!("申请人：张三，身份证号{id}，住址略。");
        let hits = find_pii_on(&text, today());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].kind, PiiKind::IdCard);
        assert_eq!(&text[hits[0].start..hits[0].end], id);
        assert_eq!(hits[0].masked, format!("35{}{}", "*".repeat(13), &id[15..]));
        let shown = redact_on(&text, today());
        assert!(!shown.contains(&id), "{shown}");
        assert!(shown.contains("35*************"), "{shown}");
    }

    #[test]
    fn an_id_with_a_wrong_check_digit_is_not_reported() {
        let id = make_id("35058219900307123");
        let last = id.as_bytes()[17];
        let wrong = if last == b'1' { '2' } else { '1' };
        let bad = format!("{}{wrong}", &id[..17]);
        assert!(find_pii_on(&format!("号码{bad}。"), today()).is_empty());
    }

    #[test]
    fn numbers_inside_longer_tokens_are_not_pii() {
        let id = make_id("35058219900307123");
        assert!(find_pii_on(&format!("9{id}"), today()).is_empty());
        assert!(find_pii_on(&format!("{id}7"), today()).is_empty());
        assert!(find_pii_on(&format!("abc{id}"), today()).is_empty());
        assert!(find_pii_on("订单号138123456789", today()).is_empty());
        assert!(find_pii_on("x13812345678", today()).is_empty());
        // Decimals are not numbers of people.
        assert!(find_pii_on("pi = 3.14159265359", today()).is_empty());
        assert!(find_pii_on("351364.18257201344 >>>", today()).is_empty());
        assert!(find_pii_on("13812345678.25 元", today()).is_empty());
        assert!(find_pii_on("合计 1,13812345678", today()).is_empty());
        // A full stop after a number ends the sentence, not the number.
        assert_eq!(find_pii_on("电话13812345678.", today()).len(), 1);
    }

    #[test]
    fn mobile_numbers_plain_and_grouped() {
        for (text, masked) in [
            ("电话13812345678。", "138****5678"),
            ("电话 138-1234-5678 ", "138****5678"),
            ("电话 138 1234 5678", "138****5678"),
            ("+86 19912345678", "199****5678"),
        ] {
            let hits = find_pii_on(text, today());
            assert_eq!(hits.len(), 1, "{text}: {hits:?}");
            assert_eq!(hits[0].kind, PiiKind::Mobile);
            assert_eq!(hits[0].masked, masked);
        }
        // 12 starts no mobile number; mixed separators are not a number.
        assert!(find_pii_on("12812345678", today()).is_empty());
        assert!(find_pii_on("138-1234 5678", today()).is_empty());
        // A landline is not a mobile.
        assert!(find_pii_on("0591-87654321", today()).is_empty());
    }

    #[test]
    fn luhn_accepts_valid_and_rejects_changed_numbers() {
        // Standard test card numbers of the schemes.
        assert!(luhn_valid(b"4111111111111111"));
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b"79927398710"));
    }

    fn with_luhn(prefix: &str) -> String {
        (0..10)
            .map(|d| format!("{prefix}{d}"))
            .find(|s| luhn_valid(s.as_bytes()))
            .unwrap()
    }

    #[test]
    fn bank_cards_plain_and_grouped() {
        let card = with_luhn("622202123456789012"); // 19 digits, UnionPay
        let hits = find_pii_on(&format!("卡号：{card}"), today());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].kind, PiiKind::BankCard);
        assert_eq!(
            hits[0].masked,
            format!("6222{}{}", "*".repeat(11), &card[15..])
        );

        let card16 = with_luhn("411111111111111");
        let spaced = format!(
            "{} {} {} {}",
            &card16[0..4],
            &card16[4..8],
            &card16[8..12],
            &card16[12..16]
        );
        let text = format!("账户 {spaced} 开户行");
        let hits = find_pii_on(&text, today());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(&text[hits[0].start..hits[0].end], spaced);
        assert_eq!(hits[0].masked, "4111********1111");

        // Failing Luhn, or no scheme prefix: not a card.
        let bad = format!("{}{}", &card[..18], (card.as_bytes()[18] - b'0' + 1) % 10);
        assert!(find_pii_on(&bad, today()).is_empty());
        assert!(find_pii_on("0000000000000000", today()).is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "",
            "1",
            "1-",
            "138-",
            "138-1234-",
            "6222 ",
            "6222 1",
            "\u{0}\u{ffff}12345678901234567",
            "１３８１２３４５６７８", // full-width digits are not matched
        ];
        for s in inputs {
            let _ = find_pii_on(s, today());
            let _ = redact_on(s, today());
        }
    }
}
