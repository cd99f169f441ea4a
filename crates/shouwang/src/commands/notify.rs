//! `shouwang notify list|test`: the notification channels, and a test
//! message over them so that a wrong key shows now rather than at the
//! first incident.
//!
//! The channels are the config file's `[notify]` ones followed by those
//! kept in the console, when there is a store to read them from.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use shouwang_notify::{Delivery, Notifier, NotifyConfig, STORED_CHANNELS_SETTING};

use super::{Access, Ctx, Outcome};
use crate::cli::JsonArg;
use crate::output;
use shouwang_config::Loaded;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// List the notification channels (keys and secrets masked)
    List(JsonArg),
    /// Send a test message over one channel (enabled or not), or over every
    /// enabled channel; exit 1 when any fails
    Test {
        /// The channel's name; every enabled channel when left out
        channel: Option<String>,
        /// Print JSON on stdout instead of a table
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Ctx, command: NotifyCommand) -> Result<Outcome> {
    match command {
        NotifyCommand::List(a) => list(ctx, a.json),
        NotifyCommand::Test { channel, json } => test(ctx, channel.as_deref(), json),
    }
}

/// The channels in effect. The store is only read when it exists: listing
/// or testing the config file's channels must not create a data dir.
fn channels(ctx: &Ctx, loaded: &Loaded) -> Result<NotifyConfig> {
    let stored = match ctx.open_store(loaded, Access::Existing) {
        Ok(store) => store
            .setting(STORED_CHANNELS_SETTING)
            .context("cannot read the channels kept in the console")?,
        Err(e) => {
            tracing::debug!("no store, so only the config file's channels: {e:#}");
            None
        }
    };
    loaded
        .config
        .notify
        .with_stored(stored.as_ref())
        .with_context(|| format!("in {}", loaded.path.display()))
}

fn notifier(config: &NotifyConfig, loaded: &Loaded) -> Result<Notifier> {
    Notifier::new(config).with_context(|| format!("in {}", loaded.path.display()))
}

fn list(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let config = channels(ctx, &loaded)?;
    let channels = notifier(&config, &loaded)?.channels();
    if json {
        output::print_json(&channels)?;
        return Ok(Outcome::Clean);
    }
    if channels.is_empty() {
        output::print(&format!(
            "no notification channels; add a [[notify.channels]] table to {} (`shouwang config init` writes an example)\n",
            loaded.path.display()
        ))?;
        return Ok(Outcome::Clean);
    }
    output::print(&shouwang_notify::text::channels(&channels))?;
    Ok(Outcome::Clean)
}

fn test(ctx: &Ctx, channel: Option<&str>, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let config = channels(ctx, &loaded)?;
    if config.channels.is_empty() {
        bail!(
            "no notification channels to test; add a [[notify.channels]] table to {}",
            loaded.path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let deliveries = runtime.block_on(async {
        let n = notifier(&config, &loaded)?;
        match channel {
            Some(name) => Ok::<_, anyhow::Error>(vec![n.send_test(name).await?]),
            None => Ok(n.send_test_all().await),
        }
    })?;
    if deliveries.is_empty() {
        bail!("every notification channel is disabled; name one to test it anyway");
    }
    if json {
        output::print_json(&deliveries)?;
    } else {
        output::print(&shouwang_notify::text::deliveries(&deliveries))?;
    }
    Ok(if deliveries.iter().all(Delivery::is_ok) {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
