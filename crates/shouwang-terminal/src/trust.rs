//! How an agent comes to trust its unit server with nothing but a token.
//!
//! Threat model: the network between a terminal and the unit server is the
//! office LAN, where anyone may answer for the server's address (ARP or DNS
//! spoofing, a rogue DHCP). The agent knows one thing for sure, the SHA-256
//! of the unit CA's public key, carried in the enrollment token the
//! 网络安全员 copied by hand.
//!
//! 1. [`fetch_pinned_ca`] asks the server for the CA certificate (a public
//!    document) over TLS it cannot verify yet, and keeps it only if its
//!    public key hashes to the pin. A CA certificate of any other key is
//!    refused, saying both fingerprints.
//! 2. [`verified_client`] then trusts that CA and nothing else (no system
//!    roots), HTTPS only, names checked. The CA certificate is public, so
//!    anyone can serve a copy in step 1: it is this second connection, on
//!    which the token and every report travel, that proves the server holds
//!    a key the unit CA certified for the address the agent dialled.
//!
//! Nothing secret is sent before step 2 succeeds.

use std::time::Duration;

use reqwest::Url;

use crate::token::colon_hex;

/// Where the console serves its CA certificate in DER (`web::trust`).
pub const CA_DER_PATH: &str = "/ca.der";

/// A CA certificate is a few hundred bytes; a server sending more is not one.
const MAX_CA_BYTES: usize = 64 * 1024;

const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the unit server's address must start with https:// (it is {0})")]
    NotHttps(String),
    #[error("the unit server at {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer with a certificate ({reason})")]
    NotACertificate { url: String, reason: String },
    #[error(
        "the server at {url} is not this unit's: its CA key is {got}, the token names {expected}. Check the address; do not enroll against this server"
    )]
    WrongServer {
        url: String,
        expected: String,
        got: String,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

impl TrustError {
    /// The same in Chinese.
    pub fn zh(&self) -> String {
        match self {
            TrustError::NotHttps(u) => format!("单位服务器地址须以 https:// 开头（现为 {u}）"),
            TrustError::Unreachable { url, reason } => {
                format!("无法连接单位服务器 {url}：{reason}")
            }
            TrustError::NotACertificate { url, .. } => format!("{url} 返回的不是证书"),
            TrustError::WrongServer { url, expected, got } => format!(
                "{url} 不是本单位的服务器：其 CA 公钥指纹为 {got}，令牌中为 {expected}。请核对地址，不要向该服务器注册"
            ),
            TrustError::Tls(e) => format!("无法建立 TLS：{e}"),
        }
    }
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo, as the token pins it.
pub fn spki_sha256(cert_der: &[u8]) -> Option<[u8; 32]> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.tbs_certificate.subject_pki.raw);
    digest.as_ref().try_into().ok()
}

/// The server's base URL, refused unless HTTPS.
pub fn server_url(text: &str) -> Result<Url, TrustError> {
    let url = Url::parse(text.trim()).map_err(|_| TrustError::NotHttps(text.to_string()))?;
    if url.scheme() != "https" || url.host().is_none() {
        return Err(TrustError::NotHttps(text.to_string()));
    }
    Ok(url)
}

fn install_provider() {
    // reqwest is built without a provider of its own (the workspace uses
    // ring everywhere); installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Step 1: the unit CA's certificate (DER) from `base`, kept only if its
/// key is the one `pin` names.
pub async fn fetch_pinned_ca(base: &Url, pin: &[u8; 32]) -> Result<Vec<u8>, TrustError> {
    install_provider();
    let url = base
        .join(CA_DER_PATH)
        .map_err(|e| TrustError::NotHttps(e.to_string()))?;
    // Unverified on purpose: the pin below is the check (see the module
    // docs), and nothing is sent but this GET.
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| TrustError::Tls(e.to_string()))?;
    let unreachable = |e: reqwest::Error| TrustError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let mut resp = client.get(url.clone()).send().await.map_err(unreachable)?;
    if !resp.status().is_success() {
        return Err(TrustError::NotACertificate {
            url: url.to_string(),
            reason: format!("HTTP {}", resp.status()),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_CA_BYTES {
            return Err(TrustError::NotACertificate {
                url: url.to_string(),
                reason: format!("more than {MAX_CA_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    let got = spki_sha256(&body).ok_or_else(|| TrustError::NotACertificate {
        url: url.to_string(),
        reason: "not a DER X.509 certificate".into(),
    })?;
    // Both are public values: a plain comparison leaks nothing.
    if &got != pin {
        return Err(TrustError::WrongServer {
            url: base.to_string(),
            expected: colon_hex(pin),
            got: colon_hex(&got),
        });
    }
    Ok(body)
}

/// Step 2: a client that trusts the unit CA `ca_der` and nothing else.
pub fn verified_client(ca_der: &[u8]) -> Result<reqwest::Client, TrustError> {
    install_provider();
    let ca = reqwest::Certificate::from_der(ca_der).map_err(|e| TrustError::Tls(e.to_string()))?;
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| TrustError::Tls(e.to_string()))
}
