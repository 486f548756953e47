"""Writes limited per token (issue 13): each token draws from one bucket in PostgreSQL (sql/019), shared by every
worker: write_burst writes at once, write_limit_per_minute a minute after that; more get 429 problem+json with
Retry-After, and every write's answer carries the RateLimit-Policy and RateLimit fields. The writes here are
subscriptions made (POST /api/subscriptions). The expected counts follow from the settings below: with 6 a minute a
write comes back every 10 s, far longer than the test's burst takes."""

import re
import time

from webhook_receiver import subscriptions_token

SETTINGS = {"log_level": "debug", "write_limit_per_minute": 6, "write_burst": 3,
            "webhook_allow_networks": "127.0.0.0/8", "webhook_allow_http": 1}


def subscribe(stack, token):
    return stack.get("/api/subscriptions", {"Authorization": "Bearer " + token}, method="POST",
                     body={"url": "http://127.0.0.1:9/limits"})


def test_a_tokens_burst_is_shared_by_every_worker(stack):
    token = subscriptions_token(stack, "limited-a")
    answers = []

    def write():
        status, headers, _, doc = subscribe(stack, token)
        answers.append((status, headers, doc))
        return status

    # rounds of concurrent writes until every worker answered one: a bucket per worker would let each write 3
    started = time.monotonic()
    pids, statuses = stack.every_worker_answers(write, per_worker=1, at_least=4)
    refilled = int((time.monotonic() - started) / 10)  # one write comes back every 10 s (6 a minute)
    assert set(pids) == set(stack.worker_pids()) and len(set(pids)) >= 2
    assert 3 <= statuses.count(201) <= 3 + refilled and statuses.count(429) == len(statuses) - statuses.count(201), (
        statuses, refilled, [(s, d) for s, _, d in answers if s not in (201, 429)], stack.logs())
    assert statuses.count(429) >= 1
    for status, headers, doc in answers:
        assert headers["ratelimit-policy"] == '"writes";q=6;w=60', headers
        m = re.fullmatch(r'"writes";r=(\d+);t=(\d+)', headers["ratelimit"])
        assert m, headers["ratelimit"]
        if status == 429:
            assert doc["type"] == "urn:romtrack:problem:too-many-requests" and "6 a minute, 3 at once" in doc["detail"]
            assert m.group(1) == "0" and 1 <= int(headers["retry-after"]) <= 10 and headers["retry-after"] == m.group(2)
    # the writes left after each success: 2, 1, 0 (when nothing refilled meanwhile)
    left = [int(re.search(r"r=(\d+)", h["ratelimit"]).group(1)) for s, h, _ in answers if s == 201]
    assert refilled or sorted(left) == [0, 1, 2], left


def test_each_token_has_its_own_bucket_and_reads_are_not_limited(stack):
    token = subscriptions_token(stack, "limited-b")
    for _ in range(3):
        assert subscribe(stack, token)[0] == 201
    status, headers, _, doc = subscribe(stack, token)
    assert status == 429, doc
    other = subscriptions_token(stack, "limited-c")
    assert subscribe(stack, other)[0] == 201
    # reads with the limited token are not counted
    for _ in range(10):
        status, headers, _, _ = stack.get("/api/subscriptions", {"Authorization": "Bearer " + token})
        assert status == 200 and "ratelimit" not in headers
    assert stack.psql("SELECT count(*) FROM token_write_bucket b JOIN api_token t ON t.id = b.token_id"
                      " WHERE t.name IN ('limited-b', 'limited-c')") == [("2",)]
