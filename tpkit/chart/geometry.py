"""The chart's geometry and the choice of views for a figure.

The geometry is data (``tpkit/data/body-chart.json``, made by
``tools/make_body_chart.py``): whole-body front, back and right-lateral views and
close-ups (windows onto them, magnified). For every view: its label, size in its
own units, ``scale`` (millimetres a unit prints), where the patient's right lies
(``sides``), the silhouette (``outlines``, filled), its border (``edges``, stroked;
a close-up's cut is not stroked) and thin anatomical ``details``. For every
body-region code and every view that shows it: its polygons, the point where an X
goes, its ``area`` and width ``across`` (in view units) and whether the view shows
it ``oblique`` (edge-on, e.g. a lateral strip on the front view), and the ``share`` of the
region a close-up's field holds.

Views are chosen by what prints readably: at print size an essential zone needs
ESSENTIAL_MM2 and every zone and trigger point's region MIN_ACROSS_MM, seen face-on and
(nearly) whole.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from itertools import combinations
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from tpkit.errors import RenderError, UsageError

from tpkit.vocabulary import BODY_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from tpkit.document import Figure

ESSENTIAL_MM2 = 40.0  # an essential zone smaller than this at print size is not read as a zone
MIN_ACROSS_MM = 3.0  # nor is any zone narrower than this
MIN_SHARE = 0.7  # a close-up whose field cuts off more of a region does not count as showing it
MAX_WIDTH_MM = 170.0  # the text width of an A4 handout (letter's is 6 mm wider)
MAX_VIEWS = 4  # the most views one chart combines; four of the widest still fit MAX_WIDTH_MM
DEFAULT_VIEWS = ("front", "back")  # for a figure with nothing to show

# Text in the chart, millimetres at print size (the view labels and the legend read as 8 pt)
LABEL_SIZE = 2.8
VIEW_GAP = 3.0
CHART_PAD = 1.5


@lru_cache(maxsize=1)
def load_geometry() -> dict[str, Any]:
    """The chart geometry, parsed once; treat it as read-only (points are tuples)."""
    text = (resources.files("tpkit") / "data" / "body-chart.json").read_text(encoding="utf-8")
    data = json.loads(text)
    for view in data["views"].values():
        for key in ("outlines", "edges", "details"):
            view[key] = [tuple(tuple(p) for p in line) for line in view[key]]
    for entry in data["regions"].values():
        for view_entry in entry.values():
            view_entry["polygons"] = [tuple(tuple(p) for p in poly) for poly in view_entry["polygons"]]
            view_entry["point"] = tuple(view_entry["point"])
    return data


def view_names() -> tuple[str, ...]:
    """Every view's name, in the order the data lists them (whole body first)."""
    return tuple(load_geometry()["views"])


def check_figure(figure: Figure) -> None:
    regions = load_geometry()["regions"]
    for code in [zone.region for zone in figure.zones] + list(figure.trigger_points):
        if code not in regions:
            known = code in BODY_REGIONS
            raise RenderError(
                f"body region {code!r} has no chart geometry" if known else f"unknown body region {code!r}")
    for zone in figure.zones:
        if zone.extent not in ("essential", "spillover"):
            raise RenderError(f"zone extent must be 'essential' or 'spillover', not {zone.extent!r}")


def check_views(views: Iterable[str]) -> tuple[str, ...]:
    """The views asked for, refused by name when the data has no such view."""
    known = load_geometry()["views"]
    views = tuple(dict.fromkeys(views))
    for name in views:
        if name not in known:
            raise UsageError(f"no chart view {name!r}; `tpkit chart --list-views` lists them")
    return views


def print_area(code: str, view: str) -> float:
    """The region's area on the printed chart, mm² (0 where the view does not draw it)."""
    geo = load_geometry()
    entry = geo["regions"][code].get(view)
    return 0.0 if entry is None else entry["area"] * geo["views"][view]["scale"] ** 2


def print_across(code: str, view: str) -> float:
    """The region's width across on the printed chart, mm (0 where the view does not draw it)."""
    geo = load_geometry()
    entry = geo["regions"][code].get(view)
    return 0.0 if entry is None else entry["across"] * geo["views"][view]["scale"]


def readable(code: str, view: str, essential: bool, factor: float = 1.0) -> bool:
    """Whether the view shows the region face-on and large enough when printed ``factor`` times its size."""
    return needed_factor(code, view, essential) <= factor + 1e-9


def needed_factor(code: str, view: str, essential: bool) -> float:
    """How large (times its natural size) the view must print for the region to read; inf if it cannot."""
    entry = load_geometry()["regions"][code].get(view)
    if entry is None or entry["oblique"] or entry["area"] <= 0 or entry["share"] < MIN_SHARE:
        return math.inf
    factor = MIN_ACROSS_MM / print_across(code, view)
    if essential:
        factor = max(factor, math.sqrt(ESSENTIAL_MM2 / print_area(code, view)))
    return factor


def fit_factor(width_mm: float) -> float:
    """How much a chart this wide shrinks to fit the text width."""
    return min(1.0, MAX_WIDTH_MM / width_mm)


def label_width(text: str, size: float = LABEL_SIZE) -> float:
    """An upper estimate of a bold DejaVu Sans label's width (0.62 em a character on average)."""
    return 0.62 * size * len(text)


def column_width(view: str) -> float:
    """The width a view takes in a chart: its drawing, or its label where that is wider."""
    v = load_geometry()["views"][view]
    return max(v["width"] * v["scale"], label_width(v["label"]))


def views_width(views: Sequence[str]) -> float:
    return sum(column_width(v) for v in views) + VIEW_GAP * max(0, len(views) - 1)


def _needs(figure: Figure) -> dict[str, bool]:
    """Every region the chart must show readably: code -> whether it must read as an essential zone."""
    needs: dict[str, bool] = {}
    for zone in figure.zones:
        needs[zone.region] = needs.get(zone.region, False) or zone.extent == "essential"
    for code in figure.trigger_points:
        needs.setdefault(code, False)
    return needs


def views_for(figure: Figure) -> tuple[str, ...]:
    """The fewest views that show every zone and trigger point readably at the size the chart prints.

    A chart wider than the text width prints smaller, so readability is judged after that
    shrinking. Among as few views, the set with the widest margin for its least readable
    region wins: the close-up whose field holds the whole pattern beats the whole body, and a
    lateral zone, oblique on front and back, is read on a lateral view. An empty figure shows
    front and back.
    """
    check_figure(figure)
    needs = _needs(figure)
    if not needs:
        return DEFAULT_VIEWS
    return _choose(tuple(sorted(needs.items())))


@lru_cache(maxsize=4096)
def _choose(needs_items: tuple[tuple[str, bool], ...]) -> tuple[str, ...]:
    names = view_names()
    order = {name: i for i, name in enumerate(names)}
    # per region, the views that can show it and how large each must print
    needed = {code: {v: f for v in names if (f := needed_factor(code, v, essential)) < math.inf}
              for code, essential in needs_items}
    for size in range(1, MAX_VIEWS + 1):
        best = None
        for combo in combinations(names, size):
            if not all(any(v in views for v in combo) for views in needed.values()):
                continue
            width = views_width(combo) + 2 * CHART_PAD
            factor = fit_factor(width)
            margin = min(max(factor / views[v] for v in combo if v in views) for views in needed.values())
            if margin < 1.0:
                continue
            key = (-margin, width, [order[v] for v in combo])
            if best is None or key < best[0]:
                best = (key, combo)
        if best is not None:
            return best[1]
    # no MAX_VIEWS views show it all readably (a pattern all over the body): each region's best view
    chosen = dict.fromkeys(min(views, key=lambda v: (views[v], order[v])) for views in needed.values() if views)
    return tuple(sorted(chosen, key=order.__getitem__))[:MAX_VIEWS] or DEFAULT_VIEWS
