//! The content checks: each turns page facts into findings.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use shouwang_model::{AssetRef, NewFinding, Provenance, Severity, Text};
use shouwang_scan::{Dictionary, PiiKind, RuleKind, find_pii, masked_snippet, redact};
use url::Url;

use crate::SENSOR;
use crate::page::{PageFacts, RefKind, shorten};

/// How long a column may go without a new entry, by words in its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRule {
    /// The rule applies to a column whose name contains one of these.
    pub keywords: Vec<String>,
    pub days: i64,
    /// Where the threshold comes from, quoted in the finding.
    pub basis: String,
}

/// Thresholds from the inspection rules (`shared/gov-site-rules.md` §2):
/// 动态/要闻 2 weeks, 通知公告/政策文件 6 months, 人事/规划计划 1 year.
/// Basic-information columns (概况, 领导, 机构职能) have no number in the
/// rules; a year is our estimate and says so. First match wins.
pub fn default_stale_rules() -> Vec<StaleRule> {
    let rule = |words: &[&str], days, basis: &str| StaleRule {
        keywords: words.iter().map(|w| w.to_string()).collect(),
        days,
        basis: basis.to_string(),
    };
    vec![
        rule(
            &["政策解读", "政策文件", "通知公告", "公告", "通知", "文件"],
            183,
            "通知公告、政策文件类栏目 6 个月未更新（国办秘函〔2019〕19号 单项否决 栏目不更新）",
        ),
        rule(
            &["要闻", "动态", "新闻", "资讯", "工作信息", "政务信息"],
            14,
            "动态要闻类栏目 2 周未更新（国办秘函〔2019〕19号 单项否决 栏目不更新）",
        ),
        rule(
            &["人事", "规划", "计划"],
            365,
            "人事、规划计划类栏目 1 年未更新（2015 年普查评分表 基本信息）",
        ),
        rule(
            &["概况", "领导", "机构", "职能", "简介"],
            365,
            "基本信息类栏目按 1 年估计（规则未给出具体期限，为守望估计值）",
        ),
    ]
}

/// Phrases a CMS shows in a column that has nothing in it.
const PLACEHOLDERS: &[&str] = &[
    "暂无信息",
    "暂无内容",
    "暂无数据",
    "暂无记录",
    "暂无相关信息",
    "暂无文章",
    "没有相关信息",
    "栏目建设中",
    "正在建设中",
    "内容正在更新",
];

/// Builds findings for one asset.
#[derive(Debug, Clone)]
pub struct FindingMaker {
    pub asset: AssetRef,
}

impl FindingMaker {
    /// A finding; the evidence is masked for personal numbers and capped.
    pub fn make(
        &self,
        check: &str,
        severity: Severity,
        zh: impl Into<String>,
        en: impl Into<String>,
        evidence: &str,
        location: &str,
    ) -> NewFinding {
        let evidence = redact(evidence);
        NewFinding {
            asset: self.asset.clone(),
            severity,
            title: Text::new(zh, en),
            evidence: shorten(&evidence, 600),
            location: location.to_string(),
            provenance: Provenance::now(SENSOR, check, location),
        }
    }
}

/// Everything a page check needs besides the page.
pub struct PageContext<'a> {
    pub maker: &'a FindingMaker,
    pub dictionary: &'a Dictionary,
    pub scope: &'a HashSet<String>,
    pub today: NaiveDate,
    pub stale_rules: &'a [StaleRule],
    pub is_homepage: bool,
    /// The text of the link that led here, a good column name.
    pub anchor: Option<&'a str>,
}

impl PageContext<'_> {
    pub fn in_scope(&self, url: &Url) -> bool {
        url.host_str().is_some_and(|h| self.scope.contains(h))
    }
}

/// The checks that look only at one page's content.
pub fn page_checks(ctx: &PageContext<'_>, url: &Url, facts: &PageFacts) -> Vec<NewFinding> {
    let mut out = Vec::new();
    let at = url.as_str();
    if facts.is_complete() {
        blank(ctx, at, facts, &mut out);
        stale(ctx, at, facts, &mut out);
    }
    wording(ctx, at, &facts.text, &mut out);
    pii(ctx, at, &facts.text, &mut out);
    dark_links(ctx, at, facts, &mut out);
    scripts(ctx, url, facts, &mut out);
    out
}

fn chars(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// The name of the column a page is: its ColumnName meta tag, the short
/// link text that led here, or the first part of its title.
pub fn column_name(ctx: &PageContext<'_>, facts: &PageFacts) -> String {
    if let Some(c) = &facts.meta.column_name {
        return c.clone();
    }
    if let Some(a) = ctx.anchor.map(str::trim).filter(|a| {
        let n = a.chars().count();
        (2..=12).contains(&n)
    }) {
        return a.to_string();
    }
    facts
        .title
        .split(['-', '_', '|', '—'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

/// The placeholder a column page with no entries shows, if any.
fn placeholder(ctx: &PageContext<'_>, facts: &PageFacts) -> Option<&'static str> {
    if !facts.list_entries.is_empty() || ctx.is_homepage {
        return None;
    }
    PLACEHOLDERS
        .iter()
        .copied()
        .find(|p| facts.text.contains(p))
}

/// A page with under 10 characters of visible text and no picture.
fn nearly_empty(facts: &PageFacts) -> bool {
    let has_images = facts
        .refs
        .iter()
        .any(|r| matches!(r.kind, RefKind::Image | RefKind::Frame) && r.hidden.is_none());
    chars(&facts.text) < 10 && !has_images
}

/// Whether the page is already a finding of its own as a blank column or
/// a blank page: one finding for a nearly blank page is enough.
pub fn is_blank_page(ctx: &PageContext<'_>, facts: &PageFacts) -> bool {
    placeholder(ctx, facts).is_some() || nearly_empty(facts)
}

fn blank(ctx: &PageContext<'_>, at: &str, facts: &PageFacts, out: &mut Vec<NewFinding>) {
    let m = ctx.maker;
    if let Some(p) = placeholder(ctx, facts) {
        let name = column_name(ctx, facts);
        out.push(m.make(
            "site.blank-column",
            Severity::Medium,
            format!("空白栏目「{name}」"),
            format!("Blank column \"{name}\""),
            &format!("栏目「{name}」没有任何信息，页面显示「{p}」"),
            at,
        ));
    } else if nearly_empty(facts) {
        out.push(m.make(
            "site.blank-page",
            Severity::Medium,
            "空白页面",
            "Blank page",
            &format!(
                "页面可见文字仅 {} 字，且无图片：{}",
                chars(&facts.text),
                shorten(&facts.text, 60)
            ),
            at,
        ));
    }
    // 有标题无正文 needs the other pages of the site, to tell a page's own
    // content from the template they share: `crate::template` judges it
    // after the crawl.
}

/// The title an article page gives itself.
pub fn article_title(facts: &PageFacts) -> String {
    facts
        .meta
        .article_title
        .clone()
        .unwrap_or_else(|| facts.title.clone())
}

/// The evidence that an article's body container (`#zoom`,
/// `.TRS_Editor`, …) holds nothing but its title, when it does.
pub fn blank_container(facts: &PageFacts) -> Option<String> {
    if !facts.is_article() {
        return None;
    }
    let (body, has_media) = facts.article_body.as_ref()?;
    let title = article_title(facts);
    // The body container often repeats the title: what is left is the body.
    let rest = body.replacen(title.as_str(), "", 1);
    (chars(&rest) < 10 && !has_media).then(|| {
        format!(
            "标题「{}」，正文 {} 字：{}",
            shorten(&title, 60),
            chars(&rest),
            shorten(&rest, 60)
        )
    })
}

fn stale(ctx: &PageContext<'_>, at: &str, facts: &PageFacts, out: &mut Vec<NewFinding>) {
    let Some(newest) = facts.list_entries.iter().max_by_key(|e| e.date) else {
        return;
    };
    let idle = (ctx.today - newest.date).num_days();
    if ctx.is_homepage {
        // 首页不更新: no new item on the homepage for 2 weeks is a veto item.
        if idle > 14 {
            out.push(ctx.maker.make(
                "site.homepage-stale",
                Severity::High,
                "首页两周以上未更新",
                "Homepage not updated for more than two weeks",
                &format!(
                    "首页最新信息「{}」发布于 {}，已 {idle} 天未更新（单项否决：首页 2 周内无更新）",
                    shorten(&newest.title, 40),
                    newest.date
                ),
                at,
            ));
        }
        return;
    }
    if facts.list_entries.len() < 2 && facts.meta.column_name.is_none() && reads_as_article(facts) {
        // One dated link on an article (上一篇, 相关文章) is not a column
        // list; on a page that is not an article, it is a column of one.
        return;
    }
    let name = column_name(ctx, facts);
    let Some(rule) = ctx
        .stale_rules
        .iter()
        .find(|r| r.keywords.iter().any(|k| name.contains(k.as_str())))
    else {
        return;
    };
    if idle > rule.days {
        out.push(ctx.maker.make(
            "site.stale-column",
            Severity::Medium,
            format!("栏目「{name}」长期未更新"),
            format!("Column \"{name}\" not updated"),
            &format!(
                "最新一条「{}」发布于 {}，已 {idle} 天未更新；期限 {} 天：{}",
                shorten(&newest.title, 40),
                newest.date,
                rule.days,
                rule.basis
            ),
            at,
        ));
    }
}

/// Whether a page is an article rather than a list: it names its title in
/// `ArticleTitle`, or its body container holds more than its list entries
/// and a line or two: a paragraph of its own.
fn reads_as_article(facts: &PageFacts) -> bool {
    if facts.meta.article_title.is_some() {
        return true;
    }
    let Some((body, _)) = &facts.article_body else {
        return false;
    };
    let mut rest = body.clone();
    for e in &facts.list_entries {
        rest = rest.replacen(e.title.as_str(), "", 1);
    }
    let rest: String = rest
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !c.is_ascii_digit() && !"-/.:：年月日[]()（）".contains(*c)
        })
        .collect();
    rest.chars().count() >= ARTICLE_PARAGRAPH
}

/// Characters of a body container, besides its list entries and dates,
/// that make a page an article.
const ARTICLE_PARAGRAPH: usize = 50;

/// Wording rules over visible text: one finding per rule and page, with
/// the first place it occurs and how often.
pub fn wording(ctx: &PageContext<'_>, at: &str, text: &str, out: &mut Vec<NewFinding>) {
    let mut per_rule: BTreeMap<usize, (usize, usize, usize)> = BTreeMap::new();
    ctx.dictionary.for_each(text, |h| {
        let e = per_rule.entry(h.rule).or_insert((h.start, h.end, 0));
        e.2 += 1;
    });
    for (rule, (start, end, count)) in per_rule {
        let r = &ctx.dictionary.rules()[rule];
        let (check, severity) = match r.kind {
            RuleKind::Expression => ("site.wording.expression", Severity::Medium),
            RuleKind::Typo => ("site.wording.typo", Severity::Low),
            RuleKind::Forbidden => ("site.wording.forbidden", Severity::Medium),
            // Spam words in ordinary text are often news about fighting
            // them; they count where attackers hide them (dark links,
            // cloaked pages), not here.
            RuleKind::Spam => continue,
        };
        let context = masked_snippet(text, start, end, 20).replace('\n', " ");
        // A forbidden word with nothing to write instead (slurs, slang,
        // advertising claims) is to be deleted, and the title says so.
        let suggestion = match (r.suggest.is_empty(), r.kind) {
            (false, _) => format!("，建议改为「{}」", r.suggest),
            (true, RuleKind::Forbidden) => "，建议删去".to_string(),
            (true, _) => String::new(),
        };
        out.push(ctx.maker.make(
            check,
            severity,
            format!("{}「{}」{suggestion}", r.kind.zh(), r.find),
            format!(
                "{} \"{}\"{}",
                r.kind.as_str(),
                r.find,
                match (r.suggest.is_empty(), r.kind) {
                    (false, _) => format!(", write \"{}\"", r.suggest),
                    (true, RuleKind::Forbidden) => ", delete it".to_string(),
                    (true, _) => String::new(),
                }
            ),
            &format!(
                "…{context}…（本页 {count} 处）{}{}",
                if r.note.is_empty() {
                    String::new()
                } else {
                    format!("；{}", r.note)
                },
                if r.source.is_empty() {
                    String::new()
                } else {
                    format!("（依据：{}）", r.source)
                }
            ),
            &format!("{at} 「{}」", r.find),
        ));
    }
}

/// Personal numbers in visible text: one finding per kind and page, the
/// values masked.
pub fn pii(ctx: &PageContext<'_>, at: &str, text: &str, out: &mut Vec<NewFinding>) {
    let hits = find_pii(text);
    for kind in [PiiKind::IdCard, PiiKind::BankCard, PiiKind::Mobile] {
        let of_kind: Vec<_> = hits.iter().filter(|h| h.kind == kind).collect();
        let Some(first) = of_kind.first() else {
            continue;
        };
        let severity = match kind {
            PiiKind::IdCard | PiiKind::BankCard => Severity::Critical,
            // Office mobiles are often published on purpose as contacts.
            PiiKind::Mobile => Severity::Medium,
        };
        let examples: Vec<&str> = of_kind.iter().take(5).map(|h| h.masked.as_str()).collect();
        let context = masked_snippet(text, first.start, first.end, 15).replace('\n', " ");
        out.push(ctx.maker.make(
            &format!("site.pii.{}", kind.as_str()),
            severity,
            format!("页面泄露个人信息：{}", kind.zh()),
            format!("Personal information on the page: {kind}"),
            &format!(
                "共 {} 个{}（{}）；首处：…{context}…",
                of_kind.len(),
                kind.zh(),
                examples.join("、")
            ),
            &format!("{at} {}", kind.as_str()),
        ));
    }
}

/// Personal numbers in an attachment's text: one finding per kind and
/// attachment, the values masked.
pub fn attachment_pii(
    maker: &FindingMaker,
    at: &str,
    referrer: &str,
    text: &str,
    truncated: bool,
    out: &mut Vec<NewFinding>,
) {
    let hits = find_pii(text);
    for kind in [PiiKind::IdCard, PiiKind::BankCard, PiiKind::Mobile] {
        let of_kind: Vec<_> = hits.iter().filter(|h| h.kind == kind).collect();
        let Some(first) = of_kind.first() else {
            continue;
        };
        let severity = match kind {
            PiiKind::IdCard | PiiKind::BankCard => Severity::Critical,
            PiiKind::Mobile => Severity::High,
        };
        let examples: Vec<&str> = of_kind.iter().take(5).map(|h| h.masked.as_str()).collect();
        let context = masked_snippet(text, first.start, first.end, 15).replace(['\n', '\t'], " ");
        out.push(maker.make(
            &format!("site.pii.{}", kind.as_str()),
            severity,
            format!("附件泄露个人信息：{}", kind.zh()),
            format!("Personal information in an attachment: {kind}"),
            &format!(
                "附件中共 {} 个{}（{}）{}；首处：…{context}…；链接自 {referrer}",
                of_kind.len(),
                kind.zh(),
                examples.join("、"),
                if truncated {
                    "（附件过大，只检查了前面部分）"
                } else {
                    ""
                }
            ),
            &format!("{at} {}", kind.as_str()),
        ));
    }
}

/// An attachment of the site whose text could not be read: its personal
/// information was not checked, and visitors likely cannot open it either.
/// `why_zh` and `why_en` say why.
pub fn unreadable_attachment(
    maker: &FindingMaker,
    at: &str,
    referrer: &str,
    why_zh: &str,
    why_en: &str,
    truncated: bool,
) -> NewFinding {
    maker.make(
        "site.unreadable-attachment",
        Severity::Low,
        "附件无法读取",
        format!("Attachment could not be read: {why_en}"),
        &format!(
            "附件无法读取：{why_zh}{}；其中是否有个人信息未能检查；链接自 {referrer}",
            if truncated {
                "（附件超过下载上限，只下载了前面部分）"
            } else {
                ""
            }
        ),
        at,
    )
}

/// Spam words in a text, as `find` strings.
fn spam_words(dictionary: &Dictionary, text: &str) -> Vec<String> {
    let mut words: Vec<String> = dictionary
        .find(text)
        .iter()
        .map(|h| dictionary.rule(h))
        .filter(|r| r.kind == RuleKind::Spam)
        .map(|r| r.find.clone())
        .collect();
    words.sort();
    words.dedup();
    words
}

fn dark_links(ctx: &PageContext<'_>, at: &str, facts: &PageFacts, out: &mut Vec<NewFinding>) {
    for r in &facts.refs {
        if !matches!(r.kind, RefKind::Link | RefKind::Attachment | RefKind::Frame) {
            continue;
        }
        let external = !ctx.in_scope(&r.url);
        let spam = spam_words(ctx.dictionary, &format!("{} {}", r.text, r.url));
        let location = format!("{at} → {}", r.url);
        match (r.hidden, external, spam.is_empty()) {
            (Some(why), _, false) => out.push(ctx.maker.make(
                "site.dark-link",
                Severity::Critical,
                "隐藏的涉赌涉黄暗链",
                "Hidden gambling/porn/spam link",
                &format!("{}；隐藏方式 {why}；命中「{}」", r.element, spam.join("、")),
                &location,
            )),
            (Some(why), true, true) if !is_government_host(&r.url) => out.push(ctx.maker.make(
                "site.dark-link",
                Severity::High,
                "指向外部站点的隐藏链接（暗链）",
                "Hidden link to another site",
                &format!("{}；隐藏方式 {why}", r.element),
                &location,
            )),
            (None, true, false) => out.push(ctx.maker.make(
                "site.spam-link",
                Severity::High,
                "链接到涉赌涉黄或垃圾站点",
                "Link to a gambling/porn/spam site",
                &format!("{}；命中「{}」", r.element, spam.join("、")),
                &location,
            )),
            _ => {}
        }
    }
    let spam = spam_words(ctx.dictionary, &facts.hidden_text);
    if !spam.is_empty() {
        out.push(ctx.maker.make(
            "site.hidden-spam",
            Severity::Critical,
            "页面中隐藏的涉赌涉黄文字",
            "Hidden gambling/porn/spam text",
            &format!(
                "隐藏文字命中「{}」：{}",
                spam.join("、"),
                shorten(&facts.hidden_text, 120)
            ),
            &format!("{at} hidden-text"),
        ));
    }
}

/// Government hosts: hidden menus of sister sites are common and harmless.
fn is_government_host(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        h.ends_with(".gov.cn") || h.ends_with(".政务") || h.ends_with(".xn--zfr164b")
    })
}

/// Absolute http(s) URLs written in a script.
fn urls_in(script: &str) -> Vec<Url> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '<' | '>' | ';' | '`' | '\\')
            })
            .unwrap_or(tail.len());
        if let Ok(u) = Url::parse(&tail[..end])
            && matches!(u.scheme(), "http" | "https")
        {
            out.push(u);
        }
        rest = &tail[end.max(4)..];
    }
    out
}

fn scripts(ctx: &PageContext<'_>, url: &Url, facts: &PageFacts, out: &mut Vec<NewFinding>) {
    let at = url.as_str();
    for (n, script) in facts.scripts.iter().enumerate() {
        let lower = script.to_ascii_lowercase();
        let foreign: Vec<Url> = urls_in(script)
            .into_iter()
            .filter(|u| !ctx.in_scope(u))
            .collect();
        let redirects = [
            "location.href",
            "window.location",
            "location.replace",
            "top.location",
            "document.location",
            "self.location",
            "location=",
        ]
        .iter()
        .any(|t| lower.replace(' ', "").contains(t));
        let referrer_check = lower.contains("document.referrer")
            && ["baidu", "sogou", "so.com", "sm.cn", "google", "bing"]
                .iter()
                .any(|s| lower.contains(s));
        let location = format!("{at} script#{}", n + 1);
        if redirects && let Some(target) = foreign.first() {
            let (severity, zh) = if referrer_check {
                (
                    Severity::Critical,
                    "按搜索引擎来源跳转到外部站点的脚本（黑帽SEO劫持）",
                )
            } else {
                (Severity::High, "脚本跳转到外部站点")
            };
            out.push(ctx.maker.make(
                "site.script-redirect",
                severity,
                zh,
                "Script redirects to another site",
                &format!("跳转目标 {target}；脚本：{}", shorten(script.trim(), 200)),
                &location,
            ));
        }
        if lower.contains("document.write") && (lower.contains("<a ") || lower.contains("href")) {
            let spam = spam_words(ctx.dictionary, script);
            let severity = if !spam.is_empty() {
                Severity::Critical
            } else if !foreign.is_empty() {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(ctx.maker.make(
                "site.document-write-link",
                severity,
                "脚本用 document.write 写入链接",
                "Links written by document.write",
                &format!(
                    "{}脚本：{}",
                    if spam.is_empty() {
                        String::new()
                    } else {
                        format!("命中「{}」；", spam.join("、"))
                    },
                    shorten(script.trim(), 200)
                ),
                &location,
            ));
        }
    }
    if let Some(target) = &facts.meta.refresh
        && !ctx.in_scope(target)
    {
        out.push(ctx.maker.make(
            "site.script-redirect",
            Severity::High,
            "页面自动跳转到外部站点 (meta refresh)",
            "Page refreshes to another site",
            &format!("跳转目标 {target}"),
            &format!("{at} meta-refresh"),
        ));
    }
}

/// The identity marks the inspection rules require in every page's footer,
/// checked on the homepage.
pub fn identity(
    maker: &FindingMaker,
    at: &str,
    facts: &PageFacts,
    government: bool,
) -> Vec<NewFinding> {
    let text = &facts.text;
    let mut out = Vec::new();
    let mut missing = |check: &str, zh: &str, en: &str, why: &str| {
        out.push(maker.make(
            check,
            Severity::Low,
            format!("页面底部未列明{zh}"),
            format!("Footer lacks the {en}"),
            why,
            &format!("{at} footer"),
        ));
    };
    if government && !has_site_id_code(text) && facts.meta.site_id_code.is_none() {
        missing(
            "site.footer.site-id",
            "网站标识码",
            "site ID code (网站标识码)",
            "首页未见“网站标识码”及 10 位标识码，也无 SiteIDCode meta 标签（政府网站发展指引）",
        );
    }
    if !has_icp(text) {
        missing(
            "site.footer.icp",
            "ICP备案编号",
            "ICP filing number",
            "首页未见“×ICP备……号”（非经营性互联网信息服务备案管理办法第十三条要求在首页底部中央标明备案编号）",
        );
    }
    if !has_police_filing(text) {
        missing(
            "site.footer.police-filing",
            "公安机关备案号",
            "public-security filing number",
            "首页未见“×公网安备 ……号”",
        );
    }
    if !["主办单位", "主办：", "主办:", "主 办"]
        .iter()
        .any(|k| text.contains(k))
    {
        missing(
            "site.footer.sponsor",
            "主办单位",
            "sponsoring unit",
            "首页未见“主办单位”",
        );
    }
    let lower = text.to_lowercase();
    if ![
        "联系电话",
        "联系方式",
        "联系我们",
        "电话：",
        "电话:",
        "邮箱",
        "e-mail",
        "email",
    ]
    .iter()
    .any(|k| lower.contains(k))
    {
        missing(
            "site.footer.contact",
            "联系方式",
            "contact details",
            "首页未见联系电话、联系方式或邮箱",
        );
    }
    out
}

fn has_site_id_code(text: &str) -> bool {
    text.match_indices("网站标识码").any(|(i, k)| {
        let after: String = text[i + k.len()..]
            .chars()
            .skip_while(|c| matches!(c, '：' | ':' | ' ' | '\u{3000}'))
            .take(10)
            .collect();
        after.chars().count() == 10 && after.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn has_icp(text: &str) -> bool {
    text.match_indices("ICP备").any(|(i, k)| {
        text[i + k.len()..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .count()
            >= 6
    })
}

fn has_police_filing(text: &str) -> bool {
    text.match_indices("公网安备").any(|(i, k)| {
        text[i + k.len()..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .count()
            >= 10
    })
}

/// How alike two texts are: Jaccard similarity of their character
/// bigrams, over the first 20,000 characters.
pub fn similarity(a: &str, b: &str) -> f64 {
    fn grams(s: &str) -> HashSet<(char, char)> {
        let cs: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(20_000)
            .collect();
        cs.windows(2).map(|w| (w[0], w[1])).collect()
    }
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() && gb.is_empty() {
        return 1.0;
    }
    let inter = ga.intersection(&gb).count() as f64;
    let union = ga.union(&gb).count() as f64;
    inter / union
}

/// Compare what a search engine (or a visitor from one) is shown with what
/// a browser is shown.
pub fn cloaking(
    ctx: &PageContext<'_>,
    at: &str,
    visitor: &str,
    browser: &PageFacts,
    other: &PageFacts,
    other_final: &Url,
) -> Option<NewFinding> {
    let m = ctx.maker;
    let location = format!("{at} ({visitor})");
    if !ctx.in_scope(other_final) {
        return Some(m.make(
            "site.cloaking",
            Severity::Critical,
            format!("以{visitor}访问时被跳转到外部站点"),
            "Search-engine visitors are sent to another site",
            &format!("以{visitor}访问 {at} 最终到达 {other_final}"),
            &location,
        ));
    }
    let seen_by_browser = format!(
        "{}\n{}\n{}",
        browser.title, browser.text, browser.hidden_text
    );
    let seen_by_other = format!("{}\n{}\n{}", other.title, other.text, other.hidden_text);
    let before: HashSet<String> = spam_words(ctx.dictionary, &seen_by_browser)
        .into_iter()
        .collect();
    let only_other: Vec<String> = spam_words(ctx.dictionary, &seen_by_other)
        .into_iter()
        .filter(|w| !before.contains(w))
        .collect();
    if !only_other.is_empty() {
        return Some(m.make(
            "site.cloaking",
            Severity::Critical,
            format!("只对{visitor}显示的涉赌涉黄内容"),
            "Spam shown only to search engines",
            &format!(
                "以{visitor}访问时出现「{}」，浏览器访问时没有；标题「{}」",
                only_other.join("、"),
                shorten(&other.title, 60)
            ),
            &location,
        ));
    }
    if browser.title.trim() != other.title.trim() {
        return Some(m.make(
            "site.cloaking",
            Severity::High,
            format!("以{visitor}访问时页面标题不同"),
            "Title differs for search engines",
            &format!(
                "浏览器：「{}」；{visitor}：「{}」",
                shorten(&browser.title, 60),
                shorten(&other.title, 60)
            ),
            &location,
        ));
    }
    let sim = similarity(&browser.text, &other.text);
    if sim < 0.5 {
        return Some(m.make(
            "site.cloaking",
            Severity::High,
            format!("以{visitor}访问时页面内容明显不同"),
            "Content differs for search engines",
            &format!(
                "两次访问正文相似度 {:.0}%；{visitor}看到：{}",
                sim * 100.0,
                shorten(&other.text, 100)
            ),
            &location,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_marks_are_recognised() {
        assert!(has_site_id_code("网站标识码：3501000001 京ICP备"));
        assert!(has_site_id_code("网站标识码bm55000001"));
        assert!(!has_site_id_code("网站标识码："));
        assert!(has_icp("闽ICP备12345678号-1"));
        assert!(!has_icp("ICP备案中"));
        assert!(has_police_filing("闽公网安备 35010202001234号"));
        assert!(!has_police_filing("公网安备号"));
    }

    #[test]
    fn a_wording_finding_says_what_to_do_and_on_what_it_rests() {
        let maker = FindingMaker {
            asset: AssetRef::new(shouwang_model::AssetKind::Website, "http://x.test/"),
        };
        let dictionary = Dictionary::builtin();
        let scope = HashSet::new();
        let ctx = PageContext {
            maker: &maker,
            dictionary: &dictionary,
            scope: &scope,
            today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            stale_rules: &[],
            is_homepage: false,
            anchor: None,
        };
        let mut out = Vec::new();
        wording(
            &ctx,
            "http://x.test/a.html",
            "县安监局检查时有人骂了一句草泥马。",
            &mut out,
        );
        let titles: Vec<&str> = out.iter().map(|f| f.title.zh.as_str()).collect();
        assert!(
            titles.contains(&"不规范表述「安监局」，建议改为「应急管理局」"),
            "{titles:?}"
        );
        // A word with no neutral twin is to be deleted.
        assert!(titles.contains(&"禁用词「草泥马」，建议删去"), "{titles:?}");
        for f in &out {
            assert!(f.evidence.contains("（依据："), "{}", f.evidence);
        }
        let renamed = out.iter().find(|f| f.title.zh.contains("安监局")).unwrap();
        assert!(
            renamed.evidence.contains("深化党和国家机构改革方案"),
            "{}",
            renamed.evidence
        );
    }

    #[test]
    fn similarity_of_texts() {
        assert!(similarity("政府信息公开", "政府信息公开") > 0.99);
        assert!(similarity("政府信息公开目录", "百家乐真人娱乐城") < 0.1);
        assert_eq!(similarity("", ""), 1.0);
    }

    #[test]
    fn urls_in_scripts() {
        let u = urls_in(
            "if(document.referrer.indexOf('baidu')>0){window.location.href='http://evil.example/x';}",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].host_str(), Some("evil.example"));
        assert!(urls_in("httphttp http: https://").is_empty());
    }
}
