-- The change log: every change to a release, a variant or a display name, whoever made it (an HTTP
-- write, `romtrack import`, psql by hand), written by triggers. It is both the audit trail (`romtrack
-- audit`, GET /api/audit) and the change feed (GET /api/changes). Also: withdrawn releases.
--
-- Who: the transaction-local settings every writer sets right after BEGIN,
--   SELECT set_config('romtrack.actor', $1, true), set_config('romtrack.via', $2, true),
--          set_config('romtrack.request_id', $3, true), set_config('romtrack.reason', $4, true)
-- (actor "token:<name>" or "cli:<os user>", via the route or command); unset or '': actor
-- 'sql:' || session_user, via 'sql'.
--
-- Sequence numbers in COMMIT order. A client pages the feed with after=SEQ: it must never miss a change
-- nor see one twice, although writers commit concurrently and in another order than they started. A
-- number taken when a row is written does not do: transaction A takes 1, B takes 2 and commits, a client
-- reads 2 and goes on after=2, then A commits 1, which that client never sees. So:
--   1. The triggers write a transaction's changes into change_pending (unlogged: rows there never outlive
--      their transaction), without a number, and mark the transaction: one row in change_txn.
--   2. change_txn's DEFERRABLE INITIALLY DEFERRED constraint trigger runs at COMMIT, once per transaction
--      (per marker row). It first updates the one data_version row (the data version moves here, see
--      below): that row lock is held until the transaction's commit is visible to every snapshot, and no
--      other committing transaction gets past that line before. Holding it, it moves the pending rows into
--      change with numbers from change_head.seq + 1 on, in the order they were written.
--   3. So numbers are handed out in the order in which commits become visible: when transaction B numbers
--      its rows, every transaction that numbered before it has committed (its lock was released after its
--      commit became visible: PostgreSQL releases locks after it marks a transaction committed), and any
--      snapshot that sees B's rows sees every row with a smaller number. A reader asking for seq > N sees
--      either all rows up to some M or none past N: never a hole that fills later. change_head is
--      transactional (a rolled back commit gives its numbers back), so numbers have no gaps either.
--   4. Readers only read change, where every row has its number (pending rows are never visible to other
--      transactions, and they are moved before commit).
-- `SET CONSTRAINTS ALL IMMEDIATE` fires the trigger early: it then deletes its marker, so a change made
-- after that marks the transaction again and is numbered at COMMIT (the lock is held from the first
-- numbering on: still correct, only longer).
--
-- The data version (sql/004, sql/005) moves once per transaction at COMMIT, in the same step, instead of
-- once per statement: its row lock used to be taken at a transaction's first write and held to its end,
-- so that two write transactions could not even be open together (the second waited at its first
-- statement). Now writers wait for each other only for the moment of their commits. The notification
-- is sent at commit as before, and a reader that sees the new version sees the changes that made it.

-- Withdrawal (DELETE /api/releases/{id}): a withdrawn release leaves every list, latest, updates and feed;
-- GET of it answers 410 with when, by whom and why. NULL when not withdrawn.
ALTER TABLE release
    ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN withdrawn_by text,
    ADD COLUMN withdraw_reason text;

-- "offerable" (sql/008) also means "not withdrawn": latest and updates ask for offerable releases, and the
-- index of "latest" keeps only those. A stored generated column cannot be redefined: dropped (with the
-- index) and added again.
ALTER TABLE release DROP COLUMN offerable CASCADE;
ALTER TABLE release ADD COLUMN offerable boolean NOT NULL
    GENERATED ALWAYS AS (withdrawn_at IS NULL AND (size_bytes IS NULL OR size_bytes >= 1000000)) STORED;
CREATE INDEX release_group_newest_idx ON release (variant_id, branch, type, newest DESC) WHERE offerable;

CREATE TYPE change_kind AS ENUM ('created', 'updated', 'withdrawn', 'restored', 'deleted');

-- One row per change, numbered in commit order. subject says what changed: a release (release_id and
-- filename; no foreign key, the row outlives a release deleted by hand), a variant (variant: its codename)
-- or a display name (variant and the name in fields). fields: {"field": {"old": ..., "new": ...}} with the
-- API's names of the release document's members ("size", "date", "incremental", "names", ...); for a
-- created variant or display name its values (old null); {} for a created or deleted release (the feed
-- gives the document).
CREATE TABLE change (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    via        text NOT NULL,
    request_id text,
    reason     text,
    kind       change_kind NOT NULL,
    subject    text NOT NULL CHECK (subject IN ('release', 'variant', 'display_name')),
    release_id bigint,
    filename   text,
    variant    text,
    fields     jsonb NOT NULL DEFAULT '{}',
    CHECK ((subject = 'release') = (release_id IS NOT NULL))
);
-- the change feed: releases in sequence order; the audit: by release, by actor, since a time
CREATE INDEX change_feed_idx ON change (seq) WHERE subject = 'release';
CREATE INDEX change_release_idx ON change (release_id, seq);
CREATE INDEX change_actor_idx ON change (actor, seq);
CREATE INDEX change_at_idx ON change (at);

-- The last number given (one row).
CREATE TABLE change_head (seq bigint NOT NULL);
INSERT INTO change_head VALUES (0);

-- This transaction's changes until it commits (never visible to another transaction; empty between
-- transactions but for dead rows). A transaction reads only its own rows here: others' are uncommitted.
CREATE UNLOGGED TABLE change_pending (
    id         bigint GENERATED ALWAYS AS IDENTITY,
    actor      text NOT NULL,
    via        text NOT NULL,
    request_id text,
    reason     text,
    kind       change_kind NOT NULL,
    subject    text NOT NULL,
    release_id bigint,
    filename   text,
    variant    text,
    fields     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX change_pending_release_idx ON change_pending (release_id);

-- One row per transaction that changed data, until its COMMIT.
CREATE UNLOGGED TABLE change_txn (txid xid8 PRIMARY KEY);

CREATE FUNCTION change_actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('romtrack.actor', true), ''), 'sql:' || session_user)
$$;

CREATE FUNCTION change_via() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(current_setting('romtrack.actor', true), '') = '' THEN 'sql'
                ELSE coalesce(nullif(current_setting('romtrack.via', true), ''), 'sql') END
$$;

-- Marks this transaction as one that changed the data (statement triggers on every table the API serves).
CREATE FUNCTION change_mark() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_txn VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- At COMMIT (deferred): the data version, then this transaction's changes numbered (see the top).
CREATE FUNCTION change_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current text;
    n bigint;
    base bigint;
BEGIN
    DELETE FROM change_txn WHERE txid = NEW.txid;
    -- the row lock that orders commits: held until this commit is visible
    UPDATE data_version SET version = version + 1 RETURNING token || ':' || version INTO current;
    PERFORM pg_notify('romtrack_data_version', current);
    SELECT count(*) INTO n FROM change_pending;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE change_head SET seq = seq + n RETURNING seq - n INTO base;
    INSERT INTO change (seq, at, actor, via, request_id, reason, kind, subject, release_id, filename, variant, fields)
    SELECT base + row_number() OVER (ORDER BY id), clock_timestamp(), actor, via, request_id, reason, kind,
           subject, release_id, filename, variant, fields
      FROM change_pending;
    DELETE FROM change_pending;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER change_commit AFTER INSERT ON change_txn
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION change_commit();

-- The data version moves at commit now: the per-statement bump of sql/004 gives way to the mark.
DROP TRIGGER device_changes ON device;
DROP TRIGGER variant_changes ON variant;
DROP TRIGGER display_name_changes ON display_name;
DROP TRIGGER release_changes ON release;
DROP TRIGGER release_name_changes ON release_name;
CREATE TRIGGER device_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON device
    FOR EACH STATEMENT EXECUTE FUNCTION change_mark();
CREATE TRIGGER variant_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON variant
    FOR EACH STATEMENT EXECUTE FUNCTION change_mark();
CREATE TRIGGER display_name_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON display_name
    FOR EACH STATEMENT EXECUTE FUNCTION change_mark();
CREATE TRIGGER release_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON release
    FOR EACH STATEMENT EXECUTE FUNCTION change_mark();
CREATE TRIGGER release_name_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON release_name
    FOR EACH STATEMENT EXECUTE FUNCTION change_mark();

-- The members of a release's document a change can alter (the API's names; names, id and the
-- bookkeeping columns apart), as jsonb.
CREATE FUNCTION change_release_fields(device_id integer, variant_id integer, region region, version text,
                                      branch branch, type package_type, android text, size_bytes bigint,
                                      md5 text, filename text, release_date date, changelog text, links text[],
                                      inc_from text, inc_to text, inc_filename text, inc_url text,
                                      warnings text[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'codename', (SELECT d.codename FROM device d WHERE d.id = device_id),
        'variant', (SELECT v.codename FROM variant v WHERE v.id = variant_id),
        'region', region, 'version', version, 'branch', branch, 'type', type, 'android', android,
        'size', size_bytes, 'md5', md5, 'filename', filename, 'date', release_date, 'changelog', changelog,
        'links', to_jsonb(links),
        'incremental', CASE WHEN inc_filename IS NULL THEN NULL
                            ELSE jsonb_build_object('from', inc_from, 'to', inc_to, 'filename', inc_filename,
                                                    'url', inc_url) END,
        'warnings', to_jsonb(warnings))
$$;

-- {"field": {"old": ..., "new": ...}} for each member that differs.
CREATE FUNCTION change_diff(old jsonb, new jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', coalesce(o.value, 'null'), 'new', n.value)),
                    '{}')
      FROM jsonb_each(new) n LEFT JOIN jsonb_each(old) o ON o.key = n.key
     WHERE o.value IS DISTINCT FROM n.value
$$;

-- Releases: statement triggers over transition tables (an import writes tens of thousands in one
-- statement; a row trigger cost more, see README).
CREATE FUNCTION change_release_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, release_id, filename)
    SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
           nullif(current_setting('romtrack.reason', true), ''), 'created', 'release', n.id, n.filename
      FROM added n ORDER BY n.id;
    RETURN NULL;
END $$;

CREATE FUNCTION change_release_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, release_id, filename, fields)
    SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
           CASE WHEN n.withdrawn_at IS NOT NULL AND o.withdrawn_at IS NULL
                THEN coalesce(n.withdraw_reason, nullif(current_setting('romtrack.reason', true), ''))
                ELSE nullif(current_setting('romtrack.reason', true), '') END,
           CASE WHEN n.withdrawn_at IS NOT NULL AND o.withdrawn_at IS NULL THEN 'withdrawn'
                WHEN n.withdrawn_at IS NULL AND o.withdrawn_at IS NOT NULL THEN 'restored'
                ELSE 'updated' END::change_kind,
           'release', n.id, n.filename,
           change_diff(change_release_fields(o.device_id, o.variant_id, o.region, o.version, o.branch, o.type,
                                             o.android, o.size_bytes, o.md5, o.filename, o.release_date,
                                             o.changelog, o.links, o.incremental_from, o.incremental_to,
                                             o.incremental_filename, o.incremental_url, o.warnings),
                       change_release_fields(n.device_id, n.variant_id, n.region, n.version, n.branch, n.type,
                                             n.android, n.size_bytes, n.md5, n.filename, n.release_date,
                                             n.changelog, n.links, n.incremental_from, n.incremental_to,
                                             n.incremental_filename, n.incremental_url, n.warnings))
      FROM previous o JOIN changed n ON n.id = o.id
     -- a cheap test first: most updated rows of a re-import change bookkeeping only
     WHERE (o.withdrawn_at IS NULL) <> (n.withdrawn_at IS NULL)
        OR (o.device_id, o.variant_id, o.region, o.version, o.branch, o.type, o.android, o.size_bytes, o.md5,
            o.filename, o.release_date, o.changelog, o.links, o.incremental_from, o.incremental_to,
            o.incremental_filename, o.incremental_url, o.warnings)
           IS DISTINCT FROM
           (n.device_id, n.variant_id, n.region, n.version, n.branch, n.type, n.android, n.size_bytes, n.md5,
            n.filename, n.release_date, n.changelog, n.links, n.incremental_from, n.incremental_to,
            n.incremental_filename, n.incremental_url, n.warnings)
     ORDER BY n.id;
    RETURN NULL;
END $$;

CREATE FUNCTION change_release_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, release_id, filename)
    SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
           nullif(current_setting('romtrack.reason', true), ''), 'deleted', 'release', o.id, o.filename
      FROM gone o ORDER BY o.id;
    RETURN NULL;
END $$;

CREATE TRIGGER release_logged_insert AFTER INSERT ON release
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION change_release_inserted();
CREATE TRIGGER release_logged_update AFTER UPDATE ON release
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION change_release_updated();
CREATE TRIGGER release_logged_delete AFTER DELETE ON release
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION change_release_deleted();

-- A release's names are part of its document: linking or unlinking one is an update of each release
-- concerned ("names", old and new lists), but for releases this transaction created (their entry gives
-- the document).
CREATE FUNCTION change_release_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, release_id, filename, fields)
    SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
           nullif(current_setting('romtrack.reason', true), ''), 'updated', 'release', r.id, r.filename,
           jsonb_build_object('names', jsonb_build_object('old', o.names, 'new', n.names))
      FROM (SELECT k.release_id, array_agg(k.display_name_id) AS ids FROM linked k
             WHERE NOT EXISTS (SELECT 1 FROM change_pending p WHERE p.release_id = k.release_id AND p.kind = 'created')
             GROUP BY k.release_id) l
      JOIN release r ON r.id = l.release_id
      CROSS JOIN LATERAL (SELECT array_agg(rn.display_name_id) AS ids FROM release_name rn
                           WHERE rn.release_id = r.id) cur
      CROSS JOIN LATERAL (SELECT coalesce(jsonb_agg(DISTINCT dn.name ORDER BY dn.name), '[]') AS names
                            FROM display_name dn WHERE dn.id = ANY (cur.ids)) n
      -- before the statement: the names now, less those it linked, or with those it unlinked
      CROSS JOIN LATERAL (SELECT coalesce(jsonb_agg(DISTINCT dn.name ORDER BY dn.name), '[]') AS names
                            FROM display_name dn
                           WHERE CASE WHEN TG_OP = 'INSERT' THEN dn.id = ANY (cur.ids) AND dn.id <> ALL (l.ids)
                                      ELSE dn.id = ANY (cur.ids) OR dn.id = ANY (l.ids) END) o
     WHERE o.names IS DISTINCT FROM n.names
     ORDER BY r.id;
    RETURN NULL;
END $$;

CREATE TRIGGER release_name_logged_insert AFTER INSERT ON release_name
    REFERENCING NEW TABLE AS linked FOR EACH STATEMENT EXECUTE FUNCTION change_release_names();
CREATE TRIGGER release_name_logged_delete AFTER DELETE ON release_name
    REFERENCING OLD TABLE AS linked FOR EACH STATEMENT EXECUTE FUNCTION change_release_names();

-- Variants: codename, region, MIUI name (and their device); "declared" is the importer's bookkeeping.
CREATE FUNCTION change_variant_fields(device_id integer, codename text, region region, miui_name text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('device', (SELECT d.codename FROM device d WHERE d.id = device_id),
                              'codename', codename, 'region', region, 'miui_name', miui_name)
$$;

CREATE FUNCTION change_variant_logged() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'created', 'variant', n.codename,
               change_diff('{}', change_variant_fields(n.device_id, n.codename, n.region, n.miui_name))
          FROM added n ORDER BY n.id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'updated', 'variant', n.codename,
               change_diff(change_variant_fields(o.device_id, o.codename, o.region, o.miui_name),
                           change_variant_fields(n.device_id, n.codename, n.region, n.miui_name))
          FROM previous o JOIN changed n ON n.id = o.id
         WHERE (o.device_id, o.codename, o.region, o.miui_name) IS DISTINCT FROM
               (n.device_id, n.codename, n.region, n.miui_name)
         ORDER BY n.id;
    ELSE
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'deleted', 'variant', o.codename, '{}'
          FROM gone o ORDER BY o.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER variant_logged_insert AFTER INSERT ON variant
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION change_variant_logged();
CREATE TRIGGER variant_logged_update AFTER UPDATE ON variant
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION change_variant_logged();
CREATE TRIGGER variant_logged_delete AFTER DELETE ON variant
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION change_variant_logged();

-- Display names: the variant they belong to and the name; "declared" is bookkeeping.
CREATE FUNCTION change_display_name_logged() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'created', 'display_name', v.codename,
               jsonb_build_object('name', jsonb_build_object('old', NULL, 'new', n.name))
          FROM added n JOIN variant v ON v.id = n.variant_id ORDER BY n.id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'updated', 'display_name', v.codename,
               change_diff(jsonb_build_object('variant', vo.codename, 'name', o.name),
                           jsonb_build_object('variant', v.codename, 'name', n.name))
          FROM previous o JOIN changed n ON n.id = o.id
          JOIN variant v ON v.id = n.variant_id JOIN variant vo ON vo.id = o.variant_id
         WHERE (o.variant_id, o.name) IS DISTINCT FROM (n.variant_id, n.name)
         ORDER BY n.id;
    ELSE
        INSERT INTO change_pending (actor, via, request_id, reason, kind, subject, variant, fields)
        SELECT change_actor(), change_via(), nullif(current_setting('romtrack.request_id', true), ''),
               nullif(current_setting('romtrack.reason', true), ''), 'deleted', 'display_name', v.codename,
               jsonb_build_object('name', jsonb_build_object('old', o.name, 'new', NULL))
          FROM gone o LEFT JOIN variant v ON v.id = o.variant_id ORDER BY o.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER display_name_logged_insert AFTER INSERT ON display_name
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION change_display_name_logged();
CREATE TRIGGER display_name_logged_update AFTER UPDATE ON display_name
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION change_display_name_logged();
CREATE TRIGGER display_name_logged_delete AFTER DELETE ON display_name
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION change_display_name_logged();

-- The log cannot be altered: rows are only ever inserted (by change_commit).
CREATE FUNCTION change_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the change log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER change_append_only BEFORE UPDATE OR DELETE ON change
    FOR EACH ROW EXECUTE FUNCTION change_refuse();
CREATE TRIGGER change_no_truncate BEFORE TRUNCATE ON change
    FOR EACH STATEMENT EXECUTE FUNCTION change_refuse();
CREATE TRIGGER change_head_no_truncate BEFORE TRUNCATE OR DELETE ON change_head
    FOR EACH STATEMENT EXECUTE FUNCTION change_refuse();

-- Withdrawal by hand (UPDATE release SET withdrawn_at = now()) names its author and reason as the
-- settings give them; a restore clears both. sql/009's trigger, which also keeps these apart.
CREATE OR REPLACE FUNCTION release_set_modified() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe release;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.modified_at := clock_timestamp();
        RETURN NEW;
    END IF;
    IF NEW.withdrawn_at IS NOT NULL AND OLD.withdrawn_at IS NULL THEN
        NEW.withdrawn_by := coalesce(NEW.withdrawn_by, change_actor());
        NEW.withdraw_reason := coalesce(NEW.withdraw_reason, nullif(current_setting('romtrack.reason', true), ''));
    ELSIF NEW.withdrawn_at IS NULL THEN
        NEW.withdrawn_by := NULL;
        NEW.withdraw_reason := NULL;
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

-- What is already stored: one "created" entry per release, variant and display name, by the migration.
SELECT set_config('romtrack.actor', 'migration:011', true), set_config('romtrack.via', 'romtrack migrate', true);
INSERT INTO change_pending (actor, via, kind, subject, variant, fields)
SELECT change_actor(), change_via(), 'created', 'variant', v.codename,
       change_diff('{}', change_variant_fields(v.device_id, v.codename, v.region, v.miui_name))
  FROM variant v ORDER BY v.id;
INSERT INTO change_pending (actor, via, kind, subject, variant, fields)
SELECT change_actor(), change_via(), 'created', 'display_name', v.codename,
       jsonb_build_object('name', jsonb_build_object('old', NULL, 'new', n.name))
  FROM display_name n JOIN variant v ON v.id = n.variant_id ORDER BY n.id;
INSERT INTO change_pending (actor, via, kind, subject, release_id, filename)
SELECT change_actor(), change_via(), 'created', 'release', r.id, r.filename FROM release r ORDER BY r.id;
INSERT INTO change_txn VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
