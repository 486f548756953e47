"""The worker pool under signals: a killed worker is replaced, SIGHUP reloads without failing a request (and a
reload whose workers cannot get ready is abandoned), workers recycle themselves after max_requests, SIGTERM lets the
request in hand finish. The module runs at log_level debug: each worker logs every request it answers with its pid,
which is how a test shows which workers it reached (Stack.served_by)."""

import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import conftest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

PATHS = ["/api/health", "/api/devices?limit=5", "/api/devices/cancro", "/api/devices/alioth/releases?limit=20"]


class Load:
    """A bounded stream of requests from a few threads; counts every answer that is not a 200."""

    def __init__(self, stack, threads=4, seconds=30.0):
        self.stack, self.nthreads, self.seconds = stack, threads, seconds
        self.ok = 0
        self.failures = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i):
        deadline = time.monotonic() + self.seconds
        n = i
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            path = PATHS[n % len(PATHS)]
            n += 1
            try:
                status, _, body, doc = self.stack.get(path, timeout=10)
                good = status == 200 and doc is not None
            except OSError as e:
                status, body, good = None, repr(e).encode(), False
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failures.append((path, status, body[:200]))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join()


@pytest.fixture(scope="module", autouse=True)
def debug_log(stack):
    stack.reconfigure({"log_level": "debug"})
    yield
    if stack.serve_proc.poll() is None:  # the last test stops the server
        stack.reconfigure({"log_level": None})


def reloads(stack):
    return stack.full_log().count("configuration reloaded")


def test_pool_has_configured_workers(stack):
    assert len(conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())) == 2


def test_killed_worker_is_replaced(stack):
    before = conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    after = conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and victim not in stack.worker_pids()
                     and stack.worker_pids())
    assert after and victim not in after and len(after) == 2
    for path in PATHS:
        assert stack.get(path)[0] == 200
    assert "killed by signal 9" in stack.full_log()


def test_sighup_under_load_fails_no_request(stack):
    before = set(stack.worker_pids())
    offset = stack.log_size()
    with Load(stack) as load:
        # the load reaches every worker of the first generation, then of the last (the log says who answered)
        assert conftest.wait_for(lambda: before <= set(stack.served_by(offset, 0))), "every old worker answered"
        for _ in range(3):
            done, ok = reloads(stack), load.ok
            os.kill(stack.master_pid, signal.SIGHUP)
            assert conftest.wait_for(lambda: reloads(stack) > done and load.ok >= ok + 20), "reloaded under load"
        after = set(conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and not set(stack.worker_pids()) & before
                             and stack.worker_pids()) or [])
        assert conftest.wait_for(lambda: after <= set(stack.served_by(offset, 0))), "every new worker answered"
    assert load.failures == []
    assert len(after) == 2 and not after & before, "every worker was replaced"


def run_wrk(stack, seconds, during):
    """Saturates the pool with wrk (64 connections, bounded in time) while during() runs;
    returns wrk's report."""
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d%ds" % seconds, stack.base_url + "/api/devices?limit=50"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        during()
    finally:
        out, _ = wrk.communicate(timeout=seconds + 30)
    assert wrk.returncode == 0, out
    return out


def test_sighup_under_saturating_load_fails_no_request(stack):
    """With the backlog never empty, old workers must still notice SIGTERM and leave."""
    offset = stack.log_size()

    def reload_three_times():
        assert len(stack.served_by(offset, 100)) >= 100, "wrk is running"
        for _ in range(3):
            done = reloads(stack)
            os.kill(stack.master_pid, signal.SIGHUP)
            assert conftest.wait_for(lambda: reloads(stack) > done)
        since = stack.log_size()
        assert len(stack.served_by(since, 100)) >= 100, "wrk was still running after the reloads"

    report = run_wrk(stack, 12, reload_three_times)
    requests = int(re.search(r"(\d+) requests in", report).group(1))
    assert requests > 500, report
    assert "Non-2xx" not in report and "Socket errors" not in report, report
    assert "did not stop in" not in stack.full_log()
    assert "ended abnormally" not in stack.full_log()


def test_sighup_applies_new_configuration(stack):
    with open(stack.config) as f:
        original = f.read()

    def replaced(old, count):
        """True once exactly count workers run and none of them is from the old generation."""
        pids = set(stack.worker_pids())
        return len(pids) == count and not pids & old

    try:
        with open(stack.config, "w") as f:
            f.write(original.replace("workers: 2", "workers: 3"))
        old = set(stack.worker_pids())
        os.kill(stack.master_pid, signal.SIGHUP)
        assert conftest.wait_for(lambda: replaced(old, 3))
        # a broken file is refused and the running configuration stays
        with open(stack.config, "w") as f:
            f.write(original.replace("workers: 2", "workers: lots"))
        os.kill(stack.master_pid, signal.SIGHUP)
        assert conftest.wait_for(lambda: "reload refused" in stack.full_log())
        assert "workers must be an integer" in stack.full_log()
        assert len(stack.worker_pids()) == 3
        assert stack.get("/api/health")[0] == 200
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
        old = set(stack.worker_pids())
        os.kill(stack.master_pid, signal.SIGHUP)
        assert conftest.wait_for(lambda: replaced(old, 2))


def test_a_reload_keeps_what_needs_a_restart_and_applies_the_rest(stack):
    """The key table (src/config.c) says which keys a reload applies. The listening socket stays across a reload, so
    a change to what it was made with (socket_mode, backlog) is logged, one line per key, and the running value stays
    in effect (the socket's mode on disk; the master's socket is not made again); a change to another key
    (cache_max_age) applies: every new worker answers with it."""
    assert stat.S_IMODE(os.stat(stack.socket_path).st_mode) == 0o660
    offset = stack.log_size()
    stack.reconfigure({"socket_mode": '"0600"', "backlog": 7, "cache_max_age": 7})
    try:
        with open(stack.log_path, "rb") as f:
            f.seek(offset)
            log = f.read().decode("utf-8", "replace")
        assert 'socket_mode changed to "0600": it needs a restart, "0660" stays in effect until then' in log, log
        assert "backlog changed to 7: it needs a restart, 128 stays in effect until then" in log, log
        assert log.count("needs a restart") == 2, log  # cache_max_age is not said to need one
        assert stat.S_IMODE(os.stat(stack.socket_path).st_mode) == 0o660

        def cache_control():
            status, headers, _, _ = stack.get("/api/devices?limit=5")
            return status, headers.get("cache-control", "")

        _, answers = stack.every_worker_answers(cache_control)
        assert all(status == 200 and "max-age=7," in header for status, header in answers), answers
    finally:
        offset = stack.log_size()
        stack.reconfigure({"socket_mode": None, "backlog": None, "cache_max_age": None})
    # back to the values in effect: nothing to keep
    with open(stack.log_path, "rb") as f:
        f.seek(offset)
        assert b"needs a restart" not in f.read()


def test_reload_to_a_wrong_database_keeps_the_running_pool(stack):
    """Ready means connected with statements prepared: workers that cannot reach their database never replace
    the ones that serve; after shutdown_timeout (10 s in conftest) the reload is abandoned, with a reason."""
    with open(stack.config) as f:
        original = f.read()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    before = stack.worker_pids()
    try:
        with open(stack.config, "w") as f:
            f.write(re.sub(r"port=\d+", "port=%d" % dead_port, original))
        os.kill(stack.master_pid, signal.SIGHUP)
        assert conftest.wait_for(lambda: "not ready: database not reachable" in stack.full_log())
        for path in PATHS:  # meanwhile the running generation answers
            assert stack.get(path)[0] == 200
        assert conftest.wait_for(lambda: "reload abandoned" in stack.full_log(), timeout=40)
        assert "only 0 of 2 new workers got ready" in stack.full_log()
        assert conftest.wait_for(lambda: stack.worker_pids() == before), "the running workers stay, the new ones leave"
        for path in PATHS:
            assert stack.get(path)[0] == 200
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
    done = reloads(stack)
    os.kill(stack.master_pid, signal.SIGHUP)  # the right database again: an ordinary reload
    assert conftest.wait_for(lambda: reloads(stack) > done and len(stack.worker_pids()) == 2
                    and not set(stack.worker_pids()) & set(before), timeout=30)
    assert stack.get("/api/health")[0] == 200


def new_workers(stack, old, count, timeout=15.0):
    """The pids of count workers that are not in old (a new generation's), once that many run."""
    return conftest.wait_for(lambda: len(set(stack.worker_pids()) - old) >= count and sorted(set(stack.worker_pids()) - old),
                    timeout=timeout) or []


def test_a_reload_whose_workers_die_before_they_are_ready_is_abandoned_at_once(stack):
    """A reload waits up to shutdown_timeout (600 s here) for its workers to get ready, but not for workers that are
    dead: once a new one dies unready the reload cannot complete (it is not replaced), and it is abandoned there and then. Meanwhile the
    master keeps the running generation whole: an old worker that dies during the wait is replaced."""
    with open(stack.config) as f:
        original = f.read()
    with socket.socket() as s:  # a port nobody listens on: the new workers wait for their database
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    old = set(conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids()))
    abandoned = stack.full_log().count("reload abandoned")
    try:
        with open(stack.config, "w") as f:
            f.write(re.sub(r"port=\d+", "port=%d" % dead_port, original)
                    .replace("shutdown_timeout: 10", "shutdown_timeout: 600"))
        os.kill(stack.master_pid, signal.SIGHUP)
        new = set(new_workers(stack, old, 2))
        assert len(new) == 2, stack.logs()
        # an old worker dies while the master waits: it is replaced, and its replacement serves
        victim = sorted(old)[0]
        os.kill(victim, signal.SIGKILL)
        replacement = set(new_workers(stack, old | new, 1))
        assert len(replacement) == 1, "the old worker was replaced during the reload's wait:\n" + stack.logs()
        offset = stack.log_size()
        for i in range(200):  # until the replacement answered (two workers share the requests)
            assert stack.get(PATHS[i % len(PATHS)])[0] == 200
            if replacement & set(stack.served_by(offset, i + 1)):
                break
        assert replacement & set(stack.served_by(offset, 0)), "the replacement serves"
        # a new worker dies before it is ready (as workers that exit at once would): the reload cannot complete,
        # and the master stops the other one itself
        os.kill(sorted(new)[0], signal.SIGKILL)
        assert conftest.wait_for(lambda: stack.full_log().count("reload abandoned") > abandoned, timeout=30), \
            "abandoned well before shutdown_timeout:\n" + stack.logs()
        assert "died before they were ready" in stack.full_log()
        kept = (old - {victim}) | replacement
        assert conftest.wait_for(lambda: set(stack.worker_pids()) == kept), "the running pool stays"
        for path in PATHS:
            assert stack.get(path)[0] == 200
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
    done = reloads(stack)
    os.kill(stack.master_pid, signal.SIGHUP)  # and the next reload is an ordinary one
    assert conftest.wait_for(lambda: reloads(stack) > done, timeout=30), stack.logs()


class OwnServer:
    """A romtrack serve of its own (its socket, its log; the stack's database and settings with edits), for tests
    that stop the master or load it with hundreds of workers while the stack keeps serving."""

    def __init__(self, stack, name, edit=lambda text: text):
        tmp = os.path.join(stack.tmpdir, name)
        os.makedirs(tmp, exist_ok=True)
        self.config = os.path.join(tmp, "romtrack.yaml")
        self.socket = os.path.join(tmp, "romtrack.sock")
        self.log_path = os.path.join(tmp, "romtrack.log")
        with open(stack.config) as f:
            self.settings = edit(re.sub(r"(?m)^listen: .*$", "listen: %s" % conftest._yaml_str(self.socket),
                                        f.read()))
        with open(self.config, "w") as f:
            f.write(self.settings)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([conftest.ROMTRACK_BIN, "-c", self.config, "serve"],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         env=conftest._child_env(), cwd=tmp, preexec_fn=conftest._die_with_parent)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def children(self):
        """The pids of the master's live children."""
        pids = set()
        for tid in os.listdir("/proc/%d/task" % self.proc.pid):
            with open("/proc/%d/task/%s/children" % (self.proc.pid, tid)) as f:
                pids.update(int(p) for p in f.read().split())
        return {p for p in pids if conftest._process_state(p) not in (None, "Z", "X")}

    def rewrite(self, edit):
        with open(self.config, "w") as f:
            f.write(edit(self.settings))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def dead_database(text):
    """The configuration with a database port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return re.sub(r"port=\d+", "port=%d" % s.getsockname()[1], text)


def test_sigterm_during_a_reload_stops_the_server(stack):
    """SIGTERM while a reload waits for workers that cannot get ready (a wrong database, shutdown_timeout 600 s):
    the reload is abandoned and the server stops at once. A server of its own, so that the stack keeps serving."""
    server = OwnServer(stack, "sigterm-during-reload")
    try:
        assert conftest.wait_for(lambda: len(re.findall(r" worker \d+ debug: ready$", server.log(), re.M)) == 2), server.log()
        server.rewrite(lambda text: dead_database(text).replace("shutdown_timeout: 10", "shutdown_timeout: 600"))
        server.proc.send_signal(signal.SIGHUP)
        assert conftest.wait_for(lambda: "not ready: database not reachable" in server.log()), server.log()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0, server.log()
        assert "reload abandoned: SIGTERM came" in server.log()
        assert not os.path.exists(server.socket), "the socket file is removed on exit"
    finally:
        server.close()


def test_a_reload_that_would_overfill_the_worker_table_is_refused(stack):
    """The master supervises at most 512 workers: two generations of 256 (the most `workers` allows). A SIGHUP
    that comes while an earlier reload's workers are still stopping would need more: it is refused, with a line
    saying why, rather than starting a generation with workers missing. Here: 256 workers serving without a
    database, a reload to the same (its new workers cannot get ready: abandoned after shutdown_timeout, 10 s:
    long enough for a loaded machine to fork all 256 before it runs out, which 2 s was not), and a second SIGHUP
    during that wait, taken once the first reload is over, while one of its workers is held (SIGSTOP) so that it
    is still stopping."""
    server = OwnServer(stack, "worker-table", lambda text: dead_database(text)
                       .replace("workers: 2", "workers: 256")
                       + "response_cache_mb: 0\n")
    held = None
    try:
        first = set(conftest.wait_for(lambda: len(server.children()) == 256 and server.children(), timeout=120) or [])
        assert len(first) == 256, server.log()[-3000:]
        server.proc.send_signal(signal.SIGHUP)
        assert conftest.wait_for(lambda: len(server.children() - first) == 256, timeout=120), server.log()[-3000:]
        held = min(server.children() - first)
        os.kill(held, signal.SIGSTOP)
        server.proc.send_signal(signal.SIGHUP)
        assert conftest.wait_for(lambda: "reload refused" in server.log(), timeout=60), server.log()[-3000:]
        log = server.log()
        assert "reload abandoned" in log and log.index("reload abandoned") < log.index("reload refused")
        assert re.search(r"reload refused, keeping the running configuration: \d+ workers of an earlier "
                         r"generation are still stopping", log), log[-3000:]
        assert "cannot start worker" not in log
        assert conftest.wait_for(lambda: server.children() == first, timeout=60), "the running generation stays"
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(60) == 0, server.log()[-3000:]
    finally:
        if held is not None:
            try:
                os.kill(held, signal.SIGCONT)
            except ProcessLookupError:
                pass
        server.close()


def test_a_worker_out_of_file_descriptors_waits_rather_than_exits(stack):
    """accept failing with EMFILE (the worker's RLIMIT_NOFILE lowered to its open descriptors) is transient: the
    worker logs it, pauses and tries again, and serves once the limit is raised; it neither exits (the master
    would fork a replacement with a new database connection, in a loop) nor fills the log."""
    import resource

    workers = conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())
    assert len(workers) == 2
    limits = {}
    for pid in workers:
        fds = {int(fd) for fd in os.listdir("/proc/%d/fd" % pid)}
        lowest_free = min(set(range(len(fds) + 1)) - fds)
        limits[pid] = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, limits[pid][1]))  # the soft limit only
    warned = stack.full_log().count("FastCGI accept failed: Too many open files")
    result = {}

    def request():
        result["response"] = stack.get("/api/health", timeout=60)

    t = threading.Thread(target=request)
    t.start()
    try:
        assert conftest.wait_for(lambda: stack.full_log().count("FastCGI accept failed: Too many open files") > warned), \
            stack.logs()
        time.sleep(1)  # ten more failed attempts, one every 100 ms: logged once, and nobody leaves
        assert stack.worker_pids() == workers, stack.logs()
        assert stack.full_log().count("FastCGI accept failed") - warned <= 2, "once per worker"
    finally:
        for pid, limit in limits.items():
            resource.prlimit(pid, resource.RLIMIT_NOFILE, limit)
        t.join(60)
    assert result["response"][0] == 200
    assert conftest.wait_for(lambda: "FastCGI accept works again" in stack.full_log())
    assert stack.worker_pids() == workers
    assert "exited with status" not in stack.full_log()


def test_workers_are_recycled_after_max_requests(stack):
    n = 5  # below 10, max_requests gets no random extra (a tenth of it)
    stack.reconfigure({"max_requests": n})
    try:
        offset = stack.log_size()
        for i in range(40):
            assert stack.get(PATHS[i % len(PATHS)])[0] == 200
        served = stack.served_by(offset, 40)
        assert len(served) == 40
        per_worker = {pid: served.count(pid) for pid in set(served)}
        assert max(per_worker.values()) <= n, per_worker
        assert len(per_worker) >= 40 // n, "each worker left after n requests and was replaced"
        assert conftest.wait_for(lambda: stack.full_log().count("recycled itself") >= 40 // n - 2)
        assert "died before it was ready" not in stack.full_log()
    finally:
        stack.reconfigure({"max_requests": None})


def test_recycling_under_load_fails_no_request(stack):
    stack.reconfigure({"max_requests": 20})
    try:
        offset = stack.log_size()
        with Load(stack, threads=4, seconds=60) as load:
            assert conftest.wait_for(lambda: load.ok >= 600 or load.failures, timeout=60)
        assert load.failures == []
        served = stack.served_by(offset, load.ok)
        assert len(set(served)) >= 600 // 22, "workers were recycled under load"
    finally:
        stack.reconfigure({"max_requests": None})


def test_only_workers_that_die_before_they_are_ready_are_braked(stack):
    """A worker killed while ready (in a request, say) is replaced at once; one that dies before it is ready
    (here: while PostgreSQL is down, so it cannot connect) is replaced after a 1 s brake, which the log says."""

    def kill_and_replace(victim):
        """SIGKILLs victim; returns the pid of its replacement."""
        others = set(stack.worker_pids()) - {victim}
        os.kill(victim, signal.SIGKILL)
        assert conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and victim not in stack.worker_pids())
        (replacement,) = set(stack.worker_pids()) - others
        return replacement

    kill_and_replace(stack.worker_pids()[0])
    assert "died before it was ready" not in stack.full_log()
    stack.pg_stop()
    try:
        warned = stack.full_log().count("database not reachable yet")
        unready = kill_and_replace(stack.worker_pids()[0])  # cannot connect: serves 503, is not ready
        assert conftest.wait_for(lambda: stack.full_log().count("database not reachable yet") > warned)
        kill_and_replace(unready)
        assert "died before it was ready" in stack.full_log()
    finally:
        stack.pg_start()
    assert conftest.wait_for(lambda: stack.get("/api/health", contract=False)[0] == 200, timeout=30)


def test_sigterm_finishes_the_request_in_hand(stack):
    # Hold a lock that the device list query needs, so that a request is provably in progress.
    locker = subprocess.Popen(
        [conftest.PSQL, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(stack.pg_port), "-U", "romtrack",
         "-d", "romtrack"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    locker.stdin.write("BEGIN; LOCK TABLE device IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
    locker.stdin.flush()
    assert locker.stdout.readline().strip() == "locked"
    result = {}

    def request():
        result["response"] = stack.get("/api/devices?limit=2", timeout=30)

    t = threading.Thread(target=request)
    t.start()
    assert conftest.wait_for(lambda: stack.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0] == "1")
    stack.serve_proc.send_signal(signal.SIGTERM)
    # the idle worker leaves at once; the busy one stays, and so does the master
    assert conftest.wait_for(lambda: "SIGTERM: stopping" in stack.full_log() and len(stack.worker_pids()) == 1)
    assert stack.serve_proc.poll() is None, "the master waits for the worker holding a request"
    locker.stdin.write("COMMIT;\n")
    locker.stdin.close()
    locker.wait(10)
    t.join(30)
    status, _, _, doc = result["response"]
    assert status == 200 and len(doc["data"]) == 2
    assert stack.serve_proc.wait(15) == 0
    assert not os.path.exists(stack.socket_path), "the socket file is removed on exit"
