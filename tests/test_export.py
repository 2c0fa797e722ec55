"""`tpkit export` and `tpkit build`: validation first, safe paths, atomic writes, incremental builds."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CASES, ENTRIES
from tpkit.cli import cli


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


@pytest.fixture
def collection(tmp_path) -> Path:
    folder = tmp_path / "entries"
    shutil.copytree(ENTRIES, folder)
    return folder


def test_export_docx_writes_one_file_per_entry(collection, tmp_path):
    out = tmp_path / "out"
    result = invoke("export", str(collection), "--format", "docx", "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "docx").iterdir()) == sorted(f"{p.stem}.docx" for p in collection.glob("*.json"))
    assert not [p for p in out.rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]


def test_export_refuses_invalid_entries_and_writes_nothing(collection, tmp_path):
    shutil.copy(CASES / "invalid" / "tp203-unknown-citation-key.json", collection)
    out = tmp_path / "out"
    result = invoke("export", str(collection), "--format", "docx", "--format", "pdf", "--out", str(out))
    assert result.exit_code == 1
    assert "TP203" in result.output and "nothing exported" in result.output
    assert not out.exists() or not any(out.rglob("*.*"))


def test_status_filter(collection, tmp_path):
    data = json.loads((collection / "piriformis.json").read_text(encoding="utf-8"))
    data["status"] = "review"
    (collection / "piriformis.json").write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("export", str(collection), "--status", "review", "--out", str(out), "-q").exit_code == 0
    assert [p.name for p in (out / "docx").iterdir()] == ["piriformis.docx"]


def test_out_naming_a_file_is_a_usage_error(collection, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    result = CliRunner().invoke(cli, ["export", str(collection), "--out", str(target)])
    assert result.exit_code == 2 and "is a file" in result.output
    assert target.read_text() == "keep me"


def test_out_that_cannot_be_created_is_a_usage_error(collection, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = CliRunner().invoke(cli, ["export", str(collection), "--out", str(blocker / "sub")])
    assert result.exit_code == 2


def test_unknown_csl_style_is_a_usage_error(collection, tmp_path):
    result = CliRunner().invoke(cli, ["export", str(collection), "--csl", "no-such-style", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no-such-style" in result.output


def test_export_is_deterministic(collection, tmp_path):
    for name in ("a", "b"):
        assert invoke("export", str(collection), "--format", "docx", "--format", "pdf",
                      "--out", str(tmp_path / name), "-q").exit_code == 0
    for path in (tmp_path / "a").rglob("*.*"):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_parallel_export_is_byte_identical(collection, tmp_path):
    for jobs, folder in (("1", "a"), ("2", "b")):  # with 2 jobs the handouts are typeset in workers
        result = invoke("export", str(collection), "--format", "pdf", "--book", "Hip Book", "--jobs", jobs,
                        "--out", str(tmp_path / folder), "-q")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "pdf" / "hip-book.pdf").exists()
    for path in (tmp_path / "a" / "pdf").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / "pdf" / path.name).read_bytes()


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_parallel_rebuild_after_an_edit_is_what_a_fresh_serial_build_gives(collection, tmp_path):
    """Workers and the book linked again: none of it shows."""
    def build(out: str, *extra: str) -> None:
        result = invoke("build", str(collection), "--out", str(tmp_path / out), "-q", *extra)
        assert result.exit_code == 0, result.output

    build("parallel", "--jobs", "2")
    path = collection / "gluteus-medius.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["conclusion"] += " Revised for the second printing."
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    build("parallel", "--jobs", "2")
    build("serial", "--jobs", "1")
    parallel, serial = _tree(tmp_path / "parallel"), _tree(tmp_path / "serial")
    assert sorted(parallel) == sorted(serial)
    # the manifests record the same outputs, files, sizes and digests; only the files' times differ
    manifests = [_without_times(json.loads(tree.pop(".tpkit-manifest.json"))) for tree in (parallel, serial)]
    assert manifests[0] == manifests[1]
    assert [name for name in parallel if parallel[name] != serial[name]] == []


def _without_times(manifest: dict) -> dict:
    for output in manifest["outputs"].values():
        for record in output["files"].values():
            record[1] = None
    return manifest


def test_build_is_incremental(collection, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "exports"
    first = invoke("build", str(collection), "--jobs", "1")
    assert first.exit_code == 0, first.output
    assert (out / "pdf" / "trigger-point-handouts.pdf").exists()
    assert (out / "bundle" / "datapackage.json").exists()
    assert "0 up to date" in first.output

    second = invoke("build", str(collection), "--jobs", "1")
    assert "0 built" in second.output and "0 removed" in second.output

    path = collection / "piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["conclusion"] += " Revised."
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    third = invoke("build", str(collection), "--jobs", "1")
    # the entry's DOCX and PDF, the book, and the bundle folder and zip
    assert "5 built" in third.output, third.output

    (collection / "piriformis.json").unlink()
    for entry in collection.glob("*.json"):  # drop the links to the removed entry
        data = json.loads(entry.read_text(encoding="utf-8"))
        data["associated_trigger_points"] = [a for a in data["associated_trigger_points"] if a["muscle"] != "piriformis"]
        entry.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    fourth = invoke("build", str(collection), "--jobs", "1")
    assert fourth.exit_code == 0, fourth.output
    assert not (out / "docx" / "piriformis.docx").exists()
    assert not (out / "pdf" / "piriformis.pdf").exists()
    assert "2 removed" in fourth.output

    forced = invoke("build", str(collection), "--jobs", "1", "--force")
    assert "0 up to date" in forced.output


def test_config_is_read_and_unknown_keys_are_errors(collection, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tpkit.toml").write_text('publisher = "Example Clinic"\nbundle_version = "2.0.0"\n', encoding="utf-8")
    assert invoke("export", str(collection), "--format", "bundle", "--out", "o", "-q").exit_code == 0
    assert (tmp_path / "o" / "tpkit-entries-2.0.0.zip").exists()
    (tmp_path / "tpkit.toml").write_text('publisher = "x"\n\npapr = "a4"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(collection), "--out", "o"])
    assert result.exit_code == 2
    assert "tpkit.toml:3" in result.output and 'did you mean "paper"' in result.output


def test_interrupted_export_leaves_previous_outputs(collection, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert invoke("export", str(collection), "--format", "docx", "--out", str(out), "-q").exit_code == 0
    before = {p.name: p.read_bytes() for p in (out / "docx").iterdir()}

    import tpkit.export

    calls = []

    def interrupted(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    real = tpkit.export._render_entry
    monkeypatch.setattr(tpkit.export, "_render_entry", interrupted)
    data = json.loads((collection / "piriformis.json").read_text(encoding="utf-8"))
    data["conclusion"] += " Changed."
    (collection / "piriformis.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(collection), "--format", "docx", "--out", str(out), "-q"])
    assert result.exit_code != 0
    after = {p.name: p.read_bytes() for p in (out / "docx").iterdir()}
    assert set(after) == set(before)
    assert after["piriformis.docx"] == before["piriformis.docx"]
    assert not [p for p in out.rglob("*.tmp")]


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_signal_during_export_leaves_previous_outputs_and_no_temporary_files(tmp_path, signal_name):
    import signal
    import subprocess
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from corpus import make_corpus

    entries = tmp_path / "entries"
    make_corpus(entries, 12)  # enough that the signal lands with handouts still to write
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tpkit", "export", str(entries), "--format", "pdf", "--out", str(out), "--jobs", "1"]
    subprocess.run(command + ["-q"], check=True, capture_output=True)
    before = {p.name: p.read_bytes() for p in (out / "pdf").iterdir()}
    for path in entries.glob("*.json"):  # change every entry so that every output would be rewritten
        path.write_text(path.read_text(encoding="utf-8").replace('"published"', '"review"'), encoding="utf-8")

    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    while True:  # readline, not iteration: iterating a pipe reads ahead and may wait for the end
        line = process.stderr.readline()
        if not line or line.startswith("built "):
            break
    assert line, "the export ended before writing anything"
    time.sleep(0.05)
    process.send_signal(getattr(signal, signal_name))
    process.wait(timeout=60)
    assert process.returncode == 130, "an interruption is neither success nor a content problem"
    after = {p.name: p for p in (out / "pdf").iterdir()}
    assert set(after) == set(before), "no file lost, no temporary file left behind"
    for name, path in after.items():
        data = path.read_bytes()
        assert data == before[name] or data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


def test_an_interrupt_a_library_swallowed_still_stops_every_later_write(tmp_path, monkeypatch):
    import signal

    from tpkit import write

    monkeypatch.setattr(write, "_interrupted", False)
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def render_swallowing_the_interrupt(stream):
        stream.write(b"half")
        try:
            write.interrupt(signal.SIGINT, None)
        except:  # noqa: E722 - what reportlab's bare excepts do
            pass
        stream.write(b" and the rest")

    with pytest.raises(KeyboardInterrupt):
        write.write_atomic(target, render_swallowing_the_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write.write_atomic(tmp_path / "next.bin", b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"] and target.read_bytes() == b"old"


def test_write_atomic_failure_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from tpkit.write import write_atomic

    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    from tpkit.errors import OutputError

    with pytest.raises(OutputError, match=f"cannot write {re.escape(str(target))}: No space left on device"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_interrupted_book_leaves_the_previous_book(collection, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert invoke("export", str(collection), "--format", "pdf", "--book", "Hip", "--out", str(out), "-q").exit_code == 0
    book = out / "pdf" / "hip.pdf"
    before = book.read_bytes()

    import tpkit.writers.pdf

    def interrupted(stream, *args, **kwargs):
        stream.write(b"%PDF-1.4 half a book")  # the book is streamed to its file: interrupt mid-write
        raise KeyboardInterrupt

    monkeypatch.setattr(tpkit.writers.pdf, "write_book", interrupted)
    result = CliRunner().invoke(cli, ["export", str(collection), "--format", "pdf", "--book", "Hip", "--out", str(out), "-q"])
    assert result.exit_code != 0
    assert book.read_bytes() == before
    assert not list(out.rglob("*.tmp"))


def test_a_handout_whose_bookmark_was_edited_is_rebuilt_not_copied_into_the_book(collection, tmp_path):
    import pypdf

    out = tmp_path / "out"
    command = ["build", str(collection), "--book-title", "Hip", "--jobs", "1", "--out", str(out), "-q"]
    assert invoke(*command).exit_code == 0
    handout, book = out / "pdf" / "piriformis.pdf", out / "pdf" / "hip.pdf"
    original = handout.read_bytes()
    assert b"(Introduction)" in original
    handout.write_bytes(original.replace(b"(Introduction)", b"(Introductiom)", 1))  # the same size
    _edit(collection / "gluteus-medius.json")  # so that the book is made again
    assert invoke(*command).exit_code == 0
    assert handout.read_bytes() == original
    titles = [item.title for item in _outline(pypdf.PdfReader(book).outline)]
    assert "Introductiom" not in titles and "Introduction" in titles


def _outline(items):
    for item in items:
        if isinstance(item, list):
            yield from _outline(item)
        else:
            yield item


def _edit(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["conclusion"] += " Revised."
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def test_a_handout_changed_behind_the_manifests_back_stops_the_book_with_a_way_out(collection, tmp_path):
    """Size and time kept as they were: the fast path trusts the file, the book linker does not."""
    out = tmp_path / "out"
    command = ["build", str(collection), "--book-title", "Hip", "--jobs", "1", "--out", str(out), "-q"]
    assert invoke(*command).exit_code == 0
    book = out / "pdf" / "hip.pdf"
    before = book.read_bytes()
    handout = out / "pdf" / "piriformis.pdf"
    status = handout.stat()
    resaved = b"%PDF-1.7\n" + b"re-saved by another program" * 40 + b"\n%%EOF\n"
    handout.write_bytes(resaved.ljust(status.st_size, b" "))
    os.utime(handout, ns=(status.st_atime_ns, status.st_mtime_ns))
    _edit(collection / "gluteus-medius.json")
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2
    assert f"{handout}: no classic cross-reference table" in result.output and "--force" in result.output
    assert book.read_bytes() == before and not list(out.rglob("*.tmp"))
    assert invoke(*command, "--force").exit_code == 0
    assert book.read_bytes()[:8] == before[:8] and handout.read_bytes().startswith(b"%PDF-1.4")


def test_hostile_book_title_stays_inside_out(collection, tmp_path):
    out = tmp_path / "out"
    assert invoke("export", str(collection), "--format", "pdf", "--book", "../../etc/passwd", "--out", str(out),
                  "-q").exit_code == 0
    assert (out / "pdf" / "etc-passwd.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entries", "out"]


def test_tampered_manifest_cannot_delete_outside_out(collection, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "exports"
    assert invoke("build", str(collection), "--jobs", "1", "-q").exit_code == 0
    manifest = json.loads((out / ".tpkit-manifest.json").read_text(encoding="utf-8"))
    manifest["outputs"]["docx/gone.docx"] = {"fingerprint": "x", "paths": ["../victim.txt"]}
    (out / ".tpkit-manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert invoke("build", str(collection), "--jobs", "1", "-q").exit_code == 0
    assert victim.read_text() == "keep"


def test_out_folder_without_write_permission_is_a_usage_error(collection, tmp_path, monkeypatch):
    out = tmp_path / "locked"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == out else real_access(path, mode))
    result = CliRunner().invoke(cli, ["export", str(collection), "--out", str(out)])
    assert result.exit_code == 2 and "locked" in result.output  # click or prepare_out, whichever looks first


def test_template_that_is_not_a_docx_is_a_usage_error(collection, tmp_path):
    fake = tmp_path / "house.docx"
    fake.write_text("not a zip")
    result = CliRunner().invoke(cli, ["export", str(collection), "--template", str(fake), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "not a Word .docx file" in result.output
