"""``tpkit new``: a fresh entry with every section present and obvious placeholder text."""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

from tpkit.models import SLUG_PATTERN
from tpkit.errors import UsageError
from tpkit.write import write_atomic

FILL = "FILL IN:"


def new_entry(entry_id: str, name: str | None = None, today: _dt.date | None = None) -> dict:
    name = name or entry_id.replace("-", " ").title()
    today = today or _dt.date.today()
    return {
        "$schema": "../schemas/muscle-entry.schema.json",
        "id": entry_id,
        "schema_version": "1.1",
        "language": "en",
        "name": name,
        "status": "draft",
        "updated": today.isoformat(),
        "region": "trunk",
        "authors": [{"name": f"{FILL} your name", "role": "author"}],
        "license": "CC-BY-4.0",
        "summary": f"{FILL} what {name} does and why its trigger points matter [@source-key].",
        "area": f"{FILL} where {name} lies, from origin to insertion.",
        "indications": [f"{FILL} a complaint to which its trigger points may contribute."],
        "actions": [{"action": f"{FILL} an action", "description": f"{FILL} what the action means in daily life."}],
        "symptoms": [f"{FILL} a sign or symptom patients report."],
        "perpetuating_factors": [{"factor": f"{FILL} a factor", "description": f"{FILL} how it keeps the trigger points active."}],
        "trigger_points": [{"location": f"{FILL} where the trigger points lie.", "region": "lumbar"}],
        "referral_pattern": {
            "description": f"{FILL} where the pain is referred, in words.",
            "zones": [
                {"region": "lumbar", "extent": "essential", "note": f"{FILL} replace with the real zone."},
                {"region": "gluteal", "extent": "spillover"},
            ],
        },
        "differential_diagnosis": [{"condition": f"{FILL} a condition", "distinguishing_features": f"{FILL} how to tell it apart."}],
        "associated_trigger_points": [{"muscle": "other-muscle-id", "note": f"{FILL} why their trigger points go together."}],
        "anatomy": [{
            "muscle": name,
            "origin": f"{FILL} origin",
            "insertion": f"{FILL} insertion",
            "innervation": {"nerve": f"{FILL} nerve", "roots": ["L1", "L2"]},
        }],
        "examination": [{"name": f"{FILL} a test", "description": f"{FILL} how it is done and what it shows."}],
        "precautions": [
            {"kind": "red-flag", "text": f"{FILL} a sign that needs medical assessment rather than trigger point care, "
                                         "e.g. night pain, fever, progressive weakness."},
            {"kind": "caution", "text": f"{FILL} a risk of a corrective action, or remove this item.",
             "applies_to": "self-care"},
        ],
        "corrective_actions": [{"category": "self-care", "items": [{"name": f"{FILL} an action", "instructions": f"{FILL} how to do it."}]}],
        "conclusion": f"{FILL} a closing paragraph.",
        "citations": [{
            "id": "source-key",
            "type": "book",
            "title": f"{FILL} title of the source",
            "issued": {"date-parts": [[today.year]]},
            "author": [{"family": f"{FILL} family name", "given": f"{FILL} given name"}],
            "publisher": f"{FILL} publisher",
        }],
    }


def write_new_entry(folder: Path, entry_id: str, name: str | None = None) -> Path:
    if not re.fullmatch(SLUG_PATTERN, entry_id) or len(entry_id) > 64:
        raise UsageError(f"{json.dumps(entry_id)} is not a valid id: use lower-case letters, digits and single hyphens")
    path = folder / f"{entry_id}.json"
    if path.exists():
        raise UsageError(f"{path} already exists; edit it or choose another id")
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(new_entry(entry_id, name), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path
