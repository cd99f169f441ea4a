//! What a terminal is, for the 终端台账: name, system, hardware, network
//! interfaces, disks, installed packages. Read through [`Root`] like every
//! probe, so an agent's `--root DIR` and the live system run the same code.
//!
//! Facts the host rules judge (antivirus, screen lock, USB storage policy,
//! patches) are not repeated here: they travel as the rules' results in the
//! same report, and the server reads them from there. What could not be
//! read is said in `unknown`, never left as an empty value that looks
//! like "none".

use serde::{Deserialize, Serialize};

use crate::engine::{hostname, os_name};
use crate::parse::{self, Separator};
use crate::probe::Facts;
use crate::root::Root;

/// Interfaces, addresses, disks and the like read at most this many each:
/// a container host with thousands of veth pairs is still one terminal.
const MAX_ITEMS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub hostname: String,
    /// PRETTY_NAME (银河麒麟桌面操作系统 V10 (SP1) …).
    pub os: String,
    /// os-release ID and VERSION_ID (kylin, 10).
    pub os_id: String,
    pub os_version: String,
    pub kernel: String,
    pub cpu_model: String,
    pub cpu_count: u32,
    pub memory_bytes: u64,
    pub interfaces: Vec<Interface>,
    pub disks: Vec<Disk>,
    /// dpkg or rpm.
    pub package_manager: String,
    pub package_count: u64,
    /// What could not be read, each with the reason (in Chinese).
    pub unknown: Vec<Unknown>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    pub name: String,
    /// `aa:bb:cc:dd:ee:ff`, lower case.
    pub mac: String,
    pub ips: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    /// The block device (`sda`, `nvme0n1`).
    pub device: String,
    pub size_bytes: u64,
    /// Whether the kernel says it is removable (a USB stick, a card).
    pub removable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unknown {
    pub field: String,
    pub reason: String,
}

impl Inventory {
    /// Check the bounds a server relies on before storing one it received:
    /// at most `max_list` items per list, `max_text` bytes per string.
    pub fn within_bounds(&self, max_list: usize, max_text: usize) -> Result<(), String> {
        let texts = [
            &self.hostname,
            &self.os,
            &self.os_id,
            &self.os_version,
            &self.kernel,
            &self.cpu_model,
            &self.package_manager,
        ];
        if let Some(t) = texts.iter().find(|t| t.len() > max_text) {
            return Err(format!("a text of {} bytes", t.len()));
        }
        let lists = [
            ("interfaces", self.interfaces.len()),
            ("disks", self.disks.len()),
            ("unknown", self.unknown.len()),
        ];
        if let Some((name, n)) = lists.iter().find(|(_, n)| *n > max_list) {
            return Err(format!("{n} {name}, at most {max_list}"));
        }
        let inner_too_long = self.interfaces.iter().any(|i| {
            i.ips.len() > max_list || i.name.len() > max_text || i.ips.iter().any(|a| a.len() > 64)
        }) || self.disks.iter().any(|d| d.device.len() > max_text)
            || self
                .unknown
                .iter()
                .any(|u| u.field.len() > max_text || u.reason.len() > max_text);
        if inner_too_long {
            return Err("an interface, disk or reason beyond its bounds".into());
        }
        Ok(())
    }
}

/// The inventory of `root`.
pub fn collect(root: &Root) -> Inventory {
    let mut inv = Inventory {
        hostname: hostname(root),
        os: os_name(root),
        ..Inventory::default()
    };
    let mut unknown = |field: &str, reason: String| {
        inv.unknown.push(Unknown {
            field: field.into(),
            reason,
        })
    };
    let os_release = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| root.read_text(p).ok())
        .map(|t| parse::key_values(&t, Separator::Equals))
        .unwrap_or_default();
    let field = |k: &str| {
        os_release
            .iter()
            .find(|s| s.key == k)
            .map(|s| s.value.clone())
            .unwrap_or_default()
    };
    let (os_id, os_version) = (field("ID"), field("VERSION_ID"));
    if os_id.is_empty() {
        unknown("os_id", "没有 /etc/os-release".into());
    }

    let live = root.is_live();
    let kernel = if live {
        root.read_text("/proc/sys/kernel/osrelease")
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    if kernel.is_empty() {
        unknown("kernel", not_running(live, "/proc/sys/kernel/osrelease"));
    }

    let (cpu_model, cpu_count) = match root.read_text("/proc/cpuinfo") {
        Ok(t) if live => cpuinfo(&t),
        _ => (String::new(), 0),
    };
    if cpu_count == 0 {
        unknown("cpu", not_running(live, "/proc/cpuinfo"));
    }
    let memory_bytes = match root.read_text("/proc/meminfo") {
        Ok(t) if live => meminfo_total(&t),
        _ => 0,
    };
    if memory_bytes == 0 {
        unknown("memory", not_running(live, "/proc/meminfo"));
    }

    let interfaces = interfaces(root);
    if interfaces.is_empty() {
        unknown("interfaces", not_running(live, "/sys/class/net"));
    }
    let disks = disks(root);
    if disks.is_empty() {
        unknown("disks", not_running(live, "/sys/block"));
    }

    let facts = Facts::new(root);
    let (package_manager, package_count) = match facts.packages() {
        Ok(db) => (
            if db.source.contains("dpkg") {
                "dpkg"
            } else {
                "rpm"
            }
            .to_string(),
            db.packages.len() as u64,
        ),
        Err(e) => {
            unknown("packages", e.zh.clone());
            (String::new(), 0)
        }
    };
    Inventory {
        os_id,
        os_version,
        kernel,
        cpu_model,
        cpu_count,
        memory_bytes,
        interfaces,
        disks,
        package_manager,
        package_count,
        ..inv
    }
}

fn not_running(live: bool, what: &str) -> String {
    if live {
        format!("无法读取 {what}")
    } else {
        format!("离线根目录中无 {what} 的运行信息")
    }
}

/// The model name and the number of processors in `/proc/cpuinfo` (x86
/// says `model name`; Phytium and Kunpeng aarch64 kernels say `CPU part`
/// or nothing, LoongArch `Model Name`).
fn cpuinfo(text: &str) -> (String, u32) {
    let mut model = String::new();
    let mut count = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let k = k.trim();
        if k == "processor" {
            count += 1;
        }
        if model.is_empty() && k.eq_ignore_ascii_case("model name") {
            model = v.trim().to_string();
        }
    }
    (model, count)
}

fn meminfo_total(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Network interfaces from `/sys/class/net`, their addresses from the
/// kernel's own tables (`/proc/net/fib_trie` for IPv4, `if_inet6`), so the
/// same code reads a crafted root. Loopback is left out.
fn interfaces(root: &Root) -> Vec<Interface> {
    let Ok(names) = root.list_dir("/sys/class/net") else {
        return Vec::new();
    };
    let v4 = root
        .read_text("/proc/net/fib_trie")
        .map(|t| fib_trie_locals(&t))
        .unwrap_or_default();
    let v6 = root
        .read_text("/proc/net/if_inet6")
        .map(|t| if_inet6(&t))
        .unwrap_or_default();
    let routes = root
        .read_text("/proc/net/route")
        .map(|t| route_devices(&t))
        .unwrap_or_default();
    let mut out = Vec::new();
    for name in names.into_iter().filter(|n| n != "lo").take(MAX_ITEMS) {
        let mac = root
            .read_text(&format!("/sys/class/net/{name}/address"))
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        // fib_trie has no device names: an IPv4 address belongs to the
        // interface whose routes cover it.
        let mut ips: Vec<String> = v4
            .iter()
            .filter(|ip| {
                routes
                    .iter()
                    .any(|(dev, net, mask)| dev == &name && (ip_u32(ip) & mask) == *net)
            })
            .cloned()
            .collect();
        ips.extend(
            v6.iter()
                .filter(|(dev, _)| dev == &name)
                .map(|(_, a)| a.clone()),
        );
        ips.truncate(MAX_ITEMS);
        out.push(Interface { name, mac, ips });
    }
    out
}

/// The local (`/32 host LOCAL`) addresses in `/proc/net/fib_trie`.
fn fib_trie_locals(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last_leaf: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("|-- ") {
            last_leaf = Some(rest.trim());
        } else if t.starts_with("/32 host LOCAL")
            && let Some(ip) = last_leaf
            && !ip.starts_with("127.")
            && !out.iter().any(|o| o == ip)
        {
            out.push(ip.to_string());
        }
    }
    out
}

fn ip_u32(ip: &str) -> u32 {
    ip.parse::<std::net::Ipv4Addr>().map_or(0, u32::from)
}

/// (device, network, mask) of each IPv4 route, in host byte order.
fn route_devices(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // The kernel prints the network-order bytes read as a native
            // number: back to the bytes, then read them in network order.
            let hex = |s: &str| {
                u32::from_str_radix(s, 16)
                    .ok()
                    .map(|v| u32::from_be_bytes(v.to_ne_bytes()))
            };
            let (net, mask) = (hex(f.get(1)?)?, hex(f.get(7)?)?);
            Some((f[0].to_string(), net, mask))
        })
        .filter(|(_, _, mask)| *mask != 0)
        .collect()
}

/// (device, address) from `/proc/net/if_inet6`, link-local left out.
fn if_inet6(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (hex, dev) = (f.first()?, f.get(5)?);
            // ASCII hex only: a crafted root's non-ASCII text must not be
            // sliced mid-character below.
            if hex.len() != 32
                || !hex.bytes().all(|b| b.is_ascii_hexdigit())
                || hex.starts_with("fe80")
                || *dev == "lo"
            {
                return None;
            }
            let bytes: Vec<u8> = (0..16)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<_>>()?;
            let arr: [u8; 16] = bytes.try_into().ok()?;
            Some((dev.to_string(), std::net::Ipv6Addr::from(arr).to_string()))
        })
        .collect()
}

/// Whole disks from `/sys/block` (partitions, loop and RAM devices left
/// out), with their size and whether they are removable.
fn disks(root: &Root) -> Vec<Disk> {
    let Ok(names) = root.list_dir("/sys/block") else {
        return Vec::new();
    };
    names
        .into_iter()
        .filter(|n| {
            !["loop", "ram", "zram", "dm-", "sr"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .take(MAX_ITEMS)
        .map(|device| {
            let read = |f: &str| {
                root.read_text(&format!("/sys/block/{device}/{f}"))
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Disk {
                // /sys/block/*/size counts 512-byte sectors whatever the
                // device's own sector size.
                size_bytes: read("size") * 512,
                removable: read("removable") == 1,
                device,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::Liveness;
    use std::fs;

    fn write(base: &std::path::Path, rel: &str, text: &str) {
        let p = base.join(rel.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A Kylin-like running terminal, crafted.
    fn kylin(dir: &std::path::Path) {
        write(dir, "/etc/hostname", "bgs-pc-07\n");
        write(
            dir,
            "/etc/os-release",
            "NAME=\"Kylin\"\nID=kylin\nVERSION_ID=\"V10\"\nPRETTY_NAME=\"Kylin V10 SP1\"\n",
        );
        write(dir, "/proc/sys/kernel/hostname", "bgs-pc-07\n");
        write(dir, "/proc/sys/kernel/osrelease", "5.4.18-85-generic\n");
        write(
            dir,
            "/proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Hygon C86 3185\n\nprocessor\t: 1\nmodel name\t: Hygon C86 3185\n",
        );
        write(
            dir,
            "/proc/meminfo",
            "MemTotal:        8041204 kB\nMemFree: 1 kB\n",
        );
        write(dir, "/sys/class/net/lo/address", "00:00:00:00:00:00\n");
        write(dir, "/sys/class/net/enp3s0/address", "52:54:00:AB:CD:EF\n");
        write(
            dir,
            "/proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             enp3s0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
             enp3s0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n",
        );
        write(
            dir,
            "/proc/net/fib_trie",
            "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 192.168.1.0/24 2 0 2\n        |-- 192.168.1.0\n           /24 link UNICAST\n        |-- 192.168.1.57\n           /32 host LOCAL\n  |-- 127.0.0.1\n     /32 host LOCAL\nLocal:\n  |-- 192.168.1.57\n     /32 host LOCAL\n",
        );
        write(
            dir,
            "/proc/net/if_inet6",
            "fe800000000000005054fffeabcdef 02 40 20 80   enp3s0\n\
             240e0000000000000000000000000057 02 40 00 80   enp3s0\n",
        );
        write(dir, "/sys/block/sda/size", "976773168\n");
        write(dir, "/sys/block/sda/removable", "0\n");
        write(dir, "/sys/block/sdb/size", "60437492\n");
        write(dir, "/sys/block/sdb/removable", "1\n");
        write(dir, "/sys/block/loop0/size", "100\n");
        write(
            dir,
            "/var/lib/dpkg/status",
            "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 2\n\n",
        );
    }

    #[test]
    fn a_running_kylin_terminal_is_inventoried() {
        let dir = tempfile::tempdir().unwrap();
        kylin(dir.path());
        let inv = collect(&Root::with_liveness(dir.path(), Liveness::Live));
        assert_eq!(inv.hostname, "bgs-pc-07");
        assert_eq!(
            (inv.os.as_str(), inv.os_id.as_str(), inv.os_version.as_str()),
            ("Kylin V10 SP1", "kylin", "V10")
        );
        assert_eq!(inv.kernel, "5.4.18-85-generic");
        assert_eq!(
            (inv.cpu_model.as_str(), inv.cpu_count),
            ("Hygon C86 3185", 2)
        );
        assert_eq!(inv.memory_bytes, 8_041_204 * 1024);
        assert_eq!(
            inv.interfaces,
            vec![Interface {
                name: "enp3s0".into(),
                mac: "52:54:00:ab:cd:ef".into(),
                ips: vec!["192.168.1.57".into(), "240e::57".into()],
            }]
        );
        assert_eq!(inv.disks.len(), 2, "{:?}", inv.disks);
        assert!(inv.disks.iter().any(|d| d.device == "sdb" && d.removable));
        assert_eq!(inv.disks[0].size_bytes, 976_773_168 * 512);
        assert_eq!(
            (inv.package_manager.as_str(), inv.package_count),
            ("dpkg", 2)
        );
        assert!(inv.unknown.is_empty(), "{:?}", inv.unknown);
    }

    #[test]
    fn an_offline_root_says_what_it_cannot_know_rather_than_zero() {
        let dir = tempfile::tempdir().unwrap();
        kylin(dir.path());
        let inv = collect(&Root::offline(dir.path()));
        assert_eq!(inv.hostname, "bgs-pc-07");
        assert_eq!(inv.cpu_count, 0);
        for field in ["kernel", "cpu", "memory"] {
            let u = inv.unknown.iter().find(|u| u.field == field);
            assert!(
                u.is_some_and(|u| u.reason.contains("离线")),
                "{field}: {:?}",
                inv.unknown
            );
        }
        let empty = tempfile::tempdir().unwrap();
        let inv = collect(&Root::offline(empty.path()));
        assert!(inv.unknown.iter().any(|u| u.field == "packages"));
        assert!(inv.within_bounds(512, 4096).is_ok());
    }

    proptest::proptest! {
        /// An offline root is an image someone else made: its /proc and
        /// /sys texts are read or left out, never a panic.
        #[test]
        fn any_kernel_table_text_is_read_or_left_out(text in "\\PC{0,300}", hexish in "[0-9a-fé ]{30,34} 02 40 00 80 eth0") {
            let _ = fib_trie_locals(&text);
            let _ = route_devices(&text);
            let _ = if_inet6(&text);
            let _ = if_inet6(&hexish);
            let _ = cpuinfo(&text);
            let _ = meminfo_total(&text);
        }
    }

    #[test]
    fn a_non_ascii_address_line_is_left_out() {
        // 32 bytes, but not 32 characters: slicing it by bytes would panic.
        let line = format!("{}é0 02 40 00 80 eth0", "0".repeat(29));
        assert_eq!(line.split_whitespace().next().unwrap().len(), 32);
        assert!(if_inet6(&line).is_empty());
    }

    #[test]
    fn an_inventory_beyond_its_bounds_is_refused() {
        let mut inv = Inventory {
            interfaces: vec![
                Interface {
                    name: "eth".into(),
                    mac: String::new(),
                    ips: vec![],
                };
                600
            ],
            ..Inventory::default()
        };
        assert!(
            inv.within_bounds(512, 4096)
                .unwrap_err()
                .contains("600 interfaces")
        );
        inv.interfaces.clear();
        inv.hostname = "x".repeat(5000);
        assert!(inv.within_bounds(512, 4096).is_err());
    }
}
