-- A number that changes whenever the data the API serves changes: workers cache responses
-- per version and ask for it before answering from the cache, so that a change (by an
-- import, or by hand in psql) is never answered with a stale body.

CREATE TABLE data_version (
    -- differs between databases, so that a restored or re-created one never repeats a version
    token   text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    version bigint NOT NULL
);
INSERT INTO data_version (version) VALUES (1);

CREATE FUNCTION bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER device_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON device
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER variant_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON variant
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER display_name_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON display_name
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER release_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON release
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER release_name_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON release_name
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
