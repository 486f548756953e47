"""The interactive documentation page (Swagger UI from npm, served by nginx), in headless Chromium: it loads,
lists every operation of openapi.yaml, "Try it out" on GET /api/health gets the server's answer, and the page asks
no other host for anything; "Authorize" with a token and "Try it out" on a write work too."""

import json
import os
import socket
import subprocess

import conftest
from contract import Contract

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]

# A name that is not a loopback address: Swagger UI hides its validator badge (a request to validator.swagger.io
# carrying the document's URL) only for URLs that contain "localhost" or "127.0.0.1", so a user who reaches the
# server by a name is what the check must be. Chromium resolves the name to the test's nginx (.test is reserved).
PAGE_HOST = "romtrack-docs.test"


def test_docs_page_lists_the_routes_and_tries_one(stack):
    status, headers, body, _ = stack.get("/api/docs/", contract=False)
    assert status == 200 and headers["content-type"].startswith("text/html")
    r = subprocess.run(["node", os.path.join(conftest.REPO, "web", "check-docs.mjs"), stack.base_url + "/api/docs/",
                        "--as-host", PAGE_HOST],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout.strip().splitlines()[-1])
    assert page["failures"] == []
    contract = Contract()
    # every route, and the webhooks romtrack sends (OpenAPI 3.1's webhooks, listed by name)
    webhooks = {"%s %s" % (method.upper(), name) for name, item in contract.doc.get("webhooks", {}).items()
                for method in item}
    assert webhooks == {"POST release-change"}
    assert set(page["operations"]) == contract.routes() | webhooks
    assert page["status"] == "200"
    assert json.loads(page["body"]) == {"status": "ok", "database": "ok"}
    # Every request the page made went to the server that serves it (check-docs.mjs aborts the others).
    assert page["foreign"] == []


def test_docs_redirect_is_relative(stack):
    # Through a proxy or cache on another host and port, an absolute Location naming nginx's own port is wrong:
    # the Location must be a path, resolved by the client against the URL it used (RFC 9110, 10.2.2).
    for host in ("cache.example:8443", "127.0.0.1:%d" % stack.port):
        with socket.create_connection(("127.0.0.1", stack.port), timeout=15) as s:
            s.sendall(b"GET /api/docs HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
            response = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                response += chunk
        head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        assert head[0].startswith("HTTP/1.1 301 "), head
        assert [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("location:")] == ["/api/docs/"]


def test_docs_assets_are_only_the_page_s_files(stack):
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"):
        assert stack.get("/api/docs/assets/" + name, contract=False)[0] == 200, name
    # swagger-ui-dist's stock page, whose initializer loads a third party's example API, and a directory listing:
    # a problem+json 404 like any unknown path.
    for path in ("/api/docs/assets/", "/api/docs/assets/index.html", "/api/docs/assets/swagger-initializer.js"):
        status, headers, _, doc = stack.get(path)
        assert status == 404 and headers["content-type"] == "application/problem+json", path
        assert doc["type"] == "urn:romtrack:problem:not-found"


def _restore_from_the_page(stack, release_id, token_file):
    r = subprocess.run(["node", os.path.join(conftest.REPO, "web", "check-docs-write.mjs"),
                        stack.base_url + "/api/docs/", str(release_id), token_file],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout.strip().splitlines()[-1])
    assert page["failures"] == [] and page["foreign"] == []
    return page


def test_docs_page_authorizes_and_tries_a_write(stack, tmp_path):
    """"Authorize" with a token and "Try it out" on a write (restore a withdrawn release): without the token the
    server answers 401 and nothing changes; with it the request carries the token and the release is back."""
    release_id = int(stack.psql("SELECT min(id) FROM release WHERE withdrawn_at IS NULL")[0][0])
    stack.psql("UPDATE release SET withdrawn_at = now() WHERE id = %d" % release_id)
    withdrawn = "SELECT withdrawn_at IS NOT NULL FROM release WHERE id = %d" % release_id
    page = _restore_from_the_page(stack, release_id, "--no-token")
    assert page["status"] == "401" and not page["authorization"]
    assert stack.psql(withdrawn) == [("t",)]
    r = stack.romtrack("token", "add", "docs-page", "--scope", "releases:write")
    assert r.returncode == 0, r.stderr
    token_file = tmp_path / "token"
    token_file.write_text(r.stdout.strip())
    page = _restore_from_the_page(stack, release_id, str(token_file))
    assert page["authorization"], "the page sent no Authorization: Bearer with the token"
    assert page["status"] == "200", page["body"]
    assert json.loads(page["body"])["id"] == release_id
    assert stack.psql(withdrawn) == [("f",)]
