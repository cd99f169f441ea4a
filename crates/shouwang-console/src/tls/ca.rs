//! The unit CA: one key pair made on the first run and kept in the data
//! dir, which signs the console's certificate and (later) the terminal
//! agents' client certificates. Its one job is to exist, to say who it is
//! (the SHA-256 of its public key, which a person or an agent compares),
//! and to issue leaf certificates.
//!
//! The key's fingerprint, not the certificate's, is the unit's identity: a
//! CA certificate lost or remade from the same key keeps it, so nothing
//! that pinned it is stranded.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;

use super::{TlsError, files};

/// The CA key, readable by its owner only.
pub const CA_KEY_FILE: &str = "ca.key";
/// The CA certificate (PEM), what people install as a trusted root.
pub const CA_CERT_FILE: &str = "ca.crt";

/// Years the CA certificate is valid. Long, because every browser that
/// trusts it would have to be visited again when it ends.
const CA_YEARS: i64 = 20;

/// The unit's own certificate authority.
pub struct UnitCa {
    key: KeyPair,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
}

/// What the CA says about itself: enough for `status` and the trust page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaIdentity {
    /// SHA-256 of the CA's public key (SubjectPublicKeyInfo), the unit's
    /// identity for agents and for people comparing.
    pub key_sha256: String,
    /// SHA-256 of the CA certificate, as browsers' certificate viewers show it.
    pub cert_sha256: String,
    /// SHA-1 of the CA certificate: the 指纹 Windows' certificate dialog shows.
    pub cert_sha1: String,
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A TLS server (the console).
    Server,
    /// A TLS client (a terminal agent).
    Client,
}

/// A certificate to issue.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub purpose: Purpose,
    pub days: u32,
}

/// A certificate the CA issued, with its new private key.
pub struct Leaf {
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
    /// PKCS#8.
    pub key_der: Vec<u8>,
    pub key_pem: String,
}

impl UnitCa {
    /// The CA of `dir` (the data dir's `tls/`), made when it has none.
    /// Returns it and whether it was made now. `unit` names the unit in
    /// the certificate of a new CA.
    pub fn load_or_create(dir: &Path, unit: &str) -> Result<(UnitCa, bool), TlsError> {
        files::ensure_private_dir(dir)?;
        let key_path = dir.join(CA_KEY_FILE);
        let (key, created) = match files::read_private(&key_path)? {
            Some(pem) => (parse_key(&key_path, &pem)?, false),
            None => {
                let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                    .map_err(|e| TlsError::generate("the CA key", e))?;
                files::write(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
                (key, true)
            }
        };
        let cert_path = dir.join(CA_CERT_FILE);
        let existing = files::read_private(&cert_path)?
            .and_then(|pem| pem_certificate(&pem))
            .filter(|der| spki_of(der).as_deref() == Some(&key.subject_public_key_info()[..]));
        let cert_der = match existing {
            Some(der) => der,
            None => {
                // A CA certificate missing, unreadable or of another key is
                // made again from the key: the fingerprint stays the same.
                if !created {
                    tracing::warn!(path = %cert_path.display(), "the unit CA certificate is missing or does not match its key; making it again from the key");
                }
                let der = self_signed(&key, unit)?;
                files::write(
                    &cert_path,
                    pem_encode("CERTIFICATE", &der).as_bytes(),
                    0o644,
                )?;
                der
            }
        };
        let cert_pem = pem_encode("CERTIFICATE", &cert_der);
        Ok((
            UnitCa {
                key,
                cert_der,
                cert_pem,
            },
            created,
        ))
    }

    /// The identity of the CA in `dir` without making or changing
    /// anything (`shouwang status`, the trust page); `None` when there is
    /// none yet. Read from the certificate alone, whose key `load_or_create`
    /// checked, so that it needs no access to the key file.
    pub fn identity_in(
        dir: &Path,
    ) -> Result<Option<(CaIdentity, CertificateDer<'static>)>, TlsError> {
        let path = dir.join(CA_CERT_FILE);
        let Some(pem) = files::read_private(&path)? else {
            return Ok(None);
        };
        let der = pem_certificate(&pem).ok_or_else(|| TlsError::Unreadable {
            path: path.clone(),
            reason: "no PEM certificate in it".into(),
        })?;
        let id = identity(&der).ok_or_else(|| TlsError::Unreadable {
            path,
            reason: "not an X.509 certificate".into(),
        })?;
        Ok(Some((id, der)))
    }

    pub fn identity(&self) -> CaIdentity {
        identity(&self.cert_der).expect("the CA certificate was made or checked on loading")
    }

    /// SHA-256 of the CA's public key, `AB:CD:…`.
    pub fn key_fingerprint(&self) -> String {
        colon_hex(
            ring::digest::digest(&ring::digest::SHA256, &self.key.subject_public_key_info())
                .as_ref(),
        )
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issue a certificate for `req`, with a fresh P-256 key.
    pub fn issue(&self, req: &LeafRequest) -> Result<Leaf, TlsError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| TlsError::generate("a certificate key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, req.common_name.as_str());
        for name in &req.dns_names {
            let name = name
                .as_str()
                .try_into()
                .map_err(|e| TlsError::generate("a certificate name", e))?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params
            .subject_alt_names
            .extend(req.ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match req.purpose {
            Purpose::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Purpose::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        let now = time::OffsetDateTime::now_utc();
        // An hour back, for clients whose clock runs a little behind.
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(i64::from(req.days));
        let issuer = Issuer::from_ca_cert_der(&self.cert_der, &self.key)
            .map_err(|e| TlsError::generate("the CA as issuer", e))?;
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(|e| TlsError::generate("a certificate", e))?;
        Ok(Leaf {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn identity(cert_der: &[u8]) -> Option<CaIdentity> {
    use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
    let spki = spki_of(cert_der)?;
    Some(CaIdentity {
        key_sha256: colon_hex(digest(&SHA256, &spki).as_ref()),
        cert_sha256: colon_hex(digest(&SHA256, cert_der).as_ref()),
        cert_sha1: colon_hex(digest(&SHA1_FOR_LEGACY_USE_ONLY, cert_der).as_ref()),
    })
}

fn self_signed(key: &KeyPair, unit: &str) -> Result<CertificateDer<'static>, TlsError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let name = if unit.trim().is_empty() {
        "守望 单位 CA".to_string()
    } else {
        format!("{} 守望 CA", unit.trim())
    };
    params.distinguished_name.push(DnType::CommonName, name);
    if !unit.trim().is_empty() {
        params
            .distinguished_name
            .push(DnType::OrganizationName, unit.trim());
    }
    // Leaves only: no CA below this one.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365 * CA_YEARS);
    let cert = params
        .self_signed(key)
        .map_err(|e| TlsError::generate("the CA certificate", e))?;
    Ok(cert.der().clone())
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive, as RFC 5280 asks.
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

fn parse_key(path: &Path, pem: &str) -> Result<KeyPair, TlsError> {
    KeyPair::from_pem(pem).map_err(|e| TlsError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The SubjectPublicKeyInfo of a certificate, if it parses.
pub(crate) fn spki_of(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// The first certificate of a PEM text.
pub(crate) fn pem_certificate(pem: &str) -> Option<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes()).next()?.ok()
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `AB:CD:…`, as certificate viewers write fingerprints.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The `tls/` directory of a data dir.
pub fn tls_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tls")
}
