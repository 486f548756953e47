"""nginx, the front door (conf/nginx/romtrack.conf.template, script/nginx-conf): every error nginx produces itself is
problem+json, a GET whose worker was killed is retried on another worker (and a POST is not), slow clients cannot
exhaust the front, one address cannot hold more than its share, and a checkout under a private folder is served
without changing anything outside it.

Expected answers come from the rules the README states (statuses and slugs from RFC 9110's reason phrases, the
documented limits), from nginx's own access log, and from a fake FastCGI server that counts the connections nginx
makes to it."""

import json
import os
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

import conftest
from contract import Contract

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

# What the README documents for the front (conf/nginx/romtrack.conf.template, script/nginx-conf).
HEADER_TIMEOUT = 10          # client_header_timeout: the whole request header, however it is dripped
CONN_PER_ADDR = 100          # requests in progress per client address (script/nginx-conf's default)
RETRY_TRIES = 3              # attempts of an idempotent request on romtrack's workers

# Every status nginx can answer by itself, with the slug and title it must carry: the title is RFC 9110's reason
# phrase (15.5 and 15.6; 429 from RFC 6585), the slug that phrase in lower case with hyphens, except where romtrack
# already has a slug for the status (413 payload-too-large, 500 internal-error).
NGINX_PROBLEMS = {
    400: ("bad-request", "Bad Request"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    412: ("precondition-failed", "Precondition Failed"),
    413: ("payload-too-large", "Content Too Large"),
    414: ("uri-too-long", "URI Too Long"),
    416: ("range-not-satisfiable", "Range Not Satisfiable"),
    429: ("too-many-requests", "Too Many Requests"),
    500: ("internal-error", "Internal Server Error"),
    501: ("not-implemented", "Not Implemented"),
    502: ("bad-gateway", "Bad Gateway"),
    503: ("service-unavailable", "Service Unavailable"),
    504: ("gateway-timeout", "Gateway Timeout"),
    505: ("http-version-not-supported", "HTTP Version Not Supported"),
}
RETRY_AFTER_STATUSES = {429, 503}


# --- raw HTTP -------------------------------------------------------------------------------------------------------

def raw_request(port, data, timeout=15):
    """Sends bytes as they are, reads until nginx closes (or resets) the connection; returns the bytes received."""
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if _complete(out):
                    break
        except (ConnectionResetError, socket.timeout):
            pass
    return out


def _complete(data):
    """True once data holds a whole response with a Content-Length (nginx may keep the connection open)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return m is not None and len(body) >= int(m.group(1))


def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
    assert m, "not an HTTP/1.x response: %r" % data[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(m.group(1)), headers, body


def assert_problem(data, status, what):
    """The response is `status` with a problem+json body of the slug and title NGINX_PROBLEMS gives for it."""
    got, headers, body = parse_response(data)
    assert got == status, "%s: status %d, expected %d: %r" % (what, got, status, data[:300])
    assert headers.get("content-type") == "application/problem+json", "%s: %r" % (what, headers)
    doc = json.loads(body)
    slug, title = NGINX_PROBLEMS[status]
    assert doc["type"] == "urn:romtrack:problem:" + slug, (what, doc)
    assert doc["title"] == title and doc["status"] == status and doc["detail"], (what, doc)
    Contract().validate(doc, {"$ref": "#/components/schemas/Problem"})
    assert headers.get("cache-control") == "no-store", (what, headers)
    if status in RETRY_AFTER_STATUSES:
        assert re.fullmatch(r"[1-9][0-9]*", headers.get("retry-after", "")), (what, headers)
    return doc


def get_status(port, path, timeout=15):
    data = raw_request(port, b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path.encode(), timeout)
    return parse_response(data)[0] if data else None


# --- a private nginx, rendered by a script/nginx-conf ----------------------------------------------------------------

class Front:
    """An nginx of its own (script/nginx-conf into PREFIX, on a free port), optionally with its romtrack.conf edited
    by `edit` (str -> str) before it starts."""

    def __init__(self, prefix, fastcgi, nginx_conf=conftest.NGINX_CONF, edit=None, extra_args=()):
        self.prefix = prefix
        self.port = None
        self.proc = None
        self.conf_stderr = ""
        for _ in range(3):
            port = conftest._free_port()
            r = subprocess.run([nginx_conf, *extra_args, prefix, "127.0.0.1:%d" % port, fastcgi],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            self.conf_stderr += r.stderr
            conf = r.stdout.strip()
            if edit is not None:
                path = os.path.join(prefix, "romtrack.conf")
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(edit(text))
            self.proc = subprocess.Popen(
                [conftest.NGINX, "-p", prefix, "-c", conf, "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(prefix, "stderr.log"), "ab"), preexec_fn=conftest._die_with_parent)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.port = port
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("nginx did not start:\n" + conftest._tail(os.path.join(prefix, "error.log")))

    def access_log(self):
        with open(os.path.join(self.prefix, "access.log")) as f:
            return f.read().splitlines()

    def stop(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGQUIT)
            try:
                p.wait(conftest.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class FakeFastCGI:
    """A unix socket that counts connections and either closes each at once, after reading what arrives first
    ("close": a worker that dies in the request), or holds it without answering ("hang")."""

    def __init__(self, path, mode):
        self.path, self.mode = path, mode
        self.connections = 0
        self.held = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            if self.mode == "close":
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
                conn.close()
            else:
                self.held.append(conn)

    def count(self):
        with self.lock:
            return self.connections

    def reset(self):
        with self.lock:
            self.connections = 0
        for c in self.held:
            c.close()
        self.held.clear()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        self.reset()


@pytest.fixture()
def workdir():
    d = tempfile.mkdtemp(prefix="romtrack-front-", dir="/tmp")
    os.chmod(d, 0o755)  # this test's own folder; the private-folder test makes its own 0700 one
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _with_status_locations(text):
    """A location per status that answers it with `return`, for the statuses no real request can make this nginx
    produce (403 as root, 500, 503): the error_page mapping under test is left as it is."""
    locations = "".join("    location = /_front_test/%d { return %d; }\n" % (code, code)
                        for code in sorted(NGINX_PROBLEMS) + [494])
    marker = "    # Problem bodies"
    assert marker in text
    return text.replace(marker, locations + marker, 1)


# --- 1. every error nginx produces is problem+json --------------------------------------------------------------------

# (what, request bytes, expected status): bad requests of every kind nginx refuses itself. The expected statuses are
# those HTTP/1.1 gives such requests (RFC 9110, 9112) and the limits the README documents (16 kB lines, no body).
BAD_REQUESTS = [
    ("HTTP/2.0 over HTTP/1", b"GET /api/health HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    ("HTTP/9.9", b"GET /api/health HTTP/9.9\r\nHost: t\r\n\r\n", 505),
    ("HTTP/1.1 without Host", b"GET /api/health HTTP/1.1\r\n\r\n", 400),
    ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("a lower-case method", b"get /api/health HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("a path above the root", b"GET /../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("a bad Host", b"GET /api/health HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ("Content-Length and chunked", b"GET /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("a bad Content-Length", b"GET /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", 400),
    ("a header line over 16 kB", b"GET /api/health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 400),
    ("a request line over 16 kB", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    # max_body_kb, 1024 kB by default (script/nginx-conf --max-body-kb): refused on the declared length alone
    ("a body over 1024 kB", b"POST /api/releases HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n", 413),
    ("an unknown transfer coding", b"GET /api/health HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("TRACE", b"TRACE /api/health HTTP/1.1\r\nHost: t\r\n\r\n", 405),
    ("POST to a static file", b"POST /api/docs/init.js HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405),
    ("a range past the end", b"GET /api/docs/init.js HTTP/1.1\r\nHost: t\r\nRange: bytes=99999999-\r\n\r\n", 416),
    ("If-Match that fails", b"GET /api/docs/init.js HTTP/1.1\r\nHost: t\r\nIf-Match: \"nope\"\r\n\r\n", 412),
    ("If-Unmodified-Since in the past", b"GET /api/docs/init.js HTTP/1.1\r\nHost: t\r\n"
     b"If-Unmodified-Since: Mon, 01 Jan 1990 00:00:00 GMT\r\n\r\n", 412),
    ("an unknown documentation file", b"GET /api/docs/assets/nope.js HTTP/1.1\r\nHost: t\r\n\r\n", 404),
    ("an internal problem location", b"GET /_romtrack_problem/502 HTTP/1.1\r\nHost: t\r\n\r\n", 404),
]


@pytest.mark.parametrize("what,request_bytes,status", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_request_is_a_problem(stack, what, request_bytes, status):
    assert_problem(raw_request(stack.port, request_bytes), status, what)


def test_every_status_nginx_produces_is_a_problem(workdir):
    # nginx's own answer for each status, through the template's error pages; 494 (header too large) is sent as 400.
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "close")
    front = Front(os.path.join(workdir, "nginx"), "unix:" + fake.path, edit=_with_status_locations)
    try:
        for code in sorted(NGINX_PROBLEMS) + [494]:
            data = raw_request(front.port, b"GET /_front_test/%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                               % code)
            assert_problem(data, 400 if code == 494 else code, "return %d" % code)
    finally:
        front.stop()
        fake.stop()


# --- 2. retries: an idempotent request is passed to another worker, a POST is not ------------------------------------

def _upstream_attempts(line):
    m = re.search(r'upstream="([^"]*)"', line)
    assert m, line
    return [a for a in m.group(1).split(", ") if a not in ("", "-")]


def test_failed_attempts_are_retried_for_idempotent_methods_only(workdir):
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "close")
    front = Front(os.path.join(workdir, "nginx"), "unix:" + fake.path)
    try:
        cases = [("GET", RETRY_TRIES), ("HEAD", RETRY_TRIES), ("OPTIONS", RETRY_TRIES),
                 ("POST", 1), ("PATCH", 1)]
        for method, attempts in cases:
            fake.reset()
            body = b"x" if method in ("POST", "PATCH") else b""
            data = raw_request(front.port, b"%s /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
                               b"Connection: close\r\n\r\n%s" % (method.encode(), len(body), body))
            if method == "HEAD":
                assert parse_response(data)[0] == 502, data[:200]
            else:
                assert_problem(data, 502, method)
            assert fake.count() == attempts, "%s: %d attempts" % (method, fake.count())
            line = conftest.wait_for(lambda: [x for x in front.access_log() if '"%s /api/health' % method in x])[-1]
            assert len(_upstream_attempts(line)) == attempts, line
    finally:
        front.stop()
        fake.stop()


def test_a_worker_that_never_answers_is_a_problem_504(workdir):
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "hang")
    # The read timeout shortened from 60 s so that the test does not wait a minute per attempt.
    front = Front(os.path.join(workdir, "nginx"), "unix:" + fake.path,
                  edit=lambda t: t.replace("fastcgi_read_timeout 60s;", "fastcgi_read_timeout 1s;"))
    try:
        assert_problem(raw_request(front.port, b"GET /api/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                                   timeout=30), 504, "hang")
    finally:
        front.stop()
        fake.stop()


def test_gets_survive_workers_killed_under_load(stack):
    """50 SIGKILLs of workers while wrk loads the stack: not one failed GET, and nginx's log shows that killed
    requests were retried (so the kills did hit requests in progress)."""
    kills = 50
    log_path = os.path.join(stack.nginx_prefix, "access.log")
    log_start = os.path.getsize(log_path)
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c16", "-d120s", "--timeout", "30s", stack.base_url + "/api/devices/alioth/releases?limit=20"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=conftest._die_with_parent)
    killed = []
    try:
        time.sleep(1)
        for i in range(kills):
            workers = conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())
            assert workers, "the pool did not come back to 2 workers"
            victim = workers[i % 2]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            assert conftest.wait_for(lambda: victim not in stack.worker_pids()), "worker %d still there" % victim
            time.sleep(0.15)
    finally:
        wrk.send_signal(signal.SIGINT)  # wrk stops and prints its report
        out, _ = wrk.communicate(timeout=60)
    assert len(killed) == kills
    assert re.search(r"(\d+) requests in", out), out
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert requests > 1000, out
    assert "Non-2xx or 3xx responses" not in out, out
    assert "Socket errors" not in out, out
    with open(log_path) as f:
        f.seek(log_start)
        lines = f.read().splitlines()
    assert not [x for x in lines if '" 502 ' in x or '" 504 ' in x], [x for x in lines if '" 50' in x][:5]
    retried = [x for x in lines if len(_upstream_attempts(x)) > 1]
    assert retried, "no request was in progress in a killed worker: the test proved nothing"
    print("front: %d requests, %d kills, %d requests retried" % (requests, kills, len(retried)))


# --- 3. slow clients ------------------------------------------------------------------------------------------------

def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def test_slowloris_neither_starves_others_nor_lasts(stack):
    """3,000 clients that drip a request header one line a second (more than 2 x 1024 connections): meanwhile
    normal requests are answered, and each dripping client is cut once HEADER_TIMEOUT has passed."""
    slow_count = 3000
    assert _raise_nofile() > slow_count + 200
    slow = []
    sel = selectors.DefaultSelector()
    try:
        for i in range(slow_count):
            s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: slow\r\n")
            s.setblocking(False)
            slow.append(s)
            sel.register(s, selectors.EVENT_READ)
        opened = time.monotonic()
        # Normal requests while every slow client is connected (they are cut only HEADER_TIMEOUT after connecting).
        statuses = [get_status(stack.port, "/api/health") for _ in range(20)]
        assert statuses == [200] * 20
        cut_early = sel.select(timeout=0)
        assert not cut_early, "%d slow clients were cut (or answered) before the normal requests ended" % len(cut_early)
        open_socks = set(slow)
        answered = []
        deadline = opened + HEADER_TIMEOUT + 30  # a generous bound on the cut, not a timing assertion
        last_drip = 0.0
        while open_socks and time.monotonic() < deadline:
            now = time.monotonic()
            if now - last_drip >= 1:
                last_drip = now
                for s in list(open_socks):
                    try:
                        s.send(b"X-Drip: 1\r\n")
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        open_socks.discard(s)
                        sel.unregister(s)
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    answered.append(data[:100])
                open_socks.discard(s)
                sel.unregister(s)
        assert not answered, "nginx answered a request whose header never ended: %r" % answered[:3]
        assert not open_socks, "%d dripping clients still connected %ds after connecting" % (
            len(open_socks), HEADER_TIMEOUT + 30)
        assert get_status(stack.port, "/api/health") == 200
    finally:
        for s in slow:
            s.close()
        sel.close()


def _slow_body(port):
    """A POST whose header is complete and whose body never is: a request in progress until client_body_timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nx")
    return s


def _refused(port):
    """One GET; its response when nginx refused it with 429, else None."""
    data = raw_request(port, b"GET /api/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    return data if data and parse_response(data)[0] == 429 else None


def _answered(sock):
    return bool(select.select([sock], [], [], 0)[0])


def _refused_while_holding(port, held, timeout=5.0):
    """Asks with GETs until one is refused while every held request is still in progress; returns that response.
    nginx may take a GET before it has read the last held request's header: then the GET has the place and the held
    request is the one refused, so that held request is opened again. A GET refused while no held request was
    answered proves that the held ones filled the limit (the GETs of this loop run one after another)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for i, sock in enumerate(held):
            if _answered(sock):
                sock.close()
                held[i] = _slow_body(port)
        data = _refused(port)
        if data and not any(_answered(sock) for sock in held):
            return data
        time.sleep(0.1)
    return None


def test_one_address_holds_at_most_its_share(stack):
    held = []
    try:
        for _ in range(CONN_PER_ADDR - 1):
            held.append(_slow_body(stack.port))
        # The limit's own request: one more is allowed ...
        assert get_status(stack.port, "/api/health") == 200
        held.append(_slow_body(stack.port))
        # ... and with CONN_PER_ADDR in progress, the next is refused.
        data = _refused_while_holding(stack.port, held)
        assert data, "request %d from one address was not refused" % (CONN_PER_ADDR + 1)
        doc = assert_problem(data, 429, "over the per-address limit")
        assert str(CONN_PER_ADDR) in doc["detail"]
    finally:
        for s in held:
            s.close()
    # Closed clients give their places back.
    assert conftest.wait_for(lambda: get_status(stack.port, "/api/health") == 200, timeout=10, step=0.1)


def test_nginx_conf_takes_the_per_address_limit(workdir):
    # "close": a GET admitted before nginx has counted both slow bodies gets a quick 502, and the loop asks again.
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "close")
    front = Front(os.path.join(workdir, "nginx"), "unix:" + fake.path, extra_args=["--conn-per-addr", "2"])
    held = []
    try:
        held = [_slow_body(front.port) for _ in range(2)]
        data = _refused_while_holding(front.port, held)
        assert data, "a third request in progress from one address was not refused"
        assert "at most 2 at once" in assert_problem(data, 429, "--conn-per-addr 2")["detail"]
    finally:
        for s in held:
            s.close()
        front.stop()
        fake.stop()
    for bad in ("0", "65536", "x"):
        r = subprocess.run([conftest.NGINX_CONF, "--conn-per-addr", bad, os.path.join(workdir, "n2"), "1", "unix:/x"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "--conn-per-addr" in r.stderr, (bad, r.stderr)


def _burst(port, n, path="/api/docs/"):
    """n GETs one after the other on one keep-alive connection: (statuses, the first 429's status line, headers and
    body or None, seconds taken)."""
    import http.client
    statuses, refused = [], None
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    started = time.monotonic()
    try:
        for _ in range(n):
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            statuses.append(r.status)
            if r.status == 429 and refused is None:
                refused = ({k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        c.close()
    return statuses, refused, time.monotonic() - started


def test_requests_a_second_per_address_are_limited_by_default(workdir):
    """script/nginx-conf's default: 50 requests a second per address in bursts of 100 (limit_req, nodelay): a
    client that sends 300 at once gets the burst and what refilled meanwhile, then 429 problem+json with
    Retry-After and the RateLimit fields, not nginx's 503."""
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "close")
    front = Front(os.path.join(workdir, "nginx"), "unix:" + fake.path)
    try:
        statuses, refused, seconds = _burst(front.port, 300)
    finally:
        front.stop()
        fake.stop()
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 429} and refused is not None, statuses
    # the burst, plus at most 50 a second of what the burst took (and one for the bucket's rounding)
    assert 100 <= admitted <= 100 + 50 * seconds + 1, (admitted, seconds)
    headers, body = refused
    doc = json.loads(body)
    assert headers["content-type"] == "application/problem+json" and doc["type"] == "urn:romtrack:problem:too-many-requests"
    assert "at most 50 a second, in bursts of 100" in doc["detail"] and doc["instance"].startswith("urn:romtrack:request:")
    assert headers["retry-after"] == "1"
    assert headers["ratelimit-policy"] == '"per-address";q=50;w=1' and headers["ratelimit"] == '"per-address";r=0;t=1'
    Contract().validate(doc, {"$ref": "#/components/schemas/Problem"})


def test_the_rate_is_configurable_and_can_be_turned_off(workdir):
    fake = FakeFastCGI(os.path.join(workdir, "fake.sock"), "close")
    fronts = {args: Front(os.path.join(workdir, "nginx-%d" % i), "unix:" + fake.path, extra_args=args)
              for i, args in enumerate([("--rate-per-addr", "5", "--rate-burst", "3"), ("--rate-per-addr", "0")])}
    try:
        statuses, refused, seconds = _burst(fronts[("--rate-per-addr", "5", "--rate-burst", "3")].port, 20)
        assert 3 <= statuses.count(200) <= 3 + 5 * seconds + 1 and refused is not None, statuses
        assert refused[0]["ratelimit-policy"] == '"per-address";q=5;w=1'
        statuses, refused, _ = _burst(fronts[("--rate-per-addr", "0")].port, 300)
        assert statuses == [200] * 300 and refused is None
    finally:
        for f in fronts.values():
            f.stop()
        fake.stop()
    for option, bad in (("--rate-per-addr", "-1"), ("--rate-per-addr", "100001"), ("--rate-burst", "0"),
                        ("--rate-burst", "x")):
        r = subprocess.run([conftest.NGINX_CONF, option, bad, os.path.join(workdir, "n2"), "1", "unix:/x"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and option in r.stderr, (option, bad, r.stderr)


# --- 4. a checkout under a private folder ---------------------------------------------------------------------------

FRONT_FILES = [
    "script/nginx-conf",
    "conf/nginx/romtrack.conf.template",
    "web/docs/index.html",
    "web/docs/init.js",
] + ["web/node_modules/swagger-ui-dist/" + f for f in
     ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")]


def test_checkout_under_a_private_folder_is_served_without_chmod(stack):
    """A copy of the front's files in a clone under a 0700 folder (as /root or mktemp -d), its runtime state inside
    the clone as script/server keeps it (.local/): the documentation page and the API answer, and no permission
    outside the clone has changed."""
    private = tempfile.mkdtemp(prefix="romtrack-private-", dir="/tmp")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    clone = os.path.join(private, "clone")
    serve = front = None
    try:
        for rel in FRONT_FILES:
            os.makedirs(os.path.dirname(os.path.join(clone, rel)), exist_ok=True)
            shutil.copy2(os.path.join(conftest.REPO, rel), os.path.join(clone, rel))
        run = os.path.join(clone, ".local", "run")
        os.makedirs(run)
        sock = os.path.join(run, "romtrack.sock")
        config = os.path.join(clone, "romtrack.yaml")
        with open(stack.config) as f:
            text = f.read()
        text = re.sub(r"(?m)^listen: .*$", "listen: %s" % conftest._yaml_str(sock), text)
        text = re.sub(r"(?m)^workers: .*$", "workers: 1", text)
        with open(config, "w") as f:
            f.write(text)
        with open(os.path.join(clone, "serve.log"), "ab") as log:
            serve = subprocess.Popen([conftest.ROMTRACK_BIN, "-c", config, "serve"], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, env=conftest._child_env(), cwd=clone,
                                     preexec_fn=conftest._die_with_parent)
        assert conftest.wait_for(lambda: os.path.exists(sock), timeout=20), conftest._tail(os.path.join(clone, "serve.log"))
        front = Front(os.path.join(clone, ".local", "nginx"), "unix:" + sock,
                      nginx_conf=os.path.join(clone, "script", "nginx-conf"))
        assert "chmod" not in front.conf_stderr, front.conf_stderr
        for path in ("/api/docs/", "/api/docs/init.js", "/api/docs/assets/swagger-ui-bundle.js", "/api/health",
                     "/api/devices/alioth"):
            if not conftest.wait_for(lambda: get_status(front.port, path) == 200, timeout=10):
                pytest.fail("%s: %s\n%s" % (path, get_status(front.port, path),
                                            conftest._tail(os.path.join(clone, ".local", "nginx", "error.log"))))
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o700, "the private folder's mode was changed"
    finally:
        if front is not None:
            front.stop()
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(conftest.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        shutil.rmtree(private, ignore_errors=True)
