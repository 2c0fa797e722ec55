"""The ``tpkit`` command line: parses options, calls the library, picks a reporter, sets the exit code.

Exit codes: 0 success, 1 content problems, 2 usage or I/O errors. No traceback
ever reaches the user; an unexpected failure prints one line and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tpkit import __version__
from tpkit.reporters import REPORTERS
from tpkit.validate import Options, Report, UsageError, validate_paths

DEFAULT_ENTRIES = "entries"


class TpkitGroup(click.Group):
    def main(self, *args, **kwargs):  # noqa: D401 - click's signature
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("tpkit: interrupted", err=True)
            sys.exit(130)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        except OSError as exc:
            click.echo(f"tpkit: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", err=True)
            sys.exit(2)
        except Exception as exc:  # the last guard: a one-line message, never a traceback
            click.echo(f"tpkit: internal error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(2)


@click.group(cls=TpkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tpkit")
def cli() -> None:
    """Validate trigger point muscle entries and export them as DOCX, PDF and JSON bundles."""


def _report(report: Report, fmt: str, strict: bool, stream=None) -> int:
    stream = stream or sys.stdout
    color = fmt == "text" and stream.isatty()
    stream.write(REPORTERS[fmt](report, color))
    stream.flush()
    if report.io_failed:
        return 2
    return 1 if report.failed(strict) else 0


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(list(REPORTERS)), default="text", show_default=True,
              help="How to print problems: text for people, json, github (workflow annotations) or junit (XML).")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None,
              help="Refuse files larger than this many bytes (default 5 MB).")
def validate(paths: tuple[str, ...], fmt: str, strict: bool, max_bytes: int | None) -> None:
    """Check entries against the content model and report every problem.

    PATHS are entry files or folders (searched for *.json); the default is entries/.
    Exit 0 when valid, 1 on content problems, 2 on usage or I/O errors.
    """
    options = Options()
    if max_bytes:
        options.max_bytes = max_bytes
    report = validate_paths(paths or (DEFAULT_ENTRIES,), options)
    sys.exit(_report(report, fmt, strict))


@cli.command()
@click.argument("code", required=False)
def rules(code: str | None) -> None:
    """List the rules, or explain one: tpkit rules TP203."""
    from tpkit.rules import RULES

    if code is None:
        for rule in RULES.values():
            click.echo(f"{rule.code}  {rule.severity:<7}  {rule.summary}")
        return
    rule = RULES.get(code.upper())
    if rule is None:
        raise click.UsageError(f"no rule {code}; `tpkit rules` lists them")
    click.echo(f"{rule.code} ({rule.severity}): {rule.summary}\n\n{rule.explanation}")


@cli.command()
@click.argument("entry_id")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=DEFAULT_ENTRIES, show_default=True,
              help="Folder to write the new entry in.")
@click.option("--name", help="The muscle's name (default: from the id).")
def new(entry_id: str, folder: str, name: str | None) -> None:
    """Write entries/ENTRY_ID.json with every section present and placeholder text to fill in."""
    from tpkit.scaffold import write_new_entry

    path = write_new_entry(Path(folder), entry_id, name)
    click.echo(f"wrote {path}: fill in every section, then run `tpkit validate {path}`")


def main() -> None:
    cli(prog_name="tpkit")
