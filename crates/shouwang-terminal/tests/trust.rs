//! The agent's trust in its unit server, against real TLS servers on
//! loopback: the unit's own, another unit's, and an impostor that serves
//! the genuine (public) CA certificate with a certificate of its own.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use shouwang_terminal::token::EnrollToken;
use shouwang_terminal::trust::{self, TrustError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    key: KeyPair,
    params: CertificateParams,
    der: CertificateDer<'static>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let der = p.self_signed(&key).unwrap().der().clone();
    Ca {
        key,
        params: p,
        der,
    }
}

/// A server certificate for 127.0.0.1 signed by `ca`.
fn leaf(ca: &Ca) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = p.signed_by(&key, &issuer).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// An HTTPS server presenting `chain`, answering `/ca.der` with `served_ca`
/// and `/ping` with `pong`.
async fn serve(
    chain: (CertificateDer<'static>, PrivateKeyDer<'static>),
    served_ca: Vec<u8>,
) -> SocketAddr {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![chain.0], chain.1)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let served_ca = served_ca.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0; 4096];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let body = if req.starts_with("GET /ca.der ") {
                    served_ca
                } else {
                    b"pong".to_vec()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn pin_of(ca: &Ca) -> [u8; 32] {
    trust::spki_sha256(&ca.der).unwrap()
}

#[tokio::test]
async fn the_units_own_server_is_trusted_through_the_pin_in_the_token() {
    let unit = ca("乡政府 守望 CA");
    let addr = serve(leaf(&unit), unit.der.to_vec()).await;
    let token = EnrollToken::parse(&EnrollToken::generate(pin_of(&unit)).encode()).unwrap();
    let base = trust::server_url(&format!("https://{addr}")).unwrap();
    let ca_der = trust::fetch_pinned_ca(&base, token.ca_key_sha256())
        .await
        .unwrap();
    assert_eq!(ca_der, unit.der.to_vec());
    let client = trust::verified_client(&ca_der).unwrap();
    let pong = client
        .get(base.join("/ping").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pong, "pong");
}

#[tokio::test]
async fn another_units_server_is_refused_naming_both_fingerprints() {
    let unit = ca("本单位");
    let other = ca("别的单位");
    let addr = serve(leaf(&other), other.der.to_vec()).await;
    let base = trust::server_url(&format!("https://{addr}")).unwrap();
    let err = trust::fetch_pinned_ca(&base, &pin_of(&unit))
        .await
        .unwrap_err();
    let TrustError::WrongServer { expected, got, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(
        expected,
        &shouwang_terminal::token::colon_hex(&pin_of(&unit))
    );
    assert_eq!(got, &shouwang_terminal::token::colon_hex(&pin_of(&other)));
    assert!(err.zh().contains("不是本单位的服务器"), "{}", err.zh());
}

#[tokio::test]
async fn an_impostor_serving_a_copy_of_the_genuine_ca_certificate_fails_the_verified_connection() {
    let unit = ca("本单位");
    let impostor = ca("冒充者");
    // The CA certificate is public: the impostor serves the genuine one,
    // but can only present a certificate of its own CA.
    let addr = serve(leaf(&impostor), unit.der.to_vec()).await;
    let base = trust::server_url(&format!("https://{addr}")).unwrap();
    let ca_der = trust::fetch_pinned_ca(&base, &pin_of(&unit))
        .await
        .expect("the copy matches the pin: step 1 cannot tell");
    let client = trust::verified_client(&ca_der).unwrap();
    let err = client
        .get(base.join("/ping").unwrap())
        .send()
        .await
        .expect_err("the impostor's certificate does not chain to the unit CA");
    let chain = format!("{err:?}");
    assert!(chain.contains("UnknownIssuer"), "{chain}");
}

#[tokio::test]
async fn plain_http_and_non_certificates_are_refused() {
    assert!(matches!(
        trust::server_url("http://192.168.1.10:8443"),
        Err(TrustError::NotHttps(_))
    ));
    assert!(trust::server_url("192.168.1.10").is_err());
    let unit = ca("本单位");
    let addr = serve(leaf(&unit), b"<html>hello</html>".to_vec()).await;
    let base = trust::server_url(&format!("https://{addr}")).unwrap();
    let err = trust::fetch_pinned_ca(&base, &pin_of(&unit))
        .await
        .unwrap_err();
    assert!(matches!(err, TrustError::NotACertificate { .. }), "{err}");
}
