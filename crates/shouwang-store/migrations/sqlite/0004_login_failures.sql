-- Failed logins counted per submitted user name, whether an account of
-- that name exists or not, so that the countdown and the lock a login page
-- shows say nothing about which accounts exist. Names are kept only as
-- their hash; the store keeps about the most recent LOGIN_FAILURES_KEPT,
-- pruned when a row's id is a multiple of 256 so that each failure stays cheap.
CREATE TABLE login_failures (
    id             INTEGER PRIMARY KEY,
    name_hash      TEXT NOT NULL UNIQUE,
    failures       INTEGER NOT NULL,
    locked_until   INTEGER,
    last_failed_at INTEGER NOT NULL
);
CREATE INDEX login_failures_by_time ON login_failures (last_failed_at);
