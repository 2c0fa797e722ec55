"""The constants of the bundle format: file names, versions, patterns, the limits a reader
keeps to, and ``Problem``, the one kind of finding verification reports.

docs/bundle-format.md is the contract these constants implement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from tpkit.errors import UsageError

BUNDLE_FORMAT = "1.1"
"""Version of the bundle layout (files, datapackage.json and index.json fields, JSON-LD mapping)."""
KNOWN_BUNDLE_FORMATS = ("1.0", "1.1")  # what this tpkit verifies; 1.0 has no inLanguage, no default_license

DATAPACKAGE = "datapackage.json"
INDEX = "index.json"
SIGNATURE = "datapackage.json.sig"  # the detached signature of datapackage.json (see tpkit.bundle.sign)
ENTRY_SCHEMA = "muscle-entry.schema.json"
INDEX_SCHEMA = "bundle-index.schema.json"
# Inside the bundle the schemas drop the ".schema" infix: frictionless-py takes any file named
# "*schema.json" for a Frictionless Table Schema and would report the bundle invalid.
ENTRY_SCHEMA_PATH = "schemas/muscle-entry.json"
INDEX_SCHEMA_PATH = "schemas/bundle-index.json"
ENTRY_SCHEMA_REF = f"../{ENTRY_SCHEMA_PATH}"  # "$schema" of every bundled entry, relative to entries/
INDEX_SCHEMA_REF = INDEX_SCHEMA_PATH  # "$schema" of index.json, relative to the bundle root
DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
DEFAULT_TITLE = "Myofascial trigger point entries"
JSONLD_VOCAB = "http://schema.org/"  # the namespace schema.org's own JSON-LD context maps terms to

# -- limits: what a reader accepts before it inflates or parses anything ------------------------------
# Each is far above what tpkit writes (a bundle of 1,000 entries: descriptor ~710 KB, index
# ~370 KB, entries ~15 KB each) and low enough that parsing the worst JSON of that size (about 25
# bytes of memory per byte of "{}," soup) keeps every bundle command under 500 MB.
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # all files together, uncompressed; never held in memory at once
MAX_MEMBERS = 20_004  # files in a bundle: 10,000 entries with their JSON-LD, and the four others
MAX_DESCRIPTOR_BYTES = 8 * 1024 * 1024
MAX_INDEX_BYTES = 8 * 1024 * 1024
# An entry of 1 MB is some sixty times a full one. Validating hostile JSON of that size (a
# million one-letter list items, each a finding) peaks near 250 MB; at tpkit validate's 5 MB it
# would be 900 MB, so a bundle's entries have a lower limit, which build_bundle keeps too.
MAX_ENTRY_BYTES = 1024 * 1024
MAX_JSONLD_BYTES = 2 * 1024 * 1024  # compared byte for byte with what tpkit derives, never parsed
MAX_SCHEMA_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 4096
MAX_PROBLEMS = 1000  # reported one by one; the rest are counted

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*", re.ASCII)
NAME_MAX = 100
SEMVER_PATTERN = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
LICENSE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*", re.ASCII)
SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*", re.ASCII)
RFC3339_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", re.ASCII)
HASH = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
ENTRY_FILE = re.compile(r"entries/([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.(json|jsonld)", re.ASCII)

# The entry schemas tpkit has published, by content model version: a bundled schema must be one
# of these, byte for byte (after CRLF -> LF). A change to schemas/muscle-entry.schema.json, even
# to a description, adds its digest here (a test says so), so that bundles built before it
# still verify.
PUBLISHED_ENTRY_SCHEMAS = {
    "1.0": ("sha256:e92d30955213e0eefae96b1427f5b61c563dc4ef7d903d79178b4b6d579eb68c",),
    "1.1": ("sha256:83c3ed8422754612bc845c9a428f0b6a39af61aef07503c72248099a6b016626",),
}
_SCHEMA_ID_VERSION = re.compile(r"/muscle-entry/([0-9]+\.[0-9]+)/")


@dataclass(frozen=True, order=True)
class Problem:
    """One verification failure: the file it concerns (a path inside the bundle, or the bundle itself), and what."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "message": self.message}


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def schema_bytes(name: str) -> bytes:
    """A schema file of tpkit as bundled: its bytes with LF line ends."""
    from tpkit.schema import schema_path

    return schema_path(name).read_bytes().replace(b"\r\n", b"\n")


@lru_cache(maxsize=None)
def content_model_version() -> str:
    """The content model version (schema_version) of tpkit's entry schema, from its ``$id``."""
    from tpkit.schema import load_schema

    match = _SCHEMA_ID_VERSION.search(load_schema()["$id"])
    if not match:
        raise RuntimeError("tpkit's entry schema has no version in its $id")
    return match.group(1)


def published_entry_schemas() -> dict[str, tuple[str, ...]]:
    """{content model version: sha256 digests of the entry schemas tpkit published for it}."""
    return PUBLISHED_ENTRY_SCHEMAS


def check_name(name: str) -> str:
    """A bundle name: Frictionless-valid and safe as a file name; raise UsageError otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > NAME_MAX:
        raise UsageError(
            f"bundle name {name!r} is not valid: use lower-case letters, digits, '.', '-' and '_', "
            f"starting with a letter or digit, at most {NAME_MAX} characters (e.g. \"tpkit-entries\")")
    return name


def check_version(version: str) -> str:
    """A content version: SemVer 2.0.0 (e.g. "1.4.0", "2.0.0-rc.1"); raise UsageError otherwise."""
    if not isinstance(version, str) or not SEMVER_PATTERN.fullmatch(version):
        raise UsageError(
            f"bundle version {version!r} is not a SemVer version: write MAJOR.MINOR.PATCH such as \"1.4.0\" "
            "(optionally with a pre-release such as \"-rc.1\"); see https://semver.org")
    return version


def zip_name(name: str, version: str) -> str:
    return f"{check_name(name)}-{check_version(version)}.zip"


def license_url(expression: str | None) -> str | None:
    if expression and SPDX_ID.fullmatch(expression):
        return f"https://spdx.org/licenses/{expression}.html"
    return None
