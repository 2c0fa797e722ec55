"""The controlled vocabularies of the content model, and how they print.

Kept free of heavy imports: the validator, the layout and the chart all read it.
"""

from __future__ import annotations

STATUSES = ("draft", "review", "published")

REGIONS = ("head-neck", "shoulder-arm", "forearm-hand", "trunk", "hip-pelvis", "thigh-knee", "leg-foot")
REGION_LABELS = {
    "head-neck": "Head and Neck",
    "shoulder-arm": "Shoulder and Arm",
    "forearm-hand": "Forearm and Hand",
    "trunk": "Trunk",
    "hip-pelvis": "Hip and Pelvis",
    "thigh-knee": "Thigh and Knee",
    "leg-foot": "Leg and Foot",
}

BODY_REGIONS = (
    "vertex", "forehead", "temple", "eye", "ear", "cheek", "jaw", "occiput", "anterior-neck", "posterior-neck",
    "shoulder-top", "anterior-shoulder", "lateral-shoulder", "posterior-shoulder", "anterior-arm", "posterior-arm",
    "lateral-elbow", "medial-elbow",
    "anterior-forearm", "posterior-forearm", "palmar-wrist", "dorsal-wrist", "palm", "dorsal-hand", "thumb", "fingers",
    "chest", "upper-abdomen", "lower-abdomen", "scapular", "interscapular", "lumbar", "sacral", "gluteal", "groin",
    "lateral-hip", "anterior-thigh", "lateral-thigh", "medial-thigh", "posterior-thigh", "anterior-knee",
    "lateral-knee", "medial-knee", "posterior-knee",
    "anterior-leg", "lateral-leg", "posterior-leg", "medial-ankle", "lateral-ankle", "heel", "dorsal-foot",
    "plantar-foot", "toes",
)

CATEGORIES = ("dry-needling", "manual-therapy", "stretching", "strengthening", "posture-and-movement", "self-care")
CATEGORY_LABELS = {
    "dry-needling": "Dry Needling",
    "manual-therapy": "Manual Therapy",
    "stretching": "Stretching",
    "strengthening": "Strengthening",
    "posture-and-movement": "Posture and Movement",
    "self-care": "Self-Care",
}

SPINAL_SEGMENTS = (
    tuple(f"C{i}" for i in range(1, 9))
    + tuple(f"T{i}" for i in range(1, 13))
    + tuple(f"L{i}" for i in range(1, 6))
    + tuple(f"S{i}" for i in range(1, 6))
    + ("Co1",)
)
CRANIAL_NERVES = tuple(
    f"CN {numeral}" for numeral in "I II III IV V V1 V2 V3 VI VII VIII IX X XI XII".split()
)
SEGMENTS = SPINAL_SEGMENTS + CRANIAL_NERVES
_SPINAL_ORDER = {segment: index for index, segment in enumerate(SPINAL_SEGMENTS)}


def region_words(code: str) -> str:
    """A body-region code in words: "lateral-hip" -> "lateral hip"."""
    return code.replace("-", " ")


def format_segments(roots: list[str] | tuple[str, ...]) -> str:
    """Print roots as editors write them: ["L4", "L5", "S1"] -> "L4–S1"; ["CN XI", "C3", "C4"] -> "CN XI, C3–C4".

    Consecutive spinal segments collapse into an en-dash range (two or more, as
    the literature writes "L5–S1"); cranial nerves print one by one.
    """
    parts: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) == 1:
            parts.append(run[0])
        elif run:
            parts.append(f"{run[0]}\u2013{run[-1]}")
        run.clear()

    for root in roots:
        if root in _SPINAL_ORDER and run and _SPINAL_ORDER[root] == _SPINAL_ORDER[run[-1]] + 1:
            run.append(root)
            continue
        flush()
        if root in _SPINAL_ORDER:
            run.append(root)
        else:
            parts.append(root)
    flush()
    return ", ".join(parts)


def spinal_order(segment: str) -> int | None:
    """Position of a spinal segment from head to tail, or None for a cranial nerve."""
    return _SPINAL_ORDER.get(segment)
