"""Webhook subscriptions over nginx (issue 12, the API half; delivery is not built yet): POST, GET (list and one),
PATCH, DELETE /api/subscriptions and rotate-secret. A token sees and changes only its own; admin sees all; the
secret is answered once, in the Standard Webhooks form, and is in no log; URLs that reach romtrack's own networks
are refused however they are spelled. Every request and answer is checked against openapi.yaml.

Expected values come from what the test sent and from the database, never from the program's earlier answers."""

import base64
import os
import re

import pytest

# The test's receiver would be on loopback: 127.0.0.0/8 is opened, and http allowed (as the README's test
# configuration says); ::1 stays closed, so loopback refusals can still be seen in IPv6 forms.
SETTINGS = {"webhook_allow_networks": "127.0.0.0/8", "webhook_allow_http": 1}

RECEIVER = "http://127.0.0.1:9/hook"


def new_token(stack, name, scope):
    r = stack.romtrack("token", "add", name, "--scope", scope)
    assert r.returncode == 0, r.stderr
    return re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout).group(0)


@pytest.fixture(scope="module")
def tokens(stack):
    return {
        "alice": new_token(stack, "subs-alice", "subscriptions:write"),
        "bob": new_token(stack, "subs-bob", "subscriptions:write"),
        "admin": new_token(stack, "subs-admin", "admin"),
        "releases": new_token(stack, "subs-releases", "releases:write"),
    }


def send(stack, method, path, token, body=None, ctype=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    if ctype:
        headers["Content-Type"] = ctype
    status, hdrs, _, doc = stack.get(path, headers, method=method, body=body)
    return status, hdrs, doc


def rows(stack):
    return stack.psql("SELECT id, url, secret FROM subscription ORDER BY id")


def head(stack):
    return int(stack.psql("SELECT seq FROM change_head")[0][0])


def test_create_answers_the_secret_once(stack, tokens):
    body = {"url": RECEIVER, "description": "alice's bot", "codenames": ["cancro", "gemini"],
            "regions": ["global"], "branches": ["stable", "weekly"], "types": ["recovery"],
            "events": ["release.created", "release.withdrawn"]}
    status, hdrs, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], body)
    assert status == 201, doc
    assert hdrs["cache-control"] == "no-store"
    # what the database keeps is the secret answered, and it is this subscription's
    [(sid, secret)] = stack.psql("SELECT id, secret FROM subscription WHERE id = %d" % doc["id"])
    assert hdrs["location"] == "/api/subscriptions/%s" % sid
    assert doc["secret"] == secret
    # Standard Webhooks: "whsec_" and the standard base64 of the key (24 to 64 bytes; romtrack makes 32)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    assert {k: doc[k] for k in body} == body
    assert doc["owner"] == "subs-alice" and doc["enabled"] is True and doc["disabled_reason"] is None
    assert doc["after"] == head(stack)  # starts at the head of the change feed
    # never again: GET and the list do not show it
    status, _, got = send(stack, "GET", hdrs["location"], tokens["alice"])
    assert status == 200 and "secret" not in got
    assert got == {k: v for k, v in doc.items() if k != "secret"}
    status, _, page = send(stack, "GET", "/api/subscriptions", tokens["alice"])
    assert status == 200 and got in page["data"] and all("secret" not in s for s in page["data"])


def test_defaults_and_replay_from_a_sequence_number(stack, tokens):
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER, "after": 0})
    assert status == 201, doc
    assert doc["after"] == 0 and doc["description"] == ""
    assert all(doc[f] is None for f in ("codenames", "regions", "branches", "types", "events"))  # everything
    status, _, err = send(stack, "POST", "/api/subscriptions", tokens["alice"],
                          {"url": RECEIVER, "after": head(stack) + 1000})
    assert status == 422 and [e["pointer"] for e in err["errors"]] == ["/after"], err


def test_each_token_sees_its_own_and_admin_sees_all(stack, tokens):
    status, _, mine = send(stack, "POST", "/api/subscriptions", tokens["bob"], {"url": RECEIVER})
    assert status == 201
    path = "/api/subscriptions/%d" % mine["id"]
    # alice cannot see, change, rotate or delete bob's: 404, as for an id nobody has
    for method, suffix, body, ctype in (("GET", "", None, None),
                                        ("PATCH", "", {"description": "x"}, "application/merge-patch+json"),
                                        ("POST", "/rotate-secret", None, None), ("DELETE", "", None, None)):
        status, _, doc = send(stack, method, path + suffix, tokens["alice"], body, ctype)
        assert status == 404 and doc["type"] == "urn:romtrack:problem:subscription-not-found", (method, doc)
    status, _, alices = send(stack, "GET", "/api/subscriptions?limit=100", tokens["alice"])
    assert mine["id"] not in [s["id"] for s in alices["data"]]
    assert {s["owner"] for s in alices["data"]} == {"subs-alice"}
    # admin sees both tokens' subscriptions, and may change bob's
    status, _, every = send(stack, "GET", "/api/subscriptions?limit=100", tokens["admin"])
    in_db = [int(r[0]) for r in rows(stack)]
    assert status == 200 and [s["id"] for s in every["data"]] == sorted(in_db, reverse=True)
    status, _, doc = send(stack, "PATCH", path, tokens["admin"], {"description": "seen by admin"},
                          "application/merge-patch+json")
    assert status == 200 and doc["description"] == "seen by admin" and doc["owner"] == "subs-bob"
    # a token without the scope: 403; none: 401
    status, hdrs, _ = send(stack, "GET", "/api/subscriptions", tokens["releases"])
    assert status == 403 and 'scope="subscriptions:write"' in hdrs["www-authenticate"]
    status, hdrs, _ = send(stack, "GET", "/api/subscriptions", None)
    assert status == 401 and hdrs["www-authenticate"].startswith("Bearer")


def test_list_pages_cover_every_subscription_once(stack, tokens):
    for i in range(5):
        assert send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER + "/%d" % i})[0] == 201
    expected = [int(r[0]) for r in stack.psql(
        "SELECT s.id FROM subscription s JOIN api_token t ON t.id = s.owner_id WHERE t.name = 'subs-alice'"
        " ORDER BY s.id DESC")]
    seen, path = [], "/api/subscriptions?limit=2"
    for _ in range(50):
        status, _, page = send(stack, "GET", path, tokens["alice"])
        assert status == 200 and len(page["data"]) <= 2
        seen += [s["id"] for s in page["data"]]
        if page["next"] is None:
            break
        path = page["next"]
    assert seen == expected


def test_patch_disable_and_resume(stack, tokens):
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER, "after": 0})
    path = "/api/subscriptions/%d" % doc["id"]
    status, _, off = send(stack, "PATCH", path, tokens["alice"], {"enabled": False, "regions": None,
                                                                  "events": ["release.updated"]},
                          "application/merge-patch+json")
    assert status == 200, off
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by subs-alice" and off["disabled_at"]
    assert off["events"] == ["release.updated"] and off["regions"] is None
    status, _, on = send(stack, "PATCH", path, tokens["alice"], {"enabled": True}, "application/merge-patch+json")
    assert status == 200 and on["enabled"] is True and on["disabled_reason"] is None and on["disabled_at"] is None
    assert on["after"] == 0  # resumed where it stopped
    assert stack.psql("SELECT enabled, disabled_at IS NULL FROM subscription WHERE id = %d" % doc["id"]) == [
        ("t", "t")]


def test_rotate_secret_keeps_the_old_one_for_a_grace_period(stack, tokens):
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER})
    path = "/api/subscriptions/%d" % doc["id"]
    status, _, rotated = send(stack, "POST", path + "/rotate-secret", tokens["alice"])
    assert status == 200, rotated
    assert rotated["secret"] != doc["secret"] and rotated["secret"].startswith("whsec_")
    assert stack.psql("SELECT secret, previous_secret, previous_until - now() > interval '23 hours'"
                      " FROM subscription WHERE id = %d" % doc["id"]) == [(rotated["secret"], doc["secret"], "t")]
    assert rotated["previous_secret_until"] is not None


def test_delete(stack, tokens):
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER})
    path = "/api/subscriptions/%d" % doc["id"]
    status, _, _ = send(stack, "DELETE", path, tokens["alice"])
    assert status == 204
    assert stack.psql("SELECT count(*) FROM subscription WHERE id = %d" % doc["id"]) == [("0",)]
    assert send(stack, "GET", path, tokens["alice"])[0] == 404
    assert send(stack, "DELETE", path, tokens["alice"])[0] == 404


@pytest.mark.parametrize("column, value, constraint", [
    ("url", "'ftp://example.org/'", "subscription_url_check"),
    ("codenames", "'{alioth,alioth}'", "subscription_codenames_check"),   # not distinct
    ("codenames", "'{\"a b\"}'", "subscription_codenames_check"),         # not a codename
    ("regions", "'{}'", "subscription_regions_check"),                   # empty: null means every one
    ("events", "'{release.deleted}'", "subscription_events_check"),
    ("secret", "'whsec_short'", "subscription_secret_check"),
])
def test_settings_written_by_hand_are_checked(stack, tokens, column, value, constraint):
    """The settings' rules hold for a psql UPDATE as they did as CHECK constraints (sql/016 runs them in a
    trigger when a setting is written, not when the delivery position moves)."""
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": RECEIVER})
    with pytest.raises(RuntimeError, match='violates check constraint "%s"' % constraint):
        stack.psql("UPDATE subscription SET %s = %s WHERE id = %d" % (column, value, doc["id"]))
    # the position and the state are checked at each write, and the error names the rule, not the row (which
    # holds the signing secret: test_secrets_are_in_no_log reads PostgreSQL's log after these)
    stack.psql("UPDATE subscription SET after_seq = after_seq + 1, attempts = 2 WHERE id = %d" % doc["id"])
    for sql, rule in (("attempts = -1", 'check constraint "subscription_attempts_check"'),
                      ("enabled = false", 'check constraint "subscription_check1"'),
                      ("secret = NULL", 'column "secret" of relation "subscription" violates not-null')):
        with pytest.raises(RuntimeError, match=rule):
            stack.psql("UPDATE subscription SET %s WHERE id = %d" % (sql, doc["id"]))


@pytest.mark.parametrize("url, why", [
    ("https://[::1]/hook", "loopback"),                # the allow list opens 127.0.0.0/8, not ::1
    ("https://10.0.0.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://100.64.0.1/", "cgnat"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[::ffff:10.0.0.1]/", "private"),
    ("https://167772161/", "private"),                 # 10.0.0.1 as one number
    ("https://0xa.1/", "private"),                     # 10.0.0.1 in hexadecimal and short
    ("https://224.0.0.1/", "multicast"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://user:pw@127.0.0.1/", "user information"),
    ("ftp://127.0.0.1/", "scheme"),
    ("not a url", "absolute URL"),
    ("HTTPS://93.184.215.14/", "lower case"),          # libcurl takes it; the stored URL is written one way
    ("https:/93.184.215.14/", "lower case"),
])
def test_urls_that_reach_romtrack_s_own_networks_are_refused(stack, tokens, url, why):
    before = rows(stack)
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"url": url})
    assert status == 422, doc
    (error,) = doc["errors"]
    assert error["pointer"] == "/url" and why in error["detail"], error
    assert "pw" not in error["detail"]
    assert rows(stack) == before
    # and PATCH to it is refused the same way
    status, _, doc = send(stack, "PATCH", "/api/subscriptions/%d" % int(before[0][0]), tokens["admin"],
                          {"url": url}, "application/merge-patch+json")
    assert status == 422 and doc["errors"][0]["pointer"] == "/url"
    assert rows(stack) == before


def test_every_broken_rule_422_with_its_pointer(stack, tokens):
    before = rows(stack)
    body = {"url": RECEIVER, "codenames": ["cancro", "cancro", "bad-name"], "regions": ["mars"],
            "branches": [], "types": "recovery", "events": ["release.deleted"], "after": -1,
            "description": "x" * 501, "enabled": True, "secret": "whsec_mine"}
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], body)
    assert status == 422, doc
    assert sorted(e["pointer"] for e in doc["errors"]) == sorted([
        "/codenames/1", "/codenames/2", "/regions/0", "/branches", "/types", "/events/0", "/after",
        "/description", "/enabled", "/secret"])
    assert rows(stack) == before
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], {"description": "no url"})
    assert status == 422 and [e["pointer"] for e in doc["errors"]] == ["/url"]
    status, _, doc = send(stack, "PATCH", "/api/subscriptions/%d" % int(before[0][0]), tokens["admin"], {},
                          "application/merge-patch+json")
    assert status == 422
    status, _, doc = send(stack, "POST", "/api/subscriptions", tokens["alice"], "[1,", "application/json")
    assert status == 400
    assert rows(stack) == before


def test_secrets_are_in_no_log(stack, tokens):
    secrets = [r[2] for r in rows(stack)] + [r[0] for r in stack.psql(
        "SELECT previous_secret FROM subscription WHERE previous_secret IS NOT NULL")]
    assert len(secrets) > len(rows(stack))  # the rotated one too
    logs = 0
    for root, _, files in os.walk(stack.tmpdir):
        for name in files:
            if not name.endswith(".log"):
                continue
            with open(os.path.join(root, name), "rb") as f:
                text = f.read()
            logs += 1
            for secret in secrets:
                assert secret.encode() not in text, name
    assert logs >= 2  # romtrack's and PostgreSQL's at least
