"""Importing XFU download pages end to end: the seed pages, real archive pages, bad files, updates, exports.

The expected values are read from the pages here, with a few lines of Python, independently of the C reader.
"""

import glob
import html
import json
import os
import re
import subprocess

import pytest
import yaml

import conftest
from contract import Contract

SEEDS = ["tests/data/pages/valid/cancro-weekly-7.3.23.md", "tests/data/pages/valid/gemini-weekly-7.3.23.md"]
IMPORT_FILES = ["data/sample/devices.yml"] + SEEDS

PAGES = os.path.join(conftest.REPO, "tests", "data", "pages")
CONTRACT = Contract()
COUNTS_SQL = ("SELECT (SELECT count(*) FROM device), (SELECT count(*) FROM variant), "
              "(SELECT count(*) FROM display_name), (SELECT count(*) FROM release), "
              "(SELECT count(*) FROM release_name)")
UNITS = {"Bytes": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}


def cards_of(path):
    """The cards of a page as dicts, read with regular expressions (the oracle for the C reader)."""
    text = open(path, encoding="utf-8").read()
    cards = []
    for chunk in text.split('<div class="card card-body">')[1:]:
        def field(label):
            m = re.search(r"<b>%s: </b>\s*(?:<[^>]+>\s*)?([^<]*)" % re.escape(label), chunk)
            return html.unescape(m.group(1).strip()) if m else None
        size = field("Size")
        number, unit = size.split()
        buttons = re.findall(r"window\.open\('([^']*)'[^>]*>\s*<i[^>]*></i>\s*([^<]*)</button>", chunk)
        cards.append({
            "name": field("Device"),
            "codename": field("Codename"),
            "filename": field("Package Name"),
            "md5": None if field("MD5") == "Unknown" else field("MD5"),
            "date": None if field("Release Date") == "None" else field("Release Date"),
            "size": round(float(number) * UNITS[unit]),
            "links": [url for url, label in buttons if "Incremental" not in label],
        })
    return cards


def counts(stack):
    return stack.psql(COUNTS_SQL)[0]


def api(stack, path):
    status, headers, body, doc = stack.get(path)
    CONTRACT.check(path, "GET", status, headers, doc)
    return status, doc


def test_seed_page_is_one_release_per_package(stack):
    cards = cards_of(os.path.join(conftest.REPO, SEEDS[0]))
    assert len(cards) == 6
    packages = {}
    for card in cards:
        packages.setdefault(card["filename"], []).append(card)
    # The issue text counts 5 packages on this page; the page lists 4 distinct file names
    # (two of them under two display names each).
    assert len(packages) == 4
    status, doc = api(stack, "/api/devices/cancro/releases/weekly/7.3.23")
    assert status == 200 and doc["next"] is None
    releases = {r["filename"]: r for r in doc["data"]}
    assert set(releases) == set(packages)
    for filename, copies in packages.items():
        r = releases[filename]
        assert r["names"] == sorted({c["name"] for c in copies})
        assert r["size"] == copies[0]["size"]
        assert r["date"] == copies[0]["date"]
        assert r["md5"] == copies[0]["md5"]
        assert r["links"] == copies[0]["links"]
        assert (r["codename"], r["version"], r["branch"]) == ("cancro", "7.3.23", "weekly")
        assert r["incremental"] is None and r["warnings"] == []
    # the variants come from devices.yml, found by display name
    assert releases["miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip"]["variant"] == "cancro_global"
    assert releases["miui_MI3WMI4W_7.3.23_29ce21e245_6.0.zip"]["variant"] == "cancro"


def test_page_route_errors(stack):
    status, doc = api(stack, "/api/devices/cancro/releases/weekly/9.9.99")
    assert status == 404 and doc["type"] == "urn:romtrack:problem:release-not-found"
    status, doc = api(stack, "/api/devices/nosuch/releases/weekly/7.3.23")
    assert status == 404 and doc["type"] == "urn:romtrack:problem:device-not-found"
    status, doc = api(stack, "/api/devices/cancro/releases/nightly/7.3.23")
    assert status == 400 and doc["parameter"] == "branch"
    status, doc = api(stack, "/api/devices/cancro/releases/weekly/7.3.23?limit=1")
    assert status == 400 and doc["type"] == "urn:romtrack:problem:unknown-parameter"


def test_archive_fixtures_import_and_read_back(stack):
    files = sorted(glob.glob(os.path.join(PAGES, "valid", "*")))
    files = [f for f in files if f.endswith((".md", ".html"))]
    cards = [c for f in files for c in cards_of(f)]
    r = stack.romtrack("import", "--json", os.path.join(PAGES, "valid"))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["files"] == len(files) and report["cards"] == len(cards)
    assert report["releases"] == len({c["filename"] for c in cards})
    assert report["warnings"]["size-implausible"] >= 1 and report["warnings"]["version-unparsed"] >= 1
    # every card's package is served with the page's values
    for card in cards:
        rows = stack.psql("SELECT d.codename, r.branch::text, r.version FROM release r JOIN device d "
                          "ON d.id = r.device_id WHERE r.filename = '%s'" % card["filename"].replace("'", "''"))
        assert len(rows) == 1, card["filename"]
        codename, branch, version = rows[0]
        assert codename == card["codename"]  # the card's own codename, not the folder's
        status, doc = api(stack, "/api/devices/%s/releases/%s/%s" % (codename, branch, version))
        [release] = [x for x in doc["data"] if x["filename"] == card["filename"]]
        assert card["name"] in release["names"]
        assert (release["size"], release["date"]) == (card["size"], card["date"])
        assert release["md5"] == card["md5"] or (card["md5"] is None and release["md5"] is not None)
        assert release["links"][0] == card["links"][0]


def test_incremental_mirrors_and_warnings(stack):
    status, doc = api(stack, "/api/devices/apollo/releases/stable/V12.0.10.0.QJDCNXM")
    recovery = [r for r in doc["data"] if r["type"] == "recovery"][0]
    assert recovery["incremental"] == {
        "from": "V12.0.8.0.QJDCNXM", "to": "V12.0.10.0.QJDCNXM",
        "filename": "miui-blockota-apollo-V12.0.8.0.QJDCNXM-V12.0.10.0.QJDCNXM-d156e09864-10.0.zip",
        "url": "https://bigota.d.miui.com/V12.0.10.0.QJDCNXM/"
               "miui-blockota-apollo-V12.0.8.0.QJDCNXM-V12.0.10.0.QJDCNXM-d156e09864-10.0.zip"}
    assert [l.split("/")[2] for l in recovery["links"]] == [
        "cdnorg.d.miui.com", "bkt-sgp-miui-ota-update-alisgp.oss-ap-southeast-1.aliyuncs.com",
        "bn.d.miui.com", "bigota.d.miui.com", "hugeota.d.miui.com"]
    status, doc = api(stack, "/api/devices/rock/releases/stable-beta/V13.0.2.0.SLUEUXM")
    [rock] = doc["data"]
    assert rock["size"] == 318 and rock["warnings"] == ["size-implausible"] and rock["date"] is None
    status, doc = api(stack, "/api/devices/aries/releases/stable/JLB54.0")
    assert doc["data"][0]["warnings"] == ["version-unparsed"]


def test_import_twice_changes_nothing(stack):
    before = counts(stack)
    r = stack.romtrack("import", "--json", os.path.join(PAGES, "valid"))
    report = json.loads(r.stdout)
    assert (report["inserted"], report["updated"]) == (0, 0) and report["changes"] == []
    assert report["unchanged"] == report["releases"]
    assert counts(stack) == before


def test_stable_beta_later_shown_as_stable(stack):
    original = os.path.join(PAGES, "valid", "rock-V13.0.2.0.SLUEUXM.md")
    page = open(original, encoding="utf-8").read()
    assert "<b>Branch: </b>Stable Beta" in page
    assert stack.romtrack("import", original).returncode == 0
    relabelled = os.path.join(stack.tmpdir, "rock-relabelled.md")
    with open(relabelled, "w", encoding="utf-8") as f:
        f.write(page.replace("<b>Branch: </b>Stable Beta", "<b>Branch: </b>Stable"))
    r = stack.romtrack("import", "--json", relabelled)
    report = json.loads(r.stdout)
    assert (report["inserted"], report["updated"]) == (0, 1)
    [change] = report["changes"]
    assert (change["field"], change["old"], change["new"]) == ("branch", "stable-beta", "stable")
    assert change["filename"] == "miui_ROCKEEAGlobal_V13.0.2.0.SLUEUXM_bf21d4dfb0_12.0.zip"
    status, doc = api(stack, "/api/devices/rock/releases/stable/V13.0.2.0.SLUEUXM")
    assert status == 200 and doc["data"][0]["branch"] == "stable"
    # the old label never comes back: Stable beats Stable Beta
    r = stack.romtrack("import", "--json", original)
    assert json.loads(r.stdout)["updated"] == 0


@pytest.mark.parametrize("name", sorted(os.path.basename(p) for p in glob.glob(os.path.join(PAGES, "invalid", "*.md"))))
def test_bad_page_stops_the_import_and_writes_nothing(stack, name):
    bad = os.path.join(PAGES, "invalid", name)
    expected = open(bad[:-3] + ".expected.err", encoding="utf-8").read().split(": ", 2)[2].strip()
    before = counts(stack)
    r = stack.romtrack("import", os.path.join(PAGES, "valid"), os.path.join(conftest.REPO, "data/sample/latest.yml"), bad)
    assert r.returncode == 1
    assert bad + expected.split(name, 1)[1] in r.stderr, r.stderr
    assert "nothing was written" in r.stderr
    assert counts(stack) == before


def test_truncated_yaml_and_non_utf8_yaml_write_nothing(stack):
    latest = open(os.path.join(conftest.REPO, "data/sample/latest.yml"), encoding="utf-8").read()
    truncated = os.path.join(stack.tmpdir, "truncated.yml")
    with open(truncated, "w", encoding="utf-8") as f:
        f.write(latest[: latest.index("link:", 5000) + 9])
    latin1 = os.path.join(stack.tmpdir, "latin1.yml")
    with open(latin1, "wb") as f:
        f.write(latest.replace("Redmi 1 China", "Redmi 1 Chin\xe4", 1).encode("latin-1"))
    before = counts(stack)
    for path, message in [(truncated, "the version is missing"), (latin1, "the file must be UTF-8")]:
        r = stack.romtrack("import", os.path.join(PAGES, "valid"), path)
        assert r.returncode == 1 and path + ":" in r.stderr and message in r.stderr, r.stderr
        assert counts(stack) == before


def test_export_latest_has_xfu_shape(stack):
    r = stack.romtrack("export")
    assert r.returncode == 0, r.stderr
    entries = yaml.safe_load(r.stdout)
    assert entries and all(set(e) == {"android", "branch", "codename", "date", "link", "md5", "method", "name",
                                      "size", "version"} for e in entries)
    assert all(isinstance(e["android"], str) for e in entries)
    [mi3] = [e for e in entries if e["name"] == "MI 3 Global" and e["method"] == "Recovery"
             and e["branch"] == "Weekly"]
    assert mi3["version"] == "7.3.23" and mi3["size"] == "967.5 MB" and mi3["codename"] == "cancro_global"
    as_json = json.loads(stack.romtrack("export", "--format", "json").stdout)
    assert len(as_json) == len(entries)


def test_export_all_reimports_unchanged(stack):
    dump = os.path.join(stack.tmpdir, "dump.yml")
    r = stack.romtrack("export", "--all")
    assert r.returncode == 0
    with open(dump, "w", encoding="utf-8") as f:
        f.write(r.stdout)
    releases = int(stack.psql("SELECT count(*) FROM release")[0][0])
    r = stack.romtrack("import", "--dry-run", "--json", dump)
    report = json.loads(r.stdout)
    assert report["releases"] == releases
    assert (report["inserted"], report["updated"]) == (0, 0), report["changes"][:5]


def test_check_needs_no_database(stack):
    r = subprocess.run([conftest.ROMTRACK_BIN, "-c", "/nonexistent.yaml", "check",
                        os.path.join(conftest.REPO, SEEDS[1])], capture_output=True, text=True)
    assert r.returncode == 0
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == len(cards_of(os.path.join(conftest.REPO, SEEDS[1]))) == 4


def test_page_route_refuses_a_bad_codename(stack):
    status, doc = api(stack, "/api/devices/a-b/releases/weekly/7.3.23")
    assert status == 400 and doc["parameter"] == "codename"
