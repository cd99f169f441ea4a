//! Finding the baselines a person names: by root, by a path inside one, or
//! by a quarantined item's id.

use std::path::{Path, PathBuf};

use crate::{Baseline, GuardDir, GuardError, QuarantineRecord, Result, io_err};

impl GuardDir {
    /// The baselines of `roots`, or every baseline when none is named; an
    /// error when nothing is sealed, so "all fine" never means "nothing
    /// looked at".
    pub fn pick(&self, roots: &[PathBuf]) -> Result<Vec<Baseline>> {
        if roots.is_empty() {
            let all: Vec<Baseline> = self.baselines().into_iter().collect::<Result<_>>()?;
            if all.is_empty() {
                return Err(GuardError::NothingSealed);
            }
            return Ok(all);
        }
        roots.iter().map(|r| self.baseline(r)).collect()
    }

    /// The roots a watcher takes on: those `named`, else those
    /// `configured`, else every sealed root (as `check` checks them all).
    /// A baseline that fails its check cannot say which root it is of:
    /// it is left out with a warning here, and `check` names it.
    pub fn roots_to_watch(
        &self,
        named: &[PathBuf],
        configured: &[PathBuf],
    ) -> Result<Vec<PathBuf>> {
        if !named.is_empty() {
            return Ok(named.to_vec());
        }
        if !configured.is_empty() {
            return Ok(configured.to_vec());
        }
        let mut roots = Vec::new();
        for b in self.baselines() {
            match b {
                Ok(b) => roots.push(b.root),
                Err(e) => tracing::warn!("not watched: {e}"),
            }
        }
        if roots.is_empty() {
            return Err(GuardError::NothingSealed);
        }
        Ok(roots)
    }

    /// The quarantined item `id` and the baseline that holds it.
    pub fn quarantined(&self, id: &str) -> Result<(Baseline, QuarantineRecord)> {
        for b in self.baselines() {
            let b = b?;
            if let Ok(r) = b.quarantine.get(id) {
                return Ok((b, r));
            }
        }
        Err(GuardError::NoSuchQuarantine(id.to_string()))
    }

    /// The sealed root `p` lies in, whether `p` exists or not (a deleted
    /// file is published by naming it).
    pub fn owning(&self, p: &Path) -> Result<Baseline> {
        let abs = std::path::absolute(p).map_err(io_err(p))?;
        let parent = abs.parent().and_then(|d| std::fs::canonicalize(d).ok());
        let candidates = [
            std::fs::canonicalize(&abs).ok(),
            parent.map(|d| d.join(abs.file_name().unwrap_or_default())),
        ];
        for b in self.baselines() {
            let b = b?;
            if candidates.iter().flatten().any(|c| c.starts_with(&b.root)) {
                return Ok(b);
            }
        }
        Err(GuardError::NotUnderARoot(p.to_path_buf()))
    }
}
