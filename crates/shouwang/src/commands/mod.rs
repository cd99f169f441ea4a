//! One module per command group; this one holds what they share.

mod audit;
mod config;
pub mod guard;
pub mod host;
pub mod incident;
pub mod malware;
pub mod notify;
pub mod report;
pub mod site;
mod status;
mod up;
mod user;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use shouwang_store::{AUDIT_KEY_FILE, Backend, SQLITE_FILE, Store};

use crate::cli::{AuditCommand, Command};
use shouwang_config::Loaded;
use shouwang_config::paths::Paths;

/// How a command ended, for the exit code scripts see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: the command worked and found something that needs a person
    /// (open findings, a tampered audit log).
    Findings,
}

pub fn run(command: Command, paths: Paths) -> Result<Outcome> {
    let ctx = Ctx { paths };
    match command {
        Command::Up => up::run(&ctx),
        Command::Status(a) => status::run(&ctx, a.json),
        Command::Audit(AuditCommand::Verify { anchor, json }) => {
            audit::verify(&ctx, anchor.as_ref(), json)
        }
        Command::Audit(AuditCommand::Anchor(a)) => audit::anchor(&ctx, a.json),
        Command::User(c) => user::run(&ctx, c),
        Command::Config(c) => config::run(&ctx, c),
        Command::Site(c) => site::run(&ctx, c),
        Command::Host(c) => host::run(&ctx, c),
        Command::Guard(c) => guard::run(&ctx, c),
        Command::Incident(c) => incident::run(&ctx, c),
        Command::Report(c) => report::run(&ctx, c),
        Command::Notify(c) => notify::run(&ctx, c),
        Command::Malware(c) => malware::run(&ctx, c),
    }
}

/// What every command gets.
pub struct Ctx {
    pub paths: Paths,
}

/// Whether a command may make the data dir and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Make the data dir and the store if they are not there.
    Create,
    /// Use what is there; a command that only reads (or changes an existing
    /// user) must not leave an empty store behind in a mistyped directory.
    Existing,
}

impl Ctx {
    pub fn load_config(&self) -> Result<Loaded> {
        Ok(shouwang_config::load(&self.paths)?)
    }

    /// The data dir, checked or created as `access` says.
    pub fn data_dir(&self, loaded: &Loaded, access: Access) -> Result<&Path> {
        match access {
            Access::Create => Ok(self.paths.create_data_dir()?),
            Access::Existing => {
                // The file a store leaves in the data dir: the SQLite
                // database, or for PostgreSQL the audit key.
                let marker = match loaded.config.store.backend {
                    Backend::Sqlite => SQLITE_FILE,
                    Backend::Postgres => AUDIT_KEY_FILE,
                };
                Ok(self.paths.existing_data_dir(marker)?)
            }
        }
    }

    pub fn open_store(&self, loaded: &Loaded, access: Access) -> Result<Arc<dyn Store>> {
        let dir = self.data_dir(loaded, access)?;
        open_store(loaded, dir)
    }
}

pub fn open_store(loaded: &Loaded, data_dir: &Path) -> Result<Arc<dyn Store>> {
    tracing::debug!(
        backend = %loaded.config.store.backend,
        data_dir = %data_dir.display(),
        "opening the store"
    );
    let store = shouwang_store::open(&loaded.config.store, data_dir)
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
    Ok(Arc::from(store))
}

/// Who the audit log says acted, for changes made from the command line.
pub fn cli_actor() -> String {
    let name = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| match shouwang_config::paths::effective_uid() {
            Some(0) | None => "root".to_string(),
            Some(uid) => format!("uid{uid}"),
        });
    format!("cli:{name}")
}
