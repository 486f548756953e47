"""Request bodies through nginx, before any write handler: the size limit (nginx's and romtrack's), methods and
Allow, CORS preflights for writes, and the refusals of a body (415, 400) on POST /api/releases, the route the table
marks as taking a JSON body, with a bearer token with releases:write where the refusal comes after the token check;
every response is checked against openapi.yaml."""

import re

import pytest

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

WRITE = "/api/releases"
LIMIT = 1024 * 1024  # max_body_kb's default, nginx's client_max_body_size too


def send(stack, method, path, body=None, headers=None, chunked=False):
    """One request with a body through nginx, checked against openapi.yaml; returns (status, headers with
    lower-case names, doc or None)."""
    status, headers, _, doc = stack.get(path, headers, method=method, body=body, chunked=chunked)
    return status, headers, doc


def assert_problem(status, headers, doc, expected, slug):
    assert status == expected, (status, doc)
    assert headers["content-type"] == "application/problem+json"
    assert doc["type"] == "urn:romtrack:problem:" + slug and doc["status"] == expected, doc
    assert headers.get("cache-control") == "no-store"


@pytest.fixture(scope="module")
def token(stack):
    """A secret with releases:write."""
    r = stack.romtrack("token", "add", "bodies-test", "--scope", "releases:write")
    assert r.returncode == 0, r.stderr
    secret = re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout)
    assert secret, r.stdout
    return secret.group(0)


def auth(token, **more):
    return dict({"Authorization": "Bearer " + token}, **more)


# --- the limit ------------------------------------------------------------------------------------------------

def test_nginx_refuses_a_body_over_max_body_kb(stack):
    """nginx's 413 (client_max_body_size from max_body_kb) as problem+json naming the limit, for a declared length
    and for a chunked body that grows past it."""
    status, headers, doc = send(stack, "POST", WRITE, body=b"x" * 10, headers={"Content-Length": str(LIMIT + 1)})
    assert_problem(status, headers, doc, 413, "payload-too-large")
    assert "1024 kB" in doc["detail"], doc
    try:
        status, headers, doc = send(stack, "POST", WRITE, body=b"[" + b" " * LIMIT + b"]", chunked=True,
                                    headers={"Content-Type": "application/json"})
    except (BrokenPipeError, ConnectionResetError):  # nginx may answer and close before the client is done
        pytest.fail("nginx closed the connection without a 413")
    assert_problem(status, headers, doc, 413, "payload-too-large")


def test_a_body_at_the_limit_reaches_romtrack(stack):
    """Exactly max_body_kb passes nginx and romtrack's size checks (chunked: no Content-Length from the client);
    what refuses it is the next step, the authorization (401 without a token)."""
    body = b"[" + b" " * (LIMIT - 2) + b"]"
    for chunked in (False, True):
        status, headers, doc = send(stack, "POST", WRITE, body=body, chunked=chunked,
                                    headers={"Content-Type": "application/json"})
        assert status == 401, (chunked, status, doc)
        assert headers["cache-control"] == "no-store" and "etag" not in headers


def test_romtrack_refuses_a_body_over_its_own_limit(stack):
    """romtrack's max_body_kb on its own (a reload applies it; nginx keeps 1024 kB here): 413 on the declared
    length, before the body is read, and before any authorization."""
    stack.reconfigure({"max_body_kb": 1})
    try:
        status, headers, doc = send(stack, "POST", WRITE, body=b"[" + b" " * 2000 + b"]",
                                    headers={"Content-Type": "application/json"})
        assert_problem(status, headers, doc, 413, "payload-too-large")
        assert doc["detail"] == "the body is larger than max_body_kb allows (1 kB)", doc
        # 1 kB passes
        status, _, doc = send(stack, "POST", WRITE, body=b"[" + b" " * 1022 + b"]",
                              headers={"Content-Type": "application/json"})
        assert status == 401, doc
    finally:
        stack.reconfigure({"max_body_kb": None})


# --- methods and CORS -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/api/devices", "GET, HEAD, OPTIONS"),
    ("POST", "/api/releases/latest", "GET, HEAD, OPTIONS"),
    ("PUT", WRITE, "GET, HEAD, OPTIONS, POST"),
    ("DELETE", WRITE, "GET, HEAD, OPTIONS, POST"),
])
def test_a_method_the_route_does_not_take_is_a_405_with_allow(stack, method, path, allow):
    status, headers, doc = send(stack, method, path, body=b"{}", headers={"Content-Type": "application/json"})
    assert_problem(status, headers, doc, 405, "method-not-allowed")
    assert headers["allow"] == allow


def test_preflights_list_each_routes_methods_and_the_write_headers(stack):
    requested = "authorization,content-type,if-match"
    status, headers, _, _ = stack.get(WRITE, method="OPTIONS", headers={
        "Origin": "https://tracker.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": requested})
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST"
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert set(requested.split(",")) <= allowed, allowed
    # a read-only route offers no write
    status, headers, _, _ = stack.get("/api/devices/cancro", method="OPTIONS", headers={
        "Origin": "https://tracker.example", "Access-Control-Request-Method": "POST"})
    assert status == 204 and headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"


def test_responses_expose_what_a_write_client_reads(stack):
    for status, headers in [stack.get("/api/regions")[:2],
                            send(stack, "POST", WRITE, body=b"{}", headers={"Content-Type": "application/json"})[:2]]:
        exposed = {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
        assert {"etag", "location", "link", "www-authenticate", "retry-after", "accept-post"} <= exposed, status


def test_a_write_is_never_cached(stack):
    """Twice the same POST: each reaches romtrack (no cached answer), and neither may be stored by a cache."""
    for _ in range(2):
        status, headers, doc = send(stack, "POST", WRITE, body=b'{"data": []}',
                                    headers={"Content-Type": "application/json"})
        assert status == 401, doc
        assert headers["cache-control"] == "no-store"
        assert "etag" not in headers and "max-age" not in headers["cache-control"]


# --- the body's refusals (they come after the authorization: a token is needed) -----------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=iso-8859-1"])
def test_a_body_of_another_type_is_a_415_naming_the_accepted_ones(stack, token, content_type):
    status, headers, doc = send(stack, "POST", WRITE, body=b"{}", headers=auth(token, **{"Content-Type": content_type}))
    assert_problem(status, headers, doc, 415, "unsupported-media-type")
    assert "application/json" in doc["detail"]
    assert headers["accept-post"] == "application/json"


def test_malformed_json_is_a_400_with_line_and_column(stack, token):
    body = b'{\n  "data": [\n    {"filename": "a.zip",}\n  ]\n}'
    status, headers, doc = send(stack, "POST", WRITE, body=body, headers=auth(token, **{"Content-Type":
                                                                                    "application/json"}))
    assert_problem(status, headers, doc, 400, "bad-request")
    # the '}' after the trailing comma: line 3, its 26th character
    assert (doc["line"], doc["column"]) == (3, 26), doc
    assert "line 3, column 26" in doc["detail"]


def test_a_duplicate_member_is_a_400(stack, token):
    status, headers, doc = send(stack, "POST", WRITE, body=b'{"md5": "a", "md5": "b"}',
                                headers=auth(token, **{"Content-Type": "application/json"}))
    assert_problem(status, headers, doc, 400, "bad-request")
    assert "duplicate" in doc["detail"]


def test_a_missing_body_is_a_400(stack, token):
    status, headers, doc = send(stack, "POST", WRITE, body=b"", headers=auth(token))
    assert_problem(status, headers, doc, 400, "bad-request")
    assert "needs a body" in doc["detail"]
