"""The body chart in a DOCX: a PNG, cached by figure, shown as large as fits."""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

from tpkit.document import Figure
from tpkit.writers.docx.ooxml import CHART_MAX_HEIGHT_IN, _E, _LRU, _W, safe_text


if TYPE_CHECKING:
    from tpkit.writers.docx.markup import _Builder


_CHARTS = _LRU(64)  # (figure, width) -> png bytes


def _chart_png(figure: Figure) -> bytes:
    key = figure
    png = _CHARTS.get(key)
    if png is None:
        from tpkit import chart

        png = chart.to_png(figure)  # 300 dpi at its print width
        _CHARTS.put(key, png)
    return png


def _png_size(png: bytes) -> tuple[int, int]:
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("chart.to_png did not return a PNG")
    return struct.unpack(">II", png[16:24])



def add_figure(builder: "_Builder", figure: Figure) -> None:
    """Append the chart (centred, kept with its caption) and its caption."""
    from docx.shared import Emu

    png = _chart_png(figure)
    px_w, px_h = _png_size(png)
    max_w = min(px_w / 300, builder.text_width / 1440)
    width_in = min(max_w, CHART_MAX_HEIGHT_IN * px_w / px_h)
    cx = round(width_in * 914400)
    cy = round(cx * px_h / px_w)
    p = builder.paragraph(jc="center", keep_next=True)
    inline = builder.part.new_pic_inline(io.BytesIO(png), Emu(cx), Emu(cy))
    doc_pr = inline.docPr
    doc_pr.set("name", f"Body chart {doc_pr.get('id')}")
    doc_pr.set("descr", safe_text(figure.alt_text))
    doc_pr.set("title", safe_text(f"Referral pattern of {builder.document.meta.title}"))
    r = _E(p, _W["r"])
    _E(r, _W["drawing"]).append(inline)
    builder.run(builder.paragraph("caption"), safe_text(figure.caption))
