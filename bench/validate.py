"""Validation speed: tpkit validate (schema, models, rules) against check-jsonschema's schema-only pass.

    python bench/validate.py [--count 1000]

Prints whole-process wall times (best of three), their ratio and the single-file time.
Targets: full validation at least 10x faster than check-jsonschema; one file under 250 ms.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, make_corpus  # noqa: E402


def wall(command: list[str], repeat: int = 3, ok_codes=(0,)) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        if result.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(command[:3])}... exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    tpkit = [sys.executable, "-m", "tpkit"]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "entries"
        paths = make_corpus(folder, args.count)
        ours = wall([*tpkit, "validate", "--strict", str(folder)])
        single = wall([*tpkit, "validate", str(ROOT / "entries" / "gluteus-minimus.json")], repeat=5)
        checker = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
        if Path(checker).exists():
            theirs = wall([checker, "--schemafile", str(ROOT / "schemas" / "muscle-entry.schema.json"),
                           *map(str, paths)], repeat=1)
        else:
            theirs = None
    print(f"entries:                                  {args.count}")
    print(f"tpkit validate --strict (whole process):  {ours * 1000:8.0f} ms  ({ours / args.count * 1000:.2f} ms/file)")
    if theirs is not None:
        print(f"check-jsonschema, schema only:            {theirs * 1000:8.0f} ms  ({theirs / args.count * 1000:.2f} ms/file)")
        print(f"ratio (check-jsonschema / tpkit):         {theirs / ours:8.1f}x   (target >= 10x)")
    else:
        print("check-jsonschema:                         not installed (pip install check-jsonschema)")
    print(f"tpkit validate, one file (whole process): {single * 1000:8.0f} ms  (target < 250 ms)")


if __name__ == "__main__":
    main()
