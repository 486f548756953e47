-- "Newest first", defined once: the order in which the API takes the newest release of each
-- (variant, branch, type) and lists the updates of a version, and in which `romtrack export`
-- takes latest.yml's. Versions with a grammar before those without, HyperOS before MIUI, then the
-- version's numbers; the date and the id only break ties. A release's key is a stored column,
-- newest first is `ORDER BY newest DESC` (src/queries.c, src/export.c), and the index of sql/008
-- is rebuilt on it: statements, export and index can no longer spell the order differently.
CREATE TYPE release_newest AS (
    grammar   boolean,   -- the version has a grammar (its family is not "other")
    hyperos   boolean,   -- a HyperOS version ("OS1.0.3.0.ULBCNXM"), newer than every MIUI one
    numbers   integer[], -- the version's numbers, compared one by one
    sort_date date,      -- sort_date (sql/001): an unknown date is older than every known one
    id        bigint     -- the release
);

-- A generated column cannot read another: sort_date's expression is written out again.
ALTER TABLE release ADD COLUMN newest release_newest NOT NULL GENERATED ALWAYS AS (
    ROW(version_family <> 'other', version LIKE 'OS%', version_numbers, coalesce(release_date, '0001-01-01'::date),
        id)::release_newest) STORED;

DROP INDEX release_group_newest_idx;
CREATE INDEX release_group_newest_idx ON release (variant_id, branch, type, newest DESC) WHERE offerable;

-- sql/008's trigger, which must not take the new generated column for a change of the release.
CREATE OR REPLACE FUNCTION release_set_modified() RETURNS trigger
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
    probe.newest := OLD.newest;
    -- how strongly the variant is settled (sql/007) is the importer's bookkeeping, not part of the release
    probe.variant_evidence := OLD.variant_evidence;
    IF probe IS NOT DISTINCT FROM OLD AND NEW.modified_at IS NOT DISTINCT FROM OLD.modified_at THEN
        RETURN NEW;
    END IF;
    NEW.modified_at := greatest(clock_timestamp(), date_trunc('second', OLD.modified_at) + interval '1 second');
    RETURN NEW;
END $$;
