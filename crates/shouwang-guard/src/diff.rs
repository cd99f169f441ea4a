//! Comparing what is on disk with the baseline.

use serde::Serialize;

use crate::manifest::{Entry, Kind};
use crate::scan::Filters;

/// One way a path differs from its sealed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aspect {
    Content,
    Mode,
    Owner,
    Type,
    Target,
}

impl Aspect {
    pub fn zh(self) -> &'static str {
        match self {
            Aspect::Content => "内容",
            Aspect::Mode => "权限",
            Aspect::Owner => "属主",
            Aspect::Type => "类型",
            Aspect::Target => "链接目标",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Not in the baseline: an intruder, to be quarantined.
    Added,
    /// In the baseline, gone: to be restored.
    Deleted,
    /// Differs in these aspects: to be restored.
    Modified { aspects: Vec<Aspect> },
    /// A new file in a writable area (uploads): recorded, left in place.
    WritableAdded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub before: Option<Entry>,
    pub after: Option<Entry>,
}

impl Change {
    pub fn path(&self) -> &[u8] {
        &self
            .before
            .as_ref()
            .or(self.after.as_ref())
            .expect("a change has a side")
            .path
    }

    pub fn path_display(&self) -> String {
        self.before
            .as_ref()
            .or(self.after.as_ref())
            .expect("a change has a side")
            .path_display()
    }
}

/// How `now` differs from `sealed` in the aspects that matter.
pub fn aspects(sealed: &Entry, now: &Entry) -> Vec<Aspect> {
    let mut a = Vec::new();
    if sealed.kind != now.kind {
        a.push(Aspect::Type);
        return a;
    }
    if sealed.kind == Kind::File && (sealed.hash != now.hash || sealed.size != now.size) {
        a.push(Aspect::Content);
    }
    if sealed.kind == Kind::Symlink && sealed.target != now.target {
        a.push(Aspect::Target);
    }
    // Symlink permission bits mean nothing on Linux.
    if sealed.kind != Kind::Symlink && sealed.mode != now.mode {
        a.push(Aspect::Mode);
    }
    if sealed.uid != now.uid || sealed.gid != now.gid {
        a.push(Aspect::Owner);
    }
    a
}

/// The changes that turn `sealed` into `now` (both sorted by path).
pub fn diff(sealed: &[Entry], now: &[Entry], filters: &Filters) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let ord = match (sealed.get(i), now.get(j)) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.path.cmp(&b.path),
        };
        match ord {
            std::cmp::Ordering::Less => {
                let a = &sealed[i];
                if !filters.is_writable(&a.path) {
                    out.push(Change {
                        kind: ChangeKind::Deleted,
                        before: Some(a.clone()),
                        after: None,
                    });
                }
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let b = &now[j];
                let kind = if filters.is_writable(&b.path) {
                    ChangeKind::WritableAdded
                } else {
                    ChangeKind::Added
                };
                out.push(Change {
                    kind,
                    before: None,
                    after: Some(b.clone()),
                });
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&sealed[i], &now[j]);
                if !filters.is_writable(&a.path) {
                    let asp = aspects(a, b);
                    if !asp.is_empty() {
                        out.push(Change {
                            kind: ChangeKind::Modified { aspects: asp },
                            before: Some(a.clone()),
                            after: Some(b.clone()),
                        });
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}
