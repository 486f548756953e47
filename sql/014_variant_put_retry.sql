-- variant_put (sql/013) looks for the device and the variant, then inserts what is missing. `romtrack import`
-- and POST /api/releases create devices and variants too, with ON CONFLICT and without variant_put's advisory
-- locks, so one of them can commit the same codename in between: the insert then waits for that transaction and
-- fails with a unique violation (a 500 for a request that did nothing wrong). The other row is committed by
-- then, so a second attempt, with a new snapshot, finds it and takes the path of an existing device or variant.
-- Each attempt runs in a subtransaction: a failed one leaves nothing behind, not even its change entries.
ALTER FUNCTION variant_put(text, text, region, text, text[], text, text, text) RENAME TO variant_put_attempt;

CREATE FUNCTION variant_put(p_device text, p_variant text, p_region region, p_miui_name text, p_names text[],
                            p_actor text, p_via text, p_request_id text, OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    -- two creators at most can race one codename (its device, then its variant): three attempts are enough
    FOR attempt IN 1..3 LOOP
        BEGIN
            SELECT a.outcome, a.detail INTO outcome, detail
              FROM variant_put_attempt(p_device, p_variant, p_region, p_miui_name, p_names,
                                       p_actor, p_via, p_request_id) a;
            RETURN;
        EXCEPTION WHEN unique_violation THEN
            IF attempt = 3 THEN
                RAISE;
            END IF;
        END;
    END LOOP;
END $$;
