//! How far an inspection has got, readable while it runs: the terminal's
//! progress line and the console's 立即巡查 page read it; the crawl only
//! counts. Relaxed atomics: a reader sees numbers that were true a moment
//! ago, which is all a progress line needs.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

/// Shared between one inspection and whoever shows its progress.
#[derive(Debug, Default)]
pub struct Progress {
    phase: AtomicU8,
    pages: AtomicUsize,
    refs_total: AtomicUsize,
    refs_done: AtomicUsize,
}

/// What the inspection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Homepage,
    Pages,
    References,
    Done,
}

impl Phase {
    pub fn zh(self) -> &'static str {
        match self {
            Phase::Homepage => "正在访问首页",
            Phase::Pages => "正在抓取页面",
            Phase::References => "正在核查链接和附件",
            Phase::Done => "巡查完成",
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub phase: Phase,
    /// Pages fetched and analysed so far.
    pub pages: usize,
    /// References (links, images, attachments) checked, of those to check.
    pub refs_done: usize,
    pub refs_total: usize,
}

impl Snapshot {
    /// One line in Chinese: 正在抓取页面：已抓取 12 页.
    pub fn line_zh(&self) -> String {
        match self.phase {
            Phase::Homepage => Phase::Homepage.zh().to_string(),
            Phase::Pages => format!("{}：已抓取 {} 页", self.phase.zh(), self.pages),
            Phase::References | Phase::Done => format!(
                "{}：已抓取 {} 页，已核查链接 {}/{}",
                self.phase.zh(),
                self.pages,
                self.refs_done,
                self.refs_total
            ),
        }
    }
}

impl Progress {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            phase: match self.phase.load(Relaxed) {
                0 => Phase::Homepage,
                1 => Phase::Pages,
                2 => Phase::References,
                _ => Phase::Done,
            },
            pages: self.pages.load(Relaxed),
            refs_done: self.refs_done.load(Relaxed),
            refs_total: self.refs_total.load(Relaxed),
        }
    }

    pub(crate) fn enter(&self, phase: Phase) {
        let n = match phase {
            Phase::Homepage => 0,
            Phase::Pages => 1,
            Phase::References => 2,
            Phase::Done => 3,
        };
        self.phase.store(n, Relaxed);
    }

    pub(crate) fn page_done(&self) {
        self.pages.fetch_add(1, Relaxed);
    }

    pub(crate) fn refs_to_check(&self, n: usize) {
        self.refs_total.store(n, Relaxed);
    }

    pub(crate) fn ref_done(&self) {
        self.refs_done.fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_is_being_done_and_how_far() {
        let p = Progress::default();
        assert_eq!(p.snapshot().line_zh(), "正在访问首页");
        p.enter(Phase::Pages);
        p.page_done();
        p.page_done();
        assert_eq!(p.snapshot().line_zh(), "正在抓取页面：已抓取 2 页");
        p.enter(Phase::References);
        p.refs_to_check(10);
        p.ref_done();
        assert_eq!(
            p.snapshot().line_zh(),
            "正在核查链接和附件：已抓取 2 页，已核查链接 1/10"
        );
    }
}
