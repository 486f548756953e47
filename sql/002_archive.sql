-- What the XFU archive pages add to a release: parsed versions, incremental OTAs, data-check
-- warnings and the region evidence they were decided from.

CREATE TYPE version_family AS ENUM ('miui', 'hyperos', 'weekly', 'public-beta', 'other');

ALTER TABLE release
    -- the version in typed parts; "other" versions are kept as they are, unparsed
    ADD COLUMN version_family   version_family NOT NULL DEFAULT 'other',
    ADD COLUMN version_numbers  integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN android_letter   char(1) CHECK (android_letter ~ '^[A-Z]$'),
    ADD COLUMN device_code      text CHECK (device_code ~ '^[A-Z]{2}$'),
    ADD COLUMN region_code      text CHECK (region_code ~ '^[A-Z]{2}$'),
    ADD COLUMN version_suffix   text CHECK (version_suffix ~ '^[A-Z]{2}$'),
    -- the evidence the region was decided from (null where a source says nothing)
    ADD COLUMN region_by_name     region,
    ADD COLUMN region_by_version  region,
    ADD COLUMN region_by_filename region,
    -- an incremental OTA package from another version to this one, when a page offers it
    ADD COLUMN incremental_from     text CHECK (incremental_from <> ''),
    ADD COLUMN incremental_to       text CHECK (incremental_to <> ''),
    ADD COLUMN incremental_filename text CHECK (incremental_filename ~ '^[^/[:space:]]+$'),
    ADD COLUMN incremental_url      text CHECK (incremental_url ~ '^https?://[^[:space:]]+$'),
    -- the data checks that failed for this release (kinds, sorted, distinct)
    ADD COLUMN warnings text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT release_incremental_complete CHECK (
        (incremental_filename IS NULL) = (incremental_url IS NULL));

-- "What is newer" compares versions of one family within a device, branch and type.
CREATE INDEX release_version_idx ON release (device_id, version_family, branch, type, version_numbers);
-- The page of one version: /api/devices/{codename}/releases/{branch}/{version}
CREATE INDEX release_device_version_idx ON release (device_id, version, branch);

-- Whether an input named this variant (devices.yml, an XFU export). Download pages name
-- only the phone; the variant of their cards is found by display name among declared
-- variants, else created from the region, and such a created variant is not declared.
ALTER TABLE variant ADD COLUMN declared boolean NOT NULL DEFAULT false;
UPDATE variant SET declared = true;

-- Android versions as the API filters them: N or N.N, one or two digits each.
ALTER TABLE release DROP CONSTRAINT release_android_check,
    ADD CONSTRAINT release_android_check CHECK (android ~ '^[0-9]{1,2}(\.[0-9]{1,2})?$');

-- Likewise for display names: only names an input gave a variant (not names of page
-- cards attached to the variant they were resolved to) decide how later pages resolve.
ALTER TABLE display_name ADD COLUMN declared boolean NOT NULL DEFAULT false;
UPDATE display_name SET declared = true;
