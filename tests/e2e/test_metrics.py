"""Prometheus metrics end to end (issue 13): GET /metrics through nginx, its output checked by Debian's promtool and
scraped by a real Prometheus (Debian's prometheus, started on loopback by this module), whose PromQL answers are
compared with the requests this module made. The requests are shown to reach every worker (the log names the
worker of each, log_level debug), so a sum that matches counts every worker's slot; a worker killed afterwards
loses none of its counts. Expected values come from what the test sent and from the database (psql), not from
romtrack."""

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

import conftest

SETTINGS = {"log_level": "debug", "workers": 2, "metrics_allow_networks": "127.0.0.1/32"}

DEVICES_ROUTE = "/api/devices/{codename}"


class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping the stack's /metrics through nginx every second."""

    def __init__(self, stack):
        self.dir = os.path.join(stack.tmpdir, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [{"job_name": "romtrack", "metrics_path": "/metrics",
                                    "static_configs": [{"targets": ["127.0.0.1:%d" % stack.port]}]}],
            }, f)
        self.port = conftest._free_port()
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=conftest._die_with_parent)
        deadline = time.monotonic() + 30
        while not self._ready():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.1)

    def _ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def text(self):
        with open(os.path.join(self.dir, "prometheus.log")) as f:
            return f.read()

    def query(self, promql):
        """The value of an instant query's single sample, or None when it has none."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        result = doc["data"]["result"]
        assert len(result) <= 1, (promql, result)
        return float(result[0]["value"][1]) if result else None

    def scraped_after(self, t, timeout=30):
        """Waits until a scrape that started after time t (seconds since the epoch) is stored."""
        deadline = time.monotonic() + timeout
        while True:
            last = self.query('max(timestamp(romtrack_build_info{job="romtrack"}))')
            if last is not None and last > t:
                return
            assert time.monotonic() < deadline, "no scrape after %s (last %s)\n%s" % (t, last, self.text())
            time.sleep(0.2)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def prometheus(stack):
    p = Prometheus(stack)
    yield p
    p.close()


def metrics_from(stack, source):
    """GET /metrics over a connection from the source address given: (status, content type, body)."""
    c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10, source_address=(source, 0))
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        c.close()


def test_promtool_accepts_the_output(stack):
    status, headers, body, _ = stack.get("/metrics")
    assert status == 200, body
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert check.returncode == 0, (check.stdout, check.stderr)
    text = body.decode()
    # no label of a request's own values: routes are patterns
    assert 'route="/api/health"' in text and "{codename}" in text
    with open(os.path.join(conftest.REPO, "openapi.yaml")) as f:
        version = yaml.safe_load(f)["info"]["version"]
    assert 'romtrack_build_info{version="%s"} 1' % version in text


def test_other_networks_get_403(stack):
    """metrics_allow_networks is 127.0.0.1/32 here: a client at 127.0.0.2 (loopback too) is refused."""
    status, content_type, body = metrics_from(stack, "127.0.0.2")
    assert status == 403 and content_type == "application/problem+json", body
    problem = json.loads(body)
    assert problem["type"] == "urn:romtrack:problem:forbidden" and "metrics_allow_networks" in problem["detail"]
    assert metrics_from(stack, "127.0.0.1")[0] == 200


def test_prometheus_counts_every_workers_requests_and_a_killed_worker_loses_none(stack, prometheus):
    requests_404 = 'sum(romtrack_http_requests_total{route="%s",status="404"}) or vector(0)' % DEVICES_ROUTE
    durations = 'sum(romtrack_http_request_duration_seconds_count{route="%s"}) or vector(0)' % DEVICES_ROUTE
    hits = "sum(romtrack_response_cache_hits_total)"
    crashed = 'sum(romtrack_worker_restarts_total{cause="crashed"})'
    prometheus.scraped_after(time.time())
    before = {q: prometheus.query(q) for q in (requests_404, durations, hits, crashed)}

    # unknown devices: 404s of the route, answered by every worker (the log says which)
    names = iter(range(10**6))

    def unknown_device():
        status, _, _, doc = stack.get("/api/devices/nosuchdevice%d" % next(names))
        assert status == 404, doc
        return status

    pids, results = stack.every_worker_answers(unknown_device, per_worker=3)
    assert set(pids) == set(stack.worker_pids()) and len(pids) == len(results)
    # the same device three times from every worker: its third answer comes from its cache at the latest (the
    # first check of the data version after a worker connects drops what it stored before)
    stack.every_worker_answers(lambda: stack.get("/api/devices/cancro")[0], per_worker=3)

    prometheus.scraped_after(time.time())
    assert prometheus.query(requests_404) - before[requests_404] == len(results)
    assert prometheus.query(durations) - before[durations] >= len(results)
    assert prometheus.query(hits) - before[hits] >= len(stack.worker_pids())
    assert prometheus.query('romtrack_change_feed_head') == float(stack.psql("SELECT seq FROM change_head")[0][0])
    counted = prometheus.query(requests_404)

    victim = stack.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    conftest.wait_for(lambda: len(stack.worker_pids()) == 2 and victim not in stack.worker_pids())
    prometheus.scraped_after(time.time())
    assert prometheus.query(requests_404) == counted  # the dead worker's counts stay
    assert prometheus.query(crashed) - before[crashed] == 1
    assert prometheus.query('up{job="romtrack"}') == 1
