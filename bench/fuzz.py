"""Long fuzzing run: tests/test_fuzz.py under the hypothesis profile "long".

    python bench/fuzz.py [--examples 500] [-k EXPRESSION] [--seed N]

Runs pytest on tests/test_fuzz.py with TPKIT_FUZZ_PROFILE=long and TPKIT_FUZZ_EXAMPLES set,
then prints, per property, how many examples passed, failed and were discarded (filtered by
assume(), or too large to draw), the time hypothesis spent generating them, and the totals.
The regression tests for bugs fuzzing found run too.
Exit status: pytest's (0 when every property held).

Budget on 2 cores: about 10 minutes at the default 500 examples per property, most of it
in the export property (DOCX, PDF, a book and the bundle for every example).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TEST = re.compile(r"^(tests/test_fuzz\.py::\S+):$")
_PHASE = re.compile(r"^\s+- during (\w+) phase \(([\d.]+) seconds\):")
_COUNTS = re.compile(r"^\s+- (\d+) passing examples?, (\d+) failing examples?, (\d+) invalid examples?")


def parse_statistics(output: str) -> dict[str, dict[str, float]]:
    """Per test: passing, failing and invalid examples and seconds, summed over hypothesis' phases."""
    stats: dict[str, dict[str, float]] = {}
    current = None
    for line in output.splitlines():
        if match := _TEST.match(line):
            current = stats.setdefault(match.group(1).split("::", 1)[1],
                                       {"passing": 0, "failing": 0, "invalid": 0, "seconds": 0.0})
        elif current is not None and (match := _PHASE.match(line)):
            current["seconds"] += float(match.group(2))
        elif current is not None and (match := _COUNTS.match(line)):
            current["passing"] += int(match.group(1))
            current["failing"] += int(match.group(2))
            current["invalid"] += int(match.group(3))
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per property (default 500)")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression to pick properties")
    parser.add_argument("--seed", default=None, help="hypothesis seed, to repeat a run")
    args = parser.parse_args()

    command = [sys.executable, "-m", "pytest", "tests/test_fuzz.py", "-q", "-p", "no:cacheprovider",
               "--hypothesis-show-statistics"]
    if args.keyword:
        command += ["-k", args.keyword]
    if args.seed:
        command += [f"--hypothesis-seed={args.seed}"]
    env = {**os.environ, "TPKIT_FUZZ_PROFILE": "long", "TPKIT_FUZZ_EXAMPLES": str(args.examples)}
    print(f"$ TPKIT_FUZZ_PROFILE=long TPKIT_FUZZ_EXAMPLES={args.examples} python {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started

    stats = parse_statistics(result.stdout)
    width = max([len(name) for name in stats] + [8])
    print(f"\n{'property':<{width}}  {'passing':>8}  {'failing':>7}  {'discarded':>9}  {'seconds':>8}")
    for name, row in stats.items():
        print(f"{name:<{width}}  {row['passing']:>8}  {row['failing']:>7}  {row['invalid']:>9}  {row['seconds']:>8.1f}")
    total = {key: sum(row[key] for row in stats.values()) for key in ("passing", "failing", "invalid")}
    print(f"{'total':<{width}}  {total['passing']:>8}  {total['failing']:>7}  {total['invalid']:>9}")
    summary = [line for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed|xfailed|error)", line)]
    print(f"\n{total['passing'] + total['failing']} examples ran in {seconds:.1f} s "
          f"({args.examples} per property, {len(stats)} properties); pytest: {summary[-1].strip('= ') if summary else '?'}")
    if result.returncode != 0:
        failures = result.stdout[result.stdout.find("= FAILURES ="):] if "= FAILURES =" in result.stdout else result.stdout
        print("\n" + failures[-20000:] + result.stderr[-5000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
