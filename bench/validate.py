"""Validation speed: tpkit validate (schema, models and rules) against check-jsonschema's schema-only pass.

    python bench/validate.py [--count 1000] [--rounds 3]

Prints whole-process wall times, their ratio and the single-file time, all without the
result cache (every file checked), then the whole collection again with the cache: unchanged,
and after editing one file. The two commands run
in alternating rounds and the ratio is taken within each round, because the speed of a shared
machine drifts by a third over minutes; the median round is reported. Where ``perf`` is
installed, the instructions each command executes (all processes) are printed too: a figure
that does not drift with the machine.

Targets: full validation at least 10x faster than check-jsonschema; one file under 250 ms.
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
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "entries"
        paths = make_corpus(folder, args.count)
        # The comparison and the targets are for checking every file: no result cache.
        ours_command = [*tpkit, "validate", "--strict", "--no-cache", str(folder)]
        single_command = [*tpkit, "validate", "--no-cache", str(ROOT / "entries" / "gluteus-minimus.json")]
        cached_command = [*tpkit, "validate", "--strict", str(folder)]
        os.environ["TPKIT_CACHE_DIR"] = str(Path(temp) / "cache")
        theirs_command = [checker, "--schemafile", str(ROOT / "schemas" / "muscle-entry.schema.json"), *map(str, paths)]
        have_checker = Path(checker).exists()
        rounds = []
        for _ in range(args.rounds):
            ours = wall(ours_command, repeat=3)
            theirs = wall(theirs_command) if have_checker else None
            rounds.append((ours, theirs))
        single = wall(single_command, repeat=5)
        wall(cached_command)  # fills the cache
        cached = wall(cached_command, repeat=3)
        edited = paths[len(paths) // 2]

        def edit() -> None:
            data = json.loads(edited.read_text(encoding="utf-8"))
            data["summary"] += " Edited."
            edited.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

        after_edit = wall(cached_command, repeat=3, before=edit)
        ours_instructions = instructions(ours_command)
        single_instructions = instructions(single_command)
        theirs_instructions = instructions(theirs_command) if have_checker else None
    ours = min(o for o, _ in rounds)
    print(f"entries:                                  {args.count}")
    print(f"tpkit validate --strict (whole process):  {ours * 1000:8.0f} ms  ({ours / args.count * 1000:.2f} ms/file, best round)")
    if have_checker:
        theirs = min(t for _, t in rounds)
        ratios = sorted(t / o for o, t in rounds)
        print(f"check-jsonschema, schema only:            {theirs * 1000:8.0f} ms  ({theirs / args.count * 1000:.2f} ms/file, best round)")
        print(f"ratio (check-jsonschema / tpkit):         {statistics.median(ratios):8.1f}x   "
              f"(median of {len(ratios)} rounds: {', '.join(f'{r:.1f}' for r in ratios)}; target >= 10x)")
    else:
        print("check-jsonschema:                         not installed (pip install check-jsonschema)")
    print(f"tpkit validate, one file (whole process): {single * 1000:8.0f} ms  (target < 250 ms)")
    print(f"with the result cache, nothing changed:   {cached * 1000:8.0f} ms  ({args.count} files)")
    print(f"with the result cache, one file edited:   {after_edit * 1000:8.0f} ms  ({args.count} files)")
    if ours_instructions and single_instructions:
        print(f"instructions, tpkit, {args.count} files:          {ours_instructions / 1e9:8.2f} G  (all processes)")
        print(f"instructions, tpkit, one file:            {single_instructions / 1e9:8.2f} G")
        if theirs_instructions:
            print(f"instructions, check-jsonschema:           {theirs_instructions / 1e9:8.2f} G  "
                  f"({theirs_instructions / ours_instructions:.1f}x tpkit's)")


if __name__ == "__main__":
    main()
