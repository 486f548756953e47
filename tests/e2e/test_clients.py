"""Third-party clients (issue 9): feed readers (feedparser, what rss-parser and newsboat ask for), browsers on
another origin (CORS preflights as Chromium sends them), and a shared cache in front (the real Varnish).

Expected answers come from the database (SQL written here), rules written out in Python, feedparser (an
independent Atom parser) and Varnish's own log, never from another romtrack route.
"""

import contextlib
import http.client
import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import feedparser
import pytest

import conftest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml", "tests/data/pages/valid"]
ATOM = "{http://www.w3.org/2005/Atom}"
RELOAD_TIMEOUT = 30.0
VARNISHD = "/usr/sbin/varnishd"
VARNISHLOG = "/usr/bin/varnishlog"

# RFC 3986 URI syntax (scheme ":" then only the characters a URI may hold, "%" only as an escape), and
# RFC 8141's URN: "urn:" NID ":" NSS, where the NSS holds pchar and "/", so no "?" or "#".
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$")
URN_RE = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})+$")


# --- the configuration, changed for some tests with a reload -----------------------------------------------

# Each worker logs every request it answers with its pid: how reconfigure() shows that every worker of the new
# generation answers with the new settings (Stack.every_worker_answers).
SETTINGS = {"log_level": "debug"}


def reconfigure(stack, extra, probes):
    """Sets the "key: YAML value" pairs of ``extra`` (None removes a key) in the test config, reloads (SIGHUP),
    waits (bounded) until a whole new generation of workers replaced the old one, then asks each probe's path until
    every worker of the new generation has answered it: each of those answers must satisfy the probe's
    ``holds(status, headers, body)``."""
    pids = stack.reconfigure(extra, timeout=RELOAD_TIMEOUT)
    for path, holds in probes:
        answered, held = stack.every_worker_answers(lambda: holds(*stack.get(path)[:3]), timeout=RELOAD_TIMEOUT)
        assert all(held), "the new generation %s (answered: %s) answers %s without %s: %s" % (
            pids, sorted(set(answered)), path, extra, held)


DEFAULT_CONFIGURATION = [
    ("/api/regions", lambda status, headers, body: headers["cache-control"].startswith("public, max-age=60,")),
    ("/api/feed.atom?limit=1", lambda status, headers, body: b"api.example.org" not in body),
]


@pytest.fixture
def configured(stack):
    """reconfigure() for one test; the test config comes back afterwards."""
    keys = []

    def apply(extra, probes):
        keys.extend(extra)
        reconfigure(stack, extra, probes)
    yield apply
    reconfigure(stack, {key: None for key in keys}, DEFAULT_CONFIGURATION)


def get_with_host(stack, path, host):
    """A GET through nginx with this Host header instead of http.client's own."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --- feeds: what the database holds, by rules written here ---------------------------------------------------

def natural_key(version):
    """romtrack's documented tie-break between releases of one date: the version, digit runs compared as
    numbers (a longer run is a larger number)."""
    return re.sub(r"\d+", lambda m: "%03d%s" % (len(m.group()), m.group()), version)


def expected_entries(stack, codenames, limit):
    rows = stack.psql(
        "SELECT r.id, r.filename, r.version, r.branch::text, r.type::text, coalesce(r.release_date::text, ''),"
        "       r.size_bytes, array_to_string(r.links, ' '), d.codename, v.codename, r.region::text"
        " FROM release r JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
        " WHERE d.codename IN (%s)" % ", ".join("'%s'" % c for c in codenames))
    # newest first: the date (unknown dates last), then the version, then the id
    rows.sort(key=lambda r: (r[5] or "0001-01-01", natural_key(r[2]), int(r[0])), reverse=True)
    return [dict(id=int(r[0]), filename=r[1], version=r[2], branch=r[3], type=r[4], date=r[5] or None,
                 size=None if r[6] is None else int(r[6]), links=r[7].split(" "), codename=r[8], variant=r[9],
                 region=r[10]) for r in rows[:limit]]


def test_feed_entries_are_the_database_releases_with_absolute_links(stack):
    status, headers, body, _ = stack.get("/api/feed.atom?codename=alioth,apollo&limit=8")
    assert status == 200 and headers["content-type"] == "application/atom+xml"
    base = stack.base_url  # no public_url: the Host the request came with (http.client sends 127.0.0.1:PORT)
    feed = ET.fromstring(body)
    expected = expected_entries(stack, ["alioth", "apollo"], 8)
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == len(expected) == 8
    for entry, r in zip(entries, expected):
        assert entry.find(ATOM + "id").text == "urn:romtrack:release:" + r["filename"]
        assert r["version"] in entry.find(ATOM + "title").text
        published = entry.find(ATOM + "published")
        assert (published.text if published is not None else None) == (r["date"] and r["date"] + "T00:00:00Z")
        links = [(l.get("rel"), l.get("type"), l.get("length"), l.get("href")) for l in entry.findall(ATOM + "link")]
        mime = "application/gzip" if r["filename"].endswith(".tgz") else "application/zip"
        length = None if r["size"] is None else str(r["size"])
        # the alternate comes first (rss-parser reads the first link): without release_page_url, the download
        assert links[0] == ("alternate", None, None, r["links"][0])
        assert links[1] == ("related", "application/json", None, "%s/api/releases/%d" % (base, r["id"]))
        assert links[2:] == [("enclosure", mime, length, href) for href in r["links"]]
        assert sorted(c.get("term") for c in entry.findall(ATOM + "category")) == sorted([r["branch"], r["type"]])
    assert [(l.get("rel"), l.get("type"), l.get("href")) for l in feed.findall(ATOM + "link")] == [
        # the request in canonical form (the comma of the list percent-encoded, as every value is)
        ("self", "application/atom+xml", base + "/api/feed.atom?codename=alioth%2Capollo&limit=8"),
        ("alternate", "application/json", base + "/api/releases?codename=alioth%2Capollo&limit=8")]


# (path, its canonical form: filters percent-encoded, the default limit 50 left out)
@pytest.mark.parametrize("path,canonical", [
    ("/api/feed.atom?limit=50", "/api/feed.atom"),
    ("/api/feed.atom?codename=cancro,alioth&branch=weekly", "/api/feed.atom?codename=cancro%2Calioth&branch=weekly"),
    ("/api/devices/apollo/feed.atom?limit=20", "/api/devices/apollo/feed.atom?limit=20")])
def test_feedparser_finds_a_link_and_enclosures_with_length(stack, path, canonical):
    """Debian's python3-feedparser: every entry has an http(s) link (not the urn: id), enclosures with an
    absolute URL and the package's length; the ids are valid URIs (URNs)."""
    status, _, body, _ = stack.get(path)
    assert status == 200
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert URN_RE.match(parsed.feed.id) and URI_RE.match(parsed.feed.id), parsed.feed.id
    assert [l.href for l in parsed.feed.links if l.rel == "self"] == [stack.base_url + canonical]
    assert parsed.entries
    sizes = dict((f, s) for f, s in stack.psql("SELECT filename, size_bytes FROM release"))
    for e in parsed.entries:
        assert URN_RE.match(e.id), e.id
        assert re.match(r"^https?://[^/]+/", e.link), (e.id, e.link)
        assert e.enclosures
        size = sizes[e.id.split(":", 3)[3]]
        for enc in e.enclosures:
            assert re.match(r"^https?://[^/]+/", enc.href)
            assert enc.get("length") == size, (e.id, enc)


def test_feed_ids_are_uris_whatever_the_query(stack):
    """The old ids held the raw request URI ("urn:romtrack:feed:/api/feed.atom?limit=1"): "?" cannot be in a
    URN's NSS."""
    for path in ["/api/feed.atom?limit=1", "/api/feed.atom?codename=alioth%2Capollo&limit=1",
                 "/api/devices/alioth/feed.atom?branch=stable&limit=1"]:
        status, _, body, _ = stack.get(path)
        assert status == 200, path
        feed_id = ET.fromstring(body).find(ATOM + "id").text
        assert URN_RE.match(feed_id), feed_id


def feed_links(body):
    feed = ET.fromstring(body)
    return [l.get("href") for l in feed.iter(ATOM + "link") if l.get("rel") in ("self", "related")]


def test_feed_links_follow_a_valid_host_and_never_a_hostile_one(stack):
    """Without public_url the links name the Host header; a Host that is not a plain host[:port] never reaches
    the feed (nginx's own address is used), and one host's feed is never answered to another (the worker's
    response cache is keyed by the URI alone)."""
    path = "/api/feed.atom?codename=alioth&limit=3"
    for host in ["roms.example.org", "mirror.example.net:8443", "roms.example.org"]:
        status, body = get_with_host(stack, path, host)
        assert status == 200
        links = feed_links(body)
        assert links and all(l.startswith("http://%s/api/" % host) for l in links), (host, links)
    reached = 0
    for host in ['evil.example"><x a="', "evil.example/path", "a b", "evil.example:80:80", "@evil.example",
                 "evil.example:http", "evil.example\\x"]:
        status, body = get_with_host(stack, path, host)
        if status == 400:  # nginx refuses some of them itself
            continue
        assert status == 200
        reached += 1
        links = feed_links(body)
        assert links and all(l.startswith("http://127.0.0.1:%d/api/" % stack.port) for l in links), (host, links)
        assert b"evil" not in body
    assert reached >= 3, "nginx refused nearly every hostile Host: the test would prove nothing"
    # X-Forwarded-* come from any client: ignored
    status, _, body, _ = stack.get(path, headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
    assert status == 200 and b"evil" not in body and all(l.startswith(stack.base_url) for l in feed_links(body))


def test_public_url_and_release_page_url(stack, configured):
    """public_url wins over any Host; release_page_url makes the alternate link the website's page."""
    template = "https://roms.example.org/miui/{codename}/{branch}/{version}/?v={variant}&r={region}&t={type}&id={id}"
    configured({"public_url": '"https://api.example.org/romtrack/"', "release_page_url": '"%s"' % template},
               [("/api/feed.atom?limit=1", lambda status, headers, body:
                 b"https://api.example.org/romtrack/api/" in body)])
    status, body = get_with_host(stack, "/api/devices/apollo/feed.atom?limit=5", "other.example")
    assert status == 200
    feed = ET.fromstring(body)
    assert [l.get("href") for l in feed.findall(ATOM + "link")] == \
        ["https://api.example.org/romtrack/api/devices/apollo/feed.atom?limit=5",
         "https://api.example.org/romtrack/api/devices/apollo/releases?limit=5"]
    expected = expected_entries(stack, ["apollo"], 5)
    for entry, r in zip(feed.findall(ATOM + "entry"), expected):
        links = [(l.get("rel"), l.get("type"), l.get("href")) for l in entry.findall(ATOM + "link")]
        page = ("https://roms.example.org/miui/%(codename)s/%(branch)s/%(version)s/?v=%(variant)s&r=%(region)s"
                "&t=%(type)s&id=%(id)d" % r)
        assert links[0] == ("alternate", "text/html", page)
        assert links[1] == ("related", "application/json", "https://api.example.org/romtrack/api/releases/%d" % r["id"])
        assert [l[2] for l in links[2:]] == r["links"]
    # and still valid Atom (RFC 4287's RELAX NG schema, as in e2e.client_api)
    path = os.path.join(stack.tmpdir, "feed-public.xml")
    with open(path, "wb") as f:
        f.write(body)
    r = subprocess.run(["xmllint", "--noout", "--relaxng", os.path.join(conftest.REPO, "tests/data/atom/atom.rng"),
                        path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- negotiation ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, accept, status, ctype", [
    # feed readers: rss-parser's default, XML types, browsers
    ("/api/feed.atom?limit=1", "application/rss+xml", 200, "application/atom+xml"),
    ("/api/feed.atom?limit=1", "application/rss+xml, application/rdf+xml;q=0.8, */*;q=0.1", 200,
     "application/atom+xml"),
    ("/api/feed.atom?limit=1", "application/atom+xml", 200, "application/atom+xml"),
    ("/api/feed.atom?limit=1", "application/xml", 200, "application/xml"),
    ("/api/feed.atom?limit=1", "text/xml", 200, "text/xml"),
    ("/api/devices/alioth/feed.atom?limit=1", "text/xml, application/xml;q=0.5", 200, "text/xml"),
    ("/api/devices/alioth/feed.atom?limit=1",
     "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "application/xml"),
    ("/api/feed.atom?limit=1", None, 200, "application/atom+xml"),
    ("/api/feed.atom?limit=1", "application/json", 406, None),
    ("/api/feed.atom?limit=1", "text/html", 406, None),
    ("/api/feed.atom?limit=1", "application/rss+xml;q=0", 406, None),
    # the contract under any YAML name
    ("/api/openapi.yaml", "application/yaml", 200, "application/yaml"),
    ("/api/openapi.yaml", "text/yaml", 200, "text/yaml"),
    ("/api/openapi.yaml", "application/x-yaml", 200, "application/x-yaml"),
    ("/api/openapi.yaml", "text/x-yaml", 200, "text/x-yaml"),
    ("/api/openapi.yaml", "application/json", 406, None),
    # JSON routes: nothing else
    ("/api/regions", "application/xml", 406, None),
    ("/api/regions", "application/rss+xml", 406, None),
    ("/api/regions", "text/yaml", 406, None),
])
def test_every_client_gets_what_it_can_read(stack, path, accept, status, ctype):
    got, headers, body, doc = stack.get(path, headers={"Accept": accept} if accept else None)
    assert got == status, (accept, doc)
    if status == 406:
        assert doc["type"] == "urn:romtrack:problem:not-acceptable"
        return
    assert headers["content-type"] == ctype
    assert "Accept" in headers["vary"]
    # the same body under every label (the response cache keeps one copy), each label its own entity tag
    _, default_headers, default, _ = stack.get(path)
    assert body == default
    assert (headers["etag"] == default_headers["etag"]) == (ctype == default_headers["content-type"])
    got, h304, _, _ = stack.get(path, headers={"Accept": accept, "If-None-Match": headers["etag"]} if accept
                                else {"If-None-Match": headers["etag"]})
    assert got == 304 and h304["etag"] == headers["etag"]


# --- CORS ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("requested", [
    "cache-control,x-requested-with",              # Chromium: lower-case, sorted, no blanks
    "cache-control,if-none-match,pragma",          # fetch(..., {cache: "no-cache"}) in older engines
    "accept-language,if-modified-since,range",
])
def test_cors_preflight_allows_what_browser_pages_send(stack, requested):
    status, headers, body, _ = stack.get("/api/devices/cancro/releases", method="OPTIONS", headers={
        "Origin": "https://some-page.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": requested, "Sec-Fetch-Mode": "cors"})
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert set(requested.split(",")) <= allowed, allowed


def test_chromium_page_on_another_origin_sends_ordinary_headers(stack):
    """Real headless Chromium (web/check-cors.mjs, Playwright): a page on another loopback port calls the API
    through nginx with fetch() and headers pages set; Chromium preflights and decides. A header off the
    list must still fail, or the check would prove nothing."""
    r = subprocess.run(["node", os.path.join(conftest.REPO, "web", "check-cors.mjs"), stack.base_url + "/api/regions"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    results = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(results) == 5
    for result in results[:4]:
        assert result["status"] == 200 and result["error"] is None, "\n".join(result["console"])
    assert results[4]["headers"] == {"X-Not-On-The-List": "1"} and results[4]["status"] is None, results[4]


# --- caching: no cache keeps data longer than a minute -------------------------------------------------------

DATA_ROUTES = ["/api/devices?limit=2", "/api/devices/cancro", "/api/devices/cancro/releases?limit=2",
               "/api/devices/cancro/releases/weekly/7.3.23", "/api/devices/alioth/latest",
               "/api/devices/alioth/updates?current=V12.5.3.0.RKHMIXM", "/api/devices/alioth/feed.atom?limit=2",
               "/api/releases?limit=2", "/api/releases/latest?limit=2", "/api/regions", "/api/branches",
               "/api/feed.atom?limit=2", "/api/openapi.yaml", "RELEASE", "BY_FILENAME"]


def concrete(stack, path):
    rid, filename = stack.psql("SELECT id, filename FROM release ORDER BY id LIMIT 1")[0]
    return {"RELEASE": "/api/releases/" + rid, "BY_FILENAME": "/api/releases/by-filename/" + filename}.get(path, path)


def directives(cache_control):
    out = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        out[name.lower()] = value
    return out


@pytest.mark.parametrize("path", DATA_ROUTES)
def test_no_data_route_lets_a_cache_keep_it_over_a_minute(stack, path):
    status, headers, _, _ = stack.get(concrete(stack, path))
    assert status == 200
    d = directives(headers["cache-control"])
    assert "public" in d and 0 < int(d["max-age"]) <= 60 and int(d.get("s-maxage", 0)) <= 60, d
    assert 0 < int(d["stale-while-revalidate"]) <= int(d["max-age"]) and int(d["stale-if-error"]) > 0, d
    status, headers, _, _ = stack.get("/api/health")
    assert headers["cache-control"] == "no-cache"


class Varnish:
    """The real varnishd in front of nginx, on a free loopback port, with its default VCL."""

    def __init__(self, stack):
        self.workdir = os.path.join(stack.tmpdir, "varnish")
        self.port = None
        self.proc = None
        self.probes = 0
        self.backend = "127.0.0.1:%d" % stack.port

    def start(self):
        for _ in range(3):
            port = conftest._free_port()
            self.proc = subprocess.Popen(
                [VARNISHD, "-F", "-n", self.workdir, "-a", "127.0.0.1:%d" % port, "-b", self.backend,
                 "-s", "malloc,32m", "-p", "default_grace=0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                preexec_fn=conftest._die_with_parent)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self.get("/api/health", port=port)[0] == 200:
                        self.port = port
                        self.probes = len(self.ttls())  # the health probes' own (never cached)
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop()
        raise RuntimeError("varnishd did not start")

    def get(self, path, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def ttls(self):
        """Varnish's TTL decisions on the responses it fetched: [(ttl, grace)] from its shared-memory log
        ("TTL RFC <ttl> <grace> <keep> ..."), in order."""
        r = subprocess.run([VARNISHLOG, "-n", self.workdir, "-d", "-g", "raw", "-i", "TTL"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return [(int(m.group(1)), int(m.group(2))) for m in
                re.finditer(r"TTL\s+b\s+RFC\s+(-?\d+)\s+(-?\d+)\s.*\scacheable$", r.stdout, re.M)][self.probes:]

    def stop(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@contextlib.contextmanager
def varnish(stack):
    v = Varnish(stack)
    try:
        v.start()
        yield v
    finally:
        v.stop()


def test_varnish_keeps_no_data_response_over_a_minute(stack):
    """The TTL Varnish itself assigns each route's 200 (its log, not romtrack's header): at most 60 s, and a
    grace (stale-while-revalidate) of at most as much again. Before issue 9, a release got 3600 s and a
    download page 300 s."""
    with varnish(stack) as v:
        for path in DATA_ROUTES:
            status, _, _ = v.get(concrete(stack, path))
            assert status == 200, path
        ttls = v.ttls()
    assert len(ttls) >= len(DATA_ROUTES), ttls
    assert all(0 < ttl <= 60 and 0 <= grace <= 60 for ttl, grace in ttls), ttls


def md5_of(body):
    return re.search(rb'"md5":\s*(null|"[0-9a-f]{32}")', body).group(1)


def test_varnish_serves_a_correction_after_the_ttl(stack, configured):
    """A release fetched through Varnish, then its MD5 corrected in psql: Varnish answers from its copy at
    first, and the corrected body once the TTL it assigned (here cache_max_age: 2, grace 1) has run out.
    The wait is bounded generously: a hang fails, no speed is asserted."""
    configured({"cache_max_age": 2},
               [("/api/regions", lambda status, headers, body:
                 headers["cache-control"].startswith("public, max-age=2,"))])
    rid, md5 = stack.psql("SELECT id, md5 FROM release WHERE md5 IS NOT NULL ORDER BY id LIMIT 1")[0]
    corrected = "0123456789abcdef0123456789abcdef"
    path = "/api/releases/" + rid
    try:
        with varnish(stack) as v:
            status, first, body = v.get(path)
            assert status == 200 and md5_of(body) == b'"%s"' % md5.encode()
            status, again, body = v.get(path)
            assert status == 200 and md5_of(body) == b'"%s"' % md5.encode()
            assert len(again["x-varnish"].split()) == 2, again  # a hit: this request's id and the stored one's
            stack.psql("UPDATE release SET md5 = '%s' WHERE id = %s" % (corrected, rid))
            ttl, grace = v.ttls()[-1]
            assert (ttl, grace) == (2, 1)
            deadline = time.monotonic() + ttl + grace + 20
            while md5_of(v.get(path)[2]) != b'"%s"' % corrected.encode():
                assert time.monotonic() < deadline, "Varnish still serves the old MD5"
                time.sleep(0.2)
    finally:
        stack.psql("UPDATE release SET md5 = '%s' WHERE id = %s" % (md5, rid))
