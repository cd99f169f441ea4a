//! TLS for the console: the unit CA ([`ca`]), the console's certificate
//! it signs (the server's name and LAN addresses in its SAN, made again
//! before it runs out or when the addresses change), the unit's own
//! certificate when one is configured, and the listeners that refuse
//! clients outside `[console] allow_networks` ([`listener`]).
//!
//! Files, in the data dir's `tls/` (0700): `ca.key` (0600), `ca.crt`,
//! `console.key` (0600), `console.crt` (the console's certificate then
//! the CA's).

pub mod ca;
mod files;
pub(crate) mod listener;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use ca::{CaIdentity, Leaf, LeafRequest, Purpose, UnitCa, tls_dir};

use crate::{ConsoleConfig, config::TlsSetting};

pub const CONSOLE_CERT_FILE: &str = "console.crt";
pub const CONSOLE_KEY_FILE: &str = "console.key";

/// Days a console certificate is valid: under the 398 days browsers
/// accept for a server certificate.
const CONSOLE_DAYS: u32 = 397;
/// Made again when fewer days than this are left.
const RENEW_WITHIN_DAYS: i64 = 30;

/// What can go wrong with the console's TLS, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot {doing} {}: {source}", path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot make {what}: {reason}")]
    Generate { what: &'static str, reason: String },
    #[error("the TLS setup was refused: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsError {
    fn io(doing: &'static str, path: &Path, source: std::io::Error) -> Self {
        TlsError::Io {
            doing,
            path: path.to_path_buf(),
            source,
        }
    }

    fn generate(what: &'static str, e: impl std::fmt::Display) -> Self {
        TlsError::Generate {
            what,
            reason: e.to_string(),
        }
    }
}

/// The names a console certificate must carry: sorted, no duplicates, so
/// that two sets compare equal when they hold the same names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Names {
    pub dns: BTreeSet<String>,
    pub ips: BTreeSet<IpAddr>,
}

impl Names {
    /// This machine's name, `localhost`, the loopback addresses, every LAN
    /// address of its interfaces, and the listen address when it is one.
    /// Link-local addresses are left out: they change and a browser
    /// cannot be pointed at one without its interface.
    pub fn of_this_machine(listen: SocketAddr) -> Names {
        let mut names = Names::default();
        names.dns.insert("localhost".into());
        if let Some(host) = hostname() {
            names.dns.insert(host);
        }
        names.ips.insert(IpAddr::V4(Ipv4Addr::LOCALHOST));
        names.ips.insert(IpAddr::V6(Ipv6Addr::LOCALHOST));
        match if_addrs::get_if_addrs() {
            Ok(ifs) => names
                .ips
                .extend(ifs.iter().map(|i| i.ip()).filter(|ip| usable(*ip))),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the network interfaces; the console certificate names only this machine's name and loopback")
            }
        }
        if !listen.ip().is_unspecified() {
            names.ips.insert(listen.ip());
        }
        names
    }
}

/// An address worth a place in the certificate.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => !v6.is_unicast_link_local() && !v6.is_unspecified(),
    }
}

/// The kernel's host name, when it is a name a certificate can carry.
fn hostname() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = raw.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    valid.then_some(name)
}

/// Why the console certificate was made now, or `None` when the one on
/// disk was kept.
pub type Reissued = Option<&'static str>;

/// The console's certificate chain and key in `dir`, made by `ca` when
/// there is none, it runs out within 30 days, it carries other names than
/// `names`, or it is not the CA's or not its key's.
pub fn ensure_console_cert(
    ca: &UnitCa,
    dir: &Path,
    names: &Names,
) -> Result<
    (
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
        Reissued,
    ),
    TlsError,
> {
    let cert_path = dir.join(CONSOLE_CERT_FILE);
    let key_path = dir.join(CONSOLE_KEY_FILE);
    let on_disk = match (
        files::read_private(&cert_path)?,
        files::read_private(&key_path)?,
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => None,
    };
    let why = match &on_disk {
        None => Some("there was none"),
        Some((cert, key)) => stale(ca, cert, key, names),
    };
    if let (None, Some((cert, key))) = (why, &on_disk)
        && let Some(pair) = parse_pair(cert, key)
    {
        return Ok((pair.0, pair.1, None));
    }
    let why = why.unwrap_or("the one on disk could not be read");
    let leaf = ca.issue(&LeafRequest {
        common_name: names
            .dns
            .iter()
            .find(|n| *n != "localhost")
            .cloned()
            .unwrap_or_else(|| "localhost".into()),
        dns_names: names.dns.iter().cloned().collect(),
        ips: names.ips.iter().copied().collect(),
        purpose: Purpose::Server,
        days: CONSOLE_DAYS,
    })?;
    // The key first: a crash between the two leaves a certificate that
    // does not match its key, which the next start makes again.
    files::write(&key_path, leaf.key_pem.as_bytes(), 0o600)?;
    let chain_pem = format!("{}{}", leaf.cert_pem, ca.cert_pem());
    files::write(&cert_path, chain_pem.as_bytes(), 0o644)?;
    tracing::info!(reason = why, path = %cert_path.display(), "made the console certificate");
    Ok((
        vec![leaf.cert_der, ca.cert_der().clone()],
        PrivateKeyDer::Pkcs8(leaf.key_der.into()),
        Some(why),
    ))
}

/// Why the certificate on disk must be made again, if it must.
fn stale(ca: &UnitCa, cert_pem: &str, key_pem: &str, names: &Names) -> Option<&'static str> {
    let Some(der) = ca::pem_certificate(cert_pem) else {
        return Some("the one on disk could not be read");
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return Some("the one on disk could not be read");
    };
    let Ok((_, ca_cert)) = x509_parser::parse_x509_certificate(ca.cert_der()) else {
        return Some("the CA certificate could not be read");
    };
    if cert.verify_signature(Some(ca_cert.public_key())).is_err() {
        return Some("it was not issued by the unit CA");
    }
    let key_matches = rcgen::KeyPair::from_pem(key_pem)
        .is_ok_and(|k| rcgen::PublicKeyData::subject_public_key_info(&k) == cert.public_key().raw);
    if !key_matches {
        return Some("it does not match its key");
    }
    let left = cert.validity().not_after.timestamp() - chrono::Utc::now().timestamp();
    if left < RENEW_WITHIN_DAYS * 86_400 {
        return Some("it runs out within 30 days");
    }
    if names_of(&cert).as_ref() != Some(names) {
        return Some("this machine's names or addresses changed");
    }
    None
}

/// The DNS names and IP addresses in a certificate's SAN.
pub fn names_of(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Names> {
    use x509_parser::extensions::GeneralName;
    let san = cert.subject_alternative_name().ok()??;
    let mut names = Names::default();
    for n in &san.value.general_names {
        match n {
            GeneralName::DNSName(d) => {
                names.dns.insert(d.to_string());
            }
            GeneralName::IPAddress(b) => {
                let ip = match b.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*b).ok()?),
                    16 => IpAddr::from(<[u8; 16]>::try_from(*b).ok()?),
                    _ => return None,
                };
                names.ips.insert(ip);
            }
            _ => {}
        }
    }
    Some(names)
}

/// The names in the SAN of the first certificate of a PEM text.
pub fn names_in_pem(pem: &str) -> Option<Names> {
    let der = ca::pem_certificate(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    names_of(&cert)
}

fn parse_pair(
    cert_pem: &str,
    key_pem: &str,
) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    use rustls::pki_types::pem::PemObject;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).ok()?;
    (!chain.is_empty()).then_some((chain, key))
}

/// What `prepare` found or made, for `up` to print.
pub struct Prepared {
    pub ca: CaIdentity,
    /// The CA was made now (the first run).
    pub ca_created: bool,
    /// Why the console certificate was made now, when it was.
    pub reissued: Reissued,
    /// What the console serves TLS with, or `None` for plain HTTP.
    pub server: Option<TlsServer>,
}

/// The console's TLS configuration, and how to renew it while it runs.
pub struct TlsServer {
    pub(crate) config: Arc<rustls::ServerConfig>,
    /// For a certificate of the unit CA: the CA and the listen address,
    /// to check the certificate again while `up` runs.
    pub(crate) renew: Option<(Arc<UnitCa>, PathBuf, SocketAddr)>,
}

/// Make the unit CA on the first run, and the console certificate when the
/// console serves TLS with one, in `data_dir/tls`; `unit` names a new CA.
/// Blocking (key files).
pub fn prepare(config: &ConsoleConfig, unit: &str, data_dir: &Path) -> Result<Prepared, TlsError> {
    let dir = tls_dir(data_dir);
    let (ca, ca_created) = UnitCa::load_or_create(&dir, unit)?;
    let identity = ca.identity();
    if !config.tls.serves_tls(config.listen) {
        return Ok(Prepared {
            ca: identity,
            ca_created,
            reissued: None,
            server: None,
        });
    }
    let (server, reissued) = match &config.tls {
        TlsSetting::Files { cert, key } => {
            let chain = files::read_configured(cert)?;
            let key_text = files::read_configured(key)?;
            let (chain, key_der) =
                parse_pair(&chain, &key_text).ok_or_else(|| TlsError::Unreadable {
                    path: cert.clone(),
                    reason: format!(
                        "it and {} must be a PEM certificate chain and its PEM private key",
                        key.display()
                    ),
                })?;
            let server = TlsServer {
                config: server_config(chain, key_der)?,
                renew: None,
            };
            (server, None)
        }
        _ => {
            let names = Names::of_this_machine(config.listen);
            let (chain, key, reissued) = ensure_console_cert(&ca, &dir, &names)?;
            let server = TlsServer {
                config: server_config(chain, key)?,
                renew: Some((Arc::new(ca), dir, config.listen)),
            };
            (server, reissued)
        }
    };
    Ok(Prepared {
        ca: identity,
        ca_created,
        reissued,
        server: Some(server),
    })
}

/// Check the console certificate again (the addresses may have changed
/// while `up` ran); a new configuration when it was made again.
pub(crate) fn renewed(
    ca: &UnitCa,
    dir: &Path,
    listen: SocketAddr,
) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
    let names = Names::of_this_machine(listen);
    match ensure_console_cert(ca, dir, &names)? {
        (_, _, None) => Ok(None),
        (chain, key, Some(_)) => server_config(chain, key).map(Some),
    }
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    // axum serves HTTP/1.1 here.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
