-- Shouwang schema version 1 (SQLite). Times are microseconds since the epoch (UTC).
CREATE TABLE assets (
    kind        TEXT NOT NULL,
    locator     TEXT NOT NULL,
    name        TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (kind, locator)
);

CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    fingerprint   TEXT NOT NULL UNIQUE,
    sensor        TEXT NOT NULL,
    check_id      TEXT NOT NULL,
    asset_kind    TEXT NOT NULL,
    asset_locator TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    title_zh      TEXT NOT NULL,
    title_en      TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    location      TEXT NOT NULL,
    status        TEXT NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    version       TEXT NOT NULL,
    observed_at   INTEGER NOT NULL,
    input         TEXT NOT NULL
);
CREATE INDEX findings_by_status ON findings (status, severity DESC, last_seen DESC);
CREATE INDEX findings_by_asset ON findings (asset_kind, asset_locator);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    time          INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    sensor        TEXT NOT NULL,
    check_id      TEXT NOT NULL,
    asset_kind    TEXT NOT NULL,
    asset_locator TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    summary       TEXT NOT NULL,
    details       TEXT NOT NULL,
    version       TEXT NOT NULL,
    observed_at   INTEGER NOT NULL,
    input         TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (time);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    disabled             INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    created_at           INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
