"""The change log of issue 11 (sql/011): changes by psql and by `romtrack import` in the change feed
(/api/changes) and the audit (`romtrack audit`), withdrawn releases gone from every read and back after a
restore, the log refusing to be altered, and the feed's guarantee under concurrent writers that commit in
another order than they started.

Expected values come from what the test itself changed (the values it wrote, the commit order it chose)
and from the database, never from the feed's own earlier answers.
"""

import json
import os
import random
import re
import threading
import time
import urllib.parse

import pytest

import conftest

IMPORT_FILES = conftest.DEFAULT_IMPORT_FILES


def head(stack):
    return int(stack.psql("SELECT seq FROM change_head")[0][0])


def feed(stack, after, **filters):
    """Every entry of the change feed after `after`, following next links until an empty page (bounded)."""
    entries = []
    query = dict(filters, after=str(after), limit="200")
    path = "/api/changes?" + urllib.parse.urlencode(query)
    for _ in range(200):
        status, hdrs, _, doc = stack.get(path)
        assert status == 200, doc
        assert hdrs.get("x-poll-interval") == "60"
        entries.extend(doc["data"])
        assert doc["next"].startswith("/api/changes?")
        if not doc["data"]:
            return entries
        path = doc["next"]
    raise AssertionError("the feed did not end within 200 pages")


def release_of(stack, where):
    rows = stack.psql("SELECT r.id, r.filename, d.codename, v.codename, r.branch, r.type, r.version, r.md5"
                      " FROM release r JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
                      " WHERE " + where + " ORDER BY r.id LIMIT 1")
    assert rows, where
    r = rows[0]
    return {"id": int(r[0]), "filename": r[1], "codename": r[2], "variant": r[3], "branch": r[4], "type": r[5],
            "version": r[6], "md5": r[7]}


def test_import_created_every_release_once(stack):
    created = [e for e in feed(stack, 0) if e["kind"] == "created"]
    ids = [e["release"]["id"] for e in created]
    in_db = sorted(int(r[0]) for r in stack.psql("SELECT id FROM release"))
    assert sorted(ids) == in_db
    seqs = [e["seq"] for e in created]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_reimport_adds_nothing(stack):
    before = head(stack)
    files = [os.path.join(conftest.REPO, f) for f in stack.import_files]
    r = stack.romtrack("import", *files)
    assert r.returncode == 0, r.stderr
    assert head(stack) == before
    assert feed(stack, before) == []


def test_psql_update_and_actor(stack):
    rel = release_of(stack, "r.md5 IS NOT NULL")
    before = head(stack)
    new_md5 = "0123456789abcdef0123456789abcdef"
    stack.psql("UPDATE release SET md5 = '%s' WHERE id = %d" % (new_md5, rel["id"]))
    # an UPDATE that changes no field of the document writes nothing
    stack.psql("UPDATE release SET md5 = md5, modified_at = modified_at WHERE id = %d" % rel["id"])
    stack.psql("BEGIN; SET LOCAL romtrack.actor = 'token:e2e-bot'; SET LOCAL romtrack.via = 'PATCH /api/releases/{id}';"
               " UPDATE release SET md5 = '%s' WHERE id = %d; COMMIT" % (rel["md5"], rel["id"]))
    entries = feed(stack, before)
    assert [(e["kind"], e["actor"], e["via"], e["release"]["id"]) for e in entries] == [
        ("updated", "sql:romtrack", "sql", rel["id"]),
        ("updated", "token:e2e-bot", "PATCH /api/releases/{id}", rel["id"]),
    ]
    assert entries[0]["fields"] == {"md5": {"old": rel["md5"], "new": new_md5}}
    assert entries[1]["fields"] == {"md5": {"old": new_md5, "new": rel["md5"]}}
    assert entries[0]["seq"] < entries[1]["seq"]
    # the same in the audit, newest first
    r = stack.romtrack("audit", "--release", str(rel["id"]), "--limit", "2", "--json")
    assert r.returncode == 0, r.stderr
    audit = [json.loads(l) for l in r.stdout.splitlines()]
    assert [a["seq"] for a in audit] == [entries[1]["seq"], entries[0]["seq"]]
    assert audit[0]["actor"] == "token:e2e-bot" and audit[0]["fields"] == entries[1]["fields"]
    r = stack.romtrack("audit", "--actor", "token:e2e-bot", "--json")
    assert [json.loads(l)["seq"] for l in r.stdout.splitlines()] == [entries[1]["seq"]]
    assert stack.romtrack("audit", "--since", "2020-02-30").returncode == 2


def _absent_everywhere(stack, rel, absent):
    """Checks that rel is (absent=False) or is not (absent=True) in every read that lists releases."""
    def has(path, key="id"):
        status, _, body, doc = stack.get(path)
        assert status == 200, (path, doc)
        if doc is None:  # a feed
            return ('/api/releases/%d"' % rel["id"]).encode() in body
        return any(x[key] == rel[key] for x in doc["data"])

    c = rel["codename"]
    reads = [
        "/api/releases?codename=%s&limit=500" % c,
        "/api/devices/%s/releases?limit=500" % c,
        "/api/devices/%s/latest" % c,
        "/api/releases/latest?limit=500",
        "/api/devices/%s/releases/%s/%s" % (c, rel["branch"], rel["version"]),
        "/api/devices/%s/feed.atom?limit=100" % c,
        "/api/feed.atom?codename=%s&limit=100" % c,
    ]
    for path in reads:
        if path.startswith("/api/devices/%s/releases/" % c):
            status, _, _, doc = stack.get(path)
            found = status == 200 and any(x["id"] == rel["id"] for x in doc["data"])
        else:
            found = has(path)
        assert found != absent, path


def test_withdraw_and_restore_by_psql(stack):
    # a release that is its group's newest, so that latest shows it
    status, _, _, doc = stack.get("/api/releases/latest?limit=500")
    newest = doc["data"][0]
    rel = release_of(stack, "r.id = %d" % newest["id"])
    before = head(stack)
    _absent_everywhere(stack, rel, absent=False)
    stack.psql("BEGIN; SET LOCAL romtrack.reason = 'pulled by Xiaomi';"
               " UPDATE release SET withdrawn_at = now() WHERE id = %d; COMMIT" % rel["id"])
    _absent_everywhere(stack, rel, absent=True)
    for path in ("/api/releases/%d" % rel["id"], "/api/releases/by-filename/%s" % rel["filename"]):
        status, hdrs, _, doc = stack.get(path)
        assert status == 410, doc
        assert hdrs["content-type"].startswith("application/problem+json")
        assert doc["type"] == "urn:romtrack:problem:gone"
        assert doc["withdrawn_by"] == "sql:romtrack" and doc["reason"] == "pulled by Xiaomi"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["withdrawn_at"])
    entries = feed(stack, before)
    assert [e["kind"] for e in entries] == ["withdrawn"]
    assert entries[0]["release"] == {"id": rel["id"], "filename": rel["filename"],
                                     "withdrawn_at": doc["withdrawn_at"], "withdrawn_by": "sql:romtrack",
                                     "reason": "pulled by Xiaomi"}
    # no export names it, the dump included (README: withdrawn releases are offered nowhere)
    for args in (("export", "--format", "json"), ("export", "--format", "json", "--all")):
        r = stack.romtrack(*args)
        assert r.returncode == 0, r.stderr
        assert rel["filename"] not in r.stdout, args
    # the region and branch counts leave it out too
    counted = int(stack.psql("SELECT count(*) FROM release WHERE branch = '%s' AND withdrawn_at IS NULL"
                             % rel["branch"])[0][0])
    status, _, _, doc = stack.get("/api/branches")
    assert [b["releases"] for b in doc["data"] if b["branch"] == rel["branch"]] == [counted]

    stack.psql("UPDATE release SET withdrawn_at = NULL WHERE id = %d" % rel["id"])
    _absent_everywhere(stack, rel, absent=False)
    assert stack.get("/api/releases/%d" % rel["id"])[0] == 200
    assert rel["filename"] in stack.romtrack("export", "--format", "json", "--all").stdout
    entries = feed(stack, before)
    assert [e["kind"] for e in entries] == ["withdrawn", "restored"]
    # the release is back: both entries carry its document
    assert entries[1]["release"]["id"] == rel["id"] and entries[1]["release"]["md5"] == rel["md5"]
    assert stack.psql("SELECT withdrawn_by, withdraw_reason FROM release WHERE id = %d" % rel["id"]) == [(None, None)]


def test_feed_filters_and_replay(stack):
    # a copy built from the feed alone: every release the API lists, each created once
    copy = {}
    for e in feed(stack, 0):
        if e["kind"] in ("withdrawn", "deleted"):
            copy.pop(e["release"]["id"], None)
        else:
            copy[e["release"]["id"]] = e["release"]
    listed = sorted(int(r[0]) for r in stack.psql("SELECT id FROM release WHERE withdrawn_at IS NULL"))
    assert sorted(copy) == listed
    # filters select by what the release is now
    codename = stack.psql("SELECT codename FROM device ORDER BY codename LIMIT 1")[0][0]
    entries = feed(stack, 0, codename=codename, branch="stable")
    assert entries and all(e["release"]["codename"] == codename and e["release"]["branch"] == "stable"
                           for e in entries)
    expected = int(stack.psql("SELECT count(*) FROM change c JOIN release r ON r.id = c.release_id"
                              " JOIN device d ON d.id = r.device_id WHERE d.codename = '%s'"
                              " AND r.branch = 'stable'" % codename)[0][0])
    assert len(entries) == expected


def test_head_is_cached_with_etag(stack):
    h = head(stack)
    path = "/api/changes?after=%d" % h
    status, hdrs, _, doc = stack.get(path)
    assert status == 200 and doc == {"data": [], "next": path}
    assert hdrs["x-poll-interval"] == "60"
    status, hdrs2, body, _ = stack.get(path, headers={"If-None-Match": hdrs["etag"]})
    assert status == 304 and body == b""
    status, _, _, doc = stack.get("/api/changes?after=-1")
    assert status == 400 and doc["parameter"] == "after"


def test_log_cannot_be_altered(stack):
    before = stack.psql("SELECT count(*), max(seq) FROM change")
    # change_head moves at every commit; deleting or truncating it is refused like the log's own changes
    for sql in ("UPDATE change SET actor = 'x'", "DELETE FROM change", "TRUNCATE change", "DELETE FROM change_head",
                "TRUNCATE change_head"):
        with pytest.raises(RuntimeError, match="append-only"):
            stack.psql(sql)
    assert stack.psql("SELECT count(*), max(seq) FROM change") == before


def test_concurrent_writers_commit_order(stack):
    """Two writers x 500 changes, each change in its own transaction. Each round opens 5 transactions per
    writer, interleaved (A1 B1 A2 B2 ...), each updating one release, all held open at once; then commits
    them in a shuffled order, one COMMIT at a time (so the commit order is known). A poller follows the
    feed meanwhile and must end with exactly every change, once, in that commit order."""
    rng = random.Random(11)
    per_round, rounds = 5, 100  # per writer: 5 x 100 = 500 changes
    ids = [int(r[0]) for r in stack.psql("SELECT id FROM release ORDER BY id")]
    assert len(ids) >= 2 * per_round
    start = head(stack)
    writers = {w: [conftest.PsqlSession(stack, "%s%d" % (w, i)) for i in range(per_round)] for w in "AB"}
    seen, errors, stop = [], [], threading.Event()

    def poll():
        after, deadline = start, time.monotonic() + 300
        try:
            while time.monotonic() < deadline and len(seen) < 4000:
                status, _, _, doc = stack.get("/api/changes?after=%d&limit=100" % after)
                assert status == 200, doc
                seen.extend(doc["data"])
                if doc["data"]:
                    after = doc["data"][-1]["seq"]
                elif stop.is_set():
                    return
                else:
                    time.sleep(0.02)
        except Exception as e:  # reported by the test below
            errors.append(repr(e))

    poller = threading.Thread(target=poll)
    poller.start()
    commit_order = []
    try:
        for rnd in range(rounds):
            opened = []
            for i in range(per_round):
                for w in "AB":
                    k = len(opened)
                    rid = ids[k]  # distinct releases within a round: no row lock between open transactions
                    text = "race %s round %d change %d" % (w, rnd, i)
                    conn = writers[w][i]
                    conn.run("BEGIN; UPDATE release SET changelog = '%s' WHERE id = %d;" % (text, rid))
                    opened.append((conn, rid, text))
            rng.shuffle(opened)
            for conn, rid, text in opened:
                conn.run("COMMIT;")
                commit_order.append((rid, text))
    finally:
        stop.set()
        for group in writers.values():
            for conn in group:
                conn.close()
        poller.join(timeout=120)
    assert not poller.is_alive(), "the poller did not finish"
    assert not errors, errors
    assert len(commit_order) == 2 * per_round * rounds
    got = [(e["release"]["id"], e["fields"]["changelog"]["new"]) for e in seen]
    seqs = [e["seq"] for e in seen]
    assert len(set(seqs)) == len(seqs), "a change was seen twice"
    assert seqs == sorted(seqs)
    assert got == commit_order
    # the numbers are those of a gapless sequence from the head the test started at
    assert seqs == list(range(start + 1, start + 1 + len(commit_order)))
