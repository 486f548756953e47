-- "latest" takes the newest release of each (variant, branch, type): this index holds the
-- releases of a group in the API's "newest" order (NEWEST_FIRST in src/queries.c, which must
-- stay the same expressions), so that each group's newest is one index probe instead of a
-- sort of every release.
-- It replaces release_variant_latest_idx (sql/003), its prefix.
DROP INDEX release_variant_latest_idx;
CREATE INDEX release_group_newest_idx ON release (
    variant_id, branch, type,
    (version_family <> 'other') DESC, (version LIKE 'OS%') DESC, version_numbers DESC, sort_date DESC, id DESC
);
