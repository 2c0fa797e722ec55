"""An entry as schema.org JSON-LD (``entries/<id>.jsonld``); the mapping is documented in
docs/bundle-format.md. Verification derives it again from the entry and compares bytes."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from tpkit import marks
from tpkit.models import Entry
from tpkit.vocabulary import format_segments

from .spec import BUNDLE_FORMAT, JSONLD_VOCAB, license_url


def muscle_iri(entry_id: str) -> str:
    """The JSON-LD ``@id`` of an entry's muscle: ``urn:tpkit:muscle:<id>``."""
    return f"urn:tpkit:muscle:{entry_id}"


def _unique(items: Iterable[dict]) -> list[dict]:
    seen: list[dict] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def to_jsonld(entry: Entry, names: Mapping[str, str] | None = None, *, default_license: str | None = None,
              bundle_format: str = BUNDLE_FORMAT) -> dict:
    """The entry as a schema.org ``Muscle`` in JSON-LD, with its context inline (no network needed).

    ``names`` maps entry ids to names, to name associated muscles that have an
    entry; ``default_license`` stands for an entry that names no license. Texts
    are plain (marks removed). ``origin`` is absent because schema.org's Muscle has
    no such property. ``bundle_format`` "1.0" gives the mapping of that format
    (without ``inLanguage``), to check bundles an earlier tpkit wrote.
    """
    names = names or {}
    P = marks.plain
    nerves = _unique(
        {"@type": "Nerve", "name": P(row.innervation.nerve),
         "description": f"Roots: {format_segments(row.innervation.roots)}"}
        for row in entry.anatomy
    )
    insertions = _unique({"@type": "AnatomicalStructure", "name": P(row.insertion)} for row in entry.anatomy)
    associated = []
    for item in entry.associated_trigger_points:
        node = {"@type": "Muscle", "@id": muscle_iri(item.muscle), "identifier": item.muscle}
        if item.muscle in names:
            node["name"] = P(names[item.muscle])
        node["description"] = P(item.note)
        associated.append(node)
    work: dict[str, Any] = {
        "@type": "CreativeWork",
        "name": f"{P(entry.name)}: myofascial trigger points",
        "dateModified": entry.updated.isoformat(),
        "creativeWorkStatus": entry.status,
    }
    if bundle_format != "1.0":
        # On the work, not the Muscle: schema.org defines inLanguage for creative works only.
        work["inLanguage"] = entry.document_language
    url = license_url(entry.license or default_license)
    if url:
        work["license"] = url
    return {
        "@context": {"@vocab": JSONLD_VOCAB, "license": {"@type": "@id"}},
        "@type": "Muscle",
        "@id": muscle_iri(entry.id),
        "identifier": entry.id,
        "name": P(entry.name),
        "description": P(entry.summary),
        "bodyLocation": P(entry.area),
        "muscleAction": [P(action.action) for action in entry.actions],
        "nerve": nerves,
        "insertion": insertions,
        "connectedTo": associated,
        "relatedCondition": [
            {"@type": "MedicalCondition", "name": P(d.condition), "description": P(d.distinguishing_features)}
            for d in entry.differential_diagnosis
        ],
        "relatedTherapy": [
            {"@type": "MedicalTherapy", "name": P(item.name), "description": P(item.instructions)}
            for group in entry.corrective_actions for item in group.items
        ],
        "subjectOf": work,
    }
