//! Delivering a notice to every channel: concurrently, with retries, within
//! each platform's rate limit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::channel::{Failure, Outgoing, Transport};
use crate::config::{ChannelConfig, ChannelKind, ConfigError, NotifyConfig};
use crate::notice::{Notice, NoticeKind, level_rank};
use crate::secret::scrub;
use crate::template::{Context, Templates};

/// The rate-limit window: the platforms count messages a minute.
const WINDOW: Duration = Duration::from_secs(60);
/// Titles of held-back notices named in the digest; the rest are counted.
const MAX_TITLES: usize = 10;

/// What became of a notice on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub channel: String,
    pub kind: ChannelKind,
    #[serde(flatten)]
    pub status: DeliveryStatus,
    /// Attempts made; 0 when the notice was held back.
    pub attempts: u32,
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// The platform accepted the message.
    Sent,
    /// The channel's rate limit was reached: the notice is counted and
    /// named in the next message, or in a digest once the limit allows.
    Coalesced { pending: u32 },
    /// Given up; the error names the cause, never a secret.
    Failed { error: String },
}

impl Delivery {
    /// Sent, or held back on purpose.
    pub fn is_ok(&self) -> bool {
        !matches!(self.status, DeliveryStatus::Failed { .. })
    }

    pub fn error(&self) -> Option<&str> {
        match &self.status {
            DeliveryStatus::Failed { error } => Some(error),
            _ => None,
        }
    }
}

/// A channel as listings show it: secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSummary {
    pub name: String,
    pub kind: ChannelKind,
    pub enabled: bool,
    /// Where messages go, e.g. `https://qyapi.weixin.qq.com/… key=1a2b***`.
    pub target: String,
    pub min_level: Option<String>,
    pub per_minute: u32,
    pub custom_template: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no notify channel is named \"{name}\"; the channels are: {known}")]
    UnknownChannel { name: String, known: String },
}

/// Sends notices. Cheap to clone; clones share rate limits.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    channels: Vec<Channel>,
    templates: Templates,
    http: reqwest::Client,
    max_attempts: u32,
    timeout: Duration,
    backoff_base: Duration,
    backoff_max: Duration,
}

struct Channel {
    config: ChannelConfig,
    transport: Transport,
    limiter: Mutex<Limiter>,
}

/// A sliding minute of sends, and what was held back since.
struct Limiter {
    per_minute: usize,
    sent: VecDeque<Instant>,
    pending: u32,
    pending_titles: Vec<String>,
    flush_scheduled: bool,
}

impl Limiter {
    fn prune(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.sent.pop_front();
        }
    }

    fn has_room(&self) -> bool {
        self.sent.len() < self.per_minute
    }

    fn take_pending(&mut self) -> (u32, Vec<String>) {
        (
            std::mem::take(&mut self.pending),
            std::mem::take(&mut self.pending_titles),
        )
    }

    fn put_back(&mut self, n: u32, titles: Vec<String>) {
        self.pending += n;
        for t in titles {
            if self.pending_titles.len() < MAX_TITLES {
                self.pending_titles.push(t);
            }
        }
    }

    /// When the oldest send leaves the window.
    fn room_at(&self, now: Instant) -> Duration {
        self.sent.front().map_or(Duration::ZERO, |t| {
            (*t + WINDOW).saturating_duration_since(now)
        })
    }
}

fn lock(m: &Mutex<Limiter>) -> std::sync::MutexGuard<'_, Limiter> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("channels", &self.channels())
            .finish()
    }
}

impl Notifier {
    /// Check the config and prepare every channel (templates parsed, TLS
    /// set up), so that mistakes show at start rather than at the first
    /// incident.
    pub fn new(config: &NotifyConfig) -> Result<Notifier, ConfigError> {
        config.validate()?;
        // rustls needs a process-wide crypto provider; another part of the
        // program may have installed one already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(config.timeout_seconds);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Robots answer directly; a redirect would be a misconfigured
            // url, and following it could send the message elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shouwang/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::General(format!("cannot set up the HTTP client: {e}")))?;
        let templates = Templates::new(&config.channels)?;
        let channels = config
            .channels
            .iter()
            .map(|c| {
                Ok(Channel {
                    transport: Transport::new(c, timeout)?,
                    limiter: Mutex::new(Limiter {
                        per_minute: c.per_minute() as usize,
                        sent: VecDeque::new(),
                        pending: 0,
                        pending_titles: Vec::new(),
                        flush_scheduled: false,
                    }),
                    config: c.clone(),
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Notifier {
            inner: Arc::new(Inner {
                channels,
                templates,
                http,
                max_attempts: config.max_attempts,
                timeout,
                backoff_base: Duration::from_millis(config.backoff_base_ms),
                backoff_max: Duration::from_millis(
                    config.backoff_max_ms.max(config.backoff_base_ms),
                ),
            }),
        })
    }

    /// The channels, secrets masked.
    pub fn channels(&self) -> Vec<ChannelSummary> {
        self.inner
            .channels
            .iter()
            .map(|ch| ChannelSummary {
                name: ch.config.name.clone(),
                kind: ch.config.kind,
                enabled: ch.config.enabled,
                target: ch.transport.describe(&ch.config),
                min_level: ch.config.min_level.clone(),
                per_minute: ch.config.per_minute(),
                custom_template: ch.config.template.is_some(),
            })
            .collect()
    }

    /// Deliver `notice` to every enabled channel whose `min_level` it
    /// reaches, all at once. One entry per channel tried, in config order.
    pub async fn send(&self, notice: &Notice) -> Vec<Delivery> {
        let indices: Vec<usize> = self
            .inner
            .channels
            .iter()
            .enumerate()
            .filter(|(_, ch)| ch.config.enabled && reaches(&ch.config, notice))
            .map(|(i, _)| i)
            .collect();
        self.deliver_all(indices, notice, false).await
    }

    /// Send a test notice over one channel (enabled or not), past its rate
    /// limit and `min_level`.
    pub async fn send_test(&self, channel: &str) -> Result<Delivery, NotifyError> {
        let Some(i) = self
            .inner
            .channels
            .iter()
            .position(|ch| ch.config.name == channel)
        else {
            let known: Vec<&str> = self
                .inner
                .channels
                .iter()
                .map(|c| c.config.name.as_str())
                .collect();
            return Err(NotifyError::UnknownChannel {
                name: channel.to_string(),
                known: if known.is_empty() {
                    "(none configured)".to_string()
                } else {
                    known.join(", ")
                },
            });
        };
        let notice = Notice::test(chrono::Utc::now());
        let mut d = self.deliver_all(vec![i], &notice, true).await;
        Ok(d.remove(0))
    }

    /// Send a test notice over every enabled channel.
    pub async fn send_test_all(&self) -> Vec<Delivery> {
        let indices = (0..self.inner.channels.len())
            .filter(|i| self.inner.channels[*i].config.enabled)
            .collect();
        let notice = Notice::test(chrono::Utc::now());
        self.deliver_all(indices, &notice, true).await
    }

    /// Send the digest of held-back notices on every channel that has any,
    /// now, without waiting for the rate limit: for shutdown, so that no
    /// count is lost. (Digests are otherwise sent by themselves as soon as
    /// the limit allows.)
    pub async fn flush(&self) -> Vec<Delivery> {
        let mut set = JoinSet::new();
        for i in 0..self.inner.channels.len() {
            let inner = self.inner.clone();
            set.spawn(async move { (i, inner.send_digest(i, true).await) });
        }
        collect(set).await.into_iter().flatten().collect()
    }

    async fn deliver_all(
        &self,
        indices: Vec<usize>,
        notice: &Notice,
        force: bool,
    ) -> Vec<Delivery> {
        let mut set = JoinSet::new();
        for i in indices {
            let inner = self.inner.clone();
            let notice = notice.clone();
            set.spawn(async move { (i, inner.deliver(i, &notice, force).await) });
        }
        collect(set).await
    }
}

async fn collect<T: 'static>(mut set: JoinSet<(usize, T)>) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(x) => out.push(x),
            // A panic in a delivery is a bug; the other channels' results
            // still count.
            Err(e) => tracing::error!(error = %e, "a notification task failed"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}

/// Whether a notice is at or above a channel's `min_level`. A notice
/// without a known level passes: a filter must not silence what it cannot
/// judge.
fn reaches(c: &ChannelConfig, notice: &Notice) -> bool {
    let Some(min) = c.min_level.as_deref().and_then(level_rank) else {
        return true;
    };
    match notice.level.as_deref().and_then(level_rank) {
        Some(l) => l >= min,
        None => true,
    }
}

impl Inner {
    async fn deliver(self: Arc<Self>, i: usize, notice: &Notice, force: bool) -> Delivery {
        let ch = &self.channels[i];
        let start = Instant::now();
        // The first notice of an incident starts the reporting clock: it
        // goes out at once and only uses up the limit for the others.
        let bypass = force || notice.kind == NoticeKind::IncidentOpened;
        let admitted = {
            let mut l = lock(&ch.limiter);
            let now = Instant::now();
            l.prune(now);
            if bypass || l.has_room() {
                l.sent.push_back(now);
                Some(l.take_pending())
            } else {
                l.pending += 1;
                if l.pending_titles.len() < MAX_TITLES {
                    l.pending_titles.push(notice.title.clone());
                }
                let pending = l.pending;
                if !l.flush_scheduled {
                    l.flush_scheduled = true;
                    let wait = l.room_at(now);
                    let inner = self.clone();
                    tokio::spawn(async move { inner.digest_when_room(i, wait).await });
                }
                tracing::info!(channel = %ch.config.name, pending, "notice held back by the rate limit");
                return Delivery {
                    channel: ch.config.name.clone(),
                    kind: ch.config.kind,
                    status: DeliveryStatus::Coalesced { pending },
                    attempts: 0,
                    elapsed: start.elapsed(),
                };
            }
        };
        let (coalesced, titles) = admitted.unwrap_or_default();
        let ctx = Context::of(notice, coalesced, &titles);
        let delivery = self
            .send_rendered(i, &ctx, Some(notice), coalesced, start)
            .await;
        if !delivery.is_ok() && coalesced > 0 {
            // The count rides on the next message instead.
            lock(&ch.limiter).put_back(coalesced, titles);
        }
        delivery
    }

    /// Wait until the window has room, then send the digest (unless a
    /// message carried the count meanwhile).
    async fn digest_when_room(self: Arc<Self>, i: usize, mut wait: Duration) {
        loop {
            tokio::time::sleep(wait).await;
            let ch = &self.channels[i];
            {
                let mut l = lock(&ch.limiter);
                let now = Instant::now();
                l.prune(now);
                if l.pending == 0 {
                    l.flush_scheduled = false;
                    return;
                }
                if !l.has_room() {
                    wait = l.room_at(now);
                    continue;
                }
                l.flush_scheduled = false;
            }
            self.send_digest(i, false).await;
            return;
        }
    }

    async fn send_digest(self: Arc<Self>, i: usize, force: bool) -> Option<Delivery> {
        let ch = &self.channels[i];
        let start = Instant::now();
        let (n, titles) = {
            let mut l = lock(&ch.limiter);
            let now = Instant::now();
            l.prune(now);
            if l.pending == 0 || !(force || l.has_room()) {
                return None;
            }
            l.sent.push_back(now);
            l.take_pending()
        };
        let title = format!("另有 {n} 条通知因限流合并");
        let ctx = Context::digest(&title, n, &titles);
        let d = self.send_rendered(i, &ctx, None, n, start).await;
        if !d.is_ok() {
            lock(&ch.limiter).put_back(n, titles);
        }
        Some(d)
    }

    async fn send_rendered(
        &self,
        i: usize,
        ctx: &Context<'_>,
        notice: Option<&Notice>,
        coalesced: u32,
        start: Instant,
    ) -> Delivery {
        let ch = &self.channels[i];
        let c = &ch.config;
        let done = |status, attempts| {
            let d = Delivery {
                channel: c.name.clone(),
                kind: c.kind,
                status,
                attempts,
                elapsed: start.elapsed(),
            };
            match d.error() {
                None => tracing::info!(channel = %c.name, attempts, "notification sent"),
                Some(e) => {
                    tracing::warn!(channel = %c.name, attempts, error = e, "notification failed")
                }
            }
            d
        };
        let rendered = match self.templates.render(c, ctx) {
            Ok(r) => r,
            Err(e) => return done(DeliveryStatus::Failed { error: e }, 0),
        };
        let out = Outgoing {
            rendered: &rendered,
            notice,
            coalesced,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // An SMTP exchange is several round trips, each under the
            // timeout; a bound on the whole keeps a server that stalls
            // somewhere in between from holding the delivery forever.
            let bound = match c.kind {
                ChannelKind::Email => self.timeout * 3,
                _ => self.timeout + Duration::from_secs(2),
            };
            let result = tokio::time::timeout(bound, ch.transport.attempt(&self.http, c, &out))
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::retry(format!(
                        "no answer within {} s",
                        bound.as_secs()
                    )))
                });
            match result {
                Ok(()) => return done(DeliveryStatus::Sent, attempt),
                Err(Failure {
                    message,
                    retry,
                    slow_down,
                }) => {
                    let message = scrub(&message, &c.secrets());
                    if !retry || attempt >= self.max_attempts {
                        let error = if attempt > 1 {
                            format!("{message} (gave up after {attempt} attempts)")
                        } else {
                            message
                        };
                        return done(DeliveryStatus::Failed { error }, attempt);
                    }
                    // After "too fast", eight times the usual wait (8 s,
                    // 16 s, 30 s by default): a minute's limit does not
                    // lift in a second or two.
                    let wait = self.backoff(if slow_down { attempt + 3 } else { attempt });
                    tracing::debug!(channel = %c.name, attempt, error = message, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// base, 2 × base, 4 × base … up to the cap.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << (attempt - 1).min(16);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}
