"""API tokens over the real database: `romtrack token add|list|revoke`, only a hash stored, refusals; and auth.c's
checks (unit.auth's program, given the stack's database) over the same rows."""

import hashlib
import json
import os
import re
import subprocess

import conftest

SECRET = re.compile(r"^rt_[A-Za-z0-9_-]{43}$")
KNOWN_SCOPES = ["releases:write", "devices:write", "audit:read"]


def add(stack, *args):
    return stack.romtrack("token", "add", *args)


def blake2b_256(text):
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


def everything_in_api_token(stack):
    """Every column of every row, as text (bytea as hex and as escaped text)."""
    rows = stack.psql("SELECT t::text, encode(secret_hash, 'hex'), encode(secret_hash, 'escape') FROM api_token t")
    return "\n".join("|".join(v or "" for v in r) for r in rows)


def test_add_stores_only_the_hash(stack):
    r = add(stack, "tracker", "--scope", "releases:write,devices:write")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert r.stdout == secret + "\n"
    assert SECRET.match(secret), secret
    assert secret not in r.stderr
    (row,) = stack.psql("SELECT encode(secret_hash, 'hex'), array_to_string(scopes, ','), expires_at, revoked_at,"
                        " last_used_at FROM api_token WHERE name = 'tracker'")
    assert row == (blake2b_256(secret), "releases:write,devices:write", None, None, None)
    dump = everything_in_api_token(stack)
    assert secret not in dump and secret[3:] not in dump
    # nor anywhere else in the database's data (a dump of it)
    r = subprocess.run([os.path.join(os.path.dirname(conftest.PSQL), "pg_dump"), "-h", "127.0.0.1", "-p",
                        str(stack.pg_port), "-U", "romtrack", "-d", "romtrack", "--data-only", "-t", "api_token"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "tracker" in r.stdout and secret not in r.stdout and secret[3:] not in r.stdout


def test_two_secrets_differ(stack):
    a = add(stack, "twin-a", "--scope", "audit:read")
    b = add(stack, "twin-b", "--scope", "audit:read")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout != b.stdout
    assert SECRET.match(a.stdout.strip()) and SECRET.match(b.stdout.strip())


def test_expiry_is_the_start_of_that_day_utc(stack):
    r = add(stack, "dated", "--scope", "audit:read", "--expires", "2099-12-31")
    assert r.returncode == 0, r.stderr
    assert stack.psql("SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM api_token"
                      " WHERE name = 'dated'") == [("2099-12-31 00:00:00",)]


def test_refusals(stack):
    r = add(stack, "dup", "--scope", "audit:read")
    assert r.returncode == 0, r.stderr
    before = stack.psql("SELECT id, name, encode(secret_hash, 'hex') FROM api_token ORDER BY id")

    r = add(stack, "dup", "--scope", "releases:write")
    assert r.returncode == 1 and r.stdout == "" and "exists already" in r.stderr, r

    r = add(stack, "newname", "--scope", "releases:write,releases:delete")
    assert r.returncode == 1 and r.stdout == ""
    assert '"releases:delete"' in r.stderr and all(s in r.stderr for s in KNOWN_SCOPES), r.stderr

    r = add(stack, "newname", "--scope", "releases:write", "--expires", "2001-01-01")
    assert r.returncode == 1 and r.stdout == "" and "not in the future" in r.stderr, r.stderr
    today = stack.psql("SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')")[0][0]
    r = add(stack, "newname", "--scope", "releases:write", "--expires", today)
    assert r.returncode == 1 and "not in the future" in r.stderr, r.stderr

    # usage errors: 2
    for args in (["newname", "--scope", "releases:write", "--expires", "2099-02-30"],
                 ["newname", "--scope", "releases:write", "--expires", "31/12/2099"],
                 ["newname"],
                 ["--scope", "releases:write"],
                 ["bad name", "--scope", "releases:write"],
                 ["-x", "--scope", "releases:write"],
                 ["newname", "--scope"],
                 ["a", "b", "--scope", "releases:write"]):
        r = add(stack, *args)
        assert r.returncode == 2 and r.stdout == "", (args, r)
    for args in (["token"], ["token", "frobnicate"], ["token", "list", "--yaml"], ["token", "revoke"],
                 ["token", "revoke", "a", "b"]):
        r = stack.romtrack(*args)
        assert r.returncode == 2 and "usage" in r.stderr, (args, r)

    assert stack.psql("SELECT id, name, encode(secret_hash, 'hex') FROM api_token ORDER BY id") == before


def test_list_never_shows_the_secret(stack):
    r = add(stack, "lister", "--scope", "audit:read,releases:write", "--expires", "2098-06-01")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    r = stack.romtrack("token", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SCOPES", "STATUS", "CREATED", "LAST", "USED", "EXPIRES", "REVOKED"]
    (line,) = [l for l in lines if l.startswith("lister ")]
    assert line.split()[:3] == ["lister", "audit:read,releases:write", "active"]
    assert "2098-06-01T00:00:00Z" in line and line.split()[4] == "-"
    r = stack.romtrack("token", "list", "--json")
    assert r.returncode == 0, r.stderr
    tokens = {t["name"]: t for t in json.loads(r.stdout)}
    t = tokens["lister"]
    assert t["scopes"] == ["audit:read", "releases:write"] and t["status"] == "active"
    assert t["expires"] == "2098-06-01T00:00:00Z" and t["last_used"] is None and t["revoked"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t["created"])
    hashes = [h for (h,) in stack.psql("SELECT encode(secret_hash, 'hex') FROM api_token")]
    for out in (stack.romtrack("token", "list").stdout, r.stdout):
        assert secret not in out and secret[3:] not in out
        assert not any(h in out for h in hashes)


def test_revoke(stack):
    r = add(stack, "leaver", "--scope", "releases:write")
    assert r.returncode == 0, r.stderr
    r = stack.romtrack("token", "revoke", "leaver")
    assert r.returncode == 0 and "revoked" in r.stderr, r.stderr
    (first,) = stack.psql("SELECT revoked_at FROM api_token WHERE name = 'leaver'")
    assert first[0] is not None
    # again: says so, and the time of the revocation stays
    r = stack.romtrack("token", "revoke", "leaver")
    assert r.returncode == 0 and "already" in r.stderr, r.stderr
    assert stack.psql("SELECT revoked_at FROM api_token WHERE name = 'leaver'") == [first]
    tokens = {t["name"]: t for t in json.loads(stack.romtrack("token", "list", "--json").stdout)}
    assert tokens["leaver"]["status"] == "revoked" and tokens["leaver"]["revoked"] is not None
    r = stack.romtrack("token", "revoke", "nobody")
    assert r.returncode == 1 and 'no token named "nobody"' in r.stderr, r.stderr


def test_the_database_refuses_what_the_cli_refuses(stack):
    """sql/010's CHECKs, for writers other than the CLI."""
    bad = [
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('x', '\\x00', '{audit:read}')",
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('x', decode(repeat('00', 32), 'hex'), '{}')",
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('x', decode(repeat('00', 32), 'hex'),"
        " '{root}')",
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('x', decode(repeat('00', 32), 'hex'),"
        " '{audit:read,audit:read}')",
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('x', decode(repeat('00', 32), 'hex'),"
        " ARRAY['audit:read', NULL])",
        "INSERT INTO api_token (name, secret_hash, scopes) VALUES ('a b', decode(repeat('00', 32), 'hex'),"
        " '{audit:read}')",
    ]
    for sql in bad:
        try:
            stack.psql(sql)
        except RuntimeError as e:
            assert "violates check constraint" in str(e), (sql, e)
        else:
            raise AssertionError("accepted: " + sql)


def test_auth_check_over_the_database(stack):
    """auth.c against the real api_token: valid, insufficient scope, revoked, expired, unknown, last use."""
    program = os.path.join(os.path.dirname(conftest.ROMTRACK_BIN), "tests", "test_auth")
    assert os.access(program, os.X_OK), program
    r = subprocess.run([program, "host=127.0.0.1 port=%d dbname=romtrack user=romtrack" % stack.pg_port],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"\b(\d+) checks, 0 failed", r.stderr)
    assert stack.psql("SELECT count(*) FROM api_token WHERE name LIKE 'unit-%'") == [("0",)]


def test_secret_not_in_the_server_log(stack):
    """Neither romtrack's log, nor nginx's, nor PostgreSQL's log or data files hold a secret that was sent."""
    r = add(stack, "logged", "--scope", "releases:write")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    status, _, _, _ = stack.get("/api/health", headers={"Authorization": "Bearer " + secret})
    assert status == 200
    assert secret not in stack.full_log()
    needle = secret[3:].encode()
    scanned = 0
    for root, _, files in os.walk(stack.tmpdir):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            scanned += 1
            assert needle not in data, os.path.join(root, name)
    assert scanned > 100  # the logs and the cluster's files
