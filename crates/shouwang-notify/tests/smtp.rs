//! E-mail over SMTP against a small server in this test that speaks EHLO,
//! STARTTLS (tokio-rustls, with a CA and certificate made here by rcgen),
//! AUTH PLAIN/LOGIN, MAIL, RCPT and DATA, and refuses to log anyone in
//! before TLS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use shouwang_notify::{
    ChannelConfig, ChannelKind, DeliveryStatus, NoticeKind, Notifier, NotifyConfig, SmtpTls,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

const USER: &str = "duty@example.gov.cn";
const PASSWORD: &str = "smtp-p@ssw0rd-不外传";

/// A private CA and a certificate it issued for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "守望 test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// What the server accepted.
#[derive(Debug, Default, Clone)]
struct Mail {
    auth: Option<(String, String)>,
    from: String,
    to: Vec<String>,
    data: String,
}

#[derive(Default)]
struct Server {
    mails: Mutex<Vec<Mail>>,
    /// Every line the client sent before TLS, to check nothing secret was
    /// sent in the clear.
    cleartext: Mutex<String>,
}

async fn smtp_server(pki: &Pki, implicit_tls: bool) -> (SocketAddr, Arc<Server>) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![pki.cert_der.clone().into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(pki.key_der.clone().into()),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server::default());
    let s = server.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, s) = (acceptor.clone(), s.clone());
            tokio::spawn(async move {
                if implicit_tls {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = session(BufReader::new(tls), true, &s).await;
                    }
                    return;
                }
                let mut plain = BufReader::new(tcp);
                if let Ok(true) = pre_tls(&mut plain, &s).await
                    && let Ok(tls) = acceptor.accept(plain.into_inner()).await
                {
                    let _ = session(BufReader::new(tls), false, &s).await;
                }
            });
        }
    });
    (addr, server)
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.flush().await
}

async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line)
}

/// The plain-text part: greeting, EHLO offering STARTTLS, and STARTTLS.
/// Anything else is refused, AUTH above all. Ok(true) when the client
/// asked for TLS.
async fn pre_tls<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut BufReader<S>,
    s: &Server,
) -> std::io::Result<bool> {
    reply(c.get_mut(), "220 mail.example.gov.cn ESMTP test\r\n").await?;
    loop {
        let line = read_line(c).await?;
        s.cleartext.lock().unwrap().push_str(&line);
        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
        match verb.as_str() {
            "EHLO" => {
                reply(
                    c.get_mut(),
                    "250-mail.example.gov.cn\r\n250-8BITMIME\r\n250 STARTTLS\r\n",
                )
                .await?
            }
            "STARTTLS" => {
                reply(c.get_mut(), "220 2.0.0 Ready to start TLS\r\n").await?;
                return Ok(true);
            }
            "QUIT" => {
                reply(c.get_mut(), "221 bye\r\n").await?;
                return Ok(false);
            }
            _ => {
                reply(
                    c.get_mut(),
                    "530 5.7.0 Must issue a STARTTLS command first\r\n",
                )
                .await?
            }
        }
    }
}

fn b64(s: &str) -> String {
    String::from_utf8(STANDARD.decode(s.trim()).unwrap_or_default()).unwrap_or_default()
}

/// The TLS part (or a whole implicit-TLS session).
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut c: BufReader<S>,
    greet: bool,
    s: &Server,
) -> std::io::Result<()> {
    if greet {
        reply(c.get_mut(), "220 mail.example.gov.cn ESMTP test\r\n").await?;
    }
    let mut mail = Mail::default();
    let mut authed = false;
    let mut greeted = false;
    loop {
        let line = read_line(&mut c).await?;
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("").to_uppercase();
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                reply(
                    c.get_mut(),
                    "250-mail.example.gov.cn\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n",
                )
                .await?
            }
            "AUTH" if greeted => {
                let mech = words.next().unwrap_or("").to_uppercase();
                let (user, pass) = match mech.as_str() {
                    "PLAIN" => {
                        let initial = match words.next() {
                            Some(x) => x.to_string(),
                            None => {
                                reply(c.get_mut(), "334 \r\n").await?;
                                read_line(&mut c).await?
                            }
                        };
                        let decoded = b64(&initial);
                        let parts: Vec<&str> = decoded.split('\0').collect();
                        match parts.as_slice() {
                            [_, u, p] => (u.to_string(), p.to_string()),
                            _ => (String::new(), String::new()),
                        }
                    }
                    "LOGIN" => {
                        reply(c.get_mut(), "334 VXNlcm5hbWU6\r\n").await?;
                        let u = b64(&read_line(&mut c).await?);
                        reply(c.get_mut(), "334 UGFzc3dvcmQ6\r\n").await?;
                        (u, b64(&read_line(&mut c).await?))
                    }
                    _ => (String::new(), String::new()),
                };
                if user == USER && pass == PASSWORD {
                    authed = true;
                    mail.auth = Some((user, pass));
                    reply(c.get_mut(), "235 2.7.0 Authentication successful\r\n").await?;
                } else {
                    reply(
                        c.get_mut(),
                        "535 5.7.8 Authentication credentials invalid\r\n",
                    )
                    .await?;
                }
            }
            "MAIL" if authed => {
                mail.from = line.trim().to_string();
                reply(c.get_mut(), "250 2.1.0 Ok\r\n").await?
            }
            "MAIL" => reply(c.get_mut(), "530 5.7.0 Authentication required\r\n").await?,
            "RCPT" => {
                mail.to.push(line.trim().to_string());
                reply(c.get_mut(), "250 2.1.5 Ok\r\n").await?
            }
            "DATA" => {
                reply(c.get_mut(), "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    let l = read_line(&mut c).await?;
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                mail.data = data;
                s.mails.lock().unwrap().push(std::mem::take(&mut mail));
                reply(c.get_mut(), "250 2.0.0 Ok: queued\r\n").await?
            }
            "RSET" | "NOOP" => reply(c.get_mut(), "250 2.0.0 Ok\r\n").await?,
            "QUIT" => {
                reply(c.get_mut(), "221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => reply(c.get_mut(), "503 5.5.1 Bad sequence of commands\r\n").await?,
        }
    }
}

/// The headers (unfolded) and the body of a message.
fn parse_message(data: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            headers.last_mut().unwrap().1.push_str(line);
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// RFC 2047: decode each `=?utf-8?b?…?=` word; whitespace between encoded
/// words is dropped, as the RFC says.
fn decode_2047(v: &str) -> String {
    let mut bytes = Vec::new();
    for word in v.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            bytes.extend(STANDARD.decode(&word[10..word.len() - 2]).unwrap());
        } else {
            assert!(word.is_ascii(), "raw non-ASCII in a header: {word}");
            if !bytes.is_empty() {
                bytes.push(b' ');
            }
            bytes.extend(word.as_bytes());
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn mail_channel(addr: SocketAddr, tls: SmtpTls, ca: Option<PathBuf>) -> ChannelConfig {
    let mut c = ChannelConfig::new("mail-duty", ChannelKind::Email);
    c.smtp_host = Some("localhost".into());
    c.smtp_port = Some(addr.port());
    c.tls = Some(tls);
    c.username = Some(USER.into());
    c.password = Some(PASSWORD.into());
    c.from = Some("守望 <shouwang@example.gov.cn>".into());
    c.to = vec![
        "值班室 <duty@example.gov.cn>".into(),
        "it@example.gov.cn".into(),
    ];
    c.ca_file = ca;
    c
}

fn config(c: ChannelConfig) -> NotifyConfig {
    NotifyConfig {
        max_attempts: 3,
        backoff_base_ms: 5,
        backoff_max_ms: 20,
        timeout_seconds: 5,
        channels: vec![c],
    }
}

fn write_ca(pki: &Pki) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    (dir, path)
}

fn notice() -> shouwang_notify::Notice {
    let mut n = shouwang_notify::Notice::test(chrono::Utc::now());
    n.kind = NoticeKind::IncidentOpened;
    n.title = "门户网站首页被篡改".into();
    n.level = Some("重大".into());
    n.summary = vec!["首页标题被改为博彩广告，已自动恢复。".into()];
    n
}

#[tokio::test]
async fn starttls_mail_arrives_with_a_chinese_subject_and_body() {
    let pki = pki();
    let (_dir, ca) = write_ca(&pki);
    let (addr, server) = smtp_server(&pki, false).await;
    let n = Notifier::new(&config(mail_channel(addr, SmtpTls::Starttls, Some(ca)))).unwrap();
    let d = n.send(&notice()).await;
    assert_eq!(d[0].status, DeliveryStatus::Sent, "{:?}", d[0]);

    let mails = server.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.auth, Some((USER.to_string(), PASSWORD.to_string())));
    assert!(m.from.contains("<shouwang@example.gov.cn>"), "{}", m.from);
    assert_eq!(m.to.len(), 2, "{:?}", m.to);
    let (headers, body) = parse_message(&m.data);
    assert_eq!(
        decode_2047(header(&headers, "subject")),
        "【守望】新发生网络安全事件：[重大] 门户网站首页被篡改"
    );
    assert!(header(&headers, "content-type").contains("charset=utf-8"));
    assert_eq!(header(&headers, "content-transfer-encoding"), "base64");
    let text = String::from_utf8(STANDARD.decode(body.replace("\r\n", "")).unwrap()).unwrap();
    assert!(text.contains("门户网站首页被篡改"), "{text}");
    assert!(text.contains("事件级别：重大"), "{text}");
    assert!(
        text.contains("· 首页标题被改为博彩广告，已自动恢复。"),
        "{text}"
    );
    // Before TLS, only EHLO and STARTTLS.
    let clear = server.cleartext.lock().unwrap().clone();
    assert!(!clear.contains("AUTH"), "{clear}");
}

#[tokio::test]
async fn implicit_tls_works_too() {
    let pki = pki();
    let (_dir, ca) = write_ca(&pki);
    let (addr, server) = smtp_server(&pki, true).await;
    let n = Notifier::new(&config(mail_channel(addr, SmtpTls::Tls, Some(ca)))).unwrap();
    let r = n.send_test("mail-duty").await.unwrap();
    assert_eq!(r.status, DeliveryStatus::Sent, "{r:?}");
    assert_eq!(server.mails.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_without_retrying() {
    let pki = pki();
    let (addr, server) = smtp_server(&pki, false).await;
    // No ca_file: the system's roots do not know the test CA.
    let n = Notifier::new(&config(mail_channel(addr, SmtpTls::Starttls, None))).unwrap();
    let r = n.send_test("mail-duty").await.unwrap();
    let e = r.error().expect("an unknown CA must be refused");
    assert!(
        e.contains("invalid peer certificate: UnknownIssuer")
            && !e.contains("Connection error: Connection error"),
        "{e}"
    );
    assert_eq!(r.attempts, 1, "{e}");
    assert!(server.mails.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_password_fails_at_once_and_is_not_shown() {
    let pki = pki();
    let (_dir, ca) = write_ca(&pki);
    let (addr, server) = smtp_server(&pki, false).await;
    let mut c = mail_channel(addr, SmtpTls::Starttls, Some(ca));
    let wrong = "not-the-password-42";
    c.password = Some(wrong.into());
    let n = Notifier::new(&config(c)).unwrap();
    let r = n.send_test("mail-duty").await.unwrap();
    let e = r.error().unwrap();
    assert!(e.contains("535"), "{e}");
    assert!(!e.contains(wrong), "{e}");
    assert_eq!(r.attempts, 1);
    assert!(server.mails.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_on() {
    // Accepts connections and says nothing, not even the greeting.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let mut cfg = config(mail_channel(addr, SmtpTls::Tls, None));
    cfg.timeout_seconds = 1;
    cfg.max_attempts = 2;
    let n = Notifier::new(&cfg).unwrap();
    let started = std::time::Instant::now();
    let r = n.send_test("mail-duty").await.unwrap();
    assert!(r.error().is_some(), "{r:?}");
    assert_eq!(r.attempts, 2);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
