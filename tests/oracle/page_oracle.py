"""An oracle for the page fixtures that shares no code with romtrack: the DOMAIN rules (../shared/DOMAIN.md, the
README's import section) written out again in Python, and a reader of the raw page with regular expressions.

    python3 page_oracle.py PAGE EXPECTED.jsonl     exit 0 when every expected row follows from the page, else 1

Each row of EXPECTED.jsonl (what `romtrack check` printed when the fixture was made) is checked against the card of
the page at the same position: the fields read off the card (name, codename, version, branch, type, size in bytes,
MD5, date, package name, links, incremental OTA) and those derived by rule (region and its evidence, Android
version, version family and numbers, warnings). What no rule gives (the changelog's text, line numbers) is checked
by hand: see HAND_CHECKED below.
"""

import html
import json
import re
import sys

# ---- the rules (DOMAIN.md) ---------------------------------------------------------------------------------------

BRANCHES = {"Stable": "stable", "Stable Beta": "stable-beta", "Weekly": "weekly", "Public Beta": "public-beta"}
TYPES = {"Recovery": "recovery", "Fastboot": "fastboot"}
UNITS = {"Bytes": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}  # decimal, as the site shows them
ANDROID_OF_LETTER = {"K": "4.4", "L": "5.0", "M": "6.0", "N": "7.0", "O": "8.0", "P": "9.0", "Q": "10.0",
                     "R": "11.0", "S": "12.0", "T": "13.0", "U": "14.0", "V": "15.0", "W": "16.0"}
# Region codes of a version (V12.5.3.0.RKH[MI]XM) and their API names (sql/001_schema.sql's enum).
REGION_OF_CODE = {"CN": "cn", "MI": "global", "EU": "eea", "IN": "in", "RU": "ru", "ID": "id", "TR": "tr",
                  "TW": "tw", "JP": "jp", "KR": "kr"}
# The region word of a fastboot file name (<codename>_images_<version>_<date>_<android>_[region]_<md5>.tgz).
REGION_OF_FILE_WORD = {"cn": "cn", "global": "global", "eea": "eea", "in": "in", "ru": "ru", "id": "id",
                       "tr": "tr", "tw": "tw", "jp": "jp", "kr": "kr"}
# Display names end with the region.
REGION_OF_NAME_END = [("South Korea", "kr"), ("China", "cn"), ("Global", "global"), ("EEA", "eea"),
                      ("India", "in"), ("Indonesia", "id"), ("Russia", "ru"), ("Turkey", "tr"),
                      ("Taiwan", "tw"), ("Japan", "jp"), ("Singapore", "sg")]
# A regional variant's codename suffix ("cancro" + region).
VARIANT_SUFFIX = {"cn": "", "global": "_global", "eea": "_eea_global", "in": "_in_global", "id": "_id_global",
                  "ru": "_ru_global", "tr": "_tr_global", "tw": "_tw_global", "jp": "_jp_global",
                  "kr": "_kr_global", "sg": "_sg_global"}
TOO_SMALL_FOR_A_ROM = 1000 * 1000  # "484 Bytes" is an error page; the smallest real package is tens of MB

STABLE = re.compile(r"^(?:V\d+|OS\d+|A\d+)\.\d+\.\d+\.\d+\.([A-Z])([A-Z]{2})([A-Z]{2})([A-Z]{2})$")


def version_family(version):
    """(family, numbers): weekly 7.3.23; public beta V14.0.23.4.17.DEV; HyperOS OS1.0.5.0.TKHMIXM; MIUI V12..."""
    if re.fullmatch(r"\d+\.\d+\.\d+", version):
        return "weekly", [int(n) for n in version.split(".")]
    if version.endswith(".DEV") and re.fullmatch(r"(?:V|OS)\d+(?:\.\d+)+\.DEV", version):
        return "public-beta", [int(n) for n in re.findall(r"\d+", version)]
    m = STABLE.match(version)
    if m:
        numbers = [int(n) for n in re.findall(r"\d+", version.split(".", 4)[0] + "." + ".".join(version.split(".")[1:4]))]
        return ("hyperos" if version.startswith("OS") else "miui"), numbers
    return "other", []


def android_of_filename(filename):
    """The Android version a package's file name carries, or None."""
    for pattern in (r"_(\d+\.\d+)\.zip$",                      # miui_<NAME>_<version>_<md5>_<android>.zip
                    r"_(\d+\.\d+)_[a-z]+_[0-9a-f]{10}\.tgz$",  # ..._<android>_<region>_<md5>.tgz
                    r"-user-(\d+\.\d+)-[0-9a-f]{10}\.zip$",    # <codename>-ota_full-<version>-user-<android>-<md5>.zip
                    r"-[0-9a-f]{10}-(\d+\.\d+)\.zip$"):         # miui-ota-<codename>-<from>-<to>-<md5>-<android>.zip
        m = re.search(pattern, filename)
        if m:
            return m.group(1)
    return None


def md5_prefix_of_filename(filename):
    m = re.search(r"[_-]([0-9a-f]{10})(?:[_-]\d+\.\d+)?\.(?:zip|tgz)$", filename)
    return m.group(1) if m else None


def region_evidence(version, filename, name):
    by_version = by_filename = by_name = None
    m = STABLE.match(version)
    if m:
        by_version = REGION_OF_CODE.get(m.group(3))
    m = re.search(r"_images_.*_([a-z]+)_[0-9a-f]{10}\.tgz$", filename)
    if m:
        by_filename = REGION_OF_FILE_WORD.get(m.group(1))
    for end, region in REGION_OF_NAME_END:
        if name.endswith(end):
            by_name = region
            break
    return by_version, by_filename, by_name


def region_of(by_version, by_filename, by_name, codename_region):
    """The version's code, else the file name's word, else the display name, else the variant's; a file name's
    generic "global" (what every regional global build says) comes after the display name."""
    if by_version:
        return by_version
    if by_filename and by_filename != "global":
        return by_filename
    return by_name or by_filename or codename_region


def regions_disagree(*regions):
    known = [r for r in regions if r]
    for a in known:
        for b in known:
            # "global" in a file name agrees with any region but China
            if a != b and not ({a, b} - {"global"} and "global" in (a, b) and "cn" not in (a, b)):
                return True
    return False


# What no rule written here gives, checked by hand against the raw page when the fixtures were made (and again for
# issue 9): each fixture's changelog keeps the white space of the page within a line (the lcsh92 page's lines end
# with a space before <br>, and its "(10-11)New" has no break: the page has none); every other field is derived.
HAND_CHECKED = {
    "changelog white space": "every fixture: lines of <p id=\"changelog_text\"> as written, runs of spaces kept",
}


# ---- the page, read with regular expressions ---------------------------------------------------------------------

def cards_of(text):
    cards = []
    card_lines = [i for i, line in enumerate(text.split("\n"), 1) if '<div class="card card-body">' in line]
    for line, chunk in zip(card_lines, text.split('<div class="card card-body">')[1:]):
        def field(label):
            m = re.search(r"<b>%s: ?</b>\s*(?:<[^>]+>\s*)*([^<]*)" % re.escape(label), chunk)
            return html.unescape(m.group(1)).strip() if m else None
        changelog = re.search(r'<p id="changelog_text">(.*?)</p>', chunk, re.S)
        buttons = re.findall(r"window\.open\('([^']*)'[^>]*>\s*(?:<i[^>]*>\s*</i>)?\s*([^<]*)</button>", chunk)
        cards.append({
            "name": field("Device"), "codename": field("Codename"), "version": field("Version"),
            "branch": field("Branch"), "type": field("Type"), "size": field("Size"), "date": field("Release Date"),
            "filename": field("Package Name"), "md5": field("MD5"),
            "links": [html.unescape(u) for u, label in buttons if "Incremental" not in label],
            "incremental": [html.unescape(u) for u, label in buttons if "Incremental" in label],
            "line": line,
            # <br> separates lines, entities are decoded
            "changelog": None if changelog is None else "\n".join(
                part for part in (html.unescape(p).strip() for p in re.split(r"<br\s*/?>", changelog.group(1)))
                if part),
        })
    return cards


def expected_row(card):
    """What the DOMAIN rules say `romtrack check` prints for this card (the fields a rule gives)."""
    number, unit = card["size"].split()
    size = round(float(number) * UNITS[unit])
    filename = card["filename"] or card["links"][0].rsplit("/", 1)[1]
    md5 = None if card["md5"] == "Unknown" else card["md5"].lower()
    date = None if card["date"] == "None" else card["date"]
    family, numbers = version_family(card["version"])
    by_version, by_filename, by_name = region_evidence(card["version"], filename, card["name"])
    region = region_of(by_version, by_filename, by_name, "cn")
    letter = STABLE.match(card["version"]).group(1) if STABLE.match(card["version"]) else None
    android = android_of_filename(filename) or ANDROID_OF_LETTER.get(letter)
    warnings = set()
    if size < TOO_SMALL_FOR_A_ROM:
        warnings.add("size-implausible")
    if md5 and md5_prefix_of_filename(filename) and not md5.startswith(md5_prefix_of_filename(filename)):
        warnings.add("md5-filename-mismatch")
    if family == "other":
        warnings.add("version-unparsed")
    if regions_disagree(by_version, by_filename, by_name):
        warnings.add("region-mismatch")
    if letter and android and ANDROID_OF_LETTER.get(letter) and android != ANDROID_OF_LETTER[letter]:
        warnings.add("android-mismatch")
    if any(link.rsplit("/", 1)[1] != filename for link in card["links"]):
        warnings.add("link-filename-mismatch")
    incremental = None
    if card["incremental"]:
        url = card["incremental"][0]
        name = url.rsplit("/", 1)[1]
        m = (re.match(r"miui-(?:block)?ota-[a-z0-9_]+-([^-]+)-([^-]+)-[0-9a-f]{10}-", name)
             or re.match(r"[a-z0-9_]+-ota_incremental-([^-]+)-([^-]+)-user-", name))
        incremental = {"from": m.group(1) if m else None, "to": m.group(2) if m else None,
                       "filename": name, "url": url}
    return {
        "line": card["line"], "device": card["codename"], "variant": None,
        "new_variant": card["codename"] + VARIANT_SUFFIX.get(region, ""),
        "name": card["name"], "filename": filename, "version": card["version"],
        "version_family": family, "version_numbers": numbers,
        "branch": BRANCHES[card["branch"]], "type": TYPES[card["type"]],
        "region": region, "region_by_version": by_version, "region_by_filename": by_filename,
        "region_by_name": by_name, "android": android, "size": size, "md5": md5, "date": date,
        "links": card["links"], "incremental": incremental, "warnings": sorted(warnings),
    }


def check(page_path, expected_path):
    """The differences between the expected rows and the rules, as strings (empty: the file is right)."""
    with open(page_path, encoding="utf-8") as f:
        cards = cards_of(f.read())
    with open(expected_path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    problems = []
    if len(rows) != len(cards):
        return ["%d expected rows for %d cards" % (len(rows), len(cards))]
    for i, (card, row) in enumerate(zip(cards, rows), 1):
        # The changelog's lines as the page has them; white space within a line is hand-checked (HAND_CHECKED).
        if (row.get("changelog") is None) != (card["changelog"] is None) or (
                card["changelog"] is not None and row["changelog"].split() != card["changelog"].split()):
            problems.append("card %d (%s): changelog %r, the page says %r" % (i, card["filename"],
                                                                              row.get("changelog"), card["changelog"]))
        for key, value in expected_row(card).items():
            if row.get(key) != value:
                problems.append("card %d (%s): %s is %r, the rules say %r" % (i, card["filename"], key,
                                                                                  row.get(key), value))
    return problems


if __name__ == "__main__":
    found = check(sys.argv[1], sys.argv[2])
    for p in found:
        print("%s: %s" % (sys.argv[2], p))
    sys.exit(1 if found else 0)
