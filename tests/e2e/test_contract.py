"""The request half of the contract oracle (contract.py) catches what it is there to catch.

Every end-to-end module relies on Contract.check_request to fail when a request the server accepted contradicts
openapi.yaml; these cases show it does, with requests written out here by hand (no server involved), and that the
requests examples in openapi.yaml (what Swagger UI's "Try it out" sends) pass the same check.
"""

import json

import pytest

from contract import Contract

CONTRACT = Contract()
JSON = {"Content-Type": "application/json"}
# A release of the seed page tests/data/pages/valid/cancro-weekly-7.3.23.md (its name and Global link copied by
# hand), in ReleaseInput's shape.
RELEASE = {
    "codename": "cancro",
    "names": ["MI 3 / Mi 4 Global"],
    "version": "7.3.23",
    "branch": "weekly",
    "type": "recovery",
    "links": ["https://bigota.d.miui.com/7.3.23/miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip"],
}


def body(doc):
    return json.dumps(doc).encode()


def test_an_accepted_valid_body_passes():
    CONTRACT.check_request("/api/releases", "POST", 201, JSON, body(RELEASE))
    CONTRACT.check_request("/api/releases", "POST", 200, JSON, body({"data": [RELEASE, RELEASE]}))


@pytest.mark.parametrize("doc, why", [
    (dict(RELEASE, id=7), "additional"),                         # a member ReleaseInput does not have
    ({k: v for k, v in RELEASE.items() if k != "links"}, "links"),  # a required member left out
    (dict(RELEASE, md5="not-an-md5"), "does not match"),           # md5's pattern
    (dict(RELEASE, size=-1), "minimum"),
    ({"data": []}, "data"),                                      # ReleaseInputList's minItems
])
def test_an_accepted_body_the_schema_refuses_fails(doc, why):
    with pytest.raises(AssertionError, match="accepted a body its schema refuses"):
        CONTRACT.check_request("/api/releases", "POST", 201, JSON, body(doc))


def test_a_refused_body_is_not_judged_by_the_schema():
    # 422 for a body the schema refuses is the server being right, not the document being wrong
    CONTRACT.check_request("/api/releases", "POST", 422, JSON, body(dict(RELEASE, md5="x")))


def test_an_undocumented_request_type_or_body_fails_when_accepted():
    with pytest.raises(AssertionError, match="of type 'text/plain'"):
        CONTRACT.check_request("/api/releases", "POST", 201, {"content-type": "text/plain"}, b"x")
    with pytest.raises(AssertionError, match="documents none"):
        CONTRACT.check_request("/api/releases/1/restore", "POST", 200, JSON, b"{}")
    with pytest.raises(AssertionError, match="without the required body"):
        CONTRACT.check_request("/api/releases", "POST", 201, {}, None)


def test_a_415_for_a_documented_type_fails():
    with pytest.raises(AssertionError, match="refused the documented request type"):
        CONTRACT.check_request("/api/releases/1", "PATCH", 415, {"Content-Type": "application/merge-patch+json"},
                               b"{}")
    CONTRACT.check_request("/api/releases/1", "PATCH", 415, JSON, b"{}")  # PATCH takes merge-patch only
    with pytest.raises(AssertionError, match="refused the documented request type"):
        CONTRACT.check_request("/api/releases", "POST", 415, {"Content-Type": "application/json; charset=UTF-8"},
                               b"{}")
    CONTRACT.check_request("/api/releases", "POST", 415, {"Content-Type": "application/json; charset=latin1"},
                           b"{}")  # JSON in another charset is not the documented type


def request_examples():
    for template, item in CONTRACT.doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            for ctype, media in op["requestBody"]["content"].items():
                examples = [media["example"]] if "example" in media else []
                examples += [e["value"] for e in media.get("examples", {}).values()]
                for i, example in enumerate(examples):
                    yield pytest.param(template, method, ctype, example, id="%s %s %s #%d" % (
                        method.upper(), template, ctype, i))


@pytest.mark.parametrize("template, method, ctype, example", list(request_examples()))
def test_openapi_request_examples_pass_the_check(template, method, ctype, example):
    path = template.replace("{codename}", "cancro").replace("{variant}", "cancro").replace("{id}", "1")
    raw = example.encode() if isinstance(example, str) else body(example)
    CONTRACT.check_request(path, method.upper(), 200, {"Content-Type": ctype}, raw)


def test_every_request_body_has_an_example():
    # so that the parametrized test above covers every operation that takes a body, and Swagger UI shows one
    with_examples = {(p.values[0], p.values[1]) for p in request_examples()}
    with_bodies = {(template, method) for template, item in CONTRACT.doc["paths"].items()
                   for method, op in item.items() if isinstance(op, dict) and "requestBody" in op}
    assert with_bodies and with_bodies == with_examples
