"""Long texts: validation and build of 4.9 MB entries, and how the stages grow with a text's length.

    python bench/long_text.py [--skip-build]

Targets (issue 17): a 4.9 MB entry, one huge field or one with 10,000 marks, validates in under
2 s and builds in under 30 s with peak memory under 500 MB, or is refused by a documented limit.
Such entries are refused by TP220 (one text holds at most 100,000 characters). The third case is
the largest entry the limit lets through: 4.9 MB of texts, each just under the limit, with marks.

Each command runs as its own process; wall time and peak resident memory (of the process and its
workers) are printed. Then, in this process, the CPU time of each stage for one text of growing
length, with the ratio to the previous row: linear work doubles when the text doubles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZE = 4_900_000
SENTENCE = "The muscle refers pain to the *buttock* and the back of the thigh [@travell1992]. "


def base_entry() -> dict:
    return json.loads((ROOT / "entries" / "piriformis.json").read_text(encoding="utf-8"))


def write_entry(folder: Path, **fields) -> Path:
    data = base_entry()
    data.update(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "piriformis.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def cases(root: Path) -> dict[str, Path]:
    plain = ("The muscle refers pain to the buttock and the back of the thigh. " * (SIZE // 66 + 1))[:SIZE].strip()
    marked_unit = "word " * 90 + "*italic* "  # 10,000 marks over 4.9 MB
    marked = (marked_unit * 10_000)[:SIZE].strip()
    items, total, i = [], 0, 0
    while total < SIZE:
        text = (f"Item {i}: " + SENTENCE * 1200)[:99_000].strip()
        items.append(text)
        total += len(text)
        i += 1
    half = len(items) // 2
    return {
        "one plain field of 4.9 MB": write_entry(root / "plain", summary=plain),
        "one field of 4.9 MB with 10,000 marks": write_entry(root / "marks", summary=marked),
        f"{len(items)} texts of 99,000 characters with marks": write_entry(
            root / "at-limit", symptoms=items[:half], indications=items[half:]),
    }


def run(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak resident MB (the process and the workers it waited for), exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def cpu(function, *args) -> float:
    started = time.process_time()
    function(*args)
    return time.process_time() - started


def growth() -> None:
    from tpkit import marks
    from tpkit.document import Document, Paragraph, Run, Section
    from tpkit.load import load_file
    from tpkit.writers import RenderOptions, docx, pdf

    sys.path.insert(0, str(ROOT / "tests"))
    from test_pdf import meta

    print("\nCPU seconds of each stage for one text (ratio to the row above; linear doubles):")
    print(f"{'characters':>10}  {'load':>12}  {'marks.parse':>12}  {'PDF':>12}  {'DOCX':>12}")
    previous = None
    for length in (12_500, 25_000, 50_000, 100_000):
        text = (SENTENCE * (length // len(SENTENCE) + 1))[:length]
        with tempfile.TemporaryDirectory() as folder:
            path = write_entry(Path(folder), summary=text.strip())
            load = cpu(load_file, path, path.name)
        parse = cpu(marks.parse, text)
        runs = tuple(Run(s.text, italic=s.italic) for s in marks.parse(text) if isinstance(s, marks.Span))
        document = Document(meta(), (Section("summary", "Introduction", (Paragraph(runs),)),))
        row = (load, parse, cpu(pdf.render, document, RenderOptions()), cpu(docx.render, document, RenderOptions()))
        shown = [f"{v:7.3f}" + (f" {v / p:4.1f}x" if previous and p > 0 else "      ") for v, p in
                 zip(row, previous or row)]
        print(f"{length:>10,}  " + "  ".join(shown))
        previous = row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-build", action="store_true", help="Only validate the large entries.")
    args = parser.parse_args()
    tpkit = [sys.executable, "-m", "tpkit"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"{'entry':<42} {'command':<9} {'exit':>4} {'wall s':>7} {'peak MB':>8}")
        for label, path in cases(root).items():
            size = path.stat().st_size
            wall, peak, code = run([*tpkit, "validate", "--no-cache", str(path)], root)
            print(f"{label:<42} {'validate':<9} {code:>4} {wall:7.2f} {peak:8.0f}   ({size:,} bytes)")
            if not args.skip_build:
                out = root / f"out-{path.parent.name}"
                wall, peak, code = run([*tpkit, "build", "--no-cache", "-q", "--out", str(out), str(path)], root)
                print(f"{'':<42} {'build':<9} {code:>4} {wall:7.2f} {peak:8.0f}")
    growth()


if __name__ == "__main__":
    main()
