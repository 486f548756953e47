"""The HTTP API end to end: nginx -> romtrack serve -> PostgreSQL, over the bundled sample of real XFU data."""

import re
import time
import urllib.parse

import pytest

from contract import Contract

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

CONTRACT = Contract()


@pytest.fixture(scope="module")
def api(stack):
    """GET through nginx; every response is checked against openapi.yaml before the test sees it."""

    def call(path, method="GET", headers=None):
        status, hdrs, body, doc = stack.get(path, method=method, headers=headers)
        CONTRACT.check(path, method, status, hdrs, doc)
        return status, hdrs, doc

    return call


def assert_problem(status, headers, doc, expected_status, slug, parameter=None):
    assert status == expected_status, (status, doc)
    assert headers["content-type"] == "application/problem+json"
    assert doc["type"] == "urn:romtrack:problem:" + slug
    assert doc["status"] == expected_status
    assert doc["title"] and doc["detail"]
    if parameter is not None:
        assert doc.get("parameter") == parameter


def walk(api, path):
    """Follows next links from path; returns all items and the number of pages."""
    items, pages = [], 0
    while path is not None:
        status, headers, doc = api(path)
        assert status == 200, doc
        pages += 1
        items.extend(doc["data"])
        if doc["next"] is not None:
            assert headers["link"] == '<%s>; rel="next"' % doc["next"]
        else:
            assert "link" not in headers
        path = doc["next"]
        assert pages < 1000
    return items, pages


# --- health ---------------------------------------------------------------------------------------------------

def test_health(api):
    status, headers, doc = api("/api/health")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert doc == {"status": "ok", "database": "ok"}


# --- devices --------------------------------------------------------------------------------------------------

def test_device_with_variants_and_names(api):
    status, _, doc = api("/api/devices/cancro")
    assert status == 200
    assert doc == {
        "codename": "cancro",
        "variants": [
            {"codename": "cancro", "region": "cn", "names": ["MI 3 / Mi 4 China"]},
            {"codename": "cancro_global", "region": "global", "names": ["MI 3 / Mi 4 Global", "MI 3 Global"]},
            {"codename": "cancro_lte_ct", "region": "cn", "names": ["MI 4 LTE CT China"]},
        ],
    }


def test_device_regions_from_codename_suffixes(api, stack):
    _, _, doc = api("/api/devices/alioth")
    regions = {v["codename"]: v["region"] for v in doc["variants"]}
    assert regions["alioth"] == "cn"
    assert regions["alioth_global"] == "global"
    assert regions["alioth_eea_global"] == "eea"
    assert regions["alioth_in_global"] == "in"
    # the same as the database holds: stored at import, not derived per request
    rows = dict(stack.psql("SELECT codename, region::text FROM variant WHERE codename LIKE 'alioth%'"))
    assert rows == regions


def test_device_exact_match_only(api):
    # XFU matches by prefix and shows cannong's ROMs on cannon's page; romtrack must not.
    _, _, cannon = api("/api/devices/cannon")
    assert [v["codename"] for v in cannon["variants"]] == ["cannon"]
    _, _, releases = api("/api/devices/cannon/releases?limit=500")
    assert releases["data"], "cannon has releases in the sample"
    assert all(r["codename"] == "cannon" for r in releases["data"])
    assert all(not r["variant"].startswith("cannong") for r in releases["data"])
    status, _, doc = api("/api/devices/cannong")
    assert status == 200 and doc["codename"] == "cannong"
    status, headers, doc = api("/api/devices/canno")
    assert_problem(status, headers, doc, 404, "device-not-found")


def test_unknown_device(api):
    status, headers, doc = api("/api/devices/nosuchphone")
    assert_problem(status, headers, doc, 404, "device-not-found")
    status, headers, doc = api("/api/devices/nosuchphone/releases")
    assert_problem(status, headers, doc, 404, "device-not-found")


def test_device_list_pages_cover_every_device_once(api, stack):
    expected = [r[0] for r in stack.psql("SELECT codename FROM device ORDER BY codename COLLATE \"C\"")]
    items, pages = walk(api, "/api/devices?limit=3")
    assert [d["codename"] for d in items] == expected
    assert pages == (len(expected) + 2) // 3
    one_page, _ = walk(api, "/api/devices?limit=500")
    assert one_page == items


def test_device_search(api):
    _, _, doc = api("/api/devices?q=POCO%20F3")
    assert [d["codename"] for d in doc["data"]] == ["alioth"]
    _, _, doc = api("/api/devices?q=ALIOTH_EEA")  # case-insensitive, matches variant codenames
    assert [d["codename"] for d in doc["data"]] == ["alioth"]
    _, _, doc = api("/api/devices?q=cannon")
    assert [d["codename"] for d in doc["data"]] == ["cannon", "cannong"]
    _, _, doc = api("/api/devices?q=zzzzzz")
    assert doc == {"data": [], "next": None}
    # a cursor belongs to its search
    _, _, doc = api("/api/devices?q=a&limit=1")
    cursor = urllib.parse.parse_qs(urllib.parse.urlsplit(doc["next"]).query)["cursor"][0]
    status, headers, doc = api("/api/devices?q=b&limit=1&cursor=" + cursor)
    assert_problem(status, headers, doc, 400, "invalid-cursor", "cursor")


# --- releases -------------------------------------------------------------------------------------------------

RELEASE_SQL = """
SELECT r.id, r.filename, r.version, r.branch::text, r.type::text, r.region::text, r.android,
       r.size_bytes, r.md5, to_char(r.release_date, 'YYYY-MM-DD'), array_to_string(r.links, ' ')
FROM release r JOIN device d ON d.id = r.device_id WHERE d.codename = '%s'
"""


def test_releases_match_the_database(api, stack):
    items, _ = walk(api, "/api/devices/cancro/releases?limit=4")
    rows = {r[1]: r for r in stack.psql(RELEASE_SQL % "cancro")}
    assert len(items) == len(rows) and len({r["filename"] for r in items}) == len(items)
    for item in items:
        row = rows[item["filename"]]
        assert item["id"] == int(row[0])
        assert (item["version"], item["branch"], item["type"], item["region"], item["android"]) == row[2:7]
        assert item["size"] == (int(row[7]) if row[7] is not None else None)
        assert item["md5"] == row[8]
        assert item["date"] == row[9]
        assert item["links"] == row[10].split(" ")
        assert item["codename"] == "cancro"


def test_one_package_under_two_names(api, stack):
    # latest.yml lists this package twice, once per display name: one release with two names
    filename = "cancro_global_images_V9.5.7.0.MXDMIFA_20180815.0000.00_6.0_global_bbfc0f3951.tgz"
    items, _ = walk(api, "/api/devices/cancro/releases?version=V9.5.7.0.MXDMIFA&type=fastboot")
    assert [(r["filename"], r["names"]) for r in items] == [(filename, ["MI 3 / Mi 4 Global", "MI 3 Global"])]


def test_release_fields_from_the_yaml(api):
    _, _, doc = api("/api/devices/HM2013023/releases?version=V7.3.1.0.KHBCNDD")
    assert len(doc["data"]) == 1
    r = doc["data"][0]
    assert r["filename"] == "miui_HMW_V7.3.1.0.KHBCNDD_49c9fc7ce6_4.4.zip"
    assert r["size"] == 507600000  # "507.6 MB", decimal units
    assert r["md5"] == "49c9fc7ce6be59b9a7bddd35f5a82596"
    assert r["date"] == "2016-05-12"
    assert r["android"] == "4.4"
    assert r["branch"] == "stable" and r["type"] == "recovery" and r["region"] == "cn"
    assert r["links"] == ["https://bigota.d.miui.com/V7.3.1.0.KHBCNDD/miui_HMW_V7.3.1.0.KHBCNDD_49c9fc7ce6_4.4.zip"]
    assert "Redmi 1 W China" in r["names"]


def version_key(version):
    """A version's numbers compared as numbers (V12.5.10 after V12.5.9, 9.10.1 after 9.8.22), the rest
    character by character; a number sorts where its first digit would (after ".", before letters)."""
    return [("0", int(run)) if run.isdigit() else (run, 0) for run in re.findall(r"[0-9]+|[^0-9]+", version)]


def test_version_key_compares_numbers_as_numbers():
    assert version_key("V12.5.10.0.RKHMIXM") > version_key("V12.5.9.0.RKHMIXM")
    assert version_key("9.10.1") > version_key("9.8.22")
    assert version_key("OS2.0.208.0.VGQINXM") > version_key("OS2.0.21.0.VGQINXM")


def test_release_order_newest_first(api, stack):
    """The whole order across pages: date (unknown last), then version with its numbers compared as numbers,
    then id, newest first; computed here, not with the version_sort key romtrack stores."""
    ties = 0
    for codename in ["alioth", "rothko"]:   # rothko has days with several versions: the version order counts
        items, _ = walk(api, "/api/devices/%s/releases?limit=7" % codename)
        ids = {int(r[0]) for r in stack.psql(
            "SELECT r.id FROM release r JOIN device d ON d.id = r.device_id WHERE d.codename = '%s'" % codename)}
        assert sorted(r["id"] for r in items) == sorted(ids)
        expected = sorted(items, key=lambda r: (r["date"] or "", version_key(r["version"]), r["id"]), reverse=True)
        assert [r["id"] for r in items] == [r["id"] for r in expected], codename
        ties += sum(1 for d in {r["date"] for r in items} if len({r["version"] for r in items if r["date"] == d}) > 1)
    assert ties > 0


@pytest.mark.parametrize("query, check", [
    ("region=eea", lambda r: r["region"] == "eea"),
    ("branch=stable-beta", lambda r: r["branch"] == "stable-beta"),
    ("type=fastboot", lambda r: r["type"] == "fastboot"),
    ("android=13", lambda r: (r["android"] or "").split(".")[0] == "13"),
    ("android=12.0", lambda r: r["android"] == "12.0"),
    ("since=2024-01-01", lambda r: r["date"] is not None and r["date"] >= "2024-01-01"),
    ("until=2023-12-31", lambda r: r["date"] is not None and r["date"] <= "2023-12-31"),
    ("since=2024-01-01&until=2024-12-31", lambda r: r["date"] is not None and "2024-01-01" <= r["date"] <= "2024-12-31"),
])
def test_release_filters(api, stack, query, check):
    every, _ = walk(api, "/api/devices/alioth/releases?limit=500")
    items, _ = walk(api, "/api/devices/alioth/releases?limit=2&" + query)
    assert items, "the sample has alioth releases for " + query
    assert all(check(r) for r in items)
    # and nothing that matches is left out, in the same order
    assert [r["id"] for r in items] == [r["id"] for r in every if check(r)]


def test_release_version_filter(api):
    _, _, doc = api("/api/devices/cancro/releases?version=no.such.version")
    assert doc == {"data": [], "next": None}


def test_release_pages_keep_filters_in_next(api):
    _, headers, doc = api("/api/devices/alioth/releases?branch=stable&limit=1")
    assert doc["next"].startswith("/api/devices/alioth/releases?branch=stable&limit=1&cursor=")
    status, _, doc2 = api(doc["next"])
    assert status == 200 and doc2["data"][0]["id"] != doc["data"][0]["id"]


# --- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, parameter", [
    ("limit=abc", "limit"),
    ("limit=100000", "limit"),
    ("limit=0", "limit"),
    ("branch=nightly", "branch"),
    ("type=ota", "type"),
    ("region=mars", "region"),
    ("since=2017-13-45", "since"),
    ("until=2017-02-29", "until"),
    ("android=eleven", "android"),
    ("since=2020-02-01&until=2020-01-01", "since"),
    ("limit=1&limit=2", "limit"),
])
def test_invalid_parameters(api, query, parameter):
    status, headers, doc = api("/api/devices/cancro/releases?" + query)
    assert_problem(status, headers, doc, 400, "invalid-parameter", parameter)


def test_unknown_parameter(api):
    status, headers, doc = api("/api/devices/cancro/releases?brnach=stable")
    assert_problem(status, headers, doc, 400, "unknown-parameter", "brnach")


def test_forged_and_foreign_cursors(api):
    _, _, doc = api("/api/devices/alioth/releases?limit=1")
    cursor = urllib.parse.parse_qs(urllib.parse.urlsplit(doc["next"]).query)["cursor"][0]
    payload, mac = cursor.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BA") + "." + mac
    for bad in [forged, payload + ".AAAAAAAAAAA", "garbage", "a.b.c", cursor[:-1]]:
        status, headers, doc = api("/api/devices/alioth/releases?limit=1&cursor=" + urllib.parse.quote(bad))
        assert_problem(status, headers, doc, 400, "invalid-cursor", "cursor")
    # a valid cursor used for another device or other filters
    for path in ["/api/devices/cancro/releases?limit=1&cursor=", "/api/devices/alioth/releases?limit=1&branch=stable&cursor="]:
        status, headers, doc = api(path + cursor)
        assert_problem(status, headers, doc, 400, "invalid-cursor", "cursor")


@pytest.mark.parametrize("path", [
    "/api/devices/cancro/releases?version=%FF",
    "/api/devices/cancro/releases?version=a%00b",
    "/api/devices/cancro/releases?version=%C0%AF",
    "/api/devices/cancro/releases?version=%4",
    "/api/devices?q=%ED%A0%80",
    "/api/devices/can%FFcro",
    "/api/devices/can%00cro",
])
def test_bad_encoding(api, path):
    # romtrack refuses these; nginx itself refuses a NUL in the path, in the same form
    status, headers, doc = api(path)
    assert_problem(status, headers, doc, 400, "bad-request")


def test_invalid_codename(api):
    status, headers, doc = api("/api/devices/a-b.c")
    assert_problem(status, headers, doc, 400, "invalid-parameter", "codename")


def test_long_uris(api):
    status, headers, doc = api("/api/devices?q=" + "a" * 3000)
    assert_problem(status, headers, doc, 414, "uri-too-long")
    # longer than nginx's own limit: nginx answers, in the same problem form
    status, headers, doc = api("/api/devices?q=" + "a" * 20000)
    assert status == 414 and headers["content-type"] == "application/problem+json"
    assert doc["type"] == "urn:romtrack:problem:uri-too-long"


def test_unknown_route(api):
    for path in ["/api/nothing", "/", "/api/devices/cancro/releases/extra", "/api/health/"]:
        status, headers, doc = api(path)
        assert_problem(status, headers, doc, 404, "not-found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method(api, method):
    status, headers, doc = api("/api/devices/cancro", method=method)
    assert_problem(status, headers, doc, 405, "method-not-allowed")
    assert headers["allow"] == "GET, HEAD, OPTIONS"


def test_head_has_headers_and_no_body(api, stack):
    status, headers, body, _ = stack.get("/api/devices/cancro/releases?limit=2", method="HEAD")
    _, get_headers, get_body, _ = stack.get("/api/devices/cancro/releases?limit=2")
    assert status == 200 and body == b""
    assert headers["content-type"] == "application/json"
    assert headers["link"] == get_headers["link"]
    assert int(headers["content-length"]) == len(get_body)


def test_routes_and_openapi_agree(stack):
    r = stack.romtrack("routes")
    assert r.returncode == 0
    served = set(line.strip() for line in r.stdout.splitlines() if line.strip())
    assert served == CONTRACT.routes()
    # every route is under /api/, but Prometheus' /metrics (its default metrics_path)
    assert all(re.match(r"^(GET|OPTIONS|POST|PUT|PATCH|DELETE) (/api/|/metrics$)", line) for line in served)


def test_the_access_log_has_a_logfmt_line_per_request(stack):
    """access_log's default: one logfmt line per request, key=value pairs (a value in quotes when it needs them),
    with the request's id, route and outcome; never its query."""
    rid = "logfmt-line-1"
    status, _, body, _ = stack.get("/api/devices/cancro/releases?limit=2", {"X-Request-Id": rid})
    assert status == 200
    pair = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)')
    deadline = time.monotonic() + 10
    while True:
        lines = [dict(pair.findall(line)) for line in stack.full_log().splitlines()
                 if line.startswith("time=") and " request_id=%s " % rid in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    [fields] = lines
    assert fields["method"] == "GET" and fields["path"] == "/api/devices/cancro/releases"
    assert fields["route"] == "/api/devices/{codename}/releases" and fields["status"] == "200"
    assert fields["cache"] in ("hit", "miss") and fields["token"] == "-" and int(fields["bytes"]) == len(body)
    assert float(fields["duration_ms"]) >= 0 and "limit=2" not in str(fields)
