//! The store is synchronous; async callers (the console, the site schedule,
//! the incident announcer) run store work, and other slow synchronous work
//! such as password hashing, through this one helper on tokio's blocking
//! pool.

/// The synchronous work panicked (or its task was cancelled); callers turn
/// this into their own error, so a panic is answered like any other failure.
#[derive(Debug, thiserror::Error)]
#[error("the background task failed: {0}")]
pub struct Panicked(#[from] tokio::task::JoinError);

/// Run `f` on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Panicked> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

/// Run fallible `f` on the blocking pool; a panic becomes the caller's
/// error type too.
pub async fn try_blocking<T: Send + 'static, E: From<Panicked> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    blocking(f).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_work_is_an_error_not_a_crash() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(blocking(|| -> u8 { panic!("boom") }));
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("background task failed")
        );
        assert_eq!(rt.block_on(blocking(|| 7)).unwrap(), 7);
    }
}
