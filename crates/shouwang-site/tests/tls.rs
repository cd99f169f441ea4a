//! A site on HTTPS with a certificate no browser trusts: the problem is a
//! finding, and the site is still inspected.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use shouwang_model::Severity;
use shouwang_site::{InspectOptions, inspect};

/// A self-signed certificate for 127.0.0.1 (P-256, valid until 2125) and
/// its key, made once with `openssl req -x509` and kept as DER so that the
/// test needs no certificate library. No browser trusts it: that is the
/// point.
const CERT: &[u8] = include_bytes!("../testdata/self-signed.der");
const KEY: &[u8] = include_bytes!("../testdata/self-signed.key.der");

/// Serve one fixed page over TLS with the self-signed certificate, on a
/// thread, until the test process ends.
fn serve_tls(page: &'static str) -> std::net::SocketAddr {
    let cert = rustls::pki_types::CertificateDer::from(CERT.to_vec());
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(KEY.to_vec().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], private)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = request.starts_with(b"HEAD");
                let (status, body) =
                    if request.starts_with(b"GET / ") || request.starts_with(b"HEAD / ") {
                        ("200 OK", page)
                    } else {
                        ("404 Not Found", "<html><body>404</body></html>")
                    };
                let _ = write!(
                    tls,
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                if !head {
                    let _ = tls.write_all(body.as_bytes());
                }
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_reported_and_the_site_still_inspected() {
    let addr = serve_tls(
        "<html><head><title>某某镇</title></head><body><div id=\"zoom\">\
         <p>全镇干部群众再接再励，圆满完成全年各项目标任务。</p></div></body></html>",
    );
    let mut o = InspectOptions::new(format!("https://{addr}/").parse().unwrap());
    o.transport_checks = false;
    o.check_external = false;
    o.government = Some(false);
    o.timeout = Duration::from_secs(5);
    let report = tokio::time::timeout(Duration::from_secs(30), inspect(o))
        .await
        .expect("no hang")
        .unwrap();
    let checks: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.provenance.check.as_str())
        .collect();
    let tls = report
        .findings
        .iter()
        .find(|f| f.provenance.check == "site.tls-error")
        .unwrap_or_else(|| panic!("{checks:?}"));
    assert_eq!(tls.severity, Severity::High);
    assert!(
        tls.evidence.to_lowercase().contains("certificate"),
        "{}",
        tls.evidence
    );
    // The content behind the warning was inspected all the same.
    assert_eq!(report.pages, 1, "{report:#?}");
    assert!(checks.contains(&"site.wording.typo"), "{checks:?}");
    assert!(!checks.contains(&"site.unreachable"), "{checks:?}");
}
