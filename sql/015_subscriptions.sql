-- Webhook subscriptions (issue 12): who wants which changes of the change feed pushed to which URL (managed by
-- the API, src/h_subscriptions.c), and their delivery (`romtrack deliver`, src/deliver.c), every piece of whose
-- state lives here, so that a deliverer, PostgreSQL or the machine may die at any moment and nothing is lost.
--
-- A subscription's events are the changes of the change feed after its position (after_seq) that its filters
-- want, in sequence order. The one at the head is delivered until a 2xx; only then does the position move past
-- it (at least once, in order). A deliverer holds the session advisory lock (72015, id) of each subscription it
-- is delivering, so that one deliverer at a time delivers a subscription; the lock goes with the deliverer's
-- connection when it dies, and another picks the subscription up where the position says.

-- The scopes of issue 12: subscriptions:write manages a token's own subscriptions; admin holds every scope
-- (auth.c) and sees every token's subscriptions.
CREATE OR REPLACE FUNCTION api_token_scopes() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['releases:write', 'devices:write', 'audit:read', 'subscriptions:write', 'admin']::text[] $$;

-- The kinds of release change a subscription may ask for (the change feed's kinds, as webhook event types).
CREATE FUNCTION subscription_events() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['release.created', 'release.updated', 'release.withdrawn', 'release.restored']::text[] $$;

-- A filter: NULL for everything, else one or more values, each once.
CREATE FUNCTION subscription_filter_valid(a anyarray) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT a IS NULL OR (cardinality(a) BETWEEN 1 AND 100 AND array_ndims(a) = 1 AND array_position(a, NULL) IS NULL
             AND cardinality(a) = (SELECT count(DISTINCT x) FROM unnest(a) AS x)) $$;

CREATE FUNCTION subscription_codenames_valid(a text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT subscription_filter_valid(a)
             AND (a IS NULL OR NOT EXISTS (SELECT FROM unnest(a) AS c WHERE c !~ '^[A-Za-z0-9_]{1,64}$')) $$;

CREATE TABLE subscription (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id         bigint NOT NULL REFERENCES api_token (id),
    -- checked by src/url_guard.c when it is set, and again at each connection
    url              text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    codenames        text[] CHECK (subscription_codenames_valid(codenames)),
    regions          region[] CHECK (subscription_filter_valid(regions)),
    branches         branch[] CHECK (subscription_filter_valid(branches)),
    types            package_type[] CHECK (subscription_filter_valid(types)),
    events           text[] CHECK (subscription_filter_valid(events) AND events <@ subscription_events()),
    -- the signing key, "whsec_" + base64: HMAC needs it as it is, so it is kept, never logged nor answered
    -- but once (when made and when rotated)
    secret           text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'),
    -- after a rotation, the secret before it signs too until previous_until
    previous_secret  text CHECK (previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'),
    previous_until   timestamptz,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_at      timestamptz,
    disabled_reason  text CHECK (length(disabled_reason) <= 500),
    -- the change feed's position: every change with seq <= after_seq is behind the subscription
    after_seq        bigint NOT NULL CHECK (after_seq >= 0),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0), -- failed tries of the head event
    next_attempt_at  timestamptz,                                      -- NULL: due now
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret IS NULL) = (previous_until IS NULL)),
    CHECK (enabled = (disabled_at IS NULL)),
    CHECK (disabled_reason IS NULL OR disabled_at IS NOT NULL)
);
CREATE INDEX subscription_owner_idx ON subscription (owner_id, id);

-- The owner's token id from its name, and whether that token sees every subscription (admin).
CREATE FUNCTION subscription_viewer(p_token text, OUT token_id bigint, OUT sees_all boolean)
LANGUAGE sql STABLE AS $$
    SELECT t.id, 'admin' = ANY (t.scopes) FROM api_token t WHERE t.name = p_token
$$;

-- The subscription p_id if p_token sees it, locked for the rest of the transaction; a row of NULLs otherwise.
CREATE FUNCTION subscription_locked(p_token text, p_id bigint) RETURNS subscription
LANGUAGE sql AS $$
    SELECT s.* FROM subscription s, subscription_viewer(p_token) v
     WHERE s.id = p_id AND (s.owner_id = v.token_id OR v.sees_all) FOR UPDATE OF s
$$;

-- A subscription as the API answers it (without its secrets).
CREATE FUNCTION subscription_doc(s subscription) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id,
        'owner', (SELECT t.name FROM api_token t WHERE t.id = s.owner_id),
        'url', s.url,
        'description', s.description,
        'codenames', s.codenames,
        'regions', s.regions,
        'branches', s.branches,
        'types', s.types,
        'events', s.events,
        'enabled', s.enabled,
        'disabled_at', to_char(s.disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'disabled_reason', s.disabled_reason,
        'after', s.after_seq,
        'previous_secret_until', to_char(s.previous_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'created_at', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;

-- A filter member of a request body (validated by the handler): JSON null or absent is NULL.
CREATE FUNCTION subscription_filter(body jsonb, member text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(body -> member) = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(body -> member)) END
$$;

-- Makes a subscription for the token p_token from a body the handler has validated (url, description,
-- codenames, regions, branches, types, events, after). outcome: 'created' (doc is the subscription),
-- 'no-token', 'too-many' (the token has 100), 'after-ahead' (after is past the feed's head: detail).
CREATE FUNCTION subscription_create(p_token text, p_secret text, p_body jsonb,
                                    OUT outcome text, OUT detail text, OUT doc json)
LANGUAGE plpgsql AS $$
DECLARE
    viewer record;
    head bigint;
    s subscription;
BEGIN
    SELECT * INTO viewer FROM subscription_viewer(p_token);
    IF viewer.token_id IS NULL THEN
        outcome := 'no-token';
        RETURN;
    END IF;
    -- one creator of a token's subscriptions at a time: the count below stays true until the commit
    PERFORM 1 FROM api_token WHERE id = viewer.token_id FOR UPDATE;
    IF (SELECT count(*) FROM subscription WHERE owner_id = viewer.token_id) >= 100 THEN
        outcome := 'too-many';
        RETURN;
    END IF;
    SELECT seq INTO head FROM change_head;
    IF (p_body ->> 'after')::bigint > head THEN
        outcome := 'after-ahead';
        detail := head::text;
        RETURN;
    END IF;
    INSERT INTO subscription (owner_id, url, description, codenames, regions, branches, types, events, secret,
                              after_seq)
    VALUES (viewer.token_id, p_body ->> 'url', coalesce(p_body ->> 'description', ''),
            subscription_filter(p_body, 'codenames'), subscription_filter(p_body, 'regions')::region[],
            subscription_filter(p_body, 'branches')::branch[], subscription_filter(p_body, 'types')::package_type[],
            subscription_filter(p_body, 'events'), p_secret, coalesce((p_body ->> 'after')::bigint, head))
    RETURNING * INTO s;
    PERFORM pg_notify('romtrack_deliver', s.id::text); -- a replay (after) has events at once
    outcome := 'created';
    doc := subscription_doc(s);
END $$;

-- Applies a JSON Merge Patch (validated by the handler: url, description, the filters, enabled) to a
-- subscription p_token sees. outcome: 'updated' (doc), 'not-found'. enabled true resumes a disabled
-- subscription where it stopped (its position is kept; its head event is tried again at once); false disables
-- it by hand.
CREATE FUNCTION subscription_patch(p_token text, p_id bigint, p_patch jsonb, OUT outcome text, OUT doc json)
LANGUAGE plpgsql AS $$
DECLARE
    s subscription := subscription_locked(p_token, p_id);
BEGIN
    IF s.id IS NULL THEN
        outcome := 'not-found';
        RETURN;
    END IF;
    -- a new URL is a receiver fixed or moved: its head event is tried there at once, not after the old backoff
    IF p_patch ? 'url' AND p_patch ->> 'url' IS DISTINCT FROM s.url THEN
        s.url := p_patch ->> 'url';
        s.attempts := 0;
        s.next_attempt_at := NULL;
    END IF;
    IF p_patch ? 'description' THEN s.description := coalesce(p_patch ->> 'description', ''); END IF;
    IF p_patch ? 'codenames' THEN s.codenames := subscription_filter(p_patch, 'codenames'); END IF;
    IF p_patch ? 'regions' THEN s.regions := subscription_filter(p_patch, 'regions')::region[]; END IF;
    IF p_patch ? 'branches' THEN s.branches := subscription_filter(p_patch, 'branches')::branch[]; END IF;
    IF p_patch ? 'types' THEN s.types := subscription_filter(p_patch, 'types')::package_type[]; END IF;
    IF p_patch ? 'events' THEN s.events := subscription_filter(p_patch, 'events'); END IF;
    IF p_patch ? 'enabled' AND (p_patch -> 'enabled')::boolean <> s.enabled THEN
        s.enabled := (p_patch -> 'enabled')::boolean;
        s.disabled_at := CASE WHEN s.enabled THEN NULL ELSE now() END;
        s.disabled_reason := CASE WHEN s.enabled THEN NULL ELSE 'disabled by ' || p_token END;
        IF s.enabled THEN
            s.attempts := 0;
            s.next_attempt_at := NULL;
        END IF;
    END IF;
    UPDATE subscription SET url = s.url, description = s.description, codenames = s.codenames,
           regions = s.regions, branches = s.branches, types = s.types, events = s.events, enabled = s.enabled,
           disabled_at = s.disabled_at, disabled_reason = s.disabled_reason, attempts = s.attempts,
           next_attempt_at = s.next_attempt_at, updated_at = now()
     WHERE id = s.id
    RETURNING * INTO s;
    -- a deliverer waiting for work hears of it (src/deliver.c listens)
    PERFORM pg_notify('romtrack_deliver', s.id::text);
    outcome := 'updated';
    doc := subscription_doc(s);
END $$;

-- A new signing secret for a subscription p_token sees; the one before it keeps signing for p_grace.
-- NULL when there is no such subscription.
CREATE FUNCTION subscription_rotate(p_token text, p_id bigint, p_secret text, p_grace interval) RETURNS json
LANGUAGE sql AS $$
    UPDATE subscription s SET previous_secret = s.secret, previous_until = now() + p_grace, secret = p_secret,
           updated_at = now()
      FROM subscription_viewer(p_token) v
     WHERE s.id = p_id AND (s.owner_id = v.token_id OR v.sees_all)
    RETURNING subscription_doc(s)
$$;

-- Whether the subscription s wants the change c (of a release): its kind among the events asked for (only
-- the four kinds of the API; a row deleted by hand is not an event), and the release, as it is now, passing
-- every filter. A release deleted by hand passes no filter but the kinds.
CREATE FUNCTION subscription_wants(s subscription, c change) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT c.subject = 'release' AND c.kind IN ('created', 'updated', 'withdrawn', 'restored')
       AND (s.events IS NULL OR 'release.' || c.kind::text = ANY (s.events))
       AND (s.codenames IS NULL AND s.regions IS NULL AND s.branches IS NULL AND s.types IS NULL
            OR EXISTS (SELECT FROM release r JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id
                        WHERE r.id = c.release_id
                          AND (s.codenames IS NULL OR d.codename = ANY (s.codenames) OR v.codename = ANY (s.codenames))
                          AND (s.regions IS NULL OR r.region = ANY (s.regions))
                          AND (s.branches IS NULL OR r.branch = ANY (s.branches))
                          AND (s.types IS NULL OR r.type = ANY (s.types))))
$$;

-- Moves an idle subscription's position to the head of the feed when no change up to the head is one it
-- wants: later searches start there, not at an old position. One statement, one snapshot: every change up to
-- the head it reads has committed (sql/011 numbers changes in commit order). Returns whether it moved.
CREATE FUNCTION subscription_skip(p_id bigint) RETURNS boolean
LANGUAGE sql AS $$
    WITH moved AS (        UPDATE subscription s SET after_seq = h.seq, attempts = 0, next_attempt_at = NULL
          FROM change_head h
         WHERE s.id = p_id AND s.after_seq < h.seq
           AND NOT EXISTS (SELECT FROM change c WHERE c.subject = 'release' AND c.seq > s.after_seq
                                                  AND c.seq <= h.seq AND subscription_wants(s, c))
        RETURNING 1)
    SELECT EXISTS (SELECT FROM moved)
$$;

-- Every attempt of every delivery (GET /api/subscriptions/{id}/deliveries will list them).
CREATE TABLE delivery_attempt (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    event_id        text NOT NULL,           -- webhook-id: the same for every attempt of one event
    seq             bigint NOT NULL,         -- the change delivered; 0 for a ping
    event_type      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    at              timestamptz NOT NULL DEFAULT now(),
    status          integer,                 -- the receiver's HTTP status; NULL when none came back
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    error           text,                    -- NULL on a 2xx
    next_attempt_at timestamptz,             -- when it is tried again; NULL when delivered or given up
    requested       boolean NOT NULL DEFAULT false -- asked for by hand (a ping, or an event again)
);
CREATE INDEX delivery_attempt_subscription_idx ON delivery_attempt (subscription_id, id);

-- Records one attempt of the head event seq of subscription p_id and moves the subscription on:
--   a 2xx (p_error NULL): its position past seq, the failure count back to 0;
--   p_disable not NULL (410 from the receiver, or the retry schedule exhausted): disabled with that reason
--   (PATCH {"enabled": true} resumes it at the same event);
--   else: one more failure, tried again after p_delay_s seconds.
-- Nothing happens when the subscription is no longer at seq (deleted, or moved by someone else).
CREATE FUNCTION delivery_record(p_id bigint, p_event_id text, p_seq bigint, p_type text, p_status integer,
                                p_duration_ms integer, p_error text, p_delay_s double precision, p_disable text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s subscription;
    next_at timestamptz;
BEGIN
    SELECT * INTO s FROM subscription WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR s.after_seq >= p_seq THEN
        RETURN;
    END IF;
    IF p_error IS NULL THEN
        UPDATE subscription SET after_seq = p_seq, attempts = 0, next_attempt_at = NULL WHERE id = p_id;
    ELSIF p_disable IS NOT NULL THEN
        UPDATE subscription SET attempts = s.attempts + 1, next_attempt_at = NULL, enabled = false,
               disabled_at = now(), disabled_reason = left(p_disable, 500)
         WHERE id = p_id;
    ELSE
        next_at := now() + make_interval(secs => p_delay_s);
        UPDATE subscription SET attempts = s.attempts + 1, next_attempt_at = next_at WHERE id = p_id;
    END IF;
    INSERT INTO delivery_attempt (subscription_id, event_id, seq, event_type, attempt, status, duration_ms, error,
                                  next_attempt_at)
    VALUES (p_id, p_event_id, p_seq, p_type, s.attempts + 1, p_status, p_duration_ms, left(p_error, 500), next_at);
END $$;

-- Deliveries asked for by hand: a ping (seq NULL: a test event) or one event again (POST
-- /api/subscriptions/{id}/ping, .../deliveries/{event}/retry). Each is sent once, before the subscription's next
-- event, and recorded like any attempt; the subscription's position does not move.
CREATE TABLE delivery_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    seq             bigint CHECK (seq > 0),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    requested_by    text NOT NULL
);
CREATE INDEX delivery_request_subscription_idx ON delivery_request (subscription_id, id);

-- Asks for a delivery by hand (p_seq NULL: a ping) of a subscription p_token sees. outcome: 'requested'
-- (detail: the request's id), 'not-found', 'disabled' (resume it first), 'no-event' (p_seq is no change of a
-- release), 'too-many' (10 are waiting already).
CREATE FUNCTION delivery_request_add(p_token text, p_id bigint, p_seq bigint, OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    s subscription := subscription_locked(p_token, p_id);
BEGIN
    IF s.id IS NULL THEN
        outcome := 'not-found';
    ELSIF NOT s.enabled THEN
        outcome := 'disabled';
    ELSIF p_seq IS NOT NULL AND NOT EXISTS (SELECT FROM change c WHERE c.seq = p_seq AND c.subject = 'release') THEN
        outcome := 'no-event';
    ELSIF (SELECT count(*) FROM delivery_request q WHERE q.subscription_id = p_id) >= 10 THEN
        outcome := 'too-many';
    ELSE
        INSERT INTO delivery_request (subscription_id, seq, requested_by) VALUES (p_id, p_seq, p_token)
        RETURNING id::text INTO detail;
        PERFORM pg_notify('romtrack_deliver', p_id::text);
        outcome := 'requested';
    END IF;
END $$;

-- Records the one attempt of a delivery asked for by hand and forgets the request.
CREATE FUNCTION delivery_request_done(p_request bigint, p_event_id text, p_seq bigint, p_type text,
                                      p_status integer, p_duration_ms integer, p_error text)
RETURNS void
LANGUAGE sql AS $$
    WITH q AS (DELETE FROM delivery_request WHERE id = p_request RETURNING subscription_id)
    INSERT INTO delivery_attempt (subscription_id, event_id, seq, event_type, attempt, status, duration_ms, error,
                                  requested)
    SELECT q.subscription_id, p_event_id, coalesce(p_seq, 0), p_type, 1, p_status, p_duration_ms, left(p_error, 500),
           true
      FROM q
$$;
