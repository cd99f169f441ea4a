//! A minimal connection pool shared by both backends: connections are made
//! on demand, handed to one caller at a time, and kept for reuse.

use std::sync::Mutex;

use crate::Result;

pub(crate) struct Pool<C> {
    idle: Mutex<Vec<C>>,
    max_idle: usize,
    connect: Box<dyn Fn() -> Result<C> + Send + Sync>,
    healthy: fn(&C) -> bool,
}

impl<C> Pool<C> {
    pub(crate) fn new(
        first: C,
        max_idle: usize,
        connect: impl Fn() -> Result<C> + Send + Sync + 'static,
        healthy: fn(&C) -> bool,
    ) -> Self {
        Pool {
            idle: Mutex::new(vec![first]),
            max_idle,
            connect: Box::new(connect),
            healthy,
        }
    }

    /// Run `f` with a connection of its own.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut C) -> Result<T>) -> Result<T> {
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match reused {
            Some(c) if (self.healthy)(&c) => c,
            _ => (self.connect)()?,
        };
        let out = f(&mut conn);
        if (self.healthy)(&conn) {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        out
    }
}
