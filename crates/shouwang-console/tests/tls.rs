//! The console over TLS, as an office PC reaches it: the unit CA and the
//! console certificate it signs, a client that trusts only that CA, the
//! allowlist of client networks, and the CA for people to download.
//!
//! The LAN tests serve on 10.77.0.1 in a network namespace of their own
//! (`ip netns`, as root; removed when the test ends), so that the address
//! is not loopback and nothing on the machine's own network changes.
//! Without root they say so and pass, unless SHOUWANG_REQUIRE_NETNS=1.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::netns::Netns;
use common::*;
use shouwang_console::tls::{self, Names, UnitCa};
use shouwang_console::{ConsoleConfig, TlsSetting};

const LAN_IP: &str = "10.77.0.1";

fn lan_netns() -> Option<Netns> {
    Netns::new("swtls", &[&format!("{LAN_IP}/24")], false)
}

/// A client that trusts exactly the certificates in `roots` (PEM).
fn client_trusting(roots: &[&str]) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    for pem in roots {
        for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            store.add(c.unwrap()).unwrap();
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

fn ca_pem(con: &Console) -> String {
    std::fs::read_to_string(con.data.join("tls/ca.crt")).unwrap()
}

/// Another CA, which issued nothing the console serves.
fn stranger_ca() -> String {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = UnitCa::load_or_create(dir.path(), "别的单位").unwrap();
    ca.cert_pem().to_string()
}

fn lan_config(allow: &[&str]) -> ConsoleConfig {
    ConsoleConfig {
        allow_networks: allow.iter().map(|n| n.parse().unwrap()).collect(),
        ..ConsoleConfig::default()
    }
}

#[test]
fn a_pc_on_the_lan_trusting_the_unit_ca_reaches_the_console_and_others_do_not() {
    let Some(ns) = lan_netns() else { return };
    ns.run(|| async {
        let listen: SocketAddr = format!("{LAN_IP}:0").parse().unwrap();
        // tls = "auto": beyond loopback, TLS.
        let con = spawn_serving(lan_config(&[]), listen, true).await;
        assert!(con.base.starts_with("https://10.77.0.1:"), "{}", con.base);

        let trusting = client_trusting(&[&ca_pem(&con)]);
        let res = trusting
            .get(format!("{}/login", con.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(res.text().await.unwrap().contains("href=\"/trust\""));

        // The certificate names the LAN address it was reached on.
        let names =
            tls::names_in_pem(&std::fs::read_to_string(con.data.join("tls/console.crt")).unwrap())
                .unwrap();
        assert!(names.ips.contains(&LAN_IP.parse().unwrap()), "{names:?}");

        // A PC that has not installed the unit CA is refused by its own
        // TLS, whatever else it trusts.
        for roots in [vec![], vec![stranger_ca()]] {
            let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
            let err = client_trusting(&roots)
                .get(format!("{}/login", con.base))
                .send()
                .await
                .unwrap_err();
            let chain = format!("{:?}", err);
            assert!(
                chain.contains("UnknownIssuer") || chain.contains("certificate"),
                "{chain}"
            );
        }
        // Plain HTTP to the TLS port gets no page.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plain = reqwest::Client::new()
            .get(con.base.replace("https://", "http://") + "/login")
            .send()
            .await;
        assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    });
}

#[test]
fn a_client_outside_the_allowed_networks_is_disconnected() {
    let Some(ns) = lan_netns() else { return };
    ns.run(|| async {
        let listen: SocketAddr = format!("{LAN_IP}:0").parse().unwrap();
        // The client's address here is 10.77.0.1 too: outside 10.77.1.0/24.
        let outside = spawn_serving(lan_config(&["10.77.1.0/24"]), listen, true).await;
        let inside = spawn_serving(lan_config(&["10.77.0.0/24"]), listen, true).await;
        let err = client_trusting(&[&ca_pem(&outside)])
            .get(format!("{}/login", outside.base))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect() || err.is_request(), "{err:?}");
        let res = client_trusting(&[&ca_pem(&inside)])
            .get(format!("{}/login", inside.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_is_offered_for_download_with_a_page_that_shows_its_fingerprint() {
    let config = ConsoleConfig {
        tls: TlsSetting::On,
        ..ConsoleConfig::default()
    };
    let con = spawn_serving(config, "127.0.0.1:0".parse().unwrap(), true).await;
    let ca = ca_pem(&con);
    let (id, der) = UnitCa::identity_in(&con.data.join("tls")).unwrap().unwrap();
    // By name as well as by address: localhost is in the certificate.
    let client = client_trusting(&[&ca]);
    let by_name = con.base.replace("127.0.0.1", "localhost");
    for base in [&con.base, &by_name] {
        let res = client.get(format!("{base}/ca.crt")).send().await.unwrap();
        assert_eq!(res.status(), 200, "without a login");
        assert_eq!(res.headers()["content-type"], "application/x-x509-ca-cert");
        assert_eq!(res.text().await.unwrap(), ca);
    }
    let res = client
        .get(format!("{}/ca.der", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/pkix-cert");
    assert_eq!(res.bytes().await.unwrap().as_ref(), der.as_ref());

    let page = client
        .get(format!("{}/trust", con.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("如何信任本证书"), "{page}");
    assert!(page.contains(&id.key_sha256) && page.contains(&id.cert_sha256));
    assert!(page.contains("受信任的根证书颁发机构"));
    assert!(page.contains("update-ca-certificates"));
    assert_eq!(id.key_sha256.len(), 32 * 3 - 1, "{}", id.key_sha256);
}

#[test]
fn the_ca_is_kept_across_restarts_while_the_console_certificate_follows_the_addresses() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("tls");
    let config = ConsoleConfig {
        tls: TlsSetting::On,
        ..ConsoleConfig::default()
    };
    let first = tls::prepare(&config, "某县", data.path()).unwrap();
    assert!(first.ca_created);
    assert_eq!(first.reissued, Some("there was none"));
    let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("ca.key"), 0o600);
    assert_eq!(mode("console.key"), 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let console_cert = || std::fs::read_to_string(dir.join("console.crt")).unwrap();
    let issued = console_cert();

    // A restart on the same machine changes nothing.
    let second = tls::prepare(&config, "某县", data.path()).unwrap();
    assert!(!second.ca_created);
    assert_eq!(second.ca, first.ca);
    assert_eq!(second.reissued, None);
    assert_eq!(console_cert(), issued);

    // The machine got another address: a new console certificate from the
    // same CA, naming it.
    let (ca, created) = UnitCa::load_or_create(&dir, "某县").unwrap();
    assert!(!created);
    let mut names = Names::of_this_machine(config.listen);
    names.ips.insert("192.0.2.9".parse().unwrap());
    let (_, _, why) = tls::ensure_console_cert(&ca, &dir, &names).unwrap();
    assert_eq!(why, Some("this machine's names or addresses changed"));
    assert_ne!(console_cert(), issued);
    assert_eq!(tls::names_in_pem(&console_cert()).unwrap(), names);
    assert_eq!(ca.identity(), first.ca);

    // A certificate near its end is made again.
    let leaf = ca
        .issue(&tls::LeafRequest {
            common_name: "localhost".into(),
            dns_names: names.dns.iter().cloned().collect(),
            ips: names.ips.iter().copied().collect(),
            purpose: tls::Purpose::Server,
            days: 10,
        })
        .unwrap();
    std::fs::write(dir.join("console.crt"), &leaf.cert_pem).unwrap();
    std::fs::write(dir.join("console.key"), &leaf.key_pem).unwrap();
    let (_, _, why) = tls::ensure_console_cert(&ca, &dir, &names).unwrap();
    assert_eq!(why, Some("it runs out within 30 days"));

    // One issued by another CA is not kept either.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) = UnitCa::load_or_create(other.path(), "别的单位").unwrap();
    let (_, _, _) = tls::ensure_console_cert(&stranger, other.path(), &names).unwrap();
    std::fs::copy(other.path().join("console.crt"), dir.join("console.crt")).unwrap();
    std::fs::copy(other.path().join("console.key"), dir.join("console.key")).unwrap();
    let (_, _, why) = tls::ensure_console_cert(&ca, &dir, &names).unwrap();
    assert_eq!(why, Some("it was not issued by the unit CA"));

    // The CA certificate lost: made again from the key, same key fingerprint.
    std::fs::remove_file(dir.join("ca.crt")).unwrap();
    let third = tls::prepare(&config, "某县", data.path()).unwrap();
    assert!(!third.ca_created);
    assert_eq!(third.ca.key_sha256, first.ca.key_sha256);
}

#[test]
fn the_units_own_certificate_is_served_when_configured_and_a_bad_one_named() {
    let data = tempfile::tempdir().unwrap();
    let own = tempfile::tempdir().unwrap();
    let (ca, _) = UnitCa::load_or_create(own.path(), "自有").unwrap();
    let leaf = ca
        .issue(&tls::LeafRequest {
            common_name: "console.example.gov.cn".into(),
            dns_names: vec!["console.example.gov.cn".into()],
            ips: vec![],
            purpose: tls::Purpose::Server,
            days: 90,
        })
        .unwrap();
    let (cert, key) = (own.path().join("c.pem"), own.path().join("k.pem"));
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let config = ConsoleConfig {
        tls: TlsSetting::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        ..ConsoleConfig::default()
    };
    let prepared = tls::prepare(&config, "", data.path()).unwrap();
    assert!(prepared.server.is_some());
    assert!(
        !data.path().join("tls/console.crt").exists(),
        "no certificate of the unit CA is made when the unit brings its own"
    );
    std::fs::write(&key, "not a key").unwrap();
    let err = tls::prepare(&config, "", data.path())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&cert.display().to_string()), "{err}");
}
