"""Settings are checked before any work, whole values are matched whole, and a failed write names its file."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ENTRIES
from tpkit.cli import cli


def project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "entries").mkdir(parents=True)
    for name in ("piriformis.json", "gluteus-medius.json", "gluteus-minimus.json"):
        shutil.copy(ENTRIES / name, tmp_path / "entries" / name)
    (tmp_path / "tpkit.toml").write_text(toml, encoding="utf-8")
    return tmp_path


def run_in(folder: Path, *args: str):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("command", [["build", "--no-cache", "--out", "out"],
                                     ["export", "--no-cache", "--format", "pdf", "--format", "docx", "--out", "out"]])
@pytest.mark.parametrize("toml, expected", [
    ("size_limit = 99999999999999999999\n", "size_limit must be a whole number of bytes from 1 to 1,073,741,824"),
    ("size_limit = 1073741825\n", "size_limit must be a whole number of bytes from 1 to 1,073,741,824"),
    ('license = "MIT; rm -rf"\n', "license 'MIT; rm -rf' is not an SPDX identifier"),
    ('license = "MIT\\n"\n', "is not an SPDX identifier"),
], ids=["size-limit-overflow", "size-limit-over-1-gib", "license-with-a-command", "license-with-a-newline"])
def test_bad_settings_stop_before_any_file_is_written(tmp_path, command, toml, expected):
    root = project(tmp_path, f'publisher = "Press"\n{toml}')
    result = run_in(root, *command)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert f"{root / 'tpkit.toml'}:2" in result.output  # the file and line
    assert "internal error" not in result.output and "OverflowError" not in result.output
    assert not (root / "out").exists()


def test_the_largest_size_limit_reads_a_small_file_without_reserving_the_limit(tmp_path):
    from tpkit.load import load_file

    path = tmp_path / "piriformis.json"
    shutil.copy(ENTRIES / "piriformis.json", path)
    loaded = load_file(path, max_bytes=1024 ** 4)  # a terabyte: a read of that many bytes would fail
    assert loaded.data["id"] == "piriformis"
    root = project(tmp_path / "p", "size_limit = 1073741824\n")
    assert run_in(root, "export", "--no-cache", "--format", "docx", "--out", "out").exit_code == 0


def test_max_bytes_out_of_range_is_a_usage_error():
    result = CliRunner().invoke(cli, ["validate", "--max-bytes", "99999999999999999999", str(ENTRIES)])
    assert result.exit_code == 2
    assert "internal error" not in result.output


@pytest.mark.parametrize("entry_id", ["abc\n", "abc\n\n", "\nabc", "abc\r", "ab c"])
def test_new_refuses_an_id_with_a_line_break(tmp_path, entry_id):
    result = CliRunner().invoke(cli, ["new", entry_id, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a valid id" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_file_it_could_not_write(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = CliRunner().invoke(cli, ["export", "--no-cache", "--format", "docx", "--out", str(out),
                                      str(ENTRIES / "piriformis.json")])
    assert result.exit_code == 2
    target = out / "docx" / "piriformis.docx"
    assert f"tpkit: error: cannot write {target}: No space left on device" in result.output
    assert not target.exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
