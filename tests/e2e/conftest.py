"""End-to-end fixtures: a throw-away PostgreSQL, romtrack serve and nginx on loopback, driven over real HTTP.

The session-scoped ``stack`` fixture starts, in a fresh directory under /tmp:
  - a PostgreSQL 15 cluster (script/pgctl init + start --fast) on a free loopback port,
  - ``romtrack migrate`` and ``romtrack import`` of the test module's ``IMPORT_FILES``,
  - ``romtrack serve`` on a unix socket, and nginx (script/nginx-conf) on a free loopback port,
and stops all of them at the end of the session.

Environment: ``ROMTRACK_BIN`` (default <repo>/build/romtrack), ``ROMTRACK_SOURCE_DIR`` (default: two levels up),
``ROMTRACK_E2E_KEEP=1`` keeps the temporary directory (when a test failed, its logs and config are kept, without the
PostgreSQL cluster).

A test module chooses the data it needs with a module-level list of repository-relative paths::

    IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]   # the default; [] imports nothing

and may change settings of the test configuration with a module-level dict (``workers`` is 2 unless set)::

    SETTINGS = {"workers": 1, "response_cache_mb": 8}

``"log_level": "debug"`` there makes each worker log every request it answers with its pid, which is what
``Stack.every_worker_answers`` reads to prove that requests reached every worker.

ctest runs every module in its own pytest process; modules run together in one session must agree on IMPORT_FILES
and SETTINGS.
"""

import collections
import ctypes
import gzip
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

REPO = os.path.abspath(
    os.environ.get("ROMTRACK_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
)
ROMTRACK_BIN = os.path.abspath(os.environ.get("ROMTRACK_BIN") or os.path.join(REPO, "build", "romtrack"))
PGCTL = os.path.join(REPO, "script", "pgctl")
NGINX_CONF = os.path.join(REPO, "script", "nginx-conf")
PSQL = "/usr/lib/postgresql/15/bin/psql"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

DEFAULT_IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]
CURSOR_SECRET = "romtrack-e2e-cursor-secret-32chr"  # 32 characters, fixed so that cursors are reproducible
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

_NULL = "\x1a"  # how psql() receives SQL NULL (becomes None)
_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if pytest dies (ctest timeout, kill -9), so nothing is left running."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _child_env():
    env = dict(os.environ)
    # The test config must be the only source of settings.
    env.pop("ROMTRACK_DATABASE_URL", None)
    env.pop("ROMTRACK_CONFIG", None)
    return env


def _yaml_str(s):
    return json.dumps(str(s))  # a JSON string is a valid YAML double-quoted scalar


def wait_for(predicate, timeout=15.0, step=0.05):
    """Calls predicate until it returns something true (returned) or ``timeout`` seconds pass (then its last
    value); every wait in the tests is bounded this way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def _tail(path, lines=80):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(cannot read %s: %s)\n" % (path, e)


def _process_state(pid):
    """The state letter of /proc/PID/stat (R, S, D, Z, ...), or None when the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


# ppoll(2)'s number: a worker waits for a connection in ppoll() on the listening socket alone, with no timeout
# (src/worker.c), the only ppoll() call of that shape
_PPOLL_SYSCALL = {"x86_64": 271, "aarch64": 73}.get(os.uname().machine)


def _waits_for_connection(pid):
    """Whether the worker is blocked in its wait for a connection (/proc/PID/syscall: "number fds nfds timeout ...",
    the arguments in hexadecimal)."""
    assert _PPOLL_SYSCALL is not None, "ppoll's system call number on %s is not known" % os.uname().machine
    try:
        with open("/proc/%d/syscall" % pid) as f:
            fields = f.read().split()
    except OSError:
        return False
    return (len(fields) >= 4 and fields[0] == str(_PPOLL_SYSCALL) and int(fields[2], 16) == 1
            and int(fields[3], 16) == 0)


_CONTRACT = []


def _contract():
    """openapi.yaml as a test oracle, loaded once per session."""
    if not _CONTRACT:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from contract import Contract
        _CONTRACT.append(Contract())
    return _CONTRACT[0]


class PsqlSession:
    """One long-lived psql session on the stack's database, driven through pipes: a transaction is held open
    between calls (test_changes' writers, test_state's concurrent importer)."""

    def __init__(self, stack, name):
        self.name = name
        self.proc = subprocess.Popen(
            [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
             str(stack.pg_port), "-U", "romtrack", "-d", "romtrack"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.n = 0

    def run(self, sql, timeout=20.0):
        """Sends sql and waits (bounded) until psql has run it."""
        self.n += 1
        marker = "done-%s-%d" % (self.name, self.n)
        self.proc.stdin.write("%s\nSELECT '%s';\n" % (sql, marker))
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if line == "":
                raise AssertionError("psql %s ended: %s" % (self.name, sql))
            if line.strip() == marker:
                return
            if "ERROR" in line:
                raise AssertionError("psql %s: %s" % (self.name, line))
        raise AssertionError("psql %s did not answer within %.0f s: %s" % (self.name, timeout, sql))

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class _RawHTTPConnection(http.client.HTTPConnection):
    """Sends the request target exactly as given (tests send %00, %FF, raw bytes and over-long URIs on purpose)."""

    def _validate_path(self, url):
        pass

    def _encode_request(self, request):
        return request.encode("latin-1")


class Stack:
    """The running system under test. Attributes: base_url, port, pg_port, tmpdir, config, log_path, master_pid."""

    def __init__(self, tmpdir, import_files, settings=None):
        self.tmpdir = tmpdir
        self.import_files = list(import_files)
        self.settings = dict(settings or {})
        self.datadir = os.path.join(tmpdir, "pg", "data")
        self.config = os.path.join(tmpdir, "romtrack.yaml")
        self.socket_path = os.path.join(tmpdir, "romtrack.sock")
        self.log_path = os.path.join(tmpdir, "romtrack.log")
        self.nginx_prefix = os.path.join(tmpdir, "nginx")
        self.pg_port = None
        self.port = None
        self.base_url = None
        self.serve_proc = None
        self.nginx_proc = None
        self.watchdog = None
        self._log_file = None

    # --- helpers for tests -------------------------------------------------------------------------------------

    @property
    def master_pid(self):
        return self.serve_proc.pid

    def worker_pids(self):
        """PIDs of the romtrack master's live child processes (its workers), sorted; zombies not yet reaped by
        the master are left out."""
        pids = set()
        task_dir = "/proc/%d/task" % self.master_pid
        try:
            for tid in os.listdir(task_dir):
                try:
                    with open(os.path.join(task_dir, tid, "children")) as f:
                        pids.update(int(p) for p in f.read().split())
                except OSError:
                    pass
        except OSError:
            return []
        return sorted(p for p in pids if _process_state(p) not in (None, "Z", "X"))

    def romtrack(self, *args, check=False, timeout=120, input=None):
        """Runs the romtrack CLI with the test config; returns the CompletedProcess (text stdout/stderr)."""
        return subprocess.run(
            [ROMTRACK_BIN, "-c", self.config, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            input=input,
            env=_child_env(),
            cwd=self.tmpdir,
        )

    def psql(self, sql):
        """Runs SQL on the romtrack database; returns the rows as a list of tuples of str (None for NULL)."""
        r = subprocess.run(
            [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-F", _FIELD_SEP, "-R", _RECORD_SEP, "-P", "null=" + _NULL,
             "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "romtrack", "-d", "romtrack", "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError("psql failed (%d): %s" % (r.returncode, r.stderr.strip()))
        out = r.stdout
        if out.endswith("\n"):
            out = out[:-1]
        if out == "":
            return []
        return [
            tuple(None if v == _NULL else v for v in rec.split(_FIELD_SEP))
            for rec in out.split(_RECORD_SEP)
        ]

    def get(self, path, headers=None, method="GET", timeout=30, contract=True, body=None, chunked=False):
        """One HTTP request through nginx. ``path`` (str or bytes) is sent unmodified; ``body`` (bytes, str, or a
        dict or list sent as JSON with ``Content-Type: application/json`` unless headers name one) with its
        Content-Length, or in chunks (``chunked``: no Content-Length, as a client that streams).

        Returns (status, headers, body, doc): headers is a dict with lower-cased names (repeated headers joined
        with ", "), body the raw bytes, doc the parsed JSON body or None when the body is empty or not JSON.
        Every request and response is checked against openapi.yaml (tests/e2e/contract.py) unless contract=False
        (for what the document does not describe: the HTML documentation page, nginx's 502 when romtrack is down).
        """
        if isinstance(path, bytes):
            path = path.decode("latin-1")
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and chunked:
            headers["Transfer-Encoding"] = "chunked"
        elif body is not None:
            headers.setdefault("Content-Length", str(len(body)))  # a test may declare another length on purpose
        request_headers, request_body = dict(headers), body
        conn = _RawHTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            if body is not None and chunked:
                for i in range(0, len(body), 8192):
                    piece = body[i:i + 8192]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            elif body is not None:
                conn.send(body)
            resp = conn.getresponse()
            body = resp.read()
            hdrs = {}
            for name, value in resp.getheaders():
                name = name.lower()
                hdrs[name] = hdrs[name] + ", " + value if name in hdrs else value
            status = resp.status
        finally:
            conn.close()
        doc = None
        if body:
            try:
                text = gzip.decompress(body) if hdrs.get("content-encoding") == "gzip" else body
                doc = json.loads(text)
            except ValueError:
                doc = None
        if contract:
            _contract().check_request(path, method, status, request_headers, request_body)
            _contract().check(path, method, status, hdrs, doc)
        return status, hdrs, body, doc

    def pgctl(self, *args, check=True):
        return subprocess.run([PGCTL, *args], capture_output=True, text=True, timeout=120, check=check)

    def pg_stop(self):
        """Stops PostgreSQL (e.g. to test 503 database-unavailable); pg_start() brings it back on the same port."""
        self.pgctl("stop", self.datadir)

    def pg_start(self):
        self.pgctl("start", "--fast", self.datadir, str(self.pg_port))

    def logs(self):
        return _tail(self.log_path, 200)

    def full_log(self):
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def reconfigure(self, lines, timeout=30.0):
        """Rewrites the config with ``lines`` ({key: YAML value}; None removes the key), reloads (SIGHUP) and
        waits until a full new generation of workers replaced the old one; returns the new pids."""
        with open(self.config) as f:
            kept = [l for l in f.read().splitlines() if l.split(":", 1)[0] not in lines]
        with open(self.config, "w") as f:
            f.write("\n".join(kept + ["%s: %s" % (k, v) for k, v in lines.items() if v is not None]) + "\n")
        old = set(self.worker_pids())
        reloads = self.full_log().count("configuration reloaded")
        os.kill(self.master_pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = set(self.worker_pids())
            if self.full_log().count("configuration reloaded") > reloads and pids and not pids & old:
                return sorted(pids)
            time.sleep(0.05)
        raise RuntimeError("no new generation within %gs:\n%s" % (timeout, self.logs()))

    def served_by(self, since, count, timeout=15.0):
        """The pids of the workers that logged the ``count`` request lines (log_level debug: "GET /uri 200")
        written to the log after byte offset ``since``; waits until that many are there (a worker logs a request
        right after answering it)."""
        pattern = re.compile(r" romtrack\[(\d+)\] worker \d+ debug: [A-Z]+ /\S* \d{3}(?: request=\S+)?$")
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
            pids = [int(m.group(1)) for m in map(pattern.search, text.splitlines()) if m]
            if len(pids) >= count or time.monotonic() > deadline:
                return pids
            time.sleep(0.02)

    def log_size(self):
        return os.path.getsize(self.log_path)

    def every_worker_answers(self, send, per_worker=1, at_least=1, good=None, max_requests=400, timeout=30.0):
        """Proves that requests reached every live worker: calls ``send()`` (which makes exactly one request that a
        worker answers, and returns what the test needs of it) until each pid of worker_pids() has answered
        ``per_worker`` of the requests and ``at_least`` were sent. With ``good``, a round in which some
        ``good(result)`` is false starts the count over (the workers must then all answer good ones again).

        The requests go in rounds, two per live worker at once (at most 8): sent one at a time, hundreds in a row
        can go to the same worker. Each worker logs every request it answers with its pid (log_level debug); the
        first round waits until every worker waits for a connection (no earlier request's line is still to come),
        each next one until the log holds the lines of all requests sent before. Returns (pids, results) since the
        last start over: the pids in the order of the log, the results in the order the answers came (a claim about
        the next answer of every worker checks every result: the first answer of each worker is among them).
        Raises AssertionError, naming who answered, when ``max_requests`` or ``timeout`` runs out first."""
        self._wait_workers_idle(timeout)
        since = self.log_size()
        sent, counted = 0, 0  # requests sent, and those sent before the current run started
        pids, results = [], []
        deadline = time.monotonic() + timeout
        while True:
            live = self.worker_pids()
            run = collections.Counter(pids)
            if live and sent - counted >= at_least and all(run[pid] >= per_worker for pid in live):
                return pids, results
            if sent >= max_requests or time.monotonic() > deadline:
                raise AssertionError(
                    "%d requests in %gs did not reach every live worker %d times: live %s, answered by %s\n%s"
                    % (sent, timeout, per_worker, live, dict(run), self.logs()))
            round_results, errors = self._send_together(send, min(8, 2 * max(1, len(live))))
            if errors:
                raise errors[0]
            sent += len(round_results)
            lines = self.served_by(since, sent, timeout=max(1.0, deadline - time.monotonic()))
            assert len(lines) == sent, "%d requests left %d request lines in the log (is log_level debug?)" % (
                sent, len(lines))
            if good is not None and not all(good(r) for r in round_results):
                counted, pids, results = sent, [], []
            else:
                pids.extend(lines[sent - len(round_results):])
                results.extend(round_results)

    def _wait_workers_idle(self, timeout):
        """Waits until every live worker waits for a connection, so that the log holds the line of every request
        answered so far (a worker logs a request after answering it, before it waits for the next one)."""
        deadline = time.monotonic() + timeout
        while True:
            busy = [pid for pid in self.worker_pids() if not _waits_for_connection(pid)]
            if not busy:
                return
            assert time.monotonic() < deadline, "workers %s did not come back to wait for a connection" % busy
            time.sleep(0.01)

    @staticmethod
    def _send_together(send, n):
        """Calls send() from n threads released at once; returns (results, exceptions)."""
        barrier, lock = threading.Barrier(n), threading.Lock()
        results, errors = [], []

        def run():
            try:
                barrier.wait(10)
                result = send()
            except BaseException as e:  # re-raised in the calling thread
                with lock:
                    errors.append(e)
                return
            with lock:
                results.append(result)

        threads = [threading.Thread(target=run) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results, errors

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self):
        if not os.access(ROMTRACK_BIN, os.X_OK):
            raise RuntimeError("romtrack binary not found: %s (set ROMTRACK_BIN or build it)" % ROMTRACK_BIN)
        self._start_postgres()
        self._write_config()
        steps = [["migrate"]]
        if self.import_files:
            steps.append(["import", *[os.path.join(REPO, f) for f in self.import_files]])
        for step in steps:
            r = self.romtrack(*step)
            if r.returncode != 0:
                raise RuntimeError("romtrack %s failed (%d):\n%s%s" % (step[0], r.returncode, r.stdout, r.stderr))
        self._log_file = open(self.log_path, "ab")
        self.serve_proc = subprocess.Popen(
            [ROMTRACK_BIN, "-c", self.config, "serve"],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT,
            env=_child_env(), cwd=self.tmpdir, preexec_fn=_die_with_parent,
        )
        self._start_nginx()
        self._wait_healthy()

    def _start_postgres(self):
        r = self.pgctl("init", self.datadir, check=False)
        if r.returncode != 0:
            raise RuntimeError("pgctl init failed:\n" + r.stderr)
        last = ""
        for _ in range(3):  # a free port can be taken between the probe and the bind
            port = _free_port()
            r = self.pgctl("start", "--fast", self.datadir, str(port), check=False)
            if r.returncode == 0:
                self.pg_port = port
                break
            last = r.stderr
        else:
            raise RuntimeError("pgctl start failed:\n" + last)
        # If pytest is killed, stop the cluster anyway (romtrack and nginx die with pytest through PDEATHSIG).
        self.watchdog = subprocess.Popen(
            ["/bin/sh", "-c", 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"',
             "watchdog", str(os.getpid()), PGCTL, self.datadir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _write_config(self):
        with open(self.config, "w") as f:
            f.write("# romtrack e2e test configuration (tests/e2e/conftest.py)\n")
            f.write("database: %s\n" % _yaml_str(
                "host=127.0.0.1 port=%d dbname=romtrack user=romtrack" % self.pg_port))
            f.write("listen: %s\n" % _yaml_str(self.socket_path))
            # the default socket_mode (0660) and group (romtrack's own): script/nginx-conf runs nginx's workers as
            # the user who runs it, root included
            f.write("workers: %d\n" % self.settings.get("workers", 2))
            f.write("migrations: %s\n" % _yaml_str(os.path.join(REPO, "sql")))
            f.write("openapi: %s\n" % _yaml_str(os.path.join(REPO, "openapi.yaml")))
            f.write("log_level: %s\n" % self.settings.get("log_level", "info"))
            f.write("shutdown_timeout: 10\n")
            f.write("cursor_secret: %s\n" % _yaml_str(CURSOR_SECRET))
            # the suites' writes are not paced (some make a hundred with one token); e2e.write_limits sets its own
            if "write_limit_per_minute" not in self.settings:
                f.write("write_limit_per_minute: 0\n")
            for name, value in self.settings.items():
                if name not in ("workers", "log_level"):
                    f.write("%s: %s\n" % (name, json.dumps(value)))

    def _start_nginx(self):
        for _ in range(3):
            port = _free_port()
            r = subprocess.run(
                # no requests-a-second limit: the suites measure romtrack, and some send hundreds at once
                # (e2e.front tests the limit on a front of its own)
                [NGINX_CONF, "--max-body-kb", str(self.settings.get("max_body_kb", 1024)), "--rate-per-addr", "0",
                 self.nginx_prefix,
                 "127.0.0.1:%d" % port, "unix:" + self.socket_path],
                capture_output=True, text=True, timeout=60,
            )
            if r.returncode != 0:
                raise RuntimeError("script/nginx-conf failed:\n" + r.stderr)
            conf = r.stdout.strip()
            self.nginx_proc = subprocess.Popen(
                [NGINX, "-p", self.nginx_prefix, "-c", conf, "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.nginx_prefix, "stderr.log"), "ab"),
                preexec_fn=_die_with_parent,
            )
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.nginx_proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.port = port
                    self.base_url = "http://127.0.0.1:%d" % port
                    return
                except OSError:
                    time.sleep(0.05)
            self._stop_nginx()
        raise RuntimeError("nginx did not start:\n" + _tail(os.path.join(self.nginx_prefix, "error.log"))
                           + _tail(os.path.join(self.nginx_prefix, "stderr.log")))

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.serve_proc.poll() is not None:
                raise RuntimeError("romtrack serve exited with %s:\n%s" % (self.serve_proc.returncode, self.logs()))
            try:
                status, _, body, _ = self.get("/api/health", timeout=5, contract=False)
                if status == 200:
                    return
                last = "%d %r" % (status, body[:200])
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError("GET /api/health did not answer 200 within %gs (last: %s)\n%s"
                           % (START_TIMEOUT, last, self.logs()))

    def _stop_nginx(self):
        p, self.nginx_proc = self.nginx_proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGQUIT)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self):
        """Stops everything; returns a list of problems (empty when all stopped cleanly)."""
        problems = []
        p = self.serve_proc
        if p is not None:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append("romtrack serve did not stop within %gs of SIGTERM; killed" % STOP_TIMEOUT)
                    p.kill()
                    p.wait()
            if p.returncode not in (0, -signal.SIGTERM):
                problems.append("romtrack serve exited with status %s" % p.returncode)
        # A sanitizer report or an abnormal worker exit in the log fails the run even when every request passed.
        log = _tail(self.log_path, 100000)
        for marker in ("Sanitizer", "runtime error:", "ended abnormally", "exited with status"):
            if marker in log:
                problems.append("the romtrack log reports %r" % marker)
        try:
            self._stop_nginx()
        except OSError as e:
            problems.append("stopping nginx: %s" % e)
        if self.pg_port is not None:
            r = self.pgctl("stop", self.datadir, check=False)
            if r.returncode != 0:
                problems.append("pgctl stop failed: " + r.stderr.strip())
        if self.watchdog is not None and self.watchdog.poll() is None:
            self.watchdog.kill()
            self.watchdog.wait()
        if self._log_file is not None:
            self._log_file.close()
        return problems


def _session_settings(session):
    """The SETTINGS of the test modules in this session (they must agree)."""
    seen = {}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None:
            settings = getattr(module, "SETTINGS", {})
            seen.setdefault(json.dumps(settings, sort_keys=True), module.__name__)
    if len(seen) > 1:
        raise RuntimeError("test modules with different SETTINGS must run in separate pytest sessions: %s"
                           % ", ".join("%s=%s" % (m, s) for s, m in seen.items()))
    return json.loads(next(iter(seen))) if seen else {}


def _session_import_files(session):
    """The IMPORT_FILES of the test modules in this session (they must agree)."""
    seen = {}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None:
            files = tuple(getattr(module, "IMPORT_FILES", DEFAULT_IMPORT_FILES))
            seen.setdefault(files, module.__name__)
    if len(seen) > 1:
        raise RuntimeError("test modules with different IMPORT_FILES must run in separate pytest sessions: %s"
                           % ", ".join("%s=%s" % (m, list(f)) for f, m in seen.items()))
    return list(next(iter(seen))) if seen else list(DEFAULT_IMPORT_FILES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.session.romtrack_e2e_failed = True


@pytest.fixture(scope="session")
def stack(request):
    tmpdir = tempfile.mkdtemp(prefix="romtrack-e2e-", dir="/tmp")
    os.chmod(tmpdir, 0o755)  # postgres runs as another user when tests run as root (nginx's workers run as the tests' user)
    s = Stack(tmpdir, _session_import_files(request.session), _session_settings(request.session))
    try:
        s.start()
    except BaseException:
        s.stop()
        shutil.rmtree(s.datadir, ignore_errors=True)
        sys.__stderr__.write("\nromtrack e2e: start-up failed; logs kept in %s\n" % tmpdir)
        raise
    yield s
    problems = s.stop()
    failed = getattr(request.session, "romtrack_e2e_failed", False) or request.session.testsfailed
    if failed or problems:
        shutil.rmtree(s.datadir, ignore_errors=True)  # the cluster is large; logs and config are what matter
        sys.__stderr__.write(
            "\n===== romtrack log (%s) =====\n%s===== end of romtrack log; files kept in %s =====\n"
            % (s.log_path, _tail(s.log_path, 200), tmpdir))
        for p in problems:
            sys.__stderr__.write("romtrack e2e teardown: %s\n" % p)
        sys.__stderr__.flush()
    elif not os.environ.get("ROMTRACK_E2E_KEEP"):
        shutil.rmtree(tmpdir, ignore_errors=True)
    assert not problems, "; ".join(problems)
