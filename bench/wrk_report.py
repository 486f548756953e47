"""Turns one wrk --latency report (stdin) into a JSON line: requests/s, p50, p99, errors."""

import json
import re
import sys


def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main():
    name, path = sys.argv[1], sys.argv[2]
    report = sys.stdin.read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))
    total = int(re.search(r"(\d+) requests in", report).group(1))
    p = {q: ms(v, u) for q, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", report, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sockets.groups()) if sockets else 0)
    print(json.dumps({"name": name, "path": path, "rps": rps, "requests": total, "p50_ms": p.get("50"),
                      "p99_ms": p.get("99"), "errors": errors}))


main()
