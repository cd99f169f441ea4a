//! `shouwang config init|show`.

use std::fs;

use anyhow::{Context, Result, bail};

use super::{Ctx, Outcome};
use crate::cli::ConfigCommand;
use crate::output;
use shouwang_config::{TEMPLATE, redacted};

pub fn run(ctx: &Ctx, command: ConfigCommand) -> Result<Outcome> {
    match command {
        ConfigCommand::Init { force } => init(ctx, force),
        ConfigCommand::Show => show(ctx),
    }
}

fn init(ctx: &Ctx, force: bool) -> Result<Outcome> {
    // The existing file is not loaded: a broken one is a reason to re-init.
    let path = ctx.paths.config()?;
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it with the defaults",
            path.display()
        );
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create {} for the config file; run as root, or pass --config FILE",
                parent.display()
            )
        })?;
    }
    // Written beside the target and renamed over it, so that a failure
    // never leaves half a config. Mode 0600: it may come to hold a
    // PostgreSQL password.
    shouwang_store::replace_file(path, TEMPLATE.as_bytes(), 0o600)
        .with_context(|| format!("cannot write the config file {}", path.display()))?;
    output::print(&format!(
        "wrote the default configuration to {}\n",
        path.display()
    ))?;
    Ok(Outcome::Clean)
}

fn show(ctx: &Ctx) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let source = if loaded.exists {
        format!("# from {}\n", loaded.path.display())
    } else {
        format!(
            "# {} does not exist: these are the defaults\n",
            loaded.path.display()
        )
    };
    let body = toml::to_string(&redacted(&loaded.config))
        .context("cannot print the configuration as TOML")?;
    output::print(&format!("{source}\n{body}"))?;
    Ok(Outcome::Clean)
}
