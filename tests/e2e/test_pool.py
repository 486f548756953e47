"""The worker pool under signals: a killed worker is replaced, SIGHUP reloads without failing a request,
SIGTERM lets the request in hand finish."""

import os
import re
import signal
import subprocess
import threading
import time

import conftest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

PATHS = ["/api/health", "/api/devices?limit=5", "/api/devices/cancro", "/api/devices/alioth/releases?limit=20"]


def wait_for(predicate, timeout=15.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


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


def test_pool_has_configured_workers(stack):
    assert len(wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())) == 2


def test_killed_worker_is_replaced(stack):
    before = wait_for(lambda: len(stack.worker_pids()) == 2 and stack.worker_pids())
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    after = wait_for(lambda: len(stack.worker_pids()) == 2 and victim not in stack.worker_pids()
                     and stack.worker_pids())
    assert after and victim not in after and len(after) == 2
    for path in PATHS:
        assert stack.get(path)[0] == 200
    assert "killed by signal 9" in stack.logs()


def test_sighup_under_load_fails_no_request(stack):
    before = set(stack.worker_pids())
    with Load(stack) as load:
        time.sleep(0.5)
        for _ in range(3):
            os.kill(stack.master_pid, signal.SIGHUP)
            time.sleep(0.7)
        time.sleep(0.5)
    assert load.failures == []
    assert load.ok > 50, "the load must actually have run during the reloads"
    after = wait_for(lambda: len(stack.worker_pids()) == 2 and not (set(stack.worker_pids()) & before)
                     and stack.worker_pids())
    assert after and not set(after) & before, "every worker was replaced"
    assert stack.logs().count("configuration reloaded") >= 3


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
    def reload_three_times():
        time.sleep(1)
        for _ in range(3):
            os.kill(stack.master_pid, signal.SIGHUP)
            time.sleep(1)

    report = run_wrk(stack, 5, reload_three_times)
    requests = int(re.search(r"(\d+) requests in", report).group(1))
    assert requests > 500, report
    assert "Non-2xx" not in report and "Socket errors" not in report, report
    assert "did not stop in" not in stack.logs()
    assert "ended abnormally" not in stack.logs()


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
        assert wait_for(lambda: replaced(old, 3))
        # a broken file is refused and the running configuration stays
        with open(stack.config, "w") as f:
            f.write(original.replace("workers: 2", "workers: lots"))
        os.kill(stack.master_pid, signal.SIGHUP)
        assert wait_for(lambda: "reload refused" in stack.logs())
        assert "workers must be an integer" in stack.logs()
        assert len(stack.worker_pids()) == 3
        assert stack.get("/api/health")[0] == 200
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
        old = set(stack.worker_pids())
        os.kill(stack.master_pid, signal.SIGHUP)
        assert wait_for(lambda: replaced(old, 2))


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
    assert wait_for(lambda: stack.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0] == "1")
    stack.serve_proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert stack.serve_proc.poll() is None, "the master waits for the worker holding a request"
    locker.stdin.write("COMMIT;\n")
    locker.stdin.close()
    locker.wait(10)
    t.join(30)
    status, _, _, doc = result["response"]
    assert status == 200 and len(doc["data"]) == 2
    assert stack.serve_proc.wait(15) == 0
    assert not os.path.exists(stack.socket_path), "the socket file is removed on exit"
