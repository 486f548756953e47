-- The name a variant is listed under in XFU's devices.yml (the first of its two items, "Redmi K40 China"): what
-- GET /api/xfu/devices.yml writes back. A variant can have several display names (latest.yml adds the names its
-- entries carry, "Redmi 1 TD China" beside devices.yml's "Redmi 1 China"), and none of them records which one the
-- list gave. NULL for a variant no devices.yml listed: the export then takes its first name in byte order.
-- `romtrack import` sets it from devices.yml; a change marks every answer stale, as any change of a variant does
-- (sql/012).
ALTER TABLE variant ADD COLUMN listed_name text CHECK (listed_name <> '');
