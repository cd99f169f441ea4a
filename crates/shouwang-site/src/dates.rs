//! Publication dates in list pages, as Chinese sites write them:
//! `2024-05-01`, `2024/5/1`, `2024.05.01`, `2024年5月1日`, and the
//! year-less `[05-01]` many column lists use.

use chrono::{Datelike, NaiveDate};

/// Every plausible date in `text`: not after `today`, not before 1990.
/// A year-less `MM-DD` is taken in the year that puts it at or before
/// `today`.
pub fn dates_in(text: &str, today: NaiveDate) -> Vec<NaiveDate> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        match parse_at(b, i, today) {
            Some((date, end)) => {
                if date <= today && date.year() >= 1990 {
                    out.push(date);
                }
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

/// The newest date in `text`, if any.
pub fn newest_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    dates_in(text, today).into_iter().max()
}

fn digits(b: &[u8], at: usize, max: usize) -> Option<(u32, usize, usize)> {
    let n = b[at..]
        .iter()
        .take(max + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > max {
        return None;
    }
    let v = b[at..at + n]
        .iter()
        .fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
    Some((v, n, at + n))
}

/// A separator at `at`: one of `-/.`, or 年/月 in UTF-8. Returns its kind
/// and the index after it.
fn sep(b: &[u8], at: usize) -> Option<(u8, usize)> {
    match b.get(at)? {
        c @ (b'-' | b'/' | b'.') => Some((*c, at + 1)),
        _ if b[at..].starts_with("年".as_bytes()) => Some((b'Y', at + 3)),
        _ if b[at..].starts_with("月".as_bytes()) => Some((b'M', at + 3)),
        _ => None,
    }
}

fn parse_at(b: &[u8], at: usize, today: NaiveDate) -> Option<(NaiveDate, usize)> {
    let (first, first_len, i) = digits(b, at, 4)?;
    let (s1, i) = sep(b, i)?;
    let (second, _, i) = digits(b, i, 2)?;
    if first_len == 4 {
        let (s2, i) = sep(b, i)?;
        let consistent = (s1 == b'Y' && s2 == b'M') || (s1 == s2 && s1 != b'Y' && s1 != b'M');
        if !consistent {
            return None;
        }
        let (day, _, mut end) = digits(b, i, 2)?;
        if b[end..].starts_with("日".as_bytes()) {
            end += 3;
        } else if b.get(end).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(first as i32, second, day)?;
        return Some((date, end));
    }
    // Year-less MM-DD: both two digits, set apart by brackets or spaces so
    // that a range such as 10-20人 is not read as a date.
    if first_len != 2 || s1 != b'-' || i - at != 5 {
        return None;
    }
    let before_ok = at == 0 || opens(b, at);
    let after_ok = b.len() == i || closes(b, i);
    if !(before_ok && after_ok) {
        return None;
    }
    let this_year = NaiveDate::from_ymd_opt(today.year(), first, second)?;
    let date = if this_year > today {
        NaiveDate::from_ymd_opt(today.year() - 1, first, second)?
    } else {
        this_year
    };
    Some((date, i))
}

fn opens(b: &[u8], at: usize) -> bool {
    let prev = &b[..at];
    matches!(prev.last(), Some(b'[' | b'(' | b' ' | b'\t' | b'\n' | b'>'))
        || ["（", "【", "\u{3000}"]
            .iter()
            .any(|s| prev.ends_with(s.as_bytes()))
}

fn closes(b: &[u8], at: usize) -> bool {
    let next = &b[at..];
    matches!(
        next.first(),
        Some(b']' | b')' | b' ' | b'\t' | b'\n' | b'\r' | b'<')
    ) || ["）", "】", "\u{3000}"]
        .iter()
        .any(|s| next.starts_with(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_common_forms() {
        let today = d(2026, 6, 1);
        assert_eq!(dates_in("2024-05-01", today), [d(2024, 5, 1)]);
        assert_eq!(dates_in("发布：2024/5/1 ", today), [d(2024, 5, 1)]);
        assert_eq!(dates_in("2024.05.01", today), [d(2024, 5, 1)]);
        assert_eq!(dates_in("2024年5月1日印发", today), [d(2024, 5, 1)]);
        assert_eq!(dates_in("关于防汛的通知 [05-01]", today), [d(2026, 5, 1)]);
        // A year-less date after today is last year's.
        assert_eq!(dates_in("（12-30）", today), [d(2025, 12, 30)]);
    }

    #[test]
    fn things_that_are_not_dates() {
        let today = d(2026, 6, 1);
        for s in [
            "10-20人",
            "2024-13-01",
            "2024-02-30",
            "2024-05/01",
            "20240-05-01",
            "2024年5月",
            "3.14.15",
            "版本 1.2.3",
            "2030-01-01",
            "1980-01-01",
            "电话 0591-12345678",
        ] {
            assert!(
                dates_in(s, today).is_empty(),
                "{s}: {:?}",
                dates_in(s, today)
            );
        }
    }

    #[test]
    fn newest_of_a_list() {
        let today = d(2026, 6, 1);
        let list = "通知一 2025-01-03\n通知二 2025-11-20\n通知三 2024-12-31";
        assert_eq!(newest_date(list, today), Some(d(2025, 11, 20)));
        assert_eq!(newest_date("无日期", today), None);
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_text_gives_a_real_date_or_none(
                pieces in proptest::collection::vec(
                    "[0-9]{1,5}|[-/. \\[\\]()]|年|月|日|（|）|【|】|\u{3000}|\\PC{0,3}",
                    0..40,
                ),
            ) {
                let text = pieces.concat();
                let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
                if let Some(date) = newest_date(&text, today) {
                    prop_assert!(text.bytes().any(|b| b.is_ascii_digit()));
                    prop_assert!(date.year() >= 0);
                }
            }
        }
    }
}
