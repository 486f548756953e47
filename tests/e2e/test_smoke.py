"""Smoke test: the whole stack (PostgreSQL, romtrack serve, nginx) answers the health check."""


def test_health_ok(stack):
    status, headers, _, doc = stack.get("/api/health")
    assert status == 200
    assert headers["content-type"].split(";")[0].strip() == "application/json"
    assert doc == {"status": "ok", "database": "ok"}
