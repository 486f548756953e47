-- Webhook subscriptions (issue 12): who wants which changes of the change feed pushed to which URL. This
-- migration holds what the API manages (src/h_subscriptions.c); the delivery's state follows with
-- `romtrack deliver`.

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
    outcome := 'created';
    doc := subscription_doc(s);
END $$;

-- Applies a JSON Merge Patch (validated by the handler: url, description, the filters, enabled) to a
-- subscription p_token sees. outcome: 'updated' (doc), 'not-found'. enabled true resumes a disabled
-- subscription where it stopped (its position is kept); false disables it by hand.
CREATE FUNCTION subscription_patch(p_token text, p_id bigint, p_patch jsonb,
                                   OUT outcome text, OUT doc json)
LANGUAGE plpgsql AS $$
DECLARE
    viewer record;
    s subscription;
BEGIN
    SELECT * INTO viewer FROM subscription_viewer(p_token);
    SELECT * INTO s FROM subscription
     WHERE id = p_id AND (owner_id = viewer.token_id OR viewer.sees_all) FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not-found';
        RETURN;
    END IF;
    IF p_patch ? 'url' THEN s.url := p_patch ->> 'url'; END IF;
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
    END IF;
    UPDATE subscription SET url = s.url, description = s.description, codenames = s.codenames,
           regions = s.regions, branches = s.branches, types = s.types, events = s.events, enabled = s.enabled,
           disabled_at = s.disabled_at, disabled_reason = s.disabled_reason, updated_at = now()
     WHERE id = s.id
    RETURNING * INTO s;
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
