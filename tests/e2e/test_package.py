"""The Debian package (issue 13), installed as a new machine would get it.

script/package builds romtrack_<version>_amd64.deb (and fails on any lintian error or warning). mmdebstrap makes a
clean Debian 12 root from this machine's own mirror (its apt sources), with systemd and nginx-light. In it: the
previous package (the same files, an older version and an older shipped configuration, as a release before this one
would have) is installed with apt-get, its configuration edited by an administrator, then the package is upgraded
with apt-get install ./romtrack_*.deb as unattended upgrades do (keep the administrator's file); romtrack migrate
runs against a throw-away PostgreSQL (this module's stack's, on loopback, a database of its own); the command line
of romtrack.service's ExecStart runs as its user with its RuntimeDirectory, and answers come through Debian's nginx
with the package's site enabled; systemd-analyze verify checks both units against the root.

The expectations come from Debian's rules and the issue, not from the package: its version is openapi.yaml's, the
files are where the README's "Debian package" section says, the hardening directives are the ones the issue names.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest
import yaml

import conftest

IMPORT_FILES = []  # the stack gives PostgreSQL; the package's own romtrack gets its own database

REPO = conftest.REPO
VERSION = re.search(r"(?m)^  version: *([0-9.]+) *$", open(os.path.join(REPO, "openapi.yaml")).read()).group(1)
PREVIOUS = "0.1.99"
UNIT_HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
                  "RuntimeDirectory": "romtrack", "User": "romtrack"}


def run(args, timeout=600, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (args, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def mirror():
    """This machine's Debian mirror, from its apt sources (deb822 or one-line)."""
    for path in glob.glob("/etc/apt/sources.list.d/*.sources") + ["/etc/apt/sources.list"]:
        if os.path.exists(path):
            m = re.search(r"(?m)^URIs:\s*(\S+)", open(path).read()) or \
                re.search(r"(?m)^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", open(path).read())
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def unit(root, name):
    """A unit file's [Service] keys (the last value of each)."""
    keys = {}
    for line in open(os.path.join(root, "lib/systemd/system", name)):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.rstrip("\n"))
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


ROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class Root:
    """A Debian root; commands run in a private mount namespace with /proc and /dev mounted inside it, so that
    nothing is mounted outside this test's folder and nothing stays mounted after it."""

    def __init__(self, path):
        self.path = path

    def wrap(self, command, pidfile=""):
        """The command in the namespace; pidfile, when given, receives its pid (the pid the command keeps: the
        shell execs chroot, which execs the command)."""
        return ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c",
                'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && { [ -z "$1" ] || echo $$ > "$1"; }'
                ' && shift && exec "$@"', self.path, pidfile] + command

    def _in_root(self, command, user):
        """chroot's command line: as root, or as user with the group the units give it (www-data)."""
        who = ["--userspec=%s:%s" % (user, user), "--groups=www-data"] if user else []
        return ["chroot", *who, self.path, *command]

    def chroot(self, *command, user=None, timeout=600, check=True, env=None):
        return run(self.wrap(self._in_root(command, user)), timeout=timeout, check=check, env={**ROOT_ENV, **(env or {})})

    def popen(self, command, log, pidfile, user=None):
        """Starts the command; returns the Popen (of unshare) and the command's own pid."""
        proc = subprocess.Popen(self.wrap(self._in_root(command, user), pidfile), stdout=log,
                                stderr=subprocess.STDOUT, env=ROOT_ENV, start_new_session=True)
        conftest.wait_for(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), timeout=15)
        return proc, int(open(pidfile).read())

    def file(self, path):
        return os.path.join(self.path, path.lstrip("/"))


@pytest.fixture(scope="module")
def work():
    d = tempfile.mkdtemp(prefix="romtrack-package-")
    yield d
    if not os.environ.get("ROMTRACK_E2E_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def debs(work):
    """The package, and the previous one: the same package repacked with an older version and an older shipped
    configuration (a line it no longer has), as the release before this one."""
    r = run([os.path.join(REPO, "script", "package"), "--out", os.path.join(work, "deb")], timeout=900)
    deb = r.stdout.strip().splitlines()[-1]
    assert os.path.basename(deb) == "romtrack_%s_amd64.deb" % VERSION
    tree = os.path.join(work, "previous")
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    text = open(control).read()
    open(control, "w").write(re.sub(r"(?m)^Version: .*$", "Version: " + PREVIOUS, text))
    conf = os.path.join(tree, "etc", "romtrack", "romtrack.yaml")
    with open(conf, "a") as f:
        f.write("\n# shipped by %s only\n" % PREVIOUS)
    sums = os.path.join(tree, "DEBIAN", "md5sums")
    if os.path.exists(sums):  # conffiles are not in md5sums, but keep it true to the tree either way
        lines = [l for l in open(sums) if not l.rstrip().endswith("etc/romtrack/romtrack.yaml")]
        open(sums, "w").writelines(lines)
    previous = os.path.join(work, "romtrack_%s_amd64.deb" % PREVIOUS)
    run(["dpkg-deb", "--root-owner-group", "-b", tree, previous])
    return deb, previous


@pytest.fixture(scope="module")
def root(work, debs):
    """A clean bookworm root with the previous package installed by apt-get, as a machine that had it."""
    deb, previous = debs
    path = os.path.join(work, "root")
    run(["mmdebstrap", "--variant=apt", "--include=systemd,nginx-light,ca-certificates",
         "--customize-hook=copy-in %s %s /root" % (previous, deb),
         "--customize-hook=chroot \"$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/%s"
         % os.path.basename(previous),
         "bookworm", path, "deb %s bookworm main" % mirror()], timeout=900)
    return Root(path)


def test_lintian_is_clean_and_the_package_has_its_parts(debs):
    deb, _ = debs
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for path in ["./usr/bin/romtrack", "./etc/romtrack/romtrack.yaml", "./usr/share/romtrack/openapi.yaml",
                 "./usr/share/romtrack/sql/001_schema.sql", "./usr/share/romtrack/web/docs/index.html",
                 "./etc/nginx/sites-available/romtrack", "./lib/systemd/system/romtrack.service",
                 "./lib/systemd/system/romtrack-deliver.service", "./usr/share/man/man1/romtrack.1.gz",
                 "./usr/share/doc/romtrack/copyright"]:
        assert re.search(r" %s$" % re.escape(path), listing, re.M), path
    # every migration of the checkout
    for sql in glob.glob(os.path.join(REPO, "sql", "*.sql")):
        assert "./usr/share/romtrack/sql/%s" % os.path.basename(sql) in listing
    assert run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip() == VERSION
    assert "/etc/romtrack/romtrack.yaml" in run(["dpkg-deb", "-I", deb, "conffiles"]).stdout
    # script/package fails on lintian's errors and warnings; this is lintian's own verdict again
    r = run(["lintian", "--fail-on", "error,warning", deb], check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_man_page_is_the_help(debs, work):
    deb, _ = debs
    tree = os.path.join(work, "extracted")
    run(["dpkg-deb", "-x", deb, tree])
    page = run(["man", "-l", os.path.join(tree, "usr/share/man/man1/romtrack.1.gz")],
               env={"MANWIDTH": "200", "LANG": "C.UTF-8", "PATH": os.environ["PATH"]}).stdout
    text = re.sub(r"\s+", " ", page)
    helptext = run([os.path.join(tree, "usr/bin/romtrack"), "--help"]).stdout
    # every command and option of --help, with what it says, is in the page
    for m in re.finditer(r"(?m)^  (\S.*?)(?:  +(\S.*))?$", helptext.split("commands:")[1]):
        assert m.group(1).strip() in text, m.group(1)
        if m.group(2):
            assert m.group(2).strip() in text, m.group(2)
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "OPTIONS", "ENVIRONMENT", "FILES", "SIGNALS", "SEE ALSO"):
        assert re.search(r"(?m)^%s$" % section, page), section
    # the packaged program reads the packaged configuration by default
    assert "/etc/romtrack/romtrack.yaml" in helptext


def test_units_verify_and_are_hardened(root):
    for name in ("romtrack.service", "romtrack-deliver.service"):
        r = run(["systemd-analyze", "verify", "--man=no", "--root=" + root.path, "/lib/systemd/system/" + name],
                check=False)
        assert r.returncode == 0 and r.stderr.strip() == "", (name, r.stderr)
        keys = unit(root.path, name)
        for key, value in UNIT_HARDENING.items():
            if key != "RuntimeDirectory" or name == "romtrack.service":
                assert keys.get(key) == value, (name, key, keys.get(key))
    assert unit(root.path, "romtrack.service")["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # enabled for the next boot, started by nobody yet (README: configure the database first)
    assert os.path.islink(root.file("/etc/systemd/system/multi-user.target.wants/romtrack.service"))


def test_maintainer_scripts_restart_on_upgrade_and_stop_on_removal(debs, work):
    """The root has no running systemd, so what the scripts do to running services is read from them: an upgrade
    restarts what runs (never a stop without a start), a removal stops both."""
    deb, _ = debs
    control = os.path.join(work, "control")
    run(["dpkg-deb", "-e", deb, control])
    postinst = open(os.path.join(control, "postinst")).read()
    for name in ("romtrack.service", "romtrack-deliver.service"):
        assert "deb-systemd-invoke try-restart '%s'" % name in postinst, name
    preinst = open(os.path.join(control, "preinst")).read() if os.path.exists(os.path.join(control, "preinst")) else ""
    assert "deb-systemd-invoke stop" not in preinst  # debhelper's --no-start without --restart-after-upgrade did
    prerm = open(os.path.join(control, "prerm")).read()
    assert re.search(r'if \[ "\$1" = remove \].*\n\s*deb-systemd-invoke stop romtrack-deliver.service romtrack.service',
                     prerm), prerm
    assert run(["sh", "-n", os.path.join(control, "prerm")]).returncode == 0


def test_upgrade_keeps_the_configuration_and_the_service_answers_over_nginx(stack, root, debs, work):
    deb, _ = debs
    # the machine had the previous package: its user, its configuration readable by that user only
    assert root.chroot("dpkg-query", "-W", "-f=${Version}", "romtrack").stdout == PREVIOUS
    assert re.match(r"^romtrack:x:\d+:\d+:", root.chroot("getent", "passwd", "romtrack").stdout)
    conf = root.file("/etc/romtrack/romtrack.yaml")
    st = os.stat(conf)
    assert oct(st.st_mode & 0o777) == "0o640" and st.st_uid == 0
    assert root.chroot("stat", "-c", "%G", "/etc/romtrack/romtrack.yaml").stdout.strip() == "romtrack"

    # an administrator points it at the database and raises the log level
    stack.psql("CREATE DATABASE romtrack_package")
    shipped = open(conf).read()
    database = 'database: "host=127.0.0.1 port=%d user=romtrack dbname=romtrack_package"' % stack.pg_port
    edited = shipped.replace('database: "postgresql:///romtrack"', database) + "log_level: debug\n"
    assert edited != shipped + "log_level: debug\n"
    with open(conf, "w") as f:
        f.write(edited)

    # the upgrade, as unattended-upgrades runs it: the administrator's file stays, the new one is set beside it
    r = root.chroot("apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
                    "-o", "Dpkg::Options::=--force-confold", "/root/" + os.path.basename(deb),
                    env={"DEBIAN_FRONTEND": "noninteractive"})
    assert root.chroot("dpkg-query", "-W", "-f=${Version}", "romtrack").stdout == VERSION
    kept = open(conf).read()
    assert kept == edited and "shipped by %s only" % PREVIOUS in kept
    assert os.path.exists(conf + ".dpkg-dist"), r.stdout
    assert "shipped by" not in open(conf + ".dpkg-dist").read()
    assert root.chroot("romtrack", "--version").stdout.strip().endswith(VERSION)

    # migrate as the service's user, with the program's default configuration file (no -c)
    r = root.chroot("romtrack", "migrate", user="romtrack")
    assert "schema up to date" in r.stdout + r.stderr
    shutil.copy(os.path.join(REPO, "data", "sample", "devices.yml"), root.file("/tmp/devices.yml"))
    root.chroot("romtrack", "import", "/tmp/devices.yml", user="romtrack")

    # the unit's ExecStart, as its user, with the RuntimeDirectory systemd would make
    exec_start = unit(root.path, "romtrack.service")["ExecStart"].split()
    os.makedirs(root.file("/run/romtrack"), exist_ok=True)
    uid = int(root.chroot("id", "-u", "romtrack").stdout)
    gid = int(root.chroot("id", "-g", "romtrack").stdout)
    os.chown(root.file("/run/romtrack"), uid, gid)
    os.chmod(root.file("/run/romtrack"), 0o755)
    # nginx with the package's site (on a free loopback port; Debian's default site off)
    port = conftest._free_port()
    site = root.file("/etc/nginx/sites-available/romtrack")
    text = open(site).read()
    assert "listen 127.0.0.1:8080 " in text and "limit_req zone=romtrack_rate" in text
    open(site, "w").write(text.replace("listen 127.0.0.1:8080 ", "listen 127.0.0.1:%d " % port))
    os.unlink(root.file("/etc/nginx/sites-enabled/default"))
    os.symlink("../sites-available/romtrack", root.file("/etc/nginx/sites-enabled/romtrack"))
    root.chroot("nginx", "-t")

    serve_log = open(os.path.join(work, "serve.log"), "w")
    nginx_log = open(os.path.join(work, "nginx.log"), "w")
    serve, master = root.popen(exec_start, serve_log, os.path.join(work, "serve.pid"), user="romtrack")
    nginx, _ = root.popen(["nginx", "-g", "daemon off;"], nginx_log, os.path.join(work, "nginx.pid"))
    try:
        base = "http://127.0.0.1:%d" % port
        conftest.wait_for(lambda: _status(base + "/api/health") == 200, timeout=30)
        status, body, headers = _get(base + "/api/devices/cancro")
        assert status == 200 and b'"cancro"' in body
        status, body, headers = _get(base + "/api/xfu/devices.yml")
        assert status == 200 and headers["Content-Type"] == "application/yaml"
        assert yaml.safe_load(body) == yaml.safe_load(open(os.path.join(REPO, "data", "sample", "devices.yml")))
        status, body, _ = _get(base + "/api/docs/")
        assert status == 200 and b"swagger-ui" in body
        status, body, _ = _get(base + "/api/docs/assets/swagger-ui-bundle.js")
        assert status == 200 and len(body) > 100000
        status, body, _ = _get(base + "/api/openapi.yaml")
        assert status == 200 and ("version: %s" % VERSION).encode() in body
        # the socket is nginx's group's, in the runtime directory
        sock = os.stat(root.file("/run/romtrack/romtrack.sock"))
        assert sock.st_uid == uid and oct(sock.st_mode & 0o777) == "0o660"
        assert root.chroot("stat", "-c", "%G", "/run/romtrack/romtrack.sock").stdout.strip() == "www-data"
        # protected from a flood by default: the site's limit per address answers 429 past its burst
        statuses = [_status(base + "/api/health") for _ in range(200)]
        assert statuses.count(429) > 0 and statuses.count(200) >= 100, statuses
        # ExecReload's signal reloads (a new generation of workers), ExecStop's SIGTERM stops cleanly
        os.kill(master, signal.SIGHUP)
        conftest.wait_for(lambda: "configuration reloaded" in open(os.path.join(work, "serve.log")).read(), timeout=30)
        conftest.wait_for(lambda: _status(base + "/api/health") == 200, timeout=15)
    finally:
        # systemd's KillMode=mixed: SIGTERM to the main process; it stops its workers itself
        os.kill(master, signal.SIGTERM)
        rc = serve.wait(timeout=60)
        os.killpg(nginx.pid, signal.SIGQUIT)
        nginx.wait(timeout=30)
    log = open(os.path.join(work, "serve.log")).read()
    assert rc == 0, log[-3000:]
    assert " debug: " in log  # the administrator's log level, kept through the upgrade


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def _status(url):
    try:
        return _get(url)[0]
    except OSError:
        return None
