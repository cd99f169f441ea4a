-- Terminals (office PCs and servers) that report to this unit server.
-- Times are microseconds since the epoch, as on PostgreSQL, so that the
-- store's terminal code is one text for both (`terminal.rs`).
CREATE TABLE terminal_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT,
    revoked_at BIGINT
);
CREATE TABLE terminals (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    os TEXT NOT NULL,
    credential_hash TEXT NOT NULL,
    token_id BIGINT NOT NULL REFERENCES terminal_tokens (id),
    enrolled_at BIGINT NOT NULL,
    last_seen BIGINT,
    revoked_at BIGINT,
    inventory TEXT,
    inventory_at BIGINT
);
-- One row per report taken, so that a report delivered twice (the agent
-- did not hear the answer) is counted once.
CREATE TABLE terminal_reports (
    terminal TEXT NOT NULL REFERENCES terminals (id),
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (terminal, id)
);
CREATE INDEX terminal_reports_by_time ON terminal_reports (terminal, received_at);
