//! The audit log's vocabulary for people: what each dotted action name
//! (`user.login.failed`) and each key of its details (`failures`) is
//! called, in Chinese and English.
//!
//! The store keeps the dotted names (they are hashed into the chain and
//! must never change); pages and reports show these labels. Every action
//! any part of Shouwang writes is listed here: `NewAuditEntry::new` asserts
//! it in debug builds, so a new action without a label fails the tests
//! that exercise it.

use crate::Text;

/// (action, 中文, English).
const ACTIONS: &[(&str, &str, &str)] = &[
    ("system.start", "系统启动", "Started"),
    ("system.stop", "系统停止", "Stopped"),
    ("user.add", "添加用户", "User added"),
    ("user.passwd", "重设密码", "Password set"),
    ("user.disable", "停用用户", "User disabled"),
    ("user.enable", "启用用户", "User enabled"),
    ("user.unlock", "解除登录锁定", "Login lock ended"),
    ("user.login", "登录", "Logged in"),
    ("user.login.failed", "登录失败", "Login failed"),
    (
        "user.login.locked",
        "锁定期间尝试登录",
        "Login tried while locked",
    ),
    (
        "user.lockout",
        "登录失败过多，账户锁定",
        "Locked after failed logins",
    ),
    ("user.logout", "退出登录", "Logged out"),
    ("token.create", "创建接口令牌", "API token created"),
    ("token.revoke", "吊销接口令牌", "API token revoked"),
    (
        "terminal.token.create",
        "生成终端注册令牌",
        "Terminal enrollment token created",
    ),
    (
        "terminal.token.revoke",
        "作废终端注册令牌",
        "Terminal enrollment token revoked",
    ),
    ("terminal.enroll", "终端注册", "Terminal enrolled"),
    (
        "terminal.revoke",
        "吊销终端凭据",
        "Terminal credential revoked",
    ),
    ("finding.status", "修改问题状态", "Finding status changed"),
    ("finding.resolved", "问题复查已消除", "Findings resolved"),
    (
        "finding.assign",
        "指定问题责任人和整改时限",
        "Finding owner and due date set",
    ),
    ("incident.update", "处置安全事件", "Incident updated"),
    (
        "incident.engine.reset",
        "重置事件研判进度",
        "Incident engine reset",
    ),
    ("unit.profile", "修改单位信息", "Unit profile changed"),
    ("unit.staff", "修改人员名册", "Staff roster changed"),
    ("unit.staff.import", "导入人员名册", "Staff roster imported"),
    ("notify.channel.add", "添加通知渠道", "Channel added"),
    ("notify.channel.remove", "删除通知渠道", "Channel removed"),
    ("notify.test", "测试通知渠道", "Channel tested"),
    ("host.check", "立即主机自查", "Host check started"),
    ("site.add", "添加网站", "Website added"),
    ("site.remove", "移除网站", "Website removed"),
    ("site.inspect", "立即巡查网站", "Website inspection started"),
    (
        "site.merge",
        "合并同一网站的不同写法",
        "Spellings of one website merged",
    ),
    ("guard.seal", "建立防篡改基线", "Web root sealed"),
    ("guard.publish", "发布网页更新", "Update published"),
    ("guard.pause", "暂停防篡改", "Guard paused"),
    ("guard.resume", "恢复防篡改", "Guard resumed"),
    (
        "guard.restore",
        "从基线恢复网页",
        "Restored from the baseline",
    ),
    (
        "guard.restore-to",
        "将基线恢复到指定目录",
        "Baseline restored to a directory",
    ),
    (
        "guard.quarantine.release",
        "放出隔离文件",
        "Released from quarantine",
    ),
    (
        "guard.auto-restore",
        "自动恢复被篡改网页",
        "Tampering undone",
    ),
    (
        "report.selfcheck",
        "生成自查报告",
        "Self-check report taken",
    ),
    ("report.ledger", "导出台账", "Ledger taken"),
    ("report.incident", "生成事件报告", "Incident report taken"),
];

/// (key, 中文, English) of the details the actions above write.
const DETAIL_KEYS: &[(&str, &str, &str)] = &[
    ("ip", "来源地址", "from"),
    ("reason", "原因", "reason"),
    ("failures", "连续失败次数", "failures in a row"),
    ("until", "锁定至", "locked until"),
    ("locked_until", "锁定至", "locked until"),
    ("was_locked_until", "原锁定至", "was locked until"),
    ("role", "角色", "role"),
    ("must_change", "须修改密码", "must change password"),
    ("tokens_revoked", "吊销令牌数", "tokens revoked"),
    ("id", "编号", "id"),
    ("label", "用途", "label"),
    ("scope", "权限", "scope"),
    ("days", "有效天数", "days"),
    ("expires_at", "到期时间", "expires"),
    ("from", "原状态", "from"),
    ("to", "新状态", "to"),
    ("check", "检查项", "check"),
    ("count", "数量", "count"),
    ("findings", "问题", "findings"),
    ("level", "事件级别", "level"),
    ("status", "处置状态", "status"),
    ("note", "备注", "note"),
    ("paths", "文件", "paths"),
    ("files", "文件数", "files"),
    ("actions", "操作", "actions"),
    ("total", "合计", "total"),
    ("events_after", "事件起点", "events after"),
    ("findings_after", "问题起点", "findings after"),
    ("name", "名称", "name"),
    ("own_site", "本单位网站", "own site"),
    ("by", "来源", "by"),
    ("kind", "类型", "kind"),
    ("root", "网站目录", "web root"),
    ("target", "目标", "target"),
    ("version", "版本", "version"),
    ("pid", "进程号", "pid"),
    ("data_dir", "数据目录", "data dir"),
    ("from_date", "起始日期", "from"),
    ("to_date", "截止日期", "to"),
    ("format", "格式", "format"),
    ("writables", "可写目录", "writable areas"),
    ("excludes", "排除", "excluded"),
    ("minutes", "分钟", "minutes"),
    ("quarantine_id", "隔离编号", "quarantine id"),
    ("owner", "责任人", "owner"),
    ("due", "整改时限", "due"),
    ("change", "变更", "change"),
    ("added", "新增", "added"),
    ("updated", "更新", "updated"),
    ("merged", "并入的地址", "addresses merged"),
    ("kept", "保留的记录", "record kept"),
    ("events", "事件", "events"),
    ("incidents", "安全事件", "incidents"),
];

fn lookup(table: &'static [(&'static str, &'static str, &'static str)], key: &str) -> Option<Text> {
    table
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, zh, en)| Text::new(zh, en))
}

/// What the audit action `action` is, for people; `None` for a name no part
/// of Shouwang writes (an entry from a newer version: pages show its name).
pub fn action_label(action: &str) -> Option<Text> {
    lookup(ACTIONS, action)
}

/// What the details key `key` is called, for people; `None` when unknown.
pub fn detail_label(key: &str) -> Option<Text> {
    lookup(DETAIL_KEYS, key)
}

/// Where `key` comes when details are read out: in the order of the table
/// (the address, the reason, then counts), unknown keys last.
pub fn detail_rank(key: &str) -> usize {
    DETAIL_KEYS
        .iter()
        .position(|(k, _, _)| *k == key)
        .unwrap_or(DETAIL_KEYS.len())
}

/// Every action name Shouwang writes.
pub fn all_actions() -> impl Iterator<Item = &'static str> {
    ACTIONS.iter().map(|(a, _, _)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_action_and_key_is_listed_once_with_two_labels() {
        for table in [ACTIONS, DETAIL_KEYS] {
            let mut seen = HashSet::new();
            for (k, zh, en) in table {
                assert!(seen.insert(*k), "{k} listed twice");
                assert!(!zh.is_empty() && !en.is_empty(), "{k} lacks a label");
                assert!(
                    !zh.chars().any(|c| c.is_ascii_alphabetic()),
                    "the Chinese label of {k} has English in it: {zh}"
                );
            }
        }
        assert_eq!(action_label("user.login.failed").unwrap().zh, "登录失败");
        assert!(action_label("user.login.failed.x").is_none());
    }
}
