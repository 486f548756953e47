"""The romtrack command line against a real PostgreSQL: migrate, import (idempotent, all or nothing), errors."""

import os
import subprocess

import pytest
import yaml

import conftest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

COUNTS_SQL = ("SELECT (SELECT count(*) FROM device), (SELECT count(*) FROM variant), "
              "(SELECT count(*) FROM display_name), (SELECT count(*) FROM release), "
              "(SELECT count(*) FROM release_name)")

ENTRY = """- android: '13.0'
  branch: {branch}
  codename: testphone_global
  date: 2024-05-06
  link: https://bigota.d.miui.com/V14.0.1.0.TABMIXM/miui_TESTPHONEGlobal_V14.0.1.0.TABMIXM_0123456789_13.0.zip
  md5: {md5}
  method: Recovery
  name: Test Phone Global
  size: 4.2 GB
  version: V14.0.1.0.TABMIXM
"""


def counts(stack):
    return stack.psql(COUNTS_SQL)[0]


def write(stack, name, text, mode="w"):
    path = os.path.join(stack.tmpdir, name)
    with open(path, mode) as f:
        f.write(text)
    return path


def test_version_is_the_contracts():
    # One version, from one place: `romtrack --version` prints openapi.yaml's info.version (read here by PyYAML).
    with open(os.path.join(conftest.REPO, "openapi.yaml")) as f:
        contract_version = yaml.safe_load(f)["info"]["version"]
    r = subprocess.run([conftest.ROMTRACK_BIN, "--version"], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout == "romtrack %s\n" % contract_version


def test_help_and_usage(stack):
    r = subprocess.run([conftest.ROMTRACK_BIN, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for word in ["serve", "migrate", "import", "ROMTRACK_DATABASE_URL"]:
        assert word in r.stdout
    r = subprocess.run([conftest.ROMTRACK_BIN, "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr
    r = subprocess.run([conftest.ROMTRACK_BIN], capture_output=True, text=True)
    assert r.returncode == 2


def test_migrate_twice_changes_nothing(stack):
    before = stack.psql("SELECT version, name, applied_at FROM schema_migration ORDER BY version")
    r = stack.romtrack("migrate")
    assert r.returncode == 0, r.stderr
    assert "0 migrations applied" in r.stdout
    assert stack.psql("SELECT version, name, applied_at FROM schema_migration ORDER BY version") == before
    assert before[0][1] == "001_schema.sql"


def test_import_twice_changes_nothing(stack):
    before = counts(stack)
    r = stack.romtrack("import", *[os.path.join(conftest.REPO, f) for f in IMPORT_FILES])
    assert r.returncode == 0, r.stderr
    assert "(0 inserted, 0 updated, 135 unchanged)" in r.stdout
    assert counts(stack) == before


def test_import_dry_run_insert_update(stack):
    before = counts(stack)
    new = write(stack, "new.yml", ENTRY.format(branch="Stable Beta", md5="Unknown"))
    r = stack.romtrack("import", "--dry-run", new)
    assert r.returncode == 0, r.stderr
    assert "dry run" in r.stdout and "(1 inserted, 0 updated, 0 unchanged)" in r.stdout
    assert counts(stack) == before

    r = stack.romtrack("import", new)
    assert "(1 inserted, 0 updated, 0 unchanged)" in r.stdout, r.stdout + r.stderr
    after = counts(stack)
    assert after != before
    status, _, _, doc = stack.get("/api/devices/testphone/releases")
    assert status == 200
    [release] = doc["data"]
    assert (release["branch"], release["md5"], release["size"], release["region"]) == ("stable-beta", None,
                                                                                       4200000000, "global")

    # The same package later shown as Stable, with its MD5 now known: an update, not a new row.
    newer = write(stack, "newer.yml", ENTRY.format(branch="Stable", md5="0123456789abcdef0123456789abcdef"))
    r = stack.romtrack("import", newer)
    assert "(0 inserted, 1 updated, 0 unchanged)" in r.stdout, r.stdout + r.stderr
    assert counts(stack) == after
    # An older input that does not know the MD5 does not erase it.
    r = stack.romtrack("import", write(stack, "stale.yml", ENTRY.format(branch="Stable", md5="Unknown")))
    assert "(0 inserted, 0 updated, 1 unchanged)" in r.stdout, r.stdout + r.stderr
    _, _, _, doc = stack.get("/api/devices/testphone/releases")
    assert doc["data"][0]["branch"] == "stable"
    assert doc["data"][0]["md5"] == "0123456789abcdef0123456789abcdef"


BAD_INPUTS = {
    "truncated.yml": (ENTRY.format(branch="Stable", md5="Unknown")[:180] + "\n  name: 'Test Pho", ":6:18: found unexpected end of stream while scanning a quoted scalar"),
    "latin1.yml": (ENTRY.format(branch="Stable", md5="Unknown").replace("Test Phone", "T\xe9st Phone")
                   .encode("latin-1"), ":8:11: invalid trailing UTF-8 octet (byte 0x73): the file must be UTF-8"),
    "branch.yml": (ENTRY.format(branch="Nightly", md5="Unknown"), ":1: the branch"),
    "nolink.yml": ("- codename: x\n  version: V1\n  branch: Stable\n  method: Recovery\n", ":1: the download link"),
    "field.yml": (ENTRY.format(branch="Stable", md5="Unknown") + "  colour: red\n", ":11: unknown field"),
    "scalar.yml": ("just a string\n", ":1: not an XFU export"),
    "codename.yml": (ENTRY.format(branch="Stable", md5="Unknown").replace("testphone_global", "bad/codename"),
                     ":1: the codename"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_stops_the_import_and_writes_nothing(stack, name):
    text, expected = BAD_INPUTS[name]
    bad = write(stack, name, text, "wb" if isinstance(text, bytes) else "w")
    good = os.path.join(conftest.REPO, "data/sample/latest.yml")
    extra = write(stack, "extra-" + name, ENTRY.format(branch="Weekly", md5="Unknown").replace("testphone", "otherphone"))
    before = counts(stack)
    # good files before the bad one are not written either: one run, one transaction
    r = stack.romtrack("import", good, extra, bad)
    assert r.returncode == 1
    assert bad + expected in r.stderr, r.stderr
    assert "nothing was written" in r.stderr
    assert counts(stack) == before
    assert stack.get("/api/devices/otherphone")[0] == 404


def test_import_missing_file_and_unknown_format(stack):
    r = stack.romtrack("import", "/nonexistent/latest.yml")
    assert r.returncode == 1 and "/nonexistent/latest.yml: cannot open" in r.stderr
    r = stack.romtrack("import", write(stack, "notes.txt", "hello\n"))
    assert r.returncode == 1 and "notes.txt: unknown input format" in r.stderr
    r = stack.romtrack("import")
    assert r.returncode == 2


def test_configuration_errors_stop_start_up(stack):
    bad = write(stack, "bad.yaml", "workers: 2\nlisten: /tmp/x.sock\nfoo: bar\n")
    r = subprocess.run([conftest.ROMTRACK_BIN, "-c", bad, "serve"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert bad + ':3:1: unknown key "foo"' in r.stderr


def test_database_url_from_the_environment(stack):
    env = dict(os.environ, ROMTRACK_DATABASE_URL="postgresql://romtrack@127.0.0.1:1/romtrack")
    r = subprocess.run([conftest.ROMTRACK_BIN, "-c", stack.config, "migrate"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 1
    assert "cannot connect to the database" in r.stderr and "127.0.0.1" in r.stderr and "port 1" in r.stderr


@pytest.mark.parametrize("column, value, refusal", [
    ("md5", "'Unknown'", 'violates check constraint "release_md5_check"'),
    ("md5", "'ABCDEF0123456789ABCDEF0123456789'", 'violates check constraint "release_md5_check"'),
    ("size_bytes", "-1", 'violates check constraint "release_size_bytes_check"'),
    ("branch", "'nightly'", 'invalid input value for enum branch: "nightly"'),
    ("type", "'ota'", 'invalid input value for enum package_type: "ota"'),
    ("links", "ARRAY['ftp://host/file.zip']", 'violates check constraint "release_links_check"'),
    ("links", "ARRAY[]::text[]", 'violates check constraint "release_links_check"'),
    ("android", "'six'", 'violates check constraint "release_android_check"'),
    ("android", "'4.4.2'", 'violates check constraint "release_android_check"'),
])
def test_constraints_keep_bad_data_out(stack, column, value, refusal):
    """The schema itself refuses what the importer would never write."""
    sql = ("UPDATE release SET %s = %s WHERE id = (SELECT min(id) FROM release)" % (column, value))
    with pytest.raises(RuntimeError) as refused:
        stack.psql(sql)
    assert refusal in str(refused.value)


def test_control_characters_and_long_mirror_names(stack):
    long_name = "serenity_eea_global-images-OS2.0.211.0.VGZEUXM-userroot-15.0-0123456789abcdef0123456789.tgz"
    entry = ENTRY.format(branch="Stable", md5="Unknown").replace("testphone", "mirrorphone")
    ok = write(stack, "mirrors.yml", entry + "  mirrors:\n  - https://bn.d.miui.com/x/%s\n" % long_name)
    r = stack.romtrack("import", ok)
    assert r.returncode == 0, r.stderr
    bad = write(stack, "control.yml", entry.replace("mirrorphone", "controlphone") + '  changelog: "a\\x01b"\n')
    before = counts(stack)
    r = stack.romtrack("import", bad)
    assert r.returncode == 1 and "control.yml:1: a field has a control character" in r.stderr, r.stderr
    assert counts(stack) == before
