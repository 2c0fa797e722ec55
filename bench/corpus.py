"""Make N realistic entries for the benchmarks: the samples, re-identified and varied."""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ["head-neck", "shoulder-arm", "forearm-hand", "trunk", "hip-pelvis", "thigh-knee", "leg-foot"]


def make_corpus(folder: Path, count: int, seed: int = 1, dangling_links: int = 0) -> list[Path]:
    """Write ``count`` valid, distinct entries into ``folder``; links point at entries of the corpus.

    With ``dangling_links``, each entry also links that many muscles that have no entry yet (a
    TP211 warning each), as a collection that is still being written does.
    """
    rng = random.Random(seed)
    samples = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "entries").glob("*.json"))]
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"muscle-{index:05d}" for index in range(count)]
    paths = []
    for index, entry_id in enumerate(ids):
        entry = json.loads(json.dumps(samples[index % len(samples)]))
        entry["id"] = entry_id
        entry["name"] = f"{entry['name']} {index}"
        entry["region"] = rng.choice(REGIONS)
        entry["summary"] = f"{entry['summary']} Variant {index}."
        others = rng.sample([i for i in ids if i != entry_id], k=min(len(entry["associated_trigger_points"]), count - 1))
        for link, other in zip(entry["associated_trigger_points"], others):
            link["muscle"] = other
        entry["associated_trigger_points"] = entry["associated_trigger_points"][: len(others)]
        template = entry["associated_trigger_points"][0]
        entry["associated_trigger_points"] += [
            {**template, "muscle": f"not-written-{index:05d}-{k}", "note": f"{template['note']} (planned entry {k + 1})"}
            for k in range(dangling_links)]
        path = folder / f"{entry_id}.json"
        path.write_text(json.dumps(entry, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
