"""Paths an attacker or an accident puts among the entries: FIFOs, devices, deep folders, links out.

The commands run in subprocesses with a timeout where the former behaviour was to hang.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ENTRIES
from tpkit.cli import cli

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")


def tpkit(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "tpkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment)


def project(tmp_path: Path) -> Path:
    (tmp_path / "entries").mkdir(parents=True)
    for name in ("piriformis.json", "gluteus-medius.json", "gluteus-minimus.json"):
        shutil.copy(ENTRIES / name, tmp_path / "entries" / name)
    return tmp_path


def issues(output: str) -> list[dict]:
    return json.loads(output)["issues"]


@needs_fifo
def test_a_fifo_among_the_entries_is_skipped_with_tp015(tmp_path):
    root = project(tmp_path)
    os.mkfifo(root / "entries" / "x.json")
    result = tpkit("validate", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    found = [issue for issue in issues(result.stdout) if issue["code"] == "TP015"]
    assert [(issue["path"], issue["severity"]) for issue in found] == [("entries/x.json", "warning")]
    assert "named pipe" in found[0]["message"]


@needs_fifo
def test_build_with_a_fifo_among_the_entries_finishes(tmp_path):
    root = project(tmp_path)
    os.mkfifo(root / "entries" / "x.json")
    result = tpkit("build", "--no-cache", "--out", "out", cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "TP015" in result.stderr
    assert (root / "out" / "pdf" / "piriformis.pdf").is_file()


@needs_fifo
def test_a_fifo_named_on_the_command_line_is_exit_2(tmp_path):
    os.mkfifo(tmp_path / "x.json")
    result = tpkit("validate", "--no-cache", "x.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "x.json is a named pipe, not an entry file or a folder" in result.stderr
    assert "checked" not in result.stdout


def test_a_device_named_on_the_command_line_is_exit_2(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    result = CliRunner().invoke(cli, ["validate", "--no-cache", "/dev/zero"])
    assert result.exit_code == 2
    assert "character device" in result.output


@needs_fifo
def test_a_fifo_swapped_in_after_discovery_is_not_read(tmp_path):
    """The check is made on the opened file: a FIFO put where a file was is refused, not waited on."""
    from tpkit.load import LoadError, load_file

    path = tmp_path / "x.json"
    os.mkfifo(path)
    with pytest.raises(LoadError) as caught:
        load_file(path)
    assert caught.value.issue.code == "TP015"


def test_folders_nested_1100_deep_are_searched(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    # os.makedirs itself recurses once per level, so the folders are made one by one.
    current = str(folder)
    for _ in range(1_100):
        current = os.path.join(current, "d")
        os.mkdir(current)
    shutil.copy(ENTRIES / "piriformis.json", os.path.join(current, "piriformis.json"))
    try:
        result = CliRunner().invoke(cli, ["validate", "--no-cache", "--format", "json", str(folder)])
    finally:
        # pytest's own clean-up (shutil.rmtree) recurses once per level too
        os.remove(os.path.join(current, "piriformis.json"))
        while current != str(folder):
            os.rmdir(current)
            current = os.path.dirname(current)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["issues"] and all(issue["code"] == "TP211" for issue in report["issues"])


def test_a_link_out_of_the_folder_is_reported_and_not_followed(tmp_path):
    root = project(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.json").write_text('{"not": "an entry"}', encoding="utf-8")
    (root / "entries" / "secret.json").symlink_to(outside / "secret.json")
    (root / "entries" / "more").symlink_to(outside, target_is_directory=True)
    result = tpkit("validate", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    found = {issue["path"]: issue for issue in issues(result.stdout) if issue["code"] == "TP016"}
    assert set(found) == {"entries/secret.json", "entries/more"}
    assert all(issue["severity"] == "warning" for issue in found.values())
    assert "--follow-symlinks" in found["entries/more"]["message"]
    assert not any(issue["code"].startswith("TP1") for issue in issues(result.stdout))  # never read

    followed = tpkit("validate", "--no-cache", "--follow-symlinks", "--format", "json", cwd=root)
    assert followed.returncode == 1  # now read: the outside file is not an entry
    codes = {(issue["path"], issue["code"]) for issue in issues(followed.stdout)}
    # Both links lead to one file, which is checked once
    assert ("entries/more/secret.json", "TP101") in codes
    assert not any(code == "TP016" for _, code in codes)


def test_links_inside_the_folder_are_followed_without_a_warning(tmp_path):
    root = project(tmp_path)
    (root / "entries" / "sub").mkdir()
    shutil.move(root / "entries" / "piriformis.json", root / "entries" / "sub" / "piriformis.json")
    (root / "entries" / "alias").symlink_to(root / "entries" / "sub", target_is_directory=True)
    (root / "entries" / "loop").symlink_to(root / "entries", target_is_directory=True)
    result = CliRunner().invoke(cli, ["validate", "--no-cache", "--format", "json", str(root / "entries")])
    assert result.exit_code == 0, result.output
    assert not any(issue["code"] == "TP016" for issue in issues(result.output))


def test_export_and_build_take_follow_symlinks(tmp_path):
    root = project(tmp_path / "project")
    outside = tmp_path / "shared"
    outside.mkdir()
    shutil.move(root / "entries" / "gluteus-minimus.json", outside / "gluteus-minimus.json")
    (root / "entries" / "gluteus-minimus.json").symlink_to(outside / "gluteus-minimus.json")
    skipped = tpkit("export", "--no-cache", "--out", "a", cwd=root)
    assert skipped.returncode == 0 and "TP016" in skipped.stderr
    assert not (root / "a" / "docx" / "gluteus-minimus.docx").exists()
    followed = tpkit("export", "--no-cache", "--follow-symlinks", "--out", "b", cwd=root)
    assert followed.returncode == 0, followed.stderr
    assert (root / "b" / "docx" / "gluteus-minimus.docx").is_file()
