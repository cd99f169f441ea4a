//! Shouwang's web console and JSON API.
//!
//! Server-rendered pages (Chinese first, English on request), login with
//! argon2id hashes, HttpOnly SameSite session cookies rotated at login,
//! a CSRF token on every state-changing form, three roles (admin, operator,
//! auditor), lockout after repeated failed logins, a JSON API behind the
//! same accounts (API tokens), `/healthz` and a Prometheus `/metrics`.
//!
//! The console only reads the store and records what people do; it never
//! talks to a sensor directly.

pub mod accounts;
mod config;
mod i18n;
pub mod terminals;
pub mod text;
pub mod tls;
mod web;

use std::future::Future;
use std::sync::Arc;

use shouwang_store::Store;

pub use config::{ConsoleConfig, MetricsAccess, TlsSetting, is_loopback};
pub use web::router;

/// The store setting that holds the unit profile saved in the console.
pub use shouwang_store::UNIT_PROFILE_SETTING;

/// The unit profile saved in the console, or `fallback` (the config file's
/// `[unit]`) when none is saved or the saved one cannot be read. The
/// choice is `shouwang_store::unit_profile`'s, shared with the CLI.
pub fn unit_profile(
    store: &dyn Store,
    fallback: &shouwang_model::UnitProfile,
) -> shouwang_model::UnitProfile {
    shouwang_store::unit_profile(store, fallback).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the stored unit profile; using the config file's");
        fallback.clone()
    })
}

/// The unit profile saved in the console, if one is and it can be read.
pub(crate) fn stored_unit_profile(store: &dyn Store) -> Option<shouwang_model::UnitProfile> {
    match store.setting(UNIT_PROFILE_SETTING) {
        Ok(Some(_)) => shouwang_store::unit_profile(store, &Default::default())
            .inspect_err(|e| tracing::warn!(error = %e, "the stored unit profile cannot be read"))
            .ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the stored unit profile");
            None
        }
    }
}

/// Why the console could not run.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "cannot listen on {addr}: {source}. Another program may be using the port; set [console] listen in the config to another address"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the console stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// Bind the configured address. Separate from [`serve`] so that a caller
/// can report the address before serving, and tests can bind port 0.
pub async fn bind(config: &ConsoleConfig) -> Result<tokio::net::TcpListener, ConsoleError> {
    tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ConsoleError::Bind {
            addr: config.listen,
            source,
        })
}

/// Serve the console over plain HTTP on `listener` until `shutdown`
/// completes, then finish the requests in flight and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    config: ConsoleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ConsoleError> {
    serve_with(listener, store, config, None, shutdown).await
}

/// Serve the console on `listener`, over TLS when `tls` is given (from
/// [`tls::prepare`]), to the clients `[console] allow_networks` admits.
/// Under TLS cookies are `Secure` and every answer carries HSTS.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    mut config: ConsoleConfig,
    tls: Option<tls::TlsServer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ConsoleError> {
    use axum::serve::ListenerExt as _;
    use std::net::SocketAddr;
    let gate = tls::listener::Gate::new(&config.allow_networks);
    match tls {
        None => {
            // The peer's address decides who may read /metrics.
            let app = router(store, config).into_make_service_with_connect_info::<SocketAddr>();
            let listener = tls::listener::PlainListener {
                inner: listener,
                gate,
            };
            // `tap_io` gives the listener axum's connect-info for its address.
            axum::serve(listener.tap_io(|_| ()), app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ConsoleError::Serve)
        }
        Some(tls) => {
            config.secure_cookies = true;
            let app = router(store, config)
                .layer(axum::middleware::map_response(hsts))
                .into_make_service_with_connect_info::<SocketAddr>();
            let listener = tls::listener::TlsListener::new(listener, tls, gate)
                .map_err(ConsoleError::Serve)?;
            axum::serve(listener.tap_io(|_| ()), app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ConsoleError::Serve)
        }
    }
}

/// A browser that reached the console over TLS once never tries plain
/// HTTP to it again (a year, renewed at every answer).
async fn hsts(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    res
}
