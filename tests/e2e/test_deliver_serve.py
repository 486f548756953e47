"""`romtrack serve` with `deliver: 1` (issue 12): the master runs the deliverer as a child, restarts it when it
dies, replaces it on a reload and stops it with the pool; and a PostgreSQL restart in the middle of a delivery
loses nothing. Against a real receiver on loopback (tests/e2e/webhook_receiver.py), changes made with psql."""

import json
import os
import re
import signal
import time

import pytest

from webhook_receiver import Receiver, subscribe, subscriptions_token

SETTINGS = {
    "webhook_allow_networks": "127.0.0.0/8",
    "webhook_allow_http": 1,
    "deliver_retry_schedule": "1,1,1,1,1",
    "deliver_timeout": 5,
    "deliver": 1,
}


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def token(stack):
    return subscriptions_token(stack, "serve-deliver")



def change(stack, n=1):
    ids = [int(r[0]) for r in stack.psql("SELECT id FROM release WHERE withdrawn_at IS NULL ORDER BY random() LIMIT %d"
                                         % n)]
    for rid in ids:
        stack.psql("UPDATE release SET md5 = md5(random()::text) WHERE id = %d" % rid)


def deliverer_pids(stack):
    """The deliverers the master's log says it started and that still run."""
    pids = [int(p) for p in re.findall(r"started the deliverer \(pid (\d+)\)", stack.full_log())]
    return [p for p in pids if os.path.exists("/proc/%d" % p) and
            open("/proc/%d/stat" % p).read().split()[2] != "Z"]


def wait_for(what, check, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("%s within %d s" % (what, timeout))


def test_serve_runs_the_deliverer_and_restarts_it(stack, token, receiver):
    [pid] = wait_for("one deliverer running", lambda: deliverer_pids(stack) if len(deliverer_pids(stack)) == 1
                     else None)
    assert pid in stack.worker_pids()  # the master's child
    subscribe(stack, token, receiver.url + "/a")
    change(stack)
    receiver.wait("/a", 1)
    os.kill(pid, signal.SIGKILL)
    wait_for("the master's restart", lambda: "the deliverer (pid %d) killed by signal 9; restarting it" % pid
             in stack.full_log())
    [new] = wait_for("a new deliverer", lambda: deliverer_pids(stack) if len(deliverer_pids(stack)) == 1 and
                     deliverer_pids(stack) != [pid] else None)
    assert new != pid
    change(stack)
    receiver.wait("/a", 2)


def test_a_reload_replaces_the_deliverer(stack, token, receiver):
    [before] = wait_for("one deliverer", lambda: deliverer_pids(stack) if len(deliverer_pids(stack)) == 1 else None)
    stack.reconfigure({"deliver_timeout": 6})
    [after] = wait_for("the old deliverer gone, a new one running",
                       lambda: deliverer_pids(stack) if deliverer_pids(stack) and before not in deliverer_pids(
                           stack) and len(deliverer_pids(stack)) == 1 else None)
    assert after != before
    n = len(receiver.received("/a"))
    change(stack)
    receiver.wait("/a", n + 1)


def test_postgres_restarted_in_the_middle_of_a_delivery_loses_nothing(stack, token, receiver):
    # the first delivery to /pg is held 2 s by the receiver: PostgreSQL stops and starts again meanwhile
    receiver.plan = lambda n, r: (200, {}, 2.0) if r["path"] == "/pg" and len(receiver.received("/pg")) == 1 \
        else (200, {}, 0)
    sub = subscribe(stack, token, receiver.url + "/pg")
    change(stack, 3)
    expected = [int(r[0]) for r in stack.psql(
        "SELECT c.seq FROM change c WHERE c.subject = 'release' AND c.seq > %d ORDER BY c.seq" % sub["after"])]
    assert len(expected) == 3
    receiver.wait("/pg", 1)
    stack.pg_stop()
    time.sleep(1)
    stack.pg_start()
    got = receiver.wait("/pg", 3, timeout=60)
    wait_for("every event delivered", lambda: {json.loads(r["body"])["data"]["seq"] for r in receiver.received("/pg")}
             >= set(expected), timeout=60)
    seqs = [json.loads(r["body"])["data"]["seq"] for r in receiver.received("/pg")]
    # at least once and in order: each event's first arrival comes in sequence order; a repeat is the same event
    # (the one in flight when the database went away) with the same webhook-id
    firsts = [s for i, s in enumerate(seqs) if s not in seqs[:i]]
    assert firsts == expected, seqs
    ids = {}
    for r in receiver.received("/pg"):
        ids.setdefault(json.loads(r["body"])["data"]["seq"], set()).add(r["headers"]["webhook-id"])
    assert all(len(v) == 1 for v in ids.values()), ids
    wait_for("the position past the last", lambda: stack.psql(
        "SELECT after_seq FROM subscription WHERE id = %d" % sub["id"]) == [(str(expected[-1]),)], timeout=30)
    assert got
    receiver.plan = lambda n, r: (200, {}, 0)


def metric(stack, line_start):
    """The value of the /metrics line that starts with line_start (its name and labels)."""
    status, _, body, _ = stack.get("/metrics")
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in /metrics" % line_start)


def test_the_deliverer_counts_into_metrics(stack, token, receiver):
    """The deliverer `romtrack serve` runs counts into its slot of /metrics (killed and replaced above, it goes on
    in the same one): every delivery the receiver answered 200 is one delivered, with its delay; the queue drains
    to 0 once every enabled subscription has every change."""
    def stable(n):
        """n once the receiver's count stays for a second (nothing in flight)."""
        time.sleep(1)
        return len(receiver.requests) == n

    wait_for("the receiver idle", lambda: stable(len(receiver.requests)))
    delivered = 'romtrack_webhook_deliveries_total{outcome="delivered"}'
    delays = "romtrack_webhook_delivery_delay_seconds_count"
    received, counted, timed = len(receiver.requests), metric(stack, delivered), metric(stack, delays)
    subscribe(stack, token, receiver.url + "/metrics")
    change(stack, 3)
    receiver.wait("/metrics", 3)
    wait_for("the receiver idle", lambda: stable(len(receiver.requests)))
    sent = len(receiver.requests) - received
    assert sent >= 3
    wait_for("every delivery counted", lambda: metric(stack, delivered) - counted == sent)
    assert metric(stack, delays) - timed == sent
    wait_for("the queue drained", lambda: metric(stack, "romtrack_webhook_queue_depth") == 0)
