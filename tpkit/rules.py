"""The rule catalogue and the semantic checks the schema alone cannot state.

Every problem tpkit reports has a stable code listed here, with a severity, a
one-line summary and a longer explanation (``tpkit rules CODE``). Codes:
TP0xx reading the file, TP1xx the JSON Schema, TP2xx rules of one entry and of
the collection. Codes are never reused or renumbered.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from tpkit import marks
from tpkit.fonts import drawable, undrawable
from tpkit.issues import pointer_from
from tpkit.vocabulary import spinal_order

if TYPE_CHECKING:
    from tpkit.models import Entry


# The longest text one field may hold (TP220). Real texts are under 1,000 characters; reportlab's
# line breaking is quadratic in the words of one paragraph (it pops the first word of a list
# for each word), which past this length dominates a build.
MAX_TEXT_LENGTH = 100_000


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    summary: str
    explanation: str


_RULES = [
    Rule("TP001", "error", "the file cannot be read",
         "tpkit could not open or read the file (missing permission, a broken link, or an I/O error). "
         "Check that the file exists and is readable."),
    Rule("TP002", "error", "the file is not UTF-8 without a byte order mark",
         "Entries are UTF-8 without a BOM. Re-save the file as \"UTF-8\" (not \"UTF-8 with BOM\" or a legacy code page)."),
    Rule("TP003", "error", "the file is not valid JSON",
         "The file must hold one JSON object. Common causes: a trailing comma, a missing comma or quote, "
         "a raw line break inside a string, or comments (JSON has none)."),
    Rule("TP004", "error", "a key appears twice in one object",
         "JSON parsers silently keep only one of two equal keys, so a duplicate hides content. Remove or rename one."),
    Rule("TP005", "error", "the file is not a JSON object",
         "An entry file holds exactly one JSON object { ... }, not an array, string, number or null."),
    Rule("TP006", "error", "the file is over the size limit",
         "Files over the limit (default 5 MB, set `size_limit` in tpkit.toml or --max-bytes) are refused "
         "without being read, to protect CI from runaway or hostile files."),
    Rule("TP007", "error", "the JSON is nested too deeply",
         "An entry is at most a few levels deep; deeper nesting (default limit 64) is refused to protect the tools."),
    Rule("TP015", "warning", "a path is not a regular file and is skipped",
         "Only regular files are read. A named pipe (FIFO), socket or device named *.json inside a folder could "
         "make tpkit wait forever or read without end, so it is skipped. Named directly on the command line, "
         "such a path is a usage error (exit 2)."),
    Rule("TP016", "warning", "a symbolic link points outside the folder being read and is not followed",
         "A link inside the entries folder whose target lies outside it would pull in files from elsewhere "
         "(another project, a system file). It is skipped; pass --follow-symlinks to read such links."),
    Rule("TP101", "error", "a required property is missing",
         "Every section of the content model is required except `$schema`, `authors`, `license`, "
         "`trigger_points`, `language` and `precautions`; a precaution needs `kind` and `text`. Citations need `author` or `editor`, plus `publisher` (book, chapter), "
         "`container-title` (chapter, article-journal) or `URL` and `accessed` (webpage)."),
    Rule("TP102", "error", "a property is not part of the content model",
         "Unknown properties are errors so that typos never pass silently. Check the spelling against "
         "schemas/muscle-entry.schema.json; your editor shows the allowed names if the entry names the schema in `$schema`."),
    Rule("TP103", "error", "a value has the wrong type",
         "Texts are strings, lists are JSON arrays, sections such as `referral_pattern` are objects, "
         "CSL dates hold whole numbers."),
    Rule("TP104", "error", "a value is not in its vocabulary",
         "`status`: draft, review, published. `region`: head-neck, shoulder-arm, forearm-hand, trunk, hip-pelvis, "
         "thigh-knee, leg-foot. Body regions, segments (C1–C8, T1–T12, L1–L5, S1–S5, Co1, CN I–CN XII, CN V1–CN V3), "
         "corrective action categories (also `applies_to` of a precaution), precaution kinds (red-flag, caution) "
         "and citation types are listed in the content model and the schema."),
    Rule("TP105", "error", "a text is empty, padded with white space, or holds a control character",
         "Every text is non-empty, has no leading or trailing white space and no control characters "
         "(tabs, line breaks, NUL). Each text is one paragraph."),
    Rule("TP106", "error", "a value does not have the required form",
         "Ids and citation keys are slugs (lower-case letters, digits, single hyphens, at most 64 characters); "
         "`schema_version` is \"1.1\" (\"1.0\" still reads); `language` is a BCP 47 tag in its usual case "
         "(\"en\", \"en-GB\", \"sr-Latn-RS\"); `updated` is a real date YYYY-MM-DD; URLs start with http(s)://; "
         "DOIs start with 10.; `license` is an SPDX identifier."),
    Rule("TP107", "error", "a list has too few or too many items",
         "Most sections need at least one item; a CSL date has one date of one to three numbers."),
    Rule("TP108", "error", "a value is too long or out of range",
         "Ids are at most 64 characters; CSL years are four digits, months 1–12, days 1–31; "
         "editions, volumes and issues given as numbers are at least 1."),
    Rule("TP109", "error", "a value breaks another schema constraint",
         "The value does not satisfy the JSON Schema; the message quotes the validator."),
    Rule("TP120", "error", "the typed model rejects a value the schema accepts",
         "The JSON Schema and tpkit's models disagree about this document. This is a bug in tpkit: please report it "
         "with the file."),
    Rule("TP201", "error", "the id differs from the file name",
         "An entry's `id` equals its file name without `.json`, so links between entries and export paths agree. "
         "Rename the file or change the id."),
    Rule("TP202", "error", "two entries share an id",
         "Ids are unique across the collection; exports and links would collide."),
    Rule("TP203", "error", "a citation mark names a key that `citations` does not hold",
         "Every [@key] must match the `id` of an item in the entry's `citations`. Fix the key or add the source."),
    Rule("TP204", "error", "a citation mark cannot be read",
         "Citation marks are written [@key], [@key, p. 231] or [@a; @b]; keys are slugs. Anything else in [@...] "
         "would print raw, so it is refused."),
    Rule("TP205", "error", "spinal segments are out of order or have a gap",
         "Write roots one per item, head to tail, without gaps: L4–S1 is [\"L4\", \"L5\", \"S1\"]. Cranial nerves "
         "may stand before them."),
    Rule("TP206", "error", "a referral zone region is repeated",
         "Each body region appears once among the zones; merge the notes or pick the extent that fits."),
    Rule("TP207", "error", "the referral pattern has no essential zone",
         "At least one zone is `essential`: where nearly every patient feels the referred pain."),
    Rule("TP208", "error", "the same item appears twice in one list",
         "Items of one list are distinct: indications, symptoms, actions, categories of corrective actions, "
         "associated muscles, citation ids and so on. Remove the repeat."),
    Rule("TP209", "error", "`updated` is in the future",
         "`updated` is the date of the last editorial change, so it cannot lie after today."),
    Rule("TP210", "warning", "a citation is never cited",
         "Every source in `citations` should be cited by some text with [@key]; otherwise remove it."),
    Rule("TP211", "warning", "an associated muscle has no entry in the collection yet",
         "`associated_trigger_points` may name muscles that have no entry yet; this reminds you to write one "
         "(or fix the id). The check sees only the files given to the command."),
    Rule("TP212", "warning", "a list item repeats another section almost word for word",
         "Sections should each say something new; an indication that is also a symptom, word for word, "
         "reads as padding. Reword one of them or drop it."),
    Rule("TP213", "warning", "a character cannot be drawn by the handout fonts",
         "The PDF handouts use the DejaVu fonts, which cover Latin, Greek, Cyrillic and common symbols. "
         "Characters outside them (emoji, CJK, some symbols) would print as boxes; replace them."),
    Rule("TP214", "error", "an entry names itself as an associated muscle",
         "`associated_trigger_points` lists other muscles; remove the entry's own id."),
    Rule("TP215", "warning", "a text holds a bidirectional control character",
         "The invisible characters U+202A–U+202E and U+2066–U+2069 reorder the text around them when it is shown: "
         "\"5 mg 10\" can display as \"01 gm 5\", and a reviewer reads something other than what prints. "
         "They are never needed in an entry's text; delete them (an editor that shows invisible characters helps)."),
    Rule("TP216", "error", "a content model 1.1 property in an entry that declares 1.0",
         "`language` and `precautions` came with content model 1.1. A tool that reads 1.0 entries does not know them, "
         "so an entry that uses them declares \"schema_version\": \"1.1\" (or a later 1.x). Change the version "
         "or remove the property."),
    Rule("TP217", "warning", "dry needling without a caution that applies to it",
         "An entry that recommends dry needling says what the needle risks (the pleura, a nerve or vessel on its path, "
         "bleeding): add to `precautions` an item {\"kind\": \"caution\", \"text\": ..., \"applies_to\": "
         "\"dry-needling\"} and declare \"schema_version\": \"1.1\"."),
    Rule("TP220", "error", f"a text is longer than {MAX_TEXT_LENGTH:,} characters",
         f"One text (a summary, an item, a citation's title...) holds at most {MAX_TEXT_LENGTH:,} characters, "
         "a hundred times what real entries use. Longer texts are refused because typesetting one paragraph "
         "of that length costs more than linear time in reportlab; split the text into list items or shorten it."),
]

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}

Finding = tuple[str, str, str]  # (code, message, pointer)
# The properties content model 1.1 added: an entry that declares "1.0" may not use them.
PROPERTIES_SINCE_1_1 = ("language", "precautions")
Where = tuple[str | int, ...]  # a path into the entry, e.g. ("actions", 0, "description")


def _norm(text: str) -> str:
    """What makes two list items "the same": case, spacing and final punctuation aside."""
    return " ".join(text.casefold().split()).rstrip(".;:,!")


# --- where the texts are -----------------------------------------------------------

def prose(entry: "Entry") -> Iterator[tuple[Where, str]]:
    """(where, text) of every text that may hold inline marks, in document order.

    ``where`` is the path as a tuple (``pointer_from`` makes it a JSON pointer): the rules
    walk every text of every entry but need a pointer only for the few they report."""
    yield ("name",), entry.name
    yield ("summary",), entry.summary
    yield ("area",), entry.area
    for i, text in enumerate(entry.indications):
        yield ("indications", i), text
    for i, action in enumerate(entry.actions):
        yield ("actions", i, "action"), action.action
        yield ("actions", i, "description"), action.description
    for i, text in enumerate(entry.symptoms):
        yield ("symptoms", i), text
    for i, factor in enumerate(entry.perpetuating_factors):
        yield ("perpetuating_factors", i, "factor"), factor.factor
        if factor.description:
            yield ("perpetuating_factors", i, "description"), factor.description
    for i, point in enumerate(entry.trigger_points or ()):
        yield ("trigger_points", i, "location"), point.location
    yield ("referral_pattern", "description"), entry.referral_pattern.description
    for i, zone in enumerate(entry.referral_pattern.zones):
        if zone.note:
            yield ("referral_pattern", "zones", i, "note"), zone.note
    for i, item in enumerate(entry.differential_diagnosis):
        yield ("differential_diagnosis", i, "condition"), item.condition
        yield ("differential_diagnosis", i, "distinguishing_features"), item.distinguishing_features
    for i, item in enumerate(entry.associated_trigger_points):
        yield ("associated_trigger_points", i, "note"), item.note
    for i, row in enumerate(entry.anatomy):
        yield ("anatomy", i, "muscle"), row.muscle
        yield ("anatomy", i, "origin"), row.origin
        yield ("anatomy", i, "insertion"), row.insertion
        yield ("anatomy", i, "innervation", "nerve"), row.innervation.nerve
    for i, item in enumerate(entry.examination):
        yield ("examination", i, "name"), item.name
        yield ("examination", i, "description"), item.description
    for i, precaution in enumerate(entry.precautions or ()):
        yield ("precautions", i, "text"), precaution.text
    for i, group in enumerate(entry.corrective_actions):
        for j, item in enumerate(group.items):
            yield ("corrective_actions", i, "items", j, "name"), item.name
            yield ("corrective_actions", i, "items", j, "instructions"), item.instructions
    yield ("conclusion",), entry.conclusion


def printed_strings(entry: "Entry") -> Iterator[tuple[Where, str]]:
    """Every string an export prints, as (where, text): the prose, authors and the citations' fields."""
    yield from prose(entry)
    for i, author in enumerate(entry.authors or ()):
        yield ("authors", i, "name"), author.name
        if author.role:
            yield ("authors", i, "role"), author.role
    for i, citation in enumerate(entry.citations):
        for key, value in citation.to_csl().items():
            if isinstance(value, str):
                yield ("citations", i, key), value
            elif key in ("author", "editor"):
                for j, name in enumerate(value):
                    for part, text in name.items():
                        yield ("citations", i, key, j, part), text


# Lists whose items must be distinct, and what makes two items "the same".
def _list_keys(entry: "Entry") -> Iterator[tuple[str, str, list[str]]]:
    yield "/indications", "indication", [_norm(t) for t in entry.indications]
    yield "/symptoms", "symptom", [_norm(t) for t in entry.symptoms]
    yield "/actions", "action", [_norm(a.action) for a in entry.actions]
    yield "/perpetuating_factors", "perpetuating factor", [_norm(f.factor) for f in entry.perpetuating_factors]
    yield "/trigger_points", "trigger point", [f"{_norm(p.location)}|{p.region}" for p in entry.trigger_points or ()]
    yield "/differential_diagnosis", "condition", [_norm(d.condition) for d in entry.differential_diagnosis]
    yield "/associated_trigger_points", "associated muscle", [a.muscle for a in entry.associated_trigger_points]
    yield "/anatomy", "anatomy row", [_norm(r.muscle) for r in entry.anatomy]
    yield "/examination", "examination", [_norm(e.name) for e in entry.examination]
    yield "/precautions", "precaution", [_norm(p.text) for p in entry.precautions or ()]
    yield "/corrective_actions", "category", [g.category for g in entry.corrective_actions]
    for i, group in enumerate(entry.corrective_actions):
        yield f"/corrective_actions/{i}/items", "corrective action", [_norm(item.name) for item in group.items]
    yield "/citations", "citation id", [c.id for c in entry.citations]
    yield "/authors", "author", [_norm(a.name) for a in entry.authors or ()]
    for i, row in enumerate(entry.anatomy):
        yield f"/anatomy/{i}/innervation/roots", "segment", [r for r in row.innervation.roots if spinal_order(r) is None]


_ITEM_POINTER_SUFFIX = {
    "/actions": "/action", "/perpetuating_factors": "/factor", "/differential_diagnosis": "/condition",
    "/associated_trigger_points": "/muscle", "/anatomy": "/muscle", "/examination": "/name",
    "/corrective_actions": "/category", "/citations": "/id", "/authors": "/name", "/precautions": "/text",
}


def _comparable_items(entry: "Entry") -> Iterator[tuple[str, str, str]]:
    """(section, pointer, text) of list items that near-duplicate detection compares across sections."""
    for i, text in enumerate(entry.indications):
        yield "indications", f"/indications/{i}", text
    for i, text in enumerate(entry.symptoms):
        yield "symptoms", f"/symptoms/{i}", text
    for i, action in enumerate(entry.actions):
        yield "actions", f"/actions/{i}", f"{action.action} {action.description}"
    for i, factor in enumerate(entry.perpetuating_factors):
        yield "perpetuating_factors", f"/perpetuating_factors/{i}", f"{factor.factor} {factor.description or ''}"
    for i, item in enumerate(entry.differential_diagnosis):
        yield "differential_diagnosis", f"/differential_diagnosis/{i}", f"{item.condition} {item.distinguishing_features}"
    for i, item in enumerate(entry.examination):
        yield "examination", f"/examination/{i}", f"{item.name} {item.description}"
    for i, group in enumerate(entry.corrective_actions):
        for j, item in enumerate(group.items):
            yield "corrective_actions", f"/corrective_actions/{i}/items/{j}", f"{item.name} {item.instructions}"


# --- the checks of one entry --------------------------------------------------------

def check_entry(entry: "Entry", path: Path, today: _dt.date, text: str | None = None) -> list[Finding]:
    """The rules of one entry. ``text``, the file's JSON text when known, lets the font check
    skip the walk over every printed string when the file holds no character it cannot draw."""
    findings: list[Finding] = []
    add = findings.append

    if entry.id != path.stem:
        add(("TP201", f"id \"{entry.id}\" differs from the file name \"{path.name}\"; "
                      f"rename the file to \"{entry.id}.json\" or set id to \"{path.stem}\"", "/id"))

    if entry.updated > today:
        add(("TP209", f"updated {entry.updated.isoformat()} is in the future; use the date of the last change "
                      f"(today is {today.isoformat()})", "/updated"))

    # Citation marks
    keys = {citation.id for citation in entry.citations}
    suggestions: dict[str, str] = {}  # one fuzzy search per unknown key, however often it is cited
    cited: set[str] = set()
    for where, prose_text in prose(entry):
        if "[@" not in prose_text:
            continue
        for source, refs in marks.citation_marks(prose_text):
            if refs is None:
                add(("TP204", f"citation mark {source} cannot be read; write [@key], [@key, p. 12] or [@a; @b]",
                     pointer_from(where)))
                continue
            for ref in refs:
                if ref.key in keys:
                    cited.add(ref.key)
                else:
                    if ref.key not in suggestions:
                        suggestions[ref.key] = _suggest(ref.key, keys)
                    suggestion = suggestions[ref.key]
                    add(("TP203", f"citation mark {source} names \"{ref.key}\", which is not in citations; "
                                  f"fix the key or add the source{suggestion}", pointer_from(where)))
    for i, citation in enumerate(entry.citations):
        if citation.id not in cited:
            add(("TP210", f"citation \"{citation.id}\" is never cited; cite it with [@{citation.id}] or remove it",
                 f"/citations/{i}/id"))

    # Spinal segments
    for i, row in enumerate(entry.anatomy):
        spinal = [(j, r, spinal_order(r)) for j, r in enumerate(row.innervation.roots) if spinal_order(r) is not None]
        for (_, before, a), (j, after, b) in zip(spinal, spinal[1:]):
            if b != a + 1:
                problem = "is out of order after" if b <= a else "leaves a gap after"
                add(("TP205", f"segment {after} {problem} {before}; list segments head to tail without gaps, "
                              f"e.g. [\"L4\", \"L5\", \"S1\"]", f"/anatomy/{i}/innervation/roots/{j}"))
                break

    # Zones
    seen_regions: dict[str, int] = {}
    for i, zone in enumerate(entry.referral_pattern.zones):
        if zone.region in seen_regions:
            add(("TP206", f"zone region \"{zone.region}\" is repeated (first at zone {seen_regions[zone.region] + 1}); "
                          "keep one zone per region", f"/referral_pattern/zones/{i}/region"))
        else:
            seen_regions[zone.region] = i
    if not any(zone.extent == "essential" for zone in entry.referral_pattern.zones):
        add(("TP207", "the referral pattern has no essential zone; mark where nearly every patient feels the pain "
                      "as \"essential\"", "/referral_pattern/zones"))

    # Repeated items within a list
    for list_pointer, noun, values in _list_keys(entry):
        first: dict[str, int] = {}
        for i, value in enumerate(values):
            if value in first:
                suffix = _ITEM_POINTER_SUFFIX.get(list_pointer, "")
                if list_pointer.endswith("/roots"):
                    pointer = list_pointer  # cranial nerve positions are not kept; point at the list
                else:
                    pointer = f"{list_pointer}/{i}{suffix}"
                add(("TP208", f"this {noun} repeats item {first[value] + 1} of the same list; remove one", pointer))
            else:
                first[value] = i

    for i, item in enumerate(entry.associated_trigger_points):
        if item.muscle == entry.id:
            add(("TP214", f"\"{item.muscle}\" is this entry's own id; list other muscles only",
                 f"/associated_trigger_points/{i}/muscle"))

    if entry.minor_version == 0:
        for name in PROPERTIES_SINCE_1_1:
            if getattr(entry, name) is not None:
                add(("TP216", f"{name} is a content model 1.1 property, but the entry declares schema_version "
                              f"\"{entry.schema_version}\"; set \"schema_version\": \"1.1\" or remove {name}", f"/{name}"))

    for i, group in enumerate(entry.corrective_actions):
        if group.category == "dry-needling" and not any(
                p.kind == "caution" and p.applies_to == "dry-needling" for p in entry.precautions or ()):
            add(("TP217", "dry needling is recommended but no precaution is a caution with "
                          "\"applies_to\": \"dry-needling\"; add one that says what the needle risks",
                 f"/corrective_actions/{i}/category"))

    findings.extend(_near_duplicates(entry))

    if text is None or len(text) > MAX_TEXT_LENGTH:  # no text is longer than the file it is in
        for where, printed in printed_strings(entry):
            if len(printed) > MAX_TEXT_LENGTH:
                add(("TP220", f"this text is {len(printed):,} characters long, over the {MAX_TEXT_LENGTH:,}-character "
                              "limit of one text; split it into items or shorten it", pointer_from(where)))

    # Every printed string is a piece of the text, written without escapes, and the fonts
    # draw all of printable ASCII (a JSON string cannot hold a control character unescaped).
    fonts_fine = text is not None and "\\u" not in text and drawable(text.encode().translate(None, _ASCII).decode())
    bidi_free = text is not None and not _BIDI_CONTROL.search(text) and not _ESCAPED_BIDI_CONTROL.search(text)
    if fonts_fine and bidi_free:
        return findings
    for where, printed in printed_strings(entry):
        if printed.isascii():
            continue
        controls = list(dict.fromkeys(_BIDI_CONTROL.findall(printed)))
        if controls:
            shown = ", ".join(f"U+{ord(ch):04X}" for ch in controls)
            add(("TP215", f"the text holds the invisible bidirectional control character{'s' if len(controls) > 1 else ''} "
                          f"{shown}, which can reorder what it shows; delete {'it' if len(controls) == 1 else 'them'}",
                 pointer_from(where)))
        # a bidirectional control is TP215's to report, whether or not the fonts map it
        missing = [ch for ch in undrawable(printed) if ch not in controls] if not fonts_fine else []
        if missing:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing)
            add(("TP213", f"the handout fonts cannot draw {shown}; replace {'it' if len(missing) == 1 else 'them'}",
                 pointer_from(where)))
    return findings


_CITATION_MARK = re.compile(r"\[@[^\[\]]*\]")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_ESCAPED_BIDI_CONTROL = re.compile(r"\\u20(2[a-eA-E]|6[6-9])")  # as JSON may write it
_ASCII = bytes(range(128))

# Words are compared as UTF-8 bytes: split at ASCII punctuation and white space and at the
# typographic punctuation prose uses, ASCII letters folded to lower case. A byte table does
# in one C pass what a \w regular expression and str.casefold take ten times longer to do
# on non-ASCII text, and this rule reads every word of every entry.
_WORD_BYTES = bytes(
    code if chr(code).isalnum() or code == 0x0A or code >= 0x80 else 0x20 for code in range(256)
).lower()
_TYPOGRAPHIC_PUNCTUATION = tuple(mark.encode() for mark in "\u00a0\u00b0\u00b7\u00d7\u2009\u2013\u2014\u2018"
                                 "\u2019\u201c\u201d\u2022\u2026\u2032\u2033\u2192\u2212\u2264\u2265\u202f")


def _words(line: bytes) -> set[bytes]:
    """The words of one line of ``_WORD_BYTES``-translated text."""
    if not line.isascii():
        for mark in _TYPOGRAPHIC_PUNCTUATION:
            if mark in line:
                line = line.replace(mark, b" ")
    return set(line.split())


def _near_duplicates(entry: "Entry") -> Iterator[Finding]:
    """Items of different sections whose word sets have a Dice coefficient of at least 0.8.

    Dice >= 4/5 is Jaccard >= 2/3, so such a pair shares at least ceil(2n/3) of the n words
    of either item. An item that shares that many with no other section's whole vocabulary
    has no partner there; that cheap test (a set intersection or a few per item) leaves few
    items, and only pairs that pass it both ways are compared word by word.
    """
    listed = list(_comparable_items(entry))
    joined = "\n".join(text for _, _, text in listed)
    if "[@" in joined:
        joined = _CITATION_MARK.sub(" ", joined)
    items = []
    vocabulary: dict[str, set[bytes]] = {}
    for (section, pointer, _), line in zip(listed, joined.encode().translate(_WORD_BYTES).split(b"\n")):
        words = _words(line)
        if len(words) >= 4:
            items.append((section, pointer, words))
            if section in vocabulary:
                vocabulary[section] |= words
            else:
                vocabulary[section] = set(words)
    seen: set[bytes] = set()
    in_two_sections: set[bytes] = set()
    for known in vocabulary.values():
        in_two_sections |= known & seen
        seen |= known
    reach = []
    for section, _, words in items:
        need = (2 * len(words) + 2) // 3
        shared = words & in_two_sections  # the item's words that some other section uses
        reach.append({other for other, known in vocabulary.items()
                      if other != section and len(shared & known) >= need} if len(shared) >= need else ())
    found: dict[str, str] = {}
    for index, (section, pointer, words) in enumerate(items):
        if not reach[index]:
            continue
        for other in range(index):
            other_section, other_pointer, other_words = items[other]
            if (other_section in reach[index] and section in reach[other]
                    and 5 * len(words & other_words) >= 2 * (len(words) + len(other_words))):
                # report the later item in reading order, pointing at the earlier one
                first, second = sorted((pointer, other_pointer), key=_reading_order)
                if second not in found or _reading_order(first) < _reading_order(found[second]):
                    found[second] = first
    for second in sorted(found, key=_reading_order):
        yield ("TP212", f"this item repeats {found[second]} almost word for word; reword one or remove it", second)


_SECTION_ORDER = {key: index for index, key in enumerate(
    ("indications", "actions", "symptoms", "perpetuating_factors", "differential_diagnosis", "examination",
     "corrective_actions"))}


def _reading_order(pointer: str) -> tuple:
    parts = pointer.split("/")[1:]
    return (_SECTION_ORDER.get(parts[0], 99), *(int(p) if p.isdigit() else 0 for p in parts[1:]))


def _suggest(key: str, keys: set[str]) -> str:
    import difflib

    near = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.6)
    return f" (did you mean \"{near[0]}\"?)" if near else ""
