"""Signing bundles: who made a bundle, beyond what its hashes prove.

The hashes of ``datapackage.json`` bind every file of a bundle to the manifest, so a bundle
that verifies is whole, but anyone who edits it can recompute them. A detached Ed25519
signature of ``datapackage.json`` (with the ``cryptography`` package) binds the manifest, and
through its hashes every file, to the holder of a private key; ``verify`` with trusted public
keys accepts a bundle only if one of them signed that very manifest.

The signature file holds two lines: the signature (64 bytes, base64) and the signer's public
key in OpenSSH form. That second line only names the signer in messages; acceptance rests on
the trusted keys alone. A folder bundle keeps it as ``datapackage.json.sig`` beside its
manifest; a zip as ``<zip>.sig`` beside the zip (or a ``datapackage.json.sig`` member).
Keys are OpenSSH (``ssh-keygen -t ed25519``) or PEM (PKCS#8 / SubjectPublicKeyInfo) files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Sequence

from tpkit.errors import BundleError, UsageError
from tpkit.write import write_atomic

from . import spec
from .read import BundleFiles, Problems, open_bundle
from .spec import DATAPACKAGE, SIGNATURE

_MAX_KEY_BYTES = 64 * 1024


def _read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read key {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_BYTES:
        raise UsageError(f"{path} is not a key file (over {_MAX_KEY_BYTES:,} bytes)")
    return data


def load_private_key(path: str | os.PathLike, password: bytes | None = None):
    """An Ed25519 private key from an OpenSSH or PEM file; UsageError if it is none."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    data = _read_key_file(path)
    if data.lstrip().startswith(b"ssh-") or b"PUBLIC KEY-----" in data:
        raise UsageError(f"{path} is a public key; sign with the private key (the file without .pub)")
    try:
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
            key = serialization.load_ssh_private_key(data, password)
        else:
            key = serialization.load_pem_private_key(data, password)
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        raise UsageError(f"{path}: the key is encrypted; give its passphrase" if password is None
                         else f"{path}: the key is not encrypted; give no passphrase") from None
    except Exception as exc:  # noqa: BLE001 - cryptography raises ValueError and its own types
        raise UsageError(f"{path} is not an OpenSSH or PEM private key (or the passphrase is wrong): {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path} is a {type(key).__name__.removeprefix('_')} key; bundles are signed with Ed25519 "
                         "keys (tpkit bundle keygen, or ssh-keygen -t ed25519)")
    return key


def load_public_keys(path: str | os.PathLike) -> list:
    """The Ed25519 public keys of a file: OpenSSH lines ("ssh-ed25519 AAAA… comment", one or
    more) or one PEM key; UsageError if it holds none."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    path = Path(path)
    data = _read_key_file(path)
    keys = []
    try:
        if b"-----BEGIN" in data:
            keys.append(serialization.load_pem_public_key(data))
        else:
            for line in data.splitlines():
                line = line.strip()
                if line and not line.startswith(b"#"):
                    keys.append(serialization.load_ssh_public_key(line))
    except Exception as exc:  # noqa: BLE001 - cryptography raises ValueError and its own types
        raise UsageError(f"{path} is not an OpenSSH or PEM public key: {exc}") from None
    if not keys:
        raise UsageError(f"{path} holds no public key")
    for key in keys:
        if not isinstance(key, Ed25519PublicKey):
            raise UsageError(f"{path} holds a {type(key).__name__.removeprefix('_')} key; bundles are signed with "
                             "Ed25519 keys")
    return keys


def openssh_public(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


def fingerprint(key) -> str:
    """The key's fingerprint as ssh-keygen -l prints it: SHA256:<base64 without padding>."""
    blob = base64.b64decode(openssh_public(key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def keygen(out: str | os.PathLike, comment: str = "tpkit bundle signing key") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair as ssh-keygen does: the private key ``out`` (OpenSSH format,
    mode 0600, unencrypted) and the public key ``out.pub``. Refuses to overwrite either."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path = Path(out)
    public_path = Path(f"{out}.pub")
    if "\n" in comment or "\r" in comment:
        raise UsageError("the key comment must be one line")
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise UsageError(f"{path} exists; choose another name or remove it first")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = openssh_public(key.public_key()) + (f" {comment}".encode("utf-8") if comment else b"") + b"\n"
    try:
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {private_path}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    write_atomic(public_path, public)
    return private_path, public_path


def signature_path(bundle: Path) -> Path:
    """Where ``sign`` writes a bundle's signature: in a folder beside datapackage.json, beside a zip."""
    bundle = Path(bundle)
    return bundle / SIGNATURE if bundle.is_dir() else bundle.with_name(f"{bundle.name}.sig")


def sign(bundle: str | os.PathLike, key_path: str | os.PathLike, password: bytes | None = None) -> Path:
    """Verify a bundle, then write the detached signature of its datapackage.json; return its path.

    Raises BundleError if the bundle does not verify, UsageError for a key that is not Ed25519."""
    from .verify import inspect

    bundle = Path(bundle)
    key = load_private_key(key_path, password)
    inspection = inspect(bundle)
    if inspection.problems:
        raise BundleError(inspection.problems.sorted(str(bundle)), bundle)
    problems = Problems()
    with open_bundle(bundle, problems) as files:
        manifest = files.read(DATAPACKAGE, spec.MAX_DESCRIPTOR_BYTES)
    if manifest is None:
        raise BundleError(problems.sorted(str(bundle)), bundle)
    signature = base64.b64encode(key.sign(manifest)) + b"\n" + openssh_public(key.public_key()) + b"\n"
    target = signature_path(bundle)
    write_atomic(target, signature)
    return target


def _signatures(bundle: Path, files: BundleFiles, problems: Problems) -> list[tuple[str, bytes]]:
    found = []
    if SIGNATURE in files.sizes:
        data = files.read(SIGNATURE, spec.MAX_SIGNATURE_BYTES)
        if data is not None:
            found.append((SIGNATURE, data))
    beside = bundle.with_name(f"{bundle.name}.sig")
    if not bundle.is_dir() and beside.is_file():
        try:
            with open(beside, "rb") as handle:
                data = handle.read(spec.MAX_SIGNATURE_BYTES + 1)
        except OSError as exc:
            problems.add(str(beside), f"cannot be read: {exc.strerror or exc}")
        else:
            if len(data) > spec.MAX_SIGNATURE_BYTES:
                problems.add(str(beside), "is not a bundle signature (too large)")
            else:
                found.append((str(beside), data))
    return found


def check_signature(bundle: Path, files: BundleFiles, manifest: bytes | None,
                    trusted_keys: Sequence[str | os.PathLike], problems: Problems) -> None:
    """Add a Problem unless a trusted key signed this very datapackage.json."""
    from cryptography.exceptions import InvalidSignature

    trusted = [key for path in trusted_keys for key in load_public_keys(path)]
    if manifest is None:
        return  # the manifest's own problem is reported; nothing can be signed without it
    found = _signatures(bundle, files, problems)
    if not found:
        where = SIGNATURE if bundle.is_dir() else f"{bundle.name}.sig beside the zip"
        problems.add(DATAPACKAGE, f"is not signed ({where} is missing); trusted keys are given, so a signature "
                                  "by one of them is required (tpkit bundle sign)")
        return
    trusted_prints = {fingerprint(key) for key in trusted}
    messages = []
    for where, data in found:
        lines = data.split(b"\n")
        try:
            signature = base64.b64decode(lines[0].strip(), validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if len(signature) != 64:
            messages.append((where, "is not an Ed25519 bundle signature (its first line is not 64 bytes of base64)"))
            continue
        for key in trusted:
            try:
                key.verify(signature, manifest)
                return
            except InvalidSignature:
                continue
        signer = _named_signer(lines[1] if len(lines) > 1 else b"")
        if signer is None or signer not in trusted_prints:
            messages.append((where, f"is a signature by {'an unnamed key' if signer is None else 'key ' + signer}, "
                                    "which is not a trusted key; the bundle is not signed by any trusted key"))
        else:
            messages.append((where, f"was made by trusted key {signer} but not for this datapackage.json: the "
                                    "manifest changed after signing (an older or edited bundle)"))
    for where, message in messages:
        problems.add(where, message)


def _named_signer(line: bytes) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        return fingerprint(serialization.load_ssh_public_key(line.strip()))
    except Exception:  # noqa: BLE001 - the line only names the signer; anything unreadable names nobody
        return None
