"""Data-driven cases: every file in tests/cases/ runs through the CLI, as editors run it."""

from __future__ import annotations

import json
import tomllib

import pytest
from click.testing import CliRunner

from conftest import CASES
from tpkit.cli import cli

EXPECTED = tomllib.loads((CASES / "expected.toml").read_text(encoding="utf-8"))
VALID = sorted((CASES / "valid").glob("*.json"))
INVALID = sorted((CASES / "invalid").glob("*.json"))


def run_json(*paths: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["validate", "--format", "json", *paths], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def test_every_invalid_case_has_expectations():
    assert {path.stem for path in INVALID} == set(EXPECTED)


def test_valid_cases_pass_strict():
    result = CliRunner().invoke(cli, ["validate", "--strict", str(CASES / "valid")], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_invalid_case(case):
    # Run each case beside the valid cases so that links between entries resolve.
    code, report = run_json(str(case), str(CASES / "valid"))
    found = [[issue["code"], issue["line"]] for issue in report["issues"] if issue["path"] == str(case)]
    assert found == EXPECTED[case.stem]
    assert all(issue["path"] == str(case) for issue in report["issues"]), "valid cases must stay clean"
    expected_errors = any(code.startswith("TP") and _severity(code) == "error" for code, _ in EXPECTED[case.stem])
    assert code == (1 if expected_errors else 0)


def _severity(code: str) -> str:
    from tpkit.rules import RULES

    return RULES[code].severity


def test_warnings_fail_only_in_strict_mode():
    case = str(CASES / "invalid" / "tp210-uncited-citation.json")
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", case, str(CASES / "valid")], catch_exceptions=False).exit_code == 0
    assert runner.invoke(cli, ["validate", "--strict", case, str(CASES / "valid")], catch_exceptions=False).exit_code == 1


def test_every_rule_has_a_case():
    from tpkit.rules import RULES

    covered = {code for rows in EXPECTED.values() for code, _ in rows}
    # TP001 (unreadable), TP006 (size), TP109/TP120 (fallbacks) and TP202 (two files) are tested in test_cli.py;
    # TP015 (a FIFO) and TP016 (a link out of the folder) in test_hostile_paths.py, TP220 (a text over
    # 100,000 characters: a case file would weigh 100 KB) in test_long_text.py.
    assert set(RULES) - covered == {"TP001", "TP006", "TP109", "TP120", "TP202", "TP015", "TP016", "TP220"}
