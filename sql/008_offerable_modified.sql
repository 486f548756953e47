-- What "newest" may offer, and when a release last changed: both kept by the database, whoever
-- writes to it (an import, or psql by hand).

-- A package XFU recorded as a few hundred bytes (an error page: warning size-implausible, under
-- IMP_MIN_PLAUSIBLE_SIZE) stays in the archive with its warning, but is never offered as the newest
-- release or as an update. The stored size decides: where copies disagreed and a real size won,
-- the warning stays (it records what a copy said) and the ROM is offered.
ALTER TABLE release ADD COLUMN offerable boolean NOT NULL
    GENERATED ALWAYS AS (size_bytes IS NULL OR size_bytes >= 1000000) STORED;

-- The newest of each (variant, branch, type) among offerable releases, in the API's "newest" order
-- (NEWEST_FIRST in src/queries.c, which must stay the same expressions). Replaces sql/006's index:
-- every statement that reads it asks for offerable releases.
DROP INDEX release_group_newest_idx;
CREATE INDEX release_group_newest_idx ON release (
    variant_id, branch, type,
    (version_family <> 'other') DESC, (version LIKE 'OS%') DESC, version_numbers DESC, sort_date DESC, id DESC
) WHERE offerable;

-- modified_at (Last-Modified) follows every change of a release's row. Each change moves it on
-- to the next second at least: HTTP dates have whole seconds, and a client holding the time of
-- the previous state, even one seen in the same second, must never be told that nothing changed.
-- A value written to modified_at by hand counts as a change; it never goes back.
CREATE FUNCTION release_set_modified() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe release;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.modified_at := clock_timestamp();
        RETURN NEW;
    END IF;
    probe := NEW;
    probe.modified_at := OLD.modified_at;
    -- stored generated columns are not computed yet in a BEFORE trigger; they follow the others
    probe.sort_date := OLD.sort_date;
    probe.offerable := OLD.offerable;
    -- how strongly the variant is settled (sql/007) is the importer's bookkeeping, not part of the release
    probe.variant_evidence := OLD.variant_evidence;
    IF probe IS NOT DISTINCT FROM OLD AND NEW.modified_at IS NOT DISTINCT FROM OLD.modified_at THEN
        RETURN NEW;
    END IF;
    NEW.modified_at := greatest(clock_timestamp(), date_trunc('second', OLD.modified_at) + interval '1 second');
    RETURN NEW;
END $$;

CREATE TRIGGER release_modified BEFORE INSERT OR UPDATE ON release
    FOR EACH ROW EXECUTE FUNCTION release_set_modified();

-- A release's document also carries its names, its variant's and its device's codenames: a
-- change of those touches the releases concerned (the trigger above then moves their time on).
-- A release this transaction wrote already has its new time (nobody saw the state between);
-- touching it again would move it a second ahead. Statement triggers over transition tables:
-- an import links thousands of names in one statement.
CREATE FUNCTION release_touch(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE release SET modified_at = clock_timestamp()
    WHERE id = ANY (ids) AND xmin <> pg_current_xact_id()::xid
$$;

CREATE FUNCTION release_name_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM release_touch(ARRAY(SELECT release_id FROM changed));
    RETURN NULL;
END $$;

-- PostgreSQL allows one event per trigger with transition tables; an UPDATE touches the releases
-- of the old rows and of the new ones.
CREATE TRIGGER release_name_inserted AFTER INSERT ON release_name
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_name_touch();
CREATE TRIGGER release_name_deleted AFTER DELETE ON release_name
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_name_touch();
CREATE TRIGGER release_name_updated_from AFTER UPDATE ON release_name
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_name_touch();
CREATE TRIGGER release_name_updated_to AFTER UPDATE ON release_name
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_name_touch();

CREATE FUNCTION release_labels_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'display_name' THEN
        PERFORM release_touch(ARRAY(
            SELECT rn.release_id FROM changed c JOIN previous p ON p.id = c.id
            JOIN release_name rn ON rn.display_name_id = c.id
            WHERE c.name IS DISTINCT FROM p.name));
    ELSIF TG_TABLE_NAME = 'variant' THEN
        PERFORM release_touch(ARRAY(
            SELECT r.id FROM changed c JOIN previous p ON p.id = c.id JOIN release r ON r.variant_id = c.id
            WHERE c.codename IS DISTINCT FROM p.codename));
    ELSE
        PERFORM release_touch(ARRAY(
            SELECT r.id FROM changed c JOIN previous p ON p.id = c.id JOIN release r ON r.device_id = c.id
            WHERE c.codename IS DISTINCT FROM p.codename));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER display_name_renamed AFTER UPDATE ON display_name
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_labels_touch();
CREATE TRIGGER variant_renamed AFTER UPDATE ON variant
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_labels_touch();
CREATE TRIGGER device_renamed AFTER UPDATE ON device
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION release_labels_touch();
