"""Webhook delivery end to end (issue 12): `romtrack deliver` against a real HTTP receiver on loopback (Python's
http.server, opened to deliveries by webhook_allow_networks as a test configuration only), with changes made in
the stack's PostgreSQL.

Signatures are verified with this file's own implementation of the Standard Webhooks specification (hmac,
hashlib, base64), not romtrack's code; the expected events come from the change feed the API serves (GET
/api/changes) and the database, not from the deliverer."""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time

import pytest

import conftest
from contract import Contract
from webhook_receiver import Receiver, subscribe, subscriptions_token

CONTRACT = Contract()

SETTINGS = {
    "webhook_allow_networks": "127.0.0.0/8",
    "webhook_allow_http": 1,
    "deliver_retry_schedule": "1,1,1",  # seconds: a failing receiver is given up on within a few seconds
    "deliver_timeout": 10,
    "deliver_connect_timeout": 2,
}


class Deliverer:
    """`romtrack deliver` with the stack's configuration, its log in a file of its own."""

    def __init__(self, stack, name, settings=""):
        """settings: configuration lines added to the stack's, for this deliverer only."""
        self.log = os.path.join(stack.tmpdir, "deliver-%s.log" % name)
        self.file = open(self.log, "w")
        config = stack.config
        if settings:
            config = os.path.join(stack.tmpdir, "deliver-%s.yaml" % name)
            with open(stack.config) as f, open(config, "w") as out:
                out.write(f.read() + "\n" + settings)
        self.proc = subprocess.Popen([conftest.ROMTRACK_BIN, "-c", config, "deliver"], stdout=self.file,
                                     stderr=subprocess.STDOUT, env=conftest._child_env(), cwd=stack.tmpdir)
        deadline = time.monotonic() + 20
        while "deliver: started" not in self.text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.file.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def token(stack):
    return subscriptions_token(stack, "deliver-tests")


@pytest.fixture
def deliverer(stack):
    d = Deliverer(stack, "main")
    yield d
    assert d.stop() == 0, d.text()
    assert "ERROR" not in d.text() and "runtime error" not in d.text(), d.text()



def change_md5s(stack, codename, n):
    """n changes of releases of a device, one transaction each (psql, as a maintainer by hand)."""
    ids = [int(r[0]) for r in stack.psql(
        "SELECT r.id FROM release r JOIN device d ON d.id = r.device_id WHERE d.codename = '%s'"
        " AND r.withdrawn_at IS NULL ORDER BY r.id LIMIT %d" % (codename, n))]
    assert len(ids) == n
    for rid in ids:
        stack.psql("UPDATE release SET md5 = md5(random()::text) WHERE id = %d" % rid)
    return ids


def feed_after(stack, seq):
    status, _, _, doc = stack.get("/api/changes?after=%d&limit=500" % seq)
    assert status == 200
    return doc["data"]


def first_arrivals(stack, receiver, path, sub_id, n, timeout=60):
    """The first arrival of each of n events at path, in the order they arrived. At least once: a repeat (the
    same webhook-id again) is allowed only after an attempt that the database records as failed (a timeout on a
    loaded machine, say)."""
    deadline = time.monotonic() + timeout
    while True:
        got = receiver.received(path)
        ids = [r["headers"]["webhook-id"] for r in got]
        if len(set(ids)) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    firsts = [r for i, r in enumerate(got) if r["headers"]["webhook-id"] not in ids[:i]]
    assert len(firsts) == n, (path, ids)
    if len(got) > len(firsts):
        failed = {row[0] for row in stack.psql("SELECT event_id FROM delivery_attempt WHERE subscription_id = %d"
                                               " AND error IS NOT NULL" % sub_id)}
        assert {i for i in ids if ids.count(i) > 1} <= failed, (ids, failed)
    return firsts


def verify(secret, request):
    """The Standard Webhooks v1 check, written from the specification: HMAC-SHA256 over id.timestamp.body with the
    base64-decoded key after "whsec_", base64 encoded, one of the space-separated "v1," signatures."""
    key = base64.b64decode(secret[len("whsec_"):])
    h = request["headers"]
    signed = ("%s.%s." % (h["webhook-id"], h["webhook-timestamp"])).encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig == "v1," + expected for sig in h["webhook-signature"].split(" "))


def test_every_change_arrives_signed_in_order(stack, token, receiver, deliverer):
    head = int(stack.psql("SELECT seq FROM change_head")[0][0])
    sub = subscribe(stack, token, receiver.url + "/all")
    other = subscribe(stack, token, receiver.url + "/gemini", codenames=["gemini"],
                      events=["release.updated"])
    change_md5s(stack, "cancro", 3)
    change_md5s(stack, "gemini", 2)
    expected = feed_after(stack, head)
    assert len(expected) == 5
    got = first_arrivals(stack, receiver, "/all", sub["id"], 5)
    time.sleep(0.5)  # nothing more may come
    assert first_arrivals(stack, receiver, "/all", sub["id"], 5) == got
    assert [json.loads(r["body"])["data"]["seq"] for r in got] == [e["seq"] for e in expected]
    for r, e in zip(got, expected):
        assert verify(sub["secret"], r), r["headers"]
        doc = json.loads(r["body"])
        assert doc == {"type": "release." + e["kind"], "timestamp": e["at"], "data": e}
        CONTRACT.validate(doc, {"$ref": "#/components/schemas/WebhookEvent"})  # openapi.yaml's webhooks
        assert r["headers"]["webhook-id"] == "msg_%d_%d" % (sub["id"], e["seq"])
        assert abs(int(r["headers"]["webhook-timestamp"]) - r["at"]) < 60
        assert r["headers"]["content-type"] == "application/json"
    # the filtered subscription: gemini's two, nothing of cancro
    gemini = first_arrivals(stack, receiver, "/gemini", other["id"], 2)
    assert [json.loads(r["body"])["data"]["release"]["codename"] for r in gemini] == ["gemini", "gemini"]
    assert all(verify(other["secret"], r) for r in gemini)
    assert not verify(sub["secret"], gemini[0])  # each subscription has its own key
    # the positions moved past what was delivered (once the last answer is in and recorded: the receiver has
    # the request before the deliverer has its answer)
    assert wait_rows(stack, "SELECT after_seq FROM subscription WHERE id = %d AND after_seq = %d"
                     % (sub["id"], expected[-1]["seq"]), 1) == [(str(expected[-1]["seq"]),)]


def test_a_failing_receiver_is_retried_and_later_events_wait(stack, token, receiver, deliverer):
    # the first two requests fail (both are the first event's: the second event waits behind it)
    receiver.plan = lambda n, r: (500, {}, 0) if r["path"] == "/flaky" and len(receiver.received("/flaky")) <= 2 \
        else (200, {}, 0)
    sub = subscribe(stack, token, receiver.url + "/flaky")
    change_md5s(stack, "cancro", 2)
    got = receiver.wait("/flaky", 4, timeout=30, what=deliverer.text)  # 500, 500, 200 for the first; then the second
    ids = [r["headers"]["webhook-id"] for r in got[:4]]
    assert ids[0] == ids[1] == ids[2] != ids[3], ids
    # the retry waited about the schedule's second (give or take a tenth), and the second event behind the first
    assert got[1]["at"] - got[0]["at"] >= 0.85 and got[2]["at"] - got[1]["at"] >= 0.85
    rows = wait_rows(stack, "SELECT attempt, status, error, next_attempt_at IS NOT NULL FROM delivery_attempt"
                     " WHERE subscription_id = %d ORDER BY id" % sub["id"], 4)
    assert rows[:4] == [("1", "500", "HTTP 500", "t"), ("2", "500", "HTTP 500", "t"), ("3", "200", None, "f"),
                        ("1", "200", None, "f")], rows
    receiver.plan = lambda n, r: (200, {}, 0)


def change_md5s_at_once(stack, codename, n):
    """n changes of one release, one transaction each, committed one after the other by one statement (a
    procedure's COMMIT): more than a deliverer reads for a subscription at one claim (64)."""
    stack.psql("DO $$ DECLARE rid bigint := (SELECT r.id FROM release r JOIN device d ON d.id = r.device_id"
               " WHERE d.codename = '%s' AND r.withdrawn_at IS NULL ORDER BY r.id LIMIT 1);"
               " BEGIN FOR i IN 1..%d LOOP UPDATE release SET md5 = md5(random()::text) WHERE id = rid; COMMIT;"
               " END LOOP; END $$" % (codename, n))


def test_a_backlog_longer_than_a_run_arrives_in_order_each_attempt_recorded_once(stack, token, receiver,
                                                                               deliverer):
    sub = subscribe(stack, token, receiver.url + "/backlog")
    change_md5s_at_once(stack, "gemini", 150)
    expected = [int(r[0]) for r in stack.psql(
        "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % sub["after"])]
    assert len(expected) == 150
    got = first_arrivals(stack, receiver, "/backlog", sub["id"], 150)
    assert [json.loads(r["body"])["data"]["seq"] for r in got] == expected
    rows = wait_rows(stack, "SELECT seq, attempt, status FROM delivery_attempt WHERE subscription_id = %d"
                     " ORDER BY id" % sub["id"], 150)
    assert rows == [(str(seq), "1", "200") for seq in expected], rows[:5]
    assert stack.psql("SELECT after_seq, attempts FROM subscription WHERE id = %d" % sub["id"]) == \
        [(str(expected[-1]), "0")]


def test_a_failure_within_a_run_stops_it_and_is_retried_first(stack, token, receiver, deliverer):
    """The third of five events fails once: the two before it are recorded delivered, it is retried after the
    schedule's second, and the two after it wait behind it (their answers and its failure may be recorded in one
    statement)."""
    failed = []

    def plan(n, r):
        # the request is recorded before plan() is asked: the third webhook-id, on its first arrival, fails
        ids = [x["headers"]["webhook-id"] for x in receiver.received("/midrun")]
        if r["path"] == "/midrun" and not failed and len(set(ids)) == 3 and ids.count(r["headers"]["webhook-id"]) == 1:
            failed.append(r)
            return 500, {}, 0
        return 200, {}, 0

    receiver.plan = plan
    sub = subscribe(stack, token, receiver.url + "/midrun")
    change_md5s_at_once(stack, "cancro", 5)
    expected = [int(r[0]) for r in stack.psql(
        "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % sub["after"])]
    assert len(expected) == 5
    third = expected[2]
    got = receiver.wait("/midrun", 6, timeout=30, what=deliverer.text)
    seqs = [json.loads(r["body"])["data"]["seq"] for r in got]
    assert len(failed) == 1 and json.loads(failed[0]["body"])["data"]["seq"] == third, seqs
    assert seqs == expected[:3] + expected[2:], seqs
    rows = wait_rows(stack, "SELECT seq, attempt, status FROM delivery_attempt WHERE subscription_id = %d"
                     " ORDER BY id" % sub["id"], 6)
    assert rows == [(str(expected[0]), "1", "200"), (str(expected[1]), "1", "200"), (str(third), "1", "500"),
                    (str(third), "2", "200"), (str(expected[3]), "1", "200"), (str(expected[4]), "1", "200")], rows
    receiver.plan = lambda n, r: (200, {}, 0)


def wait_rows(stack, sql, n, timeout=30):
    """The rows of sql once there are n of them (the answers are recorded a little after they came)."""
    deadline = time.monotonic() + timeout
    rows = stack.psql(sql)
    while len(rows) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        rows = stack.psql(sql)
    return rows


def test_retry_after_and_giving_up_disables(stack, token, receiver, deliverer):
    receiver.plan = lambda n, r: (503, {"Retry-After": "2"}, 0) if r["path"] == "/busy" and n == 1 else (
        (500, {}, 0) if r["path"] == "/down" else (200, {}, 0))
    subscribe(stack, token, receiver.url + "/busy")
    down = subscribe(stack, token, receiver.url + "/down")
    change_md5s(stack, "cancro", 1)
    got = receiver.wait("/busy", 2, timeout=30)
    assert got[1]["at"] - got[0]["at"] >= 1.9  # Retry-After: 2, not the schedule's 1
    # /down: the first attempt and the schedule's three retries, then disabled with the reason
    receiver.wait("/down", 4, timeout=30)
    deadline = time.monotonic() + 10
    while stack.psql("SELECT enabled FROM subscription WHERE id = %d" % down["id"]) != [("f",)]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.5)
    assert len(receiver.received("/down")) == 4, stack.psql("SELECT attempt, status, error, at, next_attempt_at FROM delivery_attempt WHERE subscription_id = %d ORDER BY id" % down["id"])
    status, _, _, doc = stack.get("/api/subscriptions/%d" % down["id"], {"Authorization": "Bearer " + token})
    assert doc["enabled"] is False and doc["disabled_reason"].startswith("gave up after 4 attempts"), doc
    receiver.plan = lambda n, r: (200, {}, 0)


def test_410_disables_and_resume_sends_the_same_event(stack, token, receiver, deliverer):
    receiver.plan = lambda n, r: (410, {}, 0) if r["path"] == "/gone" and n == 1 else (200, {}, 0)
    sub = subscribe(stack, token, receiver.url + "/gone")
    change_md5s(stack, "cancro", 1)
    first = receiver.wait("/gone", 1)
    deadline = time.monotonic() + 10
    while stack.psql("SELECT enabled, disabled_reason FROM subscription WHERE id = %d" % sub["id"]) != [
            ("f", "the receiver answered 410 Gone")]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.5)
    assert len(receiver.received("/gone")) == 1  # disabled at once, not retried
    status, _, _, doc = stack.get("/api/subscriptions/%d" % sub["id"],
                                  {"Authorization": "Bearer " + token, "Content-Type": "application/merge-patch+json"},
                                  method="PATCH", body=json.dumps({"enabled": True}))
    assert status == 200 and doc["enabled"] is True
    again = receiver.wait("/gone", 2)
    assert again[1]["headers"]["webhook-id"] == first[0]["headers"]["webhook-id"]
    receiver.plan = lambda n, r: (200, {}, 0)


def test_a_killed_deliverer_loses_nothing(stack, token, receiver):
    # the receiver holds its first answer for 3 s, long enough to kill the deliverer in the middle of it
    receiver.plan = lambda n, r: (200, {}, 2.5) if r["path"] == "/slow" and n == 1 else (200, {}, 0)
    first = Deliverer(stack, "killed")
    sub = subscribe(stack, token, receiver.url + "/slow")
    change_md5s(stack, "gemini", 3)
    receiver.wait("/slow", 1)
    first.stop(signal.SIGKILL)
    second = Deliverer(stack, "after-kill")
    try:
        got = receiver.wait("/slow", 4, timeout=30)  # the interrupted one again, then the other two
        ids = [r["headers"]["webhook-id"] for r in got]
        assert ids[0] == ids[1] and len(set(ids)) == 3, ids
        assert [json.loads(r["body"])["data"]["seq"] for r in got[1:]] == sorted(
            json.loads(r["body"])["data"]["seq"] for r in got[1:])
    finally:
        assert second.stop() == 0, second.text()
    assert int(stack.psql("SELECT count(*) FROM delivery_attempt WHERE subscription_id = %d" % sub["id"])[0][0]) == 3
    receiver.plan = lambda n, r: (200, {}, 0)


def test_answers_that_cannot_be_recorded_are_sent_again_with_their_ids(stack, token, receiver):
    """The answers' statement fails (a constraint added by hand refuses this subscription's attempts): the
    deliverer drops its session, since its runs went on past answers that are not recorded, and sends the events
    again, with the same webhook-ids, until the record succeeds. Nothing is lost, nothing is recorded twice."""
    d = Deliverer(stack, "unrecorded")
    try:
        sub = subscribe(stack, token, receiver.url + "/unrecorded")
        stack.psql("ALTER TABLE delivery_attempt ADD CONSTRAINT e2e_refused CHECK (subscription_id <> %d)"
                   % sub["id"])
        try:
            change_md5s(stack, "gemini", 2)
            expected = [int(r[0]) for r in stack.psql(
                "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % sub["after"])]
            assert len(expected) == 2
            deadline = time.monotonic() + 30
            while len(receiver.received("/unrecorded")) < 4:  # both events, then both again
                assert time.monotonic() < deadline, (receiver.received("/unrecorded"), d.text())
                time.sleep(0.05)
            assert "could not be recorded: their events are sent again" in d.text()
            assert stack.psql("SELECT after_seq FROM subscription WHERE id = %d" % sub["id"]) == \
                [(str(sub["after"]),)]
        finally:
            stack.psql("ALTER TABLE delivery_attempt DROP CONSTRAINT e2e_refused")
        rows = wait_rows(stack, "SELECT seq, attempt, status FROM delivery_attempt WHERE subscription_id = %d"
                         " ORDER BY id" % sub["id"], 2)
        assert rows == [(str(seq), "1", "200") for seq in expected], rows
        assert wait_rows(stack, "SELECT after_seq FROM subscription WHERE id = %d AND after_seq = %d"
                         % (sub["id"], expected[-1]), 1) == [(str(expected[-1]),)]
        got = receiver.received("/unrecorded")
        ids = ["msg_%d_%d" % (sub["id"], seq) for seq in expected]
        # every arrival is one of the two events, in order each time round, and each arrived more than once
        assert {r["headers"]["webhook-id"] for r in got} == set(ids)
        seqs = [json.loads(r["body"])["data"]["seq"] for r in got]
        assert all(seqs.count(seq) >= 2 for seq in expected), seqs
        assert all(a != expected[1] or b == expected[0] for a, b in zip(seqs, seqs[1:])), seqs
    finally:
        assert d.stop() == 0, d.text()


def test_deleting_a_subscription_deletes_its_attempts_and_stops_its_delivery(stack, token, receiver):
    """A subscription deleted with its run in flight: the run's answers are not recorded for it (no attempt of
    a subscription that is gone), its attempts go with it, and nothing more is sent to it."""
    receiver.plan = lambda n, r: (200, {}, 1.5) if r["path"] == "/deleted" and len(
        receiver.received("/deleted")) == 3 else (200, {}, 0)
    auth = {"Authorization": "Bearer " + token}
    d = Deliverer(stack, "deleting")
    try:
        sub = subscribe(stack, token, receiver.url + "/deleted")
        change_md5s(stack, "cancro", 2)
        receiver.wait("/deleted", 2)
        wait_rows(stack, "SELECT id FROM delivery_attempt WHERE subscription_id = %d" % sub["id"], 2)
        change_md5s(stack, "cancro", 1)  # its answer is held 1.5 s: the subscription goes meanwhile
        receiver.wait("/deleted", 3)
        status, _, _, _ = stack.get("/api/subscriptions/%d" % sub["id"], auth, method="DELETE")
        assert status == 204
        assert stack.psql("SELECT count(*) FROM delivery_attempt WHERE subscription_id = %d" % sub["id"]) == [("0",)]
        time.sleep(2.5)  # the held answer came, and was recorded, for nothing
        change_md5s(stack, "cancro", 1)
        time.sleep(1.5)
        assert len(receiver.received("/deleted")) == 3
        assert stack.psql("SELECT count(*) FROM delivery_attempt WHERE subscription_id = %d" % sub["id"]) == [("0",)]
        assert "ERROR" not in d.text(), d.text()
    finally:
        assert d.stop() == 0, d.text()
        receiver.plan = lambda n, r: (200, {}, 0)


def test_a_new_url_takes_over_a_run_that_goes_on(stack, token, receiver, deliverer):
    """A backlog goes out in one run that reads on (64 events a read); the URL is PATCHed in the middle. The
    events the run holds go to the old URL, the next read finds the settings changed (sql/018) and ends the run,
    and the next claim sends the rest to the new URL: every event arrives once, in order, across the two."""
    receiver.plan = lambda n, r: (200, {}, 0.01) if r["path"] == "/moving-old" else (200, {}, 0)
    auth = {"Authorization": "Bearer " + token, "Content-Type": "application/merge-patch+json"}
    sub = subscribe(stack, token, receiver.url + "/moving-old")
    change_md5s_at_once(stack, "gemini", 200)
    expected = [int(r[0]) for r in stack.psql(
        "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % sub["after"])]
    receiver.wait("/moving-old", 10)
    status, _, _, doc = stack.get("/api/subscriptions/%d" % sub["id"], auth, method="PATCH",
                                  body=json.dumps({"url": receiver.url + "/moving-new"}))
    assert status == 200, doc
    moved_at = len(receiver.received("/moving-old"))
    deadline = time.monotonic() + 60
    while len({r["headers"]["webhook-id"] for r in receiver.received("/moving-old") + receiver.received(
            "/moving-new")}) < len(expected):
        assert time.monotonic() < deadline, (len(receiver.received("/moving-old")), len(receiver.received(
            "/moving-new")))
        time.sleep(0.05)
    old, new = receiver.received("/moving-old"), receiver.received("/moving-new")
    # after the PATCH, the old URL gets at most what one read gave the run (64) and the one in flight
    assert len(old) <= moved_at + 64 + 1 and len(new) > 0, (moved_at, len(old), len(new))
    seqs = [json.loads(r["body"])["data"]["seq"] for r in old + new]
    firsts = [q for i, q in enumerate(seqs) if q not in seqs[:i]]
    assert firsts == expected
    receiver.plan = lambda n, r: (200, {}, 0)


def test_a_lost_session_is_claimed_again_at_once(stack, token, receiver, deliverer):
    """The deliverer's PostgreSQL session is terminated in the middle of a backlog: its locks go with it, it
    drops what it had in flight, connects again and claims the subscription at once (not at its idle tick, 30 s
    away): every event arrives."""
    receiver.plan = lambda n, r: (200, {}, 0.01) if r["path"] == "/terminated" else (200, {}, 0)
    sub = subscribe(stack, token, receiver.url + "/terminated")
    change_md5s_at_once(stack, "cancro", 120)
    receiver.wait("/terminated", 5)
    # the session that holds the subscription's advisory lock (72015, id)
    deadline = time.monotonic() + 10
    while stack.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                     " AND classid = 72015 AND objid = %d AND objsubid = 2 AND granted" % sub["id"]) == [("0",)]:
        assert time.monotonic() < deadline, "no session holds the subscription's lock"
        time.sleep(0.01)
    expected = [int(r[0]) for r in stack.psql(
        "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % sub["after"])]
    deadline = time.monotonic() + 15
    while len({r["headers"]["webhook-id"] for r in receiver.received("/terminated")}) < len(expected):
        assert time.monotonic() < deadline, "%d of %d events within 15 s of the session's end" % (
            len({r["headers"]["webhook-id"] for r in receiver.received("/terminated")}), len(expected))
        time.sleep(0.05)
    # what the lost session had sent but not recorded comes again, with the same webhook-id: at least once
    seqs = [json.loads(r["body"])["data"]["seq"] for r in receiver.received("/terminated")]
    assert [q for i, q in enumerate(seqs) if q not in seqs[:i]] == expected
    assert all(r["headers"]["webhook-id"] == "msg_%d_%d" % (sub["id"], json.loads(r["body"])["data"]["seq"])
               for r in receiver.received("/terminated"))
    receiver.plan = lambda n, r: (200, {}, 0)


def test_the_address_is_checked_again_at_each_connection(stack, token, receiver, deliverer):
    # a URL whose address is not allowed, written past the API's check (as DNS answering otherwise later would)
    port = receiver.server.server_address[1]
    sub = subscribe(stack, token, receiver.url + "/never")
    stack.psql("UPDATE subscription SET url = 'http://[::1]:%d/never' WHERE id = %d" % (port, sub["id"]))
    change_md5s(stack, "cancro", 1)
    deadline = time.monotonic() + 20
    rows = []
    while not rows and time.monotonic() < deadline:
        rows = stack.psql("SELECT error FROM delivery_attempt WHERE subscription_id = %d" % sub["id"])
        time.sleep(0.1)
    assert rows and rows[0][0] == "the address ::1 is loopback", rows
    assert receiver.received("/never") == []


def test_ping_retry_by_hand_and_the_deliveries_list(stack, token, receiver, deliverer):
    auth = {"Authorization": "Bearer " + token}
    sub = subscribe(stack, token, receiver.url + "/byhand")
    base = "/api/subscriptions/%d" % sub["id"]
    status, headers, _, doc = stack.get(base + "/ping", auth, method="POST")
    assert status == 202, doc
    assert headers["location"] == base + "/deliveries"
    [ping] = receiver.wait("/byhand", 1)
    assert ping["headers"]["webhook-id"] == doc["event_id"] == "msg_%d_ping_%d" % (sub["id"], doc["request"])
    assert verify(sub["secret"], ping)
    body = json.loads(ping["body"])
    assert body["type"] == "ping" and body["data"] == {"subscription": sub["id"]}
    change_md5s(stack, "gemini", 1)
    [_, event] = receiver.wait("/byhand", 2)
    seq = json.loads(event["body"])["data"]["seq"]
    # the same event again, asked for by hand: the same webhook-id, the position unchanged
    status, _, _, doc = stack.get(base + "/deliveries/%d/retry" % seq, auth, method="POST")
    assert status == 202, doc
    again = receiver.wait("/byhand", 3)[2]
    assert again["headers"]["webhook-id"] == event["headers"]["webhook-id"] and again["body"] == event["body"]
    assert verify(sub["secret"], again)
    deadline = time.monotonic() + 10
    while True:  # the attempt is recorded once its answer is in
        status, _, _, page = stack.get(base + "/deliveries", auth)
        if len(page["data"]) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200
    assert [(d["type"], d["seq"], d["requested"], d["status"]) for d in page["data"]] == [
        ("release.updated", seq, True, 200), ("release.updated", seq, False, 200), ("ping", 0, True, 200)]
    assert [d["id"] for d in page["data"]] == [int(r[0]) for r in stack.psql(
        "SELECT id FROM delivery_attempt WHERE subscription_id = %d ORDER BY id DESC" % sub["id"])]
    # keyset pages of one cover the same, once each
    seen, path = [], base + "/deliveries?limit=1"
    for _ in range(10):
        status, _, _, p = stack.get(path, auth)
        seen += p["data"]
        if p["next"] is None:
            break
        path = p["next"]
    assert seen == page["data"]
    assert stack.psql("SELECT after_seq FROM subscription WHERE id = %d" % sub["id"]) == [(str(seq),)]
    # refusals: an unknown event, another token's subscription, a disabled one
    status, _, _, doc = stack.get(base + "/deliveries/999999999/retry", auth, method="POST")
    assert status == 404 and doc["type"] == "urn:romtrack:problem:not-found", doc
    stranger = {"Authorization": "Bearer " + subscriptions_token(stack, "deliver-stranger")}
    for method, path in (("POST", base + "/ping"), ("GET", base + "/deliveries"),
                         ("POST", base + "/deliveries/%d/retry" % seq)):
        status, _, _, doc = stack.get(path, stranger, method=method)
        assert status == 404 and doc["type"] == "urn:romtrack:problem:subscription-not-found", (path, doc)
    stack.get(base, dict(auth, **{"Content-Type": "application/merge-patch+json"}), method="PATCH",
              body=json.dumps({"enabled": False}))
    status, _, _, doc = stack.get(base + "/ping", auth, method="POST")
    assert status == 409, doc
    assert len(receiver.received("/byhand")) == 3


def test_two_deliverers_share_the_work_and_keep_each_order(stack, token, receiver):
    """Two deliverers at once, 8 subscriptions, 5 changes: every subscription gets every change once, in order,
    and the logs show that both deliverers delivered (each subscription by one of them at a time). Each may have
    4 subscriptions in flight: one claim of one deliverer cannot take all 8."""
    receiver.plan = lambda n, r: (200, {}, 0.05)  # slow enough that both are busy at the same time
    first = Deliverer(stack, "one", "deliver_max_in_flight: 4\n")
    second = Deliverer(stack, "two", "deliver_max_in_flight: 4\n")
    try:
        subs = [subscribe(stack, token, receiver.url + "/pair/%d" % i) for i in range(8)]
        change_md5s(stack, "cancro", 5)
        expected = [int(r[0]) for r in stack.psql(
            "SELECT seq FROM change WHERE subject = 'release' AND seq > %d ORDER BY seq" % subs[-1]["after"])]
        assert len(expected) == 5
        for i, s in enumerate(subs):
            got = first_arrivals(stack, receiver, "/pair/%d" % i, s["id"], 5)
            assert [json.loads(r["body"])["data"]["seq"] for r in got] == expected
        time.sleep(1)
        for i, s in enumerate(subs):  # nothing more came
            assert len(first_arrivals(stack, receiver, "/pair/%d" % i, s["id"], 5)) == 5
    finally:
        assert first.stop() == 0 and second.stop() == 0
    # the earlier tests' subscriptions get these changes too: only the 8 pairs' deliveries are counted
    mine = {str(s["id"]) for s in subs}
    counts = [len([m for m in re.findall(r" to subscription (\d+): 200 in ", d.text()) if m in mine])
              for d in (first, second)]
    assert sum(counts) == 8 * 5 and all(c > 0 for c in counts), counts
    receiver.plan = lambda n, r: (200, {}, 0)


def test_the_readme_receiver_verifies_a_delivery(stack, token, receiver, deliverer):
    with open(os.path.join(conftest.REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    block = re.search(r"<!-- receiver -->\n```python\n(.*?)```", readme, re.S).group(1)
    namespace = {}
    exec(compile(block, "README.md receiver", "exec"), namespace)
    sub = subscribe(stack, token, receiver.url + "/readme")
    change_md5s(stack, "gemini", 1)
    [r] = receiver.wait("/readme", 1)
    assert namespace["verify"](sub["secret"], r["headers"], r["body"]) is True
    assert namespace["verify"](sub["secret"], r["headers"], r["body"][:-1] + b" ") is False
    other = subscribe(stack, token, receiver.url + "/readme-other")
    assert namespace["verify"](other["secret"], r["headers"], r["body"]) is False
