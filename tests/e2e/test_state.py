"""The state writes of issue 11 over nginx: DELETE /api/releases/{id} (withdraw), POST /api/releases/{id}/restore,
PUT /api/devices/{codename}/variants/{variant}, and GET /api/audit. Each success, each refusal with the database
unchanged afterwards (a digest of every data table and of the change log before and after), the change feed and
the audit naming the token, and the write visible on every worker right after its answer.

Expected values come from what the test sent and from the database, never from the program's earlier answers."""

import json
import re
import threading
import time
import urllib.parse

import pytest

import conftest


# every_worker_answers counts the workers by their request lines
SETTINGS = {"log_level": "debug"}

# every table a write may change, the change log included (api_token is left out: a request's token use is
# recorded there at most once a minute, whatever it asks)
TABLES = ["device", "variant", "display_name", "release", "release_name", "change", "change_head", "data_version"]


def send(stack, method, path, body=None, headers=None):
    """One request through nginx, checked against openapi.yaml; returns (status, headers, doc or None)."""
    status, headers, _, doc = stack.get(path, headers, method=method, body=body)
    return status, headers, doc


def new_token(stack, name, scope):
    r = stack.romtrack("token", "add", name, "--scope", scope)
    assert r.returncode == 0, r.stderr
    secret = re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout)
    assert secret, r.stdout
    return secret.group(0)


@pytest.fixture(scope="module")
def tokens(stack):
    return {
        "releases": new_token(stack, "state-releases", "releases:write"),
        "devices": new_token(stack, "state-devices", "devices:write"),
        "audit": new_token(stack, "state-audit", "audit:read"),
    }


def bearer(secret, **more):
    return dict({"Authorization": "Bearer " + secret}, **more)


def dump(stack):
    """A digest of every row of every data table, in a fixed order."""
    return {t: stack.psql("SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), ''))"
                          " FROM %s x" % t)[0] for t in TABLES}


def head(stack):
    return int(stack.psql("SELECT seq FROM change_head")[0][0])


def feed(stack, after):
    status, _, _, doc = stack.get("/api/changes?after=%d&limit=500" % after)
    assert status == 200, doc
    return doc["data"]


def newest_release(stack):
    """A release that is its group's newest (so latest lists it), with what the reads need."""
    status, _, _, doc = stack.get("/api/releases/latest?limit=500")
    assert status == 200 and doc["data"]
    rel = doc["data"][0]
    return rel


def listed(stack, rel):
    """Where the release is listed: every read that lists releases."""
    c = rel["codename"]
    found = {}
    for path in ("/api/releases?codename=%s&limit=500" % c, "/api/devices/%s/releases?limit=500" % c,
                 "/api/devices/%s/latest" % c, "/api/releases/latest?limit=500"):
        status, _, _, doc = stack.get(path)
        assert status == 200, (path, doc)
        found[path] = any(x["id"] == rel["id"] for x in doc["data"])
    for path in ("/api/devices/%s/feed.atom?limit=100" % c, "/api/feed.atom?codename=%s&limit=100" % c):
        status, _, body, _ = stack.get(path)
        assert status == 200
        found[path] = ('/api/releases/%d"' % rel["id"]).encode() in body
    return found


def assert_problem(status, headers, doc, expected, slug):
    assert status == expected, (status, doc)
    assert headers["content-type"] == "application/problem+json"
    assert doc["type"] == "urn:romtrack:problem:" + slug and doc["status"] == expected, doc


# --- withdraw and restore -------------------------------------------------------------------------------------

def test_withdraw_then_restore(stack, tokens):
    rel = newest_release(stack)
    path = "/api/releases/%d" % rel["id"]
    assert all(listed(stack, rel).values())
    before = head(stack)

    status, hdrs, doc = send(stack, "DELETE", path, {"reason": "pulled by Xiaomi"}, bearer(tokens["releases"]))
    assert status == 204 and doc is None, doc
    assert hdrs["cache-control"] == "no-store"
    # every worker answers 410 at once, with who and why
    _, results = stack.every_worker_answers(lambda: stack.get(path))
    for status, hdrs, _, doc in results:
        assert status == 410, doc
        assert doc["withdrawn_by"] == "token:state-releases" and doc["reason"] == "pulled by Xiaomi"
    _, results = stack.every_worker_answers(
        lambda: stack.get("/api/devices/%s/releases?limit=500" % rel["codename"])[3])
    assert all(rel["id"] not in [x["id"] for x in doc["data"]] for doc in results)
    status, _, _, doc = stack.get("/api/releases/by-filename/%s" % rel["filename"])
    assert status == 410 and doc["withdrawn_by"] == "token:state-releases" and doc["reason"] == "pulled by Xiaomi"
    assert not any(listed(stack, rel).values())
    assert stack.psql("SELECT withdrawn_by, withdraw_reason FROM release WHERE id = %d" % rel["id"]) == [
        ("token:state-releases", "pulled by Xiaomi")]

    # again: 410 with the first withdrawal's members, nothing written
    state = dump(stack)
    status, hdrs, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"]))
    assert_problem(status, hdrs, doc, 410, "gone")
    assert doc["withdrawn_by"] == "token:state-releases" and doc["reason"] == "pulled by Xiaomi"
    assert dump(stack) == state

    status, hdrs, doc = send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))
    assert status == 200, doc
    got = stack.get(path)
    assert got[0] == 200 and doc == got[3] and hdrs["etag"] == got[1]["etag"]
    assert doc == rel
    assert all(listed(stack, rel).values())
    assert stack.psql("SELECT withdrawn_at, withdrawn_by, withdraw_reason FROM release WHERE id = %d"
                      % rel["id"]) == [(None, None, None)]

    # restoring a live release: 409, nothing written
    state = dump(stack)
    status, hdrs, doc = send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))
    assert_problem(status, hdrs, doc, 409, "conflict")
    assert dump(stack) == state

    entries = feed(stack, before)
    assert [(e["kind"], e["actor"], e["via"], e["release"]["id"]) for e in entries] == [
        ("withdrawn", "token:state-releases", "DELETE /api/releases/{id}", rel["id"]),
        ("restored", "token:state-releases", "POST /api/releases/{id}/restore", rel["id"]),
    ]


def test_withdraw_without_body_has_no_reason(stack, tokens):
    rel = newest_release(stack)
    path = "/api/releases/%d" % rel["id"]
    status, _, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"]))
    assert status == 204, doc
    status, _, _, doc = stack.get(path)
    assert status == 410 and doc["reason"] is None and doc["withdrawn_by"] == "token:state-releases"
    assert send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))[0] == 200
    # a null reason is no reason too
    assert send(stack, "DELETE", path, {"reason": None}, bearer(tokens["releases"]))[0] == 204
    assert stack.get(path)[3]["reason"] is None
    assert send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))[0] == 200


def test_if_match(stack, tokens):
    rel = newest_release(stack)
    path = "/api/releases/%d" % rel["id"]
    status, hdrs, _, _ = stack.get(path)
    etag = hdrs["etag"]
    state = dump(stack)
    for wrong in ('"0000000000000000"', "W/" + etag):
        status, hdrs, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"], **{"If-Match": wrong}))
        assert_problem(status, hdrs, doc, 412, "precondition-failed")
    assert dump(stack) == state
    # the release changes: the ETag read before no longer holds
    md5 = stack.psql("SELECT md5 FROM release WHERE id = %d" % rel["id"])[0][0]
    other = "0123456789abcdef0123456789abcdef" if md5 != "0123456789abcdef0123456789abcdef" else "f" * 32
    stack.psql("UPDATE release SET md5 = '%s' WHERE id = %d" % (other, rel["id"]))
    state = dump(stack)
    status, hdrs, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"], **{"If-Match": etag}))
    assert_problem(status, hdrs, doc, 412, "precondition-failed")
    assert dump(stack) == state
    fresh = stack.get(path)[1]["etag"]
    assert fresh != etag
    status, _, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"], **{"If-Match": fresh}))
    assert status == 204, doc
    assert send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))[0] == 200
    status, _, doc = send(stack, "DELETE", path, None, bearer(tokens["releases"], **{"If-Match": "*"}))
    assert status == 204, doc
    assert send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))[0] == 200
    stack.psql("UPDATE release SET md5 = %s WHERE id = %d" % ("NULL" if md5 is None else "'%s'" % md5, rel["id"]))


def release_refusals(tokens, rid):
    path = "/api/releases/%d" % rid
    json_h = {"Content-Type": "application/json"}
    return [
        ("DELETE", path, b"", {}, 401, "unauthorized"),
        ("DELETE", path, b"", {"Authorization": "Bearer rt_" + "A" * 43}, 401, "unauthorized"),
        ("DELETE", path, b"", bearer(tokens["devices"]), 403, "insufficient-scope"),
        ("DELETE", "/api/releases/999999999", b"", bearer(tokens["releases"]), 404, "release-not-found"),
        ("DELETE", "/api/releases/0", b"", bearer(tokens["releases"]), 400, "invalid-parameter"),
        ("DELETE", path, b"reason", bearer(tokens["releases"], **{"Content-Type": "text/plain"}), 415,
         "unsupported-media-type"),
        ("DELETE", path, b'{"reason": ', bearer(tokens["releases"], **json_h), 400, "bad-request"),
        ("POST", path + "/restore", b"", {}, 401, "unauthorized"),
        ("POST", path + "/restore", b"", bearer(tokens["audit"]), 403, "insufficient-scope"),
        ("POST", "/api/releases/999999999/restore", b"", bearer(tokens["releases"]), 404, "release-not-found"),
        ("POST", path + "/restore", b"", bearer(tokens["releases"]), 409, "conflict"),
    ]


def test_release_refusals_write_nothing(stack, tokens):
    rel = newest_release(stack)
    state = dump(stack)
    for method, path, body, headers, expected, slug in release_refusals(tokens, rel["id"]):
        status, hdrs, doc = send(stack, method, path, body, headers)
        assert_problem(status, hdrs, doc, expected, slug)
        if expected == 401:
            assert hdrs["www-authenticate"].startswith('Bearer realm="romtrack"')
            assert ("invalid_token" in hdrs["www-authenticate"]) == ("Authorization" in headers)
        if expected == 403:
            assert 'error="insufficient_scope"' in hdrs["www-authenticate"]
        if slug == "bad-request":
            assert doc["line"] == 1
    # 422: every broken rule, with its pointer
    status, hdrs, doc = send(stack, "DELETE", "/api/releases/%d" % rel["id"], {"reason": "x" * 501, "why": 1},
                             bearer(tokens["releases"]))
    assert_problem(status, hdrs, doc, 422, "validation-failed")
    assert sorted(e["pointer"] for e in doc["errors"]) == ["/reason", "/why"]
    status, hdrs, doc = send(stack, "DELETE", "/api/releases/%d" % rel["id"], ["no"], bearer(tokens["releases"]))
    assert_problem(status, hdrs, doc, 422, "validation-failed")
    assert [e["pointer"] for e in doc["errors"]] == [""]
    assert dump(stack) == state
    assert stack.get("/api/releases/%d" % rel["id"])[0] == 200


# --- variants -------------------------------------------------------------------------------------------------

def device_doc(stack, codename):
    status, _, _, doc = stack.get("/api/devices/%s" % codename)
    assert status == 200, doc
    return doc


def test_put_variant_creates_then_updates(stack, tokens):
    path = "/api/devices/wstatephone/variants/wstatephone_global"
    assert stack.get("/api/devices/wstatephone")[0] == 404
    before = head(stack)
    body = {"region": "global", "miui_name": "WSTATEPHONEGlobal", "names": ["Phone S Global", "Phone S+ Global"]}
    status, hdrs, doc = send(stack, "PUT", path, body, bearer(tokens["devices"]))
    assert status == 201, doc
    assert hdrs["location"] == "/api/devices/wstatephone"
    assert doc == {"codename": "wstatephone", "variants": [
        {"codename": "wstatephone_global", "region": "global", "names": ["Phone S Global", "Phone S+ Global"]}]}
    # on every worker at once
    _, results = stack.every_worker_answers(lambda: stack.get("/api/devices/wstatephone")[3])
    assert all(r == doc for r in results)
    assert stack.psql("SELECT region, miui_name, declared FROM variant WHERE codename = 'wstatephone_global'") == [
        ("global", "WSTATEPHONEGlobal", "t")]

    # the same again: 200, nothing changes, nothing logged
    state = dump(stack)
    status, hdrs, doc2 = send(stack, "PUT", path, body, bearer(tokens["devices"]))
    assert status == 200 and doc2 == doc and "location" not in hdrs
    assert dump(stack) == state

    # a new region, no MIUI name, one name less and one more
    body = {"region": "eea", "miui_name": None, "names": ["Phone S EEA", "Phone S Global"]}
    status, _, doc = send(stack, "PUT", path, body, bearer(tokens["devices"]))
    assert status == 200, doc
    assert doc["variants"] == [{"codename": "wstatephone_global", "region": "eea",
                                "names": ["Phone S EEA", "Phone S Global"]}]
    assert doc == device_doc(stack, "wstatephone")
    # a second variant of the same device, miui_name left out
    status, _, doc = send(stack, "PUT", "/api/devices/wstatephone/variants/wstatephone", {"region": "cn", "names": []},
                          bearer(tokens["devices"]))
    assert status == 201, doc
    assert [v["codename"] for v in doc["variants"]] == ["wstatephone", "wstatephone_global"]

    # the audit (API and CLI) names the token and shows old and new
    status, _, _, audit = stack.get("/api/audit?actor=token:state-devices&limit=100",
                                    headers=bearer(tokens["audit"]))
    assert status == 200, audit
    mine = [a for a in audit["data"] if a["seq"] > before]
    assert all(a["actor"] == "token:state-devices" and a["via"] == "PUT /api/devices/{codename}/variants/{variant}"
               and a["request_id"] for a in mine)
    kinds = sorted((a["kind"], a["subject"], a["variant"]) for a in mine)
    assert kinds == sorted([
        ("created", "variant", "wstatephone_global"),
        ("created", "display_name", "wstatephone_global"), ("created", "display_name", "wstatephone_global"),
        ("updated", "variant", "wstatephone_global"),
        ("created", "display_name", "wstatephone_global"), ("deleted", "display_name", "wstatephone_global"),
        ("created", "variant", "wstatephone"),
    ])
    update = [a for a in mine if a["kind"] == "updated"][0]
    assert update["fields"] == {"region": {"old": "global", "new": "eea"},
                                "miui_name": {"old": "WSTATEPHONEGlobal", "new": None}}
    deleted = [a for a in mine if a["kind"] == "deleted"][0]
    assert deleted["fields"] == {"name": {"old": "Phone S+ Global", "new": None}}
    r = stack.romtrack("audit", "--actor", "token:state-devices", "--json")
    assert r.returncode == 0, r.stderr
    cli = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a for a in cli if a["seq"] > before] == mine


def test_put_variant_while_an_import_creates_it(stack, tokens):
    """An import that creates the same device and variant commits while the PUT waits for it: the importer's
    statements (src/import.c's, with ON CONFLICT and without variant_put's advisory locks) are held open in a psql
    session until the PUT is seen waiting on them, then committed. The PUT then finds an existing variant: 200 with
    the values it sent, not a unique violation."""
    importer = conftest.PsqlSession(stack, "importer")
    try:
        importer.run("BEGIN;"
                     " INSERT INTO device (codename) VALUES ('wracephone') ON CONFLICT (codename) DO NOTHING;"
                     " INSERT INTO variant (device_id, codename, region, miui_name, declared)"
                     " SELECT id, 'wracephone', 'cn', NULL, false FROM device WHERE codename = 'wracephone'"
                     " ON CONFLICT (codename) DO NOTHING;")
        result = []
        body = {"region": "global", "miui_name": "WRACEPHONEGlobal", "names": ["Race Phone"]}
        put = threading.Thread(target=lambda: result.append(send(
            stack, "PUT", "/api/devices/wracephone/variants/wracephone", body, bearer(tokens["devices"]))))
        put.start()
        waiting, deadline = [], time.monotonic() + 20
        while not waiting and time.monotonic() < deadline:
            waiting = stack.psql("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND query LIKE '%variant_put%'")
            time.sleep(0.05)
        assert waiting, "the PUT never waited for the importer's transaction"
        importer.run("COMMIT;")
        put.join(60)
        assert result, "the PUT did not answer"
    finally:
        importer.close()
    status, _, doc = result[0]
    assert status == 200, doc
    assert doc == {"codename": "wracephone", "variants": [
        {"codename": "wracephone", "region": "global", "names": ["Race Phone"]}]}
    assert stack.psql("SELECT region, miui_name, declared FROM variant WHERE codename = 'wracephone'") == [
        ("global", "WRACEPHONEGlobal", "t")]


def test_put_variant_refusals_write_nothing(stack, tokens):
    # a variant with releases, and one of its names that releases carry
    rows = stack.psql("SELECT d.codename, v.codename, v.region, n.name FROM release_name rn"
                      " JOIN display_name n ON n.id = rn.display_name_id JOIN variant v ON v.id = n.variant_id"
                      " JOIN device d ON d.id = v.device_id ORDER BY v.codename, n.name LIMIT 1")
    device, variant, region, name = rows[0]
    other = stack.psql("SELECT codename FROM device WHERE codename <> '%s' ORDER BY codename LIMIT 1" % device)[0][0]
    foreign = stack.psql("SELECT v.codename FROM variant v JOIN device d ON d.id = v.device_id"
                         " WHERE d.codename = '%s' AND v.codename <> d.codename LIMIT 1" % device)
    good = {"region": "global", "names": ["X"]}
    path = "/api/devices/%s/variants/%s" % (device, variant)
    state = dump(stack)
    cases = [
        (path, json.dumps(good).encode(), {"Content-Type": "application/json"}, 401, "unauthorized"),
        (path, json.dumps(good).encode(), bearer(tokens["releases"], **{"Content-Type": "application/json"}), 403,
         "insufficient-scope"),
        (path, b"region: global", bearer(tokens["devices"], **{"Content-Type": "application/yaml"}), 415,
         "unsupported-media-type"),
        (path, b"", bearer(tokens["devices"]), 400, "bad-request"),
        ("/api/devices/%s/variants/bad-name" % device, json.dumps(good).encode(),
         bearer(tokens["devices"], **{"Content-Type": "application/json"}), 400, "invalid-parameter"),
        # the variant belongs to another device
        ("/api/devices/%s/variants/%s" % (other, variant), json.dumps(good).encode(),
         bearer(tokens["devices"], **{"Content-Type": "application/json"}), 409, "conflict"),
        # a name releases carry cannot go
        (path, json.dumps({"region": region, "names": []}).encode(),
         bearer(tokens["devices"], **{"Content-Type": "application/json"}), 409, "conflict"),
    ]
    if foreign:  # a variant codename is no device
        cases.append(("/api/devices/%s/variants/newone" % foreign[0][0], json.dumps(good).encode(),
                      bearer(tokens["devices"], **{"Content-Type": "application/json"}), 409, "conflict"))
    for p, body, headers, expected, slug in cases:
        status, hdrs, doc = send(stack, "PUT", p, body, headers)
        assert_problem(status, hdrs, doc, expected, slug)
        if expected == 409 and p == path:
            assert json.dumps(name) in doc["detail"]
    # every broken rule at once, each at its pointer
    bad = {"region": "mars", "miui_name": "has space", "names": ["ok", 3, "", "ok", "x" * 201], "colour": "red"}
    status, hdrs, doc = send(stack, "PUT", path, bad, bearer(tokens["devices"]))
    assert_problem(status, hdrs, doc, 422, "validation-failed")
    assert sorted(e["pointer"] for e in doc["errors"]) == sorted(
        ["/colour", "/region", "/miui_name", "/names/1", "/names/2", "/names/3", "/names/4"])
    status, hdrs, doc = send(stack, "PUT", path, {}, bearer(tokens["devices"]))
    assert_problem(status, hdrs, doc, 422, "validation-failed")
    assert sorted(e["pointer"] for e in doc["errors"]) == ["/names", "/region"]
    assert dump(stack) == state


# --- the audit ------------------------------------------------------------------------------------------------

def test_audit_route(stack, tokens):
    rel = newest_release(stack)
    path = "/api/releases/%d" % rel["id"]
    assert send(stack, "DELETE", path, {"reason": "bad build"}, bearer(tokens["releases"]))[0] == 204
    assert send(stack, "POST", path + "/restore", None, bearer(tokens["releases"]))[0] == 200
    audit_path = "/api/audit?release=%d" % rel["id"]
    status, hdrs, _, doc = stack.get(audit_path, headers=bearer(tokens["audit"]))
    assert status == 200, doc
    assert hdrs["cache-control"] == "no-cache"
    top = doc["data"][:2]
    assert [(a["kind"], a["actor"], a["reason"]) for a in top] == [
        ("restored", "token:state-releases", None), ("withdrawn", "token:state-releases", "bad build")]
    r = stack.romtrack("audit", "--release", str(rel["id"]), "--limit", "2", "--json")
    assert [json.loads(line) for line in r.stdout.splitlines()] == top
    # no token, another scope: refused, also right after an authorized answer (never from a cache)
    status, hdrs, _, doc = stack.get(audit_path)
    assert status == 401 and hdrs["www-authenticate"].startswith('Bearer realm="romtrack"'), doc
    status, hdrs, _, doc = stack.get(audit_path, headers=bearer(tokens["releases"]))
    assert status == 403 and 'scope="audit:read"' in hdrs["www-authenticate"], doc
    # keyset pages, newest first, and exactly the database's entries
    expected = [int(r[0]) for r in stack.psql("SELECT seq FROM change WHERE actor = 'token:state-releases'"
                                              " ORDER BY seq DESC")]
    seqs, page = [], "/api/audit?actor=token:state-releases&limit=2"
    for _ in range(100):
        status, _, _, doc = stack.get(page, headers=bearer(tokens["audit"]))
        assert status == 200, doc
        seqs += [a["seq"] for a in doc["data"]]
        if doc["next"] is None:
            break
        page = doc["next"]
        assert urllib.parse.urlsplit(page).path == "/api/audit"
    assert seqs == expected
    status, _, _, doc = stack.get("/api/audit?release=x", headers=bearer(tokens["audit"]))
    assert status == 400 and doc["parameter"] == "release"


def test_preflights_list_the_writes(stack):
    for path, allow in (("/api/releases/1", "GET, HEAD, OPTIONS, PATCH, DELETE"), ("/api/releases/1/restore", "OPTIONS, POST"),
                        ("/api/devices/x/variants/x_global", "OPTIONS, PUT"), ("/api/audit", "GET, HEAD, OPTIONS")):
        status, hdrs, _, _ = stack.get(path, method="OPTIONS", headers={
            "Origin": "https://example.org", "Access-Control-Request-Method": allow.split(", ")[-1],
            "Access-Control-Request-Headers": "authorization, content-type, if-match"})
        assert status == 204 and hdrs["allow"] == allow and hdrs["access-control-allow-methods"] == allow
        assert {"authorization", "content-type", "if-match"} <= {
            h.strip().lower() for h in hdrs["access-control-allow-headers"].split(",")}
