//! Statements written once for both backends, on plain values.
//!
//! Most of the store maps rows by hand per backend, since the two keep
//! times differently (SQLite microseconds, PostgreSQL `TIMESTAMPTZ`). The
//! parts that keep only integers and text (the website merge of migration
//! 8; the terminal tables, whose times are microseconds on both so that
//! their code exists once) go through [`Raw`] instead: one SQL text (its
//! placeholders numbered in order of first appearance, as in `sql`), one
//! row mapping, on either backend's transaction.

use crate::Result;

/// A parameter or a cell: integers, text, or SQL NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Text(String),
}

impl Val {
    /// The integer, or 0 for anything else.
    pub(crate) fn int(&self) -> i64 {
        self.opt_int().unwrap_or(0)
    }

    pub(crate) fn opt_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, or "" for anything else.
    pub(crate) fn text(&self) -> &str {
        match self {
            Val::Text(s) => s,
            _ => "",
        }
    }

    pub(crate) fn opt_text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// What a backend's transaction offers besides [`Tx`](crate::Tx).
pub(crate) trait Raw {
    /// Serialise with other servers opening the same database.
    fn lock_migrations(&mut self) -> Result<()>;
    /// Rows of TEXT and BIGINT columns (NULL as [`Val::Null`]).
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>>;
    /// Rows changed; counted as a change for the audit check.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    fn record_migration(&mut self, version: i64) -> Result<()>;
}
