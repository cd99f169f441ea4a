//! The expiry date of an X.509 certificate, read from its DER encoding
//! with a few lines rather than a full X.509 parser: we need one field.

use chrono::{DateTime, NaiveDate, Utc};

/// One DER element: tag, contents, and the rest of the input after it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in der.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let body = der.get(header..header.checked_add(len)?)?;
    Some((tag, body, &der[header + len..]))
}

/// `notAfter` of a DER certificate.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, cert, _) = element(der)?; // Certificate SEQUENCE
    let (_, tbs, _) = element(cert)?; // tbsCertificate SEQUENCE
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] version
    }
    let (_, _, rest) = element(rest)?; // serialNumber
    let (_, _, rest) = element(rest)?; // signature
    let (_, _, rest) = element(rest)?; // issuer
    let (_, validity, _) = element(rest)?;
    let (_, _, rest) = element(validity)?; // notBefore
    let (tag, time, _) = element(rest)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

fn parse_time(tag: u8, s: &str) -> Option<DateTime<Utc>> {
    let s = s.strip_suffix('Z')?;
    let full = match tag {
        // UTCTime: YYMMDDHHMMSS, years 50-99 are 19xx.
        0x17 => {
            let yy: i32 = s.get(0..2)?.parse().ok()?;
            let century = if yy >= 50 { "19" } else { "20" };
            format!("{century}{s}")
        }
        0x18 => s.to_string(),
        _ => return None,
    };
    let date = NaiveDate::parse_from_str(full.get(0..8)?, "%Y%m%d").ok()?;
    let h: u32 = full.get(8..10)?.parse().ok()?;
    let m: u32 = full.get(10..12)?.parse().ok()?;
    let sec: u32 = full.get(12..14).and_then(|x| x.parse().ok()).unwrap_or(0);
    Some(date.and_hms_opt(h, m, sec)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(body.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(body);
        out
    }

    fn cert(not_after: (u8, &str), with_version: bool) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(tlv(0xa0, &tlv(0x02, &[2])));
        }
        tbs.extend(tlv(0x02, &[1, 2, 3]));
        tbs.extend(tlv(0x30, &tlv(0x06, &[1, 2])));
        tbs.extend(tlv(0x30, &[0u8; 200])); // a long issuer: two-byte length
        let mut validity = tlv(0x17, b"240101000000Z");
        validity.extend(tlv(not_after.0, not_after.1.as_bytes()));
        tbs.extend(tlv(0x30, &validity));
        tlv(0x30, &tlv(0x30, &tbs))
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        let t = not_after(&cert((0x17, "261231235959Z"), true)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-31T23:59:59+00:00");
        let t = not_after(&cert((0x18, "20500102030405Z"), false)).unwrap();
        assert_eq!(t.to_rfc3339(), "2050-01-02T03:04:05+00:00");
    }

    #[test]
    fn garbage_is_none() {
        assert!(not_after(&[]).is_none());
        assert!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        let mut c = cert((0x17, "261231235959Z"), true);
        c.truncate(c.len() - 5);
        assert!(not_after(&c).is_none());
    }
}
