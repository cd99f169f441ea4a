//! Charts drawn on the server as inline SVG, so the pages keep their
//! strict CSP (`script-src 'none'; style-src 'self'`): no script, no
//! `style` attribute, colours from classes in `app.css` (`c0`…`c7` for
//! series, `sev-*` as the severity badges).
//!
//! One job: scales, axes with day labels (12/01), bars, stacked bars,
//! lines and horizontal bars, each with a `<title>` and an `aria-label`,
//! and every number again in a table beneath, for screen readers and for
//! whoever wants the figure. Labels are escaped here, whatever their
//! source (site names, kind codes of a hand-edited row).
//!
//! Budget: a chart takes at most [`MAX_POINTS`] categories and
//! [`MAX_SERIES`] series; callers fold the rest into 其他 (`fold_series`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use shouwang_model::text::escape_html;
use shouwang_store::TimeRange;

use crate::i18n::tr;

/// The days a chart covers.
pub(crate) const DAYS: i64 = 30;
/// At most this many categories (days or runs) on the x axis.
pub(crate) const MAX_POINTS: usize = 60;
/// At most this many series (one colour class each).
pub(crate) const MAX_SERIES: usize = 8;

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// At most this many x labels, so that 12/01 never overlaps its neighbour.
const MAX_X_LABELS: usize = 10;

/// The last [`DAYS`] Beijing days up to `now`'s: the store range and each
/// day, oldest first.
pub(crate) fn last_days(now: DateTime<Utc>) -> (TimeRange, Vec<NaiveDate>) {
    let today = now
        .with_timezone(&shouwang_model::beijing_offset())
        .date_naive();
    let days: Vec<NaiveDate> = (0..DAYS).rev().map(|i| today - Duration::days(i)).collect();
    let start = days[0]
        .and_hms_opt(0, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(shouwang_model::beijing_offset())
                .single()
        })
        .map(|t| t.with_timezone(&Utc));
    (
        TimeRange {
            since: start,
            until: None,
        },
        days,
    )
}

/// A day as the axis shows it: 12/01.
pub(crate) fn day_label(d: NaiveDate) -> String {
    format!("{:02}/{:02}", d.month(), d.day())
}

/// One series: a label (for the legend and the table), its colour class
/// and one value per category (`None`: nothing there, e.g. a run without
/// a score).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub class: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    /// Series stacked in one bar per category.
    Stacked,
    /// One line per series.
    Lines,
}

/// A chart over categories (days or runs).
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub title: String,
    /// The x categories' labels (12/01), one per value of each series.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub shape: Shape,
    /// The y axis' top at least this (100 for scores and percentages).
    pub min_top: f64,
}

/// A rounded top for the y axis: 1, 2 or 5 times a power of ten, at least
/// `v`.
pub(crate) fn nice_top(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|t| *t >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag)
}

/// The y axis' ticks from 0 to `top` (a [`nice_top`]), each a round
/// number as shown: steps of 0.2, 0.5 or 1 times `top`'s power of ten
/// (never quarters, which `num` would show rounded, as 0.3 for 0.25). On
/// an axis of counts (`integral`) no step is below 1, so a top of 1 or 2
/// has no fractional tick.
pub(crate) fn ticks(top: f64, integral: bool) -> Vec<f64> {
    let mag = 10f64.powf(top.log10().floor());
    let divisions = if (top / mag).round() == 2.0 { 4.0 } else { 5.0 };
    let mut step = top / divisions;
    if integral && step < 1.0 {
        step = 1.0;
    }
    (0..)
        .map(|k| f64::from(k) * step)
        .take_while(|v| *v <= top * (1.0 + 1e-9))
        .collect()
}

/// A number as people read it: no trailing zeros, at most one decimal.
pub(crate) fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn empty(lang: &str, title: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption><p class=\"muted chart-empty\">{}</p></figure>",
        escape_html(title),
        tr(lang, "chart.empty")
    )
}

impl Chart {
    fn points(&self) -> usize {
        self.labels.len().min(MAX_POINTS)
    }

    fn series(&self) -> &[Series] {
        &self.series[..self.series.len().min(MAX_SERIES)]
    }

    fn value(&self, s: &Series, i: usize) -> Option<f64> {
        s.values.get(i).copied().flatten().filter(|v| v.is_finite())
    }

    /// The tallest thing drawn: a stack's sum or a line's highest point.
    fn data_max(&self) -> f64 {
        (0..self.points())
            .map(|i| {
                let vals = self.series().iter().filter_map(|s| self.value(s, i));
                match self.shape {
                    Shape::Stacked => vals.map(|v| v.max(0.0)).sum(),
                    Shape::Lines => vals.fold(0.0, f64::max),
                }
            })
            .fold(0.0, f64::max)
    }

    /// Nothing measured at all. A zero is a measurement (a run without a
    /// broken link), drawn as an empty bar on the axis and a 0 in the table.
    fn is_empty(&self) -> bool {
        !self
            .series()
            .iter()
            .any(|s| (0..self.points()).any(|i| self.value(s, i).is_some()))
    }

    /// The y axis' top.
    pub(crate) fn top(&self) -> f64 {
        nice_top(self.data_max().max(self.min_top))
    }

    /// The height in SVG units of a value on this chart's scale.
    pub(crate) fn height_of(&self, v: f64) -> f64 {
        (v.max(0.0) / self.top()) * (H - TOP - BOTTOM)
    }

    fn band(&self) -> f64 {
        (W - LEFT - RIGHT) / self.points() as f64
    }

    /// The figure: the SVG, its legend and the numbers as a table.
    pub(crate) fn render(&self, lang: &str) -> String {
        if self.is_empty() {
            return empty(lang, &self.title);
        }
        let title = escape_html(&self.title);
        let mut out = format!(
            "<figure class=\"chart\"><figcaption>{title}</figcaption>\
             <svg class=\"chart-svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{title}\">\
             <title>{title}</title>"
        );
        self.axes(&mut out);
        match self.shape {
            Shape::Stacked => self.bars(&mut out),
            Shape::Lines => self.lines(&mut out),
        }
        out.push_str("</svg>");
        legend(&mut out, self.series().iter().map(|s| (&s.label, &s.class)));
        self.table(&mut out, lang);
        out.push_str("</figure>");
        out
    }

    /// Every value measured is a whole number (counts, not milliseconds).
    fn integral(&self) -> bool {
        self.series()
            .iter()
            .all(|s| (0..self.points()).all(|i| self.value(s, i).is_none_or(|v| v.fract() == 0.0)))
    }

    fn axes(&self, out: &mut String) {
        let top = self.top();
        let base = H - BOTTOM;
        for v in ticks(top, self.integral()) {
            let y = base - self.height_of(v);
            out.push_str(&format!(
                "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                W - RIGHT,
                LEFT - 6.0,
                y + 5.0,
                num(v)
            ));
        }
        out.push_str(&format!(
            "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\"/>",
            W - RIGHT
        ));
        let n = self.points();
        let step = n.div_ceil(MAX_X_LABELS).max(1);
        // Counted from the right, so the newest category is always named.
        for i in (0..n).filter(|i| (n - 1 - i).is_multiple_of(step)) {
            let x = LEFT + self.band() * (i as f64 + 0.5);
            out.push_str(&format!(
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                H - BOTTOM + 20.0,
                escape_html(&self.labels[i])
            ));
        }
    }

    fn bars(&self, out: &mut String) {
        let band = self.band();
        let width = (band * 0.7).max(1.0);
        for i in 0..self.points() {
            let x = LEFT + band * i as f64 + (band - width) / 2.0;
            let mut y = H - BOTTOM;
            for s in self.series() {
                let Some(v) = self.value(s, i).filter(|v| *v > 0.0) else {
                    continue;
                };
                let h = self.height_of(v);
                y -= h;
                out.push_str(&format!(
                    "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{h:.1}\">\
                     <title>{} {}：{}</title></rect>",
                    escape_html(&s.class),
                    escape_html(&self.labels[i]),
                    escape_html(&s.label),
                    num(v)
                ));
            }
        }
    }

    fn lines(&self, out: &mut String) {
        let band = self.band();
        for s in self.series() {
            let class = escape_html(&s.class);
            let pts: Vec<(usize, f64, f64)> = (0..self.points())
                .filter_map(|i| {
                    let v = self.value(s, i)?;
                    Some((
                        i,
                        LEFT + band * (i as f64 + 0.5),
                        H - BOTTOM - self.height_of(v),
                    ))
                })
                .collect();
            // A run without a value breaks the line rather than bridging it.
            let mut segments: Vec<Vec<String>> = Vec::new();
            let mut last: Option<usize> = None;
            for (i, x, y) in &pts {
                if last.is_none_or(|l| l + 1 != *i) {
                    segments.push(Vec::new());
                }
                if let Some(seg) = segments.last_mut() {
                    seg.push(format!("{x:.1},{y:.1}"));
                }
                last = Some(*i);
            }
            for seg in segments.iter().filter(|s| s.len() > 1) {
                out.push_str(&format!(
                    "<polyline class=\"line {class}\" points=\"{}\"/>",
                    seg.join(" ")
                ));
            }
            for (i, x, y) in pts {
                out.push_str(&format!(
                    "<circle class=\"dot {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\">\
                     <title>{} {}：{}</title></circle>",
                    escape_html(&self.labels[i]),
                    escape_html(&s.label),
                    self.value(s, i).map(num).unwrap_or_default()
                ));
            }
        }
    }

    fn table(&self, out: &mut String, lang: &str) {
        out.push_str(&format!(
            "<details class=\"chart-data\"><summary>{}</summary><table><thead><tr><th>{}</th>",
            tr(lang, "chart.data"),
            tr(lang, "chart.when")
        ));
        for s in self.series() {
            out.push_str(&format!("<th class=\"num\">{}</th>", escape_html(&s.label)));
        }
        out.push_str("</tr></thead><tbody>");
        for i in 0..self.points() {
            out.push_str(&format!("<tr><td>{}</td>", escape_html(&self.labels[i])));
            for s in self.series() {
                let v = self.value(s, i).map(num).unwrap_or_else(|| "—".into());
                out.push_str(&format!("<td class=\"num\">{v}</td>"));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></details>");
    }
}

fn legend<'a>(out: &mut String, items: impl Iterator<Item = (&'a String, &'a String)>) {
    out.push_str("<ul class=\"legend\">");
    for (label, class) in items {
        out.push_str(&format!(
            "<li><svg class=\"key\" viewBox=\"0 0 10 10\" aria-hidden=\"true\">\
             <rect class=\"{}\" width=\"10\" height=\"10\"/></svg>{}</li>",
            escape_html(class),
            escape_html(label)
        ));
    }
    out.push_str("</ul>");
}

/// Give each series its colour class in order, keeping the first
/// `MAX_SERIES - 1` and adding the rest up as one labelled `other`, so a
/// chart has a colour per series and a bounded legend.
pub(crate) fn palette(mut series: Vec<Series>, other: &str) -> Vec<Series> {
    if series.len() > MAX_SERIES {
        let rest = series.split_off(MAX_SERIES - 1);
        let n = rest.iter().map(|s| s.values.len()).max().unwrap_or(0);
        let values = (0..n)
            .map(|i| {
                Some(
                    rest.iter()
                        .filter_map(|s| s.values.get(i).copied().flatten())
                        .sum(),
                )
            })
            .collect();
        series.push(Series {
            label: other.to_string(),
            class: String::new(),
            values,
        });
    }
    for (i, s) in series.iter_mut().enumerate() {
        s.class = format!("c{i}");
    }
    series
}

/// One value per day of `days` from `(day, value)` pairs (several on a
/// day add up); a day without any is `None`.
pub(crate) fn per_day(
    days: &[NaiveDate],
    values: impl Iterator<Item = (NaiveDate, f64)>,
) -> Vec<Option<f64>> {
    let mut out = vec![None; days.len()];
    for (day, v) in values {
        if let Ok(i) = days.binary_search(&day) {
            out[i] = Some(out[i].unwrap_or(0.0) + v);
        }
    }
    out
}

/// The runs (one event each, newest first as the store gives them) of
/// the last [`DAYS`] days, oldest first and at most [`MAX_POINTS`], each
/// with its Beijing day's label.
pub(crate) fn recent_runs(
    newest_first: &[shouwang_model::Event],
) -> Vec<(String, &shouwang_model::Event)> {
    let (range, _) = last_days(Utc::now());
    let mut runs: Vec<_> = newest_first
        .iter()
        .filter(|e| range.since.is_none_or(|t| e.event.time >= t))
        .take(MAX_POINTS)
        .map(|e| {
            let day = e
                .event
                .time
                .with_timezone(&shouwang_model::beijing_offset());
            (day_label(day.date_naive()), e)
        })
        .collect();
    runs.reverse();
    runs
}

/// The seconds east of UTC of the days the pages show (Beijing).
pub(crate) fn day_offset() -> i32 {
    shouwang_model::beijing_offset().local_minus_utc()
}

/// Horizontal bars, one per labelled row (open findings by severity).
#[derive(Debug, Clone)]
pub(crate) struct HBars {
    pub title: String,
    /// (label, colour class, value)
    pub rows: Vec<(String, String, f64)>,
}

const HB_LABEL: f64 = 64.0;
const HB_ROW: f64 = 28.0;
const HB_VALUE: f64 = 56.0;

impl HBars {
    pub(crate) fn width_of(&self, v: f64) -> f64 {
        let top = self.rows.iter().map(|r| r.2).fold(0.0, f64::max);
        if top <= 0.0 {
            return 0.0;
        }
        v.max(0.0) / top * (W - HB_LABEL - HB_VALUE)
    }

    pub(crate) fn render(&self, lang: &str) -> String {
        if self.rows.is_empty() {
            return empty(lang, &self.title);
        }
        let title = escape_html(&self.title);
        let h = HB_ROW * self.rows.len() as f64 + 8.0;
        let mut out = format!(
            "<figure class=\"chart\"><figcaption>{title}</figcaption>\
             <svg class=\"chart-svg\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{title}\">\
             <title>{title}</title>"
        );
        for (i, (label, class, v)) in self.rows.iter().enumerate() {
            let y = 4.0 + HB_ROW * i as f64;
            let w = self.width_of(*v);
            let label = escape_html(label);
            out.push_str(&format!(
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\
                 <rect class=\"{}\" x=\"{HB_LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\">\
                 <title>{label}：{}</title></rect>\
                 <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                HB_LABEL - 8.0,
                y + 14.0,
                escape_html(class),
                HB_ROW - 8.0,
                num(*v),
                HB_LABEL + w + 6.0,
                y + 14.0,
                num(*v)
            ));
        }
        out.push_str("</svg>");
        out.push_str(&format!(
            "<details class=\"chart-data\"><summary>{}</summary><table><tbody>",
            tr(lang, "chart.data")
        ));
        for (label, _, v) in &self.rows {
            out.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                escape_html(label),
                num(*v)
            ));
        }
        out.push_str("</tbody></table></details></figure>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(shape: Shape, series: Vec<Series>, labels: &[&str]) -> Chart {
        Chart {
            title: "图".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            series,
            shape,
            min_top: 0.0,
        }
    }

    fn series(label: &str, class: &str, values: &[Option<f64>]) -> Series {
        Series {
            label: label.into(),
            class: class.into(),
            values: values.to_vec(),
        }
    }

    /// The `height` of every `<rect class="{class}"`, in order.
    fn heights(svg: &str, class: &str) -> Vec<f64> {
        svg.split(&format!("<rect class=\"{class}\" x="))
            .skip(1)
            .map(|r| {
                let h = r.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    /// The tick labels of a chart's y axis, bottom first.
    fn tick_labels(svg: &str) -> Vec<String> {
        svg.split("<text class=\"tick\" ")
            .skip(1)
            .filter(|t| t.contains("text-anchor=\"end\""))
            .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].to_string())
            .collect()
    }

    #[test]
    fn every_tick_is_a_round_number_and_counts_have_no_fractions() {
        let show = |top: f64, integral: bool| -> Vec<String> {
            ticks(top, integral).into_iter().map(num).collect()
        };
        assert_eq!(show(1.0, true), ["0", "1"]);
        assert_eq!(show(2.0, true), ["0", "1", "2"]);
        assert_eq!(show(5.0, true), ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(show(20.0, true), ["0", "5", "10", "15", "20"]);
        assert_eq!(show(100.0, false), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(show(1.0, false), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(show(0.5, false), ["0", "0.1", "0.2", "0.3", "0.4", "0.5"]);
        // Every tick shows exactly the value it stands at (num keeps one
        // decimal, enough for any top from 0.5).
        for top in [0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 200.0, 1000.0] {
            for integral in [false, true] {
                for v in ticks(top, integral) {
                    assert_eq!(
                        num(v).parse::<f64>().unwrap(),
                        (v * 1e6).round() / 1e6,
                        "{top}"
                    );
                }
            }
        }
        // One broken link on one day: the axis reads 0 and 1.
        let one = chart(
            Shape::Stacked,
            vec![series("死链", "", &[Some(0.0), Some(1.0)])],
            &["12/01", "12/02"],
        );
        assert_eq!(tick_labels(&one.render("zh")), ["0", "1"]);
    }

    #[test]
    fn the_scale_rounds_up_to_one_two_or_five() {
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(f64::NAN), 1.0);
        assert_eq!(nice_top(1.0), 1.0);
        assert_eq!(nice_top(3.0), 5.0);
        assert_eq!(nice_top(7.0), 10.0);
        assert_eq!(nice_top(10.0), 10.0);
        assert_eq!(nice_top(11.0), 20.0);
        assert_eq!(nice_top(180.0), 200.0);
        assert_eq!(nice_top(0.03), 0.05);
        assert_eq!(num(2.0), "2");
        assert_eq!(num(2.25), "2.3");
    }

    #[test]
    fn bars_are_as_tall_as_their_values_and_stack() {
        let c = chart(
            Shape::Stacked,
            vec![
                series("甲", "c0", &[Some(4.0), Some(10.0), None]),
                series("乙", "c1", &[Some(6.0), None, Some(0.0)]),
            ],
            &["12/01", "12/02", "12/03"],
        );
        // The tallest stack (10) is the top of the axis: the whole plot.
        assert_eq!(c.top(), 10.0);
        let svg = c.render("zh");
        let plot = H - TOP - BOTTOM;
        assert_eq!(
            heights(&svg, "c0"),
            [0.4 * plot, plot].map(|h| (h * 10.0).round() / 10.0)
        );
        // Zero and missing values draw nothing.
        assert_eq!(heights(&svg, "c1").len(), 1);
        assert!((heights(&svg, "c1")[0] - 0.6 * plot).abs() < 0.06);
        // Stacked: 乙 sits on 甲 on 12/01 (y of 乙 + its height = y of 甲).
        assert!(svg.contains("<title>12/01 乙：6</title>"), "{svg}");
        for day in ["12/01", "12/02", "12/03"] {
            assert!(svg.contains(&format!(">{day}</text>")), "{day}");
        }
        // Every number is also in the table.
        assert!(
            svg.contains(
                "<tr><td>12/02</td><td class=\"num\">10</td><td class=\"num\">—</td></tr>"
            ),
            "{svg}"
        );
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=\"图\""));
        assert!(!svg.contains("style="), "the CSP forbids style attributes");
    }

    #[test]
    fn thirty_days_name_at_most_ten_days_and_always_the_last() {
        let (_, days) =
            last_days(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 17, 0, 0).unwrap());
        // 17:00 UTC is already 12/02 in Beijing.
        assert_eq!(days.len(), 30);
        assert_eq!(day_label(*days.last().unwrap()), "12/02");
        assert_eq!(day_label(days[0]), "11/03");
        let labels: Vec<String> = days.iter().map(|d| day_label(*d)).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let c = chart(
            Shape::Stacked,
            vec![series("甲", "c0", &[Some(1.0); 30])],
            &labels,
        );
        let svg = c.render("zh");
        let named = labels
            .iter()
            .filter(|l| svg.contains(&format!(">{l}</text>")))
            .count();
        assert_eq!(named, 10);
        assert!(svg.contains(">12/02</text>"));
    }

    #[test]
    fn no_data_says_so_instead_of_an_empty_frame() {
        let none = chart(
            Shape::Stacked,
            vec![series("甲", "c0", &[None, None])],
            &["a", "b"],
        );
        let html = none.render("zh");
        assert!(html.contains("近30天暂无数据"));
        assert!(!html.contains("<svg"));
        // Zeros were measured: an axis with nothing on it, the zeros in the table.
        let zero = chart(
            Shape::Stacked,
            vec![series("甲", "c0", &[Some(0.0), None])],
            &["a", "b"],
        );
        let html = zero.render("zh");
        assert!(html.contains("<svg") && !html.contains("<rect class=\"c0\" x="));
        assert!(html.contains("<td>a</td><td class=\"num\">0</td>"));
        let none = chart(
            Shape::Lines,
            vec![series("甲", "c0", &[None, None])],
            &["a", "b"],
        );
        assert!(none.render("zh").contains("近30天暂无数据"));
        let nothing = chart(Shape::Stacked, Vec::new(), &[]);
        assert!(nothing.render("zh").contains("近30天暂无数据"));
        // A line at zero is a score of zero, which is data.
        let zero_line = chart(Shape::Lines, vec![series("分", "c0", &[Some(0.0)])], &["a"]);
        assert!(zero_line.render("zh").contains("<svg"));
        let hb = HBars {
            title: "问题".into(),
            rows: Vec::new(),
        };
        assert!(hb.render("zh").contains("近30天暂无数据"));
    }

    #[test]
    fn labels_are_escaped_everywhere() {
        let evil = "<script>alert(1)</script>\"";
        let c = Chart {
            title: evil.into(),
            ..chart(
                Shape::Lines,
                vec![series(evil, "c0\"><script>", &[Some(1.0), Some(2.0)])],
                &[evil, "b"],
            )
        };
        let hb = HBars {
            title: evil.into(),
            rows: vec![(evil.into(), "sev-high".into(), 3.0)],
        };
        for html in [c.render("zh"), hb.render("zh"), {
            let mut s = c.clone();
            s.shape = Shape::Stacked;
            s.render("zh")
        }] {
            assert!(!html.contains("<script"), "{html}");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{html}"
            );
        }
    }

    #[test]
    fn lines_put_points_at_their_values_and_skip_gaps() {
        let c = Chart {
            min_top: 100.0,
            ..chart(
                Shape::Lines,
                vec![series("分", "c0", &[Some(50.0), None, Some(100.0)])],
                &["a", "b", "c"],
            )
        };
        assert_eq!(c.top(), 100.0);
        let svg = c.render("zh");
        assert_eq!(svg.matches("<circle").count(), 2);
        // The gap is not bridged: two lone points, no line between them.
        assert_eq!(svg.matches("<polyline").count(), 0);
        let plot = H - TOP - BOTTOM;
        assert!(
            svg.contains(&format!("cy=\"{:.1}\"", H - BOTTOM - plot / 2.0)),
            "{svg}"
        );
        assert!(svg.contains(&format!("cy=\"{:.1}\"", TOP)), "{svg}");
        assert!(svg.contains("<td>b</td><td class=\"num\">—</td>"));
    }

    #[test]
    fn horizontal_bars_scale_to_the_largest_row() {
        let hb = HBars {
            title: "问题".into(),
            rows: vec![
                ("严重".into(), "sev-critical".into(), 5.0),
                ("高".into(), "sev-high".into(), 10.0),
                ("中".into(), "sev-medium".into(), 0.0),
            ],
        };
        assert_eq!(hb.width_of(10.0), W - HB_LABEL - HB_VALUE);
        assert_eq!(hb.width_of(5.0), (W - HB_LABEL - HB_VALUE) / 2.0);
        let svg = hb.render("zh");
        assert!(svg.contains("<title>高：10</title>"));
        assert!(svg.contains("<tr><td>中</td><td class=\"num\">0</td></tr>"));
    }

    #[test]
    fn series_beyond_the_palette_fold_into_other() {
        let many: Vec<Series> = (0..12)
            .map(|i| series(&format!("k{i}"), "", &[Some(f64::from(i)), Some(1.0)]))
            .collect();
        let folded = palette(many, "其他");
        assert_eq!(folded.len(), MAX_SERIES);
        assert_eq!(
            (folded[0].label.as_str(), folded[0].class.as_str()),
            ("k0", "c0")
        );
        let other = folded.last().unwrap();
        assert_eq!((other.label.as_str(), other.class.as_str()), ("其他", "c7"));
        // k7..k11 folded: 7+8+9+10+11 on the first day, one each on the second.
        assert_eq!(other.values, [Some(45.0), Some(5.0)]);
    }

    #[test]
    fn values_land_on_their_day() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let days = [d(1), d(2), d(3)];
        let got = per_day(
            &days,
            [(d(3), 2.0), (d(1), 1.0), (d(3), 1.5), (d(9), 7.0)].into_iter(),
        );
        assert_eq!(got, [Some(1.0), None, Some(3.5)]);
    }
}
