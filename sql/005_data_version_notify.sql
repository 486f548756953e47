-- Workers learn of a new data version without asking: every bump also notifies the channel
-- romtrack_data_version with the new "token:version" (delivered at commit, in commit order),
-- and each API connection LISTENs on it. A worker still reads the data_version row once
-- after each (re)connect, since notifications sent while it was away are lost.

CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current text;
BEGIN
    UPDATE data_version SET version = version + 1 RETURNING token || ':' || version INTO current;
    PERFORM pg_notify('romtrack_data_version', current);
    RETURN NULL;
END $$;
