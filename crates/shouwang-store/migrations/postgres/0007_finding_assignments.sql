-- Who answers for a finding (责任人) and by when (整改时限, a Beijing date
-- as YYYY-MM-DD), kept beside the finding so that a sensor's next run,
-- which merges its observation into the same finding by fingerprint,
-- leaves them as they are (as it leaves the status).
CREATE TABLE finding_assignments (
    finding_id  BIGINT PRIMARY KEY REFERENCES findings(id) ON DELETE CASCADE,
    owner       TEXT NOT NULL DEFAULT '',
    due_date    TEXT,
    updated_at  TIMESTAMPTZ NOT NULL
);
