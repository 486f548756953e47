-- romtrack's data model: devices, their regional variants and display names, and releases.
-- Applied by `romtrack migrate` inside one transaction.

CREATE TYPE region AS ENUM ('cn', 'global', 'eea', 'in', 'id', 'ru', 'tr', 'tw', 'jp', 'kr', 'sg', 'other');
CREATE TYPE branch AS ENUM ('stable', 'stable-beta', 'weekly', 'public-beta');
CREATE TYPE package_type AS ENUM ('recovery', 'fastboot');

-- True when every element is an http(s) URL without white space.
CREATE FUNCTION all_urls(links text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT coalesce(bool_and(l ~ '^https?://[^[:space:]]+$'), false) FROM unnest(links) AS l $$;

-- A phone, by its base codename ("cancro", "alioth").
CREATE TABLE device (
    id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    codename text COLLATE "C" NOT NULL UNIQUE CHECK (codename ~ '^[A-Za-z0-9_]{1,64}$')
);

-- A regional (or carrier) variant of a device, by its own codename ("alioth_global").
CREATE TABLE variant (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id integer NOT NULL REFERENCES device (id),
    codename  text COLLATE "C" NOT NULL UNIQUE CHECK (codename ~ '^[A-Za-z0-9_]{1,64}$'),
    region    region NOT NULL,
    miui_name text CHECK (miui_name <> '')
);
CREATE INDEX variant_device_idx ON variant (device_id);

-- A name a variant is sold under ("POCO F3 Global", "Mi 11X India").
CREATE TABLE display_name (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    variant_id integer NOT NULL REFERENCES variant (id),
    name       text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    UNIQUE (variant_id, name)
);

-- One package file. Its region is stored, decided at import from the version's
-- region code, else the variant's region.
CREATE TABLE release (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    variant_id   integer NOT NULL REFERENCES variant (id),
    device_id    integer NOT NULL REFERENCES device (id),
    filename     text NOT NULL UNIQUE CHECK (filename ~ '^[^/[:space:]]+$'),
    version      text NOT NULL CHECK (version <> '' AND length(version) <= 64),
    -- natural sort key of version: digit runs prefixed by their length, compared bytewise
    version_sort text COLLATE "C" NOT NULL,
    branch       branch NOT NULL,
    type         package_type NOT NULL,
    region       region NOT NULL,
    android      text CHECK (android ~ '^[0-9]+(\.[0-9]+)*$'),
    size_bytes   bigint CHECK (size_bytes >= 0),
    md5          text CHECK (md5 ~ '^[0-9a-f]{32}$'),
    release_date date,
    -- unknown dates sort after every known one in "newest first" order
    sort_date    date NOT NULL GENERATED ALWAYS AS (coalesce(release_date, '0001-01-01'::date)) STORED,
    changelog    text,
    links        text[] NOT NULL CHECK (cardinality(links) >= 1 AND all_urls(links))
);
CREATE INDEX release_device_order_idx ON release (device_id, sort_date DESC, version_sort DESC, id DESC);
CREATE INDEX release_variant_idx ON release (variant_id);

-- The display names a release is listed under (one package, sold under two names).
CREATE TABLE release_name (
    release_id      bigint NOT NULL REFERENCES release (id) ON DELETE CASCADE,
    display_name_id integer NOT NULL REFERENCES display_name (id),
    PRIMARY KEY (release_id, display_name_id)
);
CREATE INDEX release_name_display_name_idx ON release_name (display_name_id);
