-- API tokens: who may write over HTTP (romtrack token add|list|revoke). Only a hash of each secret is kept:
-- BLAKE2b-256 of the whole secret text ("rt_" and 43 characters of base64url), never the secret itself.

-- The scopes a token may carry, in one place: the CHECK of api_token and `romtrack token add` read them here.
-- A later migration adds scopes with CREATE OR REPLACE FUNCTION and a longer list (a longer list never makes an
-- existing row invalid, so the CHECK need not be revalidated); removing one would need the rows changed first.
CREATE FUNCTION api_token_scopes() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['releases:write', 'devices:write', 'audit:read']::text[] $$;

-- A token's scopes: one or more known scopes, each once (an array holding a NULL is not contained in the list).
CREATE FUNCTION api_token_scopes_valid(scopes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT cardinality(scopes) >= 1 AND array_ndims(scopes) = 1 AND scopes <@ api_token_scopes()
             AND cardinality(scopes) = (SELECT count(DISTINCT s) FROM unnest(scopes) AS s) $$;

CREATE TABLE api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- written into the audit trail as "token:<name>": a short word, no spaces or quotes
    name         text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    secret_hash  bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    scopes       text[] NOT NULL CHECK (api_token_scopes_valid(scopes)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz, -- NULL: never
    revoked_at   timestamptz,
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
