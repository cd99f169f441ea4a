-- Shouwang schema version 2 (PostgreSQL): incidents, their timelines and
-- links to the events and findings behind them, and a small settings table.
CREATE TABLE incidents (
    id                  BIGSERIAL PRIMARY KEY,
    title               TEXT NOT NULL,
    subclass            TEXT NOT NULL,
    level               TEXT NOT NULL,
    status              TEXT NOT NULL,
    asset_kind          TEXT NOT NULL,
    asset_locator       TEXT NOT NULL,
    rule                TEXT NOT NULL,
    group_key           TEXT NOT NULL,
    discovered_at       TIMESTAMPTZ NOT NULL,
    last_activity       TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    handling_ended_at   TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    first_reported_at   TIMESTAMPTZ,
    summary_reported_at TIMESTAMPTZ,
    event_count         BIGINT NOT NULL DEFAULT 0,
    finding_count       BIGINT NOT NULL DEFAULT 0,
    summary             TEXT NOT NULL
);
CREATE INDEX incidents_by_group ON incidents (group_key, status, last_activity DESC);
CREATE INDEX incidents_by_time ON incidents (discovered_at DESC);

CREATE TABLE incident_timeline (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, at);

CREATE TABLE incident_links (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    source      TEXT NOT NULL,
    ref_id      BIGINT NOT NULL,
    PRIMARY KEY (incident_id, source, ref_id)
);

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
