//! The messages' text: built-in Chinese templates (minijinja), one for
//! markdown robots (WeCom, DingTalk), one for plain text (Feishu, e-mail,
//! webhooks), and a one-line subject. A channel's `template` replaces its
//! body template.

use minijinja::Environment;
use serde::Serialize;

use crate::config::{ChannelConfig, ChannelKind, ConfigError};
use crate::notice::{Notice, china_time};

/// Markdown as WeCom and DingTalk robots render it. `trim_blocks` is on: a
/// line holding only a block tag leaves nothing behind.
pub const MARKDOWN: &str = r#"### 守望 · {{ heading }}
**{{ title }}**
{% if level %}
- 事件级别：**{{ level }}**
{% endif %}
{% if class %}
- 事件分类：{{ class }}{% if subclass %} / {{ subclass }}{% endif %}

{% endif %}
{% if asset %}
- 涉及资产：{{ asset }}
{% endif %}
{% if discovered_at %}
- 发现时间：{{ discovered_at }}
{% endif %}
{% if incident_id %}
- 事件编号：{{ incident_id }}
{% endif %}
{% if deadline %}

**{{ deadline }}**
{% endif %}
{% if summary %}

{% for line in summary %}
> {{ line }}
{% endfor %}
{% endif %}
{% if coalesced %}

另有 {{ coalesced }} 条通知因限流合并{% if coalesced_titles %}：{{ coalesced_titles | join("；") }}{% endif %}

{% endif %}
{% if link %}

[在控制台查看]({{ link }})
{% endif %}
"#;

/// Plain text, for channels that do not render markdown.
pub const TEXT: &str = r#"【守望】{{ heading }}
{{ title }}
{% if level %}
事件级别：{{ level }}
{% endif %}
{% if class %}
事件分类：{{ class }}{% if subclass %} / {{ subclass }}{% endif %}

{% endif %}
{% if asset %}
涉及资产：{{ asset }}
{% endif %}
{% if discovered_at %}
发现时间：{{ discovered_at }}
{% endif %}
{% if incident_id %}
事件编号：{{ incident_id }}
{% endif %}
{% if deadline %}
{{ deadline }}
{% endif %}
{% for line in summary %}
· {{ line }}
{% endfor %}
{% if coalesced %}
另有 {{ coalesced }} 条通知因限流合并{% if coalesced_titles %}：{{ coalesced_titles | join("；") }}{% endif %}

{% endif %}
{% if link %}
查看详情：{{ link }}
{% endif %}
"#;

/// The e-mail subject and the title DingTalk and Feishu show in the chat
/// list.
pub const SUBJECT: &str =
    r#"【守望】{{ heading }}：{% if level %}[{{ level }}] {% endif %}{{ title }}"#;

/// What a template sees. The same names for every channel, so that a
/// custom template can be moved between them.
#[derive(Debug, Serialize)]
pub(crate) struct Context<'a> {
    /// incident-opened, incident-escalated, incident-updated, test, digest.
    pub kind: &'a str,
    pub heading: &'a str,
    pub title: &'a str,
    pub incident_id: Option<i64>,
    pub class: Option<&'a str>,
    pub subclass: Option<&'a str>,
    pub level: Option<&'a str>,
    pub asset: Option<&'a str>,
    /// China time, e.g. 2026-11-22 12:00.
    pub discovered_at: Option<String>,
    pub deadline: Option<&'a str>,
    pub summary: &'a [String],
    pub link: Option<&'a str>,
    /// Notices held back by the rate limit since the last message.
    pub coalesced: u32,
    pub coalesced_titles: &'a [String],
}

impl<'a> Context<'a> {
    pub fn of(notice: &'a Notice, coalesced: u32, coalesced_titles: &'a [String]) -> Self {
        Context {
            kind: match notice.kind {
                crate::NoticeKind::IncidentOpened => "incident-opened",
                crate::NoticeKind::IncidentEscalated => "incident-escalated",
                crate::NoticeKind::IncidentUpdated => "incident-updated",
                crate::NoticeKind::Test => "test",
                crate::NoticeKind::AuditAnchor => "audit-anchor",
            },
            heading: notice.kind.label(),
            title: &notice.title,
            incident_id: notice.incident_id,
            class: notice.class.as_deref(),
            subclass: notice.subclass.as_deref(),
            level: notice.level.as_deref(),
            asset: notice.asset.as_deref(),
            discovered_at: Some(china_time(notice.discovered_at)),
            deadline: notice.deadline.as_deref(),
            summary: &notice.summary,
            link: notice.link.as_deref(),
            coalesced,
            coalesced_titles,
        }
    }

    /// The message sent for notices the rate limit held back, when no
    /// other message carried their count.
    pub fn digest(title: &'a str, coalesced: u32, titles: &'a [String]) -> Self {
        Context {
            kind: "digest",
            heading: "限流合并通知",
            title,
            incident_id: None,
            class: None,
            subclass: None,
            level: None,
            asset: None,
            discovered_at: None,
            deadline: None,
            summary: &[],
            link: None,
            coalesced,
            coalesced_titles: titles,
        }
    }
}

/// The text of one message.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub subject: String,
    pub body: String,
}

pub(crate) struct Templates {
    env: Environment<'static>,
}

fn body_name(channel: &str) -> String {
    format!("channel:{channel}")
}

impl Templates {
    /// The built-in templates and each channel's own, parsed once so that a
    /// broken template is a config error at start, not a lost message.
    pub fn new(channels: &[ChannelConfig]) -> Result<Templates, ConfigError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        env.add_template("markdown", MARKDOWN)
            .and_then(|()| env.add_template("text", TEXT))
            .and_then(|()| env.add_template("subject", SUBJECT))
            .map_err(|e| {
                ConfigError::General(format!("a built-in template does not parse: {e}"))
            })?;
        for c in channels {
            if let Some(t) = &c.template {
                env.add_template_owned(body_name(&c.name), t.clone())
                    .map_err(|e| ConfigError::Field {
                        channel: c.name.clone(),
                        field: "template",
                        problem: format!("does not parse: {e}"),
                    })?;
            }
        }
        Ok(Templates { env })
    }

    pub fn render(&self, channel: &ChannelConfig, ctx: &Context<'_>) -> Result<Rendered, String> {
        let body_template = if channel.template.is_some() {
            body_name(&channel.name)
        } else if matches!(channel.kind, ChannelKind::Wecom | ChannelKind::Dingtalk) {
            "markdown".to_string()
        } else {
            "text".to_string()
        };
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| {
                    format!(
                        "the template of notify channel \"{}\" failed: {e}",
                        channel.name
                    )
                })
        };
        Ok(Rendered {
            subject: render("subject")?.trim().to_string(),
            body: tidy(&render(&body_template)?),
        })
    }
}

/// At most one blank line in a row, none at the ends: optional fields
/// left out of a template leave no gaps.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Notice, NoticeKind};
    use chrono::TimeZone;

    fn notice() -> Notice {
        Notice {
            kind: NoticeKind::IncidentOpened,
            incident_id: Some(42),
            title: "门户网站首页被篡改".into(),
            class: Some("信息破坏事件".into()),
            subclass: Some("信息篡改事件".into()),
            level: Some("较大".into()),
            asset: Some("某某镇人民政府网站".into()),
            discovered_at: chrono::Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap(),
            deadline: Some("首次报告截止 2026-11-22 13:00（剩余 45 分钟）".into()),
            summary: vec!["首页标题被改为博彩广告".into()],
            link: Some("http://127.0.0.1:8700/incidents/42".into()),
        }
    }

    #[test]
    fn markdown_names_every_field_in_chinese() {
        let c = ChannelConfig::new("w", ChannelKind::Wecom);
        let t = Templates::new(std::slice::from_ref(&c)).unwrap();
        let n = notice();
        let r = t.render(&c, &Context::of(&n, 0, &[])).unwrap();
        assert_eq!(
            r.body,
            "### 守望 · 新发生网络安全事件\n**门户网站首页被篡改**\n- 事件级别：**较大**\n\
             - 事件分类：信息破坏事件 / 信息篡改事件\n- 涉及资产：某某镇人民政府网站\n\
             - 发现时间：2026-11-22 12:00\n- 事件编号：42\n\n\
             **首次报告截止 2026-11-22 13:00（剩余 45 分钟）**\n\n> 首页标题被改为博彩广告\n\n\
             [在控制台查看](http://127.0.0.1:8700/incidents/42)"
        );
        assert_eq!(
            r.subject,
            "【守望】新发生网络安全事件：[较大] 门户网站首页被篡改"
        );
    }

    #[test]
    fn text_leaves_out_what_is_missing_and_counts_coalesced() {
        let c = ChannelConfig::new("f", ChannelKind::Feishu);
        let t = Templates::new(std::slice::from_ref(&c)).unwrap();
        let n = Notice::test(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap());
        let titles = vec!["甲".to_string(), "乙".to_string()];
        let r = t.render(&c, &Context::of(&n, 2, &titles)).unwrap();
        assert_eq!(
            r.body,
            "【守望】测试通知\n守望通知渠道测试\n发现时间：2026-11-22 12:00\n\
             · 收到这条消息，说明本通知渠道配置正确。\n另有 2 条通知因限流合并：甲；乙"
        );
    }

    #[test]
    fn a_channel_template_replaces_the_body_and_a_broken_one_is_a_config_error() {
        let mut c = ChannelConfig::new("mine", ChannelKind::Wecom);
        c.template = Some("{{ level }}级：{{ title }}".into());
        let t = Templates::new(std::slice::from_ref(&c)).unwrap();
        let n = notice();
        assert_eq!(
            t.render(&c, &Context::of(&n, 0, &[])).unwrap().body,
            "较大级：门户网站首页被篡改"
        );
        c.template = Some("{% if %}".into());
        let e = Templates::new(std::slice::from_ref(&c))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("notify channel \"mine\": template does not parse"),
            "{e}"
        );
    }
}
