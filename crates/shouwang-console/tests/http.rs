//! The console over real HTTP: login, roles, CSRF, lockout, API, metrics.

mod common;

use common::*;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use shouwang_console::ConsoleConfig;
use shouwang_model::FindingStatus;
use shouwang_store::{Store, TokenScope};

fn client() -> reqwest::Client {
    browser_like_client()
}

/// Log in through the form, as a browser does, asking to go to /findings.
async fn login(c: &reqwest::Client, base: &str, user: &str, pw: &str) -> reqwest::Response {
    submit_login(c, base, user, pw, Some("/findings")).await
}

#[tokio::test]
async fn pages_need_a_login_and_the_api_needs_a_token() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    let r = c
        .get(format!("{}/findings", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Ffindings");
    let r = c
        .get(format!("{}/api/v1/findings", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(format!("{}/api/v1/findings", con.base))
        .bearer_auth("sw_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_rotates_the_session() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    let r = login(&c, &con.base, "admin", ADMIN_PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/findings");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("sw_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let first = cookie.split(';').next().unwrap().to_string();

    let (status, body) = page(&c, format!("{}/", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("安全总览"), "Chinese by default");
    assert!(body.contains("admin"));

    // A login that arrives with a session cookie (one planted by an
    // attacker, or an old one) gets a new session id; the old id is dropped.
    let raw = http_client_builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let r = raw.get(format!("{}/login", con.base)).send().await.unwrap();
    let prelogin = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|v| v.starts_with("sw_prelogin="))
        .unwrap();
    let csrf = csrf_of(&r.text().await.unwrap());
    let r = raw
        .post(format!("{}/login", con.base))
        .header("cookie", format!("{prelogin}; {first}"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PW),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("sw_session="))
        .unwrap();
    let second = second.split(';').next().unwrap().to_string();
    assert_ne!(first, second);
    let r = raw
        .get(format!("{}/", con.base))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the pre-login session id is dead"
    );
    let r = raw
        .get(format!("{}/", con.base))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let audit = con.store.recent_audit(10).unwrap();
    assert!(audit.iter().filter(|e| e.action == "user.login").count() >= 2);
}

#[tokio::test]
async fn operator_changes_a_finding_only_with_the_csrf_token() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    login(&c, &con.base, "operator", OPERATOR_PW).await;
    let id = finding_id(&*con.store, "host.ssh.permit-root-login");
    let (_, html) = page(&c, format!("{}/findings", con.base)).await;
    let csrf = csrf_of(&html);
    // Assets by what they are, in words, not the stored `website:` form.
    assert!(
        html.contains("网站 https:&#x2f;&#x2f;www.example.gov.cn")
            || html.contains("网站 https://www.example.gov.cn"),
        "{html}"
    );
    assert!(
        html.contains("主机 office-pc-01") && !html.contains("website:http"),
        "{html}"
    );

    let r = c
        .post(format!("{}/findings/{id}/status", con.base))
        .form(&[("status", "resolved")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no token");
    let r = c
        .post(format!("{}/findings/{id}/status", con.base))
        .form(&[("status", "resolved"), ("csrf", "0000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "wrong token");
    assert_eq!(
        con.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Open
    );

    let r = c
        .post(format!("{}/findings/{id}/status", con.base))
        .form(&[("status", "resolved"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        con.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Resolved
    );
    let last = con.store.recent_audit(1).unwrap().remove(0);
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("operator", "finding.status")
    );
    assert!(last.details.contains("resolved"));
    assert!(con.store.verify_audit().unwrap().is_intact());
}

#[tokio::test]
async fn auditor_reads_but_cannot_change() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    login(&c, &con.base, "auditor", AUDITOR_PW).await;
    let id = finding_id(&*con.store, "host.ssh.permit-root-login");
    let (status, html) = page(&c, format!("{}/findings", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("SSH 允许 root 直接登录"));
    assert!(
        !html.contains("status-form"),
        "no status form for an auditor"
    );
    let csrf = csrf_of(&html);
    let r = c
        .post(format!("{}/findings/{id}/status", con.base))
        .form(&[("status", "accepted-risk"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        con.store.finding(id).unwrap().unwrap().status,
        FindingStatus::Open
    );
    let (status, _) = page(&c, format!("{}/users", con.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, audit) = page(&c, format!("{}/audit", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.contains("哈希链校验通过"));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_are_audited() {
    let config = ConsoleConfig {
        max_failed_logins: 3,
        ..Default::default()
    };
    let con = spawn(config).await;
    let c = client();
    for _ in 0..2 {
        let r = login(&c, &con.base, "operator", "Wrong-pass-1").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    }
    let r = login(&c, &con.base, "operator", "Wrong-pass-1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Now even the right password is refused until the lock expires.
    let r = login(&c, &con.base, "operator", OPERATOR_PW).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("已锁定"));
    let actions: Vec<String> = con
        .store
        .recent_audit(20)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"user.lockout".to_string()), "{actions:?}");
    assert!(
        actions.contains(&"user.login.locked".to_string()),
        "{actions:?}"
    );
    // An unknown user gets the same answer as a wrong password.
    let r = login(&c, &con.base, "nobody", "Wrong-pass-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_sees_the_lock_and_ends_it_and_the_audit_log_reads_in_chinese_with_the_address() {
    let config = ConsoleConfig {
        max_failed_logins: 2,
        ..Default::default()
    };
    let con = spawn(config).await;
    let c = client();
    let r = login(&c, &con.base, "operator", "Wrong-pass-1").await;
    assert!(
        r.text().await.unwrap().contains("还可尝试 1 次"),
        "the page says how many tries are left"
    );
    let r = login(&c, &con.base, "operator", "Wrong-pass-1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    let admin = client();
    login(&admin, &con.base, "admin", ADMIN_PW).await;
    let (_, html) = page(&admin, format!("{}/users", con.base)).await;
    assert!(
        html.contains("锁定至") && html.contains("北京时间"),
        "{html}"
    );
    assert!(html.contains("operator/unlock\""), "an unlock button");
    let csrf = csrf_of(&html);
    let r = admin
        .post(format!("{}/users/operator/unlock", con.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.text().await.unwrap().contains("锁定至"));
    // The right password works at once, and it was not changed.
    let r = login(&c, &con.base, "operator", OPERATOR_PW).await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(r.status(), StatusCode::UNAUTHORIZED);

    let (_, audit) = page(&admin, format!("{}/audit", con.base)).await;
    for words in [
        "登录失败",
        "原因：密码错误",
        "连续失败次数：2",
        "解除登录锁定",
        "127.0.0.1",
        "条记录，哈希链完整",
    ] {
        assert!(
            audit.contains(words),
            "the audit page lacks {words}: {audit}"
        );
    }
    let shown: String = audit
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("title=\"")
        .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
        .collect();
    for raw in [
        "user.login.failed",
        "wrong password",
        "\"failures\"",
        "user.unlock",
    ] {
        assert!(!shown.contains(raw), "the audit page shows {raw}");
    }
}

#[tokio::test]
async fn parallel_wrong_guesses_lock_the_account_at_the_limit() {
    let config = ConsoleConfig {
        max_failed_logins: 3,
        ..Default::default()
    };
    let con = spawn(config).await;
    // Each guess from a client of its own, all at once: the lock must be
    // decided on the count as it stands when each guess is judged, not as
    // it stood before the slow password hash.
    let guesses = (0..24).map(|i| {
        let base = con.base.clone();
        tokio::spawn(async move {
            let c = client();
            login(&c, &base, "operator", &format!("Wrong-pass-{i}"))
                .await
                .status()
        })
    });
    let mut unauthorized = 0;
    for g in guesses.collect::<Vec<_>>() {
        match g.await.unwrap() {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("a wrong guess answered {other}"),
        }
    }
    assert!(
        unauthorized <= 2,
        "{unauthorized} wrong guesses were judged against a limit of 3"
    );
    let r = login(&client(), &con.base, "operator", OPERATOR_PW).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password after the guesses"
    );
}

#[tokio::test]
async fn login_form_needs_its_own_token() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    let r = c
        .post(format!("{}/login", con.base))
        .form(&[("username", "admin"), ("password", ADMIN_PW), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_time_password_must_be_changed_first() {
    let con = spawn(ConsoleConfig::default()).await;
    let store = con.store.clone();
    tokio::task::spawn_blocking(move || {
        shouwang_console::accounts::add_user(
            &*store,
            "test",
            "newbie",
            shouwang_store::Role::Operator,
            "Temp-pass-2026",
            true,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let c = client();
    login(&c, &con.base, "newbie", "Temp-pass-2026").await;
    let r = c
        .get(format!("{}/findings", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/account/password");
    let (_, html) = page(&c, format!("{}/account/password", con.base)).await;
    let csrf = csrf_of(&html);
    let weak = c
        .post(format!("{}/account/password", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", "Temp-pass-2026"),
            ("new", "short"),
            ("confirm", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let body = weak.text().await.unwrap();
    assert!(body.contains("密码少于 8 个字符"), "{body}");
    assert!(
        !body.contains("fewer than"),
        "no English on the Chinese page"
    );
    let named = c
        .post(format!("{}/account/password", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", "Temp-pass-2026"),
            ("new", "Newbie-2026!"),
            ("confirm", "Newbie-2026!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), StatusCode::BAD_REQUEST);
    assert!(named.text().await.unwrap().contains("密码含有用户名"));
    let r = c
        .post(format!("{}/account/password", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", "Temp-pass-2026"),
            ("new", "Better-pass-2026"),
            ("confirm", "Better-pass-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&c, format!("{}/findings", con.base)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still logged in, no longer redirected"
    );
}

#[tokio::test]
async fn api_token_reads_and_operator_token_writes() {
    let con = spawn(ConsoleConfig::default()).await;
    let store = con.store.clone();
    let (op, aud) = tokio::task::spawn_blocking(move || {
        (
            token_for(&*store, "operator", TokenScope::Operate),
            token_for(&*store, "auditor", TokenScope::Read),
        )
    })
    .await
    .unwrap();
    let c = client();
    let r = c
        .get(format!("{}/api/v1/findings?status=open", con.base))
        .bearer_auth(&aud)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: serde_json::Value = r.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["severity"], "critical", "most severe first");

    let id = finding_id(&*con.store, "site.broken-link");
    let url = format!("{}/api/v1/findings/{id}/status", con.base);
    let body = serde_json::json!({ "status": "accepted-risk" });
    let r = c
        .post(&url)
        .bearer_auth(&aud)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(&url)
        .bearer_auth(&op)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        con.store.finding(id).unwrap().unwrap().status,
        FindingStatus::AcceptedRisk
    );
    let r = c
        .post(&url)
        .bearer_auth(&op)
        .json(&serde_json::json!({"status": "bogus"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = c
        .get(format!("{}/api/v1/audit", con.base))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "operators do not read the audit API"
    );
    let r = c
        .get(format!("{}/api/v1/audit", con.base))
        .bearer_auth(&aud)
        .send()
        .await
        .unwrap();
    let entries: serde_json::Value = r.json().await.unwrap();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "finding.status")
    );
}

#[tokio::test]
async fn health_metrics_and_headers() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    let r = c.get(format!("{}/healthz", con.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(format!("{}/metrics", con.base)).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains("shouwang_open_findings{sensor=\"host\",severity=\"critical\"} 1"),
        "{text}"
    );
    assert!(text.contains("shouwang_events 1"), "{text}");
    let r = c.get(format!("{}/login", con.base)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'none'"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn english_on_request() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    login(&c, &con.base, "admin", ADMIN_PW).await;
    let r = c
        .get(format!("{}/lang/en?next=/findings", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/findings");
    let (_, html) = page(&c, format!("{}/findings", con.base)).await;
    assert!(
        html.contains("Empty password") || html.contains("Account with an empty password"),
        "{html}"
    );
    assert!(html.contains("Findings"));
    let r = c
        .get(format!("{}/lang/en?next=//evil.example/", con.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/", "no open redirect");
}

#[tokio::test]
async fn a_next_link_that_a_browser_would_read_as_another_site_goes_home() {
    let con = spawn(ConsoleConfig::default()).await;
    let c = client();
    // Browsers drop tabs and newlines inside a URL, so `/\t/host` is
    // `//host` to them; a backslash reads as a slash; a non-ASCII path
    // cannot stand in a Location header at all.
    for next in [
        "/%09/127.0.0.2:9999/pwned",
        "/%0a/127.0.0.2:9999/",
        "/%0d%0a/127.0.0.2/",
        "/%5C127.0.0.2/",
        "/%20/127.0.0.2/",
        "/%E4%B8%AD",
        "https://127.0.0.2/",
    ] {
        let r = c
            .get(format!("{}/lang/en?next={next}", con.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
}

#[tokio::test]
async fn admin_manages_users_and_disabling_ends_sessions() {
    let con = spawn(ConsoleConfig::default()).await;
    let admin = client();
    login(&admin, &con.base, "admin", ADMIN_PW).await;
    let op = client();
    login(&op, &con.base, "operator", OPERATOR_PW).await;
    let (status, _) = page(&op, format!("{}/", con.base)).await;
    assert_eq!(status, StatusCode::OK);

    let (_, html) = page(&admin, format!("{}/users", con.base)).await;
    let csrf = csrf_of(&html);
    let r = admin
        .post(format!("{}/users", con.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "李四"),
            ("role", "auditor"),
            ("password", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("class=\"secret\""),
        "a generated password is shown once"
    );
    let r = admin
        .post(format!("{}/users/operator/disable", con.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = op.get(format!("{}/", con.base)).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the disabled operator is logged out"
    );
    let u = con.store.user_by_name("李四").unwrap().unwrap();
    assert!(u.must_change_password);
}

/// Set in the child that serves the console for the memory test.
const SERVE_ONLY: &str = "SHOUWANG_TEST_SERVE_ONLY";

/// The peak resident size (VmHWM) of a process, in KiB, while it lives.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_logins_for_unknown_users_is_refused_in_part_and_stays_small() {
    if std::env::var_os(SERVE_ONLY).is_some() {
        // The child: serve until the parent closes our standard input.
        let con = spawn(ConsoleConfig::default()).await;
        println!("BASE {}", con.base);
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
        })
        .await
        .unwrap();
        return;
    }
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_burst_of_logins_for_unknown_users_is_refused_in_part_and_stays_small",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SERVE_ONLY, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        // The test harness may print the test's name on the same line.
        .find_map(|l| l.split_once("BASE ").map(|(_, b)| b.trim().to_owned()))
        .expect("the child prints where it serves");
    // Hashing is sized from the cores; the burst must be well beyond it.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let burst = (6 * workers).max(100);
    // Every client fetches its form first, then all post at once.
    let mut ready = Vec::new();
    for _ in 0..burst {
        let c = client();
        let form = c.get(format!("{base}/login")).send().await.unwrap();
        let csrf = csrf_of(&form.text().await.unwrap());
        ready.push((c, csrf));
    }
    let posts = ready.into_iter().enumerate().map(|(i, (c, csrf))| {
        let url = format!("{base}/login");
        tokio::spawn(async move {
            let name = format!("nobody-{i}");
            let form = [
                ("username", name.as_str()),
                ("password", "Wrong-pass-1"),
                ("csrf", &csrf),
            ];
            let r = c.post(url).form(&form).send().await.unwrap();
            let status = r.status();
            let retry = r.headers().get("retry-after").is_some();
            (status, retry, r.text().await.unwrap())
        })
    });
    let answers = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        futures_join(posts.collect()),
    )
    .await
    .expect("every login of the burst is answered");
    let mut busy = 0;
    for (status, retry, body) in &answers {
        match *status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                busy += 1;
                assert!(retry, "a refused login says when to retry");
                assert!(body.contains("同时校验的密码过多"), "{body}");
            }
            other => panic!("a login of the burst answered {other}"),
        }
    }
    let mut peak = peak_kib(pid).unwrap_or(0);
    drop(child.stdin.take());
    while child.try_wait().unwrap().is_none() {
        peak = peak_kib(pid).unwrap_or(peak);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // 19 MiB per hash at once, and room for the console itself.
    let budget_kib = (160 + 24 * workers as u64) * 1024;
    assert!(
        peak < budget_kib,
        "the console peaked at {} MiB for {burst} logins at once (budget {} MiB)",
        peak / 1024,
        budget_kib / 1024
    );
    assert!(busy > 0, "none of {burst} logins at once was refused");
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The error a login page shows, as a person reads it.
fn login_error(page: &str) -> String {
    let Some(i) = page.find("id=\"login-error\">") else {
        return String::new();
    };
    let rest = &page[i + "id=\"login-error\">".len()..];
    rest[..rest.find('<').unwrap_or(rest.len())].to_string()
}

#[tokio::test]
async fn an_unknown_name_gets_the_same_answers_as_a_real_one_up_to_the_lock() {
    let config = ConsoleConfig {
        max_failed_logins: 3,
        ..Default::default()
    };
    let con = spawn(config).await;
    let mut seen = Vec::new();
    for name in ["operator", "nobody"] {
        let c = client();
        let mut answers = Vec::new();
        for _ in 0..4 {
            let r = login(&c, &con.base, name, "Wrong-pass-1").await;
            answers.push((r.status(), login_error(&r.text().await.unwrap())));
        }
        seen.push(answers);
    }
    let (real, unknown) = (&seen[0], &seen[1]);
    assert_eq!(unknown, real, "an unknown name answers unlike a real one");
    assert_eq!(real[0].0, StatusCode::UNAUTHORIZED);
    assert!(real[0].1.contains("还可尝试 2 次"), "{:?}", real[0]);
    assert!(real[1].1.contains("还可尝试 1 次"), "{:?}", real[1]);
    for (status, message) in &real[2..] {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        assert!(message.contains("请 15 分钟后再试"), "{message}");
    }
    // The right password of a locked name is refused the same way.
    let r = login(&client(), &con.base, "operator", OPERATOR_PW).await;
    assert_eq!(
        (r.status(), login_error(&r.text().await.unwrap())),
        real[3].clone()
    );
}

/// A new API token of `user` with `scope`, for 90 days.
fn token_for(store: &dyn Store, user: &str, scope: TokenScope) -> String {
    let grant = shouwang_console::accounts::TokenGrant {
        label: "ci".into(),
        scope,
        days: 90,
    };
    shouwang_console::accounts::create_api_token(store, "test", user, &grant).unwrap()
}

#[tokio::test]
async fn a_token_does_only_what_its_scope_allows_and_ends_with_a_new_password() {
    let con = spawn(ConsoleConfig::default()).await;
    let store = con.store.clone();
    let (read, operate, admin) = tokio::task::spawn_blocking(move || {
        (
            token_for(&*store, "admin", TokenScope::Read),
            token_for(&*store, "admin", TokenScope::Operate),
            token_for(&*store, "admin", TokenScope::Admin),
        )
    })
    .await
    .unwrap();
    let c = client();
    let id = finding_id(&*con.store, "site.broken-link");
    let status_url = format!("{}/api/v1/findings/{id}/status", con.base);
    let body = serde_json::json!({ "status": "accepted-risk" });
    let post_status = |token: &str| c.post(&status_url).bearer_auth(token).json(&body).send();
    let new_admin = [
        ("name", "mallory"),
        ("role", "admin"),
        ("password", "Brand-New-Eye-9"),
    ];
    let add_user = |token: &str| {
        c.post(format!("{}/users", con.base))
            .bearer_auth(token)
            .form(&new_admin)
            .send()
    };
    let mint = |token: &str| {
        c.post(format!("{}/users/tokens", con.base))
            .bearer_auth(token)
            .form(&[("user", "admin"), ("scope", "admin"), ("days", "30")])
            .send()
    };

    let r = c
        .get(format!("{}/api/v1/findings", con.base))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a read token reads");
    let r = post_status(&read).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a read token posts nothing"
    );
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error_zh"].as_str().unwrap().contains("只能读取"),
        "{said}"
    );
    for token in [&read, &operate] {
        assert_eq!(
            add_user(token).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(mint(token).await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        post_status(&operate).await.unwrap().status(),
        StatusCode::OK
    );
    assert!(con.store.user_by_name("mallory").unwrap().is_none());
    let r = mint(&admin).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "an admin token mints tokens");
    assert!(r.text().await.unwrap().contains("sw_"));
    let tokens = con.store.api_tokens(None).unwrap();
    assert_eq!(tokens.len(), 4);
    assert!(tokens.iter().all(|t| t.expires_at > chrono::Utc::now()));
    let actions: Vec<String> = con
        .store
        .recent_audit(50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "token.create").count(), 4);

    // A new password ends every token of the user; a user who must change
    // the password is told so.
    let store = con.store.clone();
    let must_change = tokio::task::spawn_blocking(move || {
        shouwang_console::accounts::set_password(
            &*store,
            "test",
            "admin",
            "Fresh-Tower-2027",
            true,
        )
        .unwrap();
        token_for(&*store, "admin", TokenScope::Read)
    })
    .await
    .unwrap();
    for token in [&read, &operate, &admin] {
        let r = c
            .get(format!("{}/api/v1/status", con.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "a token of the old password"
        );
    }
    let r = c
        .get(format!("{}/api/v1/status", con.base))
        .bearer_auth(&must_change)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error_zh"]
            .as_str()
            .unwrap()
            .contains("须先在控制台修改密码"),
        "{said}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_revoked_one_is_gone() {
    let con = spawn(ConsoleConfig::default()).await;
    let store = con.store.clone();
    let (expired, revoked) = tokio::task::spawn_blocking(move || {
        let secret = shouwang_console::accounts::generate_token();
        let user = store.user_by_name("auditor").unwrap().unwrap();
        let hash = shouwang_console::accounts::token_hash(&secret);
        store
            .audited(|tx| {
                tx.create_api_token(&shouwang_store::NewApiToken {
                    user_id: user.id,
                    name: "old".into(),
                    token_hash: hash,
                    scope: TokenScope::Read,
                    expires_at: chrono::Utc::now() - chrono::Duration::minutes(1),
                })?;
                tx.audit(&shouwang_store::NewAuditEntry::new(
                    "test",
                    "token.create",
                    "auditor",
                    serde_json::Value::Null,
                ))
            })
            .unwrap();
        let revoked = token_for(&*store, "auditor", TokenScope::Read);
        let id = store.api_tokens(None).unwrap().last().unwrap().id;
        shouwang_console::accounts::revoke_api_token(&*store, "test", id).unwrap();
        (secret, revoked)
    })
    .await
    .unwrap();
    let c = client();
    let get = |token: &str| {
        c.get(format!("{}/api/v1/status", con.base))
            .bearer_auth(token)
            .send()
    };
    let r = get(&expired).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error_zh"].as_str().unwrap().contains("过期"),
        "{said}"
    );
    assert_eq!(
        get(&revoked).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let last = con.store.recent_audit(1).unwrap().remove(0);
    assert_eq!(last.action, "token.revoke");
}

/// An address of this machine other than loopback, if it has one: the one
/// it would send from (a UDP connect sends nothing).
fn lan_address() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("192.0.2.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn metrics_from_another_machine_need_a_token() {
    let Some(ip) = lan_address() else {
        eprintln!("SKIPPED: this machine has no address but loopback");
        return;
    };
    let con = spawn_at(ConsoleConfig::default(), std::net::SocketAddr::new(ip, 0)).await;
    let c = client();
    let r = c.get(format!("{}/metrics", con.base)).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(
        text.contains("需要API令牌") && !text.contains("shouwang_users"),
        "{text}"
    );
    let store = con.store.clone();
    let token =
        tokio::task::spawn_blocking(move || token_for(&*store, "auditor", TokenScope::Read))
            .await
            .unwrap();
    let r = c
        .get(format!("{}/metrics", con.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("shouwang_users 3"));
}

#[tokio::test]
async fn metrics_set_to_token_are_refused_even_from_this_machine() {
    let config = ConsoleConfig {
        metrics: shouwang_console::MetricsAccess::Token,
        ..Default::default()
    };
    let con = spawn(config).await;
    let c = client();
    let r = c.get(format!("{}/metrics", con.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = logged_in(&con.base, "auditor", AUDITOR_PW).await;
    let (status, text) = page(&c, format!("{}/metrics", con.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("shouwang_console_logins_total"), "{text}");
}

#[tokio::test]
async fn a_megabyte_long_user_name_is_refused_and_kept_short_in_the_audit_log() {
    let con = spawn(ConsoleConfig::default()).await;
    let name = "x".repeat(1 << 20);
    let r = login(&client(), &con.base, &name, "Wrong-pass-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let last = con.store.recent_audit(1).unwrap().remove(0);
    assert_eq!(last.action, "user.login.failed");
    assert!(
        last.target.len() <= 65 && last.actor.len() <= 65,
        "{}",
        last.target.len()
    );
}

/// Which checklist steps the dashboard shows as done, in order.
fn steps_done(html: &str) -> Vec<bool> {
    let Some(list) = html.split("<ol class=\"checklist\">").nth(1) else {
        return Vec::new();
    };
    let list = list.split("</ol>").next().unwrap();
    list.split("<li class=\"")
        .skip(1)
        .map(|li| li.starts_with("done"))
        .collect()
}

#[tokio::test]
async fn the_first_run_checklist_ticks_itself_off_from_what_is_recorded_and_then_goes() {
    // A channel in the config file counts as set up.
    let mut duty =
        shouwang_notify::ChannelConfig::new("值班群", shouwang_notify::ChannelKind::Wecom);
    duty.key = Some("wecom-key-0123456789".into());
    let config = ConsoleConfig {
        notify: shouwang_notify::NotifyConfig {
            channels: vec![duty],
            ..Default::default()
        },
        ..Default::default()
    };
    let con = spawn(config).await;
    let c = client();
    login(&c, &con.base, "admin", ADMIN_PW).await;
    let (_, html) = page(&c, format!("{}/", con.base)).await;
    assert!(
        html.contains("开始使用") && html.contains("填写单位信息"),
        "{html}"
    );
    assert_eq!(steps_done(&html), [false, false, false, true, false]);

    // Done elsewhere (the CLI, the config): the page still sees it.
    let store = con.store.clone();
    let data = con.data.clone();
    tokio::task::spawn_blocking(move || {
        let profile = shouwang_model::UnitProfile {
            name: "某某镇人民政府".into(),
            security_officer: shouwang_model::Person {
                name: "张三".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        store
            .audited(|tx| {
                tx.set_setting(
                    shouwang_store::UNIT_PROFILE_SETTING,
                    &serde_json::to_value(&profile).unwrap(),
                )?;
                tx.audit(&shouwang_store::NewAuditEntry::new(
                    "admin",
                    "unit.profile",
                    "某某镇人民政府",
                    serde_json::Value::Null,
                ))
            })
            .unwrap();
        store
            .upsert_asset(&shouwang_model::Asset {
                id: shouwang_model::AssetRef::new(
                    shouwang_model::AssetKind::Website,
                    "http://www.example.gov.cn/",
                ),
                name: String::new(),
                details: serde_json::Value::Null,
            })
            .unwrap();
        let www = data.join("www");
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), "<h1>首页</h1>").unwrap();
        shouwang_guard::GuardDir::open(&data)
            .unwrap()
            .seal(&www, &shouwang_guard::SealOptions::default())
            .unwrap();
    })
    .await
    .unwrap();
    let (_, html) = page(&c, format!("{}/", con.base)).await;
    assert_eq!(steps_done(&html), [true, true, true, true, false]);

    // A report taken: every step is done, and the list is gone.
    con.store
        .record_action(&shouwang_store::NewAuditEntry::new(
            "admin",
            "report.selfcheck",
            "2026-01-01..2026-03-31",
            serde_json::Value::Null,
        ))
        .unwrap();
    let (_, html) = page(&c, format!("{}/", con.base)).await;
    assert!(!html.contains("开始使用"), "{html}");
    assert!(html.contains("安全总览"));
}
