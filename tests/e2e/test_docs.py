"""The interactive documentation page (Swagger UI from npm, served by nginx), in headless Chromium: it loads,
lists every operation of openapi.yaml, and "Try it out" on GET /api/health gets the server's answer."""

import json
import os
import subprocess

import conftest
from contract import Contract

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]


def test_docs_page_lists_the_routes_and_tries_one(stack):
    status, headers, body, _ = stack.get("/api/docs/", contract=False)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert stack.get("/api/docs", contract=False)[0] == 301
    r = subprocess.run(["node", os.path.join(conftest.REPO, "web", "check-docs.mjs"), stack.base_url + "/api/docs/"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout.strip().splitlines()[-1])
    assert page["failures"] == []
    assert set(page["operations"]) == {op for op in Contract().routes()}
    assert page["status"] == "200"
    assert json.loads(page["body"]) == {"status": "ok", "database": "ok"}
