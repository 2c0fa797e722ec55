"""Tables in a DOCX (the innervation table): fixed column widths, a header row repeated
on every page, rows that do not split."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from tpkit.document import Table
from tpkit.writers.docx.ooxml import _E, _W, W_VAL, safe_text


if TYPE_CHECKING:
    from tpkit.writers.docx.markup import _Builder


def add_table(builder: "_Builder", table: Table) -> None:
    """Append ``table`` to the body, before its section properties."""
    n = len(table.header)
    widths = list(table.widths) if len(table.widths) == n else [1 / n] * n
    total = sum(widths) or 1.0
    cols = [int(builder.text_width * w / total) for w in widths]
    tbl = etree.Element(_W["tbl"])
    tpr = _E(tbl, _W["tblPr"])
    _E(tpr, _W["tblStyle"]).set(W_VAL, builder.ids["table"])
    tw = _E(tpr, _W["tblW"])
    tw.set(_W["w"], str(sum(cols)))
    tw.set(_W["type"], "dxa")
    _E(tpr, _W["tblLayout"]).set(_W["type"], "fixed")
    look = _E(tpr, _W["tblLook"])
    for k, v in (("val", "04A0"), ("firstRow", "1"), ("lastRow", "0"), ("firstColumn", "1"),
                 ("lastColumn", "0"), ("noHBand", "0"), ("noVBand", "1")):
        look.set(_W[k], v)
    grid = _E(tbl, _W["tblGrid"])
    for w in cols:
        _E(grid, _W["gridCol"]).set(_W["w"], str(w))

    def row(cells, header: bool) -> None:
        tr = _E(tbl, _W["tr"])
        trpr = _E(tr, _W["trPr"])
        _E(trpr, _W["cantSplit"])
        if header:
            _E(trpr, _W["tblHeader"])
        for w, cell in zip(cols, cells):
            tc = _E(tr, _W["tc"])
            tcpr = _E(tc, _W["tcPr"])
            tcw = _E(tcpr, _W["tcW"])
            tcw.set(_W["w"], str(w))
            tcw.set(_W["type"], "dxa")
            p = builder.paragraph(parent=tc)
            if header:
                builder.run(p, safe_text(cell))
            else:
                builder.runs(p, cell)

    row(table.header, True)
    for cells in table.rows:
        row(tuple(cells) + ((),) * (n - len(cells)), False)
    builder.anchor.addprevious(tbl)
