//! Channels and test deliveries as a terminal shows them. The CLI prints
//! these.

use std::time::Duration;

use shouwang_model::text::table;

use crate::{ChannelSummary, Delivery, DeliveryStatus};

/// The channels in effect, secrets masked.
pub fn channels(channels: &[ChannelSummary]) -> String {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.kind.label().to_string(),
                if c.enabled { "启用" } else { "停用" }.to_string(),
                c.min_level.clone().unwrap_or_else(|| "全部".to_string()),
                format!("{}/分钟", c.per_minute),
                c.target.clone(),
            ]
        })
        .collect();
    table(&["渠道", "类型", "状态", "最低级别", "限流", "目标"], &rows)
}

/// What each test send did.
pub fn deliveries(deliveries: &[Delivery]) -> String {
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            let result = match &d.status {
                DeliveryStatus::Sent => "已发送".to_string(),
                DeliveryStatus::Coalesced { pending } => format!("限流合并（{pending} 条待发）"),
                DeliveryStatus::Failed { error } => format!("失败：{error}"),
            };
            vec![
                d.channel.clone(),
                d.kind.label().to_string(),
                d.attempts.to_string(),
                elapsed(d.elapsed),
                result,
            ]
        })
        .collect();
    table(&["渠道", "类型", "尝试", "用时", "结果"], &rows)
}

fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
