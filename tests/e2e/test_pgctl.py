"""script/pgctl leaves everything above its cluster alone, also when the cluster sits under a private (0700) folder."""

import os
import shutil
import stat
import subprocess
import tempfile

import conftest


def ancestors(path):
    """Every directory from path's parent up to /, each as it is: (path, mode, owner, group)."""
    out = []
    d = os.path.dirname(path)
    while True:
        st = os.lstat(d)
        out.append((d, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
        if d == "/":
            return out
        d = os.path.dirname(d)


def mounts():
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split(" ", 4)[4] for line in f)


def pgctl(*args):
    return subprocess.run([conftest.PGCTL, *args], capture_output=True, text=True, timeout=120)


def test_cluster_under_private_folder_changes_nothing_above_it():
    # mkdtemp makes a 0700 folder, as /root is: a clone in it is out of reach of user postgres. The cluster's
    # parent (clone/.local/pg) is pgctl's to hand to postgres; nothing above it may change mode or owner.
    private = tempfile.mkdtemp(prefix="romtrack-pgctl-", dir="/tmp")
    data = os.path.join(private, "clone", ".local", "pg", "data")
    os.makedirs(os.path.join(private, "clone", ".local"))
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    above = ancestors(os.path.dirname(data))
    mounts_before = mounts()
    try:
        r = pgctl("init", data)
        assert r.returncode == 0, r.stderr
        assert ancestors(os.path.dirname(data)) == above
        for _ in range(3):  # a free port can be taken between the probe and the bind
            port = conftest._free_port()
            r = pgctl("start", "--fast", data, str(port))
            if r.returncode == 0:
                break
        assert r.returncode == 0, r.stderr
        assert "chmod" not in r.stderr
        # The cluster works, and its files are where they were asked for.
        q = subprocess.run([conftest.PSQL, "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", "romtrack",
                            "-d", "romtrack", "-c", "CREATE TABLE t (x int); INSERT INTO t VALUES (42);"
                            "SELECT x FROM t"], capture_output=True, text=True, timeout=60)
        assert q.returncode == 0 and q.stdout.strip() == "42", q.stderr
        assert os.path.isfile(os.path.join(data, "postmaster.pid"))
        assert os.path.getsize(os.path.join(os.path.dirname(data), "postgres.log")) > 0
        assert pgctl("status", data).returncode == 0
        r = pgctl("stop", data)
        assert r.returncode == 0, r.stderr
        assert not os.path.exists(os.path.join(data, "postmaster.pid"))
        assert pgctl("status", data).returncode == 3  # pg_ctl's "not running"
        assert ancestors(os.path.dirname(data)) == above
        assert mounts() == mounts_before  # no mount made for postgres is left in this namespace
    finally:
        pgctl("stop", data)
        shutil.rmtree(private, ignore_errors=True)
