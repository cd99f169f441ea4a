-- The console's per-host and per-site pages and a site's stored report ask
-- for one asset's newest events of a kind: without this they scan every
-- event of that kind.
CREATE INDEX events_by_asset ON events (asset_kind, asset_locator, time);
