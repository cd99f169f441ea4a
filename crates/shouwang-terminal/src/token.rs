//! Enrollment tokens: what the 网络安全员 copies from the unit server to a
//! terminal, and how the server judges one when it comes back.
//!
//! A token is `swt1.<secret>.<ca key>`: 20 random bytes and the SHA-256 of
//! the unit CA's public key, both base64url. The secret proves the
//! terminal was invited; the key hash lets `agent enroll` refuse a server
//! that the unit CA did not sign, with nothing else to configure. The key,
//! not the certificate, is pinned, so a CA certificate made again from the
//! same key (see `shouwang_console::tls::ca`) strands no agent.
//!
//! The server keeps only the BLAKE3 hash of the secret: a copy of its
//! database does not let anyone enroll. Whether a token may be used is one
//! decision, [`judge`], so that the console, the CLI and the enrollment
//! endpoint refuse the same tokens with the same words; the store makes
//! the use itself atomic (a token is marked used in the statement that
//! checks it is unused).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version prefix of every token. A later format gets a new prefix so
/// that an old agent says "this token is of a newer kind", not "damaged".
pub const PREFIX: &str = "swt1";

/// Bytes of randomness in a token: 160 bits, beyond guessing online.
const SECRET_BYTES: usize = 20;

/// A token as the agent holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollToken {
    secret: [u8; SECRET_BYTES],
    ca_key_sha256: [u8; 32],
}

/// Why a typed token cannot be read. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("the token is empty: copy it from `shouwang terminal token create` on the unit server")]
    Empty,
    #[error(
        "this token is of a newer kind ({0}) than this agent reads: update the agent from the unit server"
    )]
    NewerKind(String),
    #[error(
        "this is not an enrollment token (it should start with {PREFIX}. and have three parts): copy it again, whole"
    )]
    NotAToken,
    #[error("the token is damaged ({0}): copy it again, whole")]
    Damaged(&'static str),
}

impl TokenFormatError {
    /// The same in Chinese, for the console.
    pub fn zh(&self) -> String {
        match self {
            TokenFormatError::Empty => {
                "令牌为空：请从单位服务器上的 shouwang terminal token create 复制".into()
            }
            TokenFormatError::NewerKind(k) => {
                format!("该令牌（{k}）比本客户端新：请从单位服务器更新客户端")
            }
            TokenFormatError::NotAToken => {
                format!("这不是注册令牌（应以 {PREFIX}. 开头，由三段组成）：请完整复制")
            }
            TokenFormatError::Damaged(_) => "令牌已损坏：请重新完整复制".into(),
        }
    }
}

impl EnrollToken {
    /// A new token for the unit CA whose public key hashes to
    /// `ca_key_sha256`.
    pub fn generate(ca_key_sha256: [u8; 32]) -> EnrollToken {
        EnrollToken {
            secret: rand::random(),
            ca_key_sha256,
        }
    }

    /// The text to copy.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}.{}.{}",
            URL_SAFE_NO_PAD.encode(self.secret),
            URL_SAFE_NO_PAD.encode(self.ca_key_sha256)
        )
    }

    /// Read a token as typed or pasted: surrounding white space and a line
    /// break inside (a token wrapped by a chat program) are tolerated.
    pub fn parse(text: &str) -> Result<EnrollToken, TokenFormatError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(TokenFormatError::Empty);
        }
        // A bounded look at what was pasted: a whole file is not a token.
        if compact.len() > 200 {
            return Err(TokenFormatError::NotAToken);
        }
        let parts: Vec<&str> = compact.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenFormatError::NotAToken);
        }
        if parts[0] != PREFIX {
            return Err(
                if parts[0].starts_with("swt") && parts[0][3..].chars().all(|c| c.is_ascii_digit())
                {
                    TokenFormatError::NewerKind(parts[0].to_string())
                } else {
                    TokenFormatError::NotAToken
                },
            );
        }
        let secret = decode_exact::<SECRET_BYTES>(parts[1]).ok_or(TokenFormatError::Damaged(
            "its secret part has the wrong length or characters",
        ))?;
        let ca_key_sha256 = decode_exact::<32>(parts[2]).ok_or(TokenFormatError::Damaged(
            "its CA key part has the wrong length or characters",
        ))?;
        Ok(EnrollToken {
            secret,
            ca_key_sha256,
        })
    }

    /// What the server keeps and looks the token up by.
    pub fn secret_hash(&self) -> String {
        secret_hash(&self.secret)
    }

    /// The SHA-256 of the unit CA's public key (SubjectPublicKeyInfo).
    pub fn ca_key_sha256(&self) -> &[u8; 32] {
        &self.ca_key_sha256
    }

    /// The same as certificate viewers and `shouwang status` write it
    /// (`AB:CD:…`), for a person comparing.
    pub fn ca_key_fingerprint(&self) -> String {
        colon_hex(&self.ca_key_sha256)
    }
}

// The secret never reaches a log through `{:?}`.
impl fmt::Debug for EnrollToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollToken")
            .field("secret", &"<hidden>")
            .field("ca_key", &self.ca_key_fingerprint())
            .finish()
    }
}

fn decode_exact<const N: usize>(part: &str) -> Option<[u8; N]> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    bytes.try_into().ok()
}

fn secret_hash(secret: &[u8]) -> String {
    // Keyed by purpose, so that the hash of a token is not the hash of the
    // same bytes used anywhere else.
    blake3::Hasher::new_derive_key("shouwang terminal enrollment token v1")
        .update(secret)
        .finalize()
        .to_hex()
        .to_string()
}

/// `AB:CD:…`.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A token as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Shown in the console and the audit log, never the secret.
    pub name: String,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a token or an agent's credential is refused. The agent prints it;
/// the server logs it and answers with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "refused", rename_all = "kebab-case")]
pub enum Refusal {
    #[error(
        "the unit server does not know this token: it may have been mistyped, or made on another server"
    )]
    UnknownToken,
    #[error("this token was already used at {at}: make a new one for each terminal")]
    TokenUsed { at: DateTime<Utc> },
    #[error("this token expired at {at}: make a new one")]
    TokenExpired { at: DateTime<Utc> },
    #[error("this token was revoked at {at}")]
    TokenRevoked { at: DateTime<Utc> },
    #[error("the unit server does not know this terminal: enroll it again with a new token")]
    UnknownCredential,
    #[error("this terminal's credential was revoked at {at}: enroll it again with a new token")]
    CredentialRevoked { at: DateTime<Utc> },
    #[error("this terminal's credential expired at {at}: enroll it again with a new token")]
    CredentialExpired { at: DateTime<Utc> },
}

impl Refusal {
    /// The same in Chinese, times in Beijing time and saying so.
    pub fn zh(&self) -> String {
        let bj = |at: &DateTime<Utc>| {
            at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%Y-%m-%d %H:%M（北京时间）")
                .to_string()
        };
        match self {
            Refusal::UnknownToken => {
                "单位服务器不认识该令牌：可能输错，或是在其他服务器上生成的".into()
            }
            Refusal::TokenUsed { at } => {
                format!("该令牌已于 {} 使用过：每台终端须使用新令牌", bj(at))
            }
            Refusal::TokenExpired { at } => format!("该令牌已于 {} 过期：请重新生成", bj(at)),
            Refusal::TokenRevoked { at } => format!("该令牌已于 {} 作废", bj(at)),
            Refusal::UnknownCredential => "单位服务器不认识该终端：请用新令牌重新注册".into(),
            Refusal::CredentialRevoked { at } => {
                format!("该终端的凭据已于 {} 吊销：请用新令牌重新注册", bj(at))
            }
            Refusal::CredentialExpired { at } => {
                format!("该终端的凭据已于 {} 过期：请用新令牌重新注册", bj(at))
            }
        }
    }
}

/// Whether `record` (the one stored under the token's hash, if any) may
/// be used at `now`. A revocation is said before a use, and a use before an
/// expiry: the most deliberate fact is the one a person needs to hear.
pub fn judge(record: Option<&TokenRecord>, now: DateTime<Utc>) -> Result<(), Refusal> {
    let Some(r) = record else {
        return Err(Refusal::UnknownToken);
    };
    if let Some(at) = r.revoked_at {
        return Err(Refusal::TokenRevoked { at });
    }
    if let Some(at) = r.used_at {
        return Err(Refusal::TokenUsed { at });
    }
    if now >= r.expires_at {
        return Err(Refusal::TokenExpired { at: r.expires_at });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn record(token: &EnrollToken, now: DateTime<Utc>) -> TokenRecord {
        TokenRecord {
            name: "办公室-张三".into(),
            secret_hash: token.secret_hash(),
            created_at: now,
            expires_at: now + Duration::hours(24),
            used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_token_survives_copying_and_carries_the_ca_key() {
        let t = EnrollToken::generate([7; 32]);
        let text = t.encode();
        assert!(text.starts_with("swt1."), "{text}");
        assert!(text.len() < 80, "short enough to type: {text}");
        // Pasted from a chat window that wrapped it.
        let wrapped = format!("  {}\n{}  ", &text[..30], &text[30..]);
        let back = EnrollToken::parse(&wrapped).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.ca_key_fingerprint(), ["07"; 32].join(":"));
        assert_eq!(back.secret_hash(), t.secret_hash());
        assert_ne!(
            EnrollToken::generate([7; 32]).secret_hash(),
            t.secret_hash()
        );
    }

    #[test]
    fn the_secret_is_never_in_debug_output() {
        let t = EnrollToken::generate([1; 32]);
        let secret_part = t.encode().split('.').nth(1).unwrap().to_string();
        let debug = format!("{t:?}");
        assert!(!debug.contains(&secret_part), "{debug}");
        assert!(debug.contains("<hidden>"));
    }

    #[test]
    fn bad_tokens_say_what_is_wrong() {
        let good = EnrollToken::generate([2; 32]).encode();
        assert_eq!(EnrollToken::parse(" \n"), Err(TokenFormatError::Empty));
        assert_eq!(
            EnrollToken::parse(&good.replacen("swt1", "swt2", 1)),
            Err(TokenFormatError::NewerKind("swt2".into()))
        );
        assert_eq!(
            EnrollToken::parse("hello"),
            Err(TokenFormatError::NotAToken)
        );
        assert!(matches!(
            EnrollToken::parse(&good[..good.len() - 3]),
            Err(TokenFormatError::Damaged(_))
        ));
        assert_eq!(
            EnrollToken::parse(&"a.".repeat(500)),
            Err(TokenFormatError::NotAToken)
        );
    }

    #[test]
    fn the_server_refuses_unknown_used_expired_and_revoked_tokens_saying_which() {
        let now = Utc::now();
        let t = EnrollToken::generate([3; 32]);
        let r = record(&t, now);
        assert_eq!(judge(Some(&r), now), Ok(()));
        assert_eq!(judge(None, now), Err(Refusal::UnknownToken));
        let used = TokenRecord {
            used_at: Some(now),
            ..r.clone()
        };
        assert_eq!(judge(Some(&used), now), Err(Refusal::TokenUsed { at: now }));
        let later = now + Duration::hours(25);
        assert_eq!(
            judge(Some(&r), later),
            Err(Refusal::TokenExpired { at: r.expires_at })
        );
        let revoked = TokenRecord {
            revoked_at: Some(now),
            ..used
        };
        assert_eq!(
            judge(Some(&revoked), later),
            Err(Refusal::TokenRevoked { at: now }),
            "a revocation is what a person needs to hear first"
        );
        let zh = Refusal::TokenExpired { at: r.expires_at }.zh();
        assert!(zh.contains("北京时间") && zh.contains("过期"), "{zh}");
        let json = serde_json::to_string(&Refusal::TokenUsed { at: now }).unwrap();
        assert!(json.contains("\"refused\":\"token-used\""), "{json}");
    }

    proptest! {
        #[test]
        fn any_pasted_text_is_read_or_refused_never_a_panic(s in "\\PC{0,120}") {
            let _ = EnrollToken::parse(&s);
        }
    }
}
