//! `shouwang audit verify`.

use anyhow::{Context, Result};

use super::{Access, Ctx, Outcome};
use crate::output;

pub fn verify(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let verdict = store.verify_audit().context("cannot read the audit log")?;
    if json {
        output::print_json(&verdict)?;
    } else {
        output::print(&format!("{verdict}\n"))?;
    }
    Ok(if verdict.is_intact() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
