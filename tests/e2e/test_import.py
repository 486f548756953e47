"""Importing XFU download pages end to end: the seed pages, real archive pages, bad files, updates, exports.

The expected values are read from the pages here, with a few lines of Python, independently of the C reader.
"""

import glob
import html
import json
import os
import pwd
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


# ---- re-imports and the XFU export, each in a database of its own -----------------------------------------------

XFU = os.path.join(conftest.REPO, "data", "xfu")
SAMPLE = [os.path.join(conftest.REPO, "data", "sample", f) for f in ("devices.yml", "latest.yml", "pages")]
# The archive folders of the phones whose packages moved between imports (issue 9): wt98007's packages sit on
# HM2013023's pages and under HM2013023's names in latest.yml; the others have a MIUI name two variants share
# (munch, amethyst, marble), or a variant only latest.yml names (lcsh92, picasso, shennong, curtana).
ARCHIVE_FOLDERS = ["pages/miui/updates/" + c for c in ("HM2013023", "lcsh92", "munch", "picasso", "curtana", "marble")] \
    + ["pages/hyperos/updates/" + c for c in ("munch", "shennong", "amethyst", "marble")]


class Database:
    """A fresh, migrated database of the test's PostgreSQL, with a config file of its own."""

    def __init__(self, stack, name):
        self.stack, self.name = stack, name
        stack.psql("DROP DATABASE IF EXISTS %s" % name)
        stack.psql("CREATE DATABASE %s" % name)
        self.config = os.path.join(stack.tmpdir, name + ".yaml")
        with open(self.config, "w") as f:
            f.write("database: \"host=127.0.0.1 port=%d dbname=%s user=romtrack\"\n" % (stack.pg_port, name))
            f.write("migrations: %s\n" % json.dumps(os.path.join(conftest.REPO, "sql")))
        assert self.romtrack("migrate").returncode == 0

    def romtrack(self, *args):
        return subprocess.run([conftest.ROMTRACK_BIN, "-c", self.config, *args], capture_output=True, text=True,
                              timeout=300, env=conftest._child_env())

    def import_(self, *paths):
        r = self.romtrack("import", "--json", *paths)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def variants(self):
        out = subprocess.run([conftest.PSQL, "-X", "-qAt", "-h", "127.0.0.1", "-p", str(self.stack.pg_port),
                              "-U", "romtrack", "-d", self.name, "-c",
                              "SELECT r.filename, v.codename FROM release r JOIN variant v ON v.id = r.variant_id"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return dict(line.split("|") for line in out.splitlines())


@pytest.fixture(scope="module")
def archive_pages(stack):
    """The pages of ARCHIVE_FOLDERS, unpacked from XFU's archive (about 900 pages)."""
    subprocess.run(["tar", "-xJf", os.path.join(XFU, "archive-pages.tar.xz"), "-C", stack.tmpdir] + ARCHIVE_FOLDERS,
                   check=True, timeout=120)
    return os.path.join(stack.tmpdir, "pages")


def variant_changes(report):
    return [(c["filename"], c["old"], c["new"]) for c in report["changes"] if c["field"] == "variant"]


def test_a_smaller_input_moves_no_release(stack, archive_pages):
    db = Database(stack, "reimport")
    full = [os.path.join(XFU, "devices.yml"), os.path.join(XFU, "latest.yml"), archive_pages]
    db.import_(*full)
    before = db.variants()
    # Where the evidence puts them, by the rules (README, import): the file name names a declared variant ...
    assert before["wt98007_images_7.4.27_20170426.0000.00_4.4_cn_aabd82ba12.tgz"] == "wt98007"
    assert before["miui_HMW_7.4.27_e7a648edd5_4.4.zip"] == "wt98007"  # devices.yml: wt98007's MIUI name is HMW
    # ... a MIUI name two variants share (munch_tr_global and munch_tw_global are both MUNCHTWGlobal in
    # devices.yml) goes to the one of the version's region (TW) ...
    assert before["miui_MUNCHTWGlobal_V14.0.1.0.TLMTWXM_1687f58a29_13.0.zip"] == "munch_tw_global"
    # ... else the variant latest.yml names beats the page's phone (lcsh92_wet_xm_td is declared nowhere).
    assert before["lcsh92_wet_xm_td_images_V9.2.2.0.KHECNEK_20180102.0000.00_4.4_cn_7c8837e500.tgz"] \
        == "lcsh92_wet_tdd"
    # script/server's import again (the sample's devices.yml lacks wt98007), then the inputs one by one
    for paths in [SAMPLE, [os.path.join(XFU, "latest.yml")], [archive_pages], [os.path.join(XFU, "latest.yml")],
                  [os.path.join(XFU, "devices.yml")], [archive_pages]]:
        report = db.import_(*paths)
        assert variant_changes(report) == [], paths
        assert db.variants() == {**before, **{f: v for f, v in db.variants().items() if f not in before}}, paths


@pytest.mark.parametrize("order", [
    ["latest", "pages", "devices+pages"],
    ["pages", "latest", "devices", "devices+pages"],
    ["latest", "sample", "devices+pages", "latest"],
])
def test_the_order_of_imports_does_not_decide_variants(stack, archive_pages, order):
    paths = {"latest": [os.path.join(XFU, "latest.yml")], "pages": [archive_pages],
             "devices": [os.path.join(XFU, "devices.yml")], "sample": SAMPLE,
             "devices+pages": [os.path.join(XFU, "devices.yml"), archive_pages]}
    one_run = Database(stack, "onerun")
    one_run.import_(os.path.join(XFU, "devices.yml"), os.path.join(XFU, "latest.yml"), archive_pages)
    expected = one_run.variants()
    db = Database(stack, "inturn")
    for step in order:
        db.import_(*paths[step])
    got = db.variants()
    assert {f: got[f] for f in expected if got.get(f) != expected[f]} == {}


# What `romtrack export` writes differently from XFU's latest.yml, and why (the README lists the same).
EXPORT_DIFFERENCES = {
    # XFU's latest.yml repeats 7 entries verbatim (HM2013023_sg_global and lte26007): one package under one name
    # is one entry.
    "repeated entries written once",
    # Within a codename XFU keeps the order of its tracker, which no field of the data gives; romtrack writes
    # branch, type, newest first, then the names in byte order. Codenames are in XFU's (byte) order.
    "order within a codename",
}


def test_export_is_xfus_latest_yml(stack):
    db = Database(stack, "export")
    db.import_(os.path.join(XFU, "latest.yml"))
    r = db.romtrack("export")
    assert r.returncode == 0, r.stderr
    exported = yaml.safe_load(r.stdout)
    with open(os.path.join(XFU, "latest.yml"), encoding="utf-8") as f:
        original = yaml.safe_load(f)

    def key(e):
        return (e["codename"], e["link"].rsplit("/", 1)[1], e["name"])

    # repeated entries written once: the repeats are identical, so nothing is lost
    by_key = {}
    for e in original:
        assert by_key.setdefault(key(e), e) == e
    assert "repeated entries written once" in EXPORT_DIFFERENCES
    assert len(original) - len(by_key) == 7 and len(exported) == len(by_key)
    # every entry, field by field (md5 null where XFU has null, the size and date as XFU writes them)
    exported_by_key = {key(e): e for e in exported}
    assert set(exported_by_key) == set(by_key)
    for k, e in by_key.items():
        assert exported_by_key[k] == e, k
    # the order: codenames as XFU sorts them; within one, the same entries
    assert "order within a codename" in EXPORT_DIFFERENCES
    assert [e["codename"] for e in exported] == [e["codename"] for e in original if e is by_key[key(e)]]
    assert sum(e["md5"] is None for e in exported) == sum(e["md5"] is None for e in by_key.values()) > 0


def test_mirrors_beyond_eight_are_kept_and_too_many_refused(stack):
    original = open(os.path.join(PAGES, "valid", "apollo-V12.0.10.0.QJDCNXM.md"), encoding="utf-8").read()
    filename = "miui_APOLLO_V12.0.10.0.QJDCNXM_7b1e9f67ab_10.0.zip"
    last = "Full ROM Mirror 5</button>"

    def with_mirrors(n):
        extra = "".join(' <button type="button" id="download" class="btn btn-primary" onclick="window.open('
                        "'https://mirror%d.example.com/V12.0.10.0.QJDCNXM/%s', '_blank');\"><i class=\"fa "
                        'fa-download"></i> Full ROM Mirror %d</button>' % (i, filename, i) for i in range(6, 6 + n))
        return original.replace(last, last + extra, 1)

    # 5 mirrors on the page + 5 more = 10 links: the importer kept 8 and dropped the rest without a word
    path = os.path.join(stack.tmpdir, "apollo-10-links.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(with_mirrors(5))
    r = stack.romtrack("import", path)
    assert r.returncode == 0, r.stderr
    links = stack.psql("SELECT cardinality(links) FROM release WHERE filename = '%s'" % filename)
    assert links == [("10",)]
    # 5 + 28 = 33 links, more than the 32 a release keeps: an error at the card's Download line
    path = os.path.join(stack.tmpdir, "apollo-33-links.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(with_mirrors(28))
    # the line of the <li> that holds the card's Download field
    lines = original.splitlines()
    button = next(i for i, text in enumerate(lines) if last in text)
    line = max(i for i in range(button + 1) if "<li" in lines[i]) + 1
    before = counts(stack)
    r = stack.romtrack("import", path)
    assert r.returncode == 1
    assert "%s:%d: the card has 33 download links, more than the 32 kept" % (path, line) in r.stderr, r.stderr
    assert counts(stack) == before


# ---- releases in the API's JSON shape: the same pipeline as pages (issue 11) ---------------------------------------

def db_json(db, sql):
    """The value of a query that returns one JSON document, in the database db."""
    out = subprocess.run([conftest.PSQL, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                          "-p", str(db.stack.pg_port), "-U", "romtrack", "-d", db.name, "-c", sql],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


# Every stored value of every release, variant and display name, without ids and timestamps: two databases that
# give the same dump hold the same data.
DUMP_SQL = """SELECT json_build_object(
 'releases', (SELECT json_agg(to_jsonb(r) - 'id' - 'variant_id' - 'device_id' - 'modified_at'
     || jsonb_build_object('variant', v.codename, 'device', d.codename,
         'names', (SELECT json_agg(n.name ORDER BY n.name) FROM release_name rn
                   JOIN display_name n ON n.id = rn.display_name_id WHERE rn.release_id = r.id))
     ORDER BY r.filename)
   FROM release r JOIN variant v ON v.id = r.variant_id JOIN device d ON d.id = r.device_id),
 'variants', (SELECT json_agg(to_jsonb(v) - 'id' - 'device_id' || jsonb_build_object('device', d.codename)
     ORDER BY v.codename) FROM variant v JOIN device d ON d.id = v.device_id),
 'names', (SELECT json_agg(json_build_array(v.codename, n.name, n.declared) ORDER BY v.codename, n.name)
   FROM display_name n JOIN variant v ON v.id = n.variant_id))"""


def api_releases_as_input(stack, path):
    """The releases of an API read as an input: what reads return, less what romtrack derives (id, region,
    warnings) and the variant (left to the names, as a page leaves it)."""
    status, doc = api(stack, path)
    assert status == 200 and doc["data"]
    return [{k: v for k, v in r.items() if k not in ("id", "region", "warnings", "variant")} for r in doc["data"]]


def write_json(stack, name, doc):
    path = os.path.join(stack.tmpdir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    return path


def test_seed_pages_and_their_releases_as_json_give_one_database(stack):
    releases = [r for path in ("/api/devices/cancro/releases/weekly/7.3.23", "/api/devices/gemini/releases/weekly/7.3.23")
                for r in api_releases_as_input(stack, path)]
    # the reads: 4 packages of cancro's page and 4 of gemini's, each with its names
    assert len(releases) == 8 and sum(len(r["names"]) for r in releases) == 10
    releases_json = write_json(stack, "seed-releases.json", {"data": releases})
    devices = os.path.join(conftest.REPO, "data/sample/devices.yml")
    pages = Database(stack, "seedpages")
    pages.import_(devices, *[os.path.join(conftest.REPO, s) for s in SEEDS])
    as_json = Database(stack, "seedjson")
    report = as_json.import_(devices, releases_json)
    assert (report["cards"], report["releases"], report["inserted"]) == (10, 8, 8)
    assert db_json(pages, DUMP_SQL) == db_json(as_json, DUMP_SQL)
    # the report names each new release with its id (the API's Location when there is one)
    stored = db_json(as_json, "SELECT json_agg(json_build_object('id', id, 'filename', filename) ORDER BY filename)"
                              " FROM release")
    assert report["inserted_releases"] == stored
    # the same JSON again changes nothing
    again = as_json.import_(releases_json)
    assert (again["inserted"], again["updated"], again["unchanged"], again["changes"]) == (0, 0, 8, [])


def test_json_with_one_bad_release_writes_nothing(stack):
    [good, bad, worse] = api_releases_as_input(stack, "/api/devices/cancro/releases/weekly/7.3.23")[:3]
    # a new package, which alone would be inserted
    good = dict(good, filename="miui_new_7.3.24_6.0.zip", version="7.3.24",
                links=["https://bigota.d.miui.com/7.3.24/miui_new_7.3.24_6.0.zip"])
    bad = dict(bad, md5="not an md5")
    worse = dict(worse, bogus=1, size="967.5 MB")
    path = write_json(stack, "one-bad.json", {"data": [good, bad, worse]})
    before = counts(stack)
    r = stack.romtrack("import", path)
    assert r.returncode == 1
    # every error, each with its JSON pointer
    assert "%s: /data/1/md5: must be 32 hex digits" % path in r.stderr, r.stderr
    assert "%s: /data/2/bogus: unknown member" % path in r.stderr
    assert "%s: /data/2/size: must be the size in bytes" % path in r.stderr
    assert "/data/0" not in r.stderr and "nothing was written" in r.stderr
    assert counts(stack) == before
    # malformed JSON: where
    broken = os.path.join(stack.tmpdir, "broken.json")
    with open(broken, "w") as f:
        f.write('{"data": [\n {"version": "1",,}\n]}')
    r = stack.romtrack("import", broken)
    assert r.returncode == 1 and "%s:2:18: malformed JSON" % broken in r.stderr, r.stderr


CORRECTED = "miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip"


def test_authoritative_import_sets_exactly_the_given_fields(stack):
    db = Database(stack, "correction")
    page = os.path.join(conftest.REPO, SEEDS[0])
    db.import_(os.path.join(conftest.REPO, "data/sample/devices.yml"), page)
    [card] = [c for c in cards_of(page) if c["filename"] == CORRECTED][:1]
    # the page's one link, and a mirror the first JSON import adds
    links = card["links"] + ["https://hugeota.d.miui.com/7.3.23/" + CORRECTED]
    assert card["md5"] is not None and len(links) == 2
    release = {"codename": card["codename"], "names": [card["name"]], "version": "7.3.23", "branch": "stable",
               "type": "recovery", "size": card["size"], "md5": card["md5"], "date": card["date"],
               "links": links, "filename": CORRECTED}

    def stored():
        return db_json(db, "SELECT json_build_object('branch', branch, 'md5', md5, 'links', links, 'date', release_date)"
                           " FROM release WHERE filename = '%s'" % CORRECTED)

    # the import's rules: weekly -> stable is a relabelling; Stable is never demoted; the longest mirror list wins
    db.import_(write_json(stack, "c1.json", release))
    assert stored() == {"branch": "stable", "md5": card["md5"], "links": links, "date": card["date"]}
    relabel = dict(release, branch="stable-beta", links=links[:1], md5=None)
    report = db.import_(write_json(stack, "c2.json", relabel))
    assert report["updated"] == 0 and stored() == {"branch": "stable", "md5": card["md5"], "links": links,
                                                   "date": card["date"]}
    # a maintainer's correction: the given fields are final (null too); date is not given and stays
    correction = {k: v for k, v in relabel.items() if k != "date"}
    r = db.romtrack("import", "--json", "--authoritative", write_json(stack, "c3.json", correction))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["authoritative"] is True and report["updated"] == 1
    assert {(c["field"], c["old"], c["new"]) for c in report["changes"]} == {
        ("branch", "stable", "stable-beta"), ("md5", card["md5"], None),
        ("links", "{%s}" % ",".join(links), "{%s}" % links[0])}
    assert stored() == {"branch": "stable-beta", "md5": None, "links": links[:1], "date": card["date"]}
    # the same correction again changes nothing more
    r = db.romtrack("import", "--json", "--authoritative", write_json(stack, "c3.json", correction))
    assert json.loads(r.stdout)["updated"] == 0


def test_import_sets_the_attribution_for_triggers(stack):
    # a trigger of the test's own reads the settings the import sets after BEGIN (the audit's triggers read them so)
    db = Database(stack, "attribution")
    db_json(db, """CREATE TABLE seen (actor text, via text, request_id text, reason text);
        CREATE FUNCTION seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          INSERT INTO seen VALUES (current_setting('romtrack.actor', true), current_setting('romtrack.via', true),
            current_setting('romtrack.request_id', true), current_setting('romtrack.reason', true));
          RETURN NULL; END $$;
        CREATE TRIGGER seen AFTER INSERT OR UPDATE ON release FOR EACH STATEMENT EXECUTE FUNCTION seen();
        SELECT '1'""")
    db.import_(os.path.join(conftest.REPO, "data/sample/devices.yml"), os.path.join(conftest.REPO, SEEDS[0]))
    user = pwd.getpwuid(os.geteuid()).pw_name
    rows = db_json(db, "SELECT json_agg(DISTINCT jsonb_build_array(actor, via, request_id, reason)) FROM seen")
    assert rows == [["cli:" + user, "romtrack import", "", ""]]
    # after the transaction they are gone: a change by hand is not the import's
    assert db_json(db, "SELECT to_json(coalesce(current_setting('romtrack.actor', true), ''))") == ""
