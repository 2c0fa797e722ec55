"""One chart as a scene: shapes in millimetres at print size, which every renderer paints.

Views stand side by side, top-aligned, each under its label; the legend stands to
their right, or below them when the text width has no room for it. Every trigger
point gets its own X, in the chosen view that shows its region best; points in one
region spread inside it, and no X overlaps another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

from tpkit.chart.geometry import (
    CHART_PAD, LABEL_SIZE, MAX_WIDTH_MM, VIEW_GAP, check_figure, check_views, column_width, fit_factor, label_width,
    load_geometry, print_area, views_for, views_width,
)

if TYPE_CHECKING:  # pragma: no cover
    from tpkit.document import Figure

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

# Sizes, millimetres at print size
PAD = CHART_PAD
LABEL_H = 4.6
SIDE_SIZE = 2.4
LEGEND_SIZE = 2.6
LEGEND_ROW = 4.4
LEGEND_W = 29.0
SWATCH_W, SWATCH_H = 3.8, 2.7
OUTLINE_W = 0.25
DETAIL_W = 0.13
ZONE_SEAM_W = 0.07  # a hairline of the zone's own red hides seams between adjacent zones
# Stipple: a staggered grid of dots, aligned to each view's origin
DOT_R = 0.14
DOT_DX = 0.61
DOT_DY = 0.53
# Trigger point X
X_HALF = 0.9
X_W = 0.35
X_HALO_W = 0.75
X_APART = 2 * X_HALF + X_HALO_W  # centres closer than this (on either axis) would make the Xs touch
_GRID = 0.4  # where a crowded X looks for room


@dataclass(frozen=True)
class Poly:
    points: tuple[tuple[float, float], ...]
    fill: str | None
    stroke: str | None = None
    width: float = 0.0
    spill: bool = False  # fill with the stipple (SVG pattern / explicit dots)
    origin: tuple[float, float] = (0.0, 0.0)  # the view origin the stipple grid is aligned to
    region: tuple[str, str, int] | None = None  # (code, view, polygon index) of a spillover zone


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float
    closed: bool = False


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    anchor: str  # "start" or "middle"
    fill: str
    bold: bool = False


@dataclass(frozen=True)
class Mark:
    """One trigger point's X: its region, the view it is drawn on and its centre (chart mm)."""

    region: str
    view: str
    x: float
    y: float


@dataclass(frozen=True)
class Scene:
    width: float  # millimetres at natural size
    height: float
    factor: float  # the chart prints this many times its natural size (below 1 when wider than the text)
    items: tuple[Any, ...]
    views: tuple[str, ...]
    origins: tuple[tuple[float, float], ...]  # top-left corner of each view, mm
    marks: tuple[Mark, ...]
    legend: tuple[float, float, float, float]  # x0, y0, x1, y1 of the legend, mm


def _place(points, ox: float, oy: float, k: float) -> tuple[tuple[float, float], ...]:
    return tuple((ox + x * k, oy + y * k) for x, y in points)


def cross(x: float, y: float, half: float) -> list[tuple[tuple[float, float], ...]]:
    return [((x - half, y - half), (x + half, y + half)), ((x - half, y + half), (x + half, y - half))]


@lru_cache(maxsize=256)
def build_scene(figure: Figure, views: tuple[str, ...] | None = None) -> Scene:
    """The chart of a figure: the views ``views_for`` chooses, or those given."""
    check_figure(figure)
    views = views_for(figure) if not views else check_views(views)
    geo = load_geometry()
    regions = geo["regions"]
    items: list[Any] = []
    origins: list[tuple[float, float]] = []
    spill = [z.region for z in figure.zones if z.extent == "spillover"]
    essential = [z.region for z in figure.zones if z.extent == "essential"]
    top = PAD + LABEL_H
    x = PAD
    views_h = 0.0
    for view in views:
        v = geo["views"][view]
        k = v["scale"]
        col = column_width(view)
        w, h = v["width"] * k, v["height"] * k
        origin = (x + (col - w) / 2, top)
        origins.append(origin)
        views_h = max(views_h, h)
        items.append(Text(x + col / 2, PAD + LABEL_SIZE, v["label"], LABEL_SIZE, "middle", TEXT, bold=True))
        if v["sides"]:
            left, right = ("R", "L") if v["sides"] == "left" else ("L", "R")
            middle, (offset, baseline) = origin[0] + w / 2, v["side_at"]
            for dx, letter in ((-offset, left), (offset, right)):
                items.append(Text(middle + dx * k, top + baseline * k, letter, SIDE_SIZE, "middle", SIDE_TEXT))
        for ring in v["outlines"]:
            items.append(Poly(_place(ring, *origin, k), BODY_FILL))
        for line in v["details"]:  # under the zones: the zones are what the chart is about
            items.append(Line(_place(line, *origin, k), DETAIL_LINE, DETAIL_W))
        for code in spill:
            for index, poly in enumerate(regions[code].get(view, {}).get("polygons", ())):
                items.append(Poly(_place(poly, *origin, k), SPILLOVER_FILL, spill=True, origin=origin,
                                  region=(code, view, index)))
        for code in essential:
            for poly in regions[code].get(view, {}).get("polygons", ()):
                items.append(Poly(_place(poly, *origin, k), ESSENTIAL_RED, ESSENTIAL_RED, ZONE_SEAM_W))
        for edge in v["edges"]:
            closed = len(edge) > 2 and edge[0] == edge[-1]
            items.append(Line(_place(edge[:-1] if closed else edge, *origin, k), BODY_LINE, OUTLINE_W, closed))
        x += col + VIEW_GAP
    views_right = x - VIEW_GAP
    marks = _marks(figure, views, origins)
    for mark in marks:
        for seg in cross(mark.x, mark.y, X_HALF):
            items.append(Line(seg, HALO, X_HALO_W))
    for mark in marks:
        for seg in cross(mark.x, mark.y, X_HALF):
            items.append(Line(seg, MARK, X_W))
    # the legend: to the right of the views, or in one row under them where the text width has no room
    beside = views_width(views) + VIEW_GAP + LEGEND_W + 2 * PAD <= MAX_WIDTH_MM
    if beside:
        lx, ly = views_right + VIEW_GAP, top + 5.0
    else:
        lx, ly = PAD, top + views_h + 2.0 + LEGEND_SIZE
    legend_x0, legend_y0 = lx, ly - LEGEND_SIZE - 0.6
    rows = (("essential", "Essential zone"), ("spillover", "Spillover zone"), ("trigger", "Trigger point"))
    right = lx
    for kind, label in rows:
        sx, sy = lx, ly - 0.5 * LEGEND_SIZE - 0.5 * SWATCH_H + 0.1
        swatch = ((sx, sy), (sx + SWATCH_W, sy), (sx + SWATCH_W, sy + SWATCH_H), (sx, sy + SWATCH_H))
        if kind == "essential":
            items.append(Poly(swatch, ESSENTIAL_RED, BODY_LINE, 0.1))
        elif kind == "spillover":
            items.append(Poly(swatch, SPILLOVER_FILL, spill=True, origin=(sx, sy)))
            items.append(Line(swatch, BODY_LINE, 0.1, closed=True))
        else:
            items.append(Poly(swatch, BODY_FILL, BODY_LINE, 0.1))
            for seg in cross(sx + SWATCH_W / 2, sy + SWATCH_H / 2, X_HALF):
                items.append(Line(seg, MARK, X_W))
        items.append(Text(lx + SWATCH_W + 1.2, ly, label, LEGEND_SIZE, "start", TEXT))
        end = lx + SWATCH_W + 1.2 + label_width(label, LEGEND_SIZE) * 0.92
        right = max(right, end)
        if beside:
            ly += LEGEND_ROW
        else:
            lx = end + 3.0
    legend = (legend_x0, legend_y0, right, ly + 1.0 if not beside else ly - LEGEND_ROW + 1.0)
    width = max(views_right, legend[2]) + PAD
    height = max(top + views_h, legend[3]) + PAD
    return Scene(width, height, fit_factor(width), tuple(items), views, tuple(origins), marks, legend)


# ----------------------------------------------------------------------------- trigger point marks
def _marks(figure: Figure, views: Sequence[str], origins) -> tuple[Mark, ...]:
    """Every trigger point's X: on the chosen view that shows its region best (face-on, then largest)."""
    regions = load_geometry()["regions"]
    placed: dict[str, list[tuple[float, float]]] = {view: [] for view in views}
    counts: dict[tuple[str, str], int] = {}
    homes = []
    for code in figure.trigger_points:
        shown = [v for v in views if v in regions[code]]
        if not shown:
            homes.append(None)  # a forced set of views without this region: the caption still lists it
            continue
        view = min(shown, key=lambda v: (regions[code][v]["oblique"], -print_area(code, v), views.index(v)))
        homes.append(view)
        counts[(code, view)] = counts.get((code, view), 0) + 1
    marks = []
    for code, view in zip(figure.trigger_points, homes):
        if view is None:
            continue
        origin = origins[views.index(view)]
        x, y = _spot(code, view, origin, placed[view], counts[(code, view)])
        placed[view].append((x, y))
        marks.append(Mark(code, view, x, y))
    return tuple(marks)


def _spot(code: str, view: str, origin, taken: list[tuple[float, float]], in_region: int) -> tuple[float, float]:
    """Where the next X of a region goes: the region's own point if free, else the free place
    nearest it that keeps the region's Xs spread (about half the side of each one's share)."""
    geo = load_geometry()
    entry = geo["regions"][code][view]
    k = geo["views"][view]["scale"]
    ox, oy = origin
    px, py = ox + entry["point"][0] * k, oy + entry["point"][1] * k
    spread = max(X_APART, 0.5 * math.sqrt(print_area(code, view) / max(1, in_region)))

    def apart(x, y, distance):
        return all(max(abs(x - tx), abs(y - ty)) >= distance for tx, ty in taken)

    if apart(px, py, spread):
        return px, py
    polys = [_place(poly, ox, oy, k) for poly in entry["polygons"]]
    spots = _free_spots(polys)
    spots.sort(key=lambda s: (math.dist(s, (px, py)), s[1], s[0]))
    for distance in (spread, X_APART):
        for sx, sy in spots:
            if apart(sx, sy, distance):
                return sx, sy
    if not spots:
        return px, py
    return max(spots, key=lambda s: (min(max(abs(s[0] - tx), abs(s[1] - ty)) for tx, ty in taken), -s[1], -s[0]))


def _free_spots(polys) -> list[tuple[float, float]]:
    """Grid points where a whole X (its four tips and centre) lies inside the region."""
    xs = [p[0] for poly in polys for p in poly]
    ys = [p[1] for poly in polys for p in poly]
    res = []
    j0, j1 = math.floor(min(ys) / _GRID), math.ceil(max(ys) / _GRID)
    i0, i1 = math.floor(min(xs) / _GRID), math.ceil(max(xs) / _GRID)
    for j in range(j0, j1 + 1):
        y = j * _GRID
        for i in range(i0, i1 + 1):
            x = i * _GRID
            if all(any(_inside((x + dx, y + dy), poly) for poly in polys)
                   for dx, dy in ((0, 0), (-X_HALF, -X_HALF), (X_HALF, -X_HALF), (-X_HALF, X_HALF), (X_HALF, X_HALF))):
                res.append((x, y))
    return res


def _inside(pt, poly) -> bool:
    x, y = pt
    res = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            res = not res
        j = i
    return res


# ----------------------------------------------------------------------------- stipple
def item_dots(item: Poly) -> tuple[tuple[float, float], ...]:
    """Stipple dot centres for a spillover polygon of the scene, in chart mm."""
    ox, oy = item.origin
    if item.region is not None:
        base = _region_dots(*item.region)
    else:
        base = _dots(tuple((x - ox, y - oy) for x, y in item.points))
    return tuple((x + ox, y + oy) for x, y in base)


@lru_cache(maxsize=None)
def _region_dots(code: str, view: str, index: int) -> tuple[tuple[float, float], ...]:
    """The stipple dots of one region polygon, relative to its view's origin (computed once)."""
    geo = load_geometry()
    k = geo["views"][view]["scale"]
    return _dots(tuple((x * k, y * k) for x, y in geo["regions"][code][view]["polygons"][index]))


def _dots(points) -> tuple[tuple[float, float], ...]:
    """Stipple dot centres inside a polygon: a staggered grid aligned to the view origin,
    keeping the dots that fit inside (checked on three scan lines)."""
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
