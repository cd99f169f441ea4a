//! The first-run checklist on the dashboard: 单位信息 → 网站 → 网页防篡改
//! → 通知渠道 → 报告, each step ticked off by what the store and the data
//! dir hold (never by a flag a person sets), so it is true whichever way
//! the step was done — in the console, with the CLI or in the config file.

use serde::Serialize;
use shouwang_guard::GuardDir;
use shouwang_model::AssetKind;
use shouwang_store::Store;

use super::AppState;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Step {
    /// i18n key of the step's name and of its hint (`<key>_hint`).
    pub key: &'static str,
    pub href: &'static str,
    pub done: bool,
}

/// The steps in order. `channels` is how many notification channels are
/// configured (the config file's and the console's).
pub(crate) fn steps(
    state: &AppState,
    s: &dyn Store,
    channels: usize,
) -> Result<Vec<Step>, shouwang_store::StoreError> {
    let unit = crate::unit_profile(s, &state.config.unit);
    let assets = s.assets()?;
    let has = |kind: AssetKind| assets.iter().any(|a| a.id.kind == kind);
    let sealed = state
        .config
        .data_dir
        .as_ref()
        .and_then(|d| GuardDir::open(d).ok())
        .is_some_and(|g| g.sealed_count() > 0);
    Ok(vec![
        Step {
            key: "check.unit",
            href: "/unit",
            done: unit.is_named() && !unit.security_officer.name.trim().is_empty(),
        },
        Step {
            key: "check.site",
            href: "/sites",
            done: has(AssetKind::Website),
        },
        Step {
            key: "check.guard",
            href: "/guard",
            done: sealed || has(AssetKind::WebRoot),
        },
        Step {
            key: "check.notify",
            href: "/notify",
            done: channels > 0,
        },
        Step {
            key: "check.report",
            href: "/reports",
            done: s.last_audit_of("report.selfcheck")?.is_some(),
        },
    ])
}
