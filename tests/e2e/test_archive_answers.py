"""Whole-archive answers of issue 9, over XFU's whole archive (data/xfu, imported by this module):

- for every variant, from its oldest stable MIUI/HyperOS version, `updates` offers that variant's builds only,
  each package once, none of them an error page, and all of them;
- from its newest one, a known release settles the variant and region (region codes romtrack has no name for,
  such as CM, included), and there is nothing newer;
- `latest` of every device, and `/api/releases/latest`, hold the newest release of every variant, branch and type,
  never an error page.

The expected answers come from rules written out here (../shared/DOMAIN.md): a version's device code, region code
and suffix are read with this file's own pattern, a package's variant from its file name (`<variant>_images_`,
`<variant>-ota_full-`, or `miui_<MIUI name>_` looked up in devices.yml), "newer" is a higher version by this file's
own comparison, and a package of a few hundred bytes is not a ROM. Which releases belong to a variant is read from
the database, but every offered release must also be of the asked variant by those independent rules.
"""

import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest
import yaml

import conftest

IMPORT_FILES = []  # the module imports the whole archive itself (the pages come in a tarball)

XFU = os.path.join(conftest.REPO, "data", "xfu")

# MIUI and HyperOS versions: V12.5.3.0.RKHMIXM = numbers, Android letter R, device code KH, region code MI, suffix XM
VERSION = re.compile(r"^(V|OS|A)(\d+(?:\.\d+)+)\.([A-Z])([A-Z]{2})([A-Z]{2})([A-Z]{2})$")
# suffixes that mark a sub-variant sharing its sibling's device and region codes (angelicain_in_rf_global: RF)
MARKERS = {"RF": "_rf_", "FK": "_fk_"}
MIN_ROM_BYTES = 1000000  # the smallest ROM is hundreds of MB; "484 Bytes" is an error page XFU recorded


def parse(version):
    """(is HyperOS, numbers, device code, region code, suffix) of a MIUI/HyperOS version, or None."""
    m = VERSION.match(version)
    if m is None:
        return None
    return (m.group(1) == "OS", tuple(int(n) for n in m.group(2).split(".")), m.group(4), m.group(5), m.group(6))


def newer_key(version):
    """DOMAIN's "newer" within a line: HyperOS continues MIUI, then the numbers compared as numbers."""
    p = parse(version)
    return (p[0], p[1])


def rank(version):
    """The order of "newest" among all versions of a group: known grammars first, then newer_key (weekly 7.3.23 and
    public beta V14.0.23.4.17.DEV by their numbers too)."""
    m = re.match(r"^(OS|V|A)?(\d+(?:\.\d+)+)(?:\.([A-Z]{7}|DEV))?$", version)
    if not m or (m.group(1) is None and version.count(".") != 2) or (m.group(1) and not m.group(3)):
        return (0, 0, ())
    return (1, 1 if m.group(1) == "OS" else 0, tuple(int(n) for n in m.group(2).split(".")))


def plausible(size):
    return size is None or size >= MIN_ROM_BYTES


class Archive:
    """The releases as the database holds them, and devices.yml's MIUI names, read by the test."""

    COLUMNS = ("id", "device", "variant", "version", "branch", "type", "region", "size", "md5", "filename", "date")

    def __init__(self, rows, devices):
        self.releases = []
        for row in rows:
            r = dict(zip(self.COLUMNS, row))
            r["id"] = int(r["id"])
            r["size"] = int(r["size"]) if r["size"] is not None else None
            self.releases.append(r)
        self.by_variant = {}
        for r in self.releases:
            self.by_variant.setdefault(r["variant"], []).append(r)
        self.variants_of_device = {}
        for r in self.releases:
            self.variants_of_device.setdefault(r["device"], set()).add(r["variant"])
        self.miui_names = {}
        for variant, (_, miui_name) in devices.items():
            self.miui_names.setdefault(miui_name, set()).add(variant)

    def variants_by_filename(self, filename):
        """The variants a package's file name names: one for `<variant>_images_` and `<variant>-ota_full-`, those
        devices.yml lists under its MIUI name for `miui_<name>_`; empty when the name says nothing."""
        for pattern in (r"^([a-z0-9_]+?)_images_", r"^([a-z0-9_]+?)-images-", r"^([a-z0-9_]+?)-ota_full-"):
            m = re.match(pattern, filename)
            if m:
                return {m.group(1)}
        m = re.match(r"^miui_([A-Za-z0-9]+)_", filename)
        return set(self.miui_names.get(m.group(1), ())) if m else set()


@pytest.fixture(scope="module")
def archive(stack):
    # 34,378 small files: written to memory where there is some, they unpack in seconds instead of half a minute
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    pages = tempfile.mkdtemp(prefix="romtrack-e2e-pages-", dir=shm or stack.tmpdir)
    try:
        subprocess.run(["tar", "-xJf", os.path.join(XFU, "archive-pages.tar.xz"), "-C", pages], check=True,
                       timeout=120)
        r = stack.romtrack("import", os.path.join(XFU, "devices.yml"), os.path.join(XFU, "latest.yml"),
                           os.path.join(pages, "pages"), timeout=540)  # a bound on a hang: under ASan with the
        # change log's triggers (sql/011) the import takes over 4 minutes on this machine
        assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(pages, ignore_errors=True)
    rows = stack.psql("SELECT r.id, d.codename, v.codename, r.version, r.branch::text, r.type::text, r.region::text,"
                      " r.size_bytes, r.md5, r.filename, to_char(r.release_date, 'YYYY-MM-DD')"
                      " FROM release r JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id")
    with open(os.path.join(XFU, "devices.yml"), encoding="utf-8") as f:
        devices = yaml.safe_load(f)
    a = Archive(rows, devices)
    assert len(a.by_variant) > 1200, "the whole archive is imported"
    return a


CONTRACT_SAMPLE = 10
_answers = []


def get(stack, path):
    """GET through nginx. The contract (openapi.yaml) is checked on every answer but a 200, and on one 200 in
    CONTRACT_SAMPLE: validating the thousands of bodies this module reads would take most of its time, and the
    other modules check every answer they get."""
    status, headers, _, doc = stack.get(path, contract=False)
    _answers.append(path)
    if status != 200 or len(_answers) % CONTRACT_SAMPLE == 0:
        conftest._contract().check(path, "GET", status, headers, doc)
    return status, doc


def updates(stack, archive, device, variant, current, problems):
    """updates for current as an updater asks (codename and current); when romtrack asks for the variant, the test
    checks that current is indeed a release of another variant of the device too, and asks again with it. None
    (and a problem noted) when the answer is not a 200."""
    path = "/api/devices/%s/updates?current=%s" % (device, urllib.parse.quote(current))
    status, doc = get(stack, path)
    if status == 400 and doc.get("parameter") == "variant":
        others = {r["variant"] for r in archive.releases
                  if r["device"] == device and r["version"] == current and r["variant"] != variant}
        if not others:
            problems.append("%s: romtrack asks for the variant, but only %s has %s" % (path, variant, current))
        status, doc = get(stack, path + "&variant=" + variant)
    if status != 200:
        problems.append("%s: %d %s" % (path, status, doc.get("detail")))
        return None
    return doc


def stable_lines(archive):
    """Per variant, its stable MIUI/HyperOS releases (the versions the test can read)."""
    for variant, releases in sorted(archive.by_variant.items()):
        ours = [r for r in releases if r["branch"] == "stable" and parse(r["version"]) is not None]
        if ours:
            yield variant, ours


def offered_problems(archive, variant, device, oldest, offered):
    """What is wrong with the releases offered to variant from its oldest version, by the rules of this file."""
    problems = []
    _, _, dev_code, region_code, _ = parse(oldest["version"])
    marked = {m for m, tag in MARKERS.items() if tag in variant}
    siblings_marks = {m for m, tag in MARKERS.items()
                      if any(tag in v for v in archive.variants_of_device[device] if v != variant)}
    for r in offered:
        p = parse(r["version"])
        named = archive.variants_by_filename(r["filename"])
        if r["variant"] != variant or r["codename"] != device:
            problems.append("%s, a build of %s" % (r["filename"], r["variant"]))
        if p is None or (p[2], p[3]) != (dev_code, region_code):
            problems.append("%s: other device or region code" % r["version"])
        elif newer_key(r["version"]) <= newer_key(oldest["version"]):
            problems.append("%s is not newer" % r["version"])
        elif (marked and p[4] not in marked) or (not marked and p[4] in siblings_marks):
            problems.append("%s: a sibling's suffix" % r["version"])
        if named and variant not in named:
            problems.append("%s names %s" % (r["filename"], ", ".join(sorted(named))))
        if not plausible(r["size"]) or "size-implausible" in r["warnings"]:
            problems.append("%s: %s bytes, not a ROM" % (r["filename"], r["size"]))
        if (r["branch"], r["type"]) != ("stable", "recovery"):
            problems.append("%s: %s %s" % (r["filename"], r["branch"], r["type"]))
    # each package once: one file, one MD5, and no name that is another's glued to a prefix
    names = [r["filename"] for r in offered]
    md5s = [r["md5"] for r in offered if r["md5"]]
    if len(set(names)) != len(names) or len(set(md5s)) != len(md5s):
        problems.append("a package offered twice")
    problems += ["%s is %s glued to a prefix" % (a, b) for a in names for b in names if a != b and a.endswith(b)]
    # and all of them: the variant's newer stable recovery ROMs of the same device and region codes
    expected = sorted(
        (r for r in archive.by_variant[variant]
         if r["branch"] == "stable" and r["type"] == "recovery" and plausible(r["size"])
         and parse(r["version"]) and parse(r["version"])[2:4] == (dev_code, region_code)
         and newer_key(r["version"]) > newer_key(oldest["version"])),
        key=lambda r: (newer_key(r["version"]), r["date"] or "", r["id"]), reverse=True)[:100]
    if [r["id"] for r in offered] != [r["id"] for r in expected]:
        missing = [r["version"] for r in expected if r["id"] not in {o["id"] for o in offered}]
        problems.append("not the expected list (missing: %s)" % ", ".join(missing[:5]))
    return problems


def test_updates_offer_only_the_variants_own_builds(stack, archive):
    problems, checked = [], 0
    for variant, ours in stable_lines(archive):
        device = ours[0]["device"]
        oldest = min(ours, key=lambda r: (newer_key(r["version"]), r["id"]))
        doc = updates(stack, archive, device, variant, oldest["version"], problems)
        if doc is None:
            continue
        wrong = offered_problems(archive, variant, device, oldest, doc["data"])
        if doc["current"].get("variant") != variant:
            wrong.append("current says variant %s" % doc["current"].get("variant"))
        problems += ["%s from %s: %s" % (variant, oldest["version"], w) for w in wrong]
        checked += 1
    problems.sort(key=lambda p: "current says" in p)  # what was offered first, then what current says
    assert not problems, "%d problems:\n%s" % (len(problems), "\n".join(problems[:60]))
    assert checked > 1200


def test_a_known_current_settles_its_variant_and_region(stack, archive):
    """From each variant's newest stable version: a known release, so 200 (never "region is required"), the
    release's own variant and region, and nothing newer."""
    problems, codes = [], set()
    for variant, ours in stable_lines(archive):
        newest = max(ours, key=lambda r: (newer_key(r["version"]), r["id"]))
        doc = updates(stack, archive, newest["device"], variant, newest["version"], problems)
        if doc is None:
            continue
        regions = {r["region"] for r in ours if r["version"] == newest["version"]}
        if doc["current"].get("variant") != variant or doc["current"]["region"] not in regions:
            problems.append("%s at %s: current says %s" % (variant, newest["version"], doc["current"]))
        if doc["data"]:
            problems.append("%s at %s, its newest, is offered %s" % (
                variant, newest["version"], [r["filename"] for r in doc["data"]][:3]))
        codes.add(parse(newest["version"])[3])
    problems.sort(key=lambda p: "current says" in p)
    assert not problems, "%d problems:\n%s" % (len(problems), "\n".join(problems[:60]))
    assert "CM" in codes, "the archive's versions with a region code romtrack has no name for were reached"


def newest_by_group(releases):
    expected = {}
    for r in releases:
        if not plausible(r["size"]):
            continue
        key = (r["variant"], r["branch"], r["type"])
        if key not in expected or (rank(r["version"]), r["date"] or "", r["id"]) > \
                (rank(expected[key]["version"]), expected[key]["date"] or "", expected[key]["id"]):
            expected[key] = r
    return {k: r["id"] for k, r in expected.items()}


def test_latest_of_every_device_has_every_variant(stack, archive):
    by_device = {}
    for r in archive.releases:
        by_device.setdefault(r["device"], []).append(r)
    for device, releases in sorted(by_device.items()):
        status, doc = get(stack, "/api/devices/%s/latest" % device)
        assert status == 200
        got = {(r["variant"], r["branch"], r["type"]): r["id"] for r in doc["data"]}
        assert got == newest_by_group(releases), device


def test_all_latest_has_every_variant_and_no_error_page(stack, archive):
    items, path = [], "/api/releases/latest?limit=500"
    for _ in range(100):  # a bounded walk: about 20 pages
        status, doc = get(stack, path)
        assert status == 200
        items += doc["data"]
        path = doc["next"]
        if path is None:
            break
    assert path is None
    assert {(r["variant"], r["branch"], r["type"]): r["id"] for r in items} == newest_by_group(archive.releases)
