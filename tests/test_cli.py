"""The command line as editors and CI use it: exit codes, reporters, file discovery, rules, new."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CASES, ENTRIES, ROOT, SAMPLE_COUNT
from tpkit.cli import cli
from tpkit.issues import Issue
from tpkit.reporters import REPORTERS
from tpkit.validate import Report, Result

BASE = CASES / "valid" / "minimal-entry.json"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def sample_report() -> Report:
    bad = Result(Path("entries/a.json"), "entries/a.json", [
        Issue("entries/a.json", 3, 5, "TP102", "error", 'unknown property "x, y"; remove it', "/x"),
        Issue("entries/a.json", 9, 7, "TP210", "warning", 'citation "k" is never cited', "/citations/0/id"),
    ])
    good = Result(Path("entries/b.json"), "entries/b.json", [])
    return Report([bad, good])


def test_text_reporter_exact(sample_report):
    assert REPORTERS["text"](sample_report, False) == (
        'entries/a.json:3:5: error TP102 unknown property "x, y"; remove it [/x]\n'
        'entries/a.json:9:7: warning TP210 citation "k" is never cited [/citations/0/id]\n'
        "2 files checked: 1 error, 1 warning\n"
    )


def test_text_reporter_colour(sample_report):
    out = REPORTERS["text"](sample_report, True)
    assert "\x1b[1;31merror\x1b[0m" in out and "\x1b[1;33mwarning\x1b[0m" in out


def test_github_reporter_exact(sample_report):
    assert REPORTERS["github"](sample_report, False) == (
        '::error file=entries/a.json,line=3,col=5,title=TP102::unknown property "x, y"; remove it [/x]\n'
        '::warning file=entries/a.json,line=9,col=7,title=TP210::citation "k" is never cited [/citations/0/id]\n'
        "2 files checked: 1 error, 1 warning\n"
    )


def test_json_reporter_exact(sample_report):
    assert json.loads(REPORTERS["json"](sample_report, False)) == {
        "version": 1, "files": 2, "errors": 1, "warnings": 1,
        "issues": [
            {"path": "entries/a.json", "line": 3, "column": 5, "code": "TP102", "severity": "error",
             "message": 'unknown property "x, y"; remove it', "pointer": "/x"},
            {"path": "entries/a.json", "line": 9, "column": 7, "code": "TP210", "severity": "warning",
             "message": 'citation "k" is never cited', "pointer": "/citations/0/id"},
        ],
    }


def test_junit_reporter_exact(sample_report):
    assert REPORTERS["junit"](sample_report, False) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="tpkit validate" tests="2" failures="1">\n'
        '  <testsuite name="tpkit validate" tests="2" failures="1" errors="0" skipped="0">\n'
        '    <testcase classname="tpkit.validate" name="entries/a.json">\n'
        '      <failure type="error" message=\'TP102 unknown property "x, y"; remove it\'>'
        'entries/a.json:3:5: error TP102 unknown property "x, y"; remove it [/x]</failure>\n'
        '      <failure type="warning" message=\'TP210 citation "k" is never cited\'>'
        'entries/a.json:9:7: warning TP210 citation "k" is never cited [/citations/0/id]</failure>\n'
        "    </testcase>\n"
        '    <testcase classname="tpkit.validate" name="entries/b.json"/>\n'
        "  </testsuite>\n</testsuites>\n"
    )


def test_junit_is_well_formed_xml_for_real_problems():
    import xml.etree.ElementTree as ET

    result = invoke("validate", "--format", "junit", str(CASES / "invalid"))
    root = ET.fromstring(result.output)
    assert int(root.get("failures")) > 0


def test_samples_are_valid_in_strict_mode():
    result = invoke("validate", "--strict", str(ENTRIES))
    assert result.exit_code == 0, result.output
    assert result.output == f"{SAMPLE_COUNT} files checked: 0 errors, 0 warnings\n"


def test_default_path_is_entries(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert invoke("validate").output.startswith(f"{SAMPLE_COUNT} files checked")


def test_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unreadable_file_is_exit_2(tmp_path):
    if os.geteuid() == 0:
        # root reads anything; a dangling link gives the same I/O failure path
        (tmp_path / "broken.json").symlink_to(tmp_path / "missing-target.json")
    else:
        target = tmp_path / "broken.json"
        shutil.copy(BASE, target)
        target.chmod(0)
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "TP001" in result.output


def test_size_limit(tmp_path):
    shutil.copy(BASE, tmp_path / "minimal-entry.json")
    result = invoke("validate", "--max-bytes", "100", str(tmp_path))
    assert result.exit_code == 1
    assert "TP006" in result.output and "100-byte limit" in result.output


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(BASE, tmp_path / "a" / "minimal-entry.json")
    shutil.copy(BASE, tmp_path / "b" / "minimal-entry.json")
    result = invoke("validate", "--format", "json", str(tmp_path))
    codes = [issue["code"] for issue in json.loads(result.output)["issues"]]
    assert "TP202" in codes


def test_symlink_loops_end_and_non_json_files_are_ignored(tmp_path):
    shutil.copy(BASE, tmp_path / "minimal-entry.json")
    (tmp_path / "notes.txt").write_text("not an entry")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    result = invoke("validate", "--format", "json", str(tmp_path))
    assert json.loads(result.output)["files"] == 1


def test_every_problem_of_every_file_in_one_run():
    result = invoke("validate", "--format", "json", str(CASES / "invalid"))
    report = json.loads(result.output)
    assert report["files"] == len(list((CASES / "invalid").glob("*.json")))
    assert len({issue["path"] for issue in report["issues"]}) == report["files"]


def test_rules_lists_and_explains():
    from tpkit.rules import RULES

    listing = invoke("rules").output
    for code in RULES:
        assert code in listing
    explained = invoke("rules", "tp203")
    assert explained.exit_code == 0 and "TP203 (error)" in explained.output and "[@key]" in explained.output
    assert CliRunner().invoke(cli, ["rules", "TP999"]).exit_code == 2


def test_new_writes_a_valid_draft(tmp_path):
    result = invoke("new", "vastus-lateralis", "--dir", str(tmp_path))
    assert result.exit_code == 0
    data = json.loads((tmp_path / "vastus-lateralis.json").read_text(encoding="utf-8"))
    assert data["status"] == "draft" and data["name"] == "Vastus Lateralis"
    assert data["schema_version"] == "1.1" and data["language"] == "en"
    assert [p["kind"] for p in data["precautions"]] == ["red-flag", "caution"]
    from tpkit.layout import SECTIONS

    for key, _ in SECTIONS[:-1]:
        if key != "references":
            assert key in data
    check = invoke("validate", "--format", "json", str(tmp_path))
    assert json.loads(check.output)["errors"] == 0
    again = CliRunner().invoke(cli, ["new", "vastus-lateralis", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert CliRunner().invoke(cli, ["new", "Bad Id", "--dir", str(tmp_path)]).exit_code == 2


def test_python_dash_m_and_no_heavy_imports():
    code = ("import sys, runpy; sys.argv=['tpkit','validate','--strict','entries'];\n"
            "try:\n    runpy.run_module('tpkit', run_name='__main__')\nexcept SystemExit as e:\n"
            "    heavy=[m for m in ('docx','reportlab','citeproc','PIL','typst') if m in sys.modules]\n"
            "    print(e.code, heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("0 []"), out


def test_no_traceback_on_internal_error(monkeypatch):
    import tpkit.cli

    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(tpkit.cli, "validate_paths", boom)
    result = CliRunner().invoke(cli, ["validate", str(ENTRIES)])
    assert result.exit_code == 2
    assert "internal error" in result.output and "Traceback" not in result.output


def test_debug_shows_the_traceback(monkeypatch):
    import tpkit.cli

    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(tpkit.cli, "validate_paths", boom)
    monkeypatch.delenv("TPKIT_DEBUG", raising=False)
    result = CliRunner().invoke(cli, ["--debug", "validate", str(ENTRIES)])
    assert result.exit_code == 2
    assert "Traceback" in result.output and "simulated failure" in result.output
    assert "TPKIT_DEBUG" not in os.environ  # --debug holds for its own command only


@pytest.mark.parametrize("error, code", [("ConfigError", 2), ("OutputError", 2), ("RenderError", 2), ("BookError", 2)])
def test_every_tpkit_error_is_one_line_with_its_exit_code(monkeypatch, error, code):
    import tpkit.cli
    from tpkit import errors

    def fail(*args, **kwargs):
        raise getattr(errors, error)("what went wrong, and what to change")

    monkeypatch.setattr(tpkit.cli, "validate_paths", fail)
    monkeypatch.delenv("TPKIT_DEBUG", raising=False)
    result = CliRunner().invoke(cli, ["validate", str(ENTRIES)])
    assert result.exit_code == code == getattr(errors, error).exit_code
    assert result.output.strip() == "tpkit: error: what went wrong, and what to change"


def test_every_command_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    def walk(group, prefix):
        for name, command in group.commands.items():
            yield f"{prefix} {name}"
            if hasattr(command, "commands"):
                yield from walk(command, f"{prefix} {name}")
    for command in walk(cli, "tpkit"):
        assert command in readme, f"{command} is not in README.md"


def test_parallel_validation_matches_serial_and_stays_quiet(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from corpus import make_corpus

    make_corpus(tmp_path / "entries", 250)
    shutil.copy(CASES / "invalid" / "tp205-segment-gap.json", tmp_path / "entries")
    runs = [subprocess.run([sys.executable, "-m", "tpkit", "validate", "--format", "json", "--jobs", jobs,
                            str(tmp_path / "entries")], capture_output=True, text=True) for jobs in ("1", "2")]
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout
    assert runs[1].stderr == ""
    assert [i["code"] for i in json.loads(runs[1].stdout)["issues"]] == ["TP205", "TP211"]


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_chart_command_writes_by_suffix(tmp_path, suffix, magic):
    out = tmp_path / f"chart{suffix}"
    result = invoke("chart", str(ENTRIES / "gluteus-minimus.json"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_chart_command_refuses_other_suffixes_and_invalid_entries(tmp_path):
    bad_suffix = CliRunner().invoke(cli, ["chart", str(ENTRIES / "piriformis.json"), "--out", str(tmp_path / "x.gif")])
    assert bad_suffix.exit_code == 2
    invalid = CliRunner().invoke(cli, ["chart", str(CASES / "invalid" / "tp207-no-essential-zone.json"),
                                       "--out", str(tmp_path / "x.svg")])
    assert invalid.exit_code == 1 and not (tmp_path / "x.svg").exists()


def test_chart_command_forces_views_and_lists_them(tmp_path):
    out = tmp_path / "forced.svg"
    result = invoke("chart", str(ENTRIES / "piriformis.json"), "--out", str(out), "--view", "lateral",
                    "--view", "head-front")
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert ">Right side<" in svg and ">Head and neck, front<" in svg and ">Leg, back<" not in svg
    listed = CliRunner().invoke(cli, ["chart", "--list-views"])
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.output.splitlines()]
    assert {"front", "back", "lateral", "head-front", "head-lateral", "head-back", "shoulder-arm", "hand-palmar",
            "hand-dorsal", "foot-dorsal", "foot-plantar", "foot-lateral"} <= set(names)
    unknown = CliRunner().invoke(cli, ["chart", str(ENTRIES / "piriformis.json"), "--out", str(tmp_path / "u.svg"),
                                       "--view", "nape"])
    assert unknown.exit_code == 2 and "no chart view 'nape'" in unknown.output
    assert not (tmp_path / "u.svg").exists()
    missing = CliRunner().invoke(cli, ["chart", "--out", str(tmp_path / "m.svg")])
    assert missing.exit_code == 2


def test_control_characters_from_an_entry_never_reach_the_terminal(tmp_path):
    data = json.loads(BASE.read_text(encoding="utf-8"))
    data["id"] = "escape"
    data["\u001b[2J"] = 1
    (tmp_path / "escape.json").write_text(json.dumps(data), encoding="utf-8")
    for fmt in ("text", "github"):
        out = invoke("validate", "--format", fmt, str(tmp_path)).output
        assert "\x1b" not in out and "\\u001b[2J" in out
