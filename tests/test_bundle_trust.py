"""What `tpkit bundle verify` means beyond integrity: full validation of the entries, JSON-LD,
index and schemas as tpkit derives them, limits against hostile archives, and signatures.

Every attack here is a bundle whose hashes were recomputed after the edit: integrity checks
alone accept it (the earlier verify did)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from tpkit import bundle
from tpkit.bundle import read as bundle_read
from tpkit.bundle.sign import openssh_public
from tpkit.cli import cli
from tpkit.errors import BundleError, UsageError
from tpkit.models import Entry
from tpkit.validate import validate_paths

NAME, VERSION = "tpkit-entries", "1.0.0"


@pytest.fixture(scope="module")
def entries():
    report = validate_paths([ROOT / "entries"])
    assert not report.failed()
    return report.entries()


@pytest.fixture()
def built(entries, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return bundle.write_bundle(entries, tmp_path / "out", name=NAME, version=VERSION)


def rehash_all(folder: Path) -> None:
    """Recompute every size and hash in datapackage.json: a consistent but edited bundle."""
    descriptor_path = folder / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        data = (folder / resource["path"]).read_bytes()
        resource["bytes"] = len(data)
        resource["hash"] = f"sha256:{hashlib.sha256(data).hexdigest()}"
    descriptor_path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def tamper_entry(folder: Path, entry_id: str, change) -> None:
    """Edit an entry as an attacker who knows the format would: canonical bytes, index row and
    JSON-LD made to agree with the edit, every hash recomputed."""
    path = folder / "entries" / f"{entry_id}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    entry = Entry.model_validate(data)  # the model accepts it: what is broken are the rules
    names = {p.stem: json.loads(p.read_text(encoding="utf-8"))["name"] for p in (folder / "entries").glob("*.json")}
    (folder / "entries" / f"{entry_id}.jsonld").write_bytes(bundle.canonical.dumps(bundle.to_jsonld(entry, names)))
    index_path = folder / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["entries"] = [bundle.build.index_row(entry) if row["id"] == entry_id else row for row in index["entries"]]
    index_path.write_bytes(bundle.canonical.dumps(index))
    rehash_all(folder)


def files_about(problems, file: str) -> list[str]:
    return [p.message for p in problems if p.file == file]


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args))


# -- the entries pass tpkit's full validation ----------------------------------------------------------

def _unknown_citation_key(data):
    data["summary"] = data["summary"].replace("[@travell1992;", "[@nobody2001;")


def _updated_in_2999(data):
    data["updated"] = "2999-01-01"


def _associated_with_itself(data):
    data["associated_trigger_points"].append({"muscle": data["id"], "note": "Itself, again."})


@pytest.mark.parametrize("change, code", [(_unknown_citation_key, "TP203"), (_updated_in_2999, "TP209"),
                                          (_associated_with_itself, "TP214")])
def test_entries_that_break_the_rules_do_not_verify_or_load(built, change, code):
    folder, _ = built
    tamper_entry(folder, "piriformis", change)
    problems = bundle.verify(folder)
    messages = files_about(problems, "entries/piriformis.json")
    assert any(m.startswith(code) for m in messages), problems
    with pytest.raises(BundleError) as caught:
        bundle.load(folder)
    assert code in str(caught.value)
    result = cli_run("bundle", "verify", str(folder))
    assert result.exit_code == 1 and code in result.output


# -- JSON-LD is what tpkit derives from the entry ------------------------------------------------------

def _other_name(data):
    data["name"] = "Gluteus Maximus"


def _dangerous_description(data):
    data["description"] = "Inject 500 mg intravenously"


def _remote_context(data):
    data["@context"] = {"@import": "https://evil.example/context.jsonld", "@vocab": "http://schema.org/"}


@pytest.mark.parametrize("change", [_other_name, _dangerous_description, _remote_context])
def test_jsonld_that_contradicts_its_entry_is_refused(built, change, no_network):
    folder, _ = built
    path = folder / "entries" / "piriformis.jsonld"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_bytes(bundle.canonical.dumps(data))
    rehash_all(folder)
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["entries/piriformis.jsonld"]
    assert "contradicts the entry" in problems[0].message
    with pytest.raises(BundleError):
        bundle.load(folder)


# -- the schemas are tpkit's own -----------------------------------------------------------------------

@pytest.mark.parametrize("schema", [b"true", b"{}", b'{"$ref": "#"}'])
def test_a_replaced_entry_schema_is_refused(built, schema):
    folder, _ = built
    (folder / "schemas" / "muscle-entry.json").write_bytes(schema)
    rehash_all(folder)
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["schemas/muscle-entry.json"]
    assert "not the entry schema tpkit published" in problems[0].message
    result = cli_run("bundle", "verify", str(folder))
    assert result.exit_code == 1


def test_the_current_entry_schema_is_recorded_as_published():
    digest = bundle.spec.sha256(bundle.spec.schema_bytes(bundle.spec.ENTRY_SCHEMA))
    version = bundle.content_model_version()
    assert digest in bundle.spec.PUBLISHED_ENTRY_SCHEMAS.get(version, ()), (
        f"schemas/muscle-entry.schema.json changed: add {digest!r} to PUBLISHED_ENTRY_SCHEMAS[{version!r}] in "
        "tpkit/bundle/spec.py, so that bundles of this schema verify (and keep the earlier digests)")


def test_a_replaced_index_schema_is_refused(built):
    folder, _ = built
    (folder / "schemas" / "bundle-index.json").write_bytes(b"true")
    rehash_all(folder)
    assert [p.file for p in bundle.verify(folder)] == ["schemas/bundle-index.json"]


def test_an_unknown_content_model_needs_trust(built):
    folder, _ = built
    for path, key in ((folder / "datapackage.json", ("tpkit", "schema_version")), (folder / "index.json", None)):
        data = json.loads(path.read_text(encoding="utf-8"))
        if key:
            data[key[0]][key[1]] = "1.9"
        else:
            data["schema_version"] = "1.9"
        path.write_bytes(bundle.canonical.dumps(data))
    rehash_all(folder)
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["schemas/muscle-entry.json"]
    assert "'1.9'" in problems[0].message and "--trust-bundled-schema" in problems[0].message
    assert cli_run("bundle", "verify", str(folder)).exit_code == 1
    assert bundle.verify(folder, trust_bundled_schema=True) == []
    result = cli_run("bundle", "verify", "--trust-bundled-schema", str(folder))
    assert result.exit_code == 0, result.output
    with pytest.raises(BundleError):
        bundle.load(folder)  # tpkit cannot turn entries of a model it does not know into its own


# -- malformed index.json --------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [
    b"[]", b"{}", b'{"entries": [1, "x", {"id": 5}]}', b'{"name": "tpkit-entries", "entries": {"a": 1}}',
    b'{"$schema": "x", "name": "tpkit-entries", "version": "1.0.0", "schema_version": "1.0", "entries": [{"id": "piriformis"}]}',
    b'{"entries": [' + b"{}," * 100_000 + b"{}]}",
])
def test_a_malformed_index_is_a_clear_problem(built, index):
    folder, _ = built
    (folder / "index.json").write_bytes(index)
    rehash_all(folder)
    messages = files_about(bundle.verify(folder), "index.json")
    assert messages and all("index schema" in m or "one JSON object" in m for m in messages)
    assert len(messages) <= 20
    with pytest.raises(BundleError):
        bundle.load(folder)
    result = cli_run("bundle", "verify", str(folder))
    assert result.exit_code == 1 and "internal error" not in result.output


# -- hostile archives and folders --------------------------------------------------------------------------

def _peak_of(args: list[str]) -> tuple[int, int, str]:
    """(exit code, peak RSS in MB, output) of a tpkit command in a fresh process."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); "
             "print(r.stdout + r.stderr)")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "tpkit", *args],
                         capture_output=True, text=True, check=True).stdout
    code, peak, output = out.split("\n", 2)
    return int(code), int(peak), output


def _bomb(path: Path, member: str, megabytes: int, others: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(member, "w", force_zip64=True) as stream:
            stream.write(b'{"resources": [')
            chunk = b"{}," * (1024 * 1024 // 3)
            for _ in range(megabytes):
                stream.write(chunk)
            stream.write(b"{}]}")
        for name, data in (others or {}).items():
            z.writestr(name, data)


def test_a_zip_bomb_descriptor_stays_under_500_mb(built, tmp_path):
    _, archive = built
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive) as z:
        others = {n: z.read(n) for n in z.namelist() if n != "datapackage.json"}
    _bomb(bomb, "datapackage.json", 400, others)
    assert bomb.stat().st_size < 2_000_000
    code, peak, output = _peak_of(["bundle", "verify", str(bomb)])
    assert code == 1 and "limit" in output and "internal error" not in output, output
    assert peak < 500, f"{peak} MB"
    code, peak, output = _peak_of(["bundle", "diff", str(bomb), str(archive)])
    assert code == 1 and peak < 500


def test_descriptor_index_and_entries_have_limits_of_their_own(built, monkeypatch):
    folder, _ = built
    monkeypatch.setattr(bundle.spec, "MAX_DESCRIPTOR_BYTES", 1000)
    problems = bundle.verify(folder)
    assert [p.file for p in problems] == ["datapackage.json"] and "limit" in problems[0].message
    monkeypatch.undo()
    monkeypatch.setattr(bundle.spec, "MAX_INDEX_BYTES", 1000)
    monkeypatch.setattr(bundle.spec, "MAX_ENTRY_BYTES", 1000)
    files = {p.file for p in bundle.verify(folder) if "limit" in p.message}
    assert "index.json" in files and "entries/piriformis.json" in files


def test_zip_end_records_read_as_zipfile_reads_them(entries, tmp_path):
    import io

    files = bundle.build_bundle(entries, name=NAME, version=VERSION)
    for extra in (0, 0x10000):  # the classic end record, and ZIP64 past 65,535 members
        more = dict(files, **{f"x/{i:05d}": b"" for i in range(extra)})
        data = bundle.build_zip(more)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            expected = (len(z.infolist()), len(data) - z.start_dir - (22 if not extra else 22 + 20 + 56))
        assert bundle_read.central_directory(io.BytesIO(data)) == expected


def test_a_zip_claiming_too_many_members_is_refused_unread(built, tmp_path, monkeypatch):
    _, archive = built
    monkeypatch.setattr(bundle.spec, "MAX_MEMBERS", 5)
    problems = bundle.verify(archive)
    assert len(problems) == 1 and "members" in problems[0].message


def test_folders_nested_1100_deep(built):
    folder, _ = built
    top = os.open(folder, os.O_RDONLY)
    fds = [top]
    try:
        for _ in range(1100):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        with open(os.open("deep.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1]), "wb") as handle:
            handle.write(b"{}")
        problems = bundle.verify(folder)
        deep = "d/" * 1100 + "deep.json"
        assert [p.file for p in problems] == [deep] and "not listed" in problems[0].message
    finally:
        os.unlink("deep.json", dir_fd=fds[-1])
        for parent in reversed(fds[:-1]):
            os.close(fds.pop())
            os.rmdir("d", dir_fd=parent)
        os.close(top)


# -- signatures --------------------------------------------------------------------------------------------

@pytest.fixture()
def keys(tmp_path):
    release = bundle.keygen(tmp_path / "release")
    other = bundle.keygen(tmp_path / "other")
    return release, other


def test_keygen_writes_keys_as_ssh_keygen_does(tmp_path):
    private, public = bundle.keygen(tmp_path / "signing", comment="release 2026")
    assert os.stat(private).st_mode & 0o777 == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert public.read_text().startswith("ssh-ed25519 ") and public.read_text().endswith(" release 2026\n")
    with pytest.raises(UsageError, match="exists"):
        bundle.keygen(tmp_path / "signing")
    if shutil.which("ssh-keygen"):  # an independent reader: OpenSSH derives the same public key
        derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True)
        assert derived.stdout.split()[:2] == public.read_text().split()[:2]


def test_signed_folder_and_zip_verify_with_the_trusted_key(built, keys):
    folder, archive = built
    (private, public), _ = keys
    assert bundle.sign(folder, private) == folder / "datapackage.json.sig"
    assert bundle.sign(archive, private) == archive.with_name(archive.name + ".sig")
    for path in (folder, archive):
        assert bundle.verify(path, trusted_keys=[public]) == []
        assert len(bundle.load(path, trusted_keys=[public])) >= 3
    assert bundle.verify(folder) == []  # the signature file is no unlisted file


def test_signature_by_an_untrusted_key(built, keys):
    folder, _ = built
    (_, public), (other_private, _) = keys
    bundle.sign(folder, other_private)
    problems = bundle.verify(folder, trusted_keys=[public])
    assert len(problems) == 1 and "not a trusted key" in problems[0].message
    with pytest.raises(BundleError):
        bundle.load(folder, trusted_keys=[public])


def test_missing_signature(built, keys):
    folder, archive = built
    (_, public), _ = keys
    for path in (folder, archive):
        problems = bundle.verify(path, trusted_keys=[public])
        assert len(problems) == 1 and "not signed" in problems[0].message
    result = cli_run("bundle", "verify", str(folder), "--trusted-key", str(public))
    assert result.exit_code == 1 and "not signed" in result.output


def test_signature_over_an_older_manifest(entries, built, keys, tmp_path):
    folder, _ = built
    (private, public), _ = keys
    bundle.sign(folder, private)
    old_signature = (folder / "datapackage.json.sig").read_bytes()
    changed = [e.model_copy(update={"conclusion": e.conclusion + " Revised."}) if e.id == "piriformis" else e
               for e in entries]
    folder, _ = bundle.write_bundle(changed, folder.parent, name=NAME, version="1.1.0")
    (folder / "datapackage.json.sig").write_bytes(old_signature)
    problems = bundle.verify(folder, trusted_keys=[public])
    assert len(problems) == 1 and "changed after signing" in problems[0].message


def test_tampered_entry_with_recomputed_hashes_breaks_the_signature(built, keys):
    folder, _ = built
    (private, public), _ = keys
    bundle.sign(folder, private)
    tamper_entry(folder, "piriformis", lambda data: data.update(conclusion=data["conclusion"] + " Needle deeply."))
    assert bundle.verify(folder) == []  # integrity and meaning hold: the edit is valid content
    problems = bundle.verify(folder, trusted_keys=[public])
    assert len(problems) == 1 and "changed after signing" in problems[0].message


def test_pem_and_openssh_keys(built, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

    folder, _ = built
    key = Ed25519PrivateKey.generate()
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (tmp_path / "k.pub.pem").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                       serialization.PublicFormat.SubjectPublicKeyInfo))
    signature_file = bundle.sign(folder, tmp_path / "k.pem")
    assert bundle.verify(folder, trusted_keys=[tmp_path / "k.pub.pem"]) == []
    if shutil.which("openssl"):  # an independent verifier of the raw Ed25519 signature
        (tmp_path / "sig.bin").write_bytes(base64.b64decode(signature_file.read_bytes().split(b"\n")[0]))
        checked = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "k.pub.pem"),
                                  "-rawin", "-in", str(folder / "datapackage.json"), "-sigfile",
                                  str(tmp_path / "sig.bin")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    if shutil.which("ssh-keygen"):  # a key made by OpenSSH itself
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "ssh")], check=True)
        bundle.sign(folder, tmp_path / "ssh")
        assert bundle.verify(folder, trusted_keys=[tmp_path / "ssh.pub"]) == []
    (tmp_path / "locked.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(UsageError, match="encrypted"):
        bundle.sign(folder, tmp_path / "locked.pem")
    bundle.sign(folder, tmp_path / "locked.pem", b"pw")
    assert bundle.verify(folder, trusted_keys=[tmp_path / "k.pub.pem"]) == []
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    with pytest.raises(UsageError, match="Ed25519"):
        bundle.sign(folder, tmp_path / "rsa.pem")
    with pytest.raises(UsageError, match="is a public key"):
        bundle.sign(folder, tmp_path / "k.pub.pem")
    (tmp_path / "junk.pub").write_text("not a key\n")
    with pytest.raises(UsageError, match="not an OpenSSH or PEM public key"):
        bundle.verify(folder, trusted_keys=[tmp_path / "junk.pub"])


def test_sign_refuses_a_bundle_that_does_not_verify(built, keys):
    folder, _ = built
    (private, _), _ = keys
    (folder / "index.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BundleError):
        bundle.sign(folder, private)
    assert not (folder / "datapackage.json.sig").exists()


def test_cli_keygen_sign_verify_and_trusted_keys_in_config(built, tmp_path, monkeypatch):
    folder, archive = built
    monkeypatch.chdir(tmp_path)
    result = cli_run("bundle", "keygen", "--out", "release")
    assert result.exit_code == 0 and (tmp_path / "release.pub").is_file(), result.output
    result = cli_run("bundle", "sign", str(archive), "--key", "release")
    assert result.exit_code == 0, result.output
    result = cli_run("bundle", "verify", str(archive), "--trusted-key", "release.pub")
    assert result.exit_code == 0 and "signed by a trusted key" in result.output, result.output
    (tmp_path / "tpkit.toml").write_text('trusted_keys = ["release.pub"]\n', encoding="utf-8")
    assert cli_run("bundle", "verify", str(archive)).exit_code == 0
    result = cli_run("bundle", "verify", str(folder))  # the folder was never signed
    assert result.exit_code == 1 and "not signed" in result.output
    (tmp_path / "tpkit.toml").write_text('trusted_keys = "release.pub"\n', encoding="utf-8")
    result = cli_run("bundle", "verify", str(archive))
    assert result.exit_code == 2 and "trusted_keys must be a list" in result.output


@pytest.fixture()
def no_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_cli_sign_asks_for_the_passphrase_of_an_encrypted_key(built, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder, _ = built
    key = Ed25519PrivateKey.generate()
    (tmp_path / "locked").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                        serialization.BestAvailableEncryption(b"secret")))
    (tmp_path / "locked.pub").write_bytes(openssh_public(key.public_key()) + b"\n")
    result = CliRunner().invoke(cli, ["bundle", "sign", str(folder), "--key", str(tmp_path / "locked")], input="secret\n")
    assert result.exit_code == 0, result.output
    assert bundle.verify(folder, trusted_keys=[tmp_path / "locked.pub"]) == []
    result = CliRunner().invoke(cli, ["bundle", "sign", str(folder), "--key", str(tmp_path / "locked")], input="wrong\n")
    assert result.exit_code == 2 and "passphrase is wrong" in result.output


def test_export_refuses_a_bundle_that_verify_would_refuse(entries, monkeypatch):
    monkeypatch.setattr(bundle.spec, "MAX_ENTRY_BYTES", 20_000)
    with pytest.raises(UsageError, match=r"entries/\S+\.json would be [\d,]+ bytes, over the 20,000-byte limit"):
        bundle.build_bundle(entries, name=NAME, version=VERSION)
    monkeypatch.setattr(bundle.spec, "MAX_MEMBERS", 9)
    with pytest.raises(UsageError, match="more than a bundle holds"):
        bundle.build_bundle(entries, name=NAME, version=VERSION)
