-- Shouwang schema version 2 (SQLite): incidents, their timelines and links
-- to the events and findings behind them, and a small settings table.
CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY,
    title               TEXT NOT NULL,
    subclass            TEXT NOT NULL,
    level               TEXT NOT NULL,
    status              TEXT NOT NULL,
    asset_kind          TEXT NOT NULL,
    asset_locator       TEXT NOT NULL,
    rule                TEXT NOT NULL,
    group_key           TEXT NOT NULL,
    discovered_at       INTEGER NOT NULL,
    last_activity       INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    handling_ended_at   INTEGER,
    closed_at           INTEGER,
    first_reported_at   INTEGER,
    summary_reported_at INTEGER,
    event_count         INTEGER NOT NULL DEFAULT 0,
    finding_count       INTEGER NOT NULL DEFAULT 0,
    summary             TEXT NOT NULL
);
CREATE INDEX incidents_by_group ON incidents (group_key, status, last_activity DESC);
CREATE INDEX incidents_by_time ON incidents (discovered_at DESC);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, at);

-- Which events and findings an incident is made of.
CREATE TABLE incident_links (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    source      TEXT NOT NULL,
    ref_id      INTEGER NOT NULL,
    PRIMARY KEY (incident_id, source, ref_id)
) WITHOUT ROWID;

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
