"""Export speed and memory.

    python bench/export.py [--count 1000] [--sample 100]
    python bench/export.py --only rebuild [--count 1000] [--rounds 5]

Prints, for DOCX, PDF and the bundle: ms per entry in one process (--jobs 1, on
--sample entries) and with all cores (on --count entries); all formats together
(`tpkit build` from nothing, --count entries); the re-build time after editing one
entry, with the validation cache that build keeps and without it; the book of --count entries (wall time, peak memory); and DOCX time per
document against pandoc converting equivalent Markdown, one process per document
(skipped where pandoc is absent). ``--only rebuild`` measures only the one-edit re-build
(``--rounds`` edits, each timed) and the bundle's own share of it: writing the bundle of
--count entries again after one edit, in one process.
Targets on 2 cores: all formats for 1,000 entries within 60 s; re-export after one
edit within 1 s; the 1,000-entry book under 1 GB peak memory.

    python bench/export.py --pdf-engines [--count 1000] [--sample 100]

prints only the two PDF engines side by side: ms per handout in one process, the book
of --count entries (wall time, peak memory of the largest process) as one book and as
region volumes, and the re-build after editing one entry. Targets: Typst <= reportlab
per handout; the Typst region volumes of 1,000 entries within 60 s, peak under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus  # noqa: E402

TPKIT = [sys.executable, "-m", "tpkit"]


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024


def peak_of(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and the peak RSS in MB of the largest process ``command`` ran (itself or a worker),
    measured in a process of its own so that earlier commands do not count."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); t = time.perf_counter() - t; "
             "sys.stderr.write(r.stderr[-3000:]) if r.returncode else None; "
             "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(r.returncode)")
    result = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    seconds, peak = result.stdout.split()
    return float(seconds), int(peak)


def in_process_ms(entries_dir: Path, fmt: str, engine: str = "reportlab") -> float:
    """ms per entry rendering ``fmt`` in this process, after one warm-up document."""
    from tpkit.export import Settings, _render_entry
    from tpkit.validate import validate_paths
    from tpkit.writers import RenderOptions

    entries = validate_paths([entries_dir]).entries()
    names = {e.id: e.name for e in entries}
    settings = Settings(out=Path(tempfile.mkdtemp()), formats=(fmt,), render=RenderOptions(pdf_engine=engine))
    _render_entry(entries[0], (fmt,), names, settings)
    started = time.perf_counter()
    for entry in entries:
        _render_entry(entry, (fmt,), names, settings)
    return (time.perf_counter() - started) / len(entries) * 1000


def edit(path: Path, words: str = " Edited.") -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["conclusion"] += words
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def bundle_rewrite_seconds(entries_dir: Path, rounds: int) -> float:
    """Median seconds of ``write_bundle`` over an earlier bundle of the same entries with one entry edited."""
    import statistics

    from tpkit.bundle import write_bundle
    from tpkit.validate import validate_paths

    entries = validate_paths([entries_dir]).entries()
    out = Path(tempfile.mkdtemp())
    write_bundle(entries, out, name="bench", version="1.0.0")
    times = []
    for round_ in range(rounds):
        middle = len(entries) // 2
        entries[middle] = entries[middle].model_copy(update={"conclusion": f"{entries[middle].conclusion} {round_}"})
        started = time.perf_counter()
        write_bundle(entries, out, name="bench", version="1.0.0")
        times.append(time.perf_counter() - started)
    shutil.rmtree(out)
    return statistics.median(times)


def rebuild_only(count: int, rounds: int) -> None:
    """The one-edit re-build of ``count`` entries, ``rounds`` times, and the bundle's share of it."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        os.environ["TPKIT_CACHE_DIR"] = str(root / "cache")
        all_dir, build_out = root / "entries", root / "build"
        make_corpus(all_dir, count)
        seconds, _ = timed([*TPKIT, "build", str(all_dir), "--out", str(build_out), "--jobs", str(cores), "-q"], cwd=root)
        print(f"tpkit build of {count} entries, --jobs {cores}: {seconds:.1f} s")
        edited = sorted(all_dir.glob("*.json"))[count // 2]
        times = []
        for round_ in range(rounds):
            edit(edited, f" Edited {round_}.")
            seconds, _ = timed([*TPKIT, "build", str(all_dir), "--out", str(build_out), "--jobs", str(cores), "-q"],
                               cwd=root)
            times.append(seconds)
        print(f"re-build after editing one entry, with the validation cache: "
              f"{', '.join(f'{t:.2f}' for t in times)} s (median {sorted(times)[len(times) // 2]:.2f} s)")
        rewrite = float(subprocess.run([sys.executable, __file__, "--bundle-rewrite", str(all_dir), "--rounds",
                                        str(rounds)], capture_output=True, text=True, check=True).stdout)
        print(f"bundle of {count} entries written again after one edit, one process: {rewrite:.2f} s (median)")


def markdown_of(entry_path: Path) -> str:
    data = json.loads(entry_path.read_text(encoding="utf-8"))
    lines = [f"# {data['name']}", "", "## Introduction", "", data["summary"], "", "## Indications", ""]
    lines += [f"- {item}" for item in data["indications"]]
    lines += ["", "## Muscle Action", ""] + [f"- **{a['action']}**: {a['description']}" for a in data["actions"]]
    lines += ["", "## Signs and Symptoms", ""] + [f"- {s}" for s in data["symptoms"]]
    lines += ["", "## Differential Diagnosis", ""] + [f"- **{d['condition']}**: {d['distinguishing_features']}"
                                                     for d in data["differential_diagnosis"]]
    lines += ["", "## Anatomy and Innervation", "", "| Muscle | Origin | Insertion | Innervation |", "|---|---|---|---|"]
    lines += [f"| {r['muscle']} | {r['origin']} | {r['insertion']} | {r['innervation']['nerve']} |" for r in data["anatomy"]]
    lines += ["", "## Patient Examination", ""] + [f"- **{e['name']}**: {e['description']}" for e in data["examination"]]
    lines += ["", "## Conclusion", "", data["conclusion"], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--pdf-engines", action="store_true", help="only the two PDF engines side by side")
    parser.add_argument("--in-process", nargs="+", metavar="FORMAT DIR [ENGINE]", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["rebuild"], help="measure only the one-edit re-build")
    parser.add_argument("--rounds", type=int, default=3, help="with --only rebuild: edits to time")
    parser.add_argument("--bundle-rewrite", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(in_process_ms(Path(args.in_process[1]), args.in_process[0], *args.in_process[2:]))
        return
    if args.pdf_engines:
        pdf_engines(args.count, args.sample)
        return
    if args.bundle_rewrite:
        print(bundle_rewrite_seconds(Path(args.bundle_rewrite), args.rounds))
        return
    if args.only == "rebuild":
        rebuild_only(args.count, args.rounds)
        return
    cores = os.cpu_count() or 1
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        os.environ["TPKIT_CACHE_DIR"] = str(root / "cache")  # the validation cache of this corpus, not the caller's
        sample_dir, all_dir = root / "sample", root / "entries"
        make_corpus(sample_dir, args.sample)
        make_corpus(all_dir, args.count)

        per_entry = {}
        for fmt in ("docx", "pdf"):
            # each in a fresh process: the writers cache charts, styles and citations per process
            per_entry[fmt] = float(subprocess.run(
                [sys.executable, __file__, "--in-process", fmt, str(sample_dir)], capture_output=True, text=True,
                check=True).stdout)
            rows.append((f"{fmt}: ms per entry, one process (--jobs 1, {args.sample} entries)",
                         f"{per_entry[fmt]:.1f} ms"))
        for fmt in ("docx", "pdf", "bundle"):
            seconds, _ = timed([*TPKIT, "export", str(all_dir), "--format", fmt, "--jobs", str(cores),
                                "--out", str(root / f"out-{fmt}"), "-q", "--no-cache"])
            rows.append((f"{fmt}: {args.count} entries with --jobs {cores} (whole command)",
                         f"{seconds:.1f} s = {seconds / args.count * 1000:.1f} ms per entry"))

        build_out = root / "build"
        seconds, peak = timed([*TPKIT, "build", str(all_dir), "--out", str(build_out), "--jobs", str(cores), "-q"], cwd=root)
        rows.append((f"all formats + book, {args.count} entries, tpkit build --jobs {cores}",
                     f"{seconds:.1f} s (target 60 s), peak {peak} MB"))

        edited = sorted(all_dir.glob("*.json"))[args.count // 2]
        for cache in ("with", "without"):
            edit(edited)
            seconds, _ = timed([*TPKIT, "build", str(all_dir), "--out", str(build_out), "--jobs", str(cores), "-q",
                                *(["--no-cache"] if cache == "without" else [])], cwd=root)
            rows.append((f"re-build after editing one entry, {cache} the validation cache",
                         f"{seconds:.2f} s (target 1 s)"))

        # What checking the outputs on disk costs: size and time of every file (the fast path),
        # then every file hashed again because all their times changed.
        rebuild = [*TPKIT, "build", str(all_dir), "--out", str(build_out), "--jobs", str(cores), "-q"]
        seconds, _ = timed(rebuild, cwd=root)
        rows.append(("build with nothing changed (every output's size and time checked)", f"{seconds:.2f} s"))
        for path in build_out.rglob("*"):
            os.utime(path)
        seconds, _ = timed(rebuild, cwd=root)
        files = sum(1 for path in build_out.rglob("*") if path.is_file())
        rows.append((f"the same after touching every output ({files} files hashed again)", f"{seconds:.2f} s"))

        seconds, peak = timed([*TPKIT, "export", str(all_dir), "--format", "pdf", "--book", "Benchmark Book",
                               "--status", "published", "--out", str(root / "book"), "-q", "--jobs", str(cores),
                               "--no-cache"])
        book = root / "book" / "pdf" / "benchmark-book.pdf"
        rows.append((f"export pdf + book of {args.count} entries", f"{seconds:.1f} s, peak {peak} MB (target < 1024 MB), "
                     f"book {book.stat().st_size / 1e6:.1f} MB"))

        pandoc = shutil.which("pandoc")
        if pandoc:
            md_dir = root / "md"
            md_dir.mkdir()
            paths = sorted(sample_dir.glob("*.json"))[:20]
            started = time.perf_counter()
            for path in paths:
                md = md_dir / f"{path.stem}.md"
                md.write_text(markdown_of(path), encoding="utf-8")
                subprocess.run([pandoc, str(md), "-o", str(md.with_suffix(".docx"))], check=True)
            pandoc_ms = (time.perf_counter() - started) / len(paths) * 1000
            ours = per_entry["docx"]
            rows.append(("pandoc, one process per document (Markdown -> DOCX)", f"{pandoc_ms:.1f} ms per document"))
            rows.append(("tpkit DOCX vs pandoc per document", f"{ours:.1f} ms vs {pandoc_ms:.1f} ms = "
                         f"{pandoc_ms / ours:.1f}x faster"))
        else:
            rows.append(("pandoc comparison", "skipped: pandoc not installed (apt-get install pandoc)"))

    width = max(len(label) for label, _ in rows)
    print(f"cores: {cores}")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def pdf_engines(count: int, sample: int) -> None:
    """reportlab and Typst side by side."""
    cores = os.cpu_count() or 1
    engines = ("reportlab", "typst")
    rows: dict[str, dict[str, str]] = {}

    def row(label: str, engine: str, value: str) -> None:
        rows.setdefault(label, {})[engine] = value
        print(f"{label} [{engine}]: {value}", flush=True)  # as it comes: the whole run takes minutes

    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        os.environ["TPKIT_CACHE_DIR"] = str(root / "cache")
        sample_dir, all_dir = root / "sample", root / "entries"
        make_corpus(sample_dir, sample)
        make_corpus(all_dir, count)
        for engine in engines:
            ms = float(subprocess.run([sys.executable, __file__, "--in-process", "pdf", str(sample_dir), engine],
                                      capture_output=True, text=True, check=True).stdout)
            row(f"ms per handout, one process ({sample} entries)", engine, f"{ms:.1f} ms")
        for engine in engines:
            out = root / f"book-{engine}"
            seconds, peak = peak_of([*TPKIT, "export", str(all_dir), "--format", "pdf", "--book", "Benchmark Book",
                                     "--pdf-engine", engine, "--jobs", str(cores), "--out", str(out), "-q"])
            size = (out / "pdf" / "benchmark-book.pdf").stat().st_size / 1e6
            row(f"handouts + one book of {count} entries, --jobs {cores}", engine,
                f"{seconds:.1f} s, peak {peak} MB, book {size:.0f} MB")
        for engine in engines:
            out = root / f"volumes-{engine}"
            command = [*TPKIT, "build", str(all_dir), "--book-title", "Benchmark Book", "--book-volumes", "region",
                       "--pdf-engine", engine, "--jobs", str(cores), "--out", str(out), "-q"]
            seconds, peak = peak_of(command, cwd=root)
            volumes = len(list((out / "pdf").glob("benchmark-book-*.pdf")))
            row(f"tpkit build, book as region volumes, {count} entries", engine,
                f"{seconds:.1f} s, peak {peak} MB ({volumes} volumes)")
            edited = sorted(all_dir.glob("*.json"))[count // 2]
            data = json.loads(edited.read_text(encoding="utf-8"))
            data["conclusion"] += f" Edited for {engine}."
            edited.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
            seconds, peak = peak_of(command, cwd=root)
            row("re-build after editing one entry (its volume again)", engine, f"{seconds:.2f} s, peak {peak} MB")
    width = max(len(label) for label in rows)
    print(f"cores: {cores}")
    print(f"{'':<{width}}  {'reportlab':<40}  typst")
    for label, values in rows.items():
        print(f"{label:<{width}}  {values.get('reportlab', '-'):<40}  {values.get('typst', '-')}")


if __name__ == "__main__":
    main()
