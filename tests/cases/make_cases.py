"""Regenerate the invalid test cases from the valid base entry.

Run ``python tests/cases/make_cases.py`` after changing the base or the list
below; review the diff of tests/cases/ before committing. Expected lines are
found by searching the written text for a needle, independently of tpkit's own
position scanner, so the tests check that scanner rather than echo it.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = json.loads((HERE / "valid" / "minimal-entry.json").read_text(encoding="utf-8"))
# Content model 1.1: language and precautions
BASE_1_1 = json.loads((HERE / "valid" / "language-and-precautions.json").read_text(encoding="utf-8"))


def dump(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def mutate(change, base=BASE):
    def build(name):
        data = copy.deepcopy(base)
        data["id"] = name
        change(data)
        return dump(data)
    return build


def raw(transform):
    def build(name):
        data = copy.deepcopy(BASE)
        data["id"] = name
        return transform(dump(data))
    return build


def setitem(path, value):
    def change(data):
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return change


def delitem(path):
    def change(data):
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return change


def both(*changes):
    def change(data):
        for c in changes:
            c(data)
    return change


# name -> (builder, [(code, needle)]) ; the needle's first line is the expected line (None: line 1)
CASES = {
    "tp002-bom": (raw(lambda t: "\ufeff" + t), [("TP002", None)]),
    "tp002-invalid-utf8": (raw(lambda t: t.replace("Deep ache", "Deep \udcffache")), [("TP002", "Deep ")]),
    "tp003-trailing-comma": (raw(lambda t: t.replace('"status": "published",', '"status": "published",,')),
                             [("TP003", '"status"')]),
    "tp003-empty": (lambda name: "", [("TP003", None)]),
    "tp004-duplicate-key": (raw(lambda t: t.replace('  "area":', '  "name": "Again",\n  "area":')),
                            [("TP004", '"name": "Again"')]),
    "tp005-array": (lambda name: "[1, 2, 3]\n", [("TP005", None)]),
    "tp007-deep-nesting": (raw(lambda t: t.replace('"status": "published",', '"status": "published",\n  "deep": ' + "[" * 100 + "]" * 100 + ",")),
                           [("TP007", None)]),
    "tp101-missing-summary": (mutate(delitem(["summary"])), [("TP101", None)]),
    "tp101-citation-missing-publisher": (mutate(delitem(["citations", 0, "publisher"])), [("TP101", '"id": "simons1999"', 1, -1)]),
    "tp101-citation-without-author": (mutate(delitem(["citations", 0, "author"])), [("TP101", '"id": "simons1999"', 1, -1)]),
    "tp101-webpage-without-url": (mutate(delitem(["citations", 1, "URL"])), [("TP101", '"id": "ncbi-gluteal"', 1, -1)]),
    "tp102-unknown-property": (mutate(setitem(["sumary"], "Typo.")), [("TP102", '"sumary"')]),
    "tp102-unknown-nested-property": (mutate(setitem(["referral_pattern", "zones", 0, "colour"], "red")), [("TP102", '"colour"')]),
    "tp103-list-given-as-text": (mutate(setitem(["indications"], "Hip pain")), [("TP103", '"indications"')]),
    "tp103-number-given-as-text": (mutate(setitem(["area"], 42)), [("TP103", '"area"')]),
    "tp104-unknown-body-region": (mutate(setitem(["referral_pattern", "zones", 0, "region"], "hip")), [("TP104", '"region": "hip"')]),
    "tp104-unknown-segment": (mutate(setitem(["anatomy", 0, "innervation", "roots"], ["L4", "L9"])), [("TP104", '"L9"')]),
    "tp104-unknown-category": (mutate(setitem(["corrective_actions", 0, "category"], "massage")), [("TP104", '"massage"')]),
    "tp104-unknown-citation-type": (mutate(setitem(["citations", 0, "type"], "journal")), [("TP104", '"journal"')]),
    "tp104-unknown-status": (mutate(setitem(["status"], "final")), [("TP104", '"status"')]),
    "tp105-leading-space": (mutate(setitem(["name"], " Gluteus Minimus")), [("TP105", '"name"')]),
    "tp105-empty-text": (mutate(setitem(["conclusion"], "")), [("TP105", '"conclusion"')]),
    "tp105-control-character": (mutate(setitem(["area"], "Deep\tin the buttock.")), [("TP105", '"area"')]),
    "tp106-id-not-a-slug": (mutate(setitem(["id"], "Gluteus_Minimus")), [("TP106", '"id"')]),
    "tp106-impossible-date": (mutate(setitem(["updated"], "2025-02-30")), [("TP106", '"updated"')]),
    "tp106-schema-version": (mutate(setitem(["schema_version"], "2.0")), [("TP106", '"schema_version"')]),
    "tp106-bad-url": (mutate(setitem(["citations", 1, "URL"], "ftp://example.org")), [("TP106", '"URL"')]),
    "tp107-empty-list": (mutate(setitem(["symptoms"], [])), [("TP107", '"symptoms"')]),
    "tp108-id-too-long": (mutate(setitem(["id"], "a" * 65)), [("TP108", '"id"')]),
    "tp108-month-out-of-range": (mutate(setitem(["citations", 1, "accessed"], {"date-parts": [[2024, 13, 1]]})), [("TP108", "13,")]),
    "tp201-id-differs-from-file-name": (mutate(setitem(["id"], "gluteus-minimus")), [("TP201", '"id"')]),
    "tp203-unknown-citation-key": (mutate(setitem(["conclusion"], "Treat it early [@travell1983].")), [("TP203", '"conclusion"')]),
    "tp204-malformed-citation": (mutate(setitem(["conclusion"], "Treat it early [@Simons 1999] and well [@simons1999].")), [("TP204", '"conclusion"')]),
    "tp205-segment-gap": (mutate(setitem(["anatomy", 0, "innervation", "roots"], ["L4", "S1"])), [("TP205", '"S1"')]),
    "tp205-segment-order": (mutate(setitem(["anatomy", 0, "innervation", "roots"], ["L5", "L4", "S1"])), [("TP205", '"L4"')]),
    "tp206-zone-repeated": (mutate(setitem(["referral_pattern", "zones", 1, "region"], "lateral-hip")), [("TP206", '"region": "lateral-hip",', 2)]),
    "tp207-no-essential-zone": (mutate(both(setitem(["referral_pattern", "zones", 0, "extent"], "spillover"),
                                             setitem(["referral_pattern", "zones", 1, "extent"], "spillover"))), [("TP207", '"zones"')]),
    "tp208-duplicate-symptom": (mutate(lambda d: d["symptoms"].append(d["symptoms"][0])), [("TP208", '"symptoms"', "last-item")]),
    "tp208-duplicate-category": (mutate(lambda d: d["corrective_actions"].append(copy.deepcopy(d["corrective_actions"][0]))),
                                 [("TP208", '"category": "stretching"', 2)]),
    "tp208-duplicate-citation-id": (mutate(lambda d: d["citations"].append(copy.deepcopy(d["citations"][0]))),
                                    [("TP208", '"id": "simons1999"', 2)]),
    "tp209-updated-in-the-future": (mutate(setitem(["updated"], "2099-01-01")), [("TP209", '"updated"')]),
    "tp210-uncited-citation": (mutate(setitem(["summary"], "A small, deep hip abductor whose trigger points mimic sciatica.")),
                               [("TP210", '"id": "simons1999"')]),
    "tp211-associated-muscle-missing": (mutate(setitem(["associated_trigger_points", 0, "muscle"], "vastus-lateralis")),
                                        [("TP211", '"vastus-lateralis"')]),
    "tp212-near-duplicate-item": (mutate(lambda d: d["symptoms"].append(d["indications"][0] + ".")), [("TP212", '"symptoms"', "last-item")]),
    "tp213-undrawable-character": (mutate(setitem(["conclusion"], "Keep moving \U0001F3C3 and stretch daily [@simons1999].")),
                                   [("TP213", '"conclusion"')]),
    "tp215-bidi-control-character": (mutate(setitem(["conclusion"], "Take 5 mg \u202e10\u202c times a day [@simons1999].")),
                                     [("TP215", '"conclusion"')]),
    "tp215-bidi-isolate-in-citation": (mutate(setitem(["citations", 0, "title"], "Myofascial Pain \u2067and\u2069 Dysfunction")),
                                       [("TP215", '"title": "Myofascial Pain')]),
    "tp216-language-in-1-0-entry": (mutate(setitem(["language"], "en-GB")), [("TP216", '"language"')]),
    "tp216-precautions-in-1-0-entry": (mutate(setitem(["precautions"], BASE_1_1["precautions"][1:2])), [("TP216", '"precautions"')]),
    "tp217-dry-needling-without-caution": (mutate(delitem(["precautions", 0]), BASE_1_1), [("TP217", '"category": "dry-needling"')]),
    "tp217-needling-red-flag-is-no-caution": (
        mutate(setitem(["precautions", 0, "kind"], "red-flag"), BASE_1_1), [("TP217", '"category": "dry-needling"')]),
    "tp106-language-not-bcp47": (mutate(setitem(["language"], "en_GB"), BASE_1_1), [("TP106", '"language"')]),
    "tp106-language-case": (mutate(setitem(["language"], "EN-gb"), BASE_1_1), [("TP106", '"language"')]),
    "tp104-unknown-precaution-kind": (mutate(setitem(["precautions", 1, "kind"], "warning"), BASE_1_1), [("TP104", '"warning"')]),
    "tp104-unknown-applies-to": (mutate(setitem(["precautions", 3, "applies_to"], "massage"), BASE_1_1), [("TP104", '"massage"')]),
    "tp107-empty-precautions": (mutate(setitem(["precautions"], []), BASE_1_1), [("TP107", '"precautions"')]),
    "tp101-precaution-without-text": (mutate(delitem(["precautions", 1, "text"]), BASE_1_1), [("TP101", '"kind": "red-flag"', 1, -1)]),
    "tp208-duplicate-precaution": (mutate(lambda d: d["precautions"].append(dict(d["precautions"][1])), BASE_1_1),
                                   [("TP208", '"text": "Pain at night', 2)]),
    "tp214-associated-with-itself": (mutate(lambda d: d["associated_trigger_points"].append({"muscle": d["id"], "note": "Itself."})),
                                     [("TP214", '"muscle": "tp214-associated-with-itself"')]),
}


def expected_line(text: str, needle, which=1, offset=0) -> int:
    """Line of the ``which``-th occurrence of needle (plus offset); "last-item": the list's last item."""
    if needle is None:
        return 1
    if which == "last-item":
        start = text.index(needle)
        end = text.index("]", start)
        return text[:end].rstrip().count("\n") + 1
    position = -1
    for _ in range(which):
        position = text.index(needle, position + 1)
    return text.count("\n", 0, position) + 1 + offset


def main() -> None:
    expectations = {}
    folder = HERE / "invalid"
    for old in folder.glob("*.json"):
        old.unlink()
    for name, (build, expected) in CASES.items():
        text = build(name)
        data = text.encode("utf-8", errors="surrogateescape")
        (folder / f"{name}.json").write_bytes(data)
        rows = []
        for code, needle, *where in expected:
            rows.append([code, expected_line(text, needle, *where)])
        expectations[name] = rows
    lines = ["# Expected problems of each invalid case: [code, line]. Written by make_cases.py.\n"]
    for name, rows in expectations.items():
        lines.append(f'"{name}" = {json.dumps(rows)}\n')
    (HERE / "expected.toml").write_text("".join(lines), encoding="utf-8")
    tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
