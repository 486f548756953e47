"""Soak: runs wrk (bounded runs of 30 s, at most 20 of them) until N requests have been made.
    soak.py BASE_URL N LUA_SCRIPT      (the Lua script reads $WRK_PATHS)"""

import re
import subprocess
import sys


def main():
    base, wanted, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    done = 0
    for _ in range(20):
        if done >= wanted:
            break
        out = subprocess.run(["wrk", "-t2", "-c64", "-d30s", "-s", script, base + "/"], capture_output=True,
                             text=True, check=True).stdout
        done += int(re.search(r"(\d+) requests in", out).group(1))
        print("soak: %d requests" % done, file=sys.stderr)
    print(done)


main()
