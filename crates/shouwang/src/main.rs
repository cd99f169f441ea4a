//! `shouwang`: parses the command line, loads the config, calls the
//! libraries. The work is in the library crates; the commands here only
//! wire them together and talk to the person at the terminal.
//!
//! What this crate may contain, and nothing else: argument parsing
//! (`cli`), logging and terminal output (`logging`, `output`), and per
//! command the wiring: load the config (`shouwang-config`), open the store,
//! call a library, print what came back, choose the exit code. A loop that runs
//! inside `up`, a record written to the store, a rule or a parser belongs
//! in the crate of its sensor or output (ARCHITECTURE.md, the code map).

mod cli;
mod commands;
mod logging;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{Cli, LogFormat};
use crate::commands::Outcome;
use shouwang_config::paths::{Origin, Paths};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    logging::init(cli.global.log_format, cli.global.verbose);

    let result = Paths::resolve(
        named(&matches, "data_dir", cli.global.data_dir.clone()),
        named(&matches, "config", cli.global.config.clone()),
    )
    .map_err(anyhow::Error::from)
    .and_then(|paths| commands::run(cli.command, paths));
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            // A collector reading JSON lines gets the error as one of them.
            let message = error_chain(&e);
            if cli.global.log_format == LogFormat::Json {
                tracing::error!(error = message, "shouwang failed");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(2)
        }
    }
}

/// A path the user named, and whether by flag or environment variable, so
/// that messages can say which one to fix.
fn named(matches: &ArgMatches, id: &str, value: Option<PathBuf>) -> shouwang_config::paths::Named {
    let origin = match matches.value_source(id) {
        Some(ValueSource::EnvVariable) => Origin::Env,
        _ => Origin::Flag,
    };
    value.map(|p| (p, origin))
}

/// Like `{:#}`, but without a cause the message before it already quotes:
/// library errors often put their source in their own text as well.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let io = std::io::Error::other("Address already in use");
        let e = anyhow::Error::new(io)
            .context("cannot listen on 127.0.0.1:1: Address already in use; pick another port")
            .context("cannot start the console");
        assert_eq!(
            error_chain(&e),
            "cannot start the console: cannot listen on 127.0.0.1:1: Address already in use; pick another port"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
