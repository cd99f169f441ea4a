-- The audit chain's head signed with the audit key, so that a head moved
-- back over deleted entries is seen: rows can be deleted by whoever can
-- write the database, the MAC only by whoever holds the key. Filled in when
-- this migration is applied (by the store that opened the database, which
-- holds the key) and on every append after.
ALTER TABLE audit_head ADD COLUMN mac TEXT;
