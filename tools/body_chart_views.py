"""The body chart's views and the JSON file (used by make_body_chart.py; needs shapely).

Three whole-body views are drawn: front and back (make_body_chart's model, one
silhouette mirrored) and right lateral (body_chart_lateral). Every close-up is a
magnified window onto one of them: the same anatomy cut to a box, so a zone has
one shape everywhere and a close-up can never disagree with the whole body. A
window's units are millimetres at print size; a whole-body view's units print at
WHOLE_SCALE mm each.

Each region of each view carries, besides its polygons and the point where an X
goes, its area and its width across (the diameter of the largest circle inside),
both in the view's units, and whether the view shows it obliquely (a lateral strip
seen from the front): tpkit picks views by these numbers.
"""

from __future__ import annotations

import json

from shapely import maximum_inscribed_circle
from shapely.geometry import LineString, MultiLineString, Polygon, box
from shapely.ops import unary_union

import body_chart_lateral as lateral
import make_body_chart as model

WHOLE_SCALE = 0.19  # mm per unit: the whole body prints 95 mm tall, the size handouts have always used

# name: (source view, (x0, y0, x1, y1) in the source's units, print width in mm, label, sides)
# "sides" says where the patient's right is: "left"/"right" of the viewer, or None (no R/L marks);
# "side_at" places the R and L: (distance from the view's middle, height of the baseline), view units
WINDOWS = {
    "head-front": ("front", (83.0, 3.0, 137.0, 99.0), 54.0, "Head and neck, front", "left"),
    "head-lateral": ("lateral", (45.0, 3.0, 102.0, 99.0), 57.0, "Head and neck, side", None),
    "head-back": ("back", (83.0, 3.0, 137.0, 99.0), 54.0, "Head and neck, back", "right"),
    "shoulder-arm": ("front", (16.0, 84.0, 100.0, 308.0), 42.0, "Shoulder and arm, front", None),
    "shoulder-arm-lateral": ("lateral", (44.0, 84.0, 146.0, 212.0), 56.0, "Shoulder and arm, side", None),
    "shoulder-arm-back": ("back", (120.0, 84.0, 204.0, 308.0), 42.0, "Shoulder and arm, back", None),
    "trunk-front": ("front", (44.0, 84.0, 176.0, 272.0), 46.0, "Trunk, front", "left"),
    "trunk-back": ("back", (44.0, 84.0, 176.0, 272.0), 46.0, "Trunk, back", "right"),
    "leg-front": ("front", (58.0, 200.0, 118.0, 462.0), 23.0, "Leg, front", None),
    "leg-lateral": ("lateral", (34.0, 200.0, 98.0, 462.0), 24.5, "Leg, side", None),
    "leg-back": ("back", (102.0, 200.0, 162.0, 462.0), 23.0, "Leg, back", None),
    "knee-front": ("front", (66.0, 316.0, 112.0, 366.0), 41.0, "Knee, front", None),
    "knee-back": ("back", (108.0, 316.0, 154.0, 366.0), 41.0, "Knee, back", None),
    "hand-palmar": ("front", (12.0, 246.0, 48.0, 308.0), 52.0, "Hand, palm", None),
    "hand-dorsal": ("back", (172.0, 246.0, 208.0, 308.0), 52.0, "Hand, back", None),
    "foot-dorsal": ("front", (76.0, 428.0, 104.0, 496.0), 34.0, "Foot, top", None),
    "foot-plantar": ("back", (116.0, 428.0, 144.0, 496.0), 34.0, "Foot, sole", None),
    "foot-lateral": ("lateral", (46.0, 426.0, 122.0, 486.0), 62.0, "Foot, outer side", None),
}

# Seen edge-on from the front and back: they have a better view (the right side) or are hidden.
OBLIQUE_FRONT_BACK = {"lateral-shoulder", "lateral-elbow", "lateral-hip", "lateral-thigh", "lateral-knee",
                      "lateral-leg", "lateral-ankle", "ear"}
OBLIQUE_BACK_ONLY = {"toes", "thumb"}


def whole_views():
    """{view: dict(label, width, height, outlines, edges, details)}, {code: {view: ([rings], oblique)}}."""
    c = model.build_contour()
    half = c.dense
    full = half + [(-p[0], p[1]) for p in reversed(half[1:-1])]
    full = model.simplify(model.dedupe(full), 0.04)
    regions = model.build_regions(c)
    front_d, back_d, both_d = model.build_details(c)

    def to_view(view, pts):
        return [((model.CX - d) if view == "front" else (model.CX + d), y) for d, y in pts]

    views, out = {}, {}
    for view, own, label, sides in (("front", front_d, "Front", "left"), ("back", back_d, "Back", "right")):
        det = []
        for line in own + both_d:
            line = model.simplify(line, 0.04, closed=False)
            det.append(to_view(view, line))
            if any(abs(p[0]) > 0.01 for p in line):
                det.append(to_view(view, [(-d, y) for d, y in line]))
        ring = to_view(view, full)
        views[view] = dict(label=label, width=model.W, height=model.H, scale=WHOLE_SCALE, sides=sides,
                           side_at=(38.0, 42.0),
                           outlines=[ring], edges=[ring + ring[:1]], details=det)
    for code, entry in regions.items():
        for view, polys in entry.items():
            oblique = code in OBLIQUE_FRONT_BACK or (view == "back" and code in OBLIQUE_BACK_ONLY)
            # the drawing keeps zones a hair inside the silhouette; this makes sure of it where curves cross
            body = Polygon(views[view]["outlines"][0]).buffer(-0.08)
            kept = [g for p in polys for g in _polygons(Polygon(to_view(view, model.dedupe(p))).buffer(0)
                                                        .intersection(body)) if g.area > 0.5]
            out.setdefault(code, {})[view] = ([list(g.exterior.coords)[:-1] for g in kept], oblique)
    lat_regions, body, arm = lateral.regions()
    rings = [list(body.exterior.coords)[:-1], list(arm.exterior.coords)[:-1]]
    views["lateral"] = dict(label="Right side", width=lateral.W, height=lateral.H, scale=WHOLE_SCALE, sides=None,
                            side_at=(0.0, 0.0),
                            outlines=rings, edges=[r + r[:1] for r in rings],
                            details=[model.simplify(line, 0.04, closed=False) for line in lateral.details()])
    for code, (shape, oblique) in lat_regions.items():
        polys = [g for g in _polygons(shape) if g.area > 1.0]
        if polys:
            out.setdefault(code, {})["lateral"] = ([list(g.exterior.coords)[:-1] for g in polys], oblique)
    return views, out


def _polygons(shape):
    if isinstance(shape, Polygon):
        return [shape] if not shape.is_empty else []
    return [g for g in getattr(shape, "geoms", ()) if isinstance(g, Polygon) and not g.is_empty]


def _lines(shape):
    if isinstance(shape, LineString):
        return [shape] if not shape.is_empty else []
    if isinstance(shape, MultiLineString):
        return list(shape.geoms)
    return [g for g in getattr(shape, "geoms", ()) if isinstance(g, LineString) and not g.is_empty]


def window(views, regions, name):
    """A close-up: the source view cut to the box and scaled to millimetres."""
    source, (x0, y0, x1, y1), width_mm, label, sides = WINDOWS[name]
    k = width_mm / (x1 - x0)
    frame = box(x0, y0, x1, y1)
    src = views[source]

    def tr(coords):
        return [((x - x0) * k, (y - y0) * k) for x, y in coords]

    outlines = []
    for ring in src["outlines"]:
        for g in _polygons(Polygon(ring).buffer(0).intersection(frame)):
            outlines.append(tr(list(g.exterior.coords)[:-1]))
    edges = [tr(list(g.coords)) for e in src["edges"] for g in _lines(LineString(e).intersection(frame))]
    details = [tr(list(g.coords)) for d in src["details"] if len(d) > 1
               for g in _lines(LineString(d).intersection(frame))]
    # R and L sit in the close-up's top corners
    view = dict(label=label, width=width_mm, height=(y1 - y0) * k, scale=1.0, sides=sides,
                side_at=(width_mm / 2 - 1.6, 3.2) if sides else (0.0, 0.0), outlines=outlines,
                edges=edges, details=details)
    # zones stay 0.15 mm inside the magnified silhouette, whatever rounding does to either
    silhouette = unary_union([Polygon(r).buffer(0) for r in src["outlines"]]).buffer(-0.15 / k)
    out = {}
    for code, entry in regions.items():
        if source not in entry:
            continue
        polys, oblique = entry[source]
        # a hair inside the cut, so that rounding never puts a zone past the silhouette's cut edge
        inner = box(x0 + 0.3 / k, y0 + 0.3 / k, x1 - 0.3 / k, y1 - 0.3 / k).intersection(silhouette)
        cut = [g for p in polys for g in _polygons(Polygon(p).buffer(0).intersection(inner))]
        whole = sum(Polygon(p).buffer(0).area for p in polys)
        share = min(1.0, sum(g.area for g in cut) / whole) if whole else 0.0
        cut = [tr(list(g.exterior.coords)[:-1]) for g in cut if g.area * k * k > 2.0]
        if cut:
            out[code] = (cut, oblique, share)
    return view, out


def finish(view, regions_of_view, digits):
    """Rounded polygons, each region's X point, area and width across."""
    def rnd(v):
        v = round(v, digits)
        return 0.0 if v == 0 else v

    def clean(points):
        pts = model.dedupe([(rnd(x), rnd(y)) for x, y in points], 10 ** -digits / 2)
        return pts

    out = {}
    for code, (polys, oblique, *share) in regions_of_view.items():
        polys = [clean(model.simplify(p, 0.02 if digits == 1 else 0.03)) for p in polys]
        polys = [p for p in polys if len(p) >= 3]
        polys = [p if model.area(p) > 0 else p[::-1] for p in polys]
        if not polys:
            continue
        shapes = [Polygon(p).buffer(0) for p in polys]
        biggest = max(shapes, key=lambda g: g.area)
        line = maximum_inscribed_circle(biggest, 0.02)
        (px, py), radius = line.coords[0], line.length
        out[code] = {"point": [rnd(px), rnd(py)], "area": rnd(sum(g.area for g in shapes)),
                     "across": rnd(2 * radius), "oblique": oblique, "share": round(share[0] if share else 1.0, 2),
                     "polygons": polys}
    v = dict(view)
    v["outlines"] = [clean(model.simplify(r, 0.03)) for r in view["outlines"]]
    v["edges"] = [clean(model.simplify(e, 0.03, closed=False)) for e in view["edges"]]
    v["details"] = [clean(model.simplify(d, 0.03, closed=False)) for d in view["details"]]
    v["width"], v["height"] = rnd(view["width"]), rnd(view["height"])
    return v, out


def main(out_path):
    views, regions = whole_views()
    all_views, all_regions = {}, {}
    order = ["front", "back", "lateral"] + list(WINDOWS)
    for name in order:
        if name in views:
            view, regs = views[name], {code: e[name] for code, e in regions.items() if name in e}
        else:
            view, regs = window(views, regions, name)
        view, regs = finish(view, regs, 1)
        all_views[name] = view
        for code, entry in regs.items():
            all_regions.setdefault(code, {})[name] = entry
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tpkit.vocabulary import BODY_REGIONS

    missing = [k for k in BODY_REGIONS if k not in all_regions]
    assert not missing, missing
    data = {
        "version": 2,
        "units": "each view is width x height units, y pointing down; a unit prints 'scale' mm",
        "convention": "front views: patient's right on the viewer's left; back views: on the viewer's right; "
                      "one-sided regions are drawn on the patient's right; 'across' is the diameter of the "
                      "largest circle inside the region's largest polygon; 'share' the part of the region a "
                      "close-up's field holds",
        "views": all_views,
        "regions": {code: all_regions[code] for code in BODY_REGIONS},
    }
    text = dump(data)
    with open(out_path, "w", encoding="utf-8") as fh:
        fh.write(text)


def dump(data):
    """Compact but readable JSON: one polygon or line per line."""
    def pts(p):
        return "[" + ",".join(f"[{_n(x)},{_n(y)}]" for x, y in p) + "]"

    lines = ["{"]
    for key in ("version", "units", "convention"):
        lines.append(f'  "{key}": {json.dumps(data[key])},')
    lines.append('  "views": {')
    vitems = list(data["views"].items())
    for vi, (name, v) in enumerate(vitems):
        lines.append(f'    "{name}": {{')
        lines.append(f'      "label": {json.dumps(v["label"])}, "width": {_n(v["width"])}, '
                     f'"height": {_n(v["height"])}, "scale": {v["scale"]}, "sides": {json.dumps(v["sides"])}, '
                     f'"side_at": [{_n(v["side_at"][0])},{_n(v["side_at"][1])}],')
        for key in ("outlines", "edges", "details"):
            lines.append(f'      "{key}": [')
            for di, d in enumerate(v[key]):
                lines.append("        " + pts(d) + ("," if di + 1 < len(v[key]) else ""))
            lines.append("      ]" + ("," if key != "details" else ""))
        lines.append("    }" + ("," if vi + 1 < len(vitems) else ""))
    lines.append("  },")
    lines.append('  "regions": {')
    ritems = list(data["regions"].items())
    for ri, (code, entry) in enumerate(ritems):
        lines.append(f'    "{code}": {{')
        eitems = list(entry.items())
        for ei, (view, e) in enumerate(eitems):
            polys = ", ".join(pts(p) for p in e["polygons"])
            lines.append(f'      "{view}": {{"point": [{_n(e["point"][0])},{_n(e["point"][1])}], '
                         f'"area": {_n(e["area"])}, "across": {_n(e["across"])}, '
                         f'"oblique": {json.dumps(e["oblique"])}, "share": {e["share"]}, "polygons": [{polys}]}}'
                         + ("," if ei + 1 < len(eitems) else ""))
        lines.append("    }" + ("," if ri + 1 < len(ritems) else ""))
    lines.append("  }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)
    return text


def _n(v):
    v = round(float(v), 1)
    if v == 0:
        v = 0.0
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s
