"""The page fixtures' expected results, checked against the raw pages by page_oracle.py (no romtrack code)."""

import glob
import json
import os

import pytest

import page_oracle

VALID = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "pages", "valid")
FIXTURES = sorted(p for p in glob.glob(os.path.join(VALID, "*")) if p.endswith((".md", ".html")))


def expected_of(page):
    return page.rsplit(".", 1)[0] + ".expected.jsonl"


def test_every_valid_fixture_has_expected_results():
    assert len(FIXTURES) >= 14
    assert all(os.path.exists(expected_of(p)) for p in FIXTURES)


@pytest.mark.parametrize("page", FIXTURES, ids=os.path.basename)
def test_expected_results_follow_from_the_page(page):
    assert page_oracle.check(page, expected_of(page)) == []


# One deliberately wrong value per field a rule derives: the oracle must notice each.
WRONG = {
    "region": lambda r: "jp" if r["region"] != "jp" else "kr",
    "new_variant": lambda r: r["device"] + "_jp_global",
    "android": lambda r: "1.0",
    "size": lambda r: (r["size"] or 0) + 1,
    "warnings": lambda r: sorted(set(r["warnings"]) ^ {"md5-filename-mismatch"}),
    "region_by_version": lambda r: None if r["region_by_version"] else "ru",
    "version_family": lambda r: "other" if r["version_family"] != "other" else "miui",
    "changelog": lambda r: (r["changelog"] or "") + " extra",
    "device": lambda r: r["device"] + "x",
}


@pytest.mark.parametrize("field", sorted(WRONG))
@pytest.mark.parametrize("page", FIXTURES, ids=os.path.basename)
def test_a_wrong_expected_value_is_caught(tmp_path, page, field):
    with open(expected_of(page), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows[-1][field] = WRONG[field](rows[-1])
    wrong = tmp_path / "wrong.expected.jsonl"
    wrong.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    problems = page_oracle.check(page, str(wrong))
    assert len(problems) == 1 and (" %s " % field) in problems[0], problems
