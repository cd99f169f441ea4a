//! 台账: the ledgers a unit keeps, as one XLSX workbook: 资产台账 (assets),
//! 检查台账 (checks: findings grouped by check and status), 发现项明细
//! (every finding, paged from the store, at most [`MAX_DETAIL_ROWS`]) and
//! 事件台账 (incidents with their reporting deadlines).

use std::collections::BTreeMap;

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use shouwang_model::text::shorten;
use shouwang_model::{AssetKind, FindingStatus, UnitProfile};
use shouwang_store::{FindingFilter, FindingGroupQuery, IncidentFilter, Store};

use crate::collect::{Options, area_of};
use crate::facts::{date_zh, time_zh};
use crate::{ReportError, Result};

/// The finding detail sheet stops here (a note row says so).
pub const MAX_DETAIL_ROWS: usize = 100_000;

fn xe(e: XlsxError) -> ReportError {
    ReportError::Xlsx(e.to_string())
}

struct Sheet<'a> {
    ws: &'a mut Worksheet,
    row: u32,
    cell: Format,
}

impl Sheet<'_> {
    fn header(&mut self, cols: &[(&str, f64)]) -> Result<()> {
        let head = Format::new()
            .set_bold()
            .set_font_name("宋体")
            .set_background_color(Color::RGB(0xE7E6E6))
            .set_border(FormatBorder::Thin);
        for (c, (name, width)) in cols.iter().enumerate() {
            self.ws
                .write_string_with_format(0, c as u16, *name, &head)
                .map_err(xe)?;
            self.ws.set_column_width(c as u16, *width).map_err(xe)?;
        }
        self.ws.set_freeze_panes(1, 0).map_err(xe)?;
        self.row = 1;
        Ok(())
    }

    fn line(&mut self, cells: &[Cell]) -> Result<()> {
        for (c, v) in cells.iter().enumerate() {
            let c = c as u16;
            match v {
                Cell::Text(s) => self
                    .ws
                    .write_string_with_format(self.row, c, s, &self.cell)
                    .map(|_| ()),
                Cell::Num(n) => self
                    .ws
                    .write_number_with_format(self.row, c, *n, &self.cell)
                    .map(|_| ()),
            }
            .map_err(xe)?;
        }
        self.row += 1;
        Ok(())
    }

    fn filter(&mut self, cols: u16) -> Result<()> {
        if self.row > 1 {
            self.ws
                .autofilter(0, 0, self.row - 1, cols - 1)
                .map_err(xe)?;
        }
        Ok(())
    }
}

enum Cell {
    Text(String),
    Num(f64),
}

/// Excel keeps at most 32,767 characters in a cell, and one longer value
/// (a crawled URL of 40,000 characters) would fail the whole workbook for
/// as long as its finding exists.
const MAX_CELL_CHARS: usize = 32_767;

fn t(s: impl Into<String>) -> Cell {
    let s = s.into();
    // Bytes bound characters, so most cells skip the count.
    if s.len() <= MAX_CELL_CHARS {
        return Cell::Text(s);
    }
    let total = s.chars().count();
    if total <= MAX_CELL_CHARS {
        return Cell::Text(s);
    }
    let marker = format!("（共 {total} 字，已截断）");
    // `shorten` adds one character, the ellipsis, before the marker.
    let keep = MAX_CELL_CHARS - 1 - marker.chars().count();
    Cell::Text(shorten(&s, keep) + &marker)
}

fn n(v: u64) -> Cell {
    Cell::Num(v as f64)
}

fn sheet<'a>(wb: &'a mut Workbook, name: &str) -> Result<Sheet<'a>> {
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(xe)?;
    Ok(Sheet {
        ws,
        row: 0,
        cell: Format::new()
            .set_font_name("宋体")
            .set_border(FormatBorder::Thin),
    })
}

/// 资产台账: every asset with its open findings.
fn asset_sheet(wb: &mut Workbook, store: &dyn Store) -> Result<()> {
    let mut open_by_asset: BTreeMap<(AssetKind, String), u64> = BTreeMap::new();
    for sensor in ["host", "site", "guard", "logs"] {
        for (a, c) in store.finding_asset_counts(sensor, FindingStatus::Open)? {
            *open_by_asset.entry((a.kind, a.locator)).or_insert(0) += c;
        }
    }
    let mut s = sheet(wb, "资产台账")?;
    s.header(&[
        ("类型", 10.0),
        ("标识", 40.0),
        ("名称", 24.0),
        ("未整改问题", 12.0),
        ("详情", 60.0),
    ])?;
    for a in store.assets()? {
        let kind = match a.id.kind {
            AssetKind::Host => "主机",
            AssetKind::Website => "网站",
            AssetKind::WebRoot => "网站目录",
            #[allow(unreachable_patterns)]
            _ => a.id.kind.as_str(),
        };
        let open = open_by_asset
            .get(&(a.id.kind, a.id.locator.clone()))
            .copied()
            .unwrap_or(0);
        s.line(&[
            t(kind),
            t(a.id.locator.clone()),
            t(a.name.clone()),
            n(open),
            t(a.details.to_string()),
        ])?;
    }
    s.filter(5)?;
    Ok(())
}

/// 检查台账: findings grouped by check.
fn check_sheet(wb: &mut Workbook, store: &dyn Store) -> Result<()> {
    let groups = store.finding_groups(&FindingGroupQuery::default())?;
    let mut s = sheet(wb, "检查台账")?;
    s.header(&[
        ("类别", 10.0),
        ("检查项", 28.0),
        ("问题", 40.0),
        ("严重程度", 10.0),
        ("状态", 10.0),
        ("数量", 8.0),
        ("涉及对象", 10.0),
        ("首次发现", 18.0),
        ("最近发现", 18.0),
    ])?;
    for g in &groups {
        s.line(&[
            t(area_of(&g.sensor)),
            t(g.check.clone()),
            t(g.title_zh.clone()),
            t(g.severity.zh()),
            t(g.status.zh()),
            n(g.count),
            n(g.assets),
            t(time_zh(g.first_seen)),
            t(time_zh(g.last_seen)),
        ])?;
    }
    s.filter(9)?;
    Ok(())
}

/// 发现项明细: each finding, paged from the store, at most `MAX_DETAIL_ROWS`.
fn finding_sheet(wb: &mut Workbook, store: &dyn Store) -> Result<()> {
    let mut s = sheet(wb, "发现项明细")?;
    s.header(&[
        ("编号", 8.0),
        ("类别", 10.0),
        ("检查项", 28.0),
        ("对象", 32.0),
        ("严重程度", 10.0),
        ("状态", 10.0),
        ("问题", 40.0),
        ("位置", 30.0),
        ("首次发现", 18.0),
        ("最近发现", 18.0),
        ("责任人", 12.0),
        ("整改时限", 14.0),
    ])?;
    let assigned: std::collections::HashMap<i64, shouwang_model::FindingAssignment> =
        store.finding_assignments()?.into_iter().collect();
    let page = 2_000;
    let mut offset = 0;
    let mut written = 0;
    loop {
        let batch = store.findings(&FindingFilter {
            limit: page,
            offset,
            ..FindingFilter::default()
        })?;
        for f in &batch {
            if written == MAX_DETAIL_ROWS {
                break;
            }
            s.line(&[
                Cell::Num(f.id as f64),
                t(area_of(&f.provenance.sensor)),
                t(f.check_id()),
                t(f.asset.locator.clone()),
                t(f.severity.zh()),
                t(f.status.zh()),
                t(f.title.zh.clone()),
                t(f.location.clone()),
                t(time_zh(f.first_seen)),
                t(time_zh(f.last_seen)),
                t(assigned
                    .get(&f.id)
                    .map(|a| a.owner.clone())
                    .unwrap_or_default()),
                t(assigned
                    .get(&f.id)
                    .and_then(|a| a.due)
                    .map(date_zh)
                    .unwrap_or_default()),
            ])?;
            written += 1;
        }
        if written == MAX_DETAIL_ROWS && batch.len() == page {
            s.line(&[t(format!(
                "只列出前 {MAX_DETAIL_ROWS} 个发现项；其余见检查台账的汇总或控制台"
            ))])?;
            break;
        }
        if batch.len() < page {
            break;
        }
        offset += page;
    }
    s.filter(12)?;
    Ok(())
}

/// 事件台账: incidents with their reporting clock.
fn incident_sheet(
    wb: &mut Workbook,
    store: &dyn Store,
    unit: &UnitProfile,
    opts: &Options,
) -> Result<()> {
    let incidents = store.incidents(&IncidentFilter {
        limit: 100_000,
        ..IncidentFilter::default()
    })?;
    let mut s = sheet(wb, "事件台账")?;
    s.header(&[
        ("编号", 8.0),
        ("事件", 36.0),
        ("类别", 28.0),
        ("级别", 8.0),
        ("状态", 10.0),
        ("对象", 30.0),
        ("发现时间", 18.0),
        ("处置结束", 18.0),
        ("首次报告", 18.0),
        ("总结报告", 18.0),
        ("报告时限", 30.0),
    ])?;
    let policy = crate::deadline::policy(opts.policy.as_ref(), unit);
    let opt = |x: Option<chrono::DateTime<chrono::Utc>>| x.map(time_zh).unwrap_or_default();
    for i in &incidents {
        let deadlines = crate::deadline::deadlines(i, &policy, opts.now)
            .iter()
            .map(|d| format!("{}：{}", d.stage.zh(), d.state_zh))
            .collect::<Vec<_>>()
            .join("；");
        s.line(&[
            Cell::Num(i.id as f64),
            t(i.title.clone()),
            t(i.category_zh()),
            t(i.level.zh()),
            t(i.status.zh()),
            t(i.asset.locator.clone()),
            t(time_zh(i.discovered_at)),
            t(opt(i.handling_ended_at)),
            t(opt(i.first_reported_at)),
            t(opt(i.summary_reported_at)),
            t(deadlines),
        ])?;
    }
    s.filter(11)?;
    Ok(())
}

/// The ledgers as XLSX bytes: one sheet each.
pub fn ledgers(store: &dyn Store, unit: &UnitProfile, opts: &Options) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    asset_sheet(&mut wb, store)?;
    check_sheet(&mut wb, store)?;
    finding_sheet(&mut wb, store)?;
    incident_sheet(&mut wb, store, unit, opts)?;
    wb.save_to_buffer().map_err(xe)
}
