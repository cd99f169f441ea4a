//! `shouwang up`: the long-running service.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use shouwang_console::accounts::{self, FirstAdmin};
use shouwang_console::tls;
use shouwang_model::VERSION;
use shouwang_notify::announce;
use shouwang_store::Store;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

use super::{Access, Ctx, Outcome};
use crate::output;
use shouwang_config::pidfile::PidLock;
use shouwang_config::{Config, Loaded};

/// How long the console and sensors get to finish what they are doing
/// after a stop signal before they are cut off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const ADMIN: &str = "admin";
const ADMIN_PASSWORD_ENV: &str = "SHOUWANG_ADMIN_PASSWORD";

/// The long-running parts of `up`, each named for the logs.
#[derive(Default)]
struct Tasks {
    set: JoinSet<Result<()>>,
    names: HashMap<Id, &'static str>,
}

impl Tasks {
    fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = Result<()>> + Send + 'static,
        runtime: &tokio::runtime::Handle,
    ) {
        let handle = self.set.spawn_on(task, runtime);
        self.names.insert(handle.id(), name);
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The next task to end, by name, and how it ended.
    async fn join_next(&mut self) -> Option<(&'static str, Result<()>)> {
        let (id, result) = match self.set.join_next_with_id().await? {
            Ok((id, result)) => (id, result),
            Err(e) if e.is_panic() => (e.id(), Err(anyhow!("it panicked"))),
            Err(e) => (e.id(), Err(anyhow!("{e}"))),
        };
        Some((self.names.remove(&id).unwrap_or("task"), result))
    }

    async fn abort_all(&mut self) {
        self.set.abort_all();
        while self.set.join_next().await.is_some() {}
    }
}

pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let data_dir = ctx.data_dir(&loaded, Access::Create)?.to_path_buf();
    // Held until this function returns; dropping it removes the pid file.
    let _lock = PidLock::acquire(&data_dir)?;
    // The unit CA first, so that its fingerprint stands beside the first
    // password; and a bad certificate stops the start before anything runs.
    let tls = (loaded.config.console.enabled)
        .then(|| tls::prepare(&loaded.config.console, &loaded.config.unit.name, &data_dir))
        .transpose()
        .context("cannot set up the console's TLS")?;
    let store = open_and_check(&loaded, &data_dir, tls.as_ref().map(|t| &t.ca))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shouwang")
        .build()
        .context("cannot start the async runtime")?;
    // Before anything is announced, so that a signal sent as soon as the
    // console address appears is handled rather than killing the process.
    let mut signals = {
        let _rt = runtime.enter();
        Signals::new()?
    };
    let console = bind_console(&loaded.config, &runtime)?;
    let console_addr = console.as_ref().map(|(_, a)| *a);
    shouwang_config::lifecycle::record_start(store.as_ref(), &data_dir, VERSION, console_addr)
        .context("cannot record the start in the audit log")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = spawn_all(
        &loaded,
        &data_dir,
        &store,
        console.map(|(l, a)| (l, a, tls.and_then(|t| t.server))),
        &stop_rx,
        runtime.handle(),
    )?;
    let result = runtime.block_on(supervise(&mut tasks, &mut signals, stop_tx));
    drop(tasks);
    // Blocking store calls the console started may still be finishing.
    runtime.shutdown_timeout(Duration::from_secs(5));
    record_stop(store.as_ref(), &data_dir, result)
}

/// Open the store, create the first administrator if there is none, and
/// check the guarded roots: everything that can stop `up` before it starts
/// anything.
fn open_and_check(
    loaded: &Loaded,
    data_dir: &Path,
    ca: Option<&tls::CaIdentity>,
) -> Result<Arc<dyn Store>> {
    let store = super::open_store(loaded, data_dir)?;
    tracing::info!(
        version = VERSION,
        data_dir = %data_dir.display(),
        config = %loaded.path.display(),
        config_found = loaded.exists,
        backend = %store.backend(),
        location = %store.location(),
        "starting"
    );
    first_run(store.as_ref(), ca)?;
    // A guarded root that is not sealed stops `up` here, before anything
    // is announced as running.
    shouwang_guard::runtime::check_roots(data_dir, &loaded.config.guard)?;
    Ok(store)
}

/// Bind the console's port, if the console is enabled. Before the start is
/// recorded, so that a port in use fails the start cleanly.
fn bind_console(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<(TcpListener, SocketAddr)>> {
    if !config.console.enabled {
        return Ok(None);
    }
    let listener = runtime
        .block_on(shouwang_console::bind(&config.console))
        .context("cannot start the console")?;
    let addr = listener
        .local_addr()
        .context("cannot read the console's address")?;
    Ok(Some((listener, addr)))
}

/// Every long-running part of `up` is a task in this one set, started
/// here and nowhere else, and each stops when `stop_rx` turns true: the
/// console, each enabled sensor (guard, site, host, logs) and the incident
/// announcer. `supervise` treats them all alike.
fn spawn_all(
    loaded: &Loaded,
    data_dir: &Path,
    store: &Arc<dyn Store>,
    console: Option<(TcpListener, SocketAddr, Option<tls::TlsServer>)>,
    stop_rx: &watch::Receiver<bool>,
    runtime: &tokio::runtime::Handle,
) -> Result<Tasks> {
    let config = &loaded.config;
    let mut tasks = Tasks::default();
    let scheme = match &console {
        Some((_, _, Some(_))) => "https",
        _ => "http",
    };
    let console_addr = console.as_ref().map(|(_, addr, _)| *addr);
    if let Some((listener, addr, tls)) = console {
        let shutdown = stopped(stop_rx.clone());
        let config = console_config(config, data_dir);
        let task = shouwang_console::serve_with(listener, store.clone(), config, tls, shutdown);
        tasks.spawn("console", async { Ok(task.await?) }, runtime);
        tracing::info!(%addr, "console: {scheme}://{addr}/");
        say(&format!("console: {scheme}://{addr}/\n"));
        if scheme == "https" {
            say(&format!(
                "如何信任本证书 / trusting its certificate: https://{addr}/trust\n"
            ));
        }
    }
    // Every sealed root is guarded, and one sealed later from then on.
    let task = shouwang_guard::runtime::serve(
        data_dir.to_path_buf(),
        config.guard.clone(),
        store.clone(),
        stop_rx.clone(),
    );
    tasks.spawn("guard", async { Ok(task.await?) }, runtime);
    spawn_site(&mut tasks, &config.site, data_dir, store, stop_rx, runtime)?;
    {
        // Incidents run whenever `up` does: they are made from whatever the
        // sensors (here, or `site inspect` and `host check` run by hand)
        // wrote to the store.
        // A bad channel in the config stops the start, like any bad config.
        announce::notifier(&config.notify, None)?;
        let config = announce::AnnounceConfig {
            incident: config.incident.clone(),
            unit: config.unit.profile(),
            notify: config.notify.clone(),
            console: console_addr.map(|a| format!("{scheme}://{a}")),
        };
        let task = announce::run(config, store.clone(), stop_rx.clone());
        tasks.spawn("incident", async { Ok(task.await?) }, runtime);
    }
    if tasks.is_empty() {
        tracing::warn!(
            "the console is disabled and no sensor is enabled: nothing runs until shouwang is stopped"
        );
    }
    Ok(tasks)
}

/// The console's config: the reporting clock, the channels and the unit
/// profile of the file, which what is saved in the console joins or
/// replaces there.
fn console_config(config: &Config, data_dir: &Path) -> shouwang_console::ConsoleConfig {
    shouwang_console::ConsoleConfig {
        data_dir: Some(data_dir.to_path_buf()),
        incident_policy: config.incident.policy(config.unit.profile().operator_type),
        notify: config.notify.clone(),
        unit: config.unit.profile(),
        site: config.site.clone(),
        ..config.console.clone()
    }
}

/// The site inspections on their schedule and the homepage probes, each
/// when configured.
fn spawn_site(
    tasks: &mut Tasks,
    config: &shouwang_site::SiteConfig,
    data_dir: &Path,
    store: &Arc<dyn Store>,
    stop_rx: &watch::Receiver<bool>,
    runtime: &tokio::runtime::Handle,
) -> Result<()> {
    if !config.schedule.is_empty() {
        // A mistyped time stops the start, like any other bad config.
        config.schedule_times()?;
        let (site, store, data_dir, stop) = (
            config.clone(),
            store.clone(),
            data_dir.to_path_buf(),
            stop_rx.clone(),
        );
        let task = async move {
            shouwang_site::runtime::run_schedule(&site, store, &data_dir, stop)
                .await
                .map_err(anyhow::Error::from)
        };
        tasks.spawn("site", task, runtime);
    }
    if config.probe_interval_seconds > 0 {
        let (site, store, stop) = (config.clone(), store.clone(), stop_rx.clone());
        let task = async move {
            shouwang_site::runtime::run_probes(&site, store, stop)
                .await
                .map_err(anyhow::Error::from)
        };
        tasks.spawn("site-probe", task, runtime);
    }
    Ok(())
}

/// Record the stop, and end with the supervisor's result: its error if it
/// failed (the audit failure only logged then), else the audit's.
fn record_stop(
    store: &dyn Store,
    data_dir: &Path,
    result: Result<&'static str>,
) -> Result<Outcome> {
    let ended = result.as_ref().map(|s| *s).map_err(|e| format!("{e:#}"));
    let recorded = shouwang_config::lifecycle::record_stop(store, data_dir, VERSION, ended)
        .context("cannot record the stop in the audit log");
    match (result, recorded) {
        (Ok(_), Ok(())) => {
            tracing::info!("stopped");
            Ok(Outcome::Clean)
        }
        (Err(e), Err(audit)) => {
            tracing::error!("{audit:#}");
            Err(e)
        }
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
    }
}

/// On the first run (no users yet), create the administrator: with the
/// password in SHOUWANG_ADMIN_PASSWORD (for unattended installs), or with
/// a generated one shown once, to be changed at the first login.
fn first_run(store: &dyn Store, ca: Option<&tls::CaIdentity>) -> Result<()> {
    let given = match std::env::var(ADMIN_PASSWORD_ENV) {
        Ok(p) => Some(p),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{ADMIN_PASSWORD_ENV} is not valid UTF-8"),
    };
    let from = match given {
        Some(_) => format!(" from {ADMIN_PASSWORD_ENV}"),
        None => String::new(),
    };
    let created = accounts::first_admin(store, ADMIN, given.as_deref())
        .with_context(|| format!("cannot create the first administrator{from}"))?;
    match created {
        FirstAdmin::Exists if given.is_some() => {
            tracing::info!("{ADMIN_PASSWORD_ENV} is ignored: users exist already");
        }
        FirstAdmin::Exists => {}
        FirstAdmin::Given => tracing::info!(
            "first run: created the administrator {ADMIN} with the password from {ADMIN_PASSWORD_ENV}"
        ),
        FirstAdmin::Generated(password) => {
            tracing::info!(
                "first run: created the administrator {ADMIN}; its one-time password is on stdout"
            );
            let lines = shouwang_console::text::first_admin_lines(ADMIN, &password, ca);
            say(&output::boxed(&lines));
        }
    }
    Ok(())
}

/// Run until a signal or until a task ends by itself (which is a failure:
/// tasks run until told to stop); then stop every task and wait for them.
/// Returns the signal that stopped us.
async fn supervise(
    tasks: &mut Tasks,
    signals: &mut Signals,
    stop: watch::Sender<bool>,
) -> Result<&'static str> {
    let outcome = tokio::select! {
        sig = signals.next() => {
            tracing::info!("received {sig}: stopping");
            Ok(sig)
        }
        Some((name, ended)) = tasks.join_next(), if !tasks.is_empty() => {
            let e = match ended {
                Ok(()) => anyhow!("the {name} stopped unexpectedly"),
                Err(e) => e.context(format!("the {name} stopped unexpectedly")),
            };
            tracing::error!("{e:#}; stopping");
            Err(e)
        }
    };
    let _ = stop.send(true);
    let forced = tokio::select! {
        () = drain(tasks) => false,
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(
                "still busy {} s after the stop signal: stopping anyway",
                SHUTDOWN_GRACE.as_secs()
            );
            true
        }
        sig = signals.next() => {
            tracing::warn!("received {sig} again: stopping at once");
            true
        }
    };
    if forced {
        tasks.abort_all().await;
    }
    outcome
}

/// Wait for every task, logging those that failed while stopping.
async fn drain(tasks: &mut Tasks) {
    while let Some((name, ended)) = tasks.join_next().await {
        match ended {
            Ok(()) => tracing::debug!("the {name} stopped"),
            Err(e) => tracing::error!("the {name} failed while stopping: {e:#}"),
        }
    }
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|&s| s).await;
}

/// Write to stdout for the person who started `up`; a closed stdout must
/// not stop the service, and the logs say the same.
fn say(text: &str) {
    if let Err(e) = output::print(text) {
        tracing::warn!("{e:#}");
    }
}

struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
