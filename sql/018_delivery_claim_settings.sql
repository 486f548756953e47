-- A deliverer's run goes on with the events that came since it was claimed (src/deliver.c), with the URL and
-- secrets the claim gave it. delivery_claim now also says when those settings were written (updated_at: every
-- PATCH and secret rotation sets it), and deliver_next gives a run no events once they changed: the run ends,
-- and the next claim hands its subscription out again with the new URL and secrets (a new URL is tried at once,
-- as sql/015's subscription_update promises).
DROP FUNCTION delivery_claim(bigint[], bigint[], bigint[], integer);
CREATE FUNCTION delivery_claim(p_release bigint[], p_skip bigint[], p_in_flight bigint[], p_limit integer)
RETURNS TABLE (subscription_id bigint, requested boolean, url text, secret text, previous_secret text,
               attempts integer, settings_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    candidate subscription;
    taken integer := 0;
BEGIN
    PERFORM subscription_skip(x) FROM unnest(p_skip) AS x;
    PERFORM pg_advisory_unlock(72015, (x % 2147483647)::int) FROM unnest(p_release || p_skip) AS x;
    IF p_limit <= 0 THEN
        RETURN;
    END IF;
    -- a few more candidates than the limit: some may be held by another deliverer
    FOR candidate IN
        SELECT s.* FROM subscription s, change_head h
         WHERE s.enabled AND s.id <> ALL (p_in_flight)
           AND (s.after_seq < h.seq AND coalesce(s.next_attempt_at, '-infinity') <= now()
                OR EXISTS (SELECT FROM delivery_request q WHERE q.subscription_id = s.id))
         ORDER BY coalesce(s.next_attempt_at, '-infinity'), s.after_seq, s.id
         LIMIT p_limit * 2 + 16
    LOOP
        CONTINUE WHEN NOT pg_try_advisory_lock(72015, (candidate.id % 2147483647)::int);
        subscription_id := candidate.id;
        requested := EXISTS (SELECT FROM delivery_request q WHERE q.subscription_id = candidate.id);
        url := candidate.url;
        secret := candidate.secret;
        previous_secret := CASE WHEN candidate.previous_until > now() THEN candidate.previous_secret END;
        attempts := candidate.attempts;
        settings_at := candidate.updated_at;
        RETURN NEXT;
        taken := taken + 1;
        EXIT WHEN taken >= p_limit;
    END LOOP;
END $$;
