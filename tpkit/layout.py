"""Layout: a validated entry becomes the ordered ``Document`` that every writer renders.

This is the only place that decides section order, headings, how a list item
reads ("Palpation: ..."), how roots print ("L4–S1") and how citation marks
become formatted citations. Writers never see a raw ``[@key]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Mapping, NamedTuple, Sequence

from tpkit import marks
from tpkit.document import (
    BulletItem, BulletList, Document, Figure, Metadata, Paragraph, References, Run, Section,
    SubHeading, Table, Zone,
)
from tpkit.vocabulary import CATEGORY_LABELS, REGION_LABELS, REGIONS, format_segments, region_words

if TYPE_CHECKING:
    from tpkit.models import Entry

DEFAULT_STYLE = "apa"

# The content model's "What exports print": (key, heading), in order.
SECTIONS = (
    ("summary", "Introduction"),
    ("area", "Name and Area"),
    ("indications", "Indications"),
    ("actions", "Muscle Action"),
    ("symptoms", "Signs and Symptoms"),
    ("perpetuating_factors", "Perpetuating Factors"),
    ("referral_pattern", "Trigger Point Referral Pattern"),
    ("differential_diagnosis", "Differential Diagnosis"),
    ("associated_trigger_points", "Associated Trigger Points"),
    ("anatomy", "Anatomy and Innervation"),
    ("examination", "Patient Examination"),
    ("precautions", "Precautions"),  # only when the entry has any
    ("corrective_actions", "Corrective Actions"),
    ("conclusion", "Conclusion"),
    ("references", "References"),
)
TABLE_HEADER = ("Muscle", "Origin", "Insertion", "Innervation")
TABLE_WIDTHS = (0.2, 0.28, 0.26, 0.26)
STATUS_MARKS = {"draft": "DRAFT", "review": "REVIEW"}
RED_FLAG_LEAD = "Seek medical assessment if"
CAUTION_LEAD = "Cautions"


def collection_order(entries: Iterable["Entry"]) -> list["Entry"]:
    """Entries as collections print them: by body region (head to foot), then name, then id."""
    rank = {region: index for index, region in enumerate(REGIONS)}
    return sorted(entries, key=lambda e: (rank[e.region], e.name.casefold(), e.id))


def chart_caption(name: str, trigger_regions: Sequence[str] = ()) -> str:
    """The chart's caption; it names where every X stands ("gluteal ×2" for two in one region)."""
    counts = {region: trigger_regions.count(region) for region in dict.fromkeys(trigger_regions)}
    marks = ", ".join(region_words(r) + (f" \u00d7{n}" if n > 1 else "") for r, n in counts.items())
    where = f" ({marks})" if marks else ""
    return (f"Referral pattern of {name}: essential zone solid, spillover zone stippled, "
            f"trigger points marked X{where}.")


def chart_alt_text(entry: "Entry") -> str:
    def listed(regions: Sequence[str]) -> str:
        return ", ".join(region_words(r) for r in regions) or "none"

    zones = entry.referral_pattern.zones
    essential = [z.region for z in zones if z.extent == "essential"]
    spillover = [z.region for z in zones if z.extent == "spillover"]
    text = (f"Body chart of the referral pattern of {entry.name}. "
            f"Essential zone: {listed(essential)}. Spillover zone: {listed(spillover)}.")
    points = list(entry.trigger_points or ())
    if points:  # every point, as the chart draws an X for every one
        sites = "; ".join(f"{marks.plain(p.location)} ({region_words(p.region)})" for p in points)
        text += f" Trigger points: {sites}."
    return text


def figure_of(entry: "Entry") -> Figure:
    """The body chart of an entry: its zones and one trigger point site per point, with caption and alt text."""
    trigger_regions = tuple(p.region for p in entry.trigger_points or ())
    return Figure(
        zones=tuple(Zone(z.region, z.extent) for z in entry.referral_pattern.zones),
        trigger_points=trigger_regions,
        caption=chart_caption(entry.name, trigger_regions),
        alt_text=chart_alt_text(entry),
    )


class _Marked(NamedTuple):
    """An entry text not yet split into runs and citation marks (see ``_Inlines``)."""

    text: str
    bold: bool = False


class _Inlines:
    """Resolves the citation marks of a document in reading order.

    Numeric styles number a source by its first mark in the printed handout, so texts
    are first collected as ``_Marked`` placeholders; ``number`` then splits them into
    runs and marks walking the blocks in the order they print (sections in order, and
    inside a section paragraphs, list items, table rows left to right, captions), and
    only then are all marks formatted at once.
    """

    def __init__(self) -> None:
        self.clusters: list[tuple[marks.CiteRef, ...]] = []

    def number(self, pending: list) -> None:
        """Replace the placeholders of one printed piece, in place, by runs and cluster numbers."""
        out: list = []
        for piece in pending:
            if not isinstance(piece, _Marked):
                out.append(piece)
                continue
            for inline in marks.parse(piece.text):
                if isinstance(inline, marks.Span):
                    out.append(Run(inline.text, italic=inline.italic, bold=piece.bold or inline.bold))
                else:
                    out.append(len(self.clusters))
                    self.clusters.append(inline.refs)
        pending[:] = out

    def resolve(self, pending: list, formatted: list[tuple[Run, ...]]) -> tuple[Run, ...]:
        resolved: list[Run] = []
        for item in pending:
            if isinstance(item, int):
                marks_ = formatted[item]
                if marks_ and marks_[0].superscript:
                    # a raised mark sits on the word before it: "pain¹," not "pain ¹,"
                    while resolved and resolved[-1].text.endswith(" "):
                        kept = resolved[-1].text.rstrip(" ")
                        if kept:
                            resolved[-1] = replace(resolved[-1], text=kept)
                            break
                        resolved.pop()
                resolved.extend(marks_)
            else:
                resolved.append(item)
        return _merge(resolved)


def _pieces_in_print_order(block) -> list[list]:
    """The run lists of a pending block, in the order a reader meets them."""
    kind, value = block
    if kind == "p":
        return [value]
    if kind == "ul":
        return list(value)
    if kind == "table":
        return [cell for row in value for cell in row]
    return []  # sub-headings and figures print no entry text with marks


def _look(run: Run) -> tuple:
    return (run.italic, run.bold, run.link, run.citation, run.superscript)


def _merge(runs: list[Run]) -> tuple[Run, ...]:
    """Join neighbouring runs of the same look, so writers emit fewer, cleaner runs."""
    merged: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        if merged and _look(merged[-1]) == _look(run):
            merged[-1] = replace(merged[-1], text=merged[-1].text + run.text)
        else:
            merged.append(run)
    return tuple(merged)


def build_document(entry: "Entry", *, names: Mapping[str, str] | None = None, style: str = DEFAULT_STYLE,
                   default_license: str | None = None, formatter=None, locale: str | None = None) -> Document:
    """The entry as a Document.

    ``names`` maps entry ids to muscle names (for associated muscles); ``default_license``
    is printed for entries that name none (from the project configuration). Citations
    use ``locale`` (``--locale`` / tpkit.toml), else the entry's ``language``, else the
    style's default locale.
    """
    names = names or {}
    inlines = _Inlines()
    # Blocks are first built with "pending" run lists (strings and cluster numbers) ...
    P = lambda text: ("p", [_Marked(text)])  # noqa: E731

    def item(lead: str | None, body: str | None) -> list:
        pending: list = []
        if lead:
            pending.append(_Marked(lead, bold=True))
            if body:
                pending.append(Run(": ", bold=False))
        if body:
            pending.append(_Marked(body))
        return pending

    def bullets(items: Iterable[list]) -> tuple:
        return ("ul", list(items))

    rp = entry.referral_pattern
    zone_items = [
        item(f"{region_words(z.region).capitalize()} ({z.extent})", z.note) for z in rp.zones
    ]
    point_items = [item("Trigger point", f"{p.location}") for p in entry.trigger_points or ()]
    corrective: list = []
    for group in entry.corrective_actions:
        corrective.append(("h", CATEGORY_LABELS[group.category]))
        corrective.append(bullets(item(i.name, i.instructions) for i in group.items))
    # Red flags first, then cautions; each names the category it applies to as its lead term.
    # The two leads are sub-headings so that every writer keeps them with their list and the
    # book's outline shows them, without a block type of their own.
    precautions: list = []
    for kind, lead in (("red-flag", RED_FLAG_LEAD), ("caution", CAUTION_LEAD)):
        listed = [p for p in entry.precautions or () if p.kind == kind]
        if listed:
            precautions.append(("h", lead))
            precautions.append(bullets(item(CATEGORY_LABELS[p.applies_to] if p.applies_to else None, p.text)
                                       for p in listed))
    table_rows = [
        [[_Marked(row.muscle)], [_Marked(row.origin)], [_Marked(row.insertion)],
         [_Marked(f"{row.innervation.nerve} ({format_segments(row.innervation.roots)})")]]
        for row in entry.anatomy
    ]
    figure = figure_of(entry)
    plan: list[tuple[str, str, list]] = [
        ("summary", "Introduction", [P(entry.summary)]),
        ("area", "Name and Area", [bullets([item("Name", entry.name), item("Area", entry.area)])]),
        ("indications", "Indications", [bullets(item(None, t) for t in entry.indications)]),
        ("actions", "Muscle Action", [bullets(item(a.action, a.description) for a in entry.actions)]),
        ("symptoms", "Signs and Symptoms", [bullets(item(None, t) for t in entry.symptoms)]),
        ("perpetuating_factors", "Perpetuating Factors",
         [bullets(item(f.factor, f.description) for f in entry.perpetuating_factors)]),
        ("referral_pattern", "Trigger Point Referral Pattern",
         [P(rp.description), ("fig", figure), bullets(zone_items + point_items)]),
        ("differential_diagnosis", "Differential Diagnosis",
         [bullets(item(d.condition, d.distinguishing_features) for d in entry.differential_diagnosis)]),
        ("associated_trigger_points", "Associated Trigger Points",
         [bullets(item(names.get(a.muscle) or a.muscle.replace("-", " ").title(), a.note)
                  for a in entry.associated_trigger_points)]),
        ("anatomy", "Anatomy and Innervation", [("table", table_rows)]),
        ("examination", "Patient Examination", [bullets(item(e.name, e.description) for e in entry.examination)]),
        ("precautions", "Precautions", precautions),
        ("corrective_actions", "Corrective Actions", corrective),
        ("conclusion", "Conclusion", [P(entry.conclusion)]),
    ]
    plan = [(key, heading, blocks) for key, heading, blocks in plan if blocks]  # Precautions only when any
    assert [key for key, _, _ in plan] == [key for key, _ in SECTIONS[:-1] if key != "precautions" or precautions]

    for _, _, blocks in plan:
        for block in blocks:
            for pending in _pieces_in_print_order(block):
                inlines.number(pending)
    if formatter is None:
        from tpkit.citations import CitationFormatter, known_locale

        formatter = CitationFormatter([c.to_csl() for c in entry.citations], style,
                                      locale=locale or known_locale(entry.language))
    formatted, bibliography = formatter.format(inlines.clusters)

    def finish(block):
        kind, value = block
        if kind == "p":
            return Paragraph(inlines.resolve(value, formatted))
        if kind == "ul":
            return BulletList(tuple(BulletItem(inlines.resolve(v, formatted)) for v in value))
        if kind == "h":
            return SubHeading(value)
        if kind == "fig":
            return value
        if kind == "table":
            return Table(TABLE_HEADER, tuple(tuple(inlines.resolve(c, formatted) for c in row) for row in value),
                         TABLE_WIDTHS)
        raise ValueError(kind)

    sections = [Section(key, heading, tuple(finish(b) for b in blocks)) for key, heading, blocks in plan]
    sections.append(Section("references", "References", (References(tuple(bibliography)),)))
    return Document(metadata_of(entry, default_license), tuple(sections))


def metadata_of(entry: "Entry", default_license: str | None = None) -> Metadata:
    """What a document says about its entry, without laying out the sections."""
    return Metadata(
        id=entry.id,
        title=entry.name,
        subtitle=f"Trigger Points \u00b7 {REGION_LABELS[entry.region]}",
        region=entry.region,
        region_label=REGION_LABELS[entry.region],
        status=entry.status,
        updated=entry.updated.isoformat(),
        authors=tuple(a.name for a in entry.authors or ()),
        license=entry.license or default_license,
        keywords=(entry.name, "trigger points", "myofascial pain", REGION_LABELS[entry.region]),
        language=entry.document_language,
        mark=STATUS_MARKS.get(entry.status),
    )
