//! The console's two languages. Chinese is the default; every visible
//! string has an English twin here, looked up by key from the templates.

/// (key, 中文, English)
const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "app",
        "守望 网络安全保障系统",
        "Shouwang security assurance",
    ),
    ("app.short", "守望", "Shouwang"),
    ("nav.dashboard", "总览", "Dashboard"),
    ("nav.findings", "问题", "Findings"),
    ("nav.events", "事件", "Events"),
    ("nav.hosts", "主机自查", "Hosts"),
    ("nav.sites", "网站巡查", "Websites"),
    ("nav.guard", "网页防篡改", "Anti-tamper"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.users", "用户", "Users"),
    ("nav.password", "修改密码", "Change password"),
    ("nav.logout", "退出", "Log out"),
    ("lang.other", "English", "中文"),
    ("login.title", "登录", "Log in"),
    ("login.user", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.failed",
        "用户名或密码错误，或账户已停用。",
        "Wrong user name or password, or the account is disabled.",
    ),
    (
        "login.locked",
        "登录失败次数过多，账户已锁定，请稍后再试或联系管理员。",
        "Too many failed logins: the account is locked. Try again later or ask an administrator.",
    ),
    (
        "login.expired",
        "登录已过期，请重新登录。",
        "Your session has expired; please log in again.",
    ),
    ("dash.title", "安全总览", "Security overview"),
    ("dash.open_findings", "未处理问题", "Open findings"),
    (
        "dash.by_sensor",
        "按来源统计的未处理问题",
        "Open findings by sensor",
    ),
    ("dash.latest_events", "最新事件", "Latest events"),
    ("dash.events_total", "事件总数", "Events recorded"),
    ("dash.store", "数据存储", "Data store"),
    ("dash.no_findings", "暂无未处理问题。", "No open findings."),
    ("dash.no_events", "暂无事件。", "No events yet."),
    ("col.severity", "级别", "Severity"),
    ("col.title", "问题", "Finding"),
    ("col.asset", "对象", "Asset"),
    ("col.location", "位置", "Location"),
    ("col.sensor", "来源", "Sensor"),
    ("col.check", "检查项", "Check"),
    ("col.last_seen", "最近发现", "Last seen"),
    ("col.first_seen", "首次发现", "First seen"),
    ("col.status", "状态", "Status"),
    ("col.time", "时间", "Time"),
    ("col.kind", "类型", "Kind"),
    ("col.summary", "摘要", "Summary"),
    ("col.actor", "操作人", "Actor"),
    ("col.action", "操作", "Action"),
    ("col.target", "对象", "Target"),
    ("col.details", "详情", "Details"),
    ("col.name", "用户名", "Name"),
    ("col.role", "角色", "Role"),
    ("col.total", "合计", "Total"),
    ("col.evidence", "证据", "Evidence"),
    ("col.provenance", "来源依据", "Provenance"),
    ("col.version", "版本", "Version"),
    ("col.input", "检查对象", "Input"),
    ("findings.title", "问题清单", "Findings"),
    ("findings.filter", "筛选", "Filter"),
    ("findings.any", "全部", "Any"),
    (
        "findings.none",
        "没有符合条件的问题。",
        "No findings match.",
    ),
    ("findings.change", "更新状态", "Update"),
    (
        "findings.updated",
        "问题状态已更新。",
        "Finding status updated.",
    ),
    (
        "findings.readonly",
        "只读账户不能修改问题状态。",
        "Read-only accounts cannot change findings.",
    ),
    ("findings.detail", "问题详情", "Finding"),
    ("events.title", "事件记录", "Events"),
    ("events.none", "没有符合条件的事件。", "No events match."),
    ("audit.title", "审计日志", "Audit log"),
    (
        "audit.intact",
        "审计日志完整：哈希链校验通过。",
        "Audit log intact: the hash chain verifies.",
    ),
    (
        "audit.tampered",
        "审计日志被篡改！",
        "The audit log was tampered with!",
    ),
    ("users.title", "用户管理", "Users"),
    ("users.add", "新增用户", "Add user"),
    (
        "users.password_hint",
        "留空则生成一次性密码",
        "Leave empty to generate a one-time password",
    ),
    ("users.disable", "停用", "Disable"),
    ("users.enable", "启用", "Enable"),
    ("users.reset", "重置密码", "Reset password"),
    ("users.token", "生成API令牌", "New API token"),
    ("users.disabled", "已停用", "Disabled"),
    ("users.active", "正常", "Active"),
    ("users.locked", "已锁定", "Locked"),
    (
        "users.once",
        "请立即记录，此信息只显示一次：",
        "Write this down now; it is shown only once:",
    ),
    ("password.title", "修改密码", "Change password"),
    (
        "password.must",
        "首次登录或密码已重置，请先设置新密码。",
        "Please set a new password before continuing.",
    ),
    ("password.current", "当前密码", "Current password"),
    ("password.new", "新密码", "New password"),
    ("password.confirm", "确认新密码", "Confirm new password"),
    (
        "password.mismatch",
        "两次输入的新密码不一致。",
        "The new passwords do not match.",
    ),
    (
        "password.wrong",
        "当前密码错误。",
        "The current password is wrong.",
    ),
    ("password.changed", "密码已修改。", "Password changed."),
    (
        "password.policy",
        "至少8位，包含大写字母、小写字母、数字、符号中的至少3类。",
        "At least 8 characters from at least 3 of: upper case, lower case, digits, symbols.",
    ),
    ("action.save", "保存", "Save"),
    ("action.filter", "筛选", "Filter"),
    (
        "error.forbidden",
        "没有权限执行此操作。",
        "You are not allowed to do this.",
    ),
    (
        "error.csrf",
        "请求校验失败（CSRF令牌无效），请刷新页面后重试。",
        "The request failed its check (invalid CSRF token). Reload the page and try again.",
    ),
    ("error.not_found", "页面或对象不存在。", "Not found."),
    (
        "error.internal",
        "内部错误，详情已记录在日志中。",
        "Internal error; the details are in the log.",
    ),
    ("error.title", "出错了", "Something went wrong"),
    ("back", "返回", "Back"),
    ("prev", "上一页", "Previous"),
    ("next", "下一页", "Next"),
    ("guard.title", "网页防篡改", "Web anti-tamper"),
    ("guard.root", "网站目录", "Web root"),
    ("guard.files", "文件数", "Files"),
    ("guard.sealed_at", "基线封存时间", "Sealed"),
    ("guard.events", "篡改事件", "Tamper events"),
    ("guard.quarantine", "隔离区", "Quarantine"),
    (
        "guard.quarantine_empty",
        "隔离区为空。",
        "The quarantine is empty.",
    ),
    ("guard.quarantine_id", "隔离编号", "Quarantine id"),
    ("guard.paused", "维护中，至", "Maintenance until"),
    ("guard.protected", "防护中", "Protected"),
    (
        "guard.none",
        "尚未封存任何网站目录。请先运行 shouwang guard seal 目录。",
        "No web root is sealed yet: run shouwang guard seal DIR.",
    ),
    ("guard.excludes", "排除", "Excluded"),
    ("guard.writables", "可写目录", "Writable areas"),
    (
        "guard.publish",
        "发布（纳入基线）",
        "Publish (accept into the baseline)",
    ),
    (
        "guard.publish_path",
        "经审核的合法变更路径",
        "Path of an approved change",
    ),
    (
        "guard.published",
        "已发布，变更已纳入基线。",
        "Published: the change is now part of the baseline.",
    ),
    ("guard.latency", "恢复耗时(毫秒)", "Restore (ms)"),
    (
        "guard.diff",
        "篡改内容对比",
        "Diff against the sealed version",
    ),
    (
        "guard.no_diff",
        "不是文本文件或文件过大，无法显示对比。",
        "Not a text file, or too large to show a diff.",
    ),
    ("guard.view", "查看", "View"),
    ("guard.reason", "原因", "Reason"),
    ("guard.reason.intruder", "非法新增", "Intruder"),
    ("guard.reason.tampered", "被篡改的版本", "Tampered version"),
    ("guard.bytes", "字节", "Bytes"),
    ("guard.target", "链接目标", "Link target"),
    ("hosts.title", "主机自查", "Host self-inspection"),
    (
        "hosts.none",
        "还没有主机自查记录：在主机上运行 shouwang host check。",
        "No host checks yet: run shouwang host check on a host.",
    ),
    ("hosts.last_check", "最近检查", "Last check"),
    ("hosts.profile", "检查范围", "Profile"),
    ("hosts.score", "得分", "Score"),
    ("hosts.pass", "符合", "Pass"),
    ("hosts.fail", "不符合", "Fail"),
    ("hosts.cannot_check", "无法检查", "Could not check"),
    ("hosts.resolved", "已整改", "Resolved"),
    ("hosts.open", "未处理问题", "Open findings"),
    ("hosts.no_open", "没有未处理的问题。", "No open findings."),
    ("hosts.run_file", "检查记录", "Run file"),
    (
        "hosts.run_missing",
        "检查记录文件不在本机，只显示历史与问题。",
        "The run file is not on this machine; history and findings only.",
    ),
    ("hosts.scores", "等保条款得分", "Scores per 等保 control"),
    ("hosts.control", "控制点", "Control"),
    (
        "hosts.results",
        "不符合与无法检查的项",
        "Failed and unchecked items",
    ),
    ("hosts.verdict", "结果", "Result"),
    ("hosts.verdict_fail", "不符合", "Fail"),
    ("hosts.verdict_cannot", "无法检查", "Could not check"),
    ("hosts.fix", "整改建议", "Fix"),
    ("hosts.history", "检查历史", "History"),
    ("sites.title", "网站巡查", "Website inspection"),
    (
        "sites.none",
        "还没有网站：用 shouwang site add URL 添加，shouwang up 每天早晚巡查。",
        "No websites yet: add one with shouwang site add URL; shouwang up inspects them morning and evening.",
    ),
    ("sites.url", "网址", "URL"),
    ("sites.name", "名称", "Name"),
    ("sites.last_run", "最近巡查", "Last inspection"),
    ("sites.homepage", "首页", "Homepage"),
    ("sites.pages", "页面数", "Pages"),
    ("sites.links", "链接与资源", "Links and resources"),
    ("sites.broken_home", "首页死链", "Broken on homepage"),
    ("sites.broken_other", "其他页面死链", "Broken elsewhere"),
    ("sites.findings", "问题数", "Findings"),
    ("sites.seconds", "用时（秒）", "Seconds"),
    ("sites.open", "未处理问题", "Open findings"),
    ("sites.no_open", "没有未处理的问题。", "No open findings."),
    ("sites.never", "尚未巡查", "Not inspected yet"),
    ("sites.history", "巡查记录", "Inspections"),
    ("sites.location", "位置", "Where"),
    ("role.admin", "管理员", "Administrator"),
    ("role.operator", "操作员", "Operator"),
    ("role.auditor", "审计员", "Auditor"),
];

/// The text for `key` in `lang`; an unknown key shows itself, so a missing
/// translation is visible rather than blank.
pub fn tr<'a>(lang: &str, key: &'a str) -> &'a str {
    match MESSAGES.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => {
            if lang == "en" {
                en
            } else {
                zh
            }
        }
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in MESSAGES {
            assert!(seen.insert(k), "duplicate key {k}");
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(tr("en", "nav.findings"), "Findings");
        assert_eq!(tr("zh", "nav.findings"), "问题");
        assert_eq!(tr("zh", "no.such.key"), "no.such.key");
    }
}
