"""The validation result cache: a file that has not changed is not checked again, and nothing
a user can see differs from checking it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import tpkit.validate
from conftest import CASES, ENTRIES, SAMPLE_COUNT, TODAY
from tpkit import cache
from tpkit.cli import cli
from tpkit.models import Entry
from tpkit.validate import Options, validate_paths


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def collection(tmp_path) -> Path:
    folder = tmp_path / "entries"
    shutil.copytree(ENTRIES, folder)
    return folder


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The files actually checked (not answered from the cache), in this process."""
    seen: list[str] = []
    check_file = tpkit.validate.check_file

    def counting(path, display, options):
        seen.append(Path(path).name)
        return check_file(path, display, options)

    monkeypatch.setattr(tpkit.validate, "check_file", counting)
    return seen


def test_unchanged_files_are_not_checked_again_and_report_the_same(tmp_path, checked):
    # Every invalid case and the samples: what a cached result reports must equal a fresh check.
    folder = tmp_path / "cases"
    shutil.copytree(CASES / "invalid", folder / "invalid")
    shutil.copytree(ENTRIES, folder / "entries")
    # Files that do not load (TP002-TP006) are checked every time: cheap, and there is no parsed file to key by.
    unloadable = sorted(p.name for p in (CASES / "invalid").glob("tp00[2-6]*.json"))
    invoke("validate", "--jobs", "1", str(folder))
    for fmt in ("text", "json", "github", "junit"):
        uncached = invoke("validate", "--jobs", "1", "--no-cache", "--format", fmt, str(folder))
        checked.clear()
        cached = invoke("validate", "--jobs", "1", "--format", fmt, str(folder))
        assert sorted(checked) == unloadable
        assert (cached.exit_code, cached.output) == (uncached.exit_code, uncached.output)
        assert cached.exit_code == 1 and cached.output.count("TP1") > 20


def test_an_edited_file_is_checked_again_and_only_it(collection, checked):
    assert invoke("validate", "--strict", str(collection)).exit_code == 0
    assert len(checked) == SAMPLE_COUNT
    checked.clear()
    path = collection / "piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["summary"] = "  leading spaces"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = invoke("validate", str(collection))
    assert checked == ["piriformis.json"]
    assert result.exit_code == 1 and "piriformis.json:" in result.output and "TP10" in result.output


def test_collection_rules_always_run_afresh(collection, checked):
    assert invoke("validate", "--strict", str(collection)).exit_code == 0
    checked.clear()
    (collection / "piriformis.json").unlink()
    result = invoke("validate", "--strict", str(collection))
    assert checked == []  # the others are answered from the cache...
    assert result.exit_code == 1 and 'associated muscle "piriformis" has no entry' in result.output  # ...and linked afresh
    (collection / "piriformis.json").write_bytes((ENTRIES / "piriformis.json").read_bytes())
    shutil.copy(collection / "piriformis.json", collection / "copy.json")
    result = invoke("validate", str(collection))
    assert 'id "piriformis" is also used by' in result.output and checked == ["copy.json"]


def test_results_depend_on_the_day_the_options_and_tpkit_itself(collection, checked, monkeypatch):
    folder = cache.default_folder()
    validate_paths([collection], Options(today=TODAY, cache=folder))
    validate_paths([collection], Options(today=TODAY, cache=folder))
    assert len(checked) == SAMPLE_COUNT
    for options in (Options(today=TODAY.replace(day=22), cache=folder),
                    Options(today=TODAY, max_bytes=4_000_000, cache=folder)):
        checked.clear()
        validate_paths([collection], options)
        assert len(checked) == SAMPLE_COUNT, options
    checked.clear()
    monkeypatch.setattr(cache, "_code_fingerprint", "another tpkit")
    validate_paths([collection], Options(today=TODAY, max_bytes=4_000_000, cache=folder))
    assert len(checked) == SAMPLE_COUNT


def test_cached_entries_equal_checked_ones(collection):
    options = Options(today=TODAY, cache=cache.default_folder())
    first = validate_paths([collection], options).entries()
    second = validate_paths([collection], options).entries()
    assert first == second and len(first) == SAMPLE_COUNT
    # The model reads entry files as JSON (model_validate_json) as it reads parsed data.
    for path in [*ENTRIES.glob("*.json"), *(CASES / "valid").glob("*.json")]:
        assert Entry.model_validate_json(path.read_bytes()) == Entry.model_validate(json.loads(path.read_bytes()))


def test_build_from_cached_results_writes_the_same_files(collection, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    monkeypatch.chdir(tmp_path)
    assert invoke("build", str(collection), "--out", "a", "--jobs", "1", "-q").exit_code == 0
    assert invoke("build", str(collection), "--out", "b", "--jobs", "1", "-q").exit_code == 0
    uncached = invoke("build", str(collection), "--out", "c", "--jobs", "1", "-q", "--no-cache")
    assert uncached.exit_code == 0
    # every output; not the manifest, which records when each file was written
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file() and p.name != ".tpkit-manifest.json")
    assert len(files) > 10
    for relative in files:
        assert (tmp_path / "b" / relative).read_bytes() == (tmp_path / "a" / relative).read_bytes(), relative
        assert (tmp_path / "c" / relative).read_bytes() == (tmp_path / "a" / relative).read_bytes(), relative


def test_a_broken_or_unwritable_cache_is_ignored(collection, tmp_path, monkeypatch, checked):
    folder = cache.default_folder()
    assert invoke("validate", str(collection)).exit_code == 0
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    (folder / cache.FILE_NAME).write_text("{not json", encoding="utf-8")
    checked.clear()
    assert invoke("validate", "--strict", str(collection)).exit_code == 0
    assert len(checked) == SAMPLE_COUNT
    json.loads((folder / cache.FILE_NAME).read_text(encoding="utf-8"))  # written afresh
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("TPKIT_CACHE_DIR", str(blocked / "cache"))
    result = invoke("validate", "--strict", str(collection))
    assert result.exit_code == 0 and f"{SAMPLE_COUNT} files checked" in result.output


def test_no_cache_writes_no_cache(collection):
    assert invoke("validate", "--no-cache", str(collection)).exit_code == 0
    assert not (cache.default_folder() / cache.FILE_NAME).exists()


def test_cache_lives_beside_the_project_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("TPKIT_CACHE_DIR")
    (tmp_path / "tpkit.toml").write_text("", encoding="utf-8")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert cache.default_folder() == tmp_path.resolve() / ".tpkit_cache"


def test_collection_findings_are_placed_from_the_cache_without_reading_the_file(collection, monkeypatch):
    # Links to muscles without an entry, as a collection being written has: TP211 each.
    path = collection / "piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for number, item in enumerate(data["associated_trigger_points"]):
        item["muscle"] = f"not-yet-{number}"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    first = invoke("validate", "--jobs", "1", "--format", "json", str(collection))
    placed = [(i["line"], i["column"], i["pointer"]) for i in json.loads(first.output)["issues"] if i["code"] == "TP211"]
    assert len(placed) == len(data["associated_trigger_points"]) >= 2
    text = path.read_text(encoding="utf-8").splitlines()
    for line, column, pointer in placed:
        assert text[line - 1][column - 1:].startswith('"muscle"'), (line, column, pointer)

    loads: list[str] = []
    load_file = tpkit.validate.load_file
    monkeypatch.setattr(tpkit.validate, "load_file", lambda p, *a, **k: loads.append(Path(p).name) or load_file(p, *a, **k))
    again = invoke("validate", "--jobs", "1", "--format", "json", str(collection))
    assert again.output == first.output
    assert loads == []


def test_targeted_locator_agrees_with_a_full_scan_on_every_case():
    from tpkit.load import locate_pointers, scan_positions

    for path in [*sorted(ENTRIES.glob("*.json")), *sorted((CASES / "valid").glob("*.json"))]:
        text = path.read_text(encoding="utf-8")
        everything, _ = scan_positions(text)
        assert locate_pointers(text, everything) == everything, path.name
        # a pointer that does not exist leaves out only itself
        assert locate_pointers(text, ["/anatomy/0/nope", "/no/such"]) == {
            key: everything[key] for key in ("", "/anatomy", "/anatomy/0")}
