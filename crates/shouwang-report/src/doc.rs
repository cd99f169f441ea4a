//! The layout of each report as a small block model (title, headings,
//! paragraphs, tables), shared by the DOCX writer, the HTML renderer and
//! template filling, so every form of a report says the same thing.

use std::collections::BTreeMap;

use serde::Serialize;
use shouwang_model::ReportStage;

use crate::collect::{pct_text, trim_number};
use crate::facts::*;

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// The document title (方正小标宋, 二号, centred).
    Title {
        text: String,
    },
    /// A centred line under the title (unit, period).
    Subtitle {
        text: String,
    },
    /// 一级 (黑体) or 二级 (楷体) heading.
    Heading {
        level: u8,
        text: String,
    },
    /// Body text (仿宋_GB2312, 三号, first line indented two characters).
    Para {
        text: String,
    },
    /// Smaller text: sources, notes.
    Note {
        text: String,
    },
    Table {
        table: Table,
    },
    /// The 主送机关 line of a 公文: flush left, no indent, ending in "：".
    Addressee {
        text: String,
    },
    /// The 落款: right-aligned lines (the unit, the date), with room above
    /// them for the seal.
    Signature {
        lines: Vec<String>,
    },
    PageBreak,
}

/// A table: relative column widths, a header row, rows of text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub widths: Vec<u32>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&str, u32)]) -> Table {
        Table {
            widths: cols.iter().map(|c| c.1).collect(),
            header: cols.iter().map(|c| c.0.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// A whole document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn para(s: impl Into<String>) -> Block {
    Block::Para { text: s.into() }
}

fn note(s: impl Into<String>) -> Block {
    Block::Note { text: s.into() }
}

fn h1(n: Option<usize>, s: &str) -> Block {
    Block::Heading {
        level: 1,
        text: match n {
            Some(n) => format!("{}、{s}", cn_number(n)),
            None => s.to_string(),
        },
    }
}

fn h2(s: impl Into<String>) -> Block {
    Block::Heading {
        level: 2,
        text: s.into(),
    }
}

fn table(t: Table) -> Block {
    Block::Table { table: t }
}

/// 1 → 一, 12 → 十二.
pub fn cn_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n].to_string(),
        10 => "十".into(),
        11..=19 => format!("十{}", D[n % 10]),
        20..=99 => format!(
            "{}十{}",
            D[n / 10],
            if n.is_multiple_of(10) { "" } else { D[n % 10] }
        ),
        _ => n.to_string(),
    }
}

fn or_none(s: &str) -> String {
    if s.trim().is_empty() {
        "（未填报）".into()
    } else {
        s.trim().to_string()
    }
}

/// What the unit declared, marked as declared; "（未填报）" alone when it
/// declared nothing (not "（未填报）（填报）").
fn declared(s: &str) -> String {
    if s.trim().is_empty() {
        "（未填报）".into()
    } else {
        format!("{}（填报）", s.trim())
    }
}

fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(time_zh).unwrap_or_else(|| "—".into())
}

/// The titles of the 自查报告's sections, by placeholder name, in order.
pub const SELFCHECK_SECTIONS: &[(&str, &str)] = &[
    ("profile", "基本情况"),
    ("guard", "网页防篡改防护情况"),
    ("site", "网站监测情况"),
    ("host", "主机安全自查情况"),
    ("incident", "网络安全事件处置情况"),
    ("organisation", "制度建设、教育培训和应急演练情况"),
    ("problems", "存在问题"),
    ("remediation", "整改措施"),
    ("plan", "下一步工作计划"),
];

/// The tables a template can place, by placeholder name.
pub const SELFCHECK_TABLES: &[&str] = &[
    "figures",
    "leading_group",
    "systems",
    "guard_roots",
    "sites",
    "hosts",
    "host_controls",
    "host_topics",
    "incidents",
    "incidents_by_class",
    "incidents_by_level",
    "open_findings",
    "remediation",
    "evidence",
];

/// The built-in 网络安全自查报告.
pub fn selfcheck(f: &SelfCheckFacts) -> Document {
    let title = format!("{}网络安全自查报告", f.unit.name.trim());
    let mut blocks = vec![
        Block::Title {
            text: title.clone(),
        },
        Block::Subtitle {
            text: format!("（{}）", f.period.zh()),
        },
    ];
    if !f.unit.recipient.trim().is_empty() {
        blocks.push(Block::Addressee {
            text: format!(
                "{}：",
                f.unit.recipient.trim().trim_end_matches(['：', ':'])
            ),
        });
    }
    blocks.extend(intro(f));
    for (i, (name, _)) in SELFCHECK_SECTIONS.iter().enumerate() {
        blocks.extend(selfcheck_section(f, name, Some(i + 1)).unwrap_or_default());
    }
    blocks.push(signature(&f.unit.name, f.generated_at));
    blocks.push(Block::PageBreak);
    blocks.extend(selfcheck_section(f, "evidence", None).unwrap_or_default());
    if f.remediation.iter().any(|r| r.command.is_some()) {
        blocks.push(Block::PageBreak);
        blocks.extend(selfcheck_section(f, "commands", None).unwrap_or_default());
    }
    Document { title, blocks }
}

/// The 落款: the unit and the date, right-aligned under room for the seal.
fn signature(unit: &str, at: chrono::DateTime<chrono::Utc>) -> Block {
    Block::Signature {
        lines: vec![
            or_none(unit),
            date_zh(at.with_timezone(&beijing()).date_naive()),
        ],
    }
}

fn intro(f: &SelfCheckFacts) -> Vec<Block> {
    let measured: Vec<&str> = ["防护", "监测", "主机自查", "事件", "存在问题"].to_vec();
    vec![
        para(format!(
            "按照网络安全工作要求，{}对{}的网络安全工作开展了自查。本报告由守望网络安全保障系统根据实测数据生成，报告中的数字均来自系统记录，每个数字的数据来源和依据记录见附件1。",
            or_none(&f.unit.name),
            f.period.zh()
        )),
        note(format!(
            "数据说明：{}部分的数字为系统实测（标注“实测”）；单位基本情况、制度建设、教育培训和应急演练为单位填报（标注“填报”），系统未核验。",
            measured.join("、")
        )),
    ]
}

fn figures_of<'a>(f: &'a SelfCheckFacts, area: &str) -> impl Iterator<Item = &'a Figure> {
    let area = area.to_string();
    f.figures.iter().filter(move |x| x.area == area)
}

fn fig(f: &SelfCheckFacts, key: &str) -> String {
    f.figure(key)
        .map(|x| x.display.clone())
        .unwrap_or_else(|| "无数据".into())
}

/// One section of the 自查报告 by placeholder name (`None` when unknown).
/// `number` puts 一、二、… before the heading.
pub fn selfcheck_section(
    f: &SelfCheckFacts,
    name: &str,
    number: Option<usize>,
) -> Option<Vec<Block>> {
    let title = SELFCHECK_SECTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or(match name {
            "commands" => "附件2：整改参考操作",
            _ => "附件1：数据来源",
        });
    let mut b = vec![h1(number, title)];
    match name {
        "profile" => profile_section(f, &mut b)?,
        "guard" => guard_section(f, &mut b)?,
        "site" => site_section(f, &mut b)?,
        "host" => host_section(f, &mut b)?,
        "incident" => incident_section(f, &mut b)?,
        "organisation" => organisation_section(f, &mut b)?,
        "problems" => problems_section(f, &mut b)?,
        "remediation" => remediation_section(f, &mut b)?,
        "plan" => plan_section(f, &mut b)?,
        "evidence" => evidence_section(f, &mut b)?,
        "commands" => commands_section(f, &mut b)?,
        _ => return None,
    }
    Some(b)
}

/// 一、单位基本情况: the unit as it declared itself.
fn profile_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    let u = &f.unit;
    b.push(para(format!(
        "单位名称：{}。运营者类型：{}。（填报）",
        or_none(&u.name),
        u.operator_type.zh()
    )));
    b.push(h2("（一）网络安全工作领导小组"));
    if u.leading_group.is_empty() {
        b.push(para("（未填报）"));
    } else {
        b.push(table(selfcheck_table(f, "leading_group")?));
    }
    b.push(h2("（二）网络安全员"));
    b.push(para(if u.security_officer.name.trim().is_empty() {
        "（未填报）".to_string()
    } else {
        format!(
            "{}{}{}。（填报）",
            u.security_officer.name.trim(),
            if u.security_officer.title.is_empty() {
                String::new()
            } else {
                format!("，{}", u.security_officer.title)
            },
            if u.security_officer.phone.is_empty() {
                String::new()
            } else {
                format!("，联系电话 {}", u.security_officer.phone)
            }
        )
    }));
    b.push(h2("（三）信息系统"));
    if u.systems.is_empty() {
        b.push(para("（未填报）"));
    } else {
        b.push(table(selfcheck_table(f, "systems")?));
    }
    Some(())
}

/// 网页防篡改: the roots guarded and what was restored.
fn guard_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    if f.guard.roots.is_empty() {
        b.push(para("本期未对网站目录实施网页防篡改保护。（实测）"));
        return Some(());
    }
    let g = &f.guard;
    b.push(para(format!(
        "本期共对 {} 个网站目录实施网页防篡改保护。期间发现并自动恢复篡改 {}（其中被篡改文件恢复 {}，被删除文件恢复 {}），隔离非法新增文件 {}，恢复失败 {}；平均恢复用时 {}，最长 {}。（实测）",
        fig(f, "guard.roots").trim_end_matches(" 个"),
        fig(f, "guard.restore_count"),
        fig(f, "guard.restored"),
        fig(f, "guard.recreated"),
        fig(f, "guard.quarantined"),
        fig(f, "guard.failed"),
        fig(f, "guard.latency_avg_ms"),
        fig(f, "guard.latency_max_ms"),
    )));
    if g.maintenance > 0 {
        b.push(note(format!(
            "维护窗口内发生变更 {} 次，按设计未恢复。",
            g.maintenance
        )));
    }
    if !g.roots.is_empty() {
        b.push(table(selfcheck_table(f, "guard_roots")?));
    }
    Some(())
}

/// 网站监测: inspections, probes and what they found.
fn site_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    if f.site.sites.is_empty() {
        b.push(para("本期未开展网站监测。（实测）"));
        return Some(());
    }
    b.push(para(format!(
        "本期共监测网站 {}，开展网站巡查 {}，可用性探测 {}，网站可用率 {}。巡查新发现问题 {}，其中已整改 {}，未整改 {}。（实测）",
        fig(f, "site.count"),
        fig(f, "site.inspections"),
        fig(f, "site.probes"),
        fig(f, "site.availability"),
        fig(f, "site.found"),
        fig(f, "site.fixed"),
        fig(f, "site.open"),
    )));
    if !f.site.sites.is_empty() {
        b.push(table(selfcheck_table(f, "sites")?));
    }
    Some(())
}

/// 主机自查: each host's latest run, topics and 等保 controls.
fn host_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    if f.host.hosts.is_empty() {
        b.push(para("本期未开展主机自查。（实测）"));
        return Some(());
    }
    let h = &f.host;
    b.push(para(format!(
        "本期共对 {}主机开展自查 {}，按各主机最近一次检查，检查项符合率 {}（符合 {} 项、不符合 {} 项、无法检查 {} 项）。新发现问题 {}，其中已整改 {}，未整改 {}。（实测）",
        fig(f, "host.count"),
        fig(f, "host.runs"),
        fig(f, "host.pass_rate"),
        h.pass,
        h.fail,
        h.cannot_check,
        fig(f, "host.found"),
        fig(f, "host.fixed"),
        fig(f, "host.open"),
    )));
    if !h.unreadable_runs.is_empty() {
        b.push(note(format!(
            "以下检查记录文件无法读取，相应主机只统计了事件中的数字：{}",
            h.unreadable_runs.join("，")
        )));
    }
    if !h.hosts.is_empty() {
        b.push(h2("（一）各主机检查结果"));
        b.push(table(selfcheck_table(f, "hosts")?));
        b.push(h2("（二）重点检查事项"));
        b.push(para(
            h.topics
                .iter()
                .map(|t| format!("{}符合率 {}", t.name, pct_text(t.pass_rate)))
                .collect::<Vec<_>>()
                .join("；")
                + "。（实测）",
        ));
        b.push(table(selfcheck_table(f, "host_topics")?));
        b.push(h2("（三）按等级保护控制点"));
        b.push(table(selfcheck_table(f, "host_controls")?));
    }
    Some(())
}

/// 安全事件: counts by class and level, and the reporting clock.
fn incident_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    let i = &f.incidents;
    if i.total == 0 {
        b.push(para("本期未发生网络安全事件。（实测）"));
    } else {
        b.push(para(format!(
            "本期共发生网络安全事件 {}，其中较大及以上 {}；已处置完毕 {}。报告时限：按时报告 {}，超时或逾期 {}，待报告 {} 次。（实测）",
            fig(f, "incident.total"),
            fig(f, "incident.reportable"),
            fig(f, "incident.handled"),
            fig(f, "incident.deadlines_met"),
            fig(f, "incident.deadlines_missed"),
            i.deadlines_pending,
        )));
        b.push(table(selfcheck_table(f, "incidents_by_class")?));
        b.push(table(selfcheck_table(f, "incidents_by_level")?));
        b.push(table(selfcheck_table(f, "incidents")?));
    }
    Some(())
}

/// 制度、培训、演练: declared by the unit.
fn organisation_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    let u = &f.unit;
    b.push(h2("（一）制度建设"));
    b.push(para(declared(&u.policies)));
    b.push(h2("（二）教育培训"));
    b.push(para(declared(&u.training)));
    b.push(h2("（三）应急演练"));
    b.push(para(declared(&u.drills)));
    Some(())
}

/// 存在问题: what is still open, by area.
fn problems_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    if f.open_total == 0 {
        b.push(para("截至报告生成时，系统记录的问题均已整改。（实测）"));
    } else {
        let mut by_area: BTreeMap<&str, u64> = BTreeMap::new();
        for g in &f.open_findings {
            *by_area.entry(g.area.as_str()).or_insert(0) += g.count;
        }
        b.push(para(format!(
            "截至报告生成时，尚有未整改问题 {}，涉及 {}：{}。（实测）",
            fig(f, "findings.open_total"),
            fig(f, "findings.open_checks"),
            by_area
                .iter()
                .map(|(a, n)| format!("{a} {n} 个"))
                .collect::<Vec<_>>()
                .join("，")
        )));
        b.push(table(selfcheck_table(f, "open_findings")?));
    }
    Some(())
}

/// 整改措施: a table of what is to be done, by whom and by when; the
/// commands are in an appendix, and cells nobody set are left blank for
/// handwriting.
fn remediation_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    if f.remediation.is_empty() {
        b.push(para("无待整改事项。"));
    } else {
        b.push(para(format!(
            "针对上述 {} 项问题，制定整改措施如下，明确责任人和整改时限，逐项销号。{}",
            f.remediation.len(),
            if f.remediation.iter().any(|r| r.command.is_some()) {
                "具体操作见附件2。"
            } else {
                ""
            }
        )));
        b.push(table(selfcheck_table(f, "remediation")?));
    }
    Some(())
}

/// 下一步工作计划: as the unit declared it, or lines to write it by hand.
fn plan_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    let plan = f.unit.next_plan.trim();
    if plan.is_empty() {
        b.push(para("（未填报）"));
    } else {
        for line in plan.lines().filter(|l| !l.trim().is_empty()) {
            b.push(para(line.trim()));
        }
        b.push(note("以上为单位填报。"));
    }
    Some(())
}

/// 附件2: the reference commands of the 整改措施, one per check.
fn commands_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    let mut t = Table::new(&[("序号", 1), ("问题", 3), ("参考操作", 7)]);
    for (n, r) in f.remediation.iter().enumerate() {
        if let Some(c) = &r.command {
            t.row(vec![(n + 1).to_string(), r.title.clone(), c.clone()]);
        }
    }
    b.push(note(
        "以下操作供技术人员参考，执行前请确认适用于本单位的系统并做好备份。",
    ));
    b.push(table(t));
    Some(())
}

/// 附件: the query and sample records behind each figure.
fn evidence_section(f: &SelfCheckFacts, b: &mut Vec<Block>) -> Option<()> {
    b.push(note(format!(
        "数据取自 {}，生成于 {}（北京时间）。下表列出报告中每个实测数字的统计依据、记录数和部分记录编号（编号可在控制台的“问题”“事件”“安全事件”页面中查到）。本期指 {}。",
        f.store,
        time_zh(f.generated_at),
        f.period.when_zh()
    )));
    b.push(table(selfcheck_table(f, "evidence")?));
    if !f.audit_anchor.is_empty() {
        b.push(note(format!(
            "审计日志锚点：{}。请随本报告留存；日后以 shouwang audit verify --anchor 核对，可证明此前的审计记录未被删除。",
            f.audit_anchor
        )));
    }
    Some(())
}

/// One table of the 自查报告 by placeholder name (`None` when unknown).
pub fn selfcheck_table(f: &SelfCheckFacts, name: &str) -> Option<Table> {
    let t = match name {
        "figures" => figures_table(f),
        "leading_group" => leading_group_table(f),
        "systems" => systems_table(f),
        "guard_roots" => guard_roots_table(f),
        "sites" => sites_table(f),
        "hosts" => hosts_table(f),
        "host_controls" | "host_topics" => host_controls_or_topics_table(f, name),
        "incidents" => incidents_table(f),
        "incidents_by_class" | "incidents_by_level" => incidents_by_class_or_level_table(f, name),
        "open_findings" => open_findings_table(f),
        "remediation" => remediation_table(f),
        "evidence" => evidence_table(f),
        _ => return None,
    };
    Some(t)
}

fn figures_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[("类别", 2), ("指标", 4), ("数值", 2), ("来源", 1)]);
    for area in ["防护", "监测", "主机自查", "事件", "存在问题"] {
        for x in figures_of(f, area) {
            t.row(vec![
                x.area.clone(),
                x.label.clone(),
                x.display.clone(),
                x.source.zh().into(),
            ]);
        }
    }
    t
}

fn leading_group_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[("职务", 2), ("姓名", 2), ("联系电话", 2)]);
    for (i, p) in f.unit.leading_group.iter().enumerate() {
        let role = if i == 0 { "组长" } else { "成员" };
        t.row(vec![
            if p.title.is_empty() {
                role.to_string()
            } else {
                format!("{role}（{}）", p.title)
            },
            p.name.clone(),
            p.phone.clone(),
        ]);
    }
    t
}

fn systems_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[("系统名称", 3), ("等保级别", 1), ("地址", 3), ("备注", 2)]);
    for s in &f.unit.systems {
        t.row(vec![
            s.name.clone(),
            s.dengbao_level.clone(),
            s.address.clone(),
            s.note.clone(),
        ]);
    }
    t
}

fn guard_roots_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("网站目录", 4),
        ("篡改恢复", 1),
        ("删除恢复", 1),
        ("隔离", 1),
        ("失败", 1),
    ]);
    for r in &f.guard.roots {
        t.row(vec![
            r.root.clone(),
            r.restored.to_string(),
            r.recreated.to_string(),
            r.quarantined.to_string(),
            r.failed.to_string(),
        ]);
    }
    t
}

fn sites_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("网站", 4),
        ("巡查次数", 1),
        ("最近巡查", 2),
        ("可用率", 1),
        ("未整改问题", 1),
    ]);
    for s in &f.site.sites {
        t.row(vec![
            if s.name.is_empty() {
                s.site.clone()
            } else {
                format!("{}（{}）", s.name, s.site)
            },
            s.inspections.to_string(),
            opt_time(s.last_inspected),
            pct_text(s.availability),
            s.open_findings.to_string(),
        ]);
    }
    t
}

fn hosts_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("主机", 3),
        ("检查方案", 2),
        ("检查时间", 3),
        ("得分", 1),
        ("符合", 1),
        ("不符合", 1),
        ("无法检查", 1),
    ]);
    for h in &f.host.hosts {
        t.row(vec![
            h.host.clone(),
            h.profile.clone(),
            time_zh(h.checked_at),
            h.score
                .map(|s| trim_number(s, 1))
                .unwrap_or_else(|| "—".into()),
            h.pass.to_string(),
            h.fail.to_string(),
            h.cannot_check.to_string(),
        ]);
    }
    t
}

fn host_controls_or_topics_table(f: &SelfCheckFacts, name: &str) -> Table {
    let rows = if name == "host_controls" {
        &f.host.controls
    } else {
        &f.host.topics
    };
    let first = if name == "host_controls" {
        "等保控制点"
    } else {
        "检查事项"
    };
    let mut t = Table::new(&[
        (first, 4),
        ("符合", 1),
        ("不符合", 1),
        ("无法检查", 1),
        ("符合率", 1),
        ("未整改问题", 1),
    ]);
    for r in rows {
        t.row(vec![
            if name == "host_controls" {
                format!("{} {}", r.key, r.name)
            } else {
                r.name.clone()
            },
            r.pass.to_string(),
            r.fail.to_string(),
            r.cannot_check.to_string(),
            pct_text(r.pass_rate),
            r.open_findings.to_string(),
        ]);
    }
    t
}

fn incidents_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("编号", 1),
        ("事件", 4),
        ("类别", 3),
        ("级别", 1),
        ("状态", 1),
        ("发现时间", 2),
        ("报告时限", 2),
    ]);
    for r in &f.incidents.rows {
        t.row(vec![
            r.id.to_string(),
            r.title.clone(),
            r.category.clone(),
            r.level.clone(),
            r.status.clone(),
            time_zh(r.discovered_at),
            r.deadlines
                .iter()
                .map(|d| format!("{}：{}", d.stage.zh(), d.state_zh))
                .collect::<Vec<_>>()
                .join("；"),
        ]);
    }
    t
}

fn incidents_by_class_or_level_table(f: &SelfCheckFacts, name: &str) -> Table {
    let (head, rows) = if name == "incidents_by_class" {
        ("事件类别", &f.incidents.by_class)
    } else {
        ("事件级别", &f.incidents.by_level)
    };
    let mut t = Table::new(&[(head, 3), ("数量", 1)]);
    for r in rows {
        t.row(vec![r.label.clone(), r.count.to_string()]);
    }
    t
}

fn open_findings_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("类别", 2),
        ("问题", 6),
        ("检查项", 4),
        ("严重程度", 2),
        ("数量", 1),
        ("涉及对象", 2),
    ]);
    for g in &f.open_findings {
        t.row(vec![
            g.area.clone(),
            g.title.clone(),
            g.check.clone(),
            g.severity.clone(),
            g.count.to_string(),
            g.assets.to_string(),
        ]);
    }
    t
}

fn remediation_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("序号", 1),
        ("问题", 5),
        ("整改措施", 6),
        ("责任人", 2),
        ("整改时限", 2),
        ("状态", 2),
    ]);
    let today = f
        .generated_at
        .with_timezone(&crate::facts::beijing())
        .date_naive();
    for (n, r) in f.remediation.iter().enumerate() {
        // Cells the console left unset stay blank, to be written in by hand.
        t.row(vec![
            (n + 1).to_string(),
            format!("{}（{} 个）", r.title, r.count),
            r.advice.clone(),
            r.owner.clone(),
            r.due.map(date_zh).unwrap_or_default(),
            r.status_zh(today).into(),
        ]);
    }
    t
}

fn evidence_table(f: &SelfCheckFacts) -> Table {
    let mut t = Table::new(&[
        ("指标", 2),
        ("数值", 1),
        ("统计依据", 4),
        ("记录数", 1),
        ("部分记录编号", 3),
    ]);
    for e in &f.evidence {
        let value = f
            .figure(&e.figure)
            .map(|x| x.display.clone())
            .unwrap_or_default();
        let record = match e.record.as_str() {
            "event" => "",
            "finding" => "问题",
            "incident" => "安全事件",
            "asset" => "",
            _ => "",
        };
        t.row(vec![
            e.label.clone(),
            value,
            if e.basis.is_empty() {
                e.query.clone()
            } else {
                e.basis.clone()
            },
            e.count.to_string(),
            if e.samples.is_empty() {
                "—".into()
            } else {
                format!("{record} {}", e.samples.join("、"))
                    .trim()
                    .to_string()
            },
        ]);
    }
    t
}

/// What a template can ask for: scalars by name and blocks by
/// `section:NAME` / `table:NAME`.
pub trait Values {
    fn scalar(&self, name: &str) -> Option<String>;
    fn blocks(&self, name: &str) -> Option<Vec<Block>>;
    /// Every name it knows (for error messages).
    fn names(&self) -> Vec<String>;
}

/// The values of the 自查报告 for templates.
pub struct SelfCheckValues<'a> {
    facts: &'a SelfCheckFacts,
    scalars: BTreeMap<String, String>,
}

impl<'a> SelfCheckValues<'a> {
    pub fn new(f: &'a SelfCheckFacts) -> Self {
        let mut s = BTreeMap::new();
        let u = &f.unit;
        let mut put = |k: &str, v: String| {
            s.insert(k.to_string(), v);
        };
        put("report.title", format!("{}网络安全自查报告", u.name.trim()));
        put("report.generated_at", time_zh(f.generated_at));
        put(
            "report.date",
            date_zh(f.generated_at.with_timezone(&beijing()).date_naive()),
        );
        put("report.store", f.store.clone());
        put("period", f.period.zh());
        put("period.from", date_zh(f.period.from));
        put("period.to", date_zh(f.period.to));
        put("unit.name", u.name.clone());
        put("unit.operator_type", u.operator_type.zh().into());
        put(
            "unit.leader",
            u.leading_group
                .first()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        );
        put(
            "unit.leading_group",
            u.leading_group
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join("、"),
        );
        put("unit.security_officer", u.security_officer.name.clone());
        put(
            "unit.security_officer.title",
            u.security_officer.title.clone(),
        );
        put(
            "unit.security_officer.phone",
            u.security_officer.phone.clone(),
        );
        put(
            "unit.systems",
            u.systems
                .iter()
                .map(|x| x.name.clone())
                .collect::<Vec<_>>()
                .join("、"),
        );
        put("unit.policies", u.policies.clone());
        put("unit.training", u.training.clone());
        put("unit.drills", u.drills.clone());
        put("unit.recipient", u.recipient.clone());
        put("unit.next_plan", u.next_plan.clone());
        for x in &f.figures {
            put(&x.key, x.display.clone());
        }
        SelfCheckValues {
            facts: f,
            scalars: s,
        }
    }
}

impl Values for SelfCheckValues<'_> {
    fn scalar(&self, name: &str) -> Option<String> {
        self.scalars.get(name).cloned()
    }

    fn blocks(&self, name: &str) -> Option<Vec<Block>> {
        if let Some(t) = name.strip_prefix("table:") {
            return selfcheck_table(self.facts, t).map(|t| vec![table(t)]);
        }
        if let Some(s) = name.strip_prefix("section:") {
            if s == "intro" {
                return Some(intro(self.facts));
            }
            return selfcheck_section(self.facts, s, None);
        }
        None
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.scalars.keys().cloned().collect();
        v.extend(SELFCHECK_TABLES.iter().map(|t| format!("table:{t}")));
        v.push("section:intro".into());
        v.extend(
            SELFCHECK_SECTIONS
                .iter()
                .map(|(s, _)| format!("section:{s}")),
        );
        v.push("section:evidence".into());
        v
    }
}

/// The 事件报告 (首次报告, 续报) or 调查评估报告.
pub fn incident(f: &IncidentReportFacts) -> Document {
    let i = &f.incident;
    let title = match f.stage {
        ReportStage::First => "网络安全事件报告（首次报告）".to_string(),
        ReportStage::FollowUp => "网络安全事件报告（续报）".to_string(),
        ReportStage::Summary => "网络安全事件调查评估报告".to_string(),
    };
    let mut b = vec![
        Block::Title {
            text: title.clone(),
        },
        Block::Subtitle {
            text: format!("（事件编号 {}：{}）", i.id, i.title),
        },
        para(format!(
            "报送单位：{}。报送对象：{}。报送时间：{}。",
            or_none(&f.unit.name),
            f.report_to,
            time_zh(f.generated_at)
        )),
        note("“实测”项由守望根据系统记录生成；“填报”项须由报告人核实填写。"),
    ];
    b.push(h1(Some(1), "报告事项"));
    let mut t = Table::new(&[("事项", 3), ("内容", 7), ("来源", 1)]);
    for x in &f.fields {
        t.row(vec![x.label.clone(), x.value.clone(), x.source.zh().into()]);
    }
    b.push(table(t));
    b.push(h1(Some(2), "报告时限"));
    let mut t = Table::new(&[("报告", 2), ("截止时间", 3), ("报告时间", 3), ("状态", 2)]);
    for d in &f.deadlines {
        t.row(vec![
            d.stage.zh().into(),
            opt_time(d.due),
            opt_time(d.met_at),
            d.state_zh.clone(),
        ]);
    }
    b.push(table(t));
    b.push(h1(Some(3), "处置经过"));
    if f.timeline.is_empty() {
        b.push(para("（暂无处置记录）"));
    } else {
        let mut t = Table::new(&[("时间", 2), ("记录人", 1), ("类型", 1), ("内容", 6)]);
        for e in &f.timeline {
            t.row(vec![
                time_zh(e.at),
                e.actor.clone(),
                e.kind.clone(),
                e.text.clone(),
            ]);
        }
        b.push(table(t));
    }
    b.push(h1(Some(4), "相关记录"));
    b.push(para(format!(
        "本事件关联事件记录 {} 条、发现项 {} 个，下表列出其中前 {} 条。（实测）",
        f.event_count,
        f.finding_count,
        f.members.len()
    )));
    let mut t = Table::new(&[
        ("记录", 1),
        ("编号", 1),
        ("时间", 2),
        ("对象", 3),
        ("内容", 5),
    ]);
    for m in &f.members {
        t.row(vec![
            m.record.clone(),
            m.id.to_string(),
            time_zh(m.time),
            m.asset.clone(),
            m.summary.clone(),
        ]);
    }
    b.push(table(t));
    if !f.remediation.is_empty() {
        b.push(h1(Some(5), "整改措施"));
        for (n, r) in f.remediation.iter().enumerate() {
            b.push(para(format!(
                "{}. {}：{}{}",
                n + 1,
                r.title,
                r.advice,
                r.command
                    .as_ref()
                    .map(|c| format!(" 参考操作：{c}"))
                    .unwrap_or_default()
            )));
        }
    }
    b.push(para(format!(
        "报告单位：{}\n联系人：{} {}\n{}",
        or_none(&f.unit.name),
        or_none(&f.unit.security_officer.name),
        f.unit.security_officer.phone,
        date_zh(f.generated_at.with_timezone(&beijing()).date_naive())
    )));
    Document { title, blocks: b }
}
