//! The agent's two conversations with its unit server: enrolling with a
//! token (trusting the server only through the token's pin), and sending
//! a report with its credential over a connection that trusts the unit CA
//! alone. What the server answers is bounded and read as the protocol's
//! own types, so a refusal reaches the person as the server worded it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::Report;
use crate::enroll::{AgentState, ENROLL_PATH, EnrollRequest, EnrollResponse, REPORT_PATH};
use crate::token::{EnrollToken, Refusal};
use crate::trust::{self, TrustError};

/// The most an answer of the server may be: a credential or a verdict.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{}", .0.zh())]
    Token(#[from] crate::token::TokenFormatError),
    #[error("{}", .0.zh())]
    Trust(#[from] TrustError),
    #[error("单位服务器拒绝：{}", .0.zh())]
    Refused(Refusal),
    #[error("单位服务器答复错误（HTTP {status}）：{message}")]
    Server { status: u16, message: String },
    #[error("无法连接单位服务器：{0}")]
    Unreachable(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_zh: String,
}

async fn answer(res: reqwest::Response) -> Result<(u16, Vec<u8>), AgentError> {
    let status = res.status().as_u16();
    if res
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(AgentError::Server {
            status,
            message: "答复过长".into(),
        });
    }
    let mut res = res;
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| AgentError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(AgentError::Server {
                status,
                message: "答复过长".into(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// What a non-success answer means: a refusal of the protocol, or an error.
fn refusal_or_error(status: u16, body: &[u8]) -> AgentError {
    if status == 403
        && let Ok(r) = serde_json::from_slice::<Refusal>(body)
    {
        return AgentError::Refused(r);
    }
    let message = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error_zh)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    AgentError::Server { status, message }
}

/// Send `req`, read the bounded answer, and take a 200 as `T`; anything
/// else is the server's refusal or error. `what` names the answer in the
/// message when it is not what the protocol says.
async fn exchange<T: serde::de::DeserializeOwned>(
    req: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, AgentError> {
    let res = req
        .send()
        .await
        .map_err(|e| AgentError::Unreachable(e.to_string()))?;
    let (status, body) = answer(res).await?;
    if status != 200 {
        return Err(refusal_or_error(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| AgentError::Server {
        status,
        message: format!("{what}格式错误：{e}"),
    })
}

/// Enroll at `server` with `token`: the state to save, or why not.
pub async fn enroll(
    server: &str,
    token: &str,
    hostname: &str,
    os: &str,
    profile: &str,
) -> Result<AgentState, AgentError> {
    let parsed = EnrollToken::parse(token)?;
    let base = trust::server_url(server)?;
    let ca = trust::fetch_pinned_ca(&base, parsed.ca_key_sha256()).await?;
    let client = trust::verified_client(&ca)?;
    let url = base.join(ENROLL_PATH).expect("a fixed path joins");
    let req = client.post(url).json(&EnrollRequest {
        token: token.trim().to_string(),
        hostname: hostname.to_string(),
        os: os.to_string(),
    });
    let got: EnrollResponse = exchange(req, "注册答复").await?;
    Ok(AgentState {
        server: base.to_string(),
        ca_der: STANDARD.encode(&ca),
        terminal: got.terminal,
        credential: got.credential,
        profile: profile.to_string(),
    })
}

/// What the server did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Taken {
    Recorded,
    Duplicate,
}

#[derive(Deserialize)]
struct TakenBody {
    result: Taken,
}

/// Send one report as the terminal of `state`.
pub async fn send(
    client: &reqwest::Client,
    state: &AgentState,
    report: &Report,
) -> Result<Taken, AgentError> {
    let base = trust::server_url(&state.server)?;
    let url = base.join(REPORT_PATH).expect("a fixed path joins");
    let req = client.post(url).bearer_auth(&state.credential).json(report);
    exchange::<TakenBody>(req, "答复").await.map(|b| b.result)
}

/// A client for `state`'s server, trusting its pinned unit CA only.
pub fn client(state: &AgentState) -> Result<reqwest::Client, AgentError> {
    let ca = state.ca_der().map_err(|e| AgentError::Server {
        status: 0,
        message: e.to_string(),
    })?;
    Ok(trust::verified_client(&ca)?)
}

/// What one round of the agent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// Reports made this round (a host run and an inventory).
    pub made: usize,
    pub delivered: crate::Delivered,
    /// Reports still waiting in the spool.
    pub waiting: usize,
}

/// The spool's directory inside the agent's data dir.
pub const SPOOL_DIR: &str = "spool";

/// One round of the agent in `dir` (its state and spool): run the host
/// rules of its profile on `root` and take its inventory, spool both, and
/// deliver what waits, oldest first. Reports the server cannot take now
/// stay spooled for the next round; a report it refuses for good (beyond
/// bounds, another terminal's) is set aside so the rest still go.
pub fn round(
    dir: &std::path::Path,
    root: &shouwang_host::Root,
    rules: &shouwang_host::RuleSet,
) -> Result<Round, RoundError> {
    let state = AgentState::load(dir)?;
    let selected = rules
        .profile(&state.profile)
        .map_err(|e| RoundError::Rules(e.to_string()))?;
    let spool = crate::Spool::open(&dir.join(SPOOL_DIR), crate::Limits::default())?;
    let run = shouwang_host::run(root, &state.profile, &selected);
    let inventory = shouwang_host::inventory::collect(root);
    for body in [
        crate::Body::HostCheck { run: Box::new(run) },
        crate::Body::Inventory {
            inventory: Box::new(inventory),
        },
    ] {
        let report = Report::new(&state.terminal, spool.next_seq()?, body);
        spool.push(&report)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RoundError::Runtime(e.to_string()))?;
    let client = client(&state)?;
    let delivered = spool.deliver(|report| {
        match rt.block_on(send(&client, &state, report)) {
            Ok(_) => crate::Delivery::Accepted,
            // Bounds or sender: this report will never be taken.
            Err(e @ AgentError::Server { status: 400, .. }) => {
                crate::Delivery::Refused(e.to_string())
            }
            // Unreachable, failing, or this terminal refused (revoked):
            // keep it, and say why, until the person acts.
            Err(e) => crate::Delivery::Later(e.to_string()),
        }
    })?;
    Ok(Round {
        made: 2,
        delivered,
        waiting: spool.len()?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    State(#[from] crate::enroll::StateError),
    #[error(transparent)]
    Spool(#[from] crate::SpoolError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error("the host rules: {0}")]
    Rules(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}
