"""Tables in a PDF (the innervation table): a header row repeated on every page."""

from __future__ import annotations

from reportlab.platypus import Table as RLTable
from reportlab.platypus import Flowable, TableStyle

from tpkit.document import Table
from tpkit.writers.pdf.markup import markup, _Para, plain
from tpkit.writers.pdf.style import ACCENT, GRID, SERIF, TINT, _Styles


def _table(table: Table, frame_width: float, st: _Styles) -> Flowable:
    head = [_Para(plain(h), st.cell_head) for h in table.header]
    rows = [[_Para(markup(cell), st.cell) for cell in row] for row in table.rows]
    widths = [w * frame_width for w in table.widths] if table.widths else None
    t = RLTable([head] + rows, colWidths=widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), SERIF, 8.6, 11.4),  # reportlab's cell default is Helvetica
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), TINT),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, GRID),
        ("LINEBEFORE", (1, 0), (-1, -1), 0.4, GRID),
        ("LEFTPADDING", (0, 0), (-1, -1), 4.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4.5),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4.5),
    ]))
    return t
