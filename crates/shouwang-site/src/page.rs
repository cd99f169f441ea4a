//! What an HTML page holds, as the checks need it: visible text, links
//! and resources (each marked when hidden by CSS), meta tags, list entries
//! with dates, the article body, inline scripts.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::NaiveDate;
use ego_tree::NodeRef;
use scraper::{Html, Node, Selector};
use url::Url;

use crate::dates;

/// Files that are attachments rather than pages.
const ATTACHMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "ppt", "pptx", "zip", "rar", "7z", "txt",
    "csv", "ofd",
];

/// At most this many characters of one inline script are kept.
const MAX_SCRIPT_CHARS: usize = 64 * 1024;
/// Elements nested deeper than this are not parsed: html5ever's tree
/// building is quadratic in depth, and a page of 50,000 unclosed `<div>`s
/// (malformed or hostile) would otherwise stall the inspection.
pub const MAX_NESTING: usize = 1500;
/// At most this many list entries per page are kept.
const MAX_LIST_ENTRIES: usize = 2000;
/// At most this many blocks per page are kept for comparing pages.
pub const MAX_BLOCKS: usize = 300;

/// What kind of thing a URL on a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `<a href>` to a page.
    Link,
    /// `<a href>` to a document (PDF, DOC, XLS, …).
    Attachment,
    Image,
    Script,
    Stylesheet,
    Frame,
}

impl RefKind {
    pub fn zh(self) -> &'static str {
        match self {
            RefKind::Link => "链接",
            RefKind::Attachment => "附件",
            RefKind::Image => "图片",
            RefKind::Script => "脚本",
            RefKind::Stylesheet => "样式表",
            RefKind::Frame => "框架页",
        }
    }
}

/// A URL a page refers to.
#[derive(Debug, Clone)]
pub struct Ref {
    pub kind: RefKind,
    pub url: Url,
    /// Anchor text or image alt text, whitespace collapsed.
    pub text: String,
    /// Why the element is not visible, when it is not.
    pub hidden: Option<&'static str>,
    /// The element as it appears, shortened, for evidence.
    pub element: String,
}

/// A row of a column list: a linked title with a date.
#[derive(Debug, Clone)]
pub struct ListEntry {
    pub title: String,
    pub date: NaiveDate,
    /// Where the entry's link leads, resolved, without its fragment.
    pub url: Option<Url>,
}

/// One block element's visible text, or one picture, video or attachment
/// on a page: the unit in which pages of one site are compared, so that
/// what many of them share (header, nav, footer) is told apart from what
/// is the page's own (`crate::template`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// A hash of where the block sits (the tags, ids and classes of its
    /// ancestors) and what it says (its text, or the media's address),
    /// digits counted as one: a footer's year or a visit counter does not
    /// make it a page's own.
    pub key: u64,
    /// Its text outside links, whitespace left out.
    pub text: String,
    /// How many characters of link text it holds.
    pub link_chars: usize,
    /// A picture, video, frame or attachment rather than text.
    pub media: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub site_id_code: Option<String>,
    pub column_name: Option<String>,
    pub article_title: Option<String>,
    pub pub_date: Option<String>,
    /// Target of a `<meta http-equiv="refresh">`, resolved.
    pub refresh: Option<Url>,
}

/// Everything the checks read from one HTML page.
#[derive(Debug, Clone, Default)]
pub struct PageFacts {
    pub title: String,
    /// Visible text: blocks on their own lines, whitespace collapsed.
    pub text: String,
    /// Text inside elements hidden by CSS.
    pub hidden_text: String,
    pub refs: Vec<Ref>,
    pub meta: Meta,
    pub scripts: Vec<String>,
    pub list_entries: Vec<ListEntry>,
    /// Text of the article container (`#zoom`, `.TRS_Editor`, `article`,
    /// …) when the page has one, and whether it holds images, video or
    /// attachments.
    pub article_body: Option<(String, bool)>,
    /// The page's blocks, each as its element closes, at most [`MAX_BLOCKS`].
    pub blocks: Vec<Block>,
    /// The page nested elements deeper than [`MAX_NESTING`]; only the part
    /// before that point was analysed.
    pub cut_at_nesting: Option<usize>,
    /// The page made the parser build more elements than its budget
    /// ([`crate::parse::element_budget`]); only the part before this byte
    /// was analysed.
    pub cut_at_budget: Option<usize>,
}

impl PageFacts {
    /// The whole page was analysed. A check that a page lacks something
    /// (text, a recent entry, a footer mark) can say so only of a whole
    /// page; what a part holds is found in it all the same.
    pub fn is_complete(&self) -> bool {
        self.cut_at_nesting.is_none() && self.cut_at_budget.is_none()
    }

    pub fn is_article(&self) -> bool {
        self.meta.article_title.is_some()
            || (self.article_body.is_some() && self.list_entries.len() < 3)
    }
}

/// Elements whose text is never shown.
fn invisible_container(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "template" | "head" | "title" | "iframe" | "object"
    )
}

fn block_element(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "tr"
            | "br"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "table"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "dd"
            | "dt"
            | "hr"
    )
}

/// Containers that hold an article's body on common Chinese CMSes (TRS,
/// 大汉, 拓尔思) and in plain HTML, most specific first.
const ARTICLE_SELECTORS: &[&str] = &[
    "#zoom",
    ".TRS_Editor",
    ".article-content",
    ".article_content",
    "#article",
    ".article",
    "article",
    "#content",
    ".content",
    ".detail",
];

/// Parse a page and pull out its facts. `base` resolves relative URLs
/// (a `<base href>` in the page overrides it).
pub fn analyse(html: &str, base: &Url, today: NaiveDate) -> PageFacts {
    let cut = nesting_cut(html);
    let html = cut.map_or(html, |at| &html[..at]);
    let parsed = crate::parse::parse_budgeted(html, crate::parse::element_budget(html));
    if let Some(at) = parsed.cut_at {
        tracing::debug!(
            at,
            elements = parsed.elements,
            "page cut at the element budget"
        );
    }
    let doc = parsed.doc;
    let base = base_href(&doc, base);
    let hidden_css = HiddenSelectors::from_style_blocks(&doc);
    let mut facts = PageFacts {
        title: select_text(&doc, "title"),
        ..PageFacts::default()
    };
    facts.meta = meta(&doc, &base);

    let mut walker = Walker {
        base: &base,
        css: &hidden_css,
        facts: &mut facts,
        visible: String::new(),
        hidden: String::new(),
    };
    walker.walk(doc.tree.root(), None);
    let Walker {
        visible, hidden, ..
    } = walker;
    facts.text = collapse(&visible);
    facts.hidden_text = collapse(&hidden);
    facts.list_entries = list_entries(&doc, &hidden_css, &base, today);
    facts.blocks = blocks(&doc, &hidden_css);
    facts.article_body = article_body(&doc, &hidden_css);
    facts.cut_at_nesting = cut;
    facts.cut_at_budget = parsed.cut_at;
    facts
}

/// Where the element nesting of `html` first goes deeper than
/// [`MAX_NESTING`], by a quick scan of tags: void elements, self-closing
/// tags and elements whose end tag is usually left out (p, li, td, …) do
/// not count, so sloppy but ordinary pages are never cut. An end tag counts
/// only when an element of its name is open: the parser ignores a stray
/// one, and `<b></q>` repeated must not pass for shallow while the
/// parser's stack grows by one at each `<b>`.
fn nesting_cut(html: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut open: HashMap<String, usize> = HashMap::new();
    let mut i = 0;
    // The next `>` at or after `i`, found once and kept while `i` has not
    // passed it: searching again from every `<` made a page of unclosed
    // tags (`<a </a <a …`) take minutes.
    let mut next_gt: Option<usize> = None;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        let at = i + off;
        i = at + 1;
        let closing = b.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let name_len = b[name_start.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !b[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "area"
                | "base"
                | "br"
                | "col"
                | "embed"
                | "hr"
                | "img"
                | "input"
                | "link"
                | "meta"
                | "param"
                | "source"
                | "track"
                | "wbr"
                | "p"
                | "li"
                | "td"
                | "th"
                | "tr"
                | "dt"
                | "dd"
                | "option"
                | "html"
                | "head"
                | "body"
        ) {
            continue;
        }
        if closing {
            if let Some(n) = open.get_mut(&name).filter(|n| **n > 0) {
                *n -= 1;
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let tag_end = match next_gt {
            Some(gt) if gt >= i => gt,
            _ => {
                let gt = b[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(b.len(), |e| i + e);
                next_gt = Some(gt);
                gt
            }
        };
        if tag_end > 0 && b[tag_end - 1] == b'/' {
            continue;
        }
        depth += 1;
        if depth > MAX_NESTING {
            return Some(at);
        }
        *open.entry(name).or_default() += 1;
    }
    None
}

fn base_href(doc: &Html, page: &Url) -> Url {
    let sel = Selector::parse("base[href]").expect("static selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("href"))
        .and_then(|h| page.join(h.trim()).ok())
        .unwrap_or_else(|| page.clone())
}

fn select_text(doc: &Html, selector: &str) -> String {
    let sel = Selector::parse(selector).expect("static selector");
    doc.select(&sel)
        .next()
        .map(|e| collapse(&e.text().collect::<String>()))
        .unwrap_or_default()
}

fn meta(doc: &Html, base: &Url) -> Meta {
    let sel = Selector::parse("meta").expect("static selector");
    let mut m = Meta::default();
    for e in doc.select(&sel) {
        let v = e.value();
        let content = v.attr("content").map(|c| c.trim().to_string());
        let name = v.attr("name").unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "siteidcode" => m.site_id_code = content.filter(|c| !c.is_empty()),
            "columnname" => m.column_name = content.filter(|c| !c.is_empty()),
            "articletitle" => m.article_title = content.filter(|c| !c.is_empty()),
            "pubdate" => m.pub_date = content.filter(|c| !c.is_empty()),
            _ => {}
        }
        if v.attr("http-equiv")
            .is_some_and(|h| h.eq_ignore_ascii_case("refresh"))
            && let Some(c) = v.attr("content")
        {
            let lower = c.to_ascii_lowercase();
            if let Some(i) = lower.find("url=") {
                let target = c[i + 4..].trim().trim_matches(['\'', '"']);
                m.refresh = base.join(target).ok();
            }
        }
    }
    m
}

struct Walker<'a> {
    base: &'a Url,
    css: &'a HiddenSelectors,
    facts: &'a mut PageFacts,
    visible: String,
    hidden: String,
}

impl Walker<'_> {
    fn walk(&mut self, node: NodeRef<'_, Node>, hidden: Option<&'static str>) {
        // An explicit stack: a page nested ten thousand levels deep must not
        // overflow ours. Entries: node, why hidden, closing a block, inside
        // <head> (refs and scripts count there, text does not).
        let mut stack = vec![(node, hidden, false, false)];
        while let Some((node, hidden, closing, in_head)) = stack.pop() {
            if closing {
                self.out(hidden).push('\n');
                continue;
            }
            match node.value() {
                Node::Text(t) if !in_head => self.out(hidden).push_str(t),
                Node::Element(e) => {
                    let name = e.name();
                    if name == "script" && e.attr("src").is_none() {
                        let body: String = node
                            .children()
                            .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                            .collect();
                        self.facts
                            .scripts
                            .push(body.chars().take(MAX_SCRIPT_CHARS).collect());
                    }
                    let own = hidden.or_else(|| hidden_reason(e, self.css));
                    self.collect_refs(e, node, own);
                    let in_head = in_head || name == "head";
                    if name != "head" && invisible_container(name) {
                        continue;
                    }
                    let block = block_element(name);
                    if block && !in_head {
                        self.out(own).push('\n');
                        stack.push((node, own, true, in_head));
                    }
                    for child in node.children().rev() {
                        stack.push((child, own, false, in_head));
                    }
                }
                _ => {
                    for child in node.children().rev() {
                        stack.push((child, hidden, false, in_head));
                    }
                }
            }
        }
    }

    fn out(&mut self, hidden: Option<&'static str>) -> &mut String {
        if hidden.is_some() {
            &mut self.hidden
        } else {
            &mut self.visible
        }
    }

    fn collect_refs(
        &mut self,
        e: &scraper::node::Element,
        node: NodeRef<'_, Node>,
        hidden: Option<&'static str>,
    ) {
        let (attr, kind) = match e.name() {
            "a" | "area" => ("href", RefKind::Link),
            "img" => ("src", RefKind::Image),
            "script" => ("src", RefKind::Script),
            "link"
                if e.attr("rel")
                    .is_some_and(|r| r.to_ascii_lowercase().contains("stylesheet")) =>
            {
                ("href", RefKind::Stylesheet)
            }
            "iframe" | "frame" => ("src", RefKind::Frame),
            _ => return,
        };
        let Some(raw) = e.attr(attr).map(str::trim) else {
            return;
        };
        let lower = raw.to_ascii_lowercase();
        if raw.is_empty()
            || raw.starts_with('#')
            || ["javascript:", "mailto:", "tel:", "data:", "about:"]
                .iter()
                .any(|p| lower.starts_with(p))
        {
            return;
        }
        let Ok(mut url) = self.base.join(raw) else {
            return;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return;
        }
        url.set_fragment(None);
        let kind = if kind == RefKind::Link && is_attachment(&url) {
            RefKind::Attachment
        } else {
            kind
        };
        let text = if kind == RefKind::Image {
            e.attr("alt").unwrap_or("").to_string()
        } else {
            collapse(&node_text(node))
        };
        let element = format!(
            "<{} {attr}=\"{}\">{}",
            e.name(),
            shorten(raw, 120),
            shorten(&text, 40)
        );
        self.facts.refs.push(Ref {
            kind,
            url,
            text,
            hidden,
            element,
        });
    }
}

fn node_text(node: NodeRef<'_, Node>) -> String {
    node.descendants()
        .filter_map(|n| n.value().as_text().map(|t| t.to_string()))
        .collect()
}

pub fn is_attachment(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| ATTACHMENT_EXTENSIONS.contains(&ext))
}

pub use shouwang_model::text::shorten;

/// Whitespace runs to one space, blank lines dropped.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&words.join(" "));
    }
    out
}

/// Class and id names that the page's own `<style>` blocks hide.
#[derive(Debug, Default)]
struct HiddenSelectors {
    classes: HashSet<String>,
    ids: HashSet<String>,
}

impl HiddenSelectors {
    fn from_style_blocks(doc: &Html) -> Self {
        let sel = Selector::parse("style").expect("static selector");
        let mut out = HiddenSelectors::default();
        for style in doc.select(&sel) {
            let css = strip_comments(&style.text().collect::<String>());
            for rule in css.split('}') {
                let Some((selectors, decls)) = rule.split_once('{') else {
                    continue;
                };
                if style_hides(decls).is_none() {
                    continue;
                }
                for s in selectors.split(',') {
                    // Only the last compound of simple selectors: `div .x`,
                    // `a.x`, `#y`.
                    let last = s.split_whitespace().last().unwrap_or("");
                    for (i, part) in last.match_indices(['.', '#']) {
                        let name: String = last[i + 1..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                            .collect();
                        if name.is_empty() {
                            continue;
                        }
                        if part == "." {
                            out.classes.insert(name);
                        } else {
                            out.ids.insert(name);
                        }
                    }
                }
            }
        }
        out
    }
}

fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i + 2..]
            .find("*/")
            .map_or("", |j| &rest[i + 2 + j + 2..]);
    }
    out.push_str(rest);
    out
}

/// Why an element is not visible: its inline style, a hiding class or id,
/// the `hidden` attribute, or a marquee too small to see.
fn hidden_reason(e: &scraper::node::Element, css: &HiddenSelectors) -> Option<&'static str> {
    if e.attr("hidden").is_some() {
        return Some("hidden 属性");
    }
    if let Some(r) = e.attr("style").and_then(style_hides) {
        return Some(r);
    }
    if e.classes().any(|c| css.classes.contains(c)) || e.id().is_some_and(|i| css.ids.contains(i)) {
        return Some("样式表隐藏 (class/id)");
    }
    if e.name() == "marquee" {
        let tiny = |a: &str| {
            e.attr(a)
                .and_then(|v| v.trim().trim_end_matches("px").parse::<f64>().ok())
                .is_some_and(|v| v <= 5.0)
        };
        let fast = e
            .attr("scrollamount")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .is_some_and(|v| v >= 1000);
        if tiny("height") || tiny("width") || fast {
            return Some("微型滚动字幕 (marquee)");
        }
    }
    None
}

/// Why a CSS declaration block hides its element, if it does.
fn style_hides(decls: &str) -> Option<&'static str> {
    let mut display_none = false;
    let mut visibility_hidden = false;
    let mut tiny_font = false;
    let mut offscreen = false;
    let mut zero_box = false;
    let mut overflow_hidden = false;
    let mut transparent = false;
    for decl in decls.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value
            .trim()
            .trim_end_matches("!important")
            .trim()
            .to_ascii_lowercase();
        let px = || -> Option<f64> {
            let v = value
                .trim_end_matches("px")
                .trim_end_matches("pt")
                .trim_end_matches("em");
            v.trim().parse::<f64>().ok()
        };
        match prop.as_str() {
            "display" if value == "none" => display_none = true,
            "visibility" if value == "hidden" || value == "collapse" => visibility_hidden = true,
            "font-size" if px().is_some_and(|v| v < 2.0) => tiny_font = true,
            "left" | "top" | "margin-left" | "margin-top" | "text-indent"
                if px().is_some_and(|v| v <= -500.0) =>
            {
                offscreen = true
            }
            "height" | "width" | "max-height" | "max-width" if px().is_some_and(|v| v < 2.0) => {
                zero_box = true
            }
            "overflow" if value == "hidden" => overflow_hidden = true,
            "opacity" if value.parse::<f64>().is_ok_and(|v| v < 0.05) => transparent = true,
            _ => {}
        }
    }
    if display_none {
        Some("display:none")
    } else if visibility_hidden {
        Some("visibility:hidden")
    } else if offscreen {
        Some("移出屏幕 (负偏移)")
    } else if tiny_font {
        Some("字号为零")
    } else if zero_box && overflow_hidden {
        Some("零尺寸 + overflow:hidden")
    } else if transparent {
        Some("opacity:0")
    } else {
        None
    }
}

/// Rows (`li`, `tr`, `dd`) holding a link and a date: the entries of a
/// column's list.
fn list_entries(doc: &Html, css: &HiddenSelectors, base: &Url, today: NaiveDate) -> Vec<ListEntry> {
    let sel = Selector::parse("li, tr, dd").expect("static selector");
    let a = Selector::parse("a[href]").expect("static selector");
    let mut out = Vec::new();
    for row in doc.select(&sel) {
        if out.len() >= MAX_LIST_ENTRIES {
            break;
        }
        if hidden_reason(row.value(), css).is_some() {
            continue;
        }
        // Nested lists: only the innermost row counts.
        if row.select(&sel).next().is_some() {
            continue;
        }
        let Some(link) = row.select(&a).next() else {
            continue;
        };
        let text = row.text().collect::<String>();
        if let Some(date) = dates::newest_date(&text, today) {
            out.push(ListEntry {
                title: collapse(&link.text().collect::<String>()),
                date,
                url: link.value().attr("href").and_then(|h| {
                    let mut u = base.join(h.trim()).ok()?;
                    u.set_fragment(None);
                    Some(u)
                }),
            });
        }
    }
    out
}

/// Where an element sits, as a hash of its parent's and its own tag, id
/// and classes (digits counted as one, classes sorted). The attributes of
/// `html` and `body` are left out: CMSes put the column's or the page's
/// name there, and the header is the same header on every page.
fn path_step(parent: u64, e: &scraper::node::Element) -> u64 {
    let mut h = DefaultHasher::new();
    parent.hash(&mut h);
    e.name().hash(&mut h);
    if !matches!(e.name(), "html" | "body") {
        if let Some(id) = e.id() {
            digits_as_one(id).hash(&mut h);
        }
        let mut classes: Vec<String> = e.classes().map(digits_as_one).collect();
        classes.sort();
        classes.hash(&mut h);
    }
    h.finish()
}

/// `s` with every run of digits written as one `0`.
fn digits_as_one(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('0');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The visible blocks of a page, each as its element closes, at most
/// [`MAX_BLOCKS`]: the text of each block element (nested blocks apart),
/// and each visible picture, video, frame and attachment link.
fn blocks(doc: &Html, css: &HiddenSelectors) -> Vec<Block> {
    enum Step<'a> {
        Visit(NodeRef<'a, Node>, u64, bool),
        Close,
    }
    struct Open {
        path: u64,
        text: String,
        links: String,
    }
    fn emit(out: &mut Vec<Block>, b: Open) {
        if out.len() >= MAX_BLOCKS || (b.text.is_empty() && b.links.is_empty()) {
            return;
        }
        let mut h = DefaultHasher::new();
        b.path.hash(&mut h);
        digits_as_one(&b.text).hash(&mut h);
        digits_as_one(&b.links).hash(&mut h);
        out.push(Block {
            key: h.finish(),
            link_chars: b.links.chars().count(),
            text: b.text,
            media: false,
        });
    }
    let open_block = |path| Open {
        path,
        text: String::new(),
        links: String::new(),
    };
    let mut out = Vec::new();
    let mut open = vec![open_block(0)];
    // An explicit stack, as in `Walker::walk`: deep pages must not
    // overflow ours.
    let mut stack = vec![Step::Visit(doc.tree.root(), 0, false)];
    while let Some(step) = stack.pop() {
        if out.len() >= MAX_BLOCKS {
            break;
        }
        let (node, path, in_link) = match step {
            Step::Close => {
                if let Some(b) = open.pop() {
                    emit(&mut out, b);
                }
                continue;
            }
            Step::Visit(node, path, in_link) => (node, path, in_link),
        };
        match node.value() {
            Node::Text(t) => {
                if let Some(top) = open.last_mut() {
                    let to = if in_link {
                        &mut top.links
                    } else {
                        &mut top.text
                    };
                    to.extend(t.chars().filter(|c| !c.is_whitespace()));
                }
            }
            Node::Element(e) => {
                let name = e.name();
                if hidden_reason(e, css).is_some() || name == "head" {
                    continue;
                }
                let path = path_step(path, e);
                let media_src = match name {
                    "img" | "video" | "audio" | "embed" | "iframe" | "frame" => {
                        e.attr("src").or_else(|| e.attr("data-src"))
                    }
                    "object" => e.attr("data"),
                    "a" => e.attr("href").filter(|h| {
                        Url::parse("http://x/")
                            .ok()
                            .and_then(|b| b.join(h.trim()).ok())
                            .is_some_and(|u| is_attachment(&u))
                    }),
                    _ => None,
                };
                if let Some(src) = media_src.filter(|s| !s.trim().is_empty())
                    && out.len() < MAX_BLOCKS
                {
                    let mut h = DefaultHasher::new();
                    path.hash(&mut h);
                    src.trim().hash(&mut h);
                    out.push(Block {
                        key: h.finish(),
                        text: String::new(),
                        link_chars: 0,
                        media: true,
                    });
                }
                if invisible_container(name) {
                    continue;
                }
                if block_element(name) {
                    open.push(open_block(path));
                    stack.push(Step::Close);
                }
                let in_link = in_link || name == "a";
                for child in node.children().rev() {
                    stack.push(Step::Visit(child, path, in_link));
                }
            }
            _ => {
                for child in node.children().rev() {
                    stack.push(Step::Visit(child, path, in_link));
                }
            }
        }
    }
    while let Some(b) = open.pop() {
        emit(&mut out, b);
    }
    out
}

fn article_body(doc: &Html, css: &HiddenSelectors) -> Option<(String, bool)> {
    let media = Selector::parse("img, video, embed, object, iframe, audio, a[href]").ok()?;
    for s in ARTICLE_SELECTORS {
        let sel = Selector::parse(s).ok()?;
        if let Some(e) = doc.select(&sel).next() {
            if hidden_reason(e.value(), css).is_some() {
                continue;
            }
            let text = collapse(&e.text().collect::<String>());
            let has_media = e.select(&media).any(|m| {
                m.value().name() != "a"
                    || m.value()
                        .attr("href")
                        .and_then(|h| Url::parse("http://x/").ok()?.join(h).ok())
                        .is_some_and(|u| is_attachment(&u))
            });
            return Some((text, has_media));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn page(html: &str) -> PageFacts {
        analyse(
            html,
            &Url::parse("http://site.test/a/index.html").unwrap(),
            today(),
        )
    }

    #[test]
    fn visible_and_hidden_text_and_links() {
        let f = page(
            r#"<html><head><title> 首页 </title><style>.x{display:none} #y { position:absolute; left:-9999px }</style></head>
            <body><p>欢迎访问</p>
            <div style="display:none"><a href="http://spam.example/">百家乐</a></div>
            <span class="x"><a href="http://a.example/">A</a></span>
            <div id="y"><a href="http://b.example/">B</a></div>
            <p style="font-size:0px"><a href="http://c.example/">C</a></p>
            <marquee height="1" width="1"><a href="http://d.example/">D</a></marquee>
            <a href="../b.html#top">内页</a><img src="/img/logo.png" alt="标志">
            <a href="/files/notice.PDF">附件</a><a href="javascript:void(0)">x</a></body></html>"#,
        );
        assert_eq!(f.title, "首页");
        assert!(f.text.contains("欢迎访问"));
        assert!(!f.text.contains("百家乐"));
        assert!(f.hidden_text.contains("百家乐"));
        let hidden: Vec<_> = f
            .refs
            .iter()
            .filter(|r| r.hidden.is_some())
            .map(|r| r.url.host_str().unwrap().to_string())
            .collect();
        assert_eq!(
            hidden,
            [
                "spam.example",
                "a.example",
                "b.example",
                "c.example",
                "d.example"
            ]
        );
        let inner = f.refs.iter().find(|r| r.text == "内页").unwrap();
        assert_eq!(inner.url.as_str(), "http://site.test/b.html");
        assert!(inner.hidden.is_none());
        assert!(
            f.refs
                .iter()
                .any(|r| r.kind == RefKind::Image && r.url.path() == "/img/logo.png")
        );
        assert!(f.refs.iter().any(|r| r.kind == RefKind::Attachment));
        assert_eq!(f.refs.len(), 8);
    }

    #[test]
    fn list_entries_and_meta() {
        let f = page(
            r#"<meta name="ColumnName" content="通知公告"><meta name="SiteIDCode" content="3501000001">
            <ul><li><a href="1.html">关于春节放假的通知</a><span>2025-01-20</span></li>
            <li><a href="2.html">防汛通知</a> [05-01]</li><li>无链接 2026-01-01</li></ul>"#,
        );
        assert_eq!(f.meta.column_name.as_deref(), Some("通知公告"));
        assert_eq!(f.meta.site_id_code.as_deref(), Some("3501000001"));
        let dates: Vec<_> = f.list_entries.iter().map(|e| e.date.to_string()).collect();
        assert_eq!(dates, ["2025-01-20", "2026-05-01"]);
    }

    #[test]
    fn article_bodies() {
        let f = page(
            r#"<meta name="ArticleTitle" content="图片新闻"><h1>图片新闻</h1><div id="zoom">  </div>"#,
        );
        assert!(f.is_article());
        assert_eq!(f.article_body, Some((String::new(), false)));
        let f = page(r#"<div class="TRS_Editor"><img src="a.jpg"></div>"#);
        assert_eq!(f.article_body, Some((String::new(), true)));
    }

    #[test]
    fn malformed_and_deep_html_does_not_break() {
        let shallow = "<div>".repeat(1000) + "深处" + &"</div>".repeat(10);
        let f = page(&shallow);
        assert!(f.text.contains("深处"));
        assert_eq!(f.cut_at_nesting, None);
        let deep =
            "<p>正文</p>".to_string() + &"<div>".repeat(50_000) + "深处" + &"</div>".repeat(10);
        let f = page(&deep);
        assert!(f.text.contains("正文"));
        assert!(!f.text.contains("深处"));
        assert!(f.cut_at_nesting.is_some());
        // Thousands of unclosed list items are ordinary, not deep.
        let list = "<ul>".to_string() + &"<li><a href=x>条目</a>".repeat(5000) + "</ul>";
        assert_eq!(page(&list).cut_at_nesting, None);
        let f = page(
            "<a href='http://[::1'>x</a><<<>>><p <a>\u{0}<script>document.write('<a href=x>')",
        );
        assert!(f.refs.is_empty());
        assert_eq!(f.scripts.len(), 1);
    }

    #[test]
    fn blocks_of_one_template_have_the_same_keys_whatever_their_numbers() {
        let shell = |year: u32, visits: u32, body: &str| {
            page(&format!(
                r#"<div class="header"><ul class="nav"><li><a href="/">首页</a></li></ul></div>
                <div class="main">{body}<img src="/p.jpg" style="display:none"></div>
                <div class="footer">版权所有 © {year} 某某镇 您是第 {visits} 位访客</div>"#
            ))
            .blocks
        };
        let a = shell(2024, 17, "<p>正文一</p>");
        let b = shell(2025, 123_456, "<p>正文二</p>");
        let keys = |v: &[Block]| v.iter().map(|b| b.key).collect::<HashSet<_>>();
        let shared: Vec<&Block> = a.iter().filter(|x| keys(&b).contains(&x.key)).collect();
        // The nav and the footer are shared; the bodies are not; the
        // hidden picture is no block at all.
        assert_eq!(shared.len(), 2, "{a:#?}\n{b:#?}");
        assert!(
            shared
                .iter()
                .any(|x| x.link_chars == 2 && x.text.is_empty())
        );
        assert!(shared.iter().any(|x| x.text.starts_with("版权所有")));
        assert!(a.iter().any(|x| x.text == "正文一"));
        assert!(!a.iter().any(|x| x.media));
    }

    #[test]
    fn meta_refresh_is_resolved() {
        let f = page(r#"<meta http-equiv="refresh" content="0; URL='http://evil.example/x'">"#);
        assert_eq!(f.meta.refresh.unwrap().host_str(), Some("evil.example"));
    }

    #[test]
    fn a_page_of_unclosed_tags_is_read_to_its_end() {
        // Each `<a` without a `>` once sent the nesting scan to the end of
        // the page again: minutes for this megabyte.
        let html = "<p>正文</p>".to_string() + &"<a </a ".repeat(150_000) + "<p>末尾";
        assert_eq!(nesting_cut(&html), None);
        let deep = "<div ".repeat(MAX_NESTING + 1);
        assert_eq!(nesting_cut(&deep), Some(MAX_NESTING * 5));
    }

    #[test]
    fn stray_end_tags_do_not_hide_elements_left_open() {
        // The parser ignores `</q>` with no `<q>` open, so each `<b>` stays
        // on its stack; the scan once counted the `</q>` as a close.
        let html = "<b id=1></q>".repeat(MAX_NESTING + 10);
        assert!(nesting_cut(&html).is_some());
        let closed = "<b id=1></b>".repeat(MAX_NESTING + 10);
        assert_eq!(nesting_cut(&closed), None);
    }

    #[test]
    fn a_page_that_makes_the_parser_rebuild_thousands_of_elements_is_read_in_part() {
        let opened: String = (0..1400).map(|i| format!("<b id={i}>")).collect();
        let html = format!(
            "<title>首页</title><p>开头</p><div>{opened}</div>{}<p>末尾</p>",
            "<div>x</div>".repeat(6000)
        );
        let f = page(&html);
        assert!(f.cut_at_budget.is_some());
        assert!(!f.is_complete());
        assert_eq!(f.title, "首页");
        assert!(f.text.contains("开头") && !f.text.contains("末尾"));
    }

    /// Properties on hostile pages: the facts come back, within the
    /// limits the module sets, whatever the page holds.
    mod hostile {
        use super::*;
        use proptest::prelude::*;

        const REAL_PAGE: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8">
<title>通知公告_某某镇人民政府</title><meta name="ColumnName" content="通知公告">
<meta name="ArticleTitle" content="关于做好防汛工作的通知"><meta http-equiv="refresh" content="5;url=/new/">
<base href="http://site.test/b/"><style>.sub { display: none } /* 注释 */ #x{visibility:hidden}</style>
<script>var a = "<a href='x'>" + '&amp;'; document.write('<p>')</script></head><body>
<ul class="nav"><li><a href="/bdgk/">本地概况</a><ul class="sub"><li><a href="/bdgk/zr/">自然地理</a></li></ul></li></ul>
<div id="zoom"><p>各村（社区）：入汛以来降雨偏多&nbsp;请做好防汛值班。研发&测试部 张三</p>
<table><tr><td><a href="tz/1.html">关于征兵工作的通知</a></td><td>2025-03-15</td></tr>
<tr><td><a href="tz/2.html">关于秋季防火的通告</a></td><td>[06-10]</td></tr></table>
<img src="/img/a.png" alt="会议现场"><a href="/files/名单.xlsx">名单.xlsx</a>
<div style="position:absolute;left:-9999px"><a href="http://casino.example/">百家乐</a></div>
<marquee height="1" width="1"><a href="http://pills.example/">特价</a></marquee>
<iframe src="//other.example/frame"></iframe><link rel="stylesheet" href="a.css"></div>
<div class="footer">主办单位：某某镇人民政府 2025年6月1日</div></body></html>"#;

        /// The text of a page is at most this many times its size: an
        /// entity or a NUL can grow to three bytes of UTF-8, never more
        /// per byte of source.
        const TEXT_GROWTH: usize = 3;

        fn base() -> Url {
            Url::parse("http://site.test/a/index.html").unwrap()
        }

        fn within_limits(html: &str) -> PageFacts {
            let f = analyse(html, &base(), today());
            assert!(
                f.text.len() + f.hidden_text.len() <= TEXT_GROWTH * html.len(),
                "{} + {} from {}",
                f.text.len(),
                f.hidden_text.len(),
                html.len()
            );
            assert!(f.list_entries.len() <= MAX_LIST_ENTRIES);
            assert!(
                f.scripts
                    .iter()
                    .all(|s| s.chars().count() <= MAX_SCRIPT_CHARS)
            );
            if let Some(at) = f.cut_at_nesting {
                assert!(at < html.len() && html.is_char_boundary(at), "{at}");
            }
            for r in &f.refs {
                assert!(matches!(r.url.scheme(), "http" | "https"), "{}", r.url);
                assert!(r.element.chars().count() <= 200, "{}", r.element);
            }
            f
        }

        /// One change to a page, at character positions.
        #[derive(Debug, Clone)]
        enum Edit {
            Insert(usize, String),
            Remove(usize, usize),
            Truncate(usize),
            Repeat(usize, usize, usize),
        }

        fn edit() -> impl Strategy<Value = Edit> {
            prop_oneof![
                (any::<usize>(), "(\\PC|[<>/=\"'&;#!-])*").prop_map(|(at, s)| Edit::Insert(at, s)),
                (any::<usize>(), 1..200usize).prop_map(|(at, n)| Edit::Remove(at, n)),
                any::<usize>().prop_map(Edit::Truncate),
                (any::<usize>(), 1..80usize, 2..50usize)
                    .prop_map(|(at, n, times)| Edit::Repeat(at, n, times)),
            ]
        }

        fn apply(page: &str, edits: &[Edit]) -> String {
            let mut chars: Vec<char> = page.chars().collect();
            for e in edits {
                let n = chars.len() + 1;
                match e {
                    Edit::Insert(at, s) => {
                        let at = at % n;
                        chars.splice(at..at, s.chars());
                    }
                    Edit::Remove(at, len) => {
                        let at = at % n;
                        let end = (at + len).min(chars.len());
                        if at < end {
                            chars.drain(at..end);
                        }
                    }
                    Edit::Truncate(at) => chars.truncate(at % n),
                    Edit::Repeat(at, len, times) => {
                        let at = at % n;
                        let end = (at + len).min(chars.len());
                        let piece: Vec<char> = chars[at.min(end)..end].to_vec();
                        for _ in 1..*times {
                            chars.splice(end..end, piece.iter().copied());
                        }
                    }
                }
            }
            chars.into_iter().collect()
        }

        #[test]
        fn the_real_page_is_read_as_it_should_be() {
            // The page the mutations start from reads as intended, so that
            // they start from something meaningful.
            let f = within_limits(REAL_PAGE);
            assert!(f.text.contains("研发&测试部 张三"), "{}", f.text);
            assert!(f.hidden_text.contains("百家乐"), "{}", f.hidden_text);
            assert_eq!(f.meta.column_name.as_deref(), Some("通知公告"));
            assert!(f.list_entries.len() >= 2, "{:?}", f.list_entries);
            assert!(f.refs.iter().any(|r| r.kind == RefKind::Attachment));
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_string_gives_facts_within_limits(
                pieces in proptest::collection::vec(
                    "\\PC{0,6}|[<>/=\"'&;#!-]|<[a-z]{1,6}( [a-z]{1,5}=['\"]?[a-z0-9 /:.#-]{0,10}['\"]?)?>?|</[a-z]{1,6}>|&[a-z#0-9]{1,6};?",
                    0..100,
                ),
            ) {
                within_limits(&pieces.concat());
            }

            #[test]
            fn a_mangled_real_page_gives_facts_within_limits(
                edits in proptest::collection::vec(edit(), 1..6),
            ) {
                within_limits(&apply(REAL_PAGE, &edits));
            }

            #[test]
            fn the_nesting_scan_cuts_only_on_a_character_boundary(
                html in "(<div>|<span |</div>|<p>|\\PC|<br/>)*",
            ) {
                if let Some(at) = nesting_cut(&html) {
                    prop_assert!(html.is_char_boundary(at));
                    prop_assert_eq!(&html[at..at + 1], "<");
                }
            }
        }
    }
}
