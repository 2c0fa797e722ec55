"""The body chart in a PDF: drawn as cached path operators (reportlab's own renderer as
the fallback), with its caption, shrunk a little where that keeps it on the page."""

from __future__ import annotations

from functools import lru_cache

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Flowable

from tpkit.document import Figure
from tpkit.writers.pdf.style import CHART_MAX_HEIGHT, _FONT_FILES, _FONT_SUBSTITUTES, SANS


def _chart(figure: Figure, frame_width: float) -> Flowable:
    """The body chart, centred, at its print size (``chart.print_size``), narrowed to the text width."""
    from tpkit import chart

    width = min(frame_width, chart.print_size(figure)[0] * mm)
    scene = _chart_scene(figure, round(width, 3))
    if scene is None:  # a drawing this renderer does not know: let reportlab draw it
        drawing = chart.to_drawing(figure, width)
        if drawing.height > CHART_MAX_HEIGHT:
            drawing = chart.to_drawing(figure, drawing.width * CHART_MAX_HEIGHT / drawing.height)
        _substitute_fonts(drawing)
        drawing.initialFontName = SANS  # else reportlab's renderer selects Helvetica first
        drawing.initialFontSize = 8
        drawing.hAlign = "CENTER"
        return drawing
    return _ChartFlowable(*scene)


def _substitute_fonts(node) -> None:
    """Point any standard-14 font names in a drawing at the embedded DejaVu faces."""
    name = getattr(node, "fontName", None)
    if name in _FONT_SUBSTITUTES:
        node.fontName = _FONT_SUBSTITUTES[name]
    for child in getattr(node, "contents", ()) or ():
        _substitute_fonts(child)


class _FigureBlock(Flowable):
    """The chart with its caption below, kept together and always at its print size.

    The chart's views are chosen so that every zone is readable at that size (tpkit.chart:
    essential zones at least 40 mm², every zone 3 mm across); a chart shrunk to end a page
    would break that promise, so one that does not fit moves whole to the next page.
    """

    GAP = 3.0

    def __init__(self, chart: Flowable, caption: RLParagraph):
        super().__init__()
        self.chart, self.caption = chart, caption
        self.spaceBefore, self.spaceAfter = 6, 8
        self.caption_height = 0.0

    def wrap(self, availWidth, availHeight):
        chart_w, chart_h = self.chart.wrap(availWidth, availHeight)
        _, self.caption_height = self.caption.wrap(availWidth, availHeight)
        self.width = availWidth
        self.height = chart_h + self.GAP + self.caption_height
        self.chart_size = (chart_w, chart_h)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        self.caption.drawOn(canvas, 0, 0)
        chart_w, _ = self.chart_size
        self.chart.drawOn(canvas, (self.width - chart_w) / 2, self.caption_height + self.GAP)


class _ChartFlowable(Flowable):
    """The chart as cached PDF path operators plus its few labels (drawn through the canvas, so fonts embed)."""

    def __init__(self, width: float, height: float, parts: tuple):
        super().__init__()
        self.width, self.height, self.parts = width, height, parts
        self.hAlign = "CENTER"

    def wrap(self, availWidth, availHeight):
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        for part in self.parts:
            if isinstance(part, str):
                canvas.addLiteral(part)  # self-contained: wrapped in q ... Q
            else:
                x, y, text, font, size, color, anchor = part
                canvas.setFont(font, size)
                canvas.setFillColor(color)
                if anchor == "middle":
                    canvas.drawCentredString(x, y, text)
                elif anchor == "end":
                    canvas.drawRightString(x, y, text)
                else:
                    canvas.drawString(x, y, text)


_KAPPA = 0.5522847498


@lru_cache(maxsize=64)
def _chart_scene(figure: Figure, width: float):
    """(width, height, parts) of the chart, or None if the drawing uses something not handled here.

    reportlab's own renderer formats every coordinate in pure Python (~50 ms a chart);
    this emits the same shapes as one pre-formatted operator string per run of shapes,
    cached per figure and width. ``parts`` holds strings (operators) and label tuples.
    """
    from tpkit import chart

    shapes = chart.reportlab_shapes()
    Circle, Drawing, Group, PolyLine, Polygon, String = (
        shapes.Circle, shapes.Drawing, shapes.Group, shapes.PolyLine, shapes.Polygon, shapes.String)
    drawing = chart.to_drawing(figure, width)
    k = min(1.0, CHART_MAX_HEIGHT / drawing.height) if drawing.height else 1.0
    parts: list = []
    ops: list[str] = []

    def num(v: float) -> str:
        return "%.2f" % (v * k)

    def rgb(color) -> str:
        return "%.4f %.4f %.4f" % (color.red, color.green, color.blue)

    def flush() -> None:
        if ops:
            parts.append("q\n" + "\n".join(ops) + "\nQ")
            ops.clear()

    def supported(node) -> bool:
        if getattr(node, "strokeDashArray", None):
            return False
        for attr in ("fillOpacity", "strokeOpacity"):
            if getattr(node, attr, None) not in (None, 1, 1.0):
                return False
        return True

    def paint(node, fill_mode_even_odd: bool, closed: bool) -> str | None:
        fill = getattr(node, "fillColor", None)
        stroke = getattr(node, "strokeColor", None)
        width_ = getattr(node, "strokeWidth", 1) or 0
        if stroke is not None and width_ > 0:
            ops.append(f"{rgb(stroke)} RG {num(width_)} w {int(getattr(node, 'strokeLineJoin', 0) or 0)} j "
                       f"{int(getattr(node, 'strokeLineCap', 0) or 0)} J")
        if fill is not None:
            ops.append(f"{rgb(fill)} rg")
        do_fill = fill is not None
        do_stroke = stroke is not None and width_ > 0
        if do_fill and do_stroke:
            return "b*" if fill_mode_even_odd else "b" if closed else "B"
        if do_fill:
            return "f*" if fill_mode_even_odd else "f"
        if do_stroke:
            return "s" if closed else "S"
        return None

    def walk(node) -> bool:
        if not supported(node):
            return False
        if isinstance(node, (Drawing, Group)):
            transform = tuple(getattr(node, "transform", (1, 0, 0, 1, 0, 0)))
            if transform != (1, 0, 0, 1, 0, 0):
                return False
            return all(walk(child) for child in node.contents)
        if isinstance(node, (Polygon, PolyLine)):
            closed = isinstance(node, Polygon)
            points = node.points
            if len(points) < 4:
                return True
            op = paint(node, closed and getattr(node, "fillMode", 0) == 0 and node.fillColor is not None, closed)
            if op is None:
                return True
            coords = [num(v) for v in points]
            path = [f"{coords[0]} {coords[1]} m"]
            path.extend(f"{coords[i]} {coords[i + 1]} l" for i in range(2, len(coords), 2))
            path.append(op)
            ops.append(" ".join(path) if len(path) < 8 else "\n".join(path))
            return True
        if isinstance(node, Circle):
            fill, stroke = node.fillColor, node.strokeColor
            if fill is not None and (stroke is None or not node.strokeWidth):
                # A filled dot (the stipple) is a zero-length line with a round cap: a fifth of the bytes.
                ops.append(f"{rgb(fill)} RG {num(2 * node.r)} w 1 J {num(node.cx)} {num(node.cy)} m "
                           f"{num(node.cx)} {num(node.cy)} l S")
                return True
            op = paint(node, False, True)
            if op is None:
                return True
            cx, cy, r = node.cx, node.cy, node.r
            c = r * _KAPPA
            ops.append(
                f"{num(cx + r)} {num(cy)} m "
                f"{num(cx + r)} {num(cy + c)} {num(cx + c)} {num(cy + r)} {num(cx)} {num(cy + r)} c "
                f"{num(cx - c)} {num(cy + r)} {num(cx - r)} {num(cy + c)} {num(cx - r)} {num(cy)} c "
                f"{num(cx - r)} {num(cy - c)} {num(cx - c)} {num(cy - r)} {num(cx)} {num(cy - r)} c "
                f"{num(cx + c)} {num(cy - r)} {num(cx + r)} {num(cy - c)} {num(cx + r)} {num(cy)} c {op}")
            return True
        if isinstance(node, String):
            if getattr(node, "textRenderMode", 0) not in (0, None) or node.fillColor is None:
                return False
            flush()
            font = _FONT_SUBSTITUTES.get(node.fontName, node.fontName)
            if font not in _FONT_FILES:
                font = SANS
            parts.append((round(node.x * k, 2), round(node.y * k, 2), node.text, font, round(node.fontSize * k, 2),
                          node.fillColor, node.textAnchor))
            return True
        return False

    if not walk(drawing):
        return None
    flush()
    return round(drawing.width * k, 2), round(drawing.height * k, 2), tuple(parts)
