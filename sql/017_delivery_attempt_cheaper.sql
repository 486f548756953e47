-- The answers' record (sql/016's delivery_record_many) made cheaper per delivery, measured with EXPLAIN ANALYZE
-- on 100 subscriptions and 500 answers (bench/deliver.py's turn): of its 31 us an answer, the foreign key of
-- delivery_attempt took 10 us (a query per row, checking the subscription the statement has just locked), the
-- second index of the table a few more, and the subscription's rules trigger 11 us a subscription on a position
-- update that changes no setting.

-- delivery_attempt: one index, (subscription_id, id), the one the API reads (GET .../deliveries); the
-- attempts of a subscription go with it through a trigger instead of the foreign key. No writer of attempts can
-- name a subscription that is gone: delivery_record and delivery_record_many lock the subscription FOR UPDATE
-- first (a DELETE waits for them, and its trigger's statement then sees what they wrote); delivery_request_done
-- deletes its delivery_request row first, the row a subscription's DELETE cascades to (one of them waits for the
-- other). A TRUNCATE of subscription, or session_replication_role = replica, would leave attempts behind.
ALTER TABLE delivery_attempt
    DROP CONSTRAINT delivery_attempt_subscription_id_fkey,
    DROP CONSTRAINT delivery_attempt_pkey,
    ADD CONSTRAINT delivery_attempt_pkey PRIMARY KEY (subscription_id, id);
DROP INDEX delivery_attempt_subscription_idx;

CREATE FUNCTION subscription_attempts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_attempt a USING gone g WHERE a.subscription_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER subscription_attempts_delete AFTER DELETE ON subscription
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION subscription_attempts_delete();

-- The rules (sql/016's subscription_rules) run on an UPDATE only when it can break one: a setting or a state
-- column written, or a position or failure count out of range. A column added to subscription later must be
-- added to this WHEN clause, or its rules are not checked on an UPDATE. Moving a subscription on (after_seq, attempts,
-- next_attempt_at: what delivery does at each answer) then costs no call of the trigger's function.
DROP TRIGGER subscription_rules ON subscription;
CREATE TRIGGER subscription_rules BEFORE INSERT ON subscription
    FOR EACH ROW EXECUTE FUNCTION subscription_rules();
CREATE TRIGGER subscription_rules_update BEFORE UPDATE ON subscription
    FOR EACH ROW
    WHEN (NEW.after_seq IS NULL OR NEW.after_seq < 0 OR NEW.attempts IS NULL OR NEW.attempts < 0
          OR (NEW.owner_id, NEW.url, NEW.description, NEW.codenames, NEW.regions, NEW.branches, NEW.types,
              NEW.events, NEW.secret, NEW.previous_secret, NEW.previous_until, NEW.enabled, NEW.disabled_at,
              NEW.disabled_reason, NEW.created_at, NEW.updated_at)
             IS DISTINCT FROM
             (OLD.owner_id, OLD.url, OLD.description, OLD.codenames, OLD.regions, OLD.branches, OLD.types,
              OLD.events, OLD.secret, OLD.previous_secret, OLD.previous_until, OLD.enabled, OLD.disabled_at,
              OLD.disabled_reason, OLD.created_at, OLD.updated_at))
    EXECUTE FUNCTION subscription_rules();
