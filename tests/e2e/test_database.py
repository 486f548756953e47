"""PostgreSQL going away and coming back: 503 problem while it is down, reconnect and re-prepare after; a silent
(stopped) server answered 503 within a bound; reconnects backed off during an outage, the log kept short."""

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import conftest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]
# Each worker logs every request it answers with its pid: how "every worker" is shown (Stack.every_worker_answers).
SETTINGS = {"log_level": "debug"}

# The backoff rule, as the README states it: after the n-th failed attempt in a row a worker makes no attempt for
# 50 to 100 % of min(100 ms * 2^(n-1), 2 s), and answers 503 at once meanwhile. Retry-After is the 2 s ceiling.
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
REPORT_INTERVAL_S = 10.0  # a continuing outage: one log line per worker per interval
HANG_BOUND_S = 15.0  # database_timeout defaults to 5 s: anything near this bound is a hang

PROBLEM_TYPE = "urn:romtrack:problem:database-unavailable"


def max_attempts(seconds):
    """The most connection attempts one worker can make within `seconds` under the backoff rule: the first at once,
    each next one at least half the current delay later."""
    elapsed, attempts, delay = 0.0, 1, BACKOFF_FIRST_S
    while True:
        elapsed += delay / 2
        if elapsed > seconds:
            return attempts
        attempts += 1
        delay = min(delay * 2, BACKOFF_MAX_S)


def assert_unavailable(status, headers, doc, path):
    assert status == 503, (path, status, doc)
    assert headers["content-type"] == "application/problem+json", (path, headers)
    assert doc["type"] == PROBLEM_TYPE and doc["status"] == 503, (path, doc)
    assert headers.get("retry-after") == "%d" % BACKOFF_MAX_S, (path, headers)


def wait_recovered(stack, path="/api/devices/cancro", needed=20, bound=HANG_BOUND_S):
    """Requests `path` until `needed` answers in a row are 200 and every live worker gave one of them (the log says
    who answered): every worker has reconnected, each one that answered 503 trying again within the backoff
    ceiling. Fails after `bound` seconds. Returns the last (status, doc)."""

    def send():
        status, _, _, doc = stack.get(path)
        if status != 200:
            time.sleep(0.05)
        return status, doc

    _, answers = stack.every_worker_answers(send, at_least=needed, good=lambda answer: answer[0] == 200,
                                            max_requests=2000, timeout=bound)
    return answers[-1]


def lines(text, pattern):
    return [line for line in text.splitlines() if re.search(pattern, line)]


def log_since(stack, offset):
    with open(stack.log_path, "r", encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        return f.read()


class FakePostgres:
    """Stands in on the port of the stopped cluster and counts the TCP connections made to it. Each one is answered
    as a PostgreSQL that is starting up answers (SSL and GSS encryption refused, then FATAL 57P03), so that one
    connection attempt of libpq is one TCP connection (libpq retries without SSL when a server closes at once)."""

    def __init__(self, port):
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(512)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @staticmethod
    def _read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _answer(self, conn):
        conn.settimeout(5)
        for _ in range(3):  # at most GSSENCRequest, SSLRequest, StartupMessage
            length, code = struct.unpack("!ii", self._read(conn, 8))
            self._read(conn, length - 8)
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                conn.sendall(b"N")
                continue
            fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
            conn.sendall(b"E" + struct.pack("!i", 4 + len(fields)) + fields)
            return

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            try:
                self._answer(conn)
            except (OSError, EOFError, struct.error):
                pass
            finally:
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(10)
        self._sock.close()
        return self.connections


def cluster_pids(stack):
    """The postmaster (line 1 of postmaster.pid) and all its descendants (backends, background processes)."""
    with open(os.path.join(stack.datadir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids, todo = [], [postmaster]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    todo.extend(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


def accept_queue(port):
    """Connections waiting in the accept queue of the listening socket on 127.0.0.1:port (/proc/net/tcp: for a
    socket in state 0A, LISTEN, the rx_queue field is its accept backlog)."""
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            fields = row.split()
            if fields[1] == "0100007F:%04X" % port and fields[3] == "0A":
                return int(fields[4].split(":")[1], 16)
    raise AssertionError("nothing listens on 127.0.0.1:%d" % port)


def test_database_down_then_back(stack):
    assert stack.get("/api/devices/cancro")[0] == 200
    stack.pg_stop()
    try:
        for path in ["/api/health", "/api/devices/cancro", "/api/devices?limit=1"]:
            status, headers, _, doc = stack.get(path)
            assert_unavailable(status, headers, doc, path)
    finally:
        stack.pg_start()
    # every worker reconnects and prepares its statements again
    assert wait_recovered(stack)[1]["codename"] == "cancro"
    assert stack.get("/api/health")[0] == 200
    # each worker LISTENs again on its new connection: a change made now is in every answer at once, so in the
    # first one of each worker (at least 10 answers before and after, as many more as it takes to reach them all)
    path = "/api/devices/cancro/releases?limit=1"
    release = stack.get(path)[3]["data"][0]

    def answered_size():
        status, _, _, doc = stack.get(path)
        return status, doc["data"][0]["size"] if status == 200 else doc

    _, cached = stack.every_worker_answers(answered_size, at_least=10)  # every worker caches the page
    assert cached == [(200, release["size"])] * len(cached), cached
    stack.psql("UPDATE release SET size_bytes = size_bytes + 1 WHERE id = %d" % release["id"])
    try:
        pids, answers = stack.every_worker_answers(answered_size, at_least=10)
        assert answers == [(200, release["size"] + 1)] * len(answers), (sorted(set(pids)), answers)
    finally:  # other modules of the session read the same data
        stack.psql("UPDATE release SET size_bytes = size_bytes - 1 WHERE id = %d" % release["id"])


def test_silent_database_answers_503_within_bound(stack):
    """A network partition, as the client sees one: PostgreSQL's processes are stopped (SIGSTOP), the kernel still
    accepts and acknowledges on their sockets, and nothing ever answers. Only an application deadline can help."""
    cached = "/api/devices/cancro"
    wait_recovered(stack, cached)  # 20 answers, every worker's among them: each holds a connection and the page
    offset = os.path.getsize(stack.log_path)
    # cached (a Sync round trip checks freshness), uncached (statements), and health; then one more request than
    # there are workers, each once every backoff has run out: at least one goes to a worker that has already lost
    # its connection (to a timeout), so it connects anew, and the stopped postmaster never answers
    paths = [cached, "/api/devices?limit=2", "/api/health", "/api/releases?limit=3"]
    later = ["/api/devices/cancro/releases?limit=2", cached, "/api/health", "/api/devices?limit=3"]
    later = later[:len(stack.worker_pids()) + 1]
    assert len(later) == len(stack.worker_pids()) + 1
    stopped = []
    try:
        for _ in range(2):  # a backend forked while the list was taken is stopped on the second pass
            for pid in cluster_pids(stack):
                if pid not in stopped:
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
        for i, path in enumerate(paths + later):
            if i >= len(paths):
                time.sleep(BACKOFF_MAX_S)  # the longest backoff: each worker's next request makes an attempt
            started = time.monotonic()
            status, headers, _, doc = stack.get(path, timeout=HANG_BOUND_S + 5)
            took = time.monotonic() - started
            assert took < HANG_BOUND_S, "%s took %.1fs" % (path, took)
            assert_unavailable(status, headers, doc, path)
        # those attempts reached the stopped postmaster: the kernel completed their handshakes and queued them
        assert accept_queue(stack.pg_port) >= 1
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    wait_recovered(stack, cached)
    assert "sync: no answer within" in log_since(stack, offset)  # the freshness check was cut off at the deadline


def test_outage_backs_off_and_logs_once_per_interval(stack):
    """While PostgreSQL is down, each worker connects only as often as the backoff rule allows (counted by a stand-in
    listening on its port), logs the outage once and then once per interval with a count, and every 503 carries
    Retry-After; once it is back, service returns within a few seconds."""
    wait_recovered(stack)
    workers = stack.worker_pids()
    assert workers
    offset = os.path.getsize(stack.log_path)
    requests = 300
    paths = ["/api/devices/cancro", "/api/devices?limit=1", "/api/health"]
    stack.pg_stop()
    try:
        fake = FakePostgres(stack.pg_port)
        try:
            started = time.monotonic()
            for i in range(requests):
                # paced so that the burst outlasts one report interval (bounded: 300 requests, about 12 s)
                time.sleep(max(0.0, started + i * (REPORT_INTERVAL_S * 1.2 / requests) - time.monotonic()))
                path = paths[i % len(paths)]
                status, headers, _, doc = stack.get(path, timeout=HANG_BOUND_S)
                assert_unavailable(status, headers, doc, path)
            elapsed = time.monotonic() - started
        finally:
            connections = fake.close()
    finally:
        stack.pg_start()

    # service is back; and, requests going to whichever worker accepts first, until each worker that logged the
    # outage has logged its end (bounded in time by wait_recovered)
    deadline = time.monotonic() + HANG_BOUND_S
    while True:
        wait_recovered(stack)
        log = log_since(stack, offset)
        first = lines(log, r"warn: database unavailable: ")
        back = lines(log, r"info: database reachable again after (\d+) failed connection attempts")
        if len(back) >= len(first) or time.monotonic() > deadline:
            break

    bound = len(workers) * max_attempts(elapsed + 0.5)
    assert 1 <= connections <= bound, (connections, bound, elapsed)
    assert connections < requests / 5, connections

    again = lines(log, r"warn: database still unavailable: .*\((\d+) connection attempts failed, (\d+) requests")
    assert 1 <= len(first) <= len(workers), log
    # one line per worker per interval, and the burst outlasted an interval: at least one worker reported again
    assert 1 <= len(again) <= len(workers) * int(elapsed / REPORT_INTERVAL_S), log
    assert len(back) == len(first), log
    # the counts the log gives add up to the connections the stand-in saw (no request was sent between its
    # closing and PostgreSQL's start, so every failed attempt was made against it)
    total = sum(int(re.search(r"after (\d+) failed", line).group(1)) for line in back)
    assert total == connections, (total, connections, log)
    assert len(first) + len(again) + len(back) + len(lines(log, "connection lost")) <= 4 * len(workers) + 2, log


def test_cli_makes_one_connection_attempt(stack, tmp_path):
    """A command (and a worker, which opens its connection the same way) makes one bounded connection attempt
    against a dead database, not two, and says why it failed."""
    port = conftest._free_port()
    fake = FakePostgres(port)
    try:
        config = tmp_path / "dead.yaml"
        config.write_text("database: \"host=127.0.0.1 port=%d dbname=romtrack user=romtrack\"\n" % port)
        r = subprocess.run([conftest.ROMTRACK_BIN, "-c", str(config), "migrate"], capture_output=True, text=True,
                           timeout=60, env=conftest._child_env())
    finally:
        connections = fake.close()
    assert r.returncode != 0
    assert "the database system is starting up" in r.stderr, r.stderr
    assert connections == 1, (connections, r.stderr)
