-- "Newest first", defined once: the order in which the API takes the newest release of each
-- (variant, branch, type) and lists the updates of a version, and in which `romtrack export`
-- takes latest.yml's. Versions with a grammar before those without, HyperOS before MIUI, then the
-- version's numbers; the date and the id only break ties. A release's key is a stored column,
-- newest first is `ORDER BY newest DESC` (src/queries.c, src/export.c), and the index of sql/008
-- is rebuilt on it: statements, export and index can no longer spell the order differently.
-- The key is text that sorts bytewise (COLLATE "C"): the order is versions with a grammar before those
-- without, HyperOS before MIUI, then the version's numbers one by one (a version that continues another is
-- the newer); the date (an unknown one is older than every known one, as sort_date of sql/001) and the id only
-- break ties. Each number is written with ten digits (offset, so that a negative one sorts below zero), each
-- preceded by "." and the list ended by " ", so that comparing texts compares the lists as integer[] does;
-- then the day and the id, also with fixed widths:
--   (HyperOS, {1,0,11,0}, 2025-02-17, id 5): 11.2147483649.2147483648.2147483659.2147483648 2148222946 0000000000000000005
-- A row of (boolean, boolean, integer[], date, bigint) gives the same order, but PostgreSQL takes both rows
-- apart for every comparison: "latest" of the largest device (a sort of its 622 releases by the key) cost
-- half as much again as before this migration; with the text key it costs a third less (whole archive).
-- The key is stored: a new definition means dropping and adding the column again (with the index), never
-- a CREATE OR REPLACE of this function alone.
CREATE FUNCTION release_newest_key(family version_family, version text, numbers integer[], release_date date,
                                   id bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN family <> 'other' THEN '1' ELSE '0' END
        || CASE WHEN version LIKE 'OS%' THEN '1' ELSE '0' END
        || coalesce((SELECT string_agg('.' || lpad((n::bigint + 2147483648)::text, 10, '0'), '' ORDER BY i)
                     FROM unnest(numbers) WITH ORDINALITY AS u(n, i)), '')
        || ' ' || lpad(((coalesce(release_date, '0001-01-01'::date) - '0001-01-01'::date)::bigint + 2147483648)::text,
                       10, '0')
        || ' ' || lpad(id::text, 19, '0')
$$;

ALTER TABLE release ADD COLUMN newest text COLLATE "C" NOT NULL
    GENERATED ALWAYS AS (release_newest_key(version_family, version, version_numbers, release_date, id)) STORED;

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
