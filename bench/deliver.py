"""Webhook delivery benchmark: `romtrack deliver` pushing changes to many subscriptions on a loopback receiver.

    deliver.py [options] BASE CONFIG CONNINFO DEVICE

BASE: romtrack's API behind nginx (http://127.0.0.1:PORT); CONFIG: romtrack's configuration (it must allow the
receiver: webhook_allow_networks "127.0.0.0/8" and webhook_allow_http 1, for `serve` and `deliver`); CONNINFO:
PostgreSQL's (libpq); DEVICE: a codename whose releases the changes touch.

1. starts a receiver on 127.0.0.1 (its own process: asyncio, HTTP/1.1 keep-alive, 200 at once, nothing but a
   timestamp and the headers kept; the first request of each subscription kept whole for a signature check);
2. makes --subscriptions subscriptions (a `subscriptions:write` token per 100, the most one token may have), one
   URL path each, all starting after the change feed's head;
3. starts --deliverers `romtrack deliver` (PGAPPNAME romtrack-deliver-bench, so that their PostgreSQL sessions can
   be found);
4. commits --changes changes at a steady --rate a second, one transaction each (`UPDATE release SET md5 = ...` on
   the device's releases, through one long-lived psql fed by a pipe);
5. waits until every (subscription, change) pair has arrived, or --wait seconds after the last change;
6. prints one JSON line: deliveries per second, the delay from each change's commit (the body's "timestamp", the
   same clock as time.time()) to its first receipt (p50, p99, max, of the deliveries that arrived), duplicates
   (a webhook-id received again), missing and unexpected pairs, events out of order, bad signatures, and the CPU
   used meanwhile by the deliverers, their PostgreSQL sessions, PostgreSQL in all, the receiver and the machine.

Every loop is bounded in time and in count. Exits 0 whenever it measured (misses are in the JSON), 1 when it could
not set up."""

import argparse
import asyncio
import base64
import ctypes
import datetime
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.parse

APPNAME = "romtrack-deliver-bench"
PER_TOKEN = 100  # subscriptions a token may have
CLK_TCK = os.sysconf("SC_CLK_TCK")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
MAX_HEADER = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


def log(msg):
    print("deliver.py: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- receiver

class Hook(asyncio.Protocol):
    """One connection: HTTP/1.1 requests parsed by hand (curl's, no chunked bodies), each answered 200 at once."""

    def __init__(self, state):
        self.state = state
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.state["connections"] += 1

    def data_received(self, data):
        self.buf += data
        st = self.state
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    self.transport.close()
                return
            head = self.buf[:end].split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if length > MAX_BODY:
                self.transport.close()
                return
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            now = time.time()
            path = head[0].split(b" ")[1] if b" " in head[0] else b""
            # the body opens with {"type": ..., "timestamp": "2026-12-03T10:22:33.718123Z", ...}
            i = body.find(b'"timestamp":"')
            stamp = body[i + 13:i + 40] if i >= 0 else b""
            wid = headers.get(b"webhook-id", b"")
            st["log"].append((now, path, wid, stamp))
            if wid not in st["seen"]:
                st["seen"].add(wid)
                st["unique"].value = len(st["seen"])
            if path not in st["samples"]:
                st["samples"][path] = ({k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}, body)
            self.transport.write(OK)


def receiver_main(port_out, unique, conn):
    """The receiver's process: serves until the parent sends "stop", then sends back what it received."""
    state = {"log": [], "seen": set(), "samples": {}, "connections": 0, "unique": unique}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Hook(state), "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        loop.add_reader(conn.fileno(), stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())
    conn.recv()
    t = os.times()
    conn.send({"log": state["log"], "samples": state["samples"], "connections": state["connections"],
               "cpu_s": t.user + t.system})
    conn.close()


# ---------------------------------------------------------------------------------------------------- helpers

def proc_cpu(pid):
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def verify(secret, headers, body):
    """Standard Webhooks v1, from the specification (not romtrack's code)."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = ("%s.%s." % (headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""))).encode() + body
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(s == want for s in headers.get("webhook-signature", "").split(" "))


class Psql:
    """psql, tuples only, one value a line."""

    def __init__(self, binary, conninfo):
        self.binary, self.conninfo = binary, conninfo

    def rows(self, sql):
        r = subprocess.run([self.binary, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-d", self.conninfo,
                            "-c", sql], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr.strip())
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def value(self, sql):
        return self.rows(sql)[0][0]


def pg_pids(psql):
    """Every PostgreSQL process of the cluster (backends and background processes) and the deliverers' sessions."""
    rows = psql.rows("SELECT pid, application_name = '%s' FROM pg_stat_activity" % APPNAME)
    return {int(p): t == "t" for p, t in rows}


def pg_counters(psql):
    xacts = int(psql.value("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"))
    wal = psql.rows("SELECT wal_records, wal_sync FROM pg_stat_wal")[0]
    return {"xacts": xacts, "wal_records": int(wal[0]), "wal_syncs": int(wal[1])}


def pdeathsig():
    """In a child: SIGTERM when the benchmark dies, so that no deliverer outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def readline_within(f, seconds):
    """A line of a child's output, or "" when none comes within seconds."""
    ready, _, _ = select.select([f], [], [], seconds)
    return f.readline() if ready else ""


def post_json(base, path, token, doc):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("POST", path, json.dumps(doc),
                     {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------- the run

def run(args, children):
    psql = Psql(args.psql, args.conninfo)
    rids = [int(r[0]) for r in psql.rows(
        "SELECT r.id FROM release r JOIN device d ON d.id = r.device_id WHERE d.codename = '%s'"
        " AND r.withdrawn_at IS NULL ORDER BY r.id LIMIT %d" % (args.device.replace("'", "''"), args.changes))]
    if not rids:
        raise RuntimeError("device %s has no releases" % args.device)

    # 1. the receiver
    port = multiprocessing.Value("i", 0)
    unique = multiprocessing.Value("q", 0, lock=False)
    parent_conn, child_conn = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=receiver_main, args=(port, unique, child_conn), daemon=True)
    receiver.start()
    children["receiver"] = receiver
    deadline = time.monotonic() + 10
    while port.value == 0 and time.monotonic() < deadline and receiver.is_alive():
        time.sleep(0.02)
    if port.value == 0:
        raise RuntimeError("the receiver did not start")
    hook = "http://127.0.0.1:%d/hook/" % port.value

    # 2. the subscriptions, after the head
    head = int(psql.value("SELECT seq FROM change_head"))
    subs = []  # (path, id, secret)
    token = None
    stamp = "%d-%d" % (os.getpid(), int(time.time()))
    for n in range(args.subscriptions):
        if n % PER_TOKEN == 0:
            r = subprocess.run([args.romtrack, "-c", args.config, "token", "add", "bench-deliver-%s-%d" % (stamp, n),
                                "--scope", "subscriptions:write"], capture_output=True, text=True, timeout=60)
            m = re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout)
            if r.returncode != 0 or not m:
                raise RuntimeError("token add: %s" % r.stderr.strip())
            token = m.group(0)
        status, body = post_json(args.base, "/api/subscriptions", token, {"url": hook + str(n), "after": head})
        if status != 201:
            raise RuntimeError("POST /api/subscriptions answered %d: %s" % (status, body[:300]))
        doc = json.loads(body)
        subs.append(("/hook/%d" % n, doc["id"], doc["secret"]))
    by_path = {p.encode(): sid for p, sid, _ in subs}
    secrets = {p: s for p, _, s in subs}

    # 3. the deliverers
    logf = open(args.log, "a") if args.log else subprocess.DEVNULL
    env = dict(os.environ, PGAPPNAME=APPNAME)
    deliverers = []
    for _ in range(args.deliverers):
        p = subprocess.Popen([args.romtrack, "-c", args.config, "deliver"], stdout=logf, stderr=logf, env=env,
                             preexec_fn=pdeathsig)
        deliverers.append(p)
        children.setdefault("deliverers", []).append(p)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in deliverers):
            raise RuntimeError("romtrack deliver exited with %s" % [p.poll() for p in deliverers])
        if sum(pg_pids(psql).values()) >= args.deliverers:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("the deliverers did not connect to PostgreSQL within 20 s")
    time.sleep(0.5)  # settled: nothing is due (every subscription is at the head)

    # 4. the changes, at a steady rate, through one psql
    writer = subprocess.Popen([args.psql, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", args.conninfo],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=pdeathsig)
    children["writer"] = writer
    writer.stdin.write("SELECT pg_backend_pid();\n")
    writer.stdin.flush()
    writer_backend = int(readline_within(writer.stdout, 30) or "0")
    if writer_backend == 0:
        raise RuntimeError("psql did not start (exit %s)" % writer.poll())
    pids0 = pg_pids(psql)
    counters0 = pg_counters(psql)
    cpu0 = {pid: proc_cpu(pid) for pid in list(pids0) + [p.pid for p in deliverers]}
    machine0 = machine_cpu()
    wall0 = time.time()
    start = time.monotonic()
    for i in range(args.changes):
        pause = start + i / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        writer.stdin.write("UPDATE release SET md5 = md5(random()::text) WHERE id = %d;\n" % rids[i % len(rids)])
        writer.stdin.flush()
    writer.stdin.write("SELECT 'done';\n")
    writer.stdin.flush()
    if readline_within(writer.stdout, 60).strip() != "done":
        raise RuntimeError("psql did not commit every change (exit %s)" % writer.poll())
    writer_cpu = proc_cpu(writer_backend) - cpu0.get(writer_backend, 0.0)
    writer.stdin.close()
    writer.wait(timeout=30)
    written = time.monotonic()
    changes = psql.rows("SELECT seq, extract(epoch FROM at) FROM change WHERE seq > %d AND subject = 'release'"
                        " ORDER BY seq" % head)
    seqs = [int(s) for s, _ in changes]
    commit_span = float(changes[-1][1]) - float(changes[0][1]) if len(changes) > 1 else 0.0
    expected = {b"msg_%d_%d" % (sid, s) for _, sid, _ in subs for s in seqs}
    log("%d changes committed in %.1f s; waiting for %d deliveries (at most %d s more)" % (
        len(seqs), written - start, len(expected), args.wait))

    # 5. every pair, or the deadline
    deadline = written + args.wait
    last_report = time.monotonic()
    while unique.value < len(expected) and time.monotonic() < deadline:
        if any(p.poll() is not None for p in deliverers):
            log("a deliverer exited: %s" % [p.poll() for p in deliverers])
            break
        time.sleep(0.05)
        if time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            log("%d of %d delivered" % (unique.value, len(expected)))
    done = time.monotonic()
    time.sleep(1.0)  # late duplicates; and PostgreSQL's statistics are flushed about once a second
    counters1 = pg_counters(psql)
    pids1 = pg_pids(psql)
    cpu1 = {pid: proc_cpu(pid) for pid in list(pids1) + [p.pid for p in deliverers]}
    machine1 = machine_cpu()
    elapsed = time.monotonic() - start

    # 6. stop everything, then count
    for p in deliverers:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in deliverers:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    parent_conn.send("stop")
    got = parent_conn.recv() if parent_conn.poll(60) else None
    receiver.join(timeout=10)
    if got is None:
        raise RuntimeError("the receiver sent nothing back")
    # what is left of the subscriptions' backlogs must not reach a later run's deliverers
    psql.rows("DELETE FROM subscription WHERE id IN (%s) RETURNING id" % ",".join(str(sid) for _, sid, _ in subs))

    at = {}  # the body's timestamp -> seconds since the epoch
    first = {}  # webhook-id -> (receipt, stamp)
    requests = duplicates = misrouted = out_of_order = 0
    last_seq = {}
    for now, path, wid, stamp_b in got["log"]:
        requests += 1
        if wid in first:
            duplicates += 1
            continue
        first[wid] = (now, stamp_b)
        m = re.match(rb"msg_(\d+)_(\d+)$", wid)
        if not m or by_path.get(path) != int(m.group(1)):
            misrouted += 1
            continue
        sid, seq = int(m.group(1)), int(m.group(2))
        if seq <= last_seq.get(sid, -1):
            out_of_order += 1
        last_seq[sid] = seq
    delays = []
    for wid, (now, stamp_b) in first.items():
        if wid not in expected:
            continue
        if stamp_b not in at:
            t = datetime.datetime.strptime(stamp_b.decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
            at[stamp_b] = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        delays.append(now - at[stamp_b])
    delays.sort()
    delivered = len(delays)
    receipts = sorted(now for now, _ in first.values())
    bad_signatures = sum(1 for path, (headers, body) in got["samples"].items()
                         if not verify(secrets.get(path.decode(), "whsec_"), headers, body))

    def cpu(select):
        return round(sum(max(0.0, cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0)) for pid in select), 2)

    deliverer_backends = {pid for pid, d in pids1.items() if d}
    xacts = counters1["xacts"] - counters0["xacts"]
    busy = (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
    window = (receipts[-1] - wall0) if receipts else 0.0
    report = {
        "name": "deliveries-%d-subscriptions" % args.subscriptions,
        "subscriptions": args.subscriptions, "deliverers": args.deliverers,
        "changes": len(seqs), "rate": args.rate,
        "commit_rate": round((len(seqs) - 1) / commit_span, 1) if commit_span > 0 else None,
        "expected": len(expected), "delivered": delivered, "requests": requests,
        "duplicates": duplicates, "missing": len(expected - set(first)),
        "unexpected": sum(1 for w in first if w not in expected), "misrouted": misrouted,
        "subscriptions_served": len(last_seq),  # subscriptions that received at least one event
        "out_of_order": out_of_order, "signatures_checked": len(got["samples"]), "bad_signatures": bad_signatures,
        # deliveries that arrived, over the time from the first change to the last receipt
        "deliveries_per_s": round(delivered / window, 1) if window > 0 else 0.0,
        "p50_ms": round(percentile(delays, 50) * 1000, 1) if delays else None,
        "p99_ms": round(percentile(delays, 99) * 1000, 1) if delays else None,
        "max_ms": round(delays[-1] * 1000, 1) if delays else None,
        "drain_s": round(receipts[-1] - wall0 - (written - start), 2) if receipts else None,
        "timed_out": unique.value < len(expected) and done >= deadline,
        "elapsed_s": round(elapsed, 2),
        "cpu_s": {"deliverers": cpu(p.pid for p in deliverers), "deliverer_sessions": cpu(deliverer_backends),
                  "postgres": cpu(set(pids0) | set(pids1)), "writer_session": round(writer_cpu, 2),
                  "receiver": round(got["cpu_s"], 2), "machine_busy": round(busy, 3)},
        "receiver_connections": got["connections"],
        "pg_xacts_per_delivery": round((xacts - len(seqs)) / delivered, 2) if delivered else None,
        "wal_syncs_per_delivery": round((counters1["wal_syncs"] - counters0["wal_syncs"]) / delivered, 3)
        if delivered else None,
    }
    print(json.dumps(report), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("config")
    ap.add_argument("conninfo")
    ap.add_argument("device")
    ap.add_argument("--subscriptions", type=int, default=100)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0, help="changes a second")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds after the last change, at most")
    ap.add_argument("--deliverers", type=int, default=1)
    ap.add_argument("--romtrack", default="build/romtrack")
    ap.add_argument("--psql", default="/usr/lib/postgresql/15/bin/psql")
    ap.add_argument("--log", help="the deliverers' log (default: none)")
    args = ap.parse_args()
    if not (1 <= args.subscriptions <= 10000 and 1 <= args.changes <= 1000000 and 0 < args.rate <= 10000
            and 0 <= args.wait <= 3600 and 1 <= args.deliverers <= 16):
        sys.exit("deliver.py: an option is out of range")
    children = {}

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 0
    try:
        run(args, children)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        log(str(e))
        rc = 1
    finally:
        for p in children.get("deliverers", []):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        w = children.get("writer")
        if w is not None and w.poll() is None:
            w.kill()
        r = children.get("receiver")
        if r is not None and r.is_alive():
            r.terminate()
            r.join(timeout=5)
    sys.exit(rc)


if __name__ == "__main__":
    main()
