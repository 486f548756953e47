"""A tracker for the benchmark: publishes new releases through POST /api/releases.

    writer.py BASE TOKEN_FILE DEVICE rate SECONDS          one release a second, each followed by a read of its device
    writer.py BASE TOKEN_FILE DEVICE batch SIZE SECONDS    batches of SIZE as fast as they are answered

Each release is a copy of the device's newest release with a new version and file name (so every POST creates one).
Prints one JSON line: the scenario's name, releases written per second, requests, errors (non-2xx), and for `rate`
how many reads right after a write showed it (they all must). Bounded by SECONDS and by a count.
"""

import http.client
import json
import sys
import time
import urllib.parse

INPUT_MEMBERS = ("codename", "variant", "names", "version", "branch", "type", "android", "size", "md5", "date",
                 "changelog")
MAX_REQUESTS = 100_000


def connect(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def template(conn, device):
    status, data = request(conn, "GET", "/api/devices/%s/releases?limit=1" % device)
    if status != 200:
        sys.exit("writer: GET of %s's releases answered %d" % (device, status))
    release = json.loads(data)["data"][0]
    return {k: release[k] for k in INPUT_MEMBERS if k in release}


def release(tmpl, n):
    r = dict(tmpl)
    r["version"] = "V99.0.%d.0.BENCH" % n
    r["filename"] = "bench_%s_%d.zip" % (tmpl.get("variant") or tmpl["codename"], n)
    r["links"] = ["https://bench.invalid/%s" % r["filename"]]
    r["md5"] = None
    r["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    return r


def main():
    base, token_file, device, mode = sys.argv[1:5]
    with open(token_file, encoding="ascii") as f:
        token = f.read().strip()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    conn = connect(base)
    tmpl = template(conn, device)
    n = int(time.time() * 1000) % 10_000_000 * 1000  # distinct between runs of one database
    written = requests = errors = visible = 0
    if mode == "rate":
        seconds = float(sys.argv[5])
        start = time.monotonic()
        while time.monotonic() - start < seconds and requests < MAX_REQUESTS:
            tick = time.monotonic()
            n += 1
            r = release(tmpl, n)
            status, _ = request(conn, "POST", "/api/releases", json.dumps(r), headers)
            requests += 1
            if status != 201:
                errors += 1
            else:
                written += 1
                # the change is in the very next read of its device
                status, data = request(conn, "GET", "/api/devices/%s/releases?limit=5" % device)
                if status == 200 and any(x["filename"] == r["filename"] for x in json.loads(data)["data"]):
                    visible += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        name = "writes-1-per-second"
    else:
        size, seconds = int(sys.argv[5]), float(sys.argv[6])
        start = time.monotonic()
        while time.monotonic() - start < seconds and requests < MAX_REQUESTS:
            batch = []
            for _ in range(size):
                n += 1
                batch.append(release(tmpl, n))
            body = json.dumps(batch[0] if size == 1 else {"data": batch})
            status, _ = request(conn, "POST", "/api/releases", body, headers)
            requests += 1
            if status in (200, 201):
                written += size
            else:
                errors += 1
        name = "writes-batch-%d" % size
    elapsed = time.monotonic() - start
    print(json.dumps({"name": name, "releases_per_s": written / elapsed, "releases": written, "requests": requests,
                      "errors": errors, "visible_after_write": visible if mode == "rate" else None}))


main()
