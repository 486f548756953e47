-- Each data version now says what it may have changed, so that a worker drops only the cached answers a change can
-- affect (src/resp_cache.c) and a tracker adding a release a minute does not leave every cache cold.
--
-- The notification on romtrack_data_version (sql/005) becomes "token:version scope": scope is a comma-separated
-- list of the codenames of the devices whose releases changed, or "*" when anything may have changed (a device, a
-- variant or a display name changed, a table was truncated, or more than 64 devices are concerned). The version still
-- moves on every change and notifications still arrive in commit order; DB_STMT_DATA_VERSION still reads
-- "token:version" alone.
--
-- The triggers look at the rows a statement changed (transition tables): a statement that changed no row moves no
-- version, so a re-import that changes nothing leaves every cache warm. TRUNCATE has no transition table: "*".

CREATE FUNCTION bump_data_version_for(scope text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    current text;
BEGIN
    UPDATE data_version SET version = version + 1 RETURNING token || ':' || version INTO current;
    PERFORM pg_notify('romtrack_data_version', current || ' ' || scope);
END $$;

-- The codenames of the devices device_ids names, as a scope; NULL when there are none.
CREATE FUNCTION data_scope_of_devices(device_ids integer[]) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) = 0 THEN NULL
                WHEN count(*) > 64 THEN '*'
                ELSE string_agg(d.codename, ',' ORDER BY d.codename) END
    FROM device d WHERE d.id = ANY (device_ids)
$$;

-- release: the devices of the old rows and of the new ones (an update may move a release to another device).
CREATE FUNCTION release_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    scope text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        scope := data_scope_of_devices(ARRAY(SELECT DISTINCT device_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        scope := data_scope_of_devices(ARRAY(SELECT DISTINCT device_id FROM old_rows));
    ELSE
        scope := data_scope_of_devices(ARRAY(SELECT device_id FROM old_rows UNION SELECT device_id FROM new_rows));
    END IF;
    IF scope IS NOT NULL THEN
        PERFORM bump_data_version_for(scope);
    END IF;
    RETURN NULL;
END $$;

-- release_name: the devices of the releases whose names changed.
CREATE FUNCTION release_name_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    scope text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        scope := data_scope_of_devices(ARRAY(
            SELECT DISTINCT r.device_id FROM new_rows n JOIN release r ON r.id = n.release_id));
    ELSIF TG_OP = 'DELETE' THEN
        -- rows deleted with their release (ON DELETE CASCADE): the release's own trigger names its device
        scope := data_scope_of_devices(ARRAY(
            SELECT DISTINCT r.device_id FROM old_rows o JOIN release r ON r.id = o.release_id));
    ELSE
        scope := data_scope_of_devices(ARRAY(
            SELECT r.device_id FROM old_rows o JOIN release r ON r.id = o.release_id
            UNION SELECT r.device_id FROM new_rows n JOIN release r ON r.id = n.release_id));
    END IF;
    IF scope IS NOT NULL THEN
        PERFORM bump_data_version_for(scope);
    END IF;
    RETURN NULL;
END $$;

-- device, variant, display_name: the device list and every answer that names a device may change.
CREATE FUNCTION catalogue_rows_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    -- each branch names only the transition table its trigger has
    IF TG_OP = 'DELETE' THEN
        changed := EXISTS (SELECT FROM old_rows);
    ELSE
        changed := EXISTS (SELECT FROM new_rows);
    END IF;
    IF changed THEN
        PERFORM bump_data_version_for('*');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION table_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_data_version_for('*');
    RETURN NULL;
END $$;

DROP TRIGGER device_changes ON device;
DROP TRIGGER variant_changes ON variant;
DROP TRIGGER display_name_changes ON display_name;
DROP TRIGGER release_changes ON release;
DROP TRIGGER release_name_changes ON release_name;
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
