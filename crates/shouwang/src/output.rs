//! Text and JSON on stdout. Logs go to stderr, so that stdout stays
//! parseable. Tables and boxes are laid out by `shouwang_model::text`, so
//! that each library can render its own results for a terminal.

use std::io::{self, Write};

use anyhow::{Context, Result};
use serde::Serialize;

/// Write `value` as pretty JSON and a newline.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("cannot write JSON to stdout")?;
    writeln!(out).context("cannot write to stdout")?;
    Ok(())
}

/// Write text as is.
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

pub use shouwang_model::text::{boxed, key_values, table};

/// Run `work`; when `show` and stdout is a terminal, with `message()` as a
/// progress line beside it (redrawn every 100 ms, cleared at the end), so a
/// long crawl or seal is not a silent wait and a pipe or `--json` stays
/// clean.
pub fn with_progress<T>(
    show: bool,
    message: impl Fn() -> String + Sync,
    work: impl FnOnce() -> T,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    if !show || !std::io::IsTerminal::is_terminal(&io::stdout()) {
        return work();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            while !done.load(Relaxed) {
                bar.set_message(message());
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let out = work();
        done.store(true, Relaxed);
        out
    })
}
