-- Terminals (office PCs and servers) that report to this unit server.
-- Times are microseconds since the epoch, as on PostgreSQL, so that the
-- store's terminal code is one text for both (`terminal.rs`).
CREATE TABLE terminal_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by TEXT,
    revoked_at INTEGER
);
CREATE TABLE terminals (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    os TEXT NOT NULL,
    credential_hash TEXT NOT NULL,
    token_id INTEGER NOT NULL REFERENCES terminal_tokens (id),
    enrolled_at INTEGER NOT NULL,
    last_seen INTEGER,
    revoked_at INTEGER,
    inventory TEXT,
    inventory_at INTEGER
);
-- One row per report taken, so that a report delivered twice (the agent
-- did not hear the answer) is counted once.
CREATE TABLE terminal_reports (
    terminal TEXT NOT NULL REFERENCES terminals (id),
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (terminal, id)
);
CREATE INDEX terminal_reports_by_time ON terminal_reports (terminal, received_at);
