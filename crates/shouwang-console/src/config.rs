use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[console]` section of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Whether `shouwang up` starts the console.
    pub enabled: bool,
    /// Address and port the console listens on. Beyond loopback the
    /// console must serve TLS (`tls` not `off`); `shouwang-config` refuses
    /// the file otherwise.
    pub listen: SocketAddr,
    /// How the console serves TLS.
    pub tls: TlsSetting,
    /// When not empty, only clients in these networks (and this machine)
    /// may connect; others are disconnected before the TLS handshake.
    pub allow_networks: Vec<ipnet::IpNet>,
    /// Hours a login lasts.
    pub session_hours: u32,
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: u32,
    /// Minutes a locked account stays locked.
    pub lockout_minutes: u32,
    /// Mark cookies `Secure` (always so when the console serves TLS; set
    /// it behind a TLS reverse proxy).
    pub secure_cookies: bool,
    /// `zh` (default) or `en`: the language before a user picks one.
    pub language: String,
    /// Who may read `/metrics` (it counts users and logins).
    pub metrics: MetricsAccess,
    /// The data dir, where the guard's baselines and quarantine live; set
    /// by `shouwang up`, never read from the file.
    #[serde(skip)]
    pub data_dir: Option<std::path::PathBuf>,
    /// The reporting clock (`[incident]`); set by `shouwang up`. Its
    /// operator type yields to the unit profile's when one is stored.
    #[serde(skip)]
    pub incident_policy: shouwang_incident::ReportingPolicy,
    /// The notification channels of the config file (`[notify]`); set by
    /// `shouwang up`. Channels added in the console join them.
    #[serde(skip)]
    pub notify: shouwang_notify::NotifyConfig,
    /// The unit profile of the config file (`[unit]`), shown until one is
    /// saved in the console; set by `shouwang up`.
    #[serde(skip)]
    pub unit: shouwang_model::UnitProfile,
    /// How inspections started in the console run (`[site]`); set by
    /// `shouwang up`.
    #[serde(skip)]
    pub site: shouwang_site::SiteConfig,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            tls: TlsSetting::default(),
            allow_networks: Vec::new(),
            session_hours: 8,
            max_failed_logins: 5,
            lockout_minutes: 15,
            secure_cookies: false,
            language: "zh".into(),
            metrics: MetricsAccess::default(),
            data_dir: None,
            incident_policy: Default::default(),
            notify: Default::default(),
            unit: Default::default(),
            site: Default::default(),
        }
    }
}

/// `[console] tls`: `"auto"`, `"on"`, `"off"` or `{ cert = "…", key = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsSetting {
    /// TLS with a certificate from the unit CA when listening beyond
    /// loopback; plain HTTP on loopback, which only this machine reaches.
    #[default]
    Auto,
    /// TLS with a certificate from the unit CA, on loopback too.
    On,
    /// Plain HTTP; only allowed on a loopback address.
    Off,
    /// TLS with the unit's own certificate chain and key (PEM files).
    Files { cert: PathBuf, key: PathBuf },
}

impl TlsSetting {
    /// Whether the console on `listen` serves TLS under this setting.
    pub fn serves_tls(&self, listen: SocketAddr) -> bool {
        match self {
            TlsSetting::Auto => !is_loopback(listen.ip()),
            TlsSetting::On | TlsSetting::Files { .. } => true,
            TlsSetting::Off => false,
        }
    }
}

/// 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

const TLS_WORDS: &[&str] = &["auto", "on", "off"];

/// The files of `tls = { cert, key }`, every key required, no other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
}

impl<'de> Deserialize<'de> for TlsSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TlsSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#""auto", "on", "off" or { cert = "FILE", key = "FILE" }"#)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TlsSetting, E> {
                match v {
                    "auto" => Ok(TlsSetting::Auto),
                    "on" => Ok(TlsSetting::On),
                    "off" => Ok(TlsSetting::Off),
                    // "unknown variant" lets the config name the nearest word.
                    other => Err(E::unknown_variant(other, TLS_WORDS)),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TlsSetting, A::Error> {
                let f = TlsFiles::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(TlsSetting::Files {
                    cert: f.cert,
                    key: f.key,
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for TlsSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            TlsSetting::Auto => s.serialize_str("auto"),
            TlsSetting::On => s.serialize_str("on"),
            TlsSetting::Off => s.serialize_str("off"),
            TlsSetting::Files { cert, key } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("cert", cert)?;
                m.serialize_entry("key", key)?;
                m.end()
            }
        }
    }
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricsAccess {
    /// Requests from this machine, or with an API token (any scope).
    #[default]
    LoopbackOrToken,
    /// Only requests from this machine.
    Loopback,
    /// Only requests with an API token or a console login.
    Token,
    /// Anyone who can reach the console.
    Open,
}

impl MetricsAccess {
    /// May a request from `peer` (unknown when the server does not say),
    /// authenticated or not, read the metrics? Behind a reverse proxy on
    /// this machine every request comes from loopback: use `token` there.
    pub fn allows(self, peer: Option<std::net::SocketAddr>, authenticated: bool) -> bool {
        let loopback = peer.is_some_and(|p| is_loopback(p.ip()));
        match self {
            MetricsAccess::LoopbackOrToken => loopback || authenticated,
            MetricsAccess::Loopback => loopback,
            MetricsAccess::Token => authenticated,
            MetricsAccess::Open => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MetricsAccess;

    #[test]
    fn metrics_are_for_this_machine_or_a_token_unless_opened() {
        let lan = Some("192.0.2.7:50000".parse().unwrap());
        let local = Some("127.0.0.1:50000".parse().unwrap());
        let mapped = Some("[::ffff:127.0.0.1]:50000".parse().unwrap());
        let d = MetricsAccess::default();
        assert!(!d.allows(lan, false));
        assert!(d.allows(lan, true));
        assert!(d.allows(local, false) && d.allows(mapped, false));
        assert!(!d.allows(None, false));
        assert!(!MetricsAccess::Loopback.allows(lan, true));
        assert!(!MetricsAccess::Token.allows(local, false));
        assert!(MetricsAccess::Open.allows(lan, false));
    }
}
