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


EFFECTS = {"a reload applies a change": "applies", "a change needs a restart": "restart",
           "not used by romtrack serve": "not used"}


def config_defaults():
    """`romtrack config defaults` as {key: (default, what a SIGHUP does with a change)}, in its order."""
    r = subprocess.run([conftest.ROMTRACK_BIN, "config", "defaults"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    values = yaml.safe_load(r.stdout)
    keys, comment = {}, ""
    for line in r.stdout.splitlines():
        if line.startswith("#"):
            comment += " " + line[1:].strip()
        elif line:
            key = line.split(":", 1)[0]
            (effect,) = [v for k, v in EFFECTS.items() if "; %s." % k in comment]
            keys[key] = (values[key], effect)
            comment = ""
    assert list(keys) == list(values)
    return keys


def test_config_defaults_are_the_readme_s_keys():
    """The key table is the one source of the defaults; the README's table names the same keys, in the same order,
    with the same "on SIGHUP" column."""
    keys = config_defaults()
    assert {"listen", "socket_mode", "socket_group", "backlog"} == {k for k, v in keys.items() if v[1] == "restart"}
    assert keys["workers"] == (0, "applies") and keys["socket_mode"] == ("0660", "restart")
    with open(os.path.join(conftest.REPO, "README.md")) as f:
        readme = f.read()
    section = readme.split("## Configuration (`conf/romtrack.yaml`)", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    assert [(key.strip().strip("`"), effect.strip()) for key, effect in rows] == [(k, v[1]) for k, v in keys.items()]
    # the checkout's file sets only what its setup chooses, each key known
    with open(os.path.join(conftest.REPO, "conf", "romtrack.yaml")) as f:
        assert set(yaml.safe_load(f)) <= set(keys)
    for args in (["config"], ["config", "frobnicate"], ["config", "defaults", "extra"]):
        r = subprocess.run([conftest.ROMTRACK_BIN, *args], capture_output=True, text=True)
        assert r.returncode == 2 and "usage:" in r.stderr
    r = subprocess.run([conftest.ROMTRACK_BIN, "--help"], capture_output=True, text=True)
    assert "config defaults" in r.stdout


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


# ---- limits of YAML inputs: nesting and size (issue 9) ------------------------------------------------------------

HANG_BOUND = 60  # seconds: a generous bound on a hang, not a speed check (the inputs below fail at once)


def run_measured(args, timeout=HANG_BOUND):
    """Runs romtrack; returns (returncode, stderr, peak RSS in MB). A hang fails the test through timeout."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([conftest.ROMTRACK_BIN, *args], capture_output=True, text=True, timeout=timeout,
                       env=conftest._child_env())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return r.returncode, r.stderr, max(peak, before) / 1024


DEEP = 200000  # levels: libyaml alone took minutes on such nesting before depth was checked while parsing


DEEP_INPUTS = {
    # devices.yml whose value nests 200,000 lists deep (about 400 KB): its names are single values, refused at
    # the first list inside
    "deep-devices.yml": (lambda: "cancro:\n  " + "[" * DEEP + "]" * DEEP + "\n", ":2: the names of cancro"),
    # a latest.yml entry nesting 200,000 mappings deep in one field: an entry holds single values, refused at
    # the first mapping
    "deep-latest.yml": (lambda: "- android: " + "{a: " * DEEP + "}" * DEEP + "\n", ":1:"),
    # the front matter of a page, nested 100,000 deep (about 200 KB): with the mapping, the 64th list is the 65th
    # level, at 2:71 ("title: " is 7 characters)
    "deep-page.md": (lambda: "---\ntitle: " + "[" * 100000 + "]" * 100000 + "\n---\n<div class=\"card card-body\"></div>\n",
                     ":2:71:"),
}


@pytest.mark.parametrize("name", sorted(DEEP_INPUTS))
def test_deep_yaml_is_refused_at_its_depth_and_writes_nothing(stack, name):
    make, where = DEEP_INPUTS[name]
    text = make()
    path = write(stack, name, text)
    before = counts(stack)
    status, stderr, _ = run_measured(["-c", stack.config, "import", path])
    assert status == 1
    # file:line:column of the level past the limit, and the limit
    assert path + where in stderr, stderr
    # XFU's exports are read by their shape, which nests 3 levels: deeper is refused where it starts
    assert ("nested deeper than 64 levels (the limit for YAML)" if name.endswith(".md")
            else "single value") in stderr, stderr
    assert "nothing was written" in stderr
    assert counts(stack) == before
    # the same for check, which needs no database
    status, stderr2, _ = run_measured(["check", path])
    assert status == 1
    assert stderr2.splitlines()[0].split(": ", 2)[2] == stderr.splitlines()[0].split(": ", 2)[2], (stderr, stderr2)


def test_huge_single_line_yaml_fails_early_in_little_memory(stack):
    # 50 MB on one line: a list of 25 million scalars. Built as a document, libyaml took 2.7 GB before failing
    # with "1:1: invalid YAML"; read event by event it fails at the first item, which is no ROM entry.
    path = os.path.join(stack.tmpdir, "one-line.yml")
    with open(path, "w") as f:
        f.write("[" + "0," * (25 * 1000 * 1000) + "0]\n")
    before = counts(stack)
    status, stderr, peak_mb = run_measured(["-c", stack.config, "import", path])
    assert status == 1
    assert path + ":1: expected a ROM entry (a mapping of fields)" in stderr, stderr
    assert peak_mb < 400, peak_mb  # a bound on memory, far above what the reader holds (one entry)
    assert counts(stack) == before
    os.unlink(path)


def test_yaml_larger_than_the_limit_is_refused_unread(stack):
    path = os.path.join(stack.tmpdir, "huge.yml")
    with open(path, "w") as f:
        f.truncate(256 * 1024 * 1024 + 1)  # sparse: takes no disk space
    status, stderr, _ = run_measured(["-c", stack.config, "import", path])
    assert status == 1
    assert path + ": 268435457 bytes, larger than the limit of 268435456 bytes for a YAML file" in stderr, stderr
    os.unlink(path)
    big_config = write(stack, "big.yaml", "# " + "x" * (1024 * 1024) + "\n")
    status, stderr, _ = run_measured(["-c", big_config, "migrate"])
    assert status == 1 and big_config + ": 1048579 bytes, larger than the limit of 1048576 bytes" in stderr, stderr


# ---- small ones (issue 9) -----------------------------------------------------------------------------------------

def test_empty_folder_is_read_as_no_input(stack):
    empty = os.path.join(stack.tmpdir, "empty-folder")
    os.makedirs(empty, exist_ok=True)
    # UBSan aborted here: qsort(NULL, 0, ...) on the folder's empty list of names
    r = subprocess.run([conftest.ROMTRACK_BIN, "check", empty], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    before = counts(stack)
    r = stack.romtrack("import", empty)
    assert r.returncode == 0 and r.stdout.startswith("0 files, 0 cards"), r.stdout + r.stderr
    assert counts(stack) == before


@pytest.mark.parametrize("misnamed", ["7_offerable.sql", "007-offerable.sql", "007_Offerable.sql", "007_x.sql~",
                                      "README"])
def test_misnamed_migration_is_an_error_naming_it(stack, misnamed):
    folder = os.path.join(stack.tmpdir, "migrations-" + misnamed.replace("~", "_"))
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(os.path.join(conftest.REPO, "sql")):
        with open(os.path.join(conftest.REPO, "sql", name)) as src, open(os.path.join(folder, name), "w") as dst:
            dst.write(src.read())
    write(stack, os.path.join(folder, misnamed), "CREATE TABLE never_created (x int);\n")
    write(stack, os.path.join(folder, ".hidden.sql"), "this is skipped: hidden files are not migrations\n")
    config = write(stack, "migrations-%d.yaml" % len(misnamed),
                   "".join(line for line in open(stack.config) if not line.startswith("migrations:"))
                   + "migrations: %s\n" % conftest._yaml_str(folder))
    r = subprocess.run([conftest.ROMTRACK_BIN, "-c", config, "migrate"], capture_output=True, text=True, timeout=60,
                       env=conftest._child_env())
    assert r.returncode == 1
    assert "%s/%s: not a migration name: expected NNN_name.sql" % (folder, misnamed) in r.stderr, r.stderr
    assert stack.psql("SELECT to_regclass('never_created') IS NULL") == [("t",)]
