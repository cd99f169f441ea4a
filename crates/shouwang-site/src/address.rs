//! Where the crawler may connect. A page, a link or a redirect can name
//! this machine (`127.0.0.1:8700/metrics`, the console) or the link-local
//! network (`169.254.169.254`, a cloud's metadata service), directly or
//! through a DNS name that resolves there. The address is judged as it is
//! connected to, after resolution: only the homepage's host as the person
//! typed it, or any host of a site marked as our own, may reach them.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Who may reach which addresses.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Our own site: every address may be reached.
    pub allow_all: bool,
    /// Hosts that may reach this machine and the link-local network: the
    /// homepage's, as typed.
    pub trusted_hosts: HashSet<String>,
    /// Names resolved to these addresses instead of through DNS (a site
    /// served from an address its name does not resolve to; tests). They
    /// are judged as any resolved address is.
    pub overrides: HashMap<String, Vec<IpAddr>>,
}

/// Why an address was not connected to.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.zh())]
pub struct Refused {
    pub host: String,
    pub addr: IpAddr,
    pub what: &'static str,
}

impl Refused {
    fn zh(&self) -> String {
        if self.host.trim_matches(['[', ']']) == self.addr.to_string() {
            format!("{} 是{}", self.addr, self.what)
        } else {
            format!("{} 解析为 {}，是{}", self.host, self.addr, self.what)
        }
    }
}

impl AddressPolicy {
    /// Whether `host` (at `addr`) may be connected to.
    pub fn check(&self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        if self.allow_all || self.trusted_hosts.contains(host) {
            return Ok(());
        }
        match local_kind(addr) {
            Some(what) => Err(Refused {
                host: host.to_string(),
                addr,
                what,
            }),
            None => Ok(()),
        }
    }
}

/// What kind of address only this machine or its link reaches, if `addr`
/// is one.
pub fn local_kind(addr: IpAddr) -> Option<&'static str> {
    let v4 = |a: Ipv4Addr| {
        if a.is_loopback() {
            Some("本机地址")
        } else if a.is_link_local() {
            Some("链路本地地址")
        } else if a.octets()[0] == 0 {
            // 0.0.0.0 connects to this machine on Linux.
            Some("本机地址")
        } else {
            None
        }
    };
    match addr {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) if a.is_loopback() || a.is_unspecified() => Some("本机地址"),
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => Some("链路本地地址"),
        IpAddr::V6(a) => a.to_ipv4_mapped().and_then(v4),
    }
}

/// The resolver reqwest connects through: DNS (or an override), then the
/// policy on every address; a name left with none is refused.
pub struct GuardedResolver {
    pub policy: Arc<AddressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match policy.overrides.get(&host) {
                Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(&host, a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused.get_or_insert(e);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(e)) => Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_link_local_and_their_disguises_are_local() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "169.254.169.254",
            "::1",
            "::",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.1.1",
        ] {
            assert!(local_kind(a.parse().unwrap()).is_some(), "{a}");
        }
        for a in [
            "10.0.0.1",
            "192.168.1.1",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(local_kind(a.parse().unwrap()), None, "{a}");
        }
    }

    #[test]
    fn only_the_typed_host_or_our_own_site_reaches_this_machine() {
        let policy = AddressPolicy {
            trusted_hosts: HashSet::from(["127.0.0.1".to_string()]),
            ..AddressPolicy::default()
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(policy.check("127.0.0.1", lo).is_ok());
        assert!(policy.check("evil.example", lo).is_err());
        assert!(
            policy
                .check("evil.example", "8.8.8.8".parse().unwrap())
                .is_ok()
        );
        let own = AddressPolicy {
            allow_all: true,
            ..AddressPolicy::default()
        };
        assert!(own.check("evil.example", lo).is_ok());
    }
}
