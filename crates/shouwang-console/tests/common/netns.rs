//! A network namespace made by a test (`ip netns`, as root; removed when
//! the test ends), with `lo` up and LAN addresses on it, so that a test
//! serves on an address that is not loopback while nothing on the
//! machine's own network changes. Shared by the console's TLS tests and the
//! binary's browser test (`crates/shouwang/tests/browser.rs`).

use std::sync::atomic::{AtomicU32, Ordering};

pub struct Netns(pub String);

impl Netns {
    /// A namespace named `{prefix}-{pid}-{n}` with `addrs` (CIDR, e.g.
    /// `10.77.0.1/24`) on its `lo`. Without root: `None` after saying why,
    /// or a panic when SHOUWANG_REQUIRE_NETNS=1 (or `required`).
    pub fn new(prefix: &str, addrs: &[&str], required: bool) -> Option<Netns> {
        if !rustix::process::geteuid().is_root() {
            if required || std::env::var("SHOUWANG_REQUIRE_NETNS").as_deref() == Ok("1") {
                panic!("a network namespace is required here but the test is not root");
            }
            eprintln!("SKIPPED: a network namespace needs root (ip netns add)");
            return None;
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        for a in addrs {
            ip(&["-n", &ns.0, "addr", "add", a, "dev", "lo"]);
        }
        Some(ns)
    }

    /// Run `f` on a thread of its own inside the namespace, with a runtime
    /// of its own: every socket it opens and every process it starts (they
    /// inherit the thread's namespace) live there.
    pub fn run<F, Fut>(&self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let path = format!("/var/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns into the test's network namespace");
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f());
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
