"""Request ids and the access log (issue 13): a client's well-formed X-Request-Id, else nginx's $request_id, comes
back as X-Request-Id, names every problem (`instance`, romtrack's and nginx's own), ends every log line written
while the request is in hand, is recorded with a write's change, and is in the access log's line of the request
(JSON lines here: access_log json). The expected ids are the ones this module sends, or nginx's form (32 hex
digits); the access line's fields are checked against what the request was."""

import json
import re
import time

import pytest

SETTINGS = {"log_level": "debug", "access_log": "json"}

NGINX_ID = re.compile(r"^[0-9a-f]{32}$")


def access_lines(stack, request_id, timeout=10):
    """The access log's JSON lines of a request id (a worker writes its line as it answers)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [json.loads(line) for line in stack.full_log().splitlines()
                 if line.startswith("{") and json.loads(line).get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture(scope="module")
def writer(stack):
    r = stack.romtrack("token", "add", "ids-writer", "--scope", "releases:write")
    assert r.returncode == 0, r.stderr
    return re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout).group(0)


def test_a_clients_id_comes_back_and_names_the_problem_and_the_log_lines(stack):
    rid = "client-7f3a.01:retry-2"
    status, headers, _, doc = stack.get("/api/devices/nosuchdevice/releases?region=global", {"X-Request-Id": rid})
    assert status == 404 and headers["x-request-id"] == rid
    assert doc["instance"] == "urn:romtrack:request:" + rid
    [line] = access_lines(stack, rid)
    assert line["method"] == "GET" and line["status"] == 404
    assert line["route"] == "/api/devices/{codename}/releases" and line["path"] == "/api/devices/nosuchdevice/releases"
    assert line["token"] == "" and line["bytes"] > 0 and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line["time"])
    assert "region=global" not in json.dumps(line)  # never the query
    # the worker's own line about the request (log_level debug) names it too
    assert re.search(r" debug: GET /api/devices/nosuchdevice/releases\?region=global 404 request=%s$" % re.escape(rid),
                     stack.full_log(), re.M)


def test_a_malformed_id_is_replaced_by_nginxs(stack):
    for bad in ("has spaces in it", "x" * 129, "semi;colon"):
        status, headers, _, doc = stack.get("/api/devices/nosuchdevice", {"X-Request-Id": bad})
        assert status == 404 and NGINX_ID.match(headers["x-request-id"]), headers
        assert doc["instance"] == "urn:romtrack:request:" + headers["x-request-id"]
        assert access_lines(stack, headers["x-request-id"])
        assert bad not in stack.full_log()


def test_an_answer_without_a_problem_has_the_id_and_a_cache_outcome(stack):
    seen = []
    for n in range(3):
        rid = "cached-%d" % n
        status, headers, _, _ = stack.get("/api/devices/cancro", {"X-Request-Id": rid})
        assert status == 200 and headers["x-request-id"] == rid
        [line] = access_lines(stack, rid)
        seen.append(line["cache"])
    assert set(seen) <= {"hit", "miss"} and "miss" in seen
    status, headers, _, _ = stack.get("/api/health")
    assert status == 200 and NGINX_ID.match(headers["x-request-id"])
    [line] = access_lines(stack, headers["x-request-id"])
    assert line["cache"] == "" and line["route"] == "/api/health"  # health is never cached


def test_nginxs_own_problems_name_the_request(stack):
    # a body over client_max_body_size: nginx answers 413 itself, having read the headers
    rid = "too-large-1"
    status, headers, _, doc = stack.get("/api/imports", {"X-Request-Id": rid, "Content-Type": "application/json"},
                                        method="POST", body=b"[" + b" " * (1024 * 1024 + 16) + b"]", contract=False)
    assert status == 413 and headers["x-request-id"] == rid, (status, headers)
    assert doc["instance"] == "urn:romtrack:request:" + rid
    assert doc["type"] == "urn:romtrack:problem:payload-too-large"
    # a request line too long: nginx read no header, so the id is its own
    status, headers, _, doc = stack.get("/api/devices?" + "a" * 20000, {"X-Request-Id": "unread"}, contract=False)
    assert status == 414 and NGINX_ID.match(headers["x-request-id"]), (status, headers)
    assert doc["instance"] == "urn:romtrack:request:" + headers["x-request-id"]
    assert access_lines(stack, rid, timeout=1) == []  # romtrack never saw them


def test_a_write_records_its_id_and_its_tokens_name(stack, writer):
    rid = "withdraw-cancro-1"
    [(release_id,)] = stack.psql("SELECT r.id FROM release r JOIN device d ON d.id = r.device_id"
                                 " WHERE d.codename = 'cancro' AND r.withdrawn_at IS NULL ORDER BY r.id LIMIT 1")
    status, headers, _, doc = stack.get("/api/releases/%s" % release_id,
                                        {"Authorization": "Bearer " + writer, "X-Request-Id": rid},
                                        method="DELETE")
    assert status in (200, 204) and headers["x-request-id"] == rid, doc
    assert stack.psql("SELECT request_id, actor FROM change WHERE release_id = %s ORDER BY seq DESC LIMIT 1"
                      % release_id) == [(rid, "token:ids-writer")]
    [line] = access_lines(stack, rid)
    assert line["method"] == "DELETE" and line["token"] == "ids-writer" and line["status"] == status
    assert writer not in stack.full_log()
