"""The writes through the import pipeline over nginx (issue 11): POST /api/releases, POST /api/imports and
PATCH /api/releases/{id}. Their successes (201 with Location, the import report, the same database as the CLI's
import), every refusal with the data unchanged afterwards, and PATCH's If-Match with the ETag a GET gave, its
audit and its change feed entry. Every answer is checked against openapi.yaml."""

import email.utils
import json
import os
import re
import subprocess

import pytest

import conftest

SEEDS = ["tests/data/pages/valid/cancro-weekly-7.3.23.md", "tests/data/pages/valid/gemini-weekly-7.3.23.md"]
DEVICES = "data/sample/devices.yml"
IMPORT_FILES = [DEVICES]  # the seed pages arrive over HTTP
SETTINGS = {"log_level": "debug"}  # every_worker_answers counts the request lines

LIMIT = 1024 * 1024  # max_body_kb's default

# Every stored value of every release, variant and display name, without ids and timestamps (as
# test_import.py's DUMP_SQL, and without newest, whose last part is the id): two databases that give the same dump
# hold the same data.
DUMP_SQL = """SELECT json_build_object(
 'releases', (SELECT json_agg(to_jsonb(r) - 'id' - 'variant_id' - 'device_id' - 'modified_at' - 'newest'
     || jsonb_build_object('variant', v.codename, 'device', d.codename,
         'names', (SELECT json_agg(n.name ORDER BY n.name) FROM release_name rn
                   JOIN display_name n ON n.id = rn.display_name_id WHERE rn.release_id = r.id))
     ORDER BY r.filename)
   FROM release r JOIN variant v ON v.id = r.variant_id JOIN device d ON d.id = r.device_id),
 'variants', (SELECT json_agg(to_jsonb(v) - 'id' - 'device_id' || jsonb_build_object('device', d.codename)
     ORDER BY v.codename) FROM variant v JOIN device d ON d.id = v.device_id),
 'names', (SELECT json_agg(json_build_array(v.codename, n.name, n.declared) ORDER BY v.codename, n.name)
   FROM display_name n JOIN variant v ON v.id = n.variant_id))"""
# Everything a write could touch, ids and times included, and the audit/change log: a refusal leaves it as it was.
FULL_SQL = """SELECT json_build_object(
 'release', (SELECT json_agg(r ORDER BY r.id) FROM release r),
 'release_name', (SELECT json_agg(x ORDER BY x.release_id, x.display_name_id) FROM release_name x),
 'display_name', (SELECT json_agg(x ORDER BY x.id) FROM display_name x),
 'variant', (SELECT json_agg(x ORDER BY x.id) FROM variant x),
 'device', (SELECT json_agg(x ORDER BY x.id) FROM device x),
 'change', (SELECT json_agg(x ORDER BY x.seq) FROM change x))"""


def send(stack, method, path, body=None, headers=None):
    """One request through nginx (no Accept-Encoding: ETags stay strong), checked against openapi.yaml; returns
    (status, headers, doc)."""
    status, headers, _, doc = stack.get(path, headers, method=method, body=body, timeout=60)
    return status, headers, doc


def db_json(stack, sql, dbname="romtrack"):
    out = subprocess.run([conftest.PSQL, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                          "-p", str(stack.pg_port), "-U", "romtrack", "-d", dbname, "-c", sql],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def full_dump(stack):
    return db_json(stack, FULL_SQL)


def secret_of(stack, name, scope):
    r = stack.romtrack("token", "add", name, "--scope", scope)
    assert r.returncode == 0, r.stderr
    return re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout).group(0)


@pytest.fixture(scope="module")
def token(stack):
    return secret_of(stack, "wpipe-writer", "releases:write")


def auth(token, ctype="application/json", **more):
    return dict({"Authorization": "Bearer " + token, "Content-Type": ctype}, **more)


def as_input(release):
    """A release as reads return it, as a body may send it: without what romtrack derives."""
    return {k: v for k, v in release.items() if k not in ("id", "region", "warnings")}


def cli_database(stack, name, *files):
    """A fresh database of the test's PostgreSQL with `romtrack import` of files (paths in the repository)."""
    stack.psql("DROP DATABASE IF EXISTS %s" % name)
    stack.psql("CREATE DATABASE %s" % name)
    config = os.path.join(stack.tmpdir, name + ".yaml")
    with open(config, "w") as f:
        f.write("database: \"host=127.0.0.1 port=%d dbname=%s user=romtrack\"\n" % (stack.pg_port, name))
        f.write("migrations: %s\n" % json.dumps(os.path.join(conftest.REPO, "sql")))
    for step in (["migrate"], ["import", "--json"] + [os.path.join(conftest.REPO, f) for f in files]):
        r = subprocess.run([conftest.ROMTRACK_BIN, "-c", config, *step], capture_output=True, text=True,
                           timeout=300, env=conftest._child_env())
        assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def seed_releases(stack):
    status, _, doc = send(stack, "GET", "/api/releases?codename=cancro,gemini&limit=100")
    assert status == 200
    return doc["data"]


NEW = "miui_MI3WMI4WGlobal_7.3.30_0123456789_6.0.zip"


def new_release(stack, filename=NEW, version="7.3.30"):
    """A cancro seed release moved to another version and file name: a release the database does not have."""
    base = next(r for r in seed_releases(stack) if r["codename"] == "cancro")
    return dict(as_input(base), version=version, filename=filename, md5=None,
                links=["https://bigota.d.miui.com/%s/%s" % (version, filename)], incremental=None)


# --- successes ------------------------------------------------------------------------------------------------

def test_seed_pages_through_imports_give_the_cli_database(stack, token):
    """The seed pages sent as text/markdown give the database `romtrack import` of the files gives; again, nothing
    changes."""
    cli = cli_database(stack, "wpipe_cli", DEVICES, *SEEDS)
    reports = []
    for seed in SEEDS:
        with open(os.path.join(conftest.REPO, seed), "rb") as f:
            status, headers, doc = send(stack, "POST", "/api/imports", f.read(), auth(token, "text/markdown"))
        assert status == 200, doc
        assert headers["cache-control"] == "no-store"
        reports.append(doc)
    assert sum(r["inserted"] for r in reports) == cli["inserted"] == 8
    assert [r["files"] for r in reports] == [1, 1]
    mine, theirs = db_json(stack, DUMP_SQL), db_json(stack, DUMP_SQL, "wpipe_cli")
    for a, b in zip(mine["releases"], theirs["releases"]):
        assert a == b, {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert mine == theirs
    with open(os.path.join(conftest.REPO, SEEDS[0]), "rb") as f:
        status, _, doc = send(stack, "POST", "/api/imports", f.read(), auth(token, "text/markdown; charset=utf-8"))
    assert status == 200 and (doc["inserted"], doc["updated"], doc["unchanged"], doc["changes"]) == (0, 0, 4, [])


def test_the_same_releases_as_json_give_the_same_database(stack, token):
    """The 8 seed releases, removed by hand and sent back as JSON through POST /api/releases: the same database;
    sent again, all unchanged (idempotent by file name)."""
    # the variant left to the names, as a page leaves it (given, it is a stronger evidence than a page's)
    releases = [{k: v for k, v in as_input(r).items() if k != "variant"} for r in seed_releases(stack)]
    assert len(releases) == 8
    before = db_json(stack, DUMP_SQL)
    stack.psql("DELETE FROM release_name; DELETE FROM release")
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps({"data": releases}), auth(token))
    assert status == 200, doc
    assert (doc["releases"], doc["inserted"], doc["updated"]) == (8, 8, 0)
    assert db_json(stack, DUMP_SQL) == before
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps({"data": releases}), auth(token))
    assert status == 200 and (doc["inserted"], doc["updated"], doc["unchanged"]) == (0, 0, 8), doc
    assert db_json(stack, DUMP_SQL) == before


def test_one_new_release_201_and_every_worker_sees_it(stack, token):
    body = new_release(stack)
    status, headers, doc = send(stack, "POST", "/api/releases", json.dumps(body), auth(token))
    assert status == 201, doc
    (rid,) = stack.psql("SELECT id FROM release WHERE filename = '%s'" % NEW)[0]
    assert headers["location"] == "/api/releases/%s" % rid
    status, get_headers, got = send(stack, "GET", headers["location"])
    assert status == 200 and got == doc and headers["etag"] == get_headers["etag"]
    assert {k: doc[k] for k in body} == body
    # the audit names the token and the route
    assert stack.psql("SELECT actor, via, kind FROM change WHERE release_id = %s" % rid) == [
        ("token:wpipe-writer", "POST /api/releases", "created")]

    def read():
        status, _, page = send(stack, "GET", "/api/devices/cancro/releases?limit=100")
        return status == 200 and NEW in [r["filename"] for r in page["data"]]
    _, results = stack.every_worker_answers(read)
    assert all(results)
    # the same again: the report, unchanged
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps(body), auth(token))
    assert status == 200 and (doc["inserted"], doc["unchanged"]) == (0, 1), doc


def test_a_batch_of_100(stack, token):
    batch = [new_release(stack, "miui_MI3WMI4WGlobal_8.1.%d_6.0.zip" % i, "8.1.%d" % i) for i in range(100)]
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps({"data": batch}), auth(token))
    assert status == 200 and (doc["releases"], doc["inserted"]) == (100, 100), doc
    assert len(doc["inserted_releases"]) == 100
    stored = db_json(stack, "SELECT json_agg(json_build_object('id', id, 'filename', filename) ORDER BY filename)"
                            " FROM release WHERE filename LIKE 'miui_MI3WMI4WGlobal_8.1.%'")
    assert doc["inserted_releases"] == stored


# --- PATCH ------------------------------------------------------------------------------------------------------

def release_id(stack, filename):
    return int(stack.psql("SELECT id FROM release WHERE filename = '%s'" % filename)[0][0])


def test_patch_md5_and_branch_with_the_etag_of_a_get(stack, token):
    rid = release_id(stack, NEW)
    path = "/api/releases/%d" % rid
    # a Stable first (the import's rules never demote one; a maintainer's correction does)
    status, _, doc = send(stack, "PATCH", path, '{"branch": "stable"}', auth(token, "application/merge-patch+json"))
    assert status == 200 and doc["branch"] == "stable", doc
    status, headers, before = send(stack, "GET", path)
    assert status == 200
    etag = headers["etag"]
    md5 = "0123456789" + "ab" * 11
    demoted = "stable-beta"
    seq = int(stack.psql("SELECT coalesce(max(seq), 0) FROM change")[0][0])
    status, headers, doc = send(stack, "PATCH", path, json.dumps({"md5": md5, "branch": demoted, "changelog": None}),
                                auth(token, "application/merge-patch+json", **{"If-Match": etag}))
    assert status == 200, doc
    expected = dict(before, md5=md5, branch=demoted, changelog=None)
    assert {k: v for k, v in doc.items() if k != "warnings"} == {k: v for k, v in expected.items() if k != "warnings"}
    status, get_headers, got = send(stack, "GET", path)
    assert got == doc and get_headers["etag"] == headers["etag"] != etag
    # the old ETag no longer holds: 412, nothing written
    dump = full_dump(stack)
    status, headers, doc = send(stack, "PATCH", path, json.dumps({"md5": None}),
                                auth(token, "application/merge-patch+json", **{"If-Match": etag}))
    assert status == 412 and doc["type"] == "urn:romtrack:problem:precondition-failed"
    assert full_dump(stack) == dump
    # the change feed and the audit name the token and the route
    status, _, feed = send(stack, "GET", "/api/changes?after=%d" % seq)
    mine = [c for c in feed["data"] if c["release"].get("id") == rid]
    assert len(mine) == 1 and mine[0]["kind"] == "updated", feed
    assert (mine[0]["actor"], mine[0]["via"]) == ("token:wpipe-writer", "PATCH /api/releases/{id}")
    assert {"md5", "branch", "changelog"} <= set(mine[0]["fields"])
    r = stack.romtrack("audit", "--json", "--release", str(rid))
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    patched = [e for e in entries if e["via"] == "PATCH /api/releases/{id}"]
    assert patched and patched[0]["actor"] == "token:wpipe-writer"
    assert patched[0]["fields"]["md5"]["new"] == md5


def test_patch_incremental_url_and_size(stack, token):
    rid = release_id(stack, NEW)
    path = "/api/releases/%d" % rid
    url = "https://bigota.d.miui.com/7.3.30/miui-blockota-cancro-7.3.23-7.3.30-0123456789-6.0.zip"
    status, _, doc = send(stack, "PATCH", path, json.dumps({"incremental": {"url": url}, "size": 12345678}),
                          auth(token, "application/merge-patch+json"))
    assert status == 200, doc
    assert doc["size"] == 12345678 and doc["incremental"]["url"] == url
    assert doc["incremental"]["filename"] == url.rsplit("/", 1)[1]
    status, _, doc = send(stack, "PATCH", path, json.dumps({"incremental": None}),
                          auth(token, "application/merge-patch+json"))
    assert status == 200 and doc["incremental"] is None, doc


def test_patch_of_names_alone_moves_last_modified(stack, token):
    """Names are part of a release's document (and of its ETag), so a PATCH of its names alone is a change:
    Last-Modified moves to a later second (sql/008), a client revalidating with the old date gets the new names,
    and a DELETE holding the old ETag gets 412. The release came from a seed page (its variant settled by the page
    alone), so the PATCH also settles its variant more firmly: that bookkeeping must not swallow the move."""
    rid = int(stack.psql("SELECT r.id FROM release r JOIN release_name rn ON rn.release_id = r.id"
                         " WHERE r.filename LIKE 'miui_MI3WMI4WGlobal_7.3.23_%' LIMIT 1")[0][0])
    path = "/api/releases/%d" % rid
    status, headers, before = send(stack, "GET", path)
    assert status == 200, before
    modified, etag = headers["last-modified"], headers["etag"]
    names = before["names"] + ["MI 3 / Mi 4 Global (renamed)"]
    status, _, doc = send(stack, "PATCH", path, json.dumps({"names": names}),
                          auth(token, "application/merge-patch+json", **{"If-Match": etag}))
    assert status == 200 and sorted(doc["names"]) == sorted(names), doc
    status, headers, after = send(stack, "GET", path, headers={"If-Modified-Since": modified})
    assert status == 200, "a names-only change left Last-Modified at %s" % modified
    assert email.utils.parsedate_to_datetime(headers["last-modified"]) > email.utils.parsedate_to_datetime(modified)
    assert sorted(after["names"]) == sorted(names)
    refused(stack, "DELETE", path, None, {"Authorization": "Bearer " + token, "If-Match": etag}, 412,
            "precondition-failed")


# --- refusals, each with the data unchanged -------------------------------------------------------------------

def refused(stack, method, path, body, headers, status, slug):
    dump = full_dump(stack)
    got, hdrs, doc = send(stack, method, path, body, headers)
    assert got == status, (got, doc)
    assert hdrs["content-type"] == "application/problem+json"
    assert doc["type"] == "urn:romtrack:problem:" + slug and doc["status"] == status, doc
    assert full_dump(stack) == dump
    return hdrs, doc


def test_malformed_json_400_with_line_and_column(stack, token):
    for method, path, ctype in (("POST", "/api/releases", "application/json"),
                                ("PATCH", "/api/releases/%d" % release_id(stack, NEW), "application/merge-patch+json")):
        _, doc = refused(stack, method, path, '{"data": [\n {"version": "1",,}\n]}', auth(token, ctype), 400,
                         "bad-request")
        assert (doc["line"], doc["column"]) == (2, 18), doc


def test_without_a_token_401_and_bad_token_401(stack, token):
    body = json.dumps(new_release(stack, "miui_MI3WMI4WGlobal_9.9.9_6.0.zip", "9.9.9"))
    for path in ("/api/releases", "/api/imports"):
        hdrs, _ = refused(stack, "POST", path, body, {"Content-Type": "application/json"}, 401, "unauthorized")
        assert hdrs["www-authenticate"] == 'Bearer realm="romtrack"'
        hdrs, _ = refused(stack, "POST", path, body, auth("rt_" + "A" * 43), 401, "unauthorized")
        assert hdrs["www-authenticate"] == 'Bearer realm="romtrack", error="invalid_token"'
    hdrs, _ = refused(stack, "PATCH", "/api/releases/%d" % release_id(stack, NEW), '{"md5": null}',
                      {"Content-Type": "application/merge-patch+json"}, 401, "unauthorized")


def test_a_token_without_the_scope_403(stack):
    other = secret_of(stack, "wpipe-devices", "devices:write")
    body = json.dumps(new_release(stack, "miui_MI3WMI4WGlobal_9.9.9_6.0.zip", "9.9.9"))
    hdrs, _ = refused(stack, "POST", "/api/releases", body, auth(other), 403, "insufficient-scope")
    assert 'error="insufficient_scope"' in hdrs["www-authenticate"] and 'scope="releases:write"' in hdrs[
        "www-authenticate"]


def test_patch_of_an_unknown_id_404(stack, token):
    refused(stack, "PATCH", "/api/releases/999999", '{"md5": null}', auth(token, "application/merge-patch+json"),
            404, "release-not-found")


def test_withdrawn_409_on_post_410_on_patch(stack, token):
    body = new_release(stack, "miui_MI3WMI4WGlobal_7.3.31_6.0.zip", "7.3.31")
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps(body), auth(token))
    assert status == 201, doc
    rid = doc["id"]
    stack.psql("UPDATE release SET withdrawn_at = now(), withdrawn_by = 'token:someone', withdraw_reason = 'pulled'"
               " WHERE id = %d" % rid)
    try:
        _, doc = refused(stack, "POST", "/api/releases", json.dumps(dict(body, md5="f" * 32)), auth(token), 409,
                         "conflict")
        assert body["filename"] in doc["detail"] and "restore it first" in doc["detail"]
        # in a batch too, all or nothing
        other = new_release(stack, "miui_MI3WMI4WGlobal_7.3.32_6.0.zip", "7.3.32")
        refused(stack, "POST", "/api/releases", json.dumps({"data": [other, body]}), auth(token), 409, "conflict")
        _, doc = refused(stack, "PATCH", "/api/releases/%d" % rid, '{"md5": null}',
                         auth(token, "application/merge-patch+json"), 410, "gone")
        assert (doc["withdrawn_by"], doc["reason"]) == ("token:someone", "pulled")
    finally:
        stack.psql("UPDATE release SET withdrawn_at = NULL, withdrawn_by = NULL, withdraw_reason = NULL"
                   " WHERE id = %d" % rid)


def test_if_match_on_post(stack, token):
    body = new_release(stack)
    status, headers, _ = send(stack, "GET", "/api/releases/%d" % release_id(stack, NEW))
    refused(stack, "POST", "/api/releases", json.dumps(dict(body, md5="e" * 32)),
            auth(token, **{"If-Match": '"0000000000000000"'}), 412, "precondition-failed")
    status, _, doc = send(stack, "POST", "/api/releases", json.dumps(body), auth(token, **{"If-Match": headers["etag"]}))
    assert status == 200, doc


def test_patch_if_match_mismatch_412(stack, token):
    refused(stack, "PATCH", "/api/releases/%d" % release_id(stack, NEW), '{"md5": null}',
            auth(token, "application/merge-patch+json", **{"If-Match": '"0123456789abcdef"'}), 412,
            "precondition-failed")


def test_over_max_body_kb_413_from_nginx(stack, token):
    for method, path in (("POST", "/api/releases"), ("POST", "/api/imports"),
                         ("PATCH", "/api/releases/%d" % release_id(stack, NEW))):
        big = '{"changelog": "%s"}' % ("x" * LIMIT)
        refused(stack, method, path, big, auth(token, "application/merge-patch+json"), 413, "payload-too-large")


def test_other_content_types_415(stack, token):
    hdrs, doc = refused(stack, "POST", "/api/releases", "{}", auth(token, "text/plain"), 415, "unsupported-media-type")
    assert hdrs["accept-post"] == "application/json"
    hdrs, doc = refused(stack, "POST", "/api/imports", "x", auth(token, "text/plain"), 415, "unsupported-media-type")
    assert hdrs["accept-post"] == "text/markdown, text/html, application/yaml, application/json"
    hdrs, doc = refused(stack, "PATCH", "/api/releases/%d" % release_id(stack, NEW), "{}", auth(token), 415,
                        "unsupported-media-type")
    assert hdrs["accept-patch"] == "application/merge-patch+json"


def test_every_broken_rule_422_with_its_pointer(stack, token):
    good = new_release(stack, "miui_MI3WMI4WGlobal_7.3.40_6.0.zip", "7.3.40")
    bad = dict(good, md5="not an md5")
    worse = dict(good, bogus=1, size="967.5 MB", id=3)
    _, doc = refused(stack, "POST", "/api/releases", json.dumps({"data": [good, bad, worse]}), auth(token), 422,
                     "validation-failed")
    pointers = sorted(e["pointer"] for e in doc["errors"])
    assert pointers == ["/data/1/md5", "/data/2/bogus", "/data/2/id", "/data/2/size"], doc
    # one release: pointers at its members
    _, doc = refused(stack, "POST", "/api/releases", json.dumps(dict(good, date="2017-13-40")), auth(token), 422,
                     "validation-failed")
    assert [e["pointer"] for e in doc["errors"]] == ["/date"], doc
    # a page the reader refuses: at the whole body, with its line
    _, doc = refused(stack, "POST", "/api/imports", "---\ncodename: cancro\n---\nnothing\n",
                     auth(token, "text/markdown"), 422, "validation-failed")
    assert [e["pointer"] for e in doc["errors"]] == [""], doc


def test_patch_members_that_cannot_change_422(stack, token):
    path = "/api/releases/%d" % release_id(stack, NEW)
    patch = {"version": "7.3.99", "bogus": 1, "filename": "x.zip", "names": None, "md5": "zz"}
    _, doc = refused(stack, "PATCH", path, json.dumps(patch), auth(token, "application/merge-patch+json"), 422,
                     "validation-failed")
    by = {e["pointer"]: e["detail"] for e in doc["errors"]}
    assert set(by) == {"/version", "/bogus", "/filename", "/names"}, doc
    assert by["/version"].startswith("cannot be changed: ") and by["/filename"].startswith("cannot be changed: ")
    assert by["/names"].startswith("cannot be removed")
    # a correctable member with a bad value: the pipeline's check, at the same pointer
    _, doc = refused(stack, "PATCH", path, '{"md5": "zz"}', auth(token, "application/merge-patch+json"), 422,
                     "validation-failed")
    assert [e["pointer"] for e in doc["errors"]] == ["/md5"], doc
    _, doc = refused(stack, "PATCH", path, "[1]", auth(token, "application/merge-patch+json"), 422,
                     "validation-failed")
    assert [e["pointer"] for e in doc["errors"]] == [""]


def test_preflight_of_imports(stack):
    status, headers, _ = send(stack, "OPTIONS", "/api/imports",
                              headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert status == 204 and "POST" in headers["access-control-allow-methods"]
