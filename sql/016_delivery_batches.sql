-- `romtrack deliver` in batches (src/deliver.c): one statement claims what is due for many subscriptions, one
-- reads their next events (several each: a subscription's events are sent one after the other while its lock is
-- held), and one records the answers of many deliveries, so that the round trips to PostgreSQL and the updates
-- of a subscription's row do not grow with the number of deliveries. What to do after a failure (when to try again, when to give up) is decided here, from
-- the subscription's failure count as it is when the answer is recorded, not as it was when it was claimed.

-- Forgets what an earlier statement finished and claims up to p_limit due subscriptions for this session:
--   p_release: subscriptions this session holds whose answers an earlier statement recorded: unlocked;
--   p_skip: subscriptions this session holds that had nothing to send: their position moves to the head when
--     nothing up to it is wanted (subscription_skip), then unlocked;
--   then each due subscription not in p_in_flight, furthest behind first (as sql/015's deliver_due ordered
--   them), is locked (the advisory lock (72015, id), the one src/deliver.c took before) unless another
--   deliverer holds it, until p_limit are.
-- Returns the claimed subscriptions: whether each has a delivery asked for by hand waiting (sent first), where
-- and how to send (the previous secret while its grace lasts), and how many times its head event failed.
-- The unlocks of p_skip come before the end of this statement's transaction: another deliverer that takes one
-- at once may read its old position, find nothing it wants there either, and skip it again.
CREATE FUNCTION delivery_claim(p_release bigint[], p_skip bigint[], p_in_flight bigint[], p_limit integer)
RETURNS TABLE (subscription_id bigint, requested boolean, url text, secret text, previous_secret text,
               attempts integer)
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
        RETURN NEXT;
        taken := taken + 1;
        EXIT WHEN taken >= p_limit;
    END LOOP;
END $$;

-- Records one attempt of the head event p_seq of subscription p_id and moves the subscription on:
--   a 2xx (p_error NULL): its position past p_seq, the failure count back to 0;
--   a 410 from the receiver: disabled at once, with that reason;
--   another failure: one more in the count; tried again after the p_schedule's entry for that count (seconds,
--     give or take a tenth, so that the retries of many subscriptions do not come at once), or after
--     p_retry_after_s for a 429 or 503 that said when; disabled with the last error once the schedule is
--     exhausted.
-- PATCH {"enabled": true} resumes a disabled subscription at the same event. Nothing happens when the
-- subscription is no longer at p_seq (deleted, or moved by someone else). Replaces sql/015's delivery_record,
-- whose caller decided from a count read when the delivery was claimed.
DROP FUNCTION delivery_record(bigint, text, bigint, text, integer, integer, text, double precision, text);
CREATE FUNCTION delivery_record(p_id bigint, p_event_id text, p_seq bigint, p_type text, p_status integer,
                                p_duration_ms integer, p_error text, p_retry_after_s double precision,
                                p_schedule double precision[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s subscription;
    failures integer;
    next_at timestamptz;
    reason text;
BEGIN
    SELECT * INTO s FROM subscription WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR s.after_seq >= p_seq THEN
        RETURN;
    END IF;
    failures := s.attempts + 1;
    IF p_error IS NULL THEN
        UPDATE subscription SET after_seq = p_seq, attempts = 0, next_attempt_at = NULL WHERE id = p_id;
    ELSE
        IF p_status = 410 THEN
            reason := 'the receiver answered 410 Gone';
        ELSIF failures > coalesce(array_length(p_schedule, 1), 0) THEN
            reason := format('gave up after %s attempts; the last: %s', failures, p_error);
        ELSIF p_status IN (429, 503) AND p_retry_after_s IS NOT NULL THEN
            next_at := now() + make_interval(secs => p_retry_after_s);
        ELSE
            next_at := now() + make_interval(secs => p_schedule[failures] * (0.9 + 0.2 * random()));
        END IF;
        UPDATE subscription SET attempts = failures, next_attempt_at = next_at,
               enabled = enabled AND reason IS NULL,
               disabled_at = CASE WHEN reason IS NULL THEN disabled_at ELSE now() END,
               disabled_reason = CASE WHEN reason IS NULL THEN disabled_reason ELSE left(reason, 500) END
         WHERE id = p_id;
    END IF;
    INSERT INTO delivery_attempt (subscription_id, event_id, seq, event_type, attempt, status, duration_ms, error,
                                  next_attempt_at)
    VALUES (p_id, p_event_id, p_seq, p_type, failures, p_status, p_duration_ms, left(p_error, 500), next_at);
END $$;

-- Records the answers of many deliveries, in one transaction. Each argument is a JSON array of
--   {"subscription", "event_id", "seq", "type", "status", "duration_ms", "error", "retry_after", "request"}
-- (status, error, retry_after null when there is none):
--   p_delivered: 2xx answers to the subscriptions' own events; a subscription's are its events in order;
--   p_failed: failed attempts of the subscriptions' own events, at most one each (its run stops there), after
--     its delivered ones;
--   p_requested: the one attempt of each delivery asked for by hand ("request": its delivery_request).
-- The delivered events move each subscription once, to the last of them, and add their attempts in one
-- statement; a failure goes through delivery_record. (Three arrays, not one with filters: PostgreSQL then knows
-- how many rows each holds and joins them by hash.)
CREATE TYPE delivery_answer AS (
    subscription bigint, event_id text, seq bigint, type text, status integer, duration_ms integer, error text,
    retry_after double precision, request bigint
);
CREATE FUNCTION delivery_record_many(p_delivered jsonb, p_failed jsonb, p_requested jsonb,
                                     p_schedule double precision[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    a record;
BEGIN
    -- The commit does not wait for the WAL to reach the disk. A crash of PostgreSQL can lose the answers of
    -- its last fraction of a second (about three wal_writer_delay): their events are sent again, with the
    -- same webhook-id. A duplicate, never a loss.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM delivery_request_done(x.request, x.event_id, x.seq, x.type, x.status, x.duration_ms, x.error)
       FROM jsonb_populate_recordset(NULL::delivery_answer, p_requested) x ORDER BY x.request;
    -- A subscription moves to its last delivered event when it has not moved past it in the meantime
    -- (deleted, or moved by someone else); the rows are locked in id order, as every writer of many of them
    -- does. Its first delivered event's attempt counts the failures before it.
    WITH x AS MATERIALIZED (SELECT * FROM jsonb_populate_recordset(NULL::delivery_answer, p_delivered)),
         m AS (SELECT x.subscription, min(x.seq) AS first_seq, max(x.seq) AS last_seq FROM x GROUP BY x.subscription),
         old AS (SELECT s.id, s.after_seq, s.attempts FROM subscription s JOIN m ON m.subscription = s.id
                  ORDER BY s.id FOR UPDATE OF s),
         moved AS (UPDATE subscription s SET after_seq = m.last_seq, attempts = 0, next_attempt_at = NULL
                     FROM m JOIN old ON old.id = m.subscription
                    WHERE s.id = m.subscription AND old.after_seq < m.last_seq
                   RETURNING s.id, old.after_seq AS old_seq, old.attempts AS failures, m.first_seq)
    INSERT INTO delivery_attempt (subscription_id, event_id, seq, event_type, attempt, status, duration_ms)
    SELECT x.subscription, x.event_id, x.seq, x.type,
           CASE WHEN x.seq = moved.first_seq THEN moved.failures + 1 ELSE 1 END, x.status, x.duration_ms
      FROM x JOIN moved ON moved.id = x.subscription
     WHERE x.seq > moved.old_seq
     ORDER BY x.subscription, x.seq;
    FOR a IN SELECT * FROM jsonb_populate_recordset(NULL::delivery_answer, p_failed) x ORDER BY x.subscription
    LOOP
        PERFORM delivery_record(a.subscription, a.event_id, a.seq, a.type, a.status, a.duration_ms, a.error,
                                a.retry_after, p_schedule);
    END LOOP;
END $$;

-- A subscription's rules are checked by a trigger instead of CHECK constraints, for two reasons:
--   - speed: the settings' rules (SQL functions over the filters, regular expressions) ran at each UPDATE of the
--     row, whatever it changed, and made delivery_record_many's update of 100 positions take 21 ms instead of 1
--     (bench/deliver.py); they now run only when a setting is written;
--   - secrets: a violated constraint logs "Failing row contains (...)", the row with its signing secrets, in
--     PostgreSQL's log. The trigger names the rule and nothing else, and it checks the NOT NULL columns first
--     for the same reason.
-- The same rules, constraint names and SQLSTATEs (check_violation, not_null_violation).
ALTER TABLE subscription
    DROP CONSTRAINT subscription_url_check,
    DROP CONSTRAINT subscription_description_check,
    DROP CONSTRAINT subscription_codenames_check,
    DROP CONSTRAINT subscription_regions_check,
    DROP CONSTRAINT subscription_branches_check,
    DROP CONSTRAINT subscription_types_check,
    DROP CONSTRAINT subscription_events_check,
    DROP CONSTRAINT subscription_secret_check,
    DROP CONSTRAINT subscription_previous_secret_check,
    DROP CONSTRAINT subscription_disabled_reason_check,
    DROP CONSTRAINT subscription_after_seq_check,
    DROP CONSTRAINT subscription_attempts_check,
    DROP CONSTRAINT subscription_check,
    DROP CONSTRAINT subscription_check1,
    DROP CONSTRAINT subscription_check2,
    SET (fillfactor = 50); -- room on each page for the new versions of the positions (HOT updates)

CREATE FUNCTION subscription_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
    failed text;
    settings boolean := TG_OP = 'INSERT' OR NEW.url IS DISTINCT FROM OLD.url
        OR NEW.codenames IS DISTINCT FROM OLD.codenames OR NEW.regions IS DISTINCT FROM OLD.regions
        OR NEW.branches IS DISTINCT FROM OLD.branches OR NEW.types IS DISTINCT FROM OLD.types
        OR NEW.events IS DISTINCT FROM OLD.events OR NEW.secret IS DISTINCT FROM OLD.secret
        OR NEW.previous_secret IS DISTINCT FROM OLD.previous_secret
        OR NEW.description IS DISTINCT FROM OLD.description OR NEW.disabled_reason IS DISTINCT FROM OLD.disabled_reason;
BEGIN
    missing := CASE
        WHEN NEW.owner_id IS NULL THEN 'owner_id' WHEN NEW.url IS NULL THEN 'url'
        WHEN NEW.description IS NULL THEN 'description' WHEN NEW.secret IS NULL THEN 'secret'
        WHEN NEW.enabled IS NULL THEN 'enabled' WHEN NEW.after_seq IS NULL THEN 'after_seq'
        WHEN NEW.attempts IS NULL THEN 'attempts' WHEN NEW.created_at IS NULL THEN 'created_at'
        WHEN NEW.updated_at IS NULL THEN 'updated_at'
    END;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'null value in column "%" of relation "subscription" violates not-null constraint', missing
            USING ERRCODE = 'not_null_violation', COLUMN = missing, TABLE = 'subscription';
    END IF;
    -- as for a CHECK constraint, a rule that yields NULL (a NULL column) passes
    failed := CASE
        WHEN NEW.after_seq < 0 THEN 'subscription_after_seq_check'
        WHEN NEW.attempts < 0 THEN 'subscription_attempts_check'
        WHEN (NEW.previous_secret IS NULL) <> (NEW.previous_until IS NULL) THEN 'subscription_check'
        WHEN NEW.enabled <> (NEW.disabled_at IS NULL) THEN 'subscription_check1'
        WHEN NEW.disabled_reason IS NOT NULL AND NEW.disabled_at IS NULL THEN 'subscription_check2'
        WHEN NOT settings THEN NULL
        WHEN NOT coalesce(NEW.url ~ '^https?://' AND length(NEW.url) <= 2000, true) THEN 'subscription_url_check'
        WHEN length(NEW.description) > 500 THEN 'subscription_description_check'
        WHEN NOT coalesce(subscription_codenames_valid(NEW.codenames), true) THEN 'subscription_codenames_check'
        WHEN NOT coalesce(subscription_filter_valid(NEW.regions), true) THEN 'subscription_regions_check'
        WHEN NOT coalesce(subscription_filter_valid(NEW.branches), true) THEN 'subscription_branches_check'
        WHEN NOT coalesce(subscription_filter_valid(NEW.types), true) THEN 'subscription_types_check'
        WHEN NOT coalesce(subscription_filter_valid(NEW.events) AND NEW.events <@ subscription_events(), true)
            THEN 'subscription_events_check'
        WHEN NOT coalesce(NEW.secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$', true) THEN 'subscription_secret_check'
        WHEN NOT coalesce(NEW.previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$', true)
            THEN 'subscription_previous_secret_check'
        WHEN length(NEW.disabled_reason) > 500 THEN 'subscription_disabled_reason_check'
    END;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "subscription" violates check constraint "%"', failed
            USING ERRCODE = 'check_violation', CONSTRAINT = failed, TABLE = 'subscription';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER subscription_rules BEFORE INSERT OR UPDATE ON subscription
    FOR EACH ROW EXECUTE FUNCTION subscription_rules();

-- subscription_wants as one expression PostgreSQL can inline into the feed scans of deliver_next and
-- subscription_skip (sql/015's form, with a subquery, was called once per change and subscription: a third of
-- deliver_next's time). The release's filters are looked up only for a subscription that has any.
CREATE FUNCTION subscription_release_passes(s subscription, p_release_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM release r JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id
                    WHERE r.id = p_release_id
                      AND (s.codenames IS NULL OR d.codename = ANY (s.codenames) OR v.codename = ANY (s.codenames))
                      AND (s.regions IS NULL OR r.region = ANY (s.regions))
                      AND (s.branches IS NULL OR r.branch = ANY (s.branches))
                      AND (s.types IS NULL OR r.type = ANY (s.types)))
$$;

CREATE OR REPLACE FUNCTION subscription_wants(s subscription, c change) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT c.subject = 'release' AND c.kind IN ('created', 'updated', 'withdrawn', 'restored')
       AND (s.events IS NULL OR 'release.' || c.kind::text = ANY (s.events))
       AND (s.codenames IS NULL AND s.regions IS NULL AND s.branches IS NULL AND s.types IS NULL
            OR subscription_release_passes(s, c.release_id))
$$;
