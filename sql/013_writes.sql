-- The state writes of the API (src/h_state.c): withdrawing and restoring a release, and declaring a variant
-- of a device. Each is one function that one prepared statement calls, so that a write is one statement: its
-- own transaction, atomic, never half done. Each sets the four settings of the change log (sql/011: actor,
-- via, request_id, reason) for its transaction before it changes anything, so that the log's triggers name
-- the writer.
--
-- db_exec runs a statement a second time when the connection was lost before its answer came: the first run
-- may have committed. A function therefore recognises its own request (the request id, which nginx gives
-- every request) in the change log and answers as the first run did, instead of "already withdrawn".

-- Sets the change log's settings for this transaction.
CREATE FUNCTION write_begin(actor text, via text, request_id text, reason text) RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('romtrack.actor', coalesce(actor, ''), true), set_config('romtrack.via', coalesce(via, ''), true),
           set_config('romtrack.request_id', coalesce(request_id, ''), true),
           set_config('romtrack.reason', coalesce(reason, ''), true)
$$;

-- Whether the last change of the release is of this kind and came from this request (a retry of it).
CREATE FUNCTION write_release_done(p_id bigint, p_kind change_kind, p_request_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(p_request_id, '') <> '' AND coalesce(
        (SELECT c.kind = p_kind AND c.request_id = p_request_id FROM change c WHERE c.release_id = p_id
          ORDER BY c.seq DESC LIMIT 1), false)
$$;

-- Withdraws a release (DELETE /api/releases/{id}). p_modified: when not NULL, the release's modified_at
-- (UTC, to the second, as reads give Last-Modified) when the caller checked its If-Match; the write is then
-- made only if the release has not changed since (each change moves modified_at to a later second, sql/009).
-- Returns 'withdrawn', 'not-found', 'gone' (already withdrawn) or 'changed'.
CREATE FUNCTION release_withdraw(p_id bigint, p_actor text, p_via text, p_request_id text, p_reason text,
                                 p_modified text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r release;
BEGIN
    PERFORM write_begin(p_actor, p_via, p_request_id, p_reason);
    SELECT * INTO r FROM release WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not-found';
    END IF;
    IF r.withdrawn_at IS NOT NULL THEN
        RETURN CASE WHEN write_release_done(p_id, 'withdrawn', p_request_id) THEN 'withdrawn' ELSE 'gone' END;
    END IF;
    IF p_modified IS NOT NULL
       AND to_char(r.modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') <> p_modified THEN
        RETURN 'changed';
    END IF;
    UPDATE release SET withdrawn_at = now(), withdrawn_by = p_actor, withdraw_reason = nullif(p_reason, '')
     WHERE id = p_id;
    RETURN 'withdrawn';
END $$;

-- Restores a withdrawn release (POST /api/releases/{id}/restore). Returns 'restored', 'not-found' or
-- 'not-withdrawn'.
CREATE FUNCTION release_restore(p_id bigint, p_actor text, p_via text, p_request_id text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r release;
BEGIN
    PERFORM write_begin(p_actor, p_via, p_request_id, '');
    SELECT * INTO r FROM release WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not-found';
    END IF;
    IF r.withdrawn_at IS NULL THEN
        RETURN CASE WHEN write_release_done(p_id, 'restored', p_request_id) THEN 'restored' ELSE 'not-withdrawn' END;
    END IF;
    -- the trigger of sql/011 clears withdrawn_by and withdraw_reason with it
    UPDATE release SET withdrawn_at = NULL WHERE id = p_id;
    RETURN 'restored';
END $$;

-- Declares a variant of a device (PUT /api/devices/{codename}/variants/{variant}): creates the device if it
-- is new and the variant, or sets the variant's region and MIUI name; its display names become p_names
-- (declared, as an import's devices.yml makes them). Returns one row: outcome 'created', 'updated', or a
-- refusal with nothing written:
--   'variant-of-other' (the variant belongs to another device: detail is that device's codename),
--   'device-is-variant' (the device codename is a variant of another device: detail is that device),
--   'names-in-use' (names the variant has and p_names lacks are names of releases: detail lists them,
--   one per line, sorted). A name releases still carry cannot be deleted (release_name refers to it).
CREATE FUNCTION variant_put(p_device text, p_variant text, p_region region, p_miui_name text, p_names text[],
                            p_actor text, p_via text, p_request_id text, OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    dev_id integer;
    v variant;
    owner text;
BEGIN
    PERFORM write_begin(p_actor, p_via, p_request_id, '');
    -- writers of the same codenames wait for each other here, not in a unique violation
    PERFORM pg_advisory_xact_lock(hashtext('romtrack.variant:' || p_variant));
    SELECT d.codename INTO owner FROM variant x JOIN device d ON d.id = x.device_id
     WHERE x.codename = p_device AND d.codename <> p_device;
    IF FOUND THEN
        outcome := 'device-is-variant';
        detail := owner;
        RETURN;
    END IF;
    SELECT * INTO v FROM variant WHERE codename = p_variant FOR UPDATE;
    IF FOUND THEN
        SELECT d.codename INTO owner FROM device d WHERE d.id = v.device_id;
        IF owner <> p_device THEN
            outcome := 'variant-of-other';
            detail := owner;
            RETURN;
        END IF;
        SELECT string_agg(n.name, E'\n' ORDER BY n.name) INTO detail FROM display_name n
         WHERE n.variant_id = v.id AND n.name <> ALL (p_names)
           AND EXISTS (SELECT FROM release_name rn WHERE rn.display_name_id = n.id);
        IF detail IS NOT NULL THEN
            outcome := 'names-in-use';
            RETURN;
        END IF;
        UPDATE variant SET region = p_region, miui_name = p_miui_name, declared = true
         WHERE id = v.id AND (region, miui_name, declared) IS DISTINCT FROM (p_region, p_miui_name, true);
        DELETE FROM display_name WHERE variant_id = v.id AND name <> ALL (p_names);
        UPDATE display_name SET declared = true WHERE variant_id = v.id AND name = ANY (p_names) AND NOT declared;
        INSERT INTO display_name (variant_id, name, declared)
        SELECT v.id, n, true FROM unnest(p_names) AS n ORDER BY n
            ON CONFLICT (variant_id, name) DO NOTHING;
        -- a retry of the request that created it (see the top) answers as that one did
        outcome := CASE WHEN coalesce(p_request_id, '') <> '' AND EXISTS (
                             SELECT FROM change c WHERE c.at > now() - interval '10 minutes'
                                AND c.request_id = p_request_id AND c.subject = 'variant'
                                AND c.kind = 'created' AND c.variant = p_variant)
                        THEN 'created' ELSE 'updated' END;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('romtrack.device:' || p_device));
    SELECT id INTO dev_id FROM device WHERE codename = p_device;
    IF NOT FOUND THEN
        INSERT INTO device (codename) VALUES (p_device) RETURNING id INTO dev_id;
    END IF;
    INSERT INTO variant (device_id, codename, region, miui_name, declared)
    VALUES (dev_id, p_variant, p_region, p_miui_name, true) RETURNING * INTO v;
    INSERT INTO display_name (variant_id, name, declared)
    SELECT v.id, n, true FROM unnest(p_names) AS n ORDER BY n;
    outcome := 'created';
END $$;
