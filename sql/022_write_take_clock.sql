-- token_write_take (sql/019) read the clock before it waited for the bucket's row lock: a write whose clock was read
-- before that of the write ahead of it, but that got the lock after it, saw time go backwards (a negative refill),
-- and reported one write fewer left than there was, or could even be refused one it had. The clock is now read once
-- the row is locked, and time never runs backwards. It happens to a token's first writes: a write that read the
-- clock, then waited (its INSERT ... ON CONFLICT waits for the other's uncommitted insert of the bucket) behind one
-- that read the clock after it. e2e.write_limits failed now and then on that: three writes allowed, the writes left
-- after them 2, 0, 0 instead of 2, 1, 0.
CREATE OR REPLACE FUNCTION token_write_take(p_token text, p_per_minute double precision, p_burst integer,
                                            OUT allowed boolean, OUT remaining integer, OUT reset_s double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t bigint := (SELECT id FROM api_token WHERE name = p_token);
    now_ timestamptz;
    b token_write_bucket;
    have double precision; -- writes in the bucket now
BEGIN
    IF t IS NULL THEN -- revoked and deleted meanwhile: nothing to take from (the write is refused anyway)
        allowed := true; remaining := p_burst; reset_s := 0;
        RETURN;
    END IF;
    INSERT INTO token_write_bucket VALUES (t, p_burst, clock_timestamp()) ON CONFLICT (token_id) DO NOTHING;
    SELECT * INTO b FROM token_write_bucket WHERE token_id = t FOR UPDATE;
    now_ := greatest(clock_timestamp(), b.at);
    have := least(p_burst::double precision, b.level + extract(epoch FROM now_ - b.at) * p_per_minute / 60);
    allowed := have >= 1;
    IF allowed THEN
        have := have - 1;
    END IF;
    UPDATE token_write_bucket SET level = have, at = now_ WHERE token_id = t;
    remaining := floor(have);
    reset_s := CASE WHEN have >= 1 THEN 0 ELSE (1 - have) * 60 / p_per_minute END;
END $$;
