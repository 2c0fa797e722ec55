"""The referral-pattern body chart: front and back outlines with the zones painted on.

The geometry is data (``tpkit/data/body-chart.json``): for each view ("front",
"back") the body outline and a few thin detail lines, and for every body-region
code of the vocabulary its polygon(s) on each view where it shows plus the point
where a trigger point X goes. Coordinates are chart units, y pointing down; each
view is a ``width`` x ``height`` box. One-sided regions are drawn on the
patient's right: the viewer's left on the front view, the viewer's right on the
back view.

This module builds one scene (a list of shapes in chart units) and three
back-ends paint it: SVG (a string), PNG (Pillow) and a reportlab ``Drawing``.
All three are deterministic. Pillow and reportlab are imported only inside the
functions that need them, so ``tpkit validate`` never pays for them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpkit.vocabulary import BODY_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from reportlab.graphics.shapes import Drawing

    from tpkit.document import Figure

__all__ = [
    "ESSENTIAL_RED",
    "load_geometry",
    "views_for",
    "chart_size",
    "to_svg",
    "to_png",
    "to_drawing",
    "write_chart",
]

VIEWS = ("front", "back")

# Colours
ESSENTIAL_RED = "#d7261e"
SPILLOVER_FILL = "#f6c4c0"
SPILLOVER_DOT = "#d7261e"
BODY_FILL = "#e3e3e3"
BODY_LINE = "#4a4a4a"
DETAIL_LINE = "#a3a3a3"
TEXT = "#222222"
SIDE_TEXT = "#8a8a8a"
MARK = "#000000"
HALO = "#ffffff"
BACKGROUND = "#ffffff"

# Layout, in chart units
# (text is large in chart units because a two-view chart prints about 3.5 in wide,
# where one unit is under half a point)
PAD = 8.0
LABEL_H = 24.0
LABEL_SIZE = 18.0
SIDE_SIZE = 13.0
LEGEND_W = 152.0
LEGEND_SIZE = 14.0
LEGEND_ROW = 23.0
SWATCH_W, SWATCH_H = 20.0, 14.0
OUTLINE_W = 1.3
DETAIL_W = 0.7
# Stipple: a staggered grid of dots, aligned to each view's origin
DOT_R = 0.75
DOT_DX = 3.2
DOT_DY = 2.8
# Trigger point X
X_HALF = 4.4
X_W = 1.8
X_HALO_W = 3.8

PNG_DPI = 300
_SUPERSAMPLE = 2


# ----------------------------------------------------------------------------- data
@lru_cache(maxsize=1)
def load_geometry() -> dict[str, Any]:
    """The chart geometry (``tpkit/data/body-chart.json``), parsed once; treat it as read-only.

    ``{"views": {view: {"label", "width", "height", "outline", "details"}},
    "regions": {code: {view: {"polygons": [[(x, y), ...], ...], "point": (x, y)}}}}``
    """
    text = (resources.files("tpkit") / "data" / "body-chart.json").read_text(encoding="utf-8")
    data = json.loads(text)
    for view in VIEWS:
        data["views"][view]["outline"] = [tuple(p) for p in data["views"][view]["outline"]]
        data["views"][view]["details"] = [[tuple(p) for p in line] for line in data["views"][view]["details"]]
    for entry in data["regions"].values():
        for view_entry in entry.values():
            view_entry["polygons"] = [[tuple(p) for p in poly] for poly in view_entry["polygons"]]
            view_entry["point"] = tuple(view_entry["point"])
    return data


def _check_codes(figure: Figure) -> None:
    regions = load_geometry()["regions"]
    for code in [zone.region for zone in figure.zones] + list(figure.trigger_points):
        if code not in regions:
            known = code in BODY_REGIONS
            raise ValueError(
                f"body region {code!r} has no chart geometry" if known else f"unknown body region {code!r}"
            )
    for zone in figure.zones:
        if zone.extent not in ("essential", "spillover"):
            raise ValueError(f"zone extent must be 'essential' or 'spillover', not {zone.extent!r}")


def views_for(figure: Figure) -> tuple[str, ...]:
    """The views to draw: one when it shows every zone and trigger point, else both.

    The front view wins when either would do; an empty figure shows both.
    """
    regions = load_geometry()["regions"]
    used = [zone.region for zone in figure.zones] + list(figure.trigger_points)
    if not used:
        return VIEWS
    for view in VIEWS:
        if all(view in regions[code] for code in used):
            return (view,)
    return VIEWS


def chart_size(figure: Figure) -> tuple[float, float]:
    """Width and height of the chart in chart units: the aspect ratio writers need to fit it on a page
    (one view is portrait, about 0.72 wide per unit of height; two views about 1.13)."""
    scene = _scene(figure)
    return scene.width, scene.height


# ----------------------------------------------------------------------------- scene
@dataclass(frozen=True)
class _Poly:
    points: tuple[tuple[float, float], ...]
    fill: str | None
    stroke: str | None = None
    width: float = 0.0
    spill: bool = False  # fill with the stipple (SVG pattern / explicit dots)
    origin: tuple[float, float] = (0.0, 0.0)  # the view origin the stipple grid is aligned to
    region: tuple[str, str, int] | None = None  # (code, view, polygon index) of a spillover zone


@dataclass(frozen=True)
class _Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float
    closed: bool = False


@dataclass(frozen=True)
class _Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    anchor: str  # "start" or "middle"
    fill: str
    bold: bool = False


@dataclass(frozen=True)
class _Scene:
    width: float
    height: float
    items: tuple[Any, ...]
    views: tuple[str, ...]
    origins: tuple[tuple[float, float], ...]  # top-left corner of each view, chart units


def _shift(points, ox: float, oy: float) -> tuple[tuple[float, float], ...]:
    return tuple((x + ox, y + oy) for x, y in points)


def _cross(x: float, y: float, half: float) -> list[tuple[tuple[float, float], ...]]:
    return [((x - half, y - half), (x + half, y + half)), ((x - half, y + half), (x + half, y - half))]


def _scene(figure: Figure) -> _Scene:
    _check_codes(figure)
    geo = load_geometry()
    regions = geo["regions"]
    views = views_for(figure)
    items: list[Any] = []
    origins: list[tuple[float, float]] = []
    x = PAD
    top = PAD + LABEL_H
    view_h = 0.0
    spill = [z.region for z in figure.zones if z.extent == "spillover"]
    essential = [z.region for z in figure.zones if z.extent == "essential"]
    for view in views:
        v = geo["views"][view]
        w, h = float(v["width"]), float(v["height"])
        view_h = max(view_h, h)
        origin = (x, top)
        origins.append(origin)
        items.append(_Text(x + w / 2, PAD + LABEL_SIZE - 2.0, v["label"], LABEL_SIZE, "middle", TEXT, bold=True))
        # the patient's sides
        side = -38.0 if view == "front" else 38.0  # the patient's right: viewer's left on the front view
        right_x, left_x = x + w / 2 + side, x + w / 2 - side
        items.append(_Text(right_x, top + 42.0, "R", SIDE_SIZE, "middle", SIDE_TEXT))
        items.append(_Text(left_x, top + 42.0, "L", SIDE_SIZE, "middle", SIDE_TEXT))
        outline = _shift(v["outline"], *origin)
        items.append(_Poly(outline, BODY_FILL))
        for line in v["details"]:  # under the zones: the zones are what the chart is about
            items.append(_Line(_shift(line, *origin), DETAIL_LINE, DETAIL_W))
        for code in spill:
            for index, poly in enumerate(regions[code].get(view, {}).get("polygons", ())):
                items.append(_Poly(_shift(poly, *origin), SPILLOVER_FILL, spill=True, origin=origin,
                                   region=(code, view, index)))
        for code in essential:
            for poly in regions[code].get(view, {}).get("polygons", ()):
                # a hairline of the same red hides seams between adjacent zones
                items.append(_Poly(_shift(poly, *origin), ESSENTIAL_RED, ESSENTIAL_RED, 0.35))
        items.append(_Line(outline, BODY_LINE, OUTLINE_W, closed=True))
        for code in dict.fromkeys(figure.trigger_points):
            entry = regions[code].get(view)
            if entry is None:
                continue
            px, py = entry["point"]
            for seg in _cross(px + origin[0], py + origin[1], X_HALF):
                items.append(_Line(seg, HALO, X_HALO_W))
            for seg in _cross(px + origin[0], py + origin[1], X_HALF):
                items.append(_Line(seg, MARK, X_W))
        x += w
    # legend, to the right of the views
    lx = x + 4.0
    ly = top + 30.0
    rows: list[tuple[str, str]] = [("essential", "Essential zone"), ("spillover", "Spillover zone"),
                                   ("trigger", "Trigger point")]
    for kind, label in rows:
        sw_x, sw_y, sw_w, sw_h = lx, ly - 0.5 * LEGEND_SIZE - 0.5 * SWATCH_H + 0.5, SWATCH_W, SWATCH_H
        box = ((sw_x, sw_y), (sw_x + sw_w, sw_y), (sw_x + sw_w, sw_y + sw_h), (sw_x, sw_y + sw_h))
        if kind == "essential":
            items.append(_Poly(box, ESSENTIAL_RED, BODY_LINE, 0.5))
        elif kind == "spillover":
            items.append(_Poly(box, SPILLOVER_FILL, spill=True, origin=(sw_x, sw_y)))
            items.append(_Line(box, BODY_LINE, 0.5, closed=True))
        else:
            items.append(_Poly(box, BODY_FILL, BODY_LINE, 0.5))
            for seg in _cross(sw_x + sw_w / 2, sw_y + sw_h / 2, X_HALF):
                items.append(_Line(seg, MARK, X_W))
        items.append(_Text(lx + sw_w + 6.0, ly, label, LEGEND_SIZE, "start", TEXT))
        ly += LEGEND_ROW
    width = x + LEGEND_W + PAD
    height = top + view_h + PAD
    return _Scene(width, height, tuple(items), views, tuple(origins))


def _item_dots(item: _Poly) -> tuple[tuple[float, float], ...]:
    """Stipple dot centres for a spillover polygon of the scene, in chart units."""
    ox, oy = item.origin
    if item.region is not None:
        base = _region_dots(*item.region)
    else:
        base = _dots(tuple((x - ox, y - oy) for x, y in item.points))
    return _shift(base, ox, oy)


@lru_cache(maxsize=None)
def _region_dots(code: str, view: str, index: int) -> tuple[tuple[float, float], ...]:
    """The stipple dots of one region polygon, in view coordinates (computed once)."""
    return _dots(load_geometry()["regions"][code][view]["polygons"][index])


def _dots(points) -> tuple[tuple[float, float], ...]:
    """Stipple dot centres inside a polygon given in view coordinates: a staggered grid
    aligned to the view origin, keeping the dots that fit inside (checked on three scan lines)."""
    ys = [p[1] for p in points]
    margin = DOT_R * 0.8
    res = []
    for j in range(math.floor(min(ys) / DOT_DY) - 1, math.ceil(max(ys) / DOT_DY) + 1):
        cy = (j + 0.5) * DOT_DY
        lines = [_spans(points, cy + dy) for dy in (-margin, 0.0, margin)]
        if not all(lines):
            continue
        shift = 0.25 if j % 2 == 0 else 0.75
        lo = min(a for a, _ in lines[1])
        hi = max(b for _, b in lines[1])
        for i in range(math.floor(lo / DOT_DX) - 1, math.ceil(hi / DOT_DX) + 1):
            cx = (i + shift) * DOT_DX
            if all(any(a <= cx - margin and cx + margin <= b for a, b in spans) for spans in lines):
                res.append((cx, cy))
    return tuple(res)


def _spans(points, y: float) -> list[tuple[float, float]]:
    """The stretches of the horizontal line at y that lie inside the polygon (even-odd)."""
    xs = []
    n = len(points)
    for i in range(n):
        x0, y0 = points[i - 1]
        x1, y1 = points[i]
        if (y0 > y) != (y1 > y):
            xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    xs.sort()
    return list(zip(xs[0::2], xs[1::2]))


# ----------------------------------------------------------------------------- SVG
def _escape(text: str) -> str:
    """XML character data / attribute value escaping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _num(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _pts(points) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def to_svg(figure: Figure) -> str:
    """The chart as a standalone SVG document (no external references)."""
    scene = _scene(figure)
    title = figure.alt_text or figure.caption or "Body chart"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {_num(scene.width)} {_num(scene.height)}"'
        f' width="{_num(scene.width)}" height="{_num(scene.height)}" role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{_escape(title)}</title>',
    ]
    if figure.caption and figure.caption != title:
        out.append(f"<desc>{_escape(figure.caption)}</desc>")
    patterns: dict[tuple[float, float], str] = {}
    for item in scene.items:
        if isinstance(item, _Poly) and item.spill and item.origin not in patterns:
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
        if isinstance(item, _Poly):
            fill = f"url(#{patterns[item.origin]})" if item.spill else (item.fill or "none")
            stroke = (
                f' stroke="{item.stroke}" stroke-width="{_num(item.width)}"' if item.stroke and item.width else ""
            )
            out.append(f'<polygon points="{_pts(item.points)}" fill="{fill}"{stroke}/>')
        elif isinstance(item, _Line):
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


def to_png(figure: Figure, width_in: float = 3.5) -> bytes:
    """The chart as PNG bytes, 300 dpi at ``width_in`` inches wide; no metadata but the dpi."""
    from PIL import Image, ImageDraw

    if width_in <= 0:
        raise ValueError("width_in must be positive")
    scene = _scene(figure)
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
        if isinstance(item, _Poly):
            if item.fill:
                draw.polygon(px(item.points), fill=_rgb(item.fill))
            if item.spill:
                r = DOT_R * k
                for cx, cy in _item_dots(item):
                    draw.ellipse((cx * k - r, cy * k - r, cx * k + r, cy * k + r), fill=_rgb(SPILLOVER_DOT))
            if item.stroke and item.width:
                stroke(item.points, item.stroke, item.width, closed=True)
        elif isinstance(item, _Line):
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


def to_drawing(figure: Figure, width_pt: float) -> Drawing:
    """The chart as a reportlab vector ``Drawing``, ``width_pt`` points wide."""
    shapes = reportlab_shapes()
    Circle, Drawing, Group, Polygon, PolyLine, String = (
        shapes.Circle, shapes.Drawing, shapes.Group, shapes.Polygon, shapes.PolyLine, shapes.String)
    from reportlab.lib.colors import HexColor

    if width_pt <= 0:
        raise ValueError("width_pt must be positive")
    scene = _scene(figure)
    s = width_pt / scene.width
    height_pt = scene.height * s
    drawing = Drawing(width_pt, height_pt)

    def flat(points):
        res: list[float] = []
        for x, y in points:
            res.extend((x * s, height_pt - y * s))
        return res

    for item in scene.items:
        if isinstance(item, _Poly):
            if item.fill:
                drawing.add(Polygon(flat(item.points), fillColor=HexColor(item.fill), strokeColor=None,
                                    strokeWidth=0))
            if item.spill:
                group = Group()
                for cx, cy in _item_dots(item):
                    group.add(Circle(cx * s, height_pt - cy * s, DOT_R * s, fillColor=HexColor(SPILLOVER_DOT),
                                     strokeColor=None, strokeWidth=0))
                drawing.add(group)
            if item.stroke and item.width:
                drawing.add(Polygon(flat(item.points), fillColor=None, strokeColor=HexColor(item.stroke),
                                    strokeWidth=item.width * s, strokeLineJoin=1))
        elif isinstance(item, _Line):
            shape = Polygon if item.closed else PolyLine
            drawing.add(shape(flat(item.points), fillColor=None, strokeColor=HexColor(item.stroke),
                              strokeWidth=item.width * s, strokeLineJoin=1, strokeLineCap=1))
        else:
            drawing.add(String(item.x * s, height_pt - item.y * s, item.text,
                               fontName="Helvetica-Bold" if item.bold else "Helvetica", fontSize=item.size * s,
                               fillColor=HexColor(item.fill), textAnchor=item.anchor))
    return drawing


# ----------------------------------------------------------------------------- files
def write_chart(figure: Figure, path: str | Path) -> Path:
    """Write the chart to ``path`` as SVG, PNG or PDF, chosen by the suffix (atomically)."""
    from tpkit.write import write_atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        data = to_svg(figure).encode("utf-8")
    elif suffix == ".png":
        data = to_png(figure)
    elif suffix == ".pdf":
        from reportlab.graphics import renderPDF

        data = renderPDF.drawToString(to_drawing(figure, 252.0), invariant=1)
    else:
        raise ValueError(f"cannot write a chart as {suffix or 'a file without a suffix'!r}: use .svg, .png or .pdf")
    write_atomic(path, data)
    return path
