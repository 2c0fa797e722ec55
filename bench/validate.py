"""Validation speed: tpkit validate (schema, models and rules) against check-jsonschema's schema-only pass.

    python bench/validate.py [--count 1000] [--rounds 3]

For two corpora (the samples varied, and the same with 3 warnings a file) and both schema
engines: whole-process wall times without the result cache (cold: every file checked) and
with it (warm: nothing changed), and their ratios to check-jsonschema's schema-only pass on
the same files. The commands run in alternating rounds and each ratio is taken within its
round, because the speed of a shared machine drifts by a third over minutes; the median
round is reported. Then one file, and the collection after editing one file. Where ``perf``
is installed, the instructions executed (all processes) are printed too: a figure that does
not drift with the machine.

Targets (issue 14): cold >= 5x and warm >= 20x faster than check-jsonschema on every corpus
(with jsonschema-rs); the warnings corpus within 1.2x of the samples corpus; one file < 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, make_corpus  # noqa: E402


def wall(command: list[str], repeat: int = 1, ok_codes=(0,), before=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        if result.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(command[:3])}... exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return best


def instructions(command: list[str]) -> int | None:
    """User-space instructions of a command and its children, from perf; None without perf."""
    perf = shutil.which("perf")
    if perf is None:
        return None
    result = subprocess.run([perf, "stat", "-x,", "-e", "instructions:u", *command], capture_output=True, text=True)
    for line in result.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].isdigit():
            return int(fields[0])
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tpkit = [sys.executable, "-m", "tpkit"]
    checker = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    have_checker = Path(checker).exists()
    print(f"entries: {args.count} a corpus; times are whole processes, best of 3 within a round; "
          f"ratios the median of {args.rounds} alternating rounds")
    if not have_checker:
        print("check-jsonschema: not installed (pip install check-jsonschema); no ratios")
    with tempfile.TemporaryDirectory() as temp:
        os.environ["TPKIT_CACHE_DIR"] = str(Path(temp) / "cache")
        # The samples as they are, and the same with 3 links a file to entries not written yet
        # (3 TP211 warnings a file): locating warnings must not make validation slow.
        for corpus, dangling in (("samples", 0), ("3 warnings a file", 3)):
            folder = Path(temp) / f"entries-{dangling}"
            paths = make_corpus(folder, args.count, dangling_links=dangling)
            ok = (0,) if not dangling else (1,)  # --strict fails on the warnings
            theirs_command = [checker, "--schemafile", str(ROOT / "schemas" / "muscle-entry.schema.json"), *map(str, paths)]
            for engine in ("jsonschema-rs", "jsonschema"):
                cold_command = [*tpkit, "validate", "--strict", "--no-cache", "--engine", engine, str(folder)]
                warm_command = [*tpkit, "validate", "--strict", "--engine", engine, str(folder)]
                rounds = []
                wall(warm_command, ok_codes=ok)  # fills the cache
                for _ in range(args.rounds):
                    cold = wall(cold_command, repeat=3, ok_codes=ok)
                    warm = wall(warm_command, repeat=3, ok_codes=ok)
                    theirs = wall(theirs_command) if have_checker else None
                    rounds.append((cold, warm, theirs))
                cold, warm = min(r[0] for r in rounds), min(r[1] for r in rounds)
                line = f"{corpus:18} {engine:13} cold {cold * 1000:6.0f} ms  warm {warm * 1000:6.0f} ms"
                if have_checker:
                    cold_ratio = statistics.median(t / c for c, _, t in rounds)
                    warm_ratio = statistics.median(t / w for _, w, t in rounds)
                    line += (f"  check-jsonschema {min(r[2] for r in rounds) * 1000:6.0f} ms:"
                             f" {cold_ratio:5.1f}x cold (target >= 5x), {warm_ratio:5.1f}x warm (target >= 20x)")
                print(line, flush=True)
        single = wall([*tpkit, "validate", "--no-cache", str(ROOT / "entries" / "gluteus-minimus.json")], repeat=5)
        print(f"one file, whole process, no cache: {single * 1000:.0f} ms (target < 250 ms)")
        folder = Path(temp) / "entries-0"
        paths = sorted(folder.glob("*.json"))
        edited = paths[len(paths) // 2]

        def edit() -> None:
            data = json.loads(edited.read_text(encoding="utf-8"))
            data["summary"] += " Edited."
            edited.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

        after_edit = wall([*tpkit, "validate", "--strict", str(folder)], repeat=3, before=edit)
        print(f"with the result cache, one file edited: {after_edit * 1000:.0f} ms ({args.count} files)")
        ours_instructions = instructions([*tpkit, "validate", "--strict", "--no-cache", str(folder)])
        if ours_instructions:
            print(f"instructions, tpkit, {args.count} files, no cache: {ours_instructions / 1e9:.2f} G (all processes)")


if __name__ == "__main__":
    main()
