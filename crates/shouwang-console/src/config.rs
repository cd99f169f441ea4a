use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The `[console]` section of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Whether `shouwang up` starts the console.
    pub enabled: bool,
    /// Address and port the console listens on. Keep it on 127.0.0.1 unless
    /// a TLS reverse proxy sits in front.
    pub listen: SocketAddr,
    /// Hours a login lasts.
    pub session_hours: u32,
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: u32,
    /// Minutes a locked account stays locked.
    pub lockout_minutes: u32,
    /// Mark cookies `Secure` (set when the console is served over HTTPS).
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
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
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
        let loopback = peer.is_some_and(|p| match p.ip() {
            std::net::IpAddr::V4(ip) => ip.is_loopback(),
            std::net::IpAddr::V6(ip) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        });
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
