-- Each data version now says what it may have changed, so that a worker drops only the cached answers a change can
-- affect (src/resp_cache.c) and a tracker adding a release a minute does not leave every cache cold.
--
-- The notification on romtrack_data_version (sql/005, sent at COMMIT since sql/011) becomes "token:version scope":
-- scope is a comma-separated list of the codenames of the devices whose releases the transaction changed, or "*"
-- when anything may have changed (a device, a variant or a display name changed, a table was truncated, or more
-- than 64 devices are concerned). DB_STMT_DATA_VERSION still reads "token:version" alone.
--
-- sql/011 marks a transaction (change_txn) on every statement, whether or not it changed a row. Here the marks come
-- from the rows a statement changed (transition tables), with the devices concerned: a statement that changes no
-- row marks nothing, so a re-import that changes nothing moves no version and leaves every cache warm. TRUNCATE
-- has no transition table: "*".

ALTER TABLE change_txn
    ADD COLUMN devices integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN everything boolean NOT NULL DEFAULT false;

-- Marks this transaction as one that changed the data, adding what it changed (device ids, or everything).
CREATE FUNCTION change_mark_scope(device_ids integer[], everything boolean) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO change_txn (txid, devices, everything) VALUES (pg_current_xact_id(), device_ids, everything)
    ON CONFLICT (txid) DO UPDATE SET
        devices = ARRAY(SELECT DISTINCT unnest(change_txn.devices || excluded.devices)),
        everything = change_txn.everything OR excluded.everything
$$;

-- At COMMIT (deferred, see sql/011): the data version with its scope, then this transaction's changes numbered.
CREATE OR REPLACE FUNCTION change_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current text;
    n bigint;
    base bigint;
    marked_devices integer[];
    marked_everything boolean;
    scope text;
BEGIN
    DELETE FROM change_txn WHERE txid = NEW.txid RETURNING devices, everything INTO marked_devices, marked_everything;
    IF marked_everything OR cardinality(marked_devices) > 64 THEN
        scope := '*';
    ELSE
        -- a device deleted in this transaction has no codename left: its answers are 404s, never cached
        SELECT coalesce(string_agg(d.codename, ',' ORDER BY d.codename), '') INTO scope
          FROM device d WHERE d.id = ANY (marked_devices);
        IF scope = '' THEN
            scope := '*';
        END IF;
    END IF;
    -- the row lock that orders commits: held until this commit is visible
    UPDATE data_version SET version = version + 1 RETURNING token || ':' || version INTO current;
    PERFORM pg_notify('romtrack_data_version', current || ' ' || scope);
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

-- release: the devices of the old rows and of the new ones (an update may move a release to another device).
CREATE FUNCTION release_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids integer[];
BEGIN
    -- each branch names only the transition tables its trigger has
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT device_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT device_id FROM old_rows);
    ELSE
        ids := ARRAY(SELECT device_id FROM old_rows UNION SELECT device_id FROM new_rows);
    END IF;
    IF cardinality(ids) > 0 THEN
        PERFORM change_mark_scope(ids, false);
    END IF;
    RETURN NULL;
END $$;

-- release_name: the devices of the releases whose names changed. Links deleted with their release (ON DELETE
-- CASCADE) find no release: its own trigger has marked its device.
CREATE FUNCTION release_name_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT r.device_id FROM new_rows n JOIN release r ON r.id = n.release_id);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT r.device_id FROM old_rows o JOIN release r ON r.id = o.release_id);
    ELSE
        ids := ARRAY(SELECT r.device_id FROM old_rows o JOIN release r ON r.id = o.release_id
                     UNION SELECT r.device_id FROM new_rows n JOIN release r ON r.id = n.release_id);
    END IF;
    IF cardinality(ids) > 0 THEN
        PERFORM change_mark_scope(ids, false);
    END IF;
    RETURN NULL;
END $$;

-- device, variant, display_name: the device list and every answer that names a device may change.
CREATE FUNCTION catalogue_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := EXISTS (SELECT FROM old_rows);
    ELSE
        changed := EXISTS (SELECT FROM new_rows);
    END IF;
    IF changed THEN
        PERFORM change_mark_scope('{}', true);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION table_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_mark_scope('{}', true);
    RETURN NULL;
END $$;

-- sql/011's marks on every statement give way to these.
DROP TRIGGER device_changes ON device;
DROP TRIGGER variant_changes ON variant;
DROP TRIGGER display_name_changes ON display_name;
DROP TRIGGER release_changes ON release;
DROP TRIGGER release_name_changes ON release_name;
DROP FUNCTION change_mark();
-- unused since sql/011
DROP FUNCTION bump_data_version();

-- PostgreSQL allows one event per trigger with transition tables: three triggers per table, and one for TRUNCATE.
CREATE TRIGGER release_version_insert AFTER INSERT ON release
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION release_rows_changed();
CREATE TRIGGER release_version_update AFTER UPDATE ON release
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION release_rows_changed();
CREATE TRIGGER release_version_delete AFTER DELETE ON release
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION release_rows_changed();
CREATE TRIGGER release_version_truncate AFTER TRUNCATE ON release
    FOR EACH STATEMENT EXECUTE FUNCTION table_truncated();

CREATE TRIGGER release_name_version_insert AFTER INSERT ON release_name
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION release_name_rows_changed();
CREATE TRIGGER release_name_version_update AFTER UPDATE ON release_name
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION release_name_rows_changed();
CREATE TRIGGER release_name_version_delete AFTER DELETE ON release_name
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION release_name_rows_changed();
CREATE TRIGGER release_name_version_truncate AFTER TRUNCATE ON release_name
    FOR EACH STATEMENT EXECUTE FUNCTION table_truncated();

CREATE TRIGGER device_version_insert AFTER INSERT ON device
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER device_version_update AFTER UPDATE ON device
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER device_version_delete AFTER DELETE ON device
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER device_version_truncate AFTER TRUNCATE ON device
    FOR EACH STATEMENT EXECUTE FUNCTION table_truncated();

CREATE TRIGGER variant_version_insert AFTER INSERT ON variant
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER variant_version_update AFTER UPDATE ON variant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER variant_version_delete AFTER DELETE ON variant
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER variant_version_truncate AFTER TRUNCATE ON variant
    FOR EACH STATEMENT EXECUTE FUNCTION table_truncated();

CREATE TRIGGER display_name_version_insert AFTER INSERT ON display_name
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER display_name_version_update AFTER UPDATE ON display_name
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER display_name_version_delete AFTER DELETE ON display_name
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogue_rows_changed();
CREATE TRIGGER display_name_version_truncate AFTER TRUNCATE ON display_name
    FOR EACH STATEMENT EXECUTE FUNCTION table_truncated();
