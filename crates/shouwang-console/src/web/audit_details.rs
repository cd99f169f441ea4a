//! An audit entry's details as a person reads them: each key by its label
//! (`shouwang_model::audit`), values in words (roles, statuses, levels,
//! 是/否, times in Beijing time), and the address a login came from apart,
//! for its own column. The stored JSON is not changed: it is hashed into
//! the chain, and the JSON API returns it as stored.

use std::str::FromStr;

use chrono::DateTime;
use serde_json::Value;
use shouwang_model::audit::{detail_label, detail_rank};
use shouwang_model::taxonomy::IncidentLevel;
use shouwang_model::{FindingStatus, IncidentStatus, ReportStage, beijing_seconds};
use shouwang_store::Role;

/// Past this many characters the words are cut (an entry naming 100 files
/// stays one table row).
const MAX_CHARS: usize = 600;

/// (details in words, the source address or "").
pub(crate) fn readable(details: &str, lang: &str) -> (String, String) {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(details) else {
        // Not an object (null, a number, or text from an older version):
        // shown as stored, but never JSON null.
        return match details {
            "null" | "{}" => (String::new(), String::new()),
            other => (other.to_string(), String::new()),
        };
    };
    let ip = map
        .get("ip")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let zh = lang != "en";
    let mut keys: Vec<_> = map
        .iter()
        .filter(|(k, v)| k.as_str() != "ip" && !v.is_null())
        .collect();
    keys.sort_by_key(|(k, _)| detail_rank(k));
    let parts: Vec<String> = keys
        .into_iter()
        .map(|(k, v)| {
            let label = detail_label(k).map_or_else(|| k.clone(), |t| if zh { t.zh } else { t.en });
            let sep = if zh { "：" } else { ": " };
            format!("{label}{sep}{}", value(k, v, zh))
        })
        .collect();
    let text = parts.join(if zh { "；" } else { "; " });
    let text = if text.chars().count() > MAX_CHARS {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    };
    (text, ip)
}

/// Who acted, in words: a person's name as it is; Shouwang's own parts and
/// the command line by what they are.
pub(crate) fn actor(actor: &str, lang: &str) -> String {
    let zh = lang != "en";
    if let Some(user) = actor.strip_prefix("cli:") {
        return if zh {
            format!("命令行（{user}）")
        } else {
            format!("command line ({user})")
        };
    }
    let named = match actor {
        "system" => Some(("系统", "system")),
        "guard" => Some(("网页防篡改", "anti-tamper guard")),
        "incident" | "incidents" => Some(("事件研判", "incident engine")),
        "site" => Some(("网站巡查", "website inspection")),
        "host" => Some(("主机自查", "host check")),
        _ => None,
    };
    named.map_or_else(
        || actor.to_string(),
        |(z, e)| if zh { z } else { e }.to_string(),
    )
}

fn value(key: &str, v: &Value, zh: bool) -> String {
    match v {
        Value::Bool(b) => match (b, zh) {
            (true, true) => "是".into(),
            (false, true) => "否".into(),
            (true, false) => "yes".into(),
            (false, false) => "no".into(),
        },
        Value::Number(n) => n.to_string(),
        Value::String(s) => word(key, s, zh),
        // A change [before, after] reads "before → after".
        Value::Array(items) if items.len() == 2 && matches!(key, "level" | "status") => {
            format!(
                "{} → {}",
                value(key, &items[0], zh),
                value(key, &items[1], zh)
            )
        }
        Value::Array(items) => items
            .iter()
            .map(|i| value(key, i, zh))
            .collect::<Vec<_>>()
            .join(if zh { "、" } else { ", " }),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let label =
                    detail_label(k).map_or_else(|| k.clone(), |t| if zh { t.zh } else { t.en });
                format!("{label} {}", value(k, v, zh))
            })
            .collect::<Vec<_>>()
            .join(if zh { "，" } else { ", " }),
        Value::Null => String::new(),
    }
}

/// A stored word in the reader's language, where the key says what kind
/// of word it is; anything else as stored.
fn word(key: &str, s: &str, zh: bool) -> String {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = beijing_seconds(t.to_utc());
        return if zh {
            format!("{t}（北京时间）")
        } else {
            format!("{t} (Beijing time)")
        };
    }
    if !zh {
        return s.to_string();
    }
    let known = match key {
        "role" => Role::from_str(s).ok().map(Role::zh),
        "from" | "to" => FindingStatus::from_str(s).ok().map(FindingStatus::zh),
        "level" => IncidentLevel::from_str(s).ok().map(IncidentLevel::zh),
        "status" => IncidentStatus::from_str(s).ok().map(IncidentStatus::zh),
        "stage" => ReportStage::from_str(s).ok().map(ReportStage::zh),
        "reason" => match s {
            "unknown user" => Some("用户不存在"),
            "disabled" => Some("账户已停用"),
            "wrong password" => Some("密码错误"),
            _ => None,
        },
        _ => None,
    };
    known.map_or_else(|| s.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_login_reads_in_chinese_with_its_address_apart() {
        let (text, ip) = readable(
            r#"{"reason":"wrong password","failures":3,"ip":"192.168.1.23"}"#,
            "zh",
        );
        assert_eq!(text, "原因：密码错误；连续失败次数：3");
        assert_eq!(ip, "192.168.1.23");
    }

    #[test]
    fn changes_times_and_flags_are_words() {
        let (text, _) = readable(
            r#"{"level":["general","large"],"until":"2026-12-01T20:13:51Z","own_site":true,"note":null}"#,
            "zh",
        );
        assert!(text.contains("事件级别：一般 → 较大"), "{text}");
        assert!(
            text.contains("锁定至：2026-12-02 04:13:51（北京时间）"),
            "{text}"
        );
        assert!(text.contains("本单位网站：是"), "{text}");
        assert!(!text.contains("null") && !text.contains('{'), "{text}");
        assert_eq!(readable("null", "zh"), (String::new(), String::new()));
    }

    proptest::proptest! {
        /// Any stored details, JSON or not, read out within the cut and
        /// without a panic.
        #[test]
        fn any_details_read_out_within_the_cut(raw in "\\PC{0,300}", n in 0usize..2000) {
            let (text, _) = readable(&raw, "zh");
            proptest::prop_assert!(text.chars().count() <= raw.chars().count().max(MAX_CHARS + 1));
            let many = serde_json::json!({ "paths": vec!["x"; n], "level": [raw.clone(), "large"] });
            let (text, _) = readable(&many.to_string(), "zh");
            proptest::prop_assert!(text.chars().count() <= MAX_CHARS + 1);
        }
    }

    #[test]
    fn a_long_list_is_cut() {
        let paths: Vec<String> = (0..500).map(|i| format!("news/{i}.html")).collect();
        let (text, _) = readable(&serde_json::json!({ "paths": paths }).to_string(), "zh");
        assert!(text.chars().count() <= MAX_CHARS + 1 && text.ends_with('…'));
    }
}
