//! `shouwang audit verify|anchor`.

use anyhow::{Context, Result};
use shouwang_store::AuditAnchor;

use super::{Access, Ctx, Outcome};
use crate::output;

pub fn verify(ctx: &Ctx, anchor: Option<&AuditAnchor>, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let verdict = match anchor {
        Some(a) => store.verify_audit_against(a),
        None => store.verify_audit(),
    }
    .context("cannot read the audit log")?;
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

pub fn anchor(ctx: &Ctx, json: bool) -> Result<Outcome> {
    let loaded = ctx.load_config()?;
    let store = ctx.open_store(&loaded, Access::Existing)?;
    let anchor = store.audit_anchor().context("cannot read the audit log")?;
    if json {
        output::print_json(&anchor)?;
    } else {
        output::print(&format!(
            "{anchor}\n审计日志锚点：第 {} 条。请把上面一行记在本机之外（纸面、邮件或上级单位），日后用 `shouwang audit verify --anchor` 核对日志未被截断。\n",
            anchor.seq
        ))?;
    }
    Ok(Outcome::Clean)
}
