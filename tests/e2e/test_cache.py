"""The response cache seen from outside: two spellings of one request share one entry, and hot answers stay cached
while 100,000 unique searches (and thousands of one-off cacheable requests) pass.

How a hit is observed: the test changes the data behind the cache's back. With ``session_replication_role = replica``
PostgreSQL fires no ordinary trigger, so the data version (sql/004_data_version.sql) stays the same and no worker
learns of the change: an answer from the cache still shows the old MD5s, an answer computed now shows the new ones.
A URL asked for the first time shows the new ones (the control), which proves the change is visible to a miss.
One worker serves (SETTINGS), so "still cached on the worker that had it" is the same as "still cached".
"""

import datetime
import os
import http.client
import threading
import time

from conftest import REPO

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]
# One worker: every request reaches the cache under test. A small bound, so that what the old cache did (keep every
# search, and empty itself when full) happens many times over within the flood below. Each worker logs every request
# it answers with its pid: how bump_version() shows that its GETs reached every worker.
SETTINGS = {"workers": 1, "response_cache_mb": 8, "log_level": "debug"}

SEARCHES = 100_000
ONE_OFF_DATES = 2_000  # /api/releases?since=<date>: cacheable, each asked once (about 140 MB of answers)
THREADS = 8
FLOOD_DEADLINE = 240.0  # a generous bound on a hang, not a speed requirement


def md5s(doc):
    """The MD5s in a list or single-release answer, in order."""
    items = doc["data"] if "data" in doc else [doc]
    return [r["md5"] for r in items]


def bump_version(stack):
    """An ordinary change (triggers fire) of a device, which may change any answer (sql/012): every worker's cache is
    invalid from the next request on. Then two GETs
    of one URL: a worker learns the new version on its first hit (a miss asks nothing), and until then a stored
    answer is filed under the old one and dropped at that hit. The second GET finds the first one's entry, so the
    worker's cache belongs to the current version afterwards. The GETs go on until every live worker has answered
    two of them (the log says who answered)."""
    stack.psql("UPDATE device SET codename = codename WHERE id = (SELECT min(id) FROM device)")
    _, statuses = stack.every_worker_answers(lambda: stack.get("/api/regions")[0], per_worker=2)
    assert statuses == [200] * len(statuses)


def change_behind_the_cache(stack, tag):
    """Gives every release a new MD5 without firing triggers: the data version does not move."""
    stack.psql("SET session_replication_role = replica; "
               "UPDATE release SET md5 = md5(id::text || '%s')" % tag)
    assert stack.psql("SELECT count(*) FROM release WHERE md5 = md5(id::text || '%s')" % tag)[0][0] != "0"


def get_json(stack, path):
    status, _, _, doc = stack.get(path)
    assert status == 200, (path, status, doc)
    return doc


def flood(stack, paths):
    """GETs every path once from THREADS keep-alive connections to nginx; returns the answers that were not 200."""
    failures = []
    lock = threading.Lock()
    deadline = time.monotonic() + FLOOD_DEADLINE

    def run(part):
        conn = None
        for path in part:
            if time.monotonic() > deadline:
                with lock:
                    failures.append((path, "flood deadline passed"))
                return
            for attempt in range(3):  # nginx closes a keep-alive connection after a number of requests
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    if resp.status != 200:
                        with lock:
                            failures.append((path, resp.status))
                    break
                except (http.client.HTTPException, OSError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 2:
                        with lock:
                            failures.append((path, repr(e)))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=run, args=(paths[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(FLOOD_DEADLINE + 60)
    assert not any(t.is_alive() for t in threads), "the flood did not end"
    return failures


def test_one_worker(stack):
    assert len(stack.worker_pids()) == 1


def test_two_spellings_share_one_entry(stack):
    bump_version(stack)
    ids = [int(r[0]) for r in stack.psql(
        "SELECT r.id FROM release r JOIN device d ON d.id = r.device_id "
        "WHERE d.codename = 'alioth' ORDER BY r.id")]
    assert ids, "the sample has alioth releases"
    canonical = {
        "/api/devices/alioth/latest?region=global": [
            "/api/devices/%61lioth/latest?region=global",
            "/api/devices/al%69%6F%74h/latest?%72egion=glob%61l",
            "/api/devices/alioth/latest?&region=global&",
        ],
        "/api/devices/alioth/releases?branch=stable&region=global": [
            "/api/devices/alioth/releases?region=global&branch=stable",
            "/api/devices/alioth/releases?limit=050&region=global&branch=st%61ble",
            "/api/devices/alioth/releases?limit=50&branch=stable&region=global",
        ],
        "/api/releases/%d" % ids[0]: ["/api/releases/%%%02X%s" % (ord(str(ids[0])[0]), str(ids[0])[1:])],
    }
    before = {path: get_json(stack, path) for path in canonical}
    for path, doc in before.items():
        assert md5s(doc), path
    change_behind_the_cache(stack, "spelling")
    # the control: a request not asked before is computed now and shows the change
    control = get_json(stack, "/api/devices/alioth/releases?branch=stable&region=global&limit=49")
    assert md5s(control) != md5s(before["/api/devices/alioth/releases?branch=stable&region=global"])
    for path, spellings in canonical.items():
        for spelling in spellings:
            assert get_json(stack, spelling) == before[path], "%s is not answered from the entry of %s" % (
                spelling, path)
    # freshness holds: an ordinary change reaches the very next answer, whatever its spelling
    bump_version(stack)
    for path, spellings in canonical.items():
        for spelling in [path] + spellings:
            assert get_json(stack, spelling) != before[path], spelling


def test_a_change_drops_only_the_answers_it_can_affect(stack):
    """A change of one device's releases drops that device's answers and every answer that is not about one device
    (lists across devices, the device list, feeds); the other devices' answers stay cached. A change of a variant
    drops everything. The rule is include/resp_cache.h's; what is cached is observed as the module says."""
    bump_version(stack)
    rows = stack.psql("SELECT d.codename, min(r.id) FROM device d JOIN release r ON r.device_id = d.id "
                      "GROUP BY d.codename ORDER BY count(*) DESC, d.codename LIMIT 2")
    (changed, changed_release), (other, _) = rows
    paths = {
        "changed": "/api/devices/%s/releases" % changed,
        "changed_latest": "/api/devices/%s/latest" % changed,
        "other": "/api/devices/%s/releases" % other,
        "other_latest": "/api/devices/%s/latest" % other,
        "across": "/api/releases?codename=%s,%s" % (changed, other),
    }
    before = {name: get_json(stack, path) for name, path in paths.items()}
    change_behind_the_cache(stack, "scoped")
    # an ordinary change of one release of the first device (its MD5 is given the value it has now)
    stack.psql("UPDATE release SET md5 = md5 WHERE id = %s" % changed_release)
    after = {name: get_json(stack, path) for name, path in paths.items()}
    for name in ("changed", "changed_latest", "across"):
        assert md5s(after[name]) != md5s(before[name]), "%s was answered from the cache" % paths[name]
    for name in ("other", "other_latest"):
        assert after[name] == before[name], "%s was dropped by a change of %s" % (paths[name], changed)
    # a variant of any device: every answer may show it
    stack.psql("UPDATE variant SET miui_name = miui_name WHERE id = (SELECT min(id) FROM variant)")
    assert md5s(get_json(stack, paths["other"])) != md5s(before["other"])


def test_a_statement_that_changes_nothing_moves_no_version(stack):
    """Re-importing what is already there changes no row, so no data version moves and every cache stays warm."""
    files = [os.path.join(REPO, f) for f in IMPORT_FILES]
    # the tests above changed data behind the importer's back: the first import puts it back, the second finds
    # nothing to do
    for expected_change in (True, False):
        version = stack.psql("SELECT version FROM data_version")[0][0]
        r = stack.romtrack("import", *files)
        assert r.returncode == 0, r.stderr
        assert (stack.psql("SELECT version FROM data_version")[0][0] != version) == expected_change
    # and a statement that matches no row
    stack.psql("UPDATE release SET md5 = md5 WHERE id < 0")
    assert stack.psql("SELECT version FROM data_version")[0][0] == version
    # the control: a change of one row does move it
    stack.psql("UPDATE release SET md5 = md5 WHERE id = (SELECT min(id) FROM release)")
    assert int(stack.psql("SELECT version FROM data_version")[0][0]) == int(version) + 1


def test_hot_answers_stay_cached_through_a_flood(stack):
    bump_version(stack)
    release_id = int(stack.psql("SELECT min(id) FROM release")[0][0])
    hot = [
        "/api/devices/alioth/latest",
        "/api/devices/alioth/releases?limit=5",
        "/api/devices/cancro/releases",
        "/api/releases?limit=10",
        "/api/releases/latest?limit=10",
        "/api/releases/%d" % release_id,
    ]
    before = {path: get_json(stack, path) for path in hot}
    for path in hot:  # hot URLs are asked for more than once
        assert get_json(stack, path) == before[path]

    searches = ["/api/devices?q=s%06d" % i for i in range(SEARCHES)]
    failures = flood(stack, searches)
    assert not failures, failures[:10]
    start = datetime.date(2000, 1, 1)
    one_offs = ["/api/releases?since=%s" % (start + datetime.timedelta(days=i)).isoformat()
                for i in range(ONE_OFF_DATES)]
    failures = flood(stack, one_offs)
    assert not failures, failures[:10]
    # the one-off answers were big enough to overflow the 8 MB bound many times
    sizes = [len(stack.get(p)[2]) for p in one_offs[:: ONE_OFF_DATES // 20]]
    assert sum(sizes) / len(sizes) * ONE_OFF_DATES > 4 * 8 * 1024 * 1024, sizes

    change_behind_the_cache(stack, "flood")
    control = get_json(stack, "/api/releases?limit=11")
    assert md5s(control)[:10] != md5s(before["/api/releases?limit=10"])
    for path in hot:
        assert get_json(stack, path) == before[path], "%s was evicted by the flood" % path
    bump_version(stack)
    for path in hot:
        assert md5s(get_json(stack, path)) != md5s(before[path]), path


def test_answers_quote_the_canonical_request(stack):
    """Spellings share an entry, so a body may quote only the canonical form of its request: the feed's id and self
    link (written out here by hand: the path with its capture, filters in table order, limit left out at 50)."""
    bump_version(stack)
    bodies = set()
    for spelling in ["/api/devices/%61lioth/feed.atom?limit=050&branch=stable",
                     "/api/devices/alioth/feed.atom?branch=st%61ble",
                     "/api/devices/alioth/feed.atom?branch=stable&limit=50"]:
        status, headers, body, _ = stack.get(spelling)
        assert status == 200 and headers["content-type"].startswith("application/atom+xml"), (spelling, status)
        bodies.add(body)
    assert len(bodies) == 1
    body = bodies.pop().decode()
    # (the self link is absolute, from the Host http.client sent; the id's "?" is percent-encoded, as a URN needs)
    assert ('<link rel="self" type="application/atom+xml" href="%s/api/devices/alioth/feed.atom?branch=stable"/>'
            % stack.base_url) in body, body[:400]
    assert "<id>urn:romtrack:feed:/api/devices/alioth/feed.atom%3Fbranch=stable</id>" in body, body[:400]
