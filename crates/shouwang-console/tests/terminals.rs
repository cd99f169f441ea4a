//! A terminal joins its unit server and reports, over the console's TLS:
//! a token made on the server, `shouwang_terminal::agent` on the PC side
//! (trusting the server only through the token's pin), the credential it
//! gets, reports counted once, and each refusal saying which it is.

mod common;

use chrono::Duration;
use common::*;
use shouwang_console::{ConsoleConfig, TlsSetting};
use shouwang_host::{Root, RuleSet};
use shouwang_store::FindingFilter;
use shouwang_terminal::agent::{self, AgentError, Taken};
use shouwang_terminal::{Body, Refusal, Report};

async fn console() -> Console {
    let config = ConsoleConfig {
        tls: TlsSetting::On,
        ..ConsoleConfig::default()
    };
    spawn_serving(config, "127.0.0.1:0".parse().unwrap(), true).await
}

fn token(con: &Console, name: &str, ttl: Duration) -> String {
    shouwang_console::terminals::create_token(&*con.store, &con.data, "某县", name, ttl, "admin")
        .unwrap()
        .text
}

/// An office PC's disk, as the agent's `--root` reads it.
fn pc_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w("etc/hostname", "PC-ZHANG\n");
    w(
        "etc/os-release",
        "NAME=\"Kylin\"\nVERSION_ID=\"V10\"\nPRETTY_NAME=\"Kylin V10 SP1\"\nID=kylin\n",
    );
    d
}

#[tokio::test]
async fn a_pc_enrolls_with_a_token_and_its_check_and_inventory_reach_the_server() {
    let con = console().await;
    let text = token(&con, "办公室-张三", Duration::hours(24));
    let state = agent::enroll(&con.base, &text, "PC-ZHANG", "Kylin V10 SP1", "terminal")
        .await
        .unwrap();
    assert!(state.credential.starts_with("swc1."));

    let root = pc_root();
    let root = Root::offline(root.path().to_path_buf());
    let rules = RuleSet::embedded().unwrap();
    let run = shouwang_host::run(&root, "terminal", &rules.profile("terminal").unwrap());
    let inventory = shouwang_host::inventory::collect(&root);
    let client = agent::client(&state).unwrap();
    let check = Report::new(&state.terminal, 1, Body::HostCheck { run: Box::new(run) });
    let inv = Report::new(
        &state.terminal,
        2,
        Body::Inventory {
            inventory: Box::new(inventory),
        },
    );
    assert_eq!(
        agent::send(&client, &state, &check).await.unwrap(),
        Taken::Recorded
    );
    // The answer was lost and the agent sends it again: counted once.
    assert_eq!(
        agent::send(&client, &state, &check).await.unwrap(),
        Taken::Duplicate
    );
    assert_eq!(
        agent::send(&client, &state, &inv).await.unwrap(),
        Taken::Recorded
    );

    let store = con.store.clone();
    let id = state.terminal.clone();
    let (terminal, findings) = tokio::task::spawn_blocking(move || {
        (
            store.terminal(&id).unwrap().unwrap(),
            store.findings(&FindingFilter::default()).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(terminal.hostname, "PC-ZHANG");
    assert!(terminal.last_seen.is_some());
    let inventory = terminal.inventory.expect("the inventory is kept");
    assert_eq!(inventory["hostname"], "PC-ZHANG", "{inventory}");
    // USB storage is allowed on this PC (no modprobe rule): the finding is
    // the terminal's, under its enrolled name
    // and id, not under a name the report could choose.
    let asset = format!("PC-ZHANG（{}）", state.terminal);
    assert!(
        findings
            .iter()
            .any(|f| f.asset.locator == asset && f.provenance.check == "usb.storage-disabled"),
        "{:?}",
        findings
            .iter()
            .map(|f| (&f.asset.locator, &f.provenance.check))
            .collect::<Vec<_>>()
    );
    let log = con.store.recent_audit(20).unwrap();
    assert!(log.iter().any(|e| e.action == "terminal.enroll"));
    assert!(log.iter().any(|e| e.action == "terminal.token.create"));
}

#[tokio::test]
async fn a_used_expired_or_revoked_token_and_a_revoked_terminal_are_refused_saying_which() {
    let con = console().await;
    let text = token(&con, "一次", Duration::hours(1));
    let state = agent::enroll(&con.base, &text, "PC-1", "Windows 10", "terminal")
        .await
        .unwrap();
    let again = agent::enroll(&con.base, &text, "PC-2", "Windows 10", "terminal").await;
    match again {
        Err(AgentError::Refused(Refusal::TokenUsed { .. })) => {}
        other => panic!("{other:?}"),
    }
    let msg = again.unwrap_err().to_string();
    assert!(
        msg.contains("已于") && msg.contains("使用过") && msg.contains("北京时间"),
        "{msg}"
    );

    // Revoked before use.
    let made = shouwang_console::terminals::create_token(
        &*con.store,
        &con.data,
        "某县",
        "作废",
        Duration::hours(1),
        "admin",
    )
    .unwrap();
    shouwang_console::terminals::revoke_token(&*con.store, made.record.id, "admin")
        .unwrap()
        .unwrap();
    match agent::enroll(&con.base, &made.text, "PC-3", "Windows 7", "terminal").await {
        Err(AgentError::Refused(Refusal::TokenRevoked { .. })) => {}
        other => panic!("{other:?}"),
    }
    // A token typed wrong by one character is unknown to the server (or
    // fails its own check), never accepted.
    let mut typo = text.clone().into_bytes();
    let i = 8;
    typo[i] = if typo[i] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(
        agent::enroll(&con.base, &typo, "PC-4", "UOS", "terminal")
            .await
            .is_err()
    );

    // A revoked terminal's reports are refused as revoked.
    shouwang_console::terminals::revoke_terminal(&*con.store, &state.terminal, "admin")
        .unwrap()
        .unwrap();
    let client = agent::client(&state).unwrap();
    let r = Report::new(&state.terminal, 1, Body::Usb { events: vec![] });
    match agent::send(&client, &state, &r).await {
        Err(AgentError::Refused(Refusal::CredentialRevoked { .. })) => {}
        other => panic!("{other:?}"),
    }
    // And a credential made up is unknown.
    let mut forged = state.clone();
    forged.credential = shouwang_terminal::enroll::Credential::generate(&state.terminal).encode();
    match agent::send(&client, &forged, &r).await {
        Err(AgentError::Refused(Refusal::UnknownCredential)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_agent_refuses_a_server_its_token_does_not_name() {
    let ours = console().await;
    let other = console().await;
    // A token of `other`'s CA, sent to `ours`: the pin does not match.
    let text = token(&other, "别处", Duration::hours(1));
    match agent::enroll(&ours.base, &text, "PC", "UOS", "terminal").await {
        Err(AgentError::Trust(shouwang_terminal::trust::TrustError::WrongServer { .. })) => {}
        other => panic!("{other:?}"),
    }
    // Nothing was enrolled on either.
    assert!(ours.store.terminals().unwrap().is_empty());
    assert!(other.store.terminals().unwrap().is_empty());
}

#[tokio::test]
async fn a_report_of_another_terminal_or_beyond_its_bounds_is_refused() {
    let con = console().await;
    let a = agent::enroll(
        &con.base,
        &token(&con, "a", Duration::hours(1)),
        "A",
        "x",
        "terminal",
    )
    .await
    .unwrap();
    let b = agent::enroll(
        &con.base,
        &token(&con, "b", Duration::hours(1)),
        "B",
        "x",
        "terminal",
    )
    .await
    .unwrap();
    let client = agent::client(&a).unwrap();
    // A's credential, B's name in the report.
    let r = Report::new(&b.terminal, 1, Body::Usb { events: vec![] });
    match agent::send(&client, &a, &r).await {
        Err(AgentError::Server { status: 400, .. }) => {}
        other => panic!("{other:?}"),
    }
    // More than the byte budget: refused before it is read.
    let big = vec![b' '; shouwang_terminal::report::MAX_REPORT_BYTES + 10];
    let res = client
        .post(format!(
            "{}{}",
            con.base,
            shouwang_terminal::enroll::REPORT_PATH
        ))
        .bearer_auth(&a.credential)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn a_round_spools_while_the_server_is_away_and_delivers_in_order_when_it_is_back() {
    let con = console().await;
    let state = agent::enroll(
        &con.base,
        &token(&con, "轮次", Duration::hours(1)),
        "PC-LI",
        "UOS",
        "terminal",
    )
    .await
    .unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let pc = pc_root();
    let root = Root::offline(pc.path().to_path_buf());
    let rules = RuleSet::embedded().unwrap();

    // The server away (a port nothing listens on): both reports wait.
    let mut away = state.clone();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    away.server = format!("https://127.0.0.1:{port}/");
    away.save(agent_dir.path()).unwrap();
    let (dir, r) = (agent_dir.path().to_path_buf(), root.clone());
    let rules2 = rules.clone();
    let first = tokio::task::spawn_blocking(move || agent::round(&dir, &r, &rules2).unwrap())
        .await
        .unwrap();
    assert_eq!(first.delivered.sent, 0);
    assert_eq!(first.waiting, 2);
    assert!(first.delivered.stopped.unwrap().contains("无法连接"));

    // Back: the next round sends the two waiting and its own two.
    state.save(agent_dir.path()).unwrap();
    let dir = agent_dir.path().to_path_buf();
    let second = tokio::task::spawn_blocking(move || agent::round(&dir, &root, &rules).unwrap())
        .await
        .unwrap();
    assert_eq!(second.delivered.sent, 4);
    assert_eq!(second.waiting, 0);
    let t = con.store.terminal(&state.terminal).unwrap().unwrap();
    assert_eq!(t.inventory.unwrap()["hostname"], "PC-ZHANG");
}
