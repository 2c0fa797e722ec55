"""The layout tree: one entry as an ordered document that every writer renders.

The layout stage builds this once (``tpkit.layout``); the DOCX and PDF writers
only walk it. Nothing here knows about JSON, pydantic, Word or reportlab, so a
writer can never re-decide section order, headings or how a value prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union


@dataclass(frozen=True)
class Run:
    """A stretch of text with one look. ``link`` makes it a hyperlink (URLs in references).

    ``superscript`` is raised, smaller type (the citation marks of numeric styles such as
    AMA): writers render it as formatting, never as Unicode superscript characters.
    """

    text: str
    italic: bool = False
    bold: bool = False
    link: str | None = None
    citation: bool = False  # came from a citation mark; writers may style it
    superscript: bool = False


Runs = tuple[Run, ...]


@dataclass(frozen=True)
class Paragraph:
    runs: Runs


@dataclass(frozen=True)
class BulletItem:
    """One bullet. A lead term ("Palpation: ") is already in ``runs`` as a bold run."""

    runs: Runs


@dataclass(frozen=True)
class BulletList:
    items: tuple[BulletItem, ...]


@dataclass(frozen=True)
class SubHeading:
    text: str


@dataclass(frozen=True)
class Table:
    """A table whose first row is a header that repeats on every page."""

    header: tuple[str, ...]
    rows: tuple[tuple[Runs, ...], ...]
    widths: tuple[float, ...]  # relative column widths, summing to 1


@dataclass(frozen=True)
class Zone:
    region: str
    extent: Literal["essential", "spillover"]


@dataclass(frozen=True)
class Figure:
    """The referral-pattern body chart; writers draw it with ``tpkit.chart``."""

    zones: tuple[Zone, ...]
    trigger_points: tuple[str, ...]  # one body-region code per trigger point: one X each
    caption: str
    alt_text: str


@dataclass(frozen=True)
class Reference:
    """One formatted bibliography entry."""

    key: str
    runs: Runs


@dataclass(frozen=True)
class References:
    items: tuple[Reference, ...]


Block = Union[Paragraph, BulletList, SubHeading, Table, Figure, References]


@dataclass(frozen=True)
class Section:
    key: str  # stable machine name, e.g. "referral_pattern"
    heading: str  # printed heading, e.g. "Trigger Point Referral Pattern"
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Metadata:
    id: str
    title: str  # the muscle name
    subtitle: str  # e.g. "Trigger Points"
    region: str  # region code
    region_label: str  # e.g. "Hip and Pelvis"
    status: str
    updated: str  # YYYY-MM-DD
    authors: tuple[str, ...]
    license: str | None
    keywords: tuple[str, ...]
    language: str = "en"
    mark: str | None = None  # "DRAFT" or "REVIEW" for entries not published


@dataclass(frozen=True)
class Document:
    meta: Metadata
    sections: tuple[Section, ...] = field(default_factory=tuple)
