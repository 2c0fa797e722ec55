"""Write schemas/muscle-entry.schema.json, the published JSON Schema of an entry.

    python tools/make_schema.py

The JSON file is the contract that editors' IDEs, integrators and tpkit read; this
script is how it is authored, so that the text and slug rules, vocabularies and
titles are written once. Edit here, regenerate, review the diff of the JSON, and
keep tpkit/models.py in step (tests/test_schema.py checks that the two agree).
"""
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "schemas" / "muscle-entry.schema.json"
import json
CTRL = "\\u0000-\\u001f\\u007f-\\u009f"
TEXT_PATTERN = f"^[^\\s{CTRL}](?:[^{CTRL}]*[^\\s{CTRL}])?$"
SLUG = "^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
REGIONS = """vertex forehead temple eye ear cheek jaw occiput anterior-neck posterior-neck
shoulder-top anterior-shoulder lateral-shoulder posterior-shoulder anterior-arm posterior-arm lateral-elbow medial-elbow
anterior-forearm posterior-forearm palmar-wrist dorsal-wrist palm dorsal-hand thumb fingers
chest upper-abdomen lower-abdomen scapular interscapular lumbar sacral gluteal groin
lateral-hip anterior-thigh lateral-thigh medial-thigh posterior-thigh anterior-knee lateral-knee medial-knee posterior-knee
anterior-leg lateral-leg posterior-leg medial-ankle lateral-ankle heel dorsal-foot plantar-foot toes""".split()
CATEGORIES = ["dry-needling", "manual-therapy", "stretching", "strengthening", "posture-and-movement", "self-care"]
# BCP 47 (RFC 5646) well-formed language tags in their conventional case: language (2-3 letters,
# optional extended subtags), script (Titlecase), region (upper case or 3 digits), variants,
# extensions and private use. Grandfathered tags (i-klingon...) and bare private use are refused;
# the case is fixed so that one language has one spelling across a collection and its exports.
LANGUAGE_TAG = ("^[a-z]{2,3}(-[a-z]{3}){0,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?"
                "(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(-[a-wyz0-9](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?$")
SEGMENTS = ([f"C{i}" for i in range(1, 9)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]
            + [f"S{i}" for i in range(1, 6)] + ["Co1"]
            + [f"CN {r}" for r in "I II III IV V V1 V2 V3 VI VII VIII IX X XI XII".split()])

def text(title, desc):
    return {"title": title, "description": desc, "$ref": "#/$defs/text"}
def textlist(title, desc, item_title, item_desc):
    return {"title": title, "description": desc, "type": "array", "minItems": 1,
            "items": text(item_title, item_desc)}
def obj(title, desc, props, required):
    return {"title": title, "description": desc, "type": "object", "additionalProperties": False,
            "required": required, "properties": props}
def objlist(title, desc, item):
    return {"title": title, "description": desc, "type": "array", "minItems": 1, "items": item}

date_parts = {"title": "CSL date", "description": "A CSL date: { \"date-parts\": [[year, month?, day?]] }.",
    "type": "object", "additionalProperties": False, "required": ["date-parts"],
    "properties": {"date-parts": {"title": "Date parts", "description": "One date as [year], [year, month] or [year, month, day].",
        "type": "array", "minItems": 1, "maxItems": 1,
        "items": {"title": "Date", "description": "Year, then optional month and day.", "type": "array", "minItems": 1, "maxItems": 3,
                  "prefixItems": [
                      {"title": "Year", "description": "Four-digit year.", "type": "integer", "minimum": 1000, "maximum": 9999},
                      {"title": "Month", "description": "Month, 1–12.", "type": "integer", "minimum": 1, "maximum": 12},
                      {"title": "Day", "description": "Day of the month, 1–31.", "type": "integer", "minimum": 1, "maximum": 31}],
                  }}}}
names = {"title": "Names", "description": "People as CSL name objects.", "type": "array", "minItems": 1,
    "items": obj("Name", "A person: family name and optional given names.",
                 {"family": text("Family name", "Surname, e.g. \"Travell\"."),
                  "given": text("Given names", "Given names or initials, e.g. \"Janet G.\".")}, ["family"])}
str_or_int = lambda t, d: {"title": t, "description": d, "anyOf": [{"$ref": "#/$defs/text"}, {"type": "integer", "minimum": 1}]}
citation = {
    "title": "Citation", "description": "A CSL-JSON item, the format of Zotero, Pandoc and citeproc (a subset).",
    "type": "object", "additionalProperties": False,
    "required": ["id", "type", "title", "issued"],
    "properties": {
        "id": {"title": "Citation key", "description": "The key that citation marks use: [@key]. A slug, unique in the entry.", "$ref": "#/$defs/slug"},
        "type": {"title": "Item type", "description": "The kind of source.", "enum": ["book", "chapter", "article-journal", "webpage", "report"]},
        "title": text("Title", "Title of the work (for a chapter, the chapter title)."),
        "issued": {**date_parts, "title": "Issued", "description": "Publication date, e.g. { \"date-parts\": [[1999]] }."},
        "author": {**names, "title": "Authors", "description": "Authors in order, as CSL names."},
        "editor": {**names, "title": "Editors", "description": "Editors in order, as CSL names."},
        "publisher": text("Publisher", "Publisher's name; required for books and chapters."),
        "publisher-place": text("Publisher place", "City of publication."),
        "container-title": text("Container title", "The book of a chapter or the journal of an article."),
        "URL": {"title": "URL", "description": "Web address; required for webpages.", "type": "string", "pattern": "^https?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$"},
        "accessed": {**date_parts, "title": "Accessed", "description": "When a webpage was read."},
        "edition": str_or_int("Edition", "Edition, e.g. 3 or \"3rd\"."),
        "page": text("Pages", "Page range, e.g. \"231–245\"."),
        "volume": str_or_int("Volume", "Volume number."),
        "issue": str_or_int("Issue", "Issue number."),
        "DOI": {"title": "DOI", "description": "Digital Object Identifier without the https://doi.org/ prefix.", "type": "string", "pattern": "^10\\.[0-9]{4,9}/[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$"},
        "ISBN": {"title": "ISBN", "description": "ISBN-10 or ISBN-13, hyphens allowed.", "type": "string", "pattern": "^(97[89][- ]?)?[0-9][0-9 -]{7,15}[0-9Xx]$"},
    },
    "anyOf": [{"required": ["author"]}, {"required": ["editor"]}],
    "allOf": [
        {"if": {"properties": {"type": {"enum": ["book", "chapter"]}}}, "then": {"required": ["publisher"]}},
        {"if": {"properties": {"type": {"enum": ["chapter", "article-journal"]}}}, "then": {"required": ["container-title"]}},
        {"if": {"properties": {"type": {"const": "webpage"}}}, "then": {"required": ["URL", "accessed"]}},
    ],
}
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://tpkit.dev/schemas/muscle-entry/1.1/muscle-entry.schema.json",
    "title": "tpkit muscle entry",
    "description": "One muscle's trigger point entry, content model version 1 (schema_version 1.x).",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "schema_version", "name", "status", "updated", "region", "summary", "area", "indications",
                 "actions", "symptoms", "perpetuating_factors", "referral_pattern", "differential_diagnosis",
                 "associated_trigger_points", "anatomy", "examination", "corrective_actions", "conclusion", "citations"],
    "properties": {
        "$schema": {"title": "Schema", "description": "Optional path or URL of this schema, so an editor's IDE can find it.", "type": "string"},
        "id": {"title": "Entry id", "description": "Slug naming the muscle, equal to the file name without .json, e.g. \"gluteus-minimus\".", "$ref": "#/$defs/slug"},
        "schema_version": {"title": "Schema version", "description": "Content model version, \"1.0\" or \"1.1\" (a later 1.x reads the same); an entry using `language` or `precautions` declares \"1.1\" or later.", "type": "string", "pattern": "^1\\.[0-9]+$"},
        "language": {"title": "Language", "description": "Content model 1.1: BCP 47 tag of the entry's text, e.g. \"en\", \"en-GB\", \"de\", \"pt-BR\" (default \"en\"); exports declare it as the document language.", "type": "string", "pattern": LANGUAGE_TAG},
        "name": text("Name", "The muscle or muscle group, e.g. \"Gluteus Minimus\"."),
        "status": {"title": "Status", "description": "Editorial status; only published entries print without a DRAFT or REVIEW mark.", "enum": ["draft", "review", "published"]},
        "updated": {"title": "Updated", "description": "Date of the last editorial change, YYYY-MM-DD; not in the future.", "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "region": {"title": "Region", "description": "Where the muscle lies; orders collections.", "enum": ["head-neck", "shoulder-arm", "forearm-hand", "trunk", "hip-pelvis", "thigh-knee", "leg-foot"]},
        "authors": {"title": "Authors", "description": "Who wrote the entry.", "type": "array",
            "items": obj("Author", "One author of the entry.", {"name": text("Name", "The author's name."), "role": text("Role", "Optional role, e.g. \"editor\".")}, ["name"])},
        "license": {"title": "License", "description": "SPDX license identifier, e.g. \"CC-BY-4.0\".", "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$"},
        "summary": text("Introduction", "What the muscle does and why its trigger points matter."),
        "area": text("Name and Area", "Where the muscle lies."),
        "indications": textlist("Indications", "Complaints to which its trigger points may contribute.", "Indication", "One complaint."),
        "actions": objlist("Muscle Action", "What the muscle does.", obj("Action", "One action of the muscle.",
            {"action": text("Action", "The action, e.g. \"Abducts the hip\"."), "description": text("Description", "What the action means in practice.")}, ["action", "description"])),
        "symptoms": textlist("Signs and Symptoms", "What patients with these trigger points report or show.", "Symptom", "One sign or symptom."),
        "perpetuating_factors": objlist("Perpetuating Factors", "What causes or keeps the trigger points active.", obj("Perpetuating factor", "One factor.",
            {"factor": text("Factor", "The factor, e.g. \"Prolonged sitting\"."), "description": text("Description", "Optional explanation.")}, ["factor"])),
        "trigger_points": {"title": "Trigger points", "description": "Where the trigger points lie; each is drawn as an X on the chart.", "type": "array",
            "items": obj("Trigger point", "One trigger point site.", {"location": text("Location", "Where the point lies, in words."),
                "region": {"title": "Body region", "description": "The body-chart region where the X is drawn.", "$ref": "#/$defs/body_region"}}, ["location", "region"])},
        "referral_pattern": obj("Trigger Point Referral Pattern", "Where the trigger points refer pain.", {
            "description": text("Description", "The referral pattern in words."),
            "zones": {"title": "Zones", "description": "Body-chart zones of referred pain; regions unique, at least one essential.", "type": "array", "minItems": 1,
                "items": obj("Zone", "One zone of referred pain.", {
                    "region": {"title": "Body region", "description": "The body-chart region of the zone.", "$ref": "#/$defs/body_region"},
                    "extent": {"title": "Extent", "description": "essential: where nearly every patient feels the pain; spillover: where some do.", "enum": ["essential", "spillover"]},
                    "note": text("Note", "Optional remark on the zone.")}, ["region", "extent"])}}, ["description", "zones"]),
        "differential_diagnosis": objlist("Differential Diagnosis", "Conditions the pain is mistaken for.", obj("Differential", "One condition.",
            {"condition": text("Condition", "The condition, e.g. \"Trochanteric bursitis\"."), "distinguishing_features": text("Distinguishing features", "How to tell it apart.")}, ["condition", "distinguishing_features"])),
        "associated_trigger_points": objlist("Associated Trigger Points", "Muscles whose trigger points often co-exist.", obj("Associated muscle", "One associated muscle.",
            {"muscle": {"title": "Muscle id", "description": "The id of another entry, whether or not it exists yet.", "$ref": "#/$defs/slug"},
             "note": text("Note", "Why they go together.")}, ["muscle", "note"])),
        "anatomy": objlist("Anatomy and Innervation", "The innervation table: one row per muscle or part.", obj("Anatomy row", "One row of the table.", {
            "muscle": text("Muscle", "The muscle or part."), "origin": text("Origin", "Where it arises."), "insertion": text("Insertion", "Where it inserts."),
            "innervation": obj("Innervation", "Nerve and root segments.", {"nerve": text("Nerve", "The nerve, e.g. \"Superior gluteal nerve\"."),
                "roots": {"title": "Roots", "description": "Spinal segments or cranial nerves, one per item, head to tail without gaps, e.g. [\"L4\", \"L5\", \"S1\"].", "type": "array", "minItems": 1,
                          "items": {"title": "Segment", "description": "A spinal segment (C1–C8, T1–T12, L1–L5, S1–S5, Co1) or cranial nerve (CN I–CN XII, CN V1–CN V3).", "$ref": "#/$defs/segment"}}}, ["nerve", "roots"])},
            ["muscle", "origin", "insertion", "innervation"])),
        "examination": objlist("Patient Examination", "How to examine for these trigger points.", obj("Examination", "One examination step.",
            {"name": text("Name", "The test, e.g. \"Palpation\"."), "description": text("Description", "How it is done and what it shows.")}, ["name", "description"])),
        "precautions": objlist("Precautions", "Content model 1.1: red flags (signs that need medical assessment rather than trigger point care) and cautions (risks of a corrective action); at least one item when present.", obj("Precaution", "One red flag or caution.", {
            "kind": {"title": "Kind", "description": "red-flag: a sign that needs medical assessment (night pain, fever, progressive weakness...); caution: a risk of a corrective action.", "enum": ["red-flag", "caution"]},
            "text": text("Text", "The sign or the risk, in one paragraph."),
            "applies_to": {"title": "Applies to", "description": "The corrective action category the precaution concerns, e.g. \"dry-needling\" for needling near the pleura.", "$ref": "#/$defs/category"}},
            ["kind", "text"])),
        "corrective_actions": objlist("Corrective Actions", "Treatment and self-care, grouped by category; each category at most once.", obj("Category of actions", "Actions of one category.", {
            "category": {"title": "Category", "description": "The kind of action.", "$ref": "#/$defs/category"},
            "items": objlist("Items", "The actions.", obj("Action item", "One action.", {"name": text("Name", "The action, e.g. \"Clamshells\"."), "instructions": text("Instructions", "How to do it.")}, ["name", "instructions"]))},
            ["category", "items"])),
        "conclusion": text("Conclusion", "Closing paragraph."),
        "citations": {"title": "Citations", "description": "Sources as CSL-JSON items; cite them in texts with [@id].", "type": "array", "minItems": 1, "items": {"$ref": "#/$defs/citation"}},
    },
    "$defs": {
        "text": {"title": "Text", "description": "Plain text with *italic*, **bold** and [@key] citation marks; non-empty, no leading or trailing white space, no control characters.",
                 "type": "string", "minLength": 1, "pattern": TEXT_PATTERN},
        "slug": {"title": "Slug", "description": "Lower-case letters, digits and single hyphens, at most 64 characters.", "type": "string", "maxLength": 64, "pattern": SLUG},
        "body_region": {"title": "Body region", "description": "A code of the body-chart vocabulary.", "enum": REGIONS},
        "category": {"title": "Category", "description": "A corrective action category.", "enum": CATEGORIES},
        "segment": {"title": "Segment", "description": "A spinal segment or cranial nerve.", "enum": SEGMENTS},
        "citation": citation,
    },
}
assert len(REGIONS) == 53, len(REGIONS)
json.dump(schema, open(OUT, "w"), indent=2, ensure_ascii=False)
open(OUT, "a").write("\n")
