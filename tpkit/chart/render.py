"""The chart's three renderers: SVG (text), PNG (Pillow) and a reportlab ``Drawing``.

All paint one ``Scene`` (``tpkit.chart.scene``) and are deterministic. Pillow and
reportlab are imported only inside the functions that need them, so ``tpkit
validate`` never pays for them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from tpkit.chart.scene import BACKGROUND, DOT_DX, DOT_DY, DOT_R, SPILLOVER_DOT, SPILLOVER_FILL, Line, Poly, item_dots
from tpkit.chart.scene import build_scene as _scene
from tpkit.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from reportlab.graphics.shapes import Drawing

    from tpkit.document import Figure

MM_PER_PT = 25.4 / 72
PNG_DPI = 300
_SUPERSAMPLE = 2


def _views(views: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(views) if views else None


def print_size(figure: Figure, views: Sequence[str] | None = None) -> tuple[float, float]:
    """Width and height of the chart as it prints, in millimetres (writers narrower than the
    width shrink it to fit)."""
    sc = _scene(figure, _views(views))
    return sc.width * sc.factor, sc.height * sc.factor


chart_size = print_size


@dataclass(frozen=True)
class PrintSVG:
    """The chart as a standalone SVG document and the size it is meant to print at."""

    svg: bytes
    width_mm: float
    height_mm: float


def to_print_svg(figure: Figure, views: Sequence[str] | None = None) -> PrintSVG:
    """The chart for an engine that embeds SVG (Typst: ``image(svg, width: width_mm * 1mm)``)."""
    width, height = print_size(figure, views)
    return PrintSVG(to_svg(figure, views).encode("utf-8"), width, height)


# ----------------------------------------------------------------------------- SVG
def _escape(text: str) -> str:
    """XML character data / attribute value escaping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _num(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _pts(points) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def to_svg(figure: Figure, views: Sequence[str] | None = None) -> str:
    """The chart as a standalone SVG document (no external references), its width and height in mm."""
    scene = _scene(figure, _views(views))
    title = figure.alt_text or figure.caption or "Body chart"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {_num(scene.width)} {_num(scene.height)}"'
        f' width="{_num(scene.width * scene.factor)}mm" height="{_num(scene.height * scene.factor)}mm"'
        ' role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{_escape(title)}</title>',
    ]
    if figure.caption and figure.caption != title:
        out.append(f"<desc>{_escape(figure.caption)}</desc>")
    patterns: dict[tuple[float, float], str] = {}
    for item in scene.items:
        if isinstance(item, Poly) and item.spill and item.origin not in patterns:
            patterns[item.origin] = f"stipple-{len(patterns) + 1}"
    if patterns:
        out.append("<defs>")
        for (ox, oy), pid in patterns.items():
            out.append(
                f'<pattern id="{pid}" patternUnits="userSpaceOnUse" x="{_num(ox)}" y="{_num(oy)}"'
                f' width="{_num(DOT_DX)}" height="{_num(2 * DOT_DY)}">'
                f'<rect width="{_num(DOT_DX)}" height="{_num(2 * DOT_DY)}" fill="{SPILLOVER_FILL}"/>'
                f'<circle cx="{_num(0.25 * DOT_DX)}" cy="{_num(0.5 * DOT_DY)}" r="{_num(DOT_R)}"'
                f' fill="{SPILLOVER_DOT}"/>'
                f'<circle cx="{_num(0.75 * DOT_DX)}" cy="{_num(1.5 * DOT_DY)}" r="{_num(DOT_R)}"'
                f' fill="{SPILLOVER_DOT}"/>'
                "</pattern>"
            )
        out.append("</defs>")
    out.append(f'<rect width="{_num(scene.width)}" height="{_num(scene.height)}" fill="{BACKGROUND}"/>')
    out.append(
        '<g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" stroke-linejoin="round" stroke-linecap="round">'
    )
    for item in scene.items:
        if isinstance(item, Poly):
            fill = f"url(#{patterns[item.origin]})" if item.spill else (item.fill or "none")
            stroke = (
                f' stroke="{item.stroke}" stroke-width="{_num(item.width)}"' if item.stroke and item.width else ""
            )
            out.append(f'<polygon points="{_pts(item.points)}" fill="{fill}"{stroke}/>')
        elif isinstance(item, Line):
            tag = "polygon" if item.closed else "polyline"
            out.append(
                f'<{tag} points="{_pts(item.points)}" fill="none" stroke="{item.stroke}"'
                f' stroke-width="{_num(item.width)}"/>'
            )
        else:
            weight = ' font-weight="bold"' if item.bold else ""
            anchor = ' text-anchor="middle"' if item.anchor == "middle" else ""
            out.append(
                f'<text x="{_num(item.x)}" y="{_num(item.y)}" font-size="{_num(item.size)}"{weight}{anchor}'
                f' fill="{item.fill}">{_escape(item.text)}</text>'
            )
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- PNG
def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@lru_cache(maxsize=16)
def _font(size_px: int, bold: bool):
    from io import BytesIO

    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    data = (resources.files("tpkit") / "fonts" / name).read_bytes()
    return ImageFont.truetype(BytesIO(data), size_px)


def to_png(figure: Figure, width_in: float | None = None, views: Sequence[str] | None = None) -> bytes:
    """The chart as PNG bytes, 300 dpi at ``width_in`` inches wide (by default its print width);
    no metadata but the dpi."""
    from PIL import Image, ImageDraw

    scene = _scene(figure, _views(views))
    if width_in is None:
        width_in = scene.width * scene.factor / 25.4
    if width_in <= 0:
        raise ValueError("width_in must be positive")
    out_w = max(1, round(width_in * PNG_DPI))
    out_h = max(1, round(out_w * scene.height / scene.width))
    k = _SUPERSAMPLE * out_w / scene.width  # pixels per chart unit while drawing
    img = Image.new("RGB", (out_w * _SUPERSAMPLE, out_h * _SUPERSAMPLE), _rgb(BACKGROUND))
    draw = ImageDraw.Draw(img)

    def px(points):
        return [(x * k, y * k) for x, y in points]

    def stroke(points, colour, width, closed=False):
        pts = px(points)
        if closed:
            pts = pts + pts[:2]
        w = max(1, round(width * k))
        draw.line(pts, fill=_rgb(colour), width=w, joint="curve")
        r = w / 2
        if not closed and w > 2:  # round caps
            for x, y in (pts[0], pts[-1]):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=_rgb(colour))

    for item in scene.items:
        if isinstance(item, Poly):
            if item.fill:
                draw.polygon(px(item.points), fill=_rgb(item.fill))
            if item.spill:
                r = DOT_R * k
                for cx, cy in item_dots(item):
                    draw.ellipse((cx * k - r, cy * k - r, cx * k + r, cy * k + r), fill=_rgb(SPILLOVER_DOT))
            if item.stroke and item.width:
                stroke(item.points, item.stroke, item.width, closed=True)
        elif isinstance(item, Line):
            stroke(item.points, item.stroke, item.width, item.closed)
        else:
            font = _font(max(1, round(item.size * k)), item.bold)
            anchor = "ms" if item.anchor == "middle" else "ls"
            draw.text((item.x * k, item.y * k), item.text, font=font, fill=_rgb(item.fill), anchor=anchor)
    img = img.reduce(_SUPERSAMPLE)  # a box filter over exact 2x2 blocks: as smooth as LANCZOS here, 10x faster
    return _png_bytes(img.size, img.tobytes(), PNG_DPI)


def _png_bytes(size: tuple[int, int], rgb: bytes, dpi: int) -> bytes:
    """An 8-bit RGB PNG of raw pixel rows, with its resolution and nothing else.

    Pillow's encoder picks a filter for every row by trying all five, which costs twice the
    compression itself; the chart's flat colours compress as well unfiltered (filter type 0).
    """
    import struct
    import zlib

    width, height = size
    stride = width * 3
    rows = b"".join(b"\0" + rgb[start:start + stride] for start in range(0, len(rgb), stride))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    per_metre = round(dpi / 0.0254)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        chunk(b"IDAT", zlib.compress(rows, 3)),
        chunk(b"IEND", b""),
    ))


# ----------------------------------------------------------------------------- reportlab
def reportlab_shapes():
    """``reportlab.graphics.shapes``, imported with attribute checking off.

    Checking every attribute of every shape costs two thirds of the drawing time; the shapes
    here are built by this module from validated data. reportlab reads the switch when the
    module is first imported, so every import of it in tpkit goes through here.
    """
    if "reportlab.graphics.shapes" not in sys.modules:
        from reportlab import rl_config

        rl_config.shapeChecking = 0
    from reportlab.graphics import shapes

    return shapes


def to_drawing(figure: Figure, width_pt: float | None = None, views: Sequence[str] | None = None) -> Drawing:
    """The chart as a reportlab vector ``Drawing``, ``width_pt`` points wide (by default its print width)."""
    shapes = reportlab_shapes()
    Circle, Drawing, Group, Polygon, PolyLine, String = (
        shapes.Circle, shapes.Drawing, shapes.Group, shapes.Polygon, shapes.PolyLine, shapes.String)
    from reportlab.lib.colors import HexColor

    scene = _scene(figure, _views(views))
    if width_pt is None:
        width_pt = scene.width * scene.factor / MM_PER_PT
    if width_pt <= 0:
        raise ValueError("width_pt must be positive")
    s = width_pt / scene.width
    height_pt = scene.height * s
    drawing = Drawing(width_pt, height_pt)

    def flat(points):
        res: list[float] = []
        for x, y in points:
            res.extend((x * s, height_pt - y * s))
        return res

    for item in scene.items:
        if isinstance(item, Poly):
            if item.fill:
                drawing.add(Polygon(flat(item.points), fillColor=HexColor(item.fill), strokeColor=None,
                                    strokeWidth=0))
            if item.spill:
                group = Group()
                for cx, cy in item_dots(item):
                    group.add(Circle(cx * s, height_pt - cy * s, DOT_R * s, fillColor=HexColor(SPILLOVER_DOT),
                                     strokeColor=None, strokeWidth=0))
                drawing.add(group)
            if item.stroke and item.width:
                drawing.add(Polygon(flat(item.points), fillColor=None, strokeColor=HexColor(item.stroke),
                                    strokeWidth=item.width * s, strokeLineJoin=1))
        elif isinstance(item, Line):
            shape = Polygon if item.closed else PolyLine
            drawing.add(shape(flat(item.points), fillColor=None, strokeColor=HexColor(item.stroke),
                              strokeWidth=item.width * s, strokeLineJoin=1, strokeLineCap=1))
        else:
            drawing.add(String(item.x * s, height_pt - item.y * s, item.text,
                               fontName="Helvetica-Bold" if item.bold else "Helvetica", fontSize=item.size * s,
                               fillColor=HexColor(item.fill), textAnchor=item.anchor))
    return drawing


# ----------------------------------------------------------------------------- files
def write_chart(figure: Figure, path: str | Path, views: Sequence[str] | None = None) -> Path:
    """Write the chart to ``path`` as SVG, PNG or PDF, chosen by the suffix (atomically), at print size."""
    from tpkit.write import write_atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        data = to_svg(figure, views).encode("utf-8")
    elif suffix == ".png":
        data = to_png(figure, views=views)
    elif suffix == ".pdf":
        from reportlab.graphics import renderPDF

        data = renderPDF.drawToString(to_drawing(figure, views=views), invariant=1)
    else:
        raise UsageError(f"cannot write a chart as {suffix or 'a file without a suffix'!r}: use .svg, .png or .pdf")
    write_atomic(path, data)
    return path
