"""Hostile and broken input: every bad file gets a located message, exit 1 or 2, no traceback, no hang."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import CASES
from tpkit.cli import cli

BASE_TEXT = (CASES / "valid" / "minimal-entry.json").read_text(encoding="utf-8")


def check(tmp_path, name: str, content: bytes, *extra: str):
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["validate", "--format", "json", *extra, str(path)], catch_exceptions=False)
    report = json.loads(result.output)
    return result.exit_code, report["issues"]


@pytest.mark.parametrize("name, content, code", [
    ("nul-outside-string", b'{"id": "x"\x00}', "TP003"),
    ("nul-inside-string", b'{"id": "a\x00b"}', "TP003"),
    ("raw-newline-in-string", b'{"id": "a\nb"}', "TP003"),
    ("top-level-string", b'"just text"', "TP005"),
    ("top-level-number", b"42", "TP005"),
    ("top-level-null", b"null", "TP005"),
    ("only-whitespace", b"   \n\t ", "TP003"),
    ("nan", b'{"id": NaN}', "TP003"),
    ("comment", b'{"id": "x" // note\n}', "TP003"),
    ("single-quotes", b"{'id': 'x'}", "TP003"),
    ("utf16", '{"id": "x"}'.encode("utf-16"), "TP002"),
    ("latin1", '{"name": "Zoë"}'.encode("latin-1"), "TP002"),
    ("extra-data", b'{"id": "x"} {"id": "y"}', "TP003"),
])
def test_bad_files_are_located_errors(tmp_path, name, content, code):
    exit_code, issues = check(tmp_path, name, content)
    assert exit_code == 1
    assert issues[0]["code"] == code
    assert issues[0]["line"] >= 1 and issues[0]["column"] >= 1


def test_nesting_200000_deep(tmp_path):
    exit_code, issues = check(tmp_path, "deep", b"[" * 200_000 + b"]" * 200_000)
    assert exit_code == 1 and issues[0]["code"] == "TP007"


def test_deep_object_nesting_inside_an_entry(tmp_path):
    deep = BASE_TEXT.replace('"status": "published",', '"status": "published", "x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ",")
    exit_code, issues = check(tmp_path, "deep-entry", deep.encode())
    assert exit_code == 1 and issues[0]["code"] == "TP007"


def test_file_far_over_the_limit_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(2 * 1024 ** 3)  # a sparse 2 GB file: reading it would take long
    import builtins

    real_open = builtins.open
    reads = []

    def spying_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if str(file) == str(path) and "b" in mode:
            original = handle.read
            handle.read = lambda *a: reads.append(a) or original(*a)
        return handle

    monkeypatch.setattr(builtins, "open", spying_open)
    result = CliRunner().invoke(cli, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 1 and "TP006" in result.output
    assert reads == []


def test_markup_looking_text_is_valid_and_kept(tmp_path):
    data = json.loads(BASE_TEXT)
    data["id"] = "markup"
    data["conclusion"] = 'See <font color="red">this</font>, <a href="javascript:alert(1)">x</a>, &amp; ]]> too.'
    exit_code, issues = check(tmp_path, "markup", json.dumps(data).encode())
    assert [i["code"] for i in issues if i["severity"] == "error"] == []


def test_many_problems_in_one_file_all_reported(tmp_path):
    data = json.loads(BASE_TEXT)
    data["id"] = "many"
    data["status"] = "final"
    data["name"] = " padded"
    data["symptoms"] = []
    data["colour"] = "red"
    exit_code, issues = check(tmp_path, "many", json.dumps(data, indent=2).encode())
    assert sorted(i["code"] for i in issues) == ["TP102", "TP104", "TP105", "TP107"]
    lines = [i["line"] for i in issues]
    assert lines == sorted(lines), "problems come in reading order"
