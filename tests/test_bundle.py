"""JSON bundles: build, write, verify, load, diff; tampering; determinism; frictionless accepts them."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import socket
import zipfile
from pathlib import Path

import jsonschema
import pytest

from tpkit import bundle
from tpkit.bundle import Problem
from tpkit.bundle.canonical import dumps
from tpkit.errors import UsageError
from tpkit.schema import load_schema, schema_path
from tpkit.validate import validate_paths

ROOT = Path(__file__).resolve().parent.parent
NAME, VERSION = "tpkit-entries", "1.0.0"


@pytest.fixture(scope="module")
def entries():
    report = validate_paths([ROOT / "entries"])
    assert not report.failed()
    found = report.entries()
    assert len(found) >= 3
    return found


@pytest.fixture()
def built(entries, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    folder, archive = bundle.write_bundle(entries, tmp_path / "out", name=NAME, version=VERSION)
    return folder, archive


def by_id(entries):
    return sorted(entries, key=lambda e: e.id)


def content(entries):
    """Entries without "$schema", an editor hint that a bundle points at its own bundled schema."""
    return [e.model_copy(update={"schema_": None}) for e in by_id(entries)]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def rehash(folder: Path, path: str) -> None:
    """Make datapackage.json agree with the current bytes of one file (a consistent but edited bundle)."""
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    data = (folder / path).read_bytes()
    for resource in descriptor["resources"]:
        if resource["path"] == path:
            resource["bytes"] = len(data)
            resource["hash"] = f"sha256:{hashlib.sha256(data).hexdigest()}"
    descriptor_path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def set_schema_version(folder: Path, version: str) -> None:
    """Make a bundle claim another content model version (consistently: manifest and index)."""
    index_path = folder / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["schema_version"] = version
    index_path.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rehash(folder, "index.json")
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["tpkit"]["schema_version"] = version
    descriptor_path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def about(problems: list[Problem], file: str) -> list[str]:
    return [p.message for p in problems if p.file == file]


# -- round trip ---------------------------------------------------------------------------------------

def test_round_trip_folder_and_zip(entries, built):
    folder, archive = built
    assert folder == folder.parent / "bundle" and folder.is_dir()
    assert archive.name == f"{NAME}-{VERSION}.zip"
    assert bundle.verify(folder) == []
    assert bundle.verify(archive) == []
    loaded = bundle.load(folder)
    assert content(loaded) == content(entries)
    assert {e.schema_ for e in loaded} == {"../schemas/muscle-entry.json"}
    assert bundle.load(archive) == loaded


def test_layout_and_datapackage(entries, built):
    folder, archive = built
    ids = sorted(e.id for e in entries)
    expected = {"datapackage.json", "index.json", "schemas/muscle-entry.json", "schemas/bundle-index.json"}
    expected |= {f"entries/{i}.json" for i in ids} | {f"entries/{i}.jsonld" for i in ids}
    files = files_of(folder)
    assert set(files) == expected
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert names[0] == "datapackage.json" and names[1:] == sorted(names[1:])
        assert set(names) == expected  # files at the zip root, no top-level folder, no directory entries
        assert all(z.read(n) == files[n] for n in names)
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.external_attr >> 16 == 0o100644

    descriptor = json.loads(files["datapackage.json"])
    assert list(descriptor)[:5] == ["$schema", "name", "title", "version", "created"]
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert (descriptor["name"], descriptor["version"]) == (NAME, VERSION)
    newest = max(e.updated for e in entries)
    assert descriptor["created"] == f"{newest.isoformat()}T00:00:00Z"
    assert descriptor["licenses"] == [{"name": "CC-BY-4.0", "path": "https://spdx.org/licenses/CC-BY-4.0.html",
                                       "title": "Creative Commons Attribution 4.0 International"}]
    assert descriptor["sources"] and all(s["title"] for s in descriptor["sources"])
    assert descriptor["tpkit"] == {"version": bundle.__version__, "schema_version": bundle.content_model_version(),
                                   "bundle_format": "1.1"}
    resources = descriptor["resources"]
    assert [r["path"] for r in resources] == sorted(expected - {"datapackage.json"})
    assert len({r["name"] for r in resources}) == len(resources)
    media = {".json": ("json", "application/json"), ".jsonld": ("jsonld", "application/ld+json")}
    for r in resources:
        data = files[r["path"]]
        assert r["bytes"] == len(data)
        assert r["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert r["encoding"] == "utf-8"
        if r["path"].startswith("schemas/"):
            assert (r["format"], r["mediatype"]) == ("json", "application/schema+json")
        else:
            assert (r["format"], r["mediatype"]) == media[Path(r["path"]).suffix]


def test_canonical_form(entries, built):
    folder, _ = built
    schema = load_schema()
    order = list(schema["properties"])
    citation_order = list(schema["$defs"]["citation"]["properties"])
    for entry in entries:
        raw = (folder / "entries" / f"{entry.id}.json").read_bytes()
        assert raw == bundle.canonical_json(entry)
        assert raw.endswith(b"}\n") and not raw.endswith(b"\n\n") and b"\r" not in raw
        text = raw.decode("utf-8")
        data = json.loads(text)
        keys = list(data)
        assert keys == [k for k in order if k in keys]
        assert data["$schema"] == "../schemas/muscle-entry.json"
        for citation in data["citations"]:
            assert list(citation) == [k for k in citation_order if k in citation]
        for row in data["anatomy"]:
            assert list(row) == ["muscle", "origin", "insertion", "innervation"]
            assert list(row["innervation"]) == ["nerve", "roots"]
        assert "\\u" not in text  # UTF-8 as is: "–" and "’" are not escaped
        assert text.startswith('{\n  "$schema"')  # two-space indent
        assert all(value is not None for value in data.values())  # absent optional properties omitted


def test_canonical_json_omits_absent_optionals(entries):
    entry = entries[0].model_copy(update={"authors": None, "license": None, "trigger_points": None})
    data = json.loads(bundle.canonical_json(entry))
    assert not {"authors", "license", "trigger_points"} & set(data)


def test_bundled_schemas_are_the_ones_used(built):
    folder, _ = built
    assert (folder / "schemas/muscle-entry.json").read_bytes() == schema_path().read_bytes().replace(b"\r\n", b"\n")
    assert (folder / "schemas/bundle-index.json").read_bytes() == \
        schema_path("bundle-index.schema.json").read_bytes().replace(b"\r\n", b"\n")


# -- index and its schema ---------------------------------------------------------------------------

def _walk_objects(node, path="#"):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from _walk_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_objects(value, f"{path}/{i}")


def test_index_schema_is_strict_and_documented():
    schema = load_schema("bundle-index.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path, node in _walk_objects(schema):
        assert node.get("additionalProperties") is False, path
        for name, prop in node.get("properties", {}).items():
            assert prop.get("title") and prop.get("description"), f"{path}/properties/{name}"
    entry_schema = load_schema()
    row = schema["$defs"]["row"]["properties"]
    assert row["region"]["enum"] == entry_schema["properties"]["region"]["enum"]
    assert row["status"]["enum"] == entry_schema["properties"]["status"]["enum"]
    assert schema["$defs"]["slug"]["pattern"] == entry_schema["$defs"]["slug"]["pattern"]


def test_index_rows(entries, built):
    folder, _ = built
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_schema("bundle-index.schema.json"),
                                    format_checker=jsonschema.FormatChecker()).validate(index)
    assert (index["name"], index["version"], index["schema_version"]) == (NAME, VERSION, "1.1")
    rows = {row["id"]: row for row in index["entries"]}
    assert len(rows) == len(entries)
    for entry in entries:
        row = rows[entry.id]
        assert row == {
            "id": entry.id, "name": entry.name, "region": entry.region, "status": entry.status,
            "updated": entry.updated.isoformat(), "associated": [a.muscle for a in entry.associated_trigger_points],
            "files": {"json": f"entries/{entry.id}.json", "jsonld": f"entries/{entry.id}.jsonld"},
        }


# -- JSON-LD ----------------------------------------------------------------------------------------

def test_jsonld(entries, built):
    folder, _ = built
    names = {e.id: e.name for e in entries}
    for entry in entries:
        data = json.loads((folder / "entries" / f"{entry.id}.jsonld").read_text(encoding="utf-8"))
        assert data == bundle.to_jsonld(entry, names)
        assert isinstance(data["@context"], dict)  # inline: nothing to fetch
        assert data["@context"]["@vocab"] == "http://schema.org/"
        assert data["@type"] == "Muscle" and data["@id"] == f"urn:tpkit:muscle:{entry.id}"
        assert data["name"] == entry.name
        assert "[@" not in data["description"]  # marks removed
        assert len(data["muscleAction"]) == len(entry.actions)
        assert {n["@type"] for n in data["nerve"]} == {"Nerve"}
        assert {i["@type"] for i in data["insertion"]} == {"AnatomicalStructure"}
        assert [c["name"] for c in data["relatedCondition"]] == [d.condition for d in entry.differential_diagnosis]
        assert {c["@type"] for c in data["relatedCondition"]} == {"MedicalCondition"}
        assert [m["@id"] for m in data["connectedTo"]] == \
            [f"urn:tpkit:muscle:{a.muscle}" for a in entry.associated_trigger_points]
        assert "origin" not in data  # not a schema.org Muscle property
        assert data["subjectOf"]["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"


def test_content_model_1_1_in_the_bundle(entries):
    """Canonical entries carry language and precautions; the JSON-LD work names the language (default en)."""
    assert any(e.language for e in entries) and any(e.precautions for e in entries)
    unset = [e.model_copy(update={"language": None}) if e.id == "piriformis" else e for e in entries]
    files = bundle.build_bundle(unset, name=NAME, version=VERSION)
    schema_order = list(load_schema()["properties"])
    for entry in unset:
        data = json.loads(files[f"entries/{entry.id}.json"])
        assert list(data) == [key for key in schema_order if key in data]
        assert data.get("language") == entry.language
        assert data.get("precautions") == (None if entry.precautions is None else
                                           [p.model_dump(exclude_none=True, mode="json") for p in entry.precautions])
        work = json.loads(files[f"entries/{entry.id}.jsonld"])["subjectOf"]
        assert work["inLanguage"] == (entry.language or "en")
    assert json.loads(files["entries/piriformis.jsonld"])["subjectOf"]["inLanguage"] == "en"
    assert json.loads(files["datapackage.json"])["tpkit"]["schema_version"] == "1.1"


def test_a_bundle_of_format_1_0_still_verifies_and_loads(entries, tmp_path):
    """A bundle the previous tpkit wrote (format 1.0, content model 1.0, no inLanguage) is still good."""
    old = ROOT / "tests" / "fixtures" / "bundle-format-1.0.zip"
    assert bundle.verify(old) == []
    loaded = bundle.load(old)
    assert len(loaded) == 5 and all(e.language is None and e.precautions is None for e in loaded)
    with zipfile.ZipFile(old) as z:
        assert json.loads(z.read("datapackage.json"))["tpkit"]["bundle_format"] == "1.0"
        assert "inLanguage" not in json.loads(z.read("entries/piriformis.jsonld"))["subjectOf"]
    _, new = bundle.write_bundle(entries, tmp_path, name=NAME, version="1.1.0")
    changed = {c.id: [s.key for s in c.sections] for c in bundle.diff(old, new).changed}
    assert "language" in changed["piriformis"] and "precautions" in changed["piriformis"]


# -- tampering --------------------------------------------------------------------------------------

def test_changed_byte_in_entry(built):
    folder, _ = built
    path = folder / "entries/piriformis.json"
    raw = bytearray(path.read_bytes())
    at = raw.index(b"Piriformis")
    raw[at] = ord("Q")
    path.write_bytes(bytes(raw))
    problems = bundle.verify(folder)
    assert any("sha256" in m for m in about(problems, "entries/piriformis.json"))
    with pytest.raises(bundle.BundleError) as caught:
        bundle.load(folder)
    assert any(p.file == "entries/piriformis.json" for p in caught.value.problems)
    assert "entries/piriformis.json" in str(caught.value)


def test_missing_file(built):
    folder, _ = built
    (folder / "entries/gluteus-medius.jsonld").unlink()
    problems = bundle.verify(folder)
    assert any("missing" in m for m in about(problems, "entries/gluteus-medius.jsonld"))


def test_extra_file(built):
    folder, _ = built
    (folder / "entries/notes.txt").write_text("hello\n", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\0")
    problems = bundle.verify(folder)
    assert any("not listed" in m for m in about(problems, "entries/notes.txt"))
    assert any("not listed" in m for m in about(problems, ".DS_Store"))


def test_wrong_hash_in_datapackage(built):
    folder, _ = built
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        if resource["path"] == "index.json":
            resource["hash"] = "sha256:" + "0" * 64
    descriptor_path.write_text(json.dumps(descriptor), encoding="utf-8")
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["index.json"]
    assert "sha256" in problems[0].message


def test_wrong_size_and_malformed_hash(built):
    folder, _ = built
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["resources"][0]["bytes"] += 1
    descriptor["resources"][1]["hash"] = "md5:abc"
    descriptor_path.write_text(json.dumps(descriptor), encoding="utf-8")
    problems = bundle.verify(folder)
    assert any("bytes" in m for m in about(problems, descriptor["resources"][0]["path"]))
    assert any("\"hash\"" in m for m in about(problems, "datapackage.json"))


def test_missing_or_broken_datapackage(built):
    folder, _ = built
    descriptor_path = folder / "datapackage.json"
    descriptor_path.write_text("{not json", encoding="utf-8")
    assert any("not valid JSON" in m for m in about(bundle.verify(folder), "datapackage.json"))
    descriptor_path.unlink()
    assert any("missing" in m for m in about(bundle.verify(folder), "datapackage.json"))


def test_every_failure_is_reported(built):
    folder, _ = built
    (folder / "entries/piriformis.json").write_bytes(b"{}\n")
    (folder / "index.json").unlink()
    (folder / "extra.json").write_text("{}\n", encoding="utf-8")
    files = {p.file for p in bundle.verify(folder)}
    assert {"entries/piriformis.json", "index.json", "extra.json"} <= files


def test_consistent_but_invalid_entry(built):
    """A bundle edited and re-hashed by hand: the entry schema, the canonical form and the index still catch it."""
    folder, _ = built
    path = folder / "entries/piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = "finished"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rehash(folder, "entries/piriformis.json")
    messages = about(bundle.verify(folder), "entries/piriformis.json")
    assert messages and all(m.startswith("TP104") for m in messages)  # tpkit's own validation
    assert any("(/status)" in m for m in messages)


def test_not_canonical_entry(built):
    folder, _ = built
    path = folder / "entries/piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")  # compact, escaped, no final newline
    rehash(folder, "entries/piriformis.json")
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["entries/piriformis.json"]
    assert "canonical" in problems[0].message


def test_index_disagrees_with_entries(built):
    folder, _ = built
    path = folder / "entries/piriformis.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = "review"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rehash(folder, "entries/piriformis.json")
    problems = bundle.verify(folder)
    # the index row, and the JSON-LD (its creativeWorkStatus), no longer agree with the entry
    assert [p.file for p in problems] == ["entries/piriformis.jsonld", "index.json"]
    assert "piriformis" in problems[1].message and "status" in problems[1].message


def test_entry_without_index_row_or_jsonld(built):
    folder, _ = built
    (folder / "entries/piriformis.jsonld").unlink()
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["path"] != "entries/piriformis.jsonld"]
    descriptor_path.write_text(json.dumps(descriptor), encoding="utf-8")
    index_path = folder / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["entries"] = [row for row in index["entries"] if row["id"] != "piriformis"]
    index_path.write_text(json.dumps(index), encoding="utf-8")
    rehash(folder, "index.json")
    problems = bundle.verify(folder)
    assert any("missing" in m for m in about(problems, "entries/piriformis.jsonld"))
    assert any("no row" in m for m in about(problems, "index.json"))


def _rezip(source: Path, target: Path, change=None, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if change and info.filename in change:
                data = change[info.filename](data)
            new.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            new.writestr(name, data)


def test_zip_with_tampered_member(built, tmp_path):
    _, archive = built
    tampered = tmp_path / "tampered.zip"
    _rezip(archive, tampered, {"entries/gluteus-minimus.json": lambda b: b.replace(b"minimus", b"maximus", 1)})
    problems = bundle.verify(tampered)
    assert any("sha256" in m for m in about(problems, "entries/gluteus-minimus.json"))
    with pytest.raises(bundle.BundleError):
        bundle.load(tampered)


def test_zip_with_damaged_bytes(built, tmp_path):
    _, archive = built
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("index.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    problems = bundle.verify(damaged)
    assert about(problems, "index.json")


def test_zip_extra_and_missing_member(built, tmp_path):
    _, archive = built
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(changed, "w") as new:
        for info in old.infolist():
            if info.filename != "entries/piriformis.jsonld":
                new.writestr(info.filename, old.read(info))
        new.writestr("extra/readme.txt", "hi")
    files = {p.file for p in bundle.verify(changed)}
    assert {"entries/piriformis.jsonld", "extra/readme.txt"} <= files


@pytest.mark.parametrize("member", ["../evil.json", "/etc/evil.json", "entries/../../evil.json", "C:/evil.json",
                                    "entries\\evil.json"])
def test_zip_unsafe_members_refused(built, tmp_path, member):
    _, archive = built
    evil = tmp_path / "evil.zip"
    _rezip(archive, evil, extra={member: b"{}"})
    problems = bundle.verify(evil)
    assert any(p.file == member and "unsafe" in p.message for p in problems)
    assert not (tmp_path / "evil.json").exists()


def test_zip_bomb_cap(built, tmp_path, monkeypatch):
    _, archive = built
    monkeypatch.setattr(bundle.spec, "MAX_BUNDLE_BYTES", 1000)
    problems = bundle.verify(archive)
    assert len(problems) == 1 and "limit" in problems[0].message and problems[0].file == str(archive)
    folder = archive.parent / "bundle"
    assert "limit" in bundle.verify(folder)[0].message


def test_bundled_schema_may_not_fetch(built, no_network):
    """A schema of a content model tpkit does not know is used only when trusted, and never fetches."""
    folder, _ = built
    set_schema_version(folder, "9.9")
    path = folder / "schemas/muscle-entry.json"
    for ref in ("https://example.invalid/evil.json", "file:///etc/passwd"):
        path.write_text(json.dumps({"$ref": ref}), encoding="utf-8")
        rehash(folder, "schemas/muscle-entry.json")
        messages = about(bundle.verify(folder, trust_bundled_schema=True), "schemas/muscle-entry.json")
        assert messages and "self-contained" in messages[0]


def test_not_a_bundle(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    problems = bundle.verify(junk)
    assert problems and problems[0].file == str(junk)
    with pytest.raises(FileNotFoundError):
        bundle.verify(tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    assert any(p.file == "datapackage.json" for p in bundle.verify(tmp_path / "empty"))


# -- diff -------------------------------------------------------------------------------------------

def test_diff(entries, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    by = {e.id: e for e in entries}
    old_folder, old_zip = bundle.write_bundle(entries, tmp_path / "old", name=NAME, version="1.0.0")
    changed = by["piriformis"].model_copy(update={
        "symptoms": [*by["piriformis"].symptoms, "Pain on crossing the legs"],
        "status": "review",
    })
    added = by["gluteus-minimus"].model_copy(update={"id": "gluteus-maximus", "name": "Gluteus Maximus"})
    new_entries = [changed if e.id == "piriformis" else e for e in entries if e.id != "tensor-fasciae-latae"] + [added]
    new_folder, new_zip = bundle.write_bundle(new_entries, tmp_path / "new", name=NAME, version="1.1.0")

    for old, new in ((old_folder, new_folder), (old_zip, new_zip), (old_folder, new_zip)):
        d = bundle.diff(old, new)
        assert [e.id for e in d.added] == ["gluteus-maximus"]
        assert [e.id for e in d.removed] == ["tensor-fasciae-latae"]
        assert [c.id for c in d.changed] == ["piriformis"]
        sections = d.changed[0].sections
        assert [(s.key, s.title) for s in sections] == [("status", "Status"), ("symptoms", "Signs and Symptoms")]
        assert (sections[0].old, sections[0].new) == ("published", "review")

    d = bundle.diff(old_zip, new_zip)
    as_json = json.loads(bundle.format_diff(d, "json"))
    assert as_json == {
        "old": {"name": NAME, "version": "1.0.0"},
        "new": {"name": NAME, "version": "1.1.0"},
        "added": [{"id": "gluteus-maximus", "name": "Gluteus Maximus"}],
        "removed": [{"id": "tensor-fasciae-latae", "name": by["tensor-fasciae-latae"].name}],
        "changed": [{"id": "piriformis", "name": "Piriformis", "sections": [
            {"key": "status", "title": "Status", "old": "published", "new": "review"},
            {"key": "symptoms", "title": "Signs and Symptoms"},
        ]}],
    }
    text = bundle.format_diff(d, "text")
    assert text.endswith("\n")
    assert text.startswith(f"{NAME} 1.0.0 → 1.1.0: 1 added, 1 removed, 1 changed\n")
    assert "- Gluteus Maximus (gluteus-maximus)" in text
    assert f"- {by['tensor-fasciae-latae'].name} (tensor-fasciae-latae)" in text
    assert "- Piriformis (piriformis): Status (published → review), Signs and Symptoms" in text
    with pytest.raises(UsageError):
        bundle.format_diff(d, "yaml")


def test_diff_sections_and_no_changes(entries, tmp_path):
    entry = next(e for e in entries if e.trigger_points)
    moved = entry.model_copy(update={"trigger_points": list(reversed(entry.trigger_points)) + [entry.trigger_points[0]]})
    changes = bundle.entry_changes(entry, moved)
    assert [(c.key, c.title) for c in changes] == [("referral_pattern", "Trigger Point Referral Pattern")]
    cited = entry.model_copy(update={"citations": list(reversed(entry.citations))})
    assert [c.key for c in bundle.entry_changes(entry, cited)] == ["references"]
    assert bundle.entry_changes(entry, entry) == ()

    folder, _ = bundle.write_bundle(entries, tmp_path / "a", name=NAME, version=VERSION)
    d = bundle.diff(folder, folder)
    assert d.empty
    assert "No changes." in bundle.format_diff(d, "text")


def test_diff_refuses_a_broken_bundle(built, tmp_path):
    folder, archive = built
    (folder / "index.json").write_text("{}", encoding="utf-8")
    with pytest.raises(bundle.BundleError):
        bundle.diff(archive, folder)


# -- determinism ------------------------------------------------------------------------------------

def test_deterministic(entries, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a_folder, a_zip = bundle.write_bundle(entries, tmp_path / "a", name=NAME, version=VERSION)
    b_folder, b_zip = bundle.write_bundle(list(reversed(entries)), tmp_path / "b", name=NAME, version=VERSION)
    assert files_of(a_folder) == files_of(b_folder)
    assert a_zip.read_bytes() == b_zip.read_bytes()
    assert bundle.build_bundle(entries, name=NAME, version=VERSION) == files_of(a_folder)


def test_source_date_epoch(entries, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    folder, archive = bundle.write_bundle(entries, tmp_path / "out", name=NAME, version=VERSION)
    assert json.loads((folder / "datapackage.json").read_bytes())["created"] == "2026-01-01T00:00:00Z"
    with zipfile.ZipFile(archive) as z:
        assert {info.date_time for info in z.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    first = archive.read_bytes()
    bundle.write_bundle(entries, tmp_path / "out", name=NAME, version=VERSION)
    assert archive.read_bytes() == first

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # before the zip format's 1980 epoch: clamped in the zip only
    files = bundle.build_bundle(entries, name=NAME, version=VERSION)
    assert json.loads(files["datapackage.json"])["created"] == "1970-01-01T00:00:00Z"
    with zipfile.ZipFile(__import__("io").BytesIO(bundle.build_zip(files))) as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    explicit = _dt.datetime(2027, 3, 4, 5, 6, 7, tzinfo=_dt.timezone.utc)
    files = bundle.build_bundle(entries, name=NAME, version=VERSION, created=explicit)
    assert json.loads(files["datapackage.json"])["created"] == "2027-03-04T05:06:07Z"


def test_zip_members_are_the_files(entries):
    """build_zip is zipfile's output: every file once, datapackage.json first, one date, deflated."""
    import io

    files = bundle.build_bundle(entries, name=NAME, version=VERSION)
    files["entries/caf\u00e9.json"] = b"{}"  # a UTF-8 name
    with zipfile.ZipFile(io.BytesIO(bundle.build_zip(files))) as z:
        assert z.namelist() == ["datapackage.json"] + sorted(p for p in files if p != "datapackage.json")
        assert {n: z.read(n) for n in z.namelist()} == files
        assert len({info.date_time for info in z.infolist()}) == 1
        assert z.getinfo("entries/caf\u00e9.json").flag_bits & 0x800  # the name is flagged UTF-8


def test_zip_of_more_files_than_the_classic_format_counts(entries):
    import io

    files = bundle.build_bundle(entries, name=NAME, version=VERSION)
    files.update({f"entries/extra-{index:05d}.json": b"{}" for index in range(0xFFFF)})
    with zipfile.ZipFile(io.BytesIO(bundle.build_zip(files))) as z:
        names = z.namelist()
        assert len(names) == len(files) and names[0] == bundle.DATAPACKAGE
        assert z.read("entries/extra-65534.json") == b"{}"


def test_rewrite_after_one_change_is_what_a_fresh_write_gives(entries, tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    folder, archive = bundle.write_bundle(entries, tmp_path / "out", name=NAME, version=VERSION)
    kept = folder / "entries" / "gluteus-medius.json"
    tampered = folder / "entries" / "gluteus-minimus.json"
    tampered.write_bytes(tampered.read_bytes().replace(b"a", b"b"))  # same size, other bytes
    restricted = folder / "entries" / "piriformis.json"
    os.chmod(restricted, 0o600)
    changed = [e.model_copy(update={"name": "Piriformis (changed)"}) if e.id == "piriformis" else e for e in entries]
    changed += [e.model_copy(update={"id": "quadratus-femoris"}) for e in entries if e.id == "piriformis"]
    bundle.write_bundle(changed, tmp_path / "out", name=NAME, version=VERSION)
    fresh_folder, fresh_archive = bundle.write_bundle(changed, tmp_path / "fresh", name=NAME, version=VERSION)
    assert files_of(folder) == files_of(fresh_folder) and archive.read_bytes() == fresh_archive.read_bytes()
    assert kept.read_bytes() == (fresh_folder / "entries" / "gluteus-medius.json").read_bytes()
    assert all(os.stat(p).st_mode & 0o777 == 0o644 for p in folder.rglob("*.json"))
    assert bundle.verify(folder) == [] and bundle.verify(archive) == []


def test_rewrite_replaces_stale_files(entries, built):
    folder, _ = built
    (folder / "entries" / "stale.json").write_text("{}", encoding="utf-8")
    (folder / "leftover").mkdir()
    fewer = [e for e in entries if e.id != "piriformis"]
    again, _ = bundle.write_bundle(fewer, folder.parent, name=NAME, version=VERSION)
    assert again == folder
    assert not (folder / "entries" / "stale.json").exists() and not (folder / "leftover").exists()
    assert not (folder / "entries" / "piriformis.json").exists()
    assert bundle.verify(folder) == []
    assert sorted(p.name for p in folder.parent.iterdir()) == ["bundle", f"{NAME}-{VERSION}.zip"]


# -- a standard tool accepts the datapackage --------------------------------------------------------

@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_frictionless_validates_the_datapackage(built, no_network):
    frictionless = pytest.importorskip("frictionless")
    folder, _ = built
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    assert report.stats["tasks"] == len(json.loads((folder / "datapackage.json").read_bytes())["resources"])
    assert frictionless.Package.validate_descriptor(str(folder / "datapackage.json")).valid


def test_frictionless_validates_the_zip(built, no_network):
    frictionless = pytest.importorskip("frictionless")
    _, archive = built
    report = frictionless.validate(str(archive))
    assert report.valid, report.flatten(["type", "note"])
    assert report.stats["tasks"] > 0


def test_frictionless_notices_tampering(built, no_network):
    """The check above is not vacuous: frictionless itself checks bytes and hashes."""
    frictionless = pytest.importorskip("frictionless")
    folder, _ = built
    path = folder / "entries/piriformis.json"
    path.write_bytes(path.read_bytes().replace(b"Piriformis", b"Piriformus", 1))
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert not report.valid
    assert {e[0] for e in report.flatten(["type"])} == {"hash-count"}


# -- arguments --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "Tpkit", "tpkit entries", "-tpkit", ".tpkit", "tpkit/entries", "../x", "é", "a" * 101])
def test_invalid_name(entries, name):
    with pytest.raises(UsageError, match="bundle name"):
        bundle.build_bundle(entries, name=name, version=VERSION)


@pytest.mark.parametrize("version", ["", "1", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0+", "1.0.0.0", "latest", " 1.0.0"])
def test_invalid_version(entries, version):
    with pytest.raises(UsageError, match="SemVer"):
        bundle.build_bundle(entries, name=NAME, version=version)


@pytest.mark.parametrize("version", ["0.1.0", "1.0.0-rc.1", "2.10.3+build.5", "1.0.0-alpha.beta+exp.sha.5114f85"])
def test_valid_versions(entries, version, tmp_path):
    folder, archive = bundle.write_bundle(entries, tmp_path, name="content.v2_x", version=version)
    assert archive.name == f"content.v2_x-{version}.zip"
    assert bundle.verify(archive) == []


def test_other_invalid_arguments(entries):
    with pytest.raises(UsageError, match="no entries"):
        bundle.build_bundle([], name=NAME, version=VERSION)
    with pytest.raises(UsageError, match="more than once"):
        bundle.build_bundle([entries[0], entries[0]], name=NAME, version=VERSION)
    with pytest.raises(UsageError, match="license"):
        bundle.build_bundle(entries, name=NAME, version=VERSION, license="not a licence!")


def test_title_and_license_options(entries):
    files = bundle.build_bundle(entries, name=NAME, version=VERSION, title="Hip muscles", license="CC0-1.0")
    descriptor = json.loads(files["datapackage.json"])
    assert descriptor["title"] == "Hip muscles"
    # every sample names CC-BY-4.0: the default license is for entries that name none
    assert [item["name"] for item in descriptor["licenses"]] == ["CC-BY-4.0"]

    unlicensed = [e.model_copy(update={"license": None}) if e.id == "piriformis" else e for e in entries]
    files = bundle.build_bundle(unlicensed, name=NAME, version=VERSION, license="CC0-1.0")
    assert json.loads(files["datapackage.json"])["licenses"] == [
        {"name": "CC-BY-4.0", "path": "https://spdx.org/licenses/CC-BY-4.0.html",
         "title": "Creative Commons Attribution 4.0 International"},
        {"name": "CC0-1.0", "path": "https://spdx.org/licenses/CC0-1.0.html", "title": "Creative Commons Zero v1.0 Universal"},
    ]
    assert "license" not in json.loads(files["entries/piriformis.json"])  # entries are never changed
    assert json.loads(files["entries/piriformis.jsonld"])["subjectOf"]["license"] == "https://spdx.org/licenses/CC0-1.0.html"

    files = bundle.build_bundle(unlicensed, name=NAME, version=VERSION)
    assert [item["name"] for item in json.loads(files["datapackage.json"])["licenses"]] == ["CC-BY-4.0"]
    assert "license" not in json.loads(files["entries/piriformis.jsonld"])["subjectOf"]


def test_json_files_are_written_as_python_json_would(built):
    """bundle.canonical.dumps uses pydantic-core for speed; its bytes must stay json.dumps's, indent 2."""
    folder, _ = built
    checked = 0
    for path in sorted(folder.rglob("*.json")) + sorted(folder.rglob("*.jsonld")):
        data = json.loads(path.read_bytes())
        expected = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        assert dumps(data) == expected, path
        checked += 1
    assert checked > 5
    awkward = {"text": "tab\t \"quote\" back\\slash \u2028 \x7f \x01 é 😀", "empty": [], "none": {}, "n": [0, -1, 10**20]}
    assert dumps(awkward) == (json.dumps(awkward, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    with pytest.raises(UsageError, match="cannot encode"):
        dumps({"text": "lone \ud800"})
