-- API tokens say what they may do (read, operate, admin), when they stop
-- working and when they were last used. Tokens made before had no limit:
-- they may operate, not administer, and stop working in 90 days.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'operate';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
UPDATE api_tokens SET expires_at = (CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400) * 1000000;
