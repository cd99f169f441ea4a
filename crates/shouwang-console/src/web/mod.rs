//! Routes, shared state, and the layers every request passes: security
//! headers, authentication, CSRF.

mod api;
mod assign;
mod audit_details;
mod auth;
mod chart;
mod checklist;
mod guard;
mod hosts;
mod incidents;
mod notify;
mod pages;
mod render;
mod reports;
mod site_jobs;
mod sites;
mod staff;
mod terminals;
mod trust;
mod unit;
mod users;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use shouwang_store::{NewAuditEntry, Store, StoreError};

use crate::ConsoleConfig;
use crate::accounts::AccountError;

pub(crate) use auth::Auth;
pub(crate) use render::Renderer;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ConsoleConfig>,
    pub renderer: Arc<Renderer>,
    pub metrics: Arc<Counters>,
    pub hashing: Arc<HashPool>,
    /// Inspections started from the console (立即巡查).
    pub site_jobs: Arc<site_jobs::SiteJobs>,
}

/// The few password hashes that may run at once. Each argon2 hash holds
/// 19 MiB, so a burst of logins on the blocking pool (512 threads) took
/// gigabytes; here at most `workers` run and `queue` more wait, and any
/// request beyond them is answered at once with [`AppError::Busy`].
pub(crate) struct HashPool {
    admitted: Arc<tokio::sync::Semaphore>,
    running: Arc<tokio::sync::Semaphore>,
}

impl HashPool {
    pub fn new(workers: usize, queue: usize) -> Self {
        HashPool {
            admitted: Arc::new(tokio::sync::Semaphore::new(workers + queue)),
            running: Arc::new(tokio::sync::Semaphore::new(workers)),
        }
    }

    /// Sized from the cores: hashing is CPU work, more at once only waits.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = cores.max(2);
        HashPool::new(workers, workers)
    }

    /// Run `f` (which hashes or verifies a password) when a worker is free,
    /// or refuse at once when the workers and the queue are full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let Ok(_admitted) = self.admitted.clone().try_acquire_owned() else {
            return Err(AppError::Busy);
        };
        let _running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(format!("the hashing pool closed: {e}")))?;
        Ok(blocking(f).await?)
    }
}

/// Seconds a client is told to wait when the hashing pool is full.
pub(crate) const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Counters the `/metrics` endpoint reports besides what the store knows.
#[derive(Default)]
pub(crate) struct Counters {
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub csrf_rejected: AtomicU64,
}

/// Synchronous work (the store, password hashing, the guard's files) runs
/// on the blocking pool; a panic in it is answered like any internal error.
pub(crate) use shouwang_store::blocking;

impl AppState {
    /// Run a store call on the blocking pool: the store is synchronous.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AppError> {
        let store = self.store.clone();
        blocking(move || f(&*store)).await?.map_err(AppError::from)
    }

    /// Like [`db`](Self::db), for account operations: they hash or verify
    /// passwords, so they run in the bounded [`HashPool`].
    pub async fn accounts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<Result<T, AccountError>, AppError> {
        let store = self.store.clone();
        self.hashing.run(move || f(&*store)).await
    }

    /// Record an action that changes nothing in the store (a report taken,
    /// a test notice, files published by the guard) in the audit log.
    pub async fn audit(&self, entry: NewAuditEntry) -> Result<(), AppError> {
        self.db(move |s| s.record_action(&entry).map(drop)).await
    }
}

/// Build the console's router.
pub fn router(store: Arc<dyn Store>, config: ConsoleConfig) -> Router {
    let state = AppState {
        store,
        config: Arc::new(config),
        renderer: Arc::new(Renderer::new()),
        metrics: Arc::new(Counters::default()),
        hashing: Arc::new(HashPool::for_this_machine()),
        site_jobs: Arc::default(),
    };
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/lang/{lang}", get(auth::set_language))
        .route(
            "/account/password",
            get(auth::password_page).post(auth::change_password),
        )
        .route("/findings", get(pages::findings))
        .route("/findings/{id}", get(pages::finding_detail))
        .route("/findings/{id}/status", post(pages::set_finding_status))
        .route("/findings/{id}/assign", post(assign::assign))
        .route("/events", get(pages::events))
        .route("/hosts", get(hosts::list))
        .route("/hosts/check", post(hosts::check_now))
        .route("/hosts/{name}", get(hosts::detail))
        .route("/sites", get(sites::list))
        .route("/sites/view", get(sites::detail))
        .route("/sites/add", post(site_jobs::add))
        .route("/sites/remove", post(site_jobs::remove))
        .route("/sites/inspect", post(site_jobs::inspect))
        .route("/guard", get(guard::list))
        .route("/guard/view", get(guard::view))
        .route("/guard/diff", get(guard::diff))
        .route("/guard/publish", post(guard::publish))
        .route("/guard/preview", post(guard::preview))
        .route("/guard/seal", post(guard::seal))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::detail))
        .route(
            "/incidents/{id}/{action}",
            get(reports::incident).post(incidents::act),
        )
        .route("/notify", get(notify::list))
        .route("/notify/test", post(notify::test))
        .route("/notify/channels", post(notify::add))
        .route("/notify/channels/remove", post(notify::remove))
        .route("/unit", get(unit::view).post(unit::save))
        .route("/unit/staff", post(staff::save))
        .route("/unit/staff/remove", post(staff::remove))
        .route(
            "/unit/staff/import",
            post(staff::import).layer(DefaultBodyLimit::max(reports::MAX_UPLOAD_BYTES)),
        )
        .route("/reports", get(reports::page))
        .route(
            "/reports/selfcheck",
            get(reports::selfcheck_get)
                .post(reports::selfcheck_post)
                .layer(DefaultBodyLimit::max(reports::MAX_UPLOAD_BYTES)),
        )
        .route("/reports/ledger.xlsx", get(reports::ledger))
        .route("/audit", get(pages::audit))
        .route("/users", get(users::list).post(users::add))
        .route("/users/tokens", post(users::add_token))
        .route("/users/tokens/revoke", post(users::revoke_token))
        .route("/users/{name}/{action}", post(users::act))
        .route("/ca.crt", get(trust::ca_pem))
        .route("/ca.der", get(trust::ca_der))
        .route("/trust", get(trust::page))
        .route("/static/app.css", get(static_css))
        .route("/healthz", get(healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/findings", get(api::findings))
        .route("/api/v1/findings/{id}", get(api::finding))
        .route(
            "/api/v1/findings/{id}/status",
            post(api::set_finding_status),
        )
        .route("/api/v1/events", get(api::events))
        .route("/api/v1/audit", get(api::audit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Agents prove themselves with their token or credential, not a
        // person's login: these routes are outside the login layer.
        .merge(
            Router::new()
                .route(
                    shouwang_terminal::enroll::ENROLL_PATH,
                    post(terminals::enroll)
                        .layer(DefaultBodyLimit::max(terminals::ENROLL_BODY_LIMIT)),
                )
                .route(
                    shouwang_terminal::enroll::REPORT_PATH,
                    post(terminals::report).layer(DefaultBodyLimit::max(
                        shouwang_terminal::report::MAX_REPORT_BYTES,
                    )),
                ),
        )
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn static_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// Liveness and readiness: 200 when the store answers.
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.db(|s| s.schema_version()).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!(error = ?e, "health check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

/// Headers that keep the console out of frames, scripts out of pages, and
/// pages out of caches.
async fn security_headers(req: axum::extract::Request, next: middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A handler may set its own policy (a report shown in the tab styles
    // itself inline); every page gets this one.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Tell a client refused for [`AppError::Busy`] when to try again.
pub(crate) fn with_retry_after(err: &AppError, res: &mut Response) {
    if matches!(err, AppError::Busy) {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(BUSY_RETRY_AFTER_SECS),
        );
    }
}

/// What a handler can fail with. Pages render it; the API answers JSON.
#[derive(Debug)]
pub(crate) enum AppError {
    NotFound,
    Forbidden,
    BadRequest(String),
    Internal(String),
    /// Too many password checks at once; try again in a moment.
    Busy,
}

impl From<shouwang_store::Panicked> for AppError {
    fn from(e: shouwang_store::Panicked) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Busy => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The message a person may see: internal details stay in the log.
    pub fn public_message(&self, lang: &str) -> String {
        match self {
            AppError::NotFound => crate::i18n::tr(lang, "error.not_found").into(),
            AppError::Forbidden => crate::i18n::tr(lang, "error.forbidden").into(),
            AppError::BadRequest(m) => m.clone(),
            AppError::Busy => crate::i18n::tr(lang, "error.busy").into(),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "console request failed");
                crate::i18n::tr(lang, "error.internal").into()
            }
        }
    }
}

impl IntoResponse for AppError {
    /// Without a page context (no renderer at hand) answer plain text; page
    /// handlers use [`Renderer::error_page`] instead.
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (status, self.public_message("zh")).into_response();
        with_retry_after(&self, &mut res);
        res
    }
}
