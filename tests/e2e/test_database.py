"""PostgreSQL going away and coming back: 503 problem while it is down, reconnect and re-prepare after."""

IMPORT_FILES = ["data/sample/devices.yml", "data/sample/latest.yml"]


def test_database_down_then_back(stack):
    assert stack.get("/api/devices/cancro")[0] == 200
    stack.pg_stop()
    try:
        for path in ["/api/health", "/api/devices/cancro", "/api/devices?limit=1"]:
            status, headers, _, doc = stack.get(path)
            assert status == 503, (path, status, doc)
            assert headers["content-type"] == "application/problem+json"
            assert doc["type"] == "urn:romtrack:problem:database-unavailable"
            assert doc["status"] == 503
    finally:
        stack.pg_start()
    # every worker reconnects and prepares its statements again
    for _ in range(10):
        status, _, _, doc = stack.get("/api/devices/cancro")
        assert status == 200 and doc["codename"] == "cancro"
    assert stack.get("/api/health")[0] == 200
    # each worker LISTENs again on its new connection: a change made now is in every answer at once
    path = "/api/devices/cancro/releases?limit=1"
    release = stack.get(path)[3]["data"][0]
    for _ in range(10):  # both workers cache the page
        assert stack.get(path)[0] == 200
    stack.psql("UPDATE release SET size_bytes = size_bytes + 1 WHERE id = %d" % release["id"])
    try:
        for _ in range(10):
            status, _, _, doc = stack.get(path)
            assert status == 200 and doc["data"][0]["size"] == release["size"] + 1
    finally:  # other modules of the session read the same data
        stack.psql("UPDATE release SET size_bytes = size_bytes - 1 WHERE id = %d" % release["id"])
