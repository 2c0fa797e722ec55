"""JSON bundles: validated entries as a versioned, verifiable, signable Frictionless Data Package.

A bundle is a folder (or a zip of the same files, at its root)::

    datapackage.json                  Frictionless Data Package v2 descriptor
    index.json                        one row per entry (schemas/bundle-index.json)
    entries/<id>.json                 each entry in canonical form
    entries/<id>.jsonld               each entry as schema.org JSON-LD, context inline
    schemas/muscle-entry.json         the entry schema the bundle was built with
    schemas/bundle-index.json         the index schema

``docs/bundle-format.md`` documents every file and field and the versioning promise. One
module per job: ``spec`` (format constants and limits), ``canonical`` and ``jsonld`` (an
entry's two files), ``build`` (every file in memory), ``write`` (folder and zip on disk),
``read`` (a folder or zip, within limits), ``verify`` (``verify``, ``load``), ``diff`` and
``sign`` (keys and signatures). Nothing here prints or exits; the CLI wires it up.

The same entries, name, version, title, license and ``SOURCE_DATE_EPOCH`` give
byte-identical files and zip (with the same tpkit version, which ``datapackage.json`` records).
"""

from tpkit import __version__
from tpkit.errors import BundleError

from .build import build_bundle, build_index, created_time
from .canonical import canonical_json, entry_data
from .diff import (BundleDiff, EntryChange, EntryRef, SectionChange, diff, diff_entries, entry_changes,
                   format_diff)
from .jsonld import muscle_iri, to_jsonld
from .sign import keygen, sign
from .spec import (BUNDLE_FORMAT, DATAPACKAGE, INDEX, SIGNATURE, Problem, check_name, check_version,
                   content_model_version, zip_name)
from .verify import load, verify
from .write import build_zip, write_bundle

__all__ = [
    "BUNDLE_FORMAT", "DATAPACKAGE", "INDEX", "SIGNATURE", "BundleDiff", "BundleError", "EntryChange", "EntryRef",
    "Problem", "SectionChange", "__version__", "build_bundle", "build_index", "build_zip", "canonical_json",
    "check_name", "check_version", "content_model_version", "created_time", "diff", "diff_entries", "entry_changes",
    "entry_data", "format_diff", "keygen", "load", "muscle_iri", "sign", "to_jsonld", "verify", "write_bundle",
    "zip_name",
]
