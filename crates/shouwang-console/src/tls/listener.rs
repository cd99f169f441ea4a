//! The console's listeners: plain or TLS, both refusing a client outside
//! `[console] allow_networks` by closing its connection at once.
//!
//! Closed, not answered with a 403 page: a client outside the allowlist
//! then learns nothing (not even the certificate, which names this
//! machine and its addresses) and costs no handshake. The refusal is
//! logged with the client's address for whoever wonders why a PC cannot
//! connect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::TlsServer;

/// A TLS handshake not done by then is dropped: a client that opens a
/// connection and says nothing holds no slot for long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes at once; a connection beyond them is closed.
const MAX_HANDSHAKES: usize = 256;
/// How often the console certificate is checked while the console runs.
const RENEW_CHECK: Duration = Duration::from_secs(3600);

/// Who may connect.
#[derive(Clone)]
pub(crate) struct Gate {
    networks: Arc<[ipnet::IpNet]>,
    refused: Arc<AtomicU64>,
}

impl Gate {
    pub fn new(networks: &[ipnet::IpNet]) -> Self {
        Gate {
            networks: networks.into(),
            refused: Arc::default(),
        }
    }

    /// Everyone when no network is listed; else this machine and the
    /// clients of a listed network.
    pub fn admits(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.networks.is_empty()
            || crate::config::is_loopback(peer)
            || self.networks.iter().any(|n| n.contains(&peer))
    }
}

/// Accept the next connection, waiting out errors such as too many open
/// files rather than ending the console.
async fn accept_admitted(listener: &TcpListener, gate: &Gate) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) if gate.admits(peer.ip()) => return (stream, peer),
            Ok((_, peer)) => {
                // A scan from outside must not flood the log: the first
                // refusals, then one line in a thousand, with the count.
                let n = gate.refused.fetch_add(1, Ordering::Relaxed) + 1;
                if n <= 20 || n.is_multiple_of(1000) {
                    tracing::info!(%peer, refused = n, "console: refused a client outside [console] allow_networks");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "console: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Plain HTTP behind the gate.
pub(crate) struct PlainListener {
    pub inner: TcpListener,
    pub gate: Gate,
}

impl axum::serve::Listener for PlainListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        accept_admitted(&self.inner, &self.gate).await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// TLS behind the gate. Handshakes run in tasks of their own, so that a
/// slow client delays no other; finished ones wait on a channel.
pub(crate) struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl TlsListener {
    pub fn new(listener: TcpListener, tls: TlsServer, gate: Gate) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(run_acceptor(listener, tls, gate, tx));
        Ok(TlsListener {
            local,
            ready,
            acceptor,
        })
    }
}

async fn run_acceptor(
    listener: TcpListener,
    tls: TlsServer,
    gate: Gate,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let mut acceptor = TlsAcceptor::from(tls.config);
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let mut check =
        tokio::time::interval_at(tokio::time::Instant::now() + RENEW_CHECK, RENEW_CHECK);
    loop {
        tokio::select! {
            (stream, peer) = accept_admitted(&listener, &gate) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "console: too many TLS handshakes at once; closed a connection");
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "console: TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "console: TLS handshake timed out"),
                    }
                });
            }
            _ = check.tick(), if tls.renew.is_some() => {
                let Some((ca, dir, listen)) = tls.renew.clone() else { continue };
                let renewed = tokio::task::spawn_blocking(move || super::renewed(&ca, &dir, listen)).await;
                match renewed {
                    Ok(Ok(Some(config))) => acceptor = TlsAcceptor::from(config),
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "console: cannot renew the certificate; serving the old one"),
                    Err(e) => tracing::warn!(error = %e, "console: the certificate check failed"),
                }
            }
            _ = tx.closed() => return,
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The acceptor only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
