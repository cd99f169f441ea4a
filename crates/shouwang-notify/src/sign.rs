//! The platforms' request signatures, as each documents it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .to_vec()
}

/// DingTalk: base64(HMAC-SHA256(key = secret, message = "{ms}\n{secret}")),
/// sent URL-encoded as the `sign` query parameter beside `timestamp` (ms).
pub fn dingtalk(secret: &str, timestamp_ms: i64) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    STANDARD.encode(hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

/// Feishu: base64(HMAC-SHA256(key = "{s}\n{secret}", message = empty)),
/// sent in the JSON body beside `timestamp` (seconds, as a string). The
/// key/message order is the reverse of DingTalk's, as Feishu documents it.
pub fn feishu(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    STANDARD.encode(hmac_sha256(key.as_bytes(), b""))
}

/// Generic webhooks: `sha256=` and the hex HMAC-SHA256 of the body.
pub fn webhook(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed independently (Python's hmac module):
    //   base64.b64encode(hmac.new(b'this is secret',
    //       b'1600000000000\nthis is secret', hashlib.sha256).digest())
    #[test]
    fn dingtalk_matches_the_documented_algorithm() {
        assert_eq!(
            dingtalk("this is secret", 1_600_000_000_000),
            "MYEtKC4/NfMR1l4prX++ai6oOf70X1xOf6UlnyUhJH4="
        );
    }

    //   base64.b64encode(hmac.new(b'1599360473\ntest-secret', b'',
    //       hashlib.sha256).digest())
    #[test]
    fn feishu_matches_the_documented_algorithm() {
        assert_eq!(
            feishu("test-secret", 1_599_360_473),
            "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY="
        );
    }
}
