"""`tpkit build` you can trust: the manifest rebuilds what changed (inputs, tpkit's code,
libraries, or the outputs on disk), one build at a time, and nothing outlives a killed build."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ENTRIES
from tpkit.cli import cli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from corpus import make_corpus  # noqa: E402


def build(collection: Path, out: Path, *extra: str) -> list[str]:
    """Build; the outputs it made, as the progress lines name them."""
    result = CliRunner().invoke(cli, ["build", str(collection), "--out", str(out), "--jobs", "1", *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return sorted(line.split(" ", 1)[1] for line in result.output.splitlines() if line.startswith("built "))


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".tpkit-")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The five samples built once (with the checkout's tpkit.toml); tests copy the result (a
    build costs seconds)."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(ENTRIES, root / "entries")
    assert build(root / "entries", root / "out") == sorted([*HANDOUTS, BOOK, "bundle/", ZIP])
    return root


@pytest.fixture
def project(built, tmp_path):
    shutil.copytree(built, tmp_path / "p", copy_function=shutil.copy2)  # times kept: the fast path holds
    return tmp_path / "p"


def _names():
    from tpkit.config import find_config, load_config
    from tpkit.export import slugify

    config = load_config(find_config())
    return f"{config.bundle_name}-{config.bundle_version}.zip", f"pdf/{slugify(config.book_title)}.pdf"


ZIP, BOOK = _names()
HANDOUTS = sorted(f"{fmt}/{path.stem}.{fmt}" for path in ENTRIES.glob("*.json") for fmt in ("docx", "pdf"))
PDFS = sorted([BOOK, *(name for name in HANDOUTS if name.startswith("pdf/"))])


def test_outputs_changed_on_disk_are_rebuilt_and_untouched_ones_are_not(project):
    out = project / "out"
    before = snapshot(out)
    with open(out / "docx" / "piriformis.docx", "ab") as stream:
        stream.write(b"appended")
    (out / ZIP).write_bytes(b"")
    assert build(project / "entries", out) == sorted(["bundle/", "docx/piriformis.docx", ZIP])
    assert snapshot(out) == before

    index = out / "bundle" / "index.json"
    index.write_text(index.read_text(encoding="utf-8").replace('"', "'", 1), encoding="utf-8")
    assert build(project / "entries", out) == ["bundle/", ZIP]
    bundle_file = next(p for p in sorted((out / "bundle").rglob("*.json")) if p.name != "index.json")
    bundle_file.unlink()
    assert build(project / "entries", out) == ["bundle/", ZIP]
    (out / "bundle" / "stray.txt").write_text("not tpkit's")
    assert build(project / "entries", out) == ["bundle/", ZIP]
    (out / "pdf" / "gluteus-minimus.pdf").unlink()
    assert build(project / "entries", out) == ["pdf/gluteus-minimus.pdf"]
    assert snapshot(out) == before

    # touched, not changed: hashed once, found equal, recorded with its new time
    os.utime(out / "pdf" / "piriformis.pdf", ns=(1, 1))
    assert build(project / "entries", out) == []
    manifest = json.loads((out / ".tpkit-manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["pdf/piriformis.pdf"]["files"]["pdf/piriformis.pdf"][1] == 1


def test_a_new_library_version_rebuilds_what_that_library_makes(project, monkeypatch):
    from tpkit import outputs

    real = outputs.metadata.version
    monkeypatch.setattr(outputs.metadata, "version", lambda name: "99.0" if name == "reportlab" else real(name))
    assert build(project / "entries", project / "out") == PDFS
    monkeypatch.setitem(outputs.LIBRARIES, "bundle", ("an-engine-added-later",))
    assert build(project / "entries", project / "out") == ["bundle/", ZIP]


def test_an_edited_csl_file_rebuilds_the_entries(project):
    from tpkit.citations import resolve_style

    style = project / "house.csl"
    shutil.copy(resolve_style("apa"), style)
    out = project / "out"
    assert build(project / "entries", out, "--csl", str(style)) == sorted([*HANDOUTS, BOOK])
    assert build(project / "entries", out, "--csl", str(style)) == []
    style.write_text(style.read_text(encoding="utf-8").replace("<info>", "<info><!-- house edit -->", 1),
                     encoding="utf-8")
    assert build(project / "entries", out, "--csl", str(style)) == sorted([*HANDOUTS, BOOK])


def test_a_changed_writer_constant_rebuilds_everything(tmp_path):
    """tpkit's code is part of what made an output: edit pdf.py (as a developer, or an upgrade
    would) and the next build makes every output again."""
    package = tmp_path / "site"
    shutil.copytree(ROOT / "tpkit", package / "tpkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", package / "schemas")
    (tmp_path / "entries").mkdir()
    shutil.copy(ENTRIES / "piriformis.json", tmp_path / "entries")
    environment = {**os.environ, "PYTHONPATH": str(package)}
    command = [sys.executable, "-m", "tpkit", "build", "entries", "--out", "out", "--jobs", "1"]

    def run() -> str:
        result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return re.search(r"\d+ built, \d+ up to date", result.stderr).group(0)

    assert run() == "5 built, 0 up to date"
    handout = (tmp_path / "out" / "pdf" / "piriformis.pdf").read_bytes()
    assert run() == "0 built, 4 up to date"  # the bundle folder and zip are one output
    writer = next(path for path in sorted((package / "tpkit" / "writers").rglob("*.py"))
                  if re.search(r"^MARGIN_X = ", path.read_text(encoding="utf-8"), re.M))  # the PDF page margin
    source = writer.read_text(encoding="utf-8")
    edited = re.sub(r"^MARGIN_X = .*$", "MARGIN_X = 3.1 * cm", source, count=1, flags=re.M)
    assert edited != source
    writer.write_text(edited, encoding="utf-8")
    assert run() == "5 built, 0 up to date"
    assert (tmp_path / "out" / "pdf" / "piriformis.pdf").read_bytes() != handout


# --- one build at a time, and nothing left behind -----------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_a_second_build_is_refused_and_a_killed_build_leaves_no_workers_and_no_leftovers(tmp_path):
    entries, small, out = tmp_path / "entries", tmp_path / "small", tmp_path / "exports"
    make_corpus(entries, 60)
    small.mkdir()
    shutil.copy(ENTRIES / "piriformis.json", small)
    command = [sys.executable, "-m", "tpkit", "build", "--out", str(out), "-q", "--no-cache"]
    first = subprocess.Popen([*command, str(entries), "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        lock = out / ".tpkit-lock"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()
                                                    and len(_children(first.pid)) >= 2):
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.05)
        workers = _children(first.pid)
        assert lock.read_text().strip() == str(first.pid) and len(workers) >= 2

        # the lock is the output folder's: another collection is refused all the same
        second = subprocess.run([*command, str(small), "--jobs", "1"], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert f"is being written by another tpkit (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "pool workers outlived their parent"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for pid in workers:  # where the test failed: leave no orphans behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    # What a killed build leaves (some of it made here, where the kill landed elsewhere) goes.
    (out / "pdf" / ".muscle-00001.pdf.abcd1234.tmp").write_bytes(b"%PDF-1.4 half")
    (out / ".bundle.new.x1y2z3ab" / "entries").mkdir(parents=True, exist_ok=True)
    (out / ".bundle.new.x1y2z3ab" / "entries" / "a.json").write_text("{}")
    (out / "pdf" / "notes.tmp").write_text("a user's file: kept")
    result = subprocess.run([*command, str(small), "--jobs", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    leftovers = [p.relative_to(out).as_posix() for p in out.rglob(".*")
                 if p.name.endswith(".tmp") or p.name.startswith(".bundle.")]
    assert leftovers == []
    assert (out / "pdf" / "notes.tmp").exists()
