"""Ways to print a validation report: text for people, JSON, GitHub annotations, JUnit XML.

``REPORTERS`` maps each ``--format`` name to its function; the CLI builds its
``click.Choice`` from the same dict, so a new reporter needs one line here.
"""

from __future__ import annotations

import json
import re
from typing import Callable

from tpkit.validate import Report


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _visible(value: str) -> str:
    """Control characters from an entry (say, in an unknown key) shown as \\uXXXX, never sent to a terminal."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def _summary(report: Report) -> str:
    files = len(report.results)
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"
    return f"{plural(files, 'file')} checked: {plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}"


def text(report: Report, color: bool = False) -> str:
    lines = []
    for issue in report.issues:
        severity = issue.severity
        if color:
            severity = f"\x1b[1;31m{severity}\x1b[0m" if issue.is_error else f"\x1b[1;33m{severity}\x1b[0m"
        pointer = f" [{issue.pointer}]" if issue.pointer else ""
        # severity may carry our own colour codes; everything from the entry is made visible
        lines.append(f"{_visible(issue.path)}:{issue.line}:{issue.column}: {severity} "
                     f"{issue.code} {_visible(issue.message + pointer)}")
    summary = _summary(report)
    if color:
        summary = f"\x1b[1m{summary}\x1b[0m"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def json_report(report: Report, color: bool = False) -> str:
    document = {
        "version": 1,
        "files": len(report.results),
        "errors": report.errors,
        "warnings": report.warnings,
        "issues": [issue.as_dict() for issue in report.issues],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _gh_data(value: str) -> str:
    return _visible(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_property(value: str) -> str:
    return _gh_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report, color: bool = False) -> str:
    """GitHub Actions workflow commands: one annotation per problem."""
    lines = []
    for issue in report.issues:
        command = "error" if issue.is_error else "warning"
        pointer = f" [{issue.pointer}]" if issue.pointer else ""
        lines.append(
            f"::{command} file={_gh_property(issue.path)},line={issue.line},col={issue.column},"
            f"title={_gh_property(issue.code)}::{_gh_data(issue.message + pointer)}"
        )
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    # XML 1.0 cannot hold these even escaped; show them as \uXXXX so the report stays well-formed
    value = _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attribute(value: str) -> str:
    # Same quoting as xml.sax.saxutils.quoteattr, without importing it (it pulls in urllib and http).
    value = _xml_text(value).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def junit(report: Report, color: bool = False) -> str:
    """JUnit XML: one test case per file, one failure per problem (warnings as failures of type warning)."""
    cases = []
    for result in report.results:
        issues = sorted(result.issues, key=lambda issue: issue.sort_key())
        body = []
        for issue in issues:
            detail = f"{issue.path}:{issue.line}:{issue.column}: {issue.severity} {issue.code} {issue.message}"
            if issue.pointer:
                detail += f" [{issue.pointer}]"
            body.append(
                f"      <failure type={_xml_attribute(issue.severity)} message={_xml_attribute(f'{issue.code} {issue.message}')}>"
                f"{_xml_text(detail)}</failure>"
            )
        name = _xml_attribute(result.display)
        if body:
            cases.append(f"    <testcase classname=\"tpkit.validate\" name={name}>\n" + "\n".join(body) + "\n    </testcase>")
        else:
            cases.append(f"    <testcase classname=\"tpkit.validate\" name={name}/>")
    tests = len(report.results)
    failed_cases = sum(1 for result in report.results if result.issues)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="tpkit validate" tests="{tests}" failures="{failed_cases}">\n'
        f'  <testsuite name="tpkit validate" tests="{tests}" failures="{failed_cases}" errors="0" skipped="0">\n'
        + ("\n".join(cases) + "\n" if cases else "")
        + "  </testsuite>\n</testsuites>\n"
    )


REPORTERS: dict[str, Callable[[Report, bool], str]] = {
    "text": text,
    "json": json_report,
    "github": github,
    "junit": junit,
}
