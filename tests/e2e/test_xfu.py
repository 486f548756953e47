"""XFU's own files served live (issue 13): GET /api/xfu/latest.yml, /api/xfu/devices.yml, /api/xfu/rss/{codename}.xml.

The expected bytes are XFU's, not romtrack's: data/xfu/devices.yml and latest.yml as XFU published them (imported
into this module's database), and one real item of XFU's rss/HM2013023.xml kept as a fixture
(tests/data/xfu/README.md). How a consumer sees them is checked with what XFU's users read them with: python3-yaml
for the YAML, feedparser for the RSS. Which entries a feed has follows XFU's rule (its tracker's rss.py: a feed per
codename before the first "_", an item per latest entry), written out here.
"""

import collections
import functools
import json
import os
import re

import feedparser
import yaml

import conftest

IMPORT_FILES = ["data/xfu/devices.yml", "data/xfu/latest.yml"]
# one worker: a cached answer that a change failed to drop would be the very next answer
SETTINGS = {"workers": 1}

XFU = os.path.join(conftest.REPO, "data", "xfu")
FIXTURE_ITEM = os.path.join(conftest.REPO, "tests", "data", "xfu", "rss-HM2013023-item.xml")
# the release of the fixture's item: filed under wt98007 (its file name), listed by XFU under HM2013023's names
FIXTURE_FILENAME = "wt98007_images_7.4.27_20170426.0000.00_4.4_cn_aabd82ba12.tgz"
FIXTURE_CHANGELOG = "[Other]\nOptimized system performance\nImproved system security and stability"


def entries_of(text):
    """A latest.yml's entries as their text, each from its "- " line to the next."""
    return re.split(r"(?m)^(?=- )", text)[1:]


def xfu_text(name):
    with open(os.path.join(XFU, name), encoding="utf-8") as f:
        return f.read()


def fetch(stack, path, accept=None):
    status, headers, body, _ = stack.get(path, {"Accept": accept} if accept else None)
    assert status == 200, (path, status, body[:300])
    return headers, body


def test_devices_yml_is_xfus_byte_for_byte(stack):
    headers, body = fetch(stack, "/api/xfu/devices.yml")
    assert headers["content-type"] == "application/yaml"
    assert body.decode("utf-8") == xfu_text("devices.yml")


def test_latest_yml_has_xfus_entries_byte_for_byte(stack):
    headers, body = fetch(stack, "/api/xfu/latest.yml")
    assert headers["content-type"] == "application/yaml"
    ours, theirs = entries_of(body.decode("utf-8")), entries_of(xfu_text("latest.yml"))
    # XFU repeats 7 entries verbatim (README, "export"): romtrack writes each once
    assert len(theirs) - len(set(theirs)) == 7 and len(ours) == len(set(ours)) == len(set(theirs))
    assert collections.Counter(ours) == collections.Counter(set(theirs))
    # codenames in XFU's order; within one, romtrack's (branch, type, newest first, name)
    codename = re.compile(r"(?m)^  codename: (\S+)$")
    first_of = list(dict.fromkeys(theirs))
    assert [codename.search(e).group(1) for e in ours] == [codename.search(e).group(1) for e in first_of]
    # a YAML reader gets XFU's values, and one writer: `romtrack export` writes the same bytes
    def canonical(entries):
        return sorted(json.dumps(e, sort_keys=True, default=str) for e in entries)
    assert canonical(yaml.safe_load(body)) == sorted(set(canonical(yaml.safe_load(xfu_text("latest.yml")))))
    r = stack.romtrack("export")
    assert r.returncode == 0, r.stderr
    assert r.stdout == body.decode("utf-8")


@functools.lru_cache(maxsize=None)
def xfu_latest():
    return yaml.load(xfu_text("latest.yml"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def xfu_feed_entries(codename):
    """The (title, link) of each item XFU's tracker puts in rss/<codename>.xml, from latest.yml: every entry whose
    codename before the first "_" is the feed's, titled "MIUI {version} {method} update for {name}"."""
    return {(f"MIUI {e['version']} {e['method']} update for {e['name']}", e["link"])
            for e in xfu_latest() if e["codename"].split("_")[0] == codename}


def test_rss_has_xfus_items_and_item_bytes_and_follows_changes(stack):
    path = "/api/xfu/rss/HM2013023.xml"
    # until the worker answers it from its cache (the access log says so): the change below must drop it
    for _ in range(5):
        _, before = fetch(stack, path)
        if re.search(r"path=%s .* cache=hit " % re.escape(path), stack.full_log()):
            break
    else:
        raise AssertionError("the feed was never answered from the cache")
    fixture = open(FIXTURE_ITEM, encoding="utf-8").read()
    assert fixture not in before.decode("utf-8")  # its changelog is not in latest.yml
    # the release is wt98007's: a change to it must reach the feed of HM2013023, whose names list it
    stack.psql("UPDATE release SET changelog = '%s' WHERE filename = '%s'"
               % (FIXTURE_CHANGELOG.replace("'", "''"), FIXTURE_FILENAME))
    headers, body = fetch(stack, path)
    assert headers["content-type"] == "application/rss+xml"
    text = body.decode("utf-8")
    assert fixture in text
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<rss xmlns:atom=\"http://www.w3.org/2005/Atom\""
                           " xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" version=\"2.0\"><channel>"
                           "<title>Redmi 1 W MIUI Updates Tracker by romtrack</title>")

    feed = feedparser.parse(body)
    assert not feed.bozo and feed.version == "rss20"
    assert {(e.title, e.link) for e in feed.entries} == xfu_feed_entries("HM2013023")
    assert len(feed.entries) == len(xfu_feed_entries("HM2013023"))
    # a reader gets from romtrack's item what it gets from XFU's
    xfu_item = feedparser.parse("<?xml version='1.0' encoding='UTF-8'?><rss version=\"2.0\"><channel>"
                                "<title>t</title>%s</channel></rss>" % fixture).entries[0]
    [ours] = [e for e in feed.entries if e.title == xfu_item.title]
    for field in ("title", "link", "summary", "published_parsed"):
        assert ours[field] == xfu_item[field], field
    assert "Optimized system performance<br />Improved" in ours.summary


def test_every_feed_xfu_has_follows_xfus_rule(stack):
    """Every codename before a "_" of XFU's devices.yml has its feed (rss/dandelion.xml has dandelion_c3l2's
    entries, rss/ido.xml exists though no romtrack device is "ido"), with XFU's items, each naming that codename;
    an entry whose MD5 XFU does not know says None, as XFU's Python writes it."""
    bases = sorted({codename.split("_")[0] for codename in yaml.safe_load(xfu_text("devices.yml"))})
    assert {"dandelion", "ido", "mione"} <= set(bases)
    unknown_md5 = 0
    for codename in bases:
        _, feed_body = fetch(stack, "/api/xfu/rss/%s.xml" % codename, accept="application/rss+xml")
        feed = feedparser.parse(feed_body)
        assert not feed.bozo, codename
        assert {(e.title, e.link) for e in feed.entries} == xfu_feed_entries(codename), codename
        assert all("Codename: %s" % codename in re.sub("<[^>]*>", "", e.summary) for e in feed.entries), codename
        md5s = {(f"MIUI {e['version']} {e['method']} update for {e['name']}", e["link"]): e["md5"]
                for e in xfu_latest() if e["codename"].split("_")[0] == codename}
        for e in feed.entries:
            md5 = md5s[(e.title, e.link)]
            assert ("MD5: %s" % (md5 or "None")) in re.sub("<[^>]*>", "", e.summary), (codename, e.title)
            unknown_md5 += md5 is None
    assert unknown_md5 > 0  # the case is in XFU's data


def test_rss_answers_errors_as_problems(stack):
    status, headers, _, doc = stack.get("/api/xfu/rss/nosuchdevice.xml")
    assert status == 404 and doc["type"] == "urn:romtrack:problem:device-not-found"
    # XFU's feeds go by the codename before the first "_": none is named after a variant
    status, headers, _, doc = stack.get("/api/xfu/rss/dandelion_c3l2.xml")
    assert status == 404 and doc["type"] == "urn:romtrack:problem:device-not-found"
    status, _, _, doc = stack.get("/api/xfu/rss/bad-codename!.xml")
    assert status == 400 and doc["type"] == "urn:romtrack:problem:invalid-parameter"
    for path in ("/api/xfu/rss/HM2013023", "/api/xfu/rss/.xml", "/api/xfu/rss/HM2013023.atom"):
        status, _, _, doc = stack.get(path)
        assert status == 404 and doc["type"] == "urn:romtrack:problem:not-found", path
    status, _, _, _ = stack.get("/api/xfu/latest.yml?codename=HM2013023")
    assert status == 400


def test_xfu_files_revalidate(stack):
    for path in ("/api/xfu/latest.yml", "/api/xfu/devices.yml", "/api/xfu/rss/HM2013023.xml"):
        headers, body = fetch(stack, path)
        assert headers["cache-control"].startswith("public, max-age=60")
        status, again, rest, _ = stack.get(path, {"If-None-Match": headers["etag"]})
        assert status == 304 and rest == b"" and again["etag"] == headers["etag"], path


def test_devices_yml_lists_a_variant_under_a_name_it_has(stack):
    """A variant listed under a name (devices.yml) whose names are then replaced (PUT of the variant) is listed
    under its first remaining name, not under the name it no longer has. Runs last: it adds a variant."""
    path = os.path.join(stack.tmpdir, "listed.yml")
    with open(path, "w") as f:
        f.write("zzlisted_global:\n- Listed Phone Global\n- ZZLISTEDGlobal\n")
    r = stack.romtrack("import", path)
    assert r.returncode == 0, r.stderr
    _, body = fetch(stack, "/api/xfu/devices.yml")
    assert body.decode().endswith("zzlisted_global:\n- Listed Phone Global\n- ZZLISTEDGlobal\n")
    r = stack.romtrack("token", "add", "xfu-devices", "--scope", "devices:write")
    token = re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout).group(0)
    status, _, _, doc = stack.get("/api/devices/zzlisted/variants/zzlisted_global", method="PUT",
                                  headers={"Authorization": "Bearer " + token},
                                  body={"region": "global", "miui_name": "ZZLISTEDGlobal",
                                        "names": ["Renamed Phone Global", "Another Phone Global"]})
    assert status == 200, doc
    _, body = fetch(stack, "/api/xfu/devices.yml")
    assert body.decode().endswith("zzlisted_global:\n- Another Phone Global\n- ZZLISTEDGlobal\n")
