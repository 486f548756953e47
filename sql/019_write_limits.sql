-- Writes through the API are limited per token (issue 13): a token bucket in PostgreSQL, so that every worker of
-- every host draws from the same one. A token's bucket holds up to p_burst writes and refills at p_per_minute;
-- each write takes one. Its row is locked only for the statement that takes from it (src/app.c calls it on its
-- own, before the write's transaction).
CREATE TABLE token_write_bucket (
    token_id bigint PRIMARY KEY REFERENCES api_token (id) ON DELETE CASCADE,
    level    double precision NOT NULL, -- writes left, as of at
    at       timestamptz NOT NULL
);

-- Takes a write from the bucket of the token named p_token: allowed, the whole writes left afterwards, and the
-- seconds until the next one is there (0 when one is left; when refused, when this one would have been).
CREATE FUNCTION token_write_take(p_token text, p_per_minute double precision, p_burst integer,
                                 OUT allowed boolean, OUT remaining integer, OUT reset_s double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t bigint := (SELECT id FROM api_token WHERE name = p_token);
    now_ timestamptz := clock_timestamp();
    b token_write_bucket;
    have double precision; -- writes in the bucket now
BEGIN
    IF t IS NULL THEN -- revoked and deleted meanwhile: nothing to take from (the write is refused anyway)
        allowed := true; remaining := p_burst; reset_s := 0;
        RETURN;
    END IF;
    INSERT INTO token_write_bucket VALUES (t, p_burst, now_) ON CONFLICT (token_id) DO NOTHING;
    SELECT * INTO b FROM token_write_bucket WHERE token_id = t FOR UPDATE;
    have := least(p_burst::double precision, b.level + extract(epoch FROM now_ - b.at) * p_per_minute / 60);
    allowed := have >= 1;
    IF allowed THEN
        have := have - 1;
    END IF;
    UPDATE token_write_bucket SET level = have, at = now_ WHERE token_id = t;
    remaining := floor(have);
    reset_s := CASE WHEN have >= 1 THEN 0 ELSE (1 - have) * 60 / p_per_minute END;
END $$;
