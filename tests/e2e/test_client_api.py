"""The client API of issue 4: latest, updates, all releases, single releases, enumerations, feeds, and the
HTTP behaviour every route shares (ETag and 304, caching, CORS, negotiation, compression).

Expected answers are computed here from the database or the pages, by rules written out in Python.
"""

import datetime
import email.utils
import gzip
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

import conftest
from contract import Contract

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml", "tests/data/pages/valid"]

# Each worker logs every request it answers with its pid: how the test of every worker shows it reached them all.
SETTINGS = {"log_level": "debug"}

CONTRACT = Contract()
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def api(stack):
    """GET (or another method) through nginx; every response is checked against openapi.yaml."""

    def call(path, method="GET", headers=None):
        status, hdrs, body, doc = stack.get(path, method=method, headers=headers)
        CONTRACT.check(path, method, status, hdrs, doc)
        return status, hdrs, body, doc

    return call


BRANCHES = ["stable", "stable-beta", "weekly", "public-beta"]
TYPES = ["recovery", "fastboot"]


def rank(version):
    """The "newest" order of romtrack, in Python: grammar first, HyperOS over MIUI, then the numbers."""
    m = re.match(r"^(OS|V|A)?(\d+(?:\.\d+)+)(?:\.([A-Z]{7}|DEV))?$", version)
    if not m or (m.group(1) is None and version.count(".") != 2) or (m.group(1) and not m.group(3)):
        return (0, 0, ())
    return (1, 1 if m.group(1) == "OS" else 0, tuple(int(n) for n in m.group(2).split(".")))


def all_releases(api, path):
    items = []
    while path:
        status, headers, body, doc = api(path)
        assert status == 200, doc
        items += doc["data"]
        path = doc["next"]
    return items


# --- latest --------------------------------------------------------------------------------------------------

def plausible(release):
    """A ROM is far larger than a megabyte; a size of a few hundred bytes is an error page XFU recorded."""
    return release["size"] is None or release["size"] >= 1000000


def test_device_latest_is_newest_by_version(api):
    every = all_releases(api, "/api/devices/alioth/releases?limit=500")
    expected = {}
    for r in every:
        if not plausible(r):
            continue
        key = (r["variant"], r["branch"], r["type"])
        if key not in expected or (rank(r["version"]), r["date"] or "", r["id"]) > \
                (rank(expected[key]["version"]), expected[key]["date"] or "", expected[key]["id"]):
            expected[key] = r
    status, _, _, doc = api("/api/devices/alioth/latest")
    assert status == 200 and doc["next"] is None
    assert {(r["variant"], r["branch"], r["type"]): r["id"] for r in doc["data"]} == \
        {k: r["id"] for k, r in expected.items()}
    assert [(r["variant"], r["branch"], r["type"]) for r in doc["data"]] == sorted(
        expected, key=lambda k: (k[0], BRANCHES.index(k[1]), TYPES.index(k[2])))
    _, _, _, only = api("/api/devices/alioth/latest?region=global&branch=stable&type=recovery")
    assert [r["id"] for r in only["data"]] == [expected[("alioth_global", "stable", "recovery")]["id"]]
    status, _, _, doc = api("/api/devices/nosuchphone/latest")
    assert status == 404


def test_all_latest_pages(api, stack):
    items = all_releases(api, "/api/releases/latest?branch=stable&type=recovery&limit=7")
    keys = [(r["variant"], r["branch"], r["type"]) for r in items]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # a group whose only releases are error pages (a few hundred bytes) has no newest
    expected = stack.psql("SELECT count(DISTINCT variant_id) FROM release WHERE branch = 'stable' AND type = 'recovery'"
                          " AND (size_bytes IS NULL OR size_bytes >= 1000000)")
    assert len(items) == int(expected[0][0])


# --- updates -------------------------------------------------------------------------------------------------

def newer(every, current, region, branch="stable", type_="recovery"):
    return sorted((r for r in every if r["region"] == region and r["branch"] == branch and r["type"] == type_
                   and rank(r["version"])[0] and rank(r["version"]) > rank(current)),
                  key=lambda r: (rank(r["version"]), r["date"] or "", r["id"]), reverse=True)


def test_updates_several_versions_behind(api):
    every = all_releases(api, "/api/devices/alioth/releases?limit=500")
    current = "V12.5.3.0.RKHMIXM"
    status, _, _, doc = api("/api/devices/alioth/updates?current=" + current)
    assert status == 200
    assert doc["current"] == {"version": current, "family": "miui", "variant": "alioth_global", "region": "global",
                              "branch": "stable", "type": "recovery"}
    expected = newer(every, current, "global")
    assert expected, "the sample has newer global stable recovery ROMs for alioth"
    assert [r["id"] for r in doc["data"]] == [r["id"] for r in expected]


def test_updates_up_to_date_is_empty(api):
    _, _, _, latest = api("/api/devices/alioth/latest?region=global&branch=stable&type=recovery")
    newest = latest["data"][0]["version"]
    status, _, _, doc = api("/api/devices/alioth/updates?current=" + newest)
    assert status == 200 and doc["data"] == [] and doc["incremental"] is None


def test_updates_offer_the_incremental_from_current(api):
    # the apollo page (tests/data/pages/valid) offers an OTA from V12.0.8.0 to V12.0.10.0
    status, _, _, doc = api("/api/devices/apollo/updates?current=V12.0.8.0.QJDCNXM")
    assert status == 200
    assert [r["version"] for r in doc["data"]] == ["V12.0.10.0.QJDCNXM"]
    assert doc["incremental"]["from"] == "V12.0.8.0.QJDCNXM"
    assert doc["incremental"]["to"] == "V12.0.10.0.QJDCNXM"
    assert doc["incremental"]["url"].endswith(doc["incremental"]["filename"])


def test_updates_weekly_released_in_two_regions_needs_one(api):
    """The seed page cancro weekly 7.3.23 has packages of cancro (China) and cancro_global: which one the device
    runs is the client's to say, with variant or region; the other parameter's contradiction is a 400."""
    _, _, _, versions = api("/api/devices/cancro/releases/weekly/7.3.23")
    assert {r["variant"] for r in versions["data"]} >= {"cancro", "cancro_global"}
    status, _, _, doc = api("/api/devices/cancro/updates?current=7.3.23")
    assert status == 400 and doc["parameter"] == "variant"
    assert "cancro (cn)" in doc["detail"] and "cancro_global (global)" in doc["detail"]
    for query in ["region=global", "variant=cancro_global"]:
        status, _, _, doc = api("/api/devices/cancro/updates?current=7.3.23&" + query)
        assert status == 200 and doc["current"]["branch"] == "weekly"
        assert (doc["current"]["variant"], doc["current"]["region"]) == ("cancro_global", "global")
        assert doc["data"] and all(r["branch"] == "weekly" and r["variant"] == "cancro_global" for r in doc["data"])
    status, _, _, doc = api("/api/devices/cancro/updates?current=7.3.23&variant=cancro_global&region=cn")
    assert status == 400 and doc["parameter"] == "region"
    status, _, _, doc = api("/api/devices/cancro/updates?current=7.3.23&variant=gemini")
    assert status == 400 and doc["parameter"] == "variant"


@pytest.mark.parametrize("query, parameter", [
    ("", "current"),
    ("?current=JHACNBH22.0", "current"),            # no known grammar
    ("?current=V12.5.3.0.RKHMIXM&foo=1", "foo"),
    ("?current=OS9.0.1.0.WZZMIXM", "current"),      # not a version of this device
    ("?current=a%20b", "current"),
])
def test_updates_bad_current(api, query, parameter):
    status, _, _, doc = api("/api/devices/alioth/updates" + query)
    assert status == 400 and doc["parameter"] == parameter, doc


# --- all releases --------------------------------------------------------------------------------------------

def test_all_releases_pages_and_filters(api, stack):
    items = all_releases(api, "/api/releases?limit=100")
    assert len(items) == int(stack.psql("SELECT count(*) FROM release")[0][0])
    assert len({r["id"] for r in items}) == len(items)
    two = all_releases(api, "/api/releases?codename=alioth,cancro&branch=stable&limit=13")
    assert two and {r["codename"] for r in two} == {"alioth", "cancro"}
    assert [r["id"] for r in two] == [r["id"] for r in items if r["codename"] in ("alioth", "cancro")
                                      and r["branch"] == "stable"]
    hyperos = all_releases(api, "/api/releases?family=hyperos&limit=500")
    assert hyperos and all(r["version"].startswith("OS") for r in hyperos)
    recent = all_releases(api, "/api/releases?since=2025-01-01&limit=500")
    assert [r["id"] for r in recent] == [r["id"] for r in items if r["date"] and r["date"] >= "2025-01-01"]
    status, _, _, doc = api("/api/releases?codename=a,,b")
    assert status == 400 and doc["parameter"] == "codename"
    status, _, _, doc = api("/api/releases?family=symbian")
    assert status == 400 and doc["parameter"] == "family"


def test_one_release_by_id_and_by_filename(api, stack):
    rid, filename = stack.psql("SELECT id, filename FROM release ORDER BY id LIMIT 1")[0]
    status, headers, _, by_id = api("/api/releases/" + rid)
    assert status == 200 and by_id["id"] == int(rid) and by_id["filename"] == filename
    assert headers["cache-control"] == "public, max-age=60, stale-while-revalidate=30, stale-if-error=86400"
    assert re.match(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$", headers["last-modified"])
    status, _, _, by_name = api("/api/releases/by-filename/" + filename)
    assert by_name == by_id
    for path, parameter in [("/api/releases/0", "id"), ("/api/releases/abc", "id"),
                            ("/api/releases/by-filename/a%2Fb", "filename")]:
        status, _, _, doc = api(path)
        assert status == 400 and doc["parameter"] == parameter
    for path in ["/api/releases/999999999", "/api/releases/by-filename/nothing.zip"]:
        status, _, _, doc = api(path)
        assert status == 404 and doc["type"] == "urn:romtrack:problem:release-not-found"


def test_regions_and_branches_count_the_data(api, stack):
    _, _, _, regions = api("/api/regions")
    counts = dict((r, (int(d), int(n))) for r, d, n in stack.psql(
        "SELECT region::text, count(DISTINCT device_id), count(*) FROM release GROUP BY region"))
    assert [r["region"] for r in regions["data"]] == ["cn", "global", "eea", "in", "id", "ru", "tr", "tw", "jp",
                                                      "kr", "sg", "other"]
    for r in regions["data"]:
        assert (r["devices"], r["releases"]) == counts.get(r["region"], (0, 0))
    assert regions["data"][9]["name"] == "South Korea"
    _, _, _, branches = api("/api/branches")
    assert [(b["branch"], b["name"]) for b in branches["data"]] == [
        ("stable", "Stable"), ("stable-beta", "Stable Beta"), ("weekly", "Weekly"), ("public-beta", "Public Beta")]
    assert sum(b["releases"] for b in branches["data"]) == int(stack.psql("SELECT count(*) FROM release")[0][0])


# --- feeds ---------------------------------------------------------------------------------------------------

def parse_feed(body):
    feed = ET.fromstring(body)
    assert feed.tag == ATOM + "feed"
    for required in ["id", "title", "updated", "author"]:
        assert feed.find(ATOM + required) is not None, required
    return feed


# The entries of a feed, compared with the database: e2e.clients.


@pytest.mark.parametrize("path", ["/api/feed.atom?limit=20", "/api/feed.atom?codename=cancro,alioth&branch=weekly",
                                  "/api/devices/apollo/feed.atom", "/api/feed.atom?codename=nosuchphone"])
def test_feeds_validate_against_the_atom_schema(api, stack, path):
    """RFC 4287's RELAX NG schema (tests/data/atom/atom.rng), checked with libxml2's xmllint."""
    status, _, body, _ = api(path)
    assert status == 200
    feed = os.path.join(stack.tmpdir, "feed.xml")
    with open(feed, "wb") as f:
        f.write(body)
    r = subprocess.run(["xmllint", "--noout", "--relaxng", os.path.join(conftest.REPO, "tests/data/atom/atom.rng"),
                        feed], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_device_feed(api):
    status, _, body, _ = api("/api/devices/cancro/feed.atom?branch=weekly")
    assert status == 200
    entries = parse_feed(body).findall(ATOM + "entry")
    assert entries and all(c.get("term") != "stable" for e in entries for c in e.findall(ATOM + "category"))
    status, _, _, doc = api("/api/devices/nosuchphone/feed.atom")
    assert status == 404


# --- HTTP behaviour ------------------------------------------------------------------------------------------

GETS = ["/api/health", "/api/devices?limit=2", "/api/devices/cancro", "/api/devices/cancro/releases?limit=2",
        "/api/devices/cancro/releases/weekly/7.3.23", "/api/devices/alioth/latest",
        "/api/devices/alioth/updates?current=V12.5.3.0.RKHMIXM", "/api/devices/alioth/feed.atom",
        "/api/releases?limit=2", "/api/releases/latest?limit=2", "/api/regions", "/api/branches",
        "/api/feed.atom?limit=2", "/api/openapi.yaml"]


@pytest.mark.parametrize("path", GETS)
def test_etag_revalidation_cors_and_head(api, path):
    status, headers, body, _ = api(path)
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert re.match(r'^"[0-9a-f]{16}"$', headers["etag"])
    # a minute for all data (issue 9: releases are corrected after publication), health never
    assert headers["cache-control"] == ("no-cache" if path == "/api/health" else
                                        "public, max-age=60, stale-while-revalidate=30, stale-if-error=86400")
    status, h304, body304, _ = api(path, headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body304 == b"" and h304["etag"] == headers["etag"]
    status, _, _, _ = api(path, headers={"If-None-Match": '"0000000000000000", W/' + headers["etag"]})
    assert status == 304
    status, _, again, _ = api(path, headers={"If-None-Match": '"0000000000000000"'})
    assert status == 200 and again == body
    status, hhead, bhead, _ = api(path, method="HEAD")
    assert status == 200 and bhead == b"" and hhead["etag"] == headers["etag"]


def test_if_modified_since_on_single_releases(api, stack):
    """A single release carries Last-Modified; If-Modified-Since at or after it gets 304 (any of the three
    HTTP-date forms), before it gets the 200, and If-None-Match, when sent, decides alone."""
    rid, filename = stack.psql("SELECT id, filename FROM release ORDER BY id LIMIT 1")[0]
    for path in ["/api/releases/" + rid, "/api/releases/by-filename/" + filename]:
        status, headers, body, _ = api(path)
        modified = email.utils.parsedate_to_datetime(headers["last-modified"])
        (modified_at,) = stack.psql("SELECT to_char(modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
                                    " FROM release WHERE id = %s" % rid)[0]
        assert modified.strftime("%Y-%m-%d %H:%M:%S") == modified_at
        later = email.utils.format_datetime(modified + datetime.timedelta(days=1), usegmt=True)
        earlier = email.utils.format_datetime(modified - datetime.timedelta(seconds=1), usegmt=True)
        for since in [headers["last-modified"], later, modified.strftime("%A, %d-%b-%y %H:%M:%S GMT"),
                      modified.strftime("%a %b %e %H:%M:%S %Y")]:
            status, h304, b304, _ = api(path, headers={"If-Modified-Since": since})
            assert status == 304 and b304 == b"", since
            assert h304["etag"] == headers["etag"] and h304["last-modified"] == headers["last-modified"]
        for since in [earlier, "not a date", headers["last-modified"] + " extra"]:
            status, _, again, _ = api(path, headers={"If-Modified-Since": since})
            assert status == 200 and again == body, since
        status, _, again, _ = api(path, headers={"If-Modified-Since": later, "If-None-Match": '"0000000000000000"'})
        assert status == 200 and again == body
    # routes without Last-Modified answer in full whatever the date
    status, _, _, _ = api("/api/devices/cancro", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert status == 200


def test_a_change_of_data_changes_the_etag(api, stack):
    _, before, _, _ = api("/api/devices/cancro/releases/weekly/7.3.23")
    page = os.path.join(conftest.REPO, "tests/data/pages/valid/cancro-weekly-7.3.23.md")
    changed = os.path.join(stack.tmpdir, "cancro-changed.md")
    with open(page, encoding="utf-8") as f, open(changed, "w", encoding="utf-8") as out:
        out.write(f.read().replace("<b>Size: </b>846.8 MB", "<b>Size: </b>846.9 MB"))
    assert stack.romtrack("import", changed).returncode == 0
    status, after, _, doc = api("/api/devices/cancro/releases/weekly/7.3.23",
                                headers={"If-None-Match": before["etag"]})
    assert status == 200 and after["etag"] != before["etag"]
    assert 846900000 in [r["size"] for r in doc["data"]]


def test_a_change_by_hand_is_answered_at_once_by_every_worker(api, stack):
    """Workers cache whole responses and hear of changes through LISTEN/NOTIFY (sql/005). Each request first
    synchronises with PostgreSQL, so no answer predates a commit acknowledged before the request: a change made in
    psql, a writer romtrack knows nothing of, is in the very next answer of every worker. The log says which workers
    answered (Stack.every_worker_answers): every worker holds the page before the change, and after it every answer
    is fresh while each worker answers at least once, so each one's first answer after the change is fresh."""
    path = "/api/devices/cancro/releases?limit=1"
    _, _, _, doc = api(path)
    release_id, size = doc["data"][0]["id"], doc["data"][0]["size"]

    def answered_size():
        status, _, _, doc = api(path)
        assert status == 200, (path, status, doc)
        return doc["data"][0]["size"]

    try:
        for step in range(1, 16):
            # every worker holds the page in its cache (each one has answered it)
            _, held = stack.every_worker_answers(answered_size)
            assert held == [size + step - 1] * len(held), "a stale answer before step %d: %s" % (step, held)
            stack.psql("UPDATE release SET size_bytes = size_bytes + 1 WHERE id = %d" % release_id)
            pids, answers = stack.every_worker_answers(answered_size)
            assert answers == [size + step] * len(answers), "a stale answer after step %d (workers %s): %s" % (
                step, sorted(set(pids)), answers)
    finally:
        stack.psql("UPDATE release SET size_bytes = %d WHERE id = %d" % (size, release_id))
    assert api(path)[3]["data"][0]["size"] == size


@pytest.mark.parametrize("accept, status", [
    ("application/json", 200), ("*/*", 200), ("application/*", 200), ("text/html, application/json;q=0.5", 200),
    ("text/html", 406), ("application/json;q=0", 406), ("application/xml", 406),
])
def test_content_negotiation(api, accept, status):
    got, headers, _, doc = api("/api/regions", headers={"Accept": accept})
    assert got == status
    if status == 406:
        assert doc["type"] == "urn:romtrack:problem:not-acceptable"
    got, _, _, _ = api("/api/feed.atom?limit=1", headers={"Accept": "application/atom+xml"})
    assert got == 200


def test_cors_preflight(api):
    status, headers, body, _ = api("/api/devices/cancro/releases", method="OPTIONS",
                                   headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert "GET" in headers["access-control-allow-methods"]
    assert "If-None-Match" in headers["access-control-allow-headers"]


def test_gzip_when_asked(stack):
    status, headers, body, _ = stack.get("/api/releases?limit=50", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["data"]


def test_openapi_document_is_served(api):
    status, headers, body, _ = api("/api/openapi.yaml")
    assert status == 200 and headers["content-type"] == "application/yaml"
    assert body == open(os.path.join(conftest.REPO, "openapi.yaml"), "rb").read()


SIBLINGS = """- android: '11.0'
  branch: Stable
  codename: testsweet_global
  date: 2022-01-0{day}
  link: https://bigota.d.miui.com/{version}/miui_TESTSWEETGlobal_{version}_0123456789_11.0.zip
  md5: Unknown
  method: Recovery
  name: Test Sweet Global
  size: 3.0 GB
  version: {version}
"""


def test_updates_stay_on_the_phones_own_builds(api, stack):
    """XFU lists some phones under a sibling's codename; a device code keeps updates to the phone's own line."""
    entries = "".join(SIBLINGS.format(version=v, day=d) for d, v in
                      [(1, "V13.0.5.0.SKFMIXM"), (2, "V13.0.6.0.SKFMIXM"), (3, "OS1.0.34.0.THGMIXM")])
    path = os.path.join(stack.tmpdir, "siblings.yml")
    with open(path, "w") as f:
        f.write(entries)
    assert stack.romtrack("import", path).returncode == 0
    status, _, _, doc = api("/api/devices/testsweet/updates?current=V13.0.5.0.SKFMIXM")
    assert status == 200
    assert [r["version"] for r in doc["data"]] == ["V13.0.6.0.SKFMIXM"]
    status, _, _, doc = api("/api/devices/testsweet/updates?current=OS1.0.1.0.THGMIXM")
    assert [r["version"] for r in doc["data"]] == ["OS1.0.34.0.THGMIXM"]


def test_a_package_file_name_names_its_variant(api, stack):
    """A page card names a sibling phone; the fastboot file name "<variant>_images_..." of a declared variant wins."""
    devices = os.path.join(stack.tmpdir, "sibling-devices.yml")
    with open(devices, "w") as f:
        f.write("cancrosib_global:\n- MI 3 Sibling Global\n- CANCROSIBGlobal\n")
    page = open(os.path.join(conftest.REPO, "tests/data/pages/valid/cancro-weekly-7.3.23.md"), encoding="utf-8").read()
    sibling = os.path.join(stack.tmpdir, "sibling-page.md")
    with open(sibling, "w", encoding="utf-8") as f:
        f.write(page.replace("cancro_global_images_7.3.23", "cancrosib_global_images_7.3.23"))
    r = stack.romtrack("import", devices, sibling)
    assert r.returncode == 0, r.stderr
    status, _, _, doc = api("/api/releases/by-filename/"
                            "cancrosib_global_images_7.3.23_20170323.0000.00_6.0_global_2b8705311b.tgz")
    assert status == 200
    assert (doc["codename"], doc["variant"]) == ("cancrosib", "cancrosib_global")
    # the page's other packages stay with the phone the card names
    status, _, _, doc = api("/api/releases/by-filename/miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip")
    assert doc["codename"] == "cancro"


def test_every_device_has_a_variant_and_answers(api, stack):
    """No import leaves a device behind without variants (a 404 for a listed device)."""
    assert stack.psql("SELECT count(*) FROM device d WHERE NOT EXISTS "
                      "(SELECT 1 FROM variant v WHERE v.device_id = d.id)") == [("0",)]
    for (codename,) in stack.psql("SELECT codename FROM device"):
        assert api("/api/devices/" + codename)[0] == 200


# --- issue 9: the variant a device runs, packages that are not ROMs, latest by variant, Last-Modified ---------

ENTRY = """- android: '{android}'
  branch: {branch}
  codename: {variant}
  date: {date}
  link: https://bigota.d.miui.com/{version}/{filename}
  md5: Unknown
  method: {method}
  name: {name}
  size: {size}
  version: {version}
"""


def import_entries(stack, name, entries):
    """Imports latest.yml-shaped entries: (variant, display name, MIUI name, version, date, size, branch, method)."""
    text = ""
    for variant, display, miui, version, date, size, branch, method in entries:
        if method == "Fastboot":
            filename = "%s_images_%s_%s.0000.00_11.0_cn_0123456789.tgz" % (variant, version, date.replace("-", ""))
        else:
            filename = "miui_%s_%s_0123456789_11.0.zip" % (miui, version)
        text += ENTRY.format(android="11.0", branch=branch, variant=variant, date=date, filename=filename,
                             method=method, name=display, size=size, version=version)
    path = os.path.join(stack.tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    r = stack.romtrack("import", path)
    assert r.returncode == 0, r.stderr


def stable(variant, display, miui, version, date, size="3.0 GB", branch="Stable", method="Recovery"):
    return (variant, display, miui, version, date, size, branch, method)


def versions(doc):
    return [(r["variant"], r["version"]) for r in doc["data"]]


def test_updates_offer_only_the_variants_own_builds(api, stack):
    """Two variants share device code CR and region code IN; the RF suffix marks one (as angelicain_in_global and
    angelicain_in_rf_global do). Expected lists are the entries below, by hand: each variant's own, newer ones."""
    xm = [stable("tangel_in_global", "Test Angel India", "TANGELINGlobal", "V12.0.%d.0.QCRINXM" % n,
                 "2021-01-%02d" % n) for n in (1, 5, 19)]
    rf = [stable("tangel_in_rf_global", "Test Angel RF India", "TANGELINRFGlobal", v, d)
          for v, d in [("V12.0.3.0.QCRINRF", "2021-01-03"), ("V12.5.2.0.RCRINRF", "2021-06-01"),
                       ("V12.5.5.0.RCRINRF", "2021-09-01")]]
    import_entries(stack, "tangel.yml", xm + rf)
    cases = [
        ("V12.0.1.0.QCRINXM", [("tangel_in_global", "V12.0.19.0.QCRINXM"), ("tangel_in_global", "V12.0.5.0.QCRINXM")]),
        ("V12.0.19.0.QCRINXM", []),                 # XM's newest: the RF builds are not updates of it
        ("V12.0.3.0.QCRINRF", [("tangel_in_rf_global", "V12.5.5.0.RCRINRF"), ("tangel_in_rf_global", "V12.5.2.0.RCRINRF")]),
        ("V12.0.7.0.QCRINXM", [("tangel_in_global", "V12.0.19.0.QCRINXM")]),  # not a release: its line and suffix
        ("V12.5.3.0.RCRINRF", [("tangel_in_rf_global", "V12.5.5.0.RCRINRF")]),
    ]
    for current, expected in cases:
        status, _, _, doc = api("/api/devices/tangel/updates?current=" + current)
        assert status == 200, doc
        assert versions(doc) == expected, current
        assert doc["current"]["variant"] == ("tangel_in_rf_global" if current.endswith("RF") else "tangel_in_global")


def test_one_version_of_two_variants_needs_the_variant(api, stack):
    """XFU lists V6.6.1.0.KHBMICF under HM2013023 and HM2013023_sg_global: the same version, two phones. Without
    variant romtrack cannot tell which one asks; with it, each gets its own builds only, never both."""
    import_entries(stack, "thm.yml", [
        stable("thm", "Test HM Global", "THMGlobal", "V6.6.1.0.KHBMICF", "2015-06-01"),
        stable("thm_sg_global", "Test HM Singapore", "THMSGGlobal", "V6.6.1.0.KHBMICF", "2015-06-02"),
        stable("thm", "Test HM Global", "THMGlobal", "V6.7.1.0.KHBMICF", "2015-08-01"),
        stable("thm_sg_global", "Test HM Singapore", "THMSGGlobal", "V6.7.1.0.KHBMICF", "2015-08-02"),
    ])
    # a release of both; a version of the line of both
    for current, newer in [("V6.6.1.0.KHBMICF", ["V6.7.1.0.KHBMICF"]),
                           ("V6.5.0.0.KHBMICF", ["V6.7.1.0.KHBMICF", "V6.6.1.0.KHBMICF"])]:
        status, _, _, doc = api("/api/devices/thm/updates?current=" + current)
        assert status == 400 and doc["parameter"] == "variant", doc
        assert "thm (global)" in doc["detail"] and "thm_sg_global (global)" in doc["detail"]
        for variant in ["thm", "thm_sg_global"]:
            status, _, _, doc = api("/api/devices/thm/updates?current=%s&variant=%s" % (current, variant))
            assert status == 200 and versions(doc) == [(variant, v) for v in newer]


def test_a_known_current_settles_variant_region_and_branch(api, stack):
    """Region code CM is none romtrack knows (picasso_48m's V13.0.4.0.SGICMXM): a known release still settles
    its variant and region (those the API reports for that release), and its branch."""
    import_entries(stack, "tcm.yml", [
        stable("tcm_48m", "Test CM China", "TCM48M", "V13.0.1.0.SGICMXM", "2022-04-01"),
        stable("tcm_48m", "Test CM China", "TCM48M", "V13.0.2.0.SGICMXM", "2022-05-01", branch="Stable Beta"),
        stable("tcm_48m", "Test CM China", "TCM48M", "V13.0.4.0.SGICMXM", "2022-10-01"),
    ])
    _, _, _, known = api("/api/releases/by-filename/miui_TCM48M_V13.0.1.0.SGICMXM_0123456789_11.0.zip")
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM")
    assert status == 200, doc
    assert doc["current"] == {"version": "V13.0.1.0.SGICMXM", "family": "miui", "variant": known["variant"],
                              "region": known["region"], "branch": "stable", "type": "recovery"}
    assert versions(doc) == [("tcm_48m", "V13.0.4.0.SGICMXM")]
    # the device's own latest is up to date, not a 400
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.4.0.SGICMXM")
    assert status == 200 and doc["data"] == []
    # a Stable Beta's updates are the Stable releases
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.2.0.SGICMXM")
    assert status == 200 and doc["current"]["branch"] == "stable"
    assert versions(doc) == [("tcm_48m", "V13.0.4.0.SGICMXM")]
    # an explicit branch or type chooses what is offered; a region or variant that contradicts the release is a 400
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM&branch=stable-beta")
    assert status == 200 and versions(doc) == [("tcm_48m", "V13.0.2.0.SGICMXM")]
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM&type=fastboot")
    assert status == 200 and doc["data"] == [] and doc["current"]["type"] == "fastboot"
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM&region=global")
    assert status == 400 and doc["parameter"] == "region"
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM&variant=tcm_global")
    assert status == 400 and doc["parameter"] == "variant"
    status, _, _, doc = api("/api/devices/tcm_48m/updates?current=V13.0.1.0.SGICMXM&variant=tcm_48m&region=%s"
                            % known["region"])
    assert status == 200 and versions(doc) == [("tcm_48m", "V13.0.4.0.SGICMXM")]


def test_packages_that_cannot_be_roms_are_never_newest(api, stack):
    """Two newer packages of 481 and 464 bytes (vermeer's OS1.0.4.0.UNKCNXM: XFU recorded error pages) stay in the
    archive with their warning, and are never an update nor the newest."""
    import_entries(stack, "tbytes.yml", [
        stable("tbytes", "Test Bytes China", "TBYTES", "OS1.0.2.0.UNKCNXM", "2023-11-01", size="6.9 GB"),
        stable("tbytes", "Test Bytes China", "TBYTES", "OS1.0.4.0.UNKCNXM", "2023-12-01", size="481 Bytes"),
        stable("tbytes", "Test Bytes China", "TBYTES", "OS1.0.4.0.UNKCNXM", "2023-12-01", size="464 Bytes",
               method="Fastboot"),
        stable("tbytes", "Test Bytes China", "TBYTES", "OS1.0.3.0.UNKCNXM", "2023-11-20", size="6.9 GB"),
    ])
    status, _, _, doc = api("/api/devices/tbytes/updates?current=OS1.0.2.0.UNKCNXM")
    assert status == 200 and versions(doc) == [("tbytes", "OS1.0.3.0.UNKCNXM")]
    _, _, _, latest = api("/api/devices/tbytes/latest")
    assert [(r["version"], r["type"]) for r in latest["data"]] == [("OS1.0.3.0.UNKCNXM", "recovery")]
    every = all_releases(api, "/api/releases/latest?limit=500")
    assert [r["version"] for r in every if r["variant"] == "tbytes"] == ["OS1.0.3.0.UNKCNXM"]
    assert all(plausible(r) for r in every)
    kept = all_releases(api, "/api/devices/tbytes/releases?version=OS1.0.4.0.UNKCNXM")
    assert sorted(r["size"] for r in kept) == [464, 481]
    assert all("size-implausible" in r["warnings"] for r in kept)


def test_the_database_and_the_importer_draw_one_line_between_rom_and_error_page(stack):
    """The importer warns below IMP_MIN_PLAUSIBLE_SIZE (include/imp_normalize.h); the database's generated column
    offerable (sql/008) must draw the same line, or a package could be offered that the import called implausible."""
    header = open(os.path.join(conftest.REPO, "include", "imp_normalize.h")).read()
    limit = int(re.search(r"#define IMP_MIN_PLAUSIBLE_SIZE (\d+)LL", header).group(1))
    # the column's expression, evaluated on both sides of the line on a row changed and rolled back
    for size, expected in ((limit - 1, "f"), (limit, "t")):
        got = stack.psql("BEGIN; UPDATE release SET size_bytes = %d WHERE id = (SELECT min(id) FROM release)"
                         " RETURNING offerable; ROLLBACK" % size)
        assert got == [(expected,)], (size, got)


def test_latest_shows_both_variants_of_one_region(api, stack):
    """cancro and cancro_lte_ct are both China: two phones, each with its newest release."""
    import_entries(stack, "tlte.yml", [
        stable("tlte", "Test LTE China", "TLTE", "V10.1.1.0.MXDCNFI", "2019-01-01"),
        stable("tlte_lte_ct", "Test LTE CT China", "TLTECT", "V10.1.1.0.MXGCNFI", "2019-01-02"),
    ])
    _, _, _, doc = api("/api/devices/tlte/latest")
    assert [(r["variant"], r["region"], r["version"]) for r in doc["data"]] == [
        ("tlte", "cn", "V10.1.1.0.MXDCNFI"), ("tlte_lte_ct", "cn", "V10.1.1.0.MXGCNFI")]


def test_last_modified_follows_every_change_made_in_psql(api, stack):
    """The database keeps when a release last changed: an UPDATE by hand, a change of its names, and several
    changes within one second each make If-Modified-Since with the previous Last-Modified get the new body."""
    # a release no other test changes
    rid, md5 = stack.psql("SELECT id, md5 FROM release WHERE filename = 'miui_HMW_V7.3.1.0.KHBCNDD_49c9fc7ce6_4.4.zip'")[0]
    path = "/api/releases/" + rid
    _, headers, body, _ = api(path)
    seen = headers["last-modified"]
    changes = ["UPDATE release SET md5 = '%s' WHERE id = %s" % ("0" * 32, rid),
               "UPDATE release SET md5 = '%s' WHERE id = %s" % (md5, rid),
               "INSERT INTO release_name (release_id, display_name_id) SELECT %s, min(id) FROM display_name"
               " WHERE id NOT IN (SELECT display_name_id FROM release_name WHERE release_id = %s)" % (rid, rid),
               "UPDATE display_name SET name = name || ' (renamed)' WHERE id IN"
               " (SELECT display_name_id FROM release_name WHERE release_id = %s)" % rid]
    for change in changes:   # within a second or two: faster than HTTP dates can tell apart
        stack.psql(change)
        status, headers, again, _ = api(path, headers={"If-Modified-Since": seen})
        assert status == 200 and again != body, change
        body = again
        # each change a later second, even several within one second (the time then runs ahead of the clock)
        assert email.utils.parsedate_to_datetime(headers["last-modified"]) > email.utils.parsedate_to_datetime(seen)
        seen = headers["last-modified"]
    # nothing a client sees changed: the time stays, and a copy of it revalidates. How strongly the importer holds
    # the release's variant (variant_evidence) is bookkeeping the API never serves, so changing it is no change.
    stack.psql("UPDATE release SET variant_evidence = 3 - variant_evidence WHERE id = %s" % rid)
    status, headers, _, _ = api(path, headers={"If-Modified-Since": seen})
    assert status == 304 and headers["last-modified"] == seen
