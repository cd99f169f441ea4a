//! The site's template, found by comparing its pages: the blocks (a block
//! element's text, a picture, an attachment, by where it sits and what it
//! says) that recur on many pages of one crawl are the header, nav,
//! sidebars and footer every page shares; the rest of a page is its own
//! content. An article whose own content is only its title is
//! 有标题无正文, whatever template the site uses.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use shouwang_model::{NewFinding, Severity};
use url::Url;

use crate::checks::{self, FindingMaker};
use crate::page::{PageFacts, shorten};

/// Pages compared at most; later pages are neither counted nor judged,
/// so the statistics stay within `MAX_PAGES` × [`crate::page::MAX_BLOCKS`]
/// hashes.
pub const MAX_PAGES: usize = 2000;
/// Addresses that list entries lead to, kept at most.
const MAX_LIST_TARGETS: usize = 100_000;
/// Fewer pages than this say nothing about what they share.
const MIN_PAGES: usize = 3;
/// A block on at least this share of the pages (and on three at least,
/// so that two pages sharing a paragraph are not a template) is the
/// template's: a column's own sidebar recurs on its pages only, so the
/// share is low.
const TEMPLATE_SHARE: f64 = 0.1;
/// An article with fewer characters of its own text than this, besides
/// its title, has no body (as the container check counts).
const BODY_CHARS: usize = 10;
/// Own link text past which a page is a list of links, not an empty
/// article: 上一篇/下一篇 and a few related links stay below it.
const LINK_LIST_CHARS: usize = 80;

/// One block of a page that may be an article, as kept until the end.
struct Kept {
    key: u64,
    /// Characters of its own text, the title left out.
    text_chars: u32,
    link_chars: u32,
    media: bool,
}

/// A page that may be an article with no body.
struct Candidate {
    url: String,
    title: String,
    /// The page says it is an article (`PageFacts::is_article`).
    article: bool,
    list_rows: usize,
    /// Its body container holds only its title: the evidence.
    container_blank: Option<String>,
    blocks: Vec<Kept>,
}

/// The pages of one crawl, compared.
#[derive(Default)]
pub struct Template {
    pages: usize,
    /// Pages each block key was seen on.
    counts: HashMap<u64, u32>,
    candidates: Vec<Candidate>,
    /// Hashes of the addresses list entries lead to: the articles.
    list_targets: HashSet<u64>,
}

fn hash_of(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn no_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Template {
    /// Take in one page. `judge` says whether it may be an article to
    /// judge (not the homepage, analysed whole, not already a blank page);
    /// `anchor` is the text of the link that led to it.
    pub fn add(&mut self, url: &Url, facts: &PageFacts, anchor: Option<&str>, judge: bool) {
        if self.pages >= MAX_PAGES {
            return;
        }
        self.pages += 1;
        let distinct: HashSet<u64> = facts.blocks.iter().map(|b| b.key).collect();
        for key in distinct {
            *self.counts.entry(key).or_default() += 1;
        }
        for e in &facts.list_entries {
            if self.list_targets.len() >= MAX_LIST_TARGETS {
                break;
            }
            if let Some(u) = &e.url {
                self.list_targets.insert(hash_of(u.as_str()));
            }
        }
        if !judge {
            return;
        }
        let title = checks::article_title(facts);
        let titles: Vec<String> = [
            Some(facts.title.as_str()),
            facts.meta.article_title.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(no_space)
        .filter(|t| !t.is_empty())
        .collect();
        // A list shortens long titles: 关于做好防汛工作的… leads to the
        // page whose heading is the whole title. Only a shortened anchor
        // is a lead: a short body often opens with the title's words.
        let lead = anchor
            .map(no_space)
            .filter(|a| a.ends_with(['.', '…']))
            .map(|a| a.trim_end_matches(['.', '…']).to_string())
            .filter(|a| a.chars().count() >= 6);
        let blocks = facts
            .blocks
            .iter()
            .map(|b| {
                let n = b.text.chars().count();
                let is_title = !b.text.is_empty()
                    && (titles.iter().any(|t| t.contains(b.text.as_str()))
                        || lead.as_ref().is_some_and(|a| {
                            b.text.starts_with(a.as_str()) && n <= 2 * a.chars().count()
                        }));
                // A block that holds the title and more is counted whole:
                // a short body often opens with the title's words.
                let text_chars = if is_title { 0 } else { n };
                Kept {
                    key: b.key,
                    text_chars: text_chars as u32,
                    link_chars: b.link_chars as u32,
                    media: b.media,
                }
            })
            .collect();
        self.candidates.push(Candidate {
            url: url.to_string(),
            title,
            article: facts.is_article(),
            list_rows: facts.list_entries.len(),
            container_blank: checks::blank_container(facts),
            blocks,
        });
    }

    /// Pages a block must be on to be the template's, once there are
    /// enough pages to tell.
    fn threshold(&self) -> Option<u32> {
        (self.pages >= MIN_PAGES)
            .then(|| ((self.pages as f64 * TEMPLATE_SHARE).ceil() as u32).max(MIN_PAGES as u32))
    }

    /// 有标题无正文: the article pages whose body container, or whose own
    /// content besides the template, is their title and nearly nothing
    /// else; in the order of their addresses.
    pub fn blank_articles(&self, maker: &FindingMaker) -> Vec<NewFinding> {
        let threshold = self.threshold();
        let mut out = Vec::new();
        for c in &self.candidates {
            let linked_as_entry = self.list_targets.contains(&hash_of(&c.url)) && c.list_rows < 3;
            if !(c.article || linked_as_entry) {
                continue;
            }
            let evidence = if let Some(e) = &c.container_blank {
                e.clone()
            } else {
                let Some(threshold) = threshold else {
                    continue;
                };
                let own: Vec<&Kept> = c
                    .blocks
                    .iter()
                    .filter(|b| self.counts.get(&b.key).copied().unwrap_or(0) < threshold)
                    .collect();
                let text: u32 = own.iter().map(|b| b.text_chars).sum();
                let links: u32 = own.iter().map(|b| b.link_chars).sum();
                if text as usize >= BODY_CHARS
                    || links as usize >= LINK_LIST_CHARS
                    || own.iter().any(|b| b.media)
                {
                    continue;
                }
                format!(
                    "标题「{}」；除与本站其他页面相同的页头、导航和页脚外，正文 {text} 字，无图片或附件（比较了 {} 个页面）",
                    shorten(&c.title, 60),
                    self.pages
                )
            };
            out.push(maker.make(
                "site.blank-article",
                Severity::Medium,
                "有标题无正文的文章",
                "Article with a title and no body",
                &evidence,
                &c.url,
            ));
        }
        out.sort_by(|a, b| a.location.cmp(&b.location));
        out
    }
}
