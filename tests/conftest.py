"""Shared test fixtures and the ``--update-goldens`` switch for reviewed golden-file changes."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = ROOT / "entries"
# How many sample entries there are: tests that count checked files follow the collection.
SAMPLE_COUNT = len(list(ENTRIES.glob("*.json")))
CASES = Path(__file__).resolve().parent / "cases"
# The day the tests pretend it is, so that "updated in the future" never depends on the clock.
TODAY = _dt.date(2026, 11, 21)


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff before committing)")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


@pytest.fixture
def golden(update_goldens):
    """``golden(path, actual)``: compare ``actual`` with the golden file at ``path``. A golden
    that is missing fails the test like one that differs; only ``--update-goldens`` writes one."""
    import difflib

    def check(path: Path, actual: str) -> None:
        if update_goldens:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        if not path.exists():
            pytest.fail(f"golden {path} is missing: run pytest --update-goldens, review the file and commit it")
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                f"golden/{path.name}", "actual", n=2))
            pytest.fail(f"{path.name} differs from its golden (pytest --update-goldens rewrites it):\n{diff[:20000]}")

    return check


@pytest.fixture(scope="session")
def sample_entries():
    from tpkit.validate import Options, validate_paths

    report = validate_paths([ENTRIES], Options(today=TODAY))
    assert not report.failed(strict=True), [i.message for i in report.issues]
    return report.entries()


@pytest.fixture(autouse=True)
def _own_result_cache(tmp_path_factory, monkeypatch):
    """Each test validates with a cache of its own: none leaks between tests or into the checkout."""
    monkeypatch.setenv("TPKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
