"""The body chart: geometry data, the choice of views, trigger point marks, renderers, goldens.

Goldens live in ``tests/goldens/chart/``: the charts of the sample entries and of a
few synthetic figures. A missing or different golden fails; after an intended change
rewrite them with ``pytest tests/test_chart.py --update-goldens`` and review the diff.

Areas and widths are measured here independently of the numbers the data carries:
polygons are filled into pixel masks (Pillow) and rendered PNGs are counted.
"""

from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tpkit import chart
from tpkit.chart import geometry
from tpkit.chart import scene as scene_mod
from tpkit.document import Figure, Zone
from tpkit.errors import RenderError, UsageError
from tpkit.vocabulary import BODY_REGIONS

GOLDENS = Path(__file__).parent / "goldens" / "chart"
ENTRIES = Path(__file__).parent.parent / "entries"
SVG_NS = "{http://www.w3.org/2000/svg}"
WHOLE = ("front", "back", "lateral")
# Regions on the midline, drawn across it; every other region is drawn on the patient's right.
MIDLINE = {"vertex", "sacral"}


def figure(zones=(), trigger_points=(), caption="Referral pattern", alt_text="Body chart"):
    return Figure(
        zones=tuple(Zone(region, extent) for region, extent in zones),
        trigger_points=tuple(trigger_points),
        caption=caption,
        alt_text=alt_text,
    )


GLUTEUS_MINIMUS = figure(
    [("lateral-hip", "essential"), ("gluteal", "essential"), ("lateral-thigh", "essential"),
     ("posterior-thigh", "spillover"), ("lateral-leg", "spillover")],
    ["gluteal", "lateral-hip"],
    alt_text="Pain over the buttock, the outer hip and thigh; spillover down the back of the thigh and the outer leg.",
)
MASSETER = figure(
    [("cheek", "essential"), ("jaw", "essential"), ("ear", "spillover"), ("forehead", "spillover")],
    ["cheek", "cheek", "jaw"],
    alt_text="Masseter: cheek and jaw, spillover to the ear and eyebrow. <&> \"quoted\"",
)
UPPER_TRAPEZIUS = figure(
    [("posterior-neck", "essential"), ("temple", "essential"), ("occiput", "spillover"), ("jaw", "spillover"),
     ("eye", "spillover")],
    ["shoulder-top"],
)
SOLEUS = figure([("heel", "essential"), ("plantar-foot", "spillover")], ["posterior-leg"])
FIRST_DORSAL_INTEROSSEOUS = figure([("fingers", "essential"), ("dorsal-hand", "spillover")], ["dorsal-hand"])
EMPTY = figure(caption="", alt_text="")
SYNTHETIC = {
    "gluteus-minimus-synthetic": GLUTEUS_MINIMUS,
    "masseter-synthetic": MASSETER,
    "upper-trapezius-synthetic": UPPER_TRAPEZIUS,
    "soleus-synthetic": SOLEUS,
    "first-dorsal-interosseous-synthetic": FIRST_DORSAL_INTEROSSEOUS,
    "empty": EMPTY,
}


def sample_figures():
    from tpkit.layout import figure_of
    from tpkit.models import Entry

    return {path.stem: figure_of(Entry.model_validate(json.loads(path.read_text(encoding="utf-8"))))
            for path in sorted(ENTRIES.glob("*.json"))}


# ----------------------------------------------------------------------------- helpers
def inside(pt, poly) -> bool:
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


def centroid(poly):
    a = cx = cy = 0.0
    for i in range(len(poly)):
        x0, y0 = poly[i]
        x1, y1 = poly[(i + 1) % len(poly)]
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return cx / (3 * a), cy / (3 * a)


def geo():
    return chart.load_geometry()


def views_of(code):
    return geo()["regions"][code]


def raster(view: str, polygons, k: float):
    """Polygons in a view's units filled into a mask of ``k`` pixels per unit (the whole view)."""
    from PIL import Image, ImageDraw

    v = geo()["views"][view]
    mask = Image.new("L", (math.ceil(v["width"] * k), math.ceil(v["height"] * k)), 0)
    draw = ImageDraw.Draw(mask)
    for poly in polygons:
        draw.polygon([(x * k, y * k) for x, y in poly], fill=255)
    return mask


def pixels_per_unit(view: str) -> float:
    """Fine enough for every view: at least 8 pixels per printed millimetre and 6 per unit."""
    return max(8.0 * geo()["views"][view]["scale"], 6.0)


def perimeter(polys) -> float:
    return sum(math.dist(p[i - 1], p[i]) for p in polys for i in range(len(p)))


class Patch:
    """A region filled into a mask of its own bounding box (``k`` pixels per unit, offset ``x0, y0`` pixels)."""

    def __init__(self, polygons, k: float):
        from PIL import Image, ImageDraw

        xs = [x for poly in polygons for x, _ in poly]
        ys = [y for poly in polygons for _, y in poly]
        self.x0, self.y0 = math.floor(min(xs) * k) - 2, math.floor(min(ys) * k) - 2
        self.mask = Image.new("L", (math.ceil(max(xs) * k) - self.x0 + 3, math.ceil(max(ys) * k) - self.y0 + 3), 0)
        draw = ImageDraw.Draw(self.mask)
        for poly in polygons:
            draw.polygon([(x * k - self.x0, y * k - self.y0) for x, y in poly], fill=255)
        self.box = (self.x0, self.y0, self.x0 + self.mask.width, self.y0 + self.mask.height)

    def crop(self, box):
        return self.mask.crop((box[0] - self.x0, box[1] - self.y0, box[2] - self.x0, box[3] - self.y0))


def patches(view: str) -> dict:
    k = pixels_per_unit(view)
    return {code: Patch(entry[view]["polygons"], k) for code, entry in geo()["regions"].items() if view in entry}


def count(mask) -> int:
    return mask.histogram()[255]


# ----------------------------------------------------------------------------- geometry
def test_every_vocabulary_code_has_geometry_on_known_views():
    regions = geo()["regions"]
    assert set(regions) == set(BODY_REGIONS)
    for view in geo()["views"].values():
        assert view["label"] and view["scale"] > 0 and view["outlines"] and view["edges"]
    for code in BODY_REGIONS:
        assert regions[code] and set(regions[code]) <= set(geo()["views"]), code
        for view, entry in regions[code].items():
            assert entry["polygons"] and all(len(p) >= 3 for p in entry["polygons"]), (code, view)
            assert isinstance(entry["oblique"], bool)


def test_every_view_the_issue_names_exists():
    assert {"front", "back", "lateral", "head-front", "head-lateral", "head-back", "shoulder-arm", "hand-palmar",
            "hand-dorsal", "foot-dorsal", "foot-plantar", "foot-lateral"} <= set(chart.view_names())


@pytest.mark.parametrize("view", list(chart.load_geometry()["views"]))
def test_regions_lie_inside_the_outline_and_do_not_overlap(view):
    from PIL import ImageChops, ImageFilter

    k = pixels_per_unit(view)
    body = raster(view, geo()["views"][view]["outlines"], k)
    regions = patches(view)
    for code, patch in regions.items():
        leak = ImageChops.subtract(patch.mask, body.crop(patch.box))
        assert leak.getbbox() is None, f"{code} on {view} leaks outside the body at {leak.getbbox()}"
    codes = sorted(regions)
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            ba, bb = regions[a].box, regions[b].box
            box = (max(ba[0], bb[0]), max(ba[1], bb[1]), min(ba[2], bb[2]), min(ba[3], bb[3]))
            if box[0] >= box[2] or box[1] >= box[3]:
                continue
            # the shared border rasterises into both; erode it away before looking
            common = ImageChops.multiply(regions[a].crop(box), regions[b].crop(box)).filter(ImageFilter.MinFilter(3))
            assert common.getbbox() is None, f"{a} and {b} overlap on {view} at {common.getbbox()}"


@pytest.mark.parametrize("view", list(chart.load_geometry()["views"]))
def test_the_data_measures_agree_with_a_raster(view):
    """The area and width the view choice relies on, measured again from filled pixels."""
    from PIL import Image, ImageChops, ImageDraw

    k = pixels_per_unit(view)
    for code, patch in patches(view).items():
        entry = geo()["regions"][code][view]
        area = count(patch.mask) / k ** 2
        rim = perimeter(entry["polygons"]) / k  # the pixels along the border, half in and half out
        assert area == pytest.approx(entry["area"], rel=0.03, abs=rim), (code, view)
        # the stated width: a disc that wide round the region's X point (the data's centre of its
        # largest inscribed circle) lies inside the region but for its anti-aliased rim
        (px, py), radius = entry["point"], entry["across"] / 2 * k
        disc = Image.new("L", patch.mask.size, 0)
        cx, cy = px * k - patch.x0, py * k - patch.y0
        ImageDraw.Draw(disc).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
        outside = count(ImageChops.subtract(disc, patch.mask))
        assert outside <= 2 * math.pi * radius + 4, (code, view, outside)


def test_trigger_point_lies_inside_its_region():
    for code, entry in geo()["regions"].items():
        for view, view_entry in entry.items():
            assert any(inside(view_entry["point"], poly) for poly in view_entry["polygons"]), (code, view)


def side_offset(code, view):
    """How far the region's centroid lies from the midline, positive towards the patient's right."""
    poly = geo()["regions"][code][view]["polygons"][0]
    x, _ = centroid(poly)
    middle = geo()["views"][view]["width"] / 2
    return (middle - x) if view == "front" else (x - middle)


def test_one_sided_regions_are_on_the_patients_right():
    for code, entry in geo()["regions"].items():
        for view in set(entry) & {"front", "back"}:
            offset = side_offset(code, view)
            if code in MIDLINE:
                assert abs(offset) < 1.0, (code, view, offset)
            else:
                assert offset > 1.0, (code, view, offset)


def test_regions_sit_on_the_views_that_show_them():
    regions = geo()["regions"]
    for code in BODY_REGIONS:
        shown = set(regions[code]) & {"front", "back"}
        if code.startswith("anterior-") or code in {"chest", "upper-abdomen", "lower-abdomen", "groin", "forehead",
                                                    "eye", "cheek", "jaw", "palm", "palmar-wrist", "dorsal-foot"}:
            assert shown == {"front"}, code
        elif code.startswith("posterior-") or code in {"occiput", "scapular", "interscapular", "lumbar", "sacral",
                                                       "gluteal", "heel", "plantar-foot", "dorsal-hand",
                                                       "dorsal-wrist"}:
            assert shown == {"back"}, code
    # the right side shows every lateral region face-on, and no medial one
    for code in BODY_REGIONS:
        if code.startswith("lateral-"):
            assert not regions[code]["lateral"]["oblique"], code
            assert all(regions[code][v]["oblique"] for v in ("front", "back")), code
        if code.startswith("medial-"):
            assert "lateral" not in regions[code], code


@pytest.mark.parametrize(
    ("outer", "inner"),
    [("lateral-shoulder", "anterior-shoulder"), ("lateral-elbow", "medial-elbow"), ("lateral-hip", "groin"),
     ("lateral-thigh", "anterior-thigh"), ("anterior-thigh", "medial-thigh"), ("lateral-knee", "anterior-knee"),
     ("anterior-knee", "medial-knee"), ("lateral-leg", "anterior-leg"), ("lateral-ankle", "medial-ankle"),
     ("thumb", "fingers")],
)
def test_lateral_regions_run_along_the_outer_edge(outer, inner):
    assert side_offset(outer, "front") > side_offset(inner, "front")


def test_lateral_strips_touch_the_outline():
    for code in [c for c in BODY_REGIONS if c.startswith("lateral-")]:
        for view in set(geo()["regions"][code]) & {"front", "back"}:
            outline = geo()["views"][view]["outlines"][0]
            near = min(math.dist(p, q) for p in geo()["regions"][code][view]["polygons"][0] for q in outline)
            assert near < 1.0, (code, view, near)


def test_regions_keep_their_place_between_views():
    """A close-up shows a region where the whole body does: the same side of its neighbours."""
    pairs = [("head-front", "eye", "jaw"), ("head-lateral", "temple", "jaw"), ("head-lateral", "posterior-neck",
             "anterior-neck"), ("foot-lateral", "heel", "toes"), ("hand-palmar", "palm", "fingers"),
             ("foot-dorsal", "dorsal-foot", "toes")]
    for view, first, second in pairs:
        a = centroid(views_of(first)[view]["polygons"][0])
        b = centroid(views_of(second)[view]["polygons"][0])
        if view == "head-lateral" and first == "posterior-neck":
            assert a[0] < b[0]  # the back is on the viewer's left: the patient faces right
        elif view == "foot-lateral":
            assert a[0] < b[0]
        else:
            assert a[1] < b[1], (view, first, second)


# ----------------------------------------------------------------------------- readable at print size
def render_mask(fig, views=None, px_per_mm=6):
    """The chart's PNG at ``px_per_mm``, as a mask of its essential-red pixels."""
    from PIL import Image, ImageChops

    sc = chart.build_scene(fig, tuple(views) if views else None)
    png = chart.to_png(fig, width_in=sc.width / 25.4 * px_per_mm / (300 / 25.4), views=views)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = img.split()
    red = ImageChops.multiply(ImageChops.multiply(r.point(lambda v: 255 if v > 170 else 0),
                                                  g.point(lambda v: 255 if v < 90 else 0)),
                              b.point(lambda v: 255 if v < 90 else 0))
    return red, sc, img.width / sc.width


@pytest.mark.parametrize("code", BODY_REGIONS)
def test_every_region_alone_reads_at_print_size(code):
    """A pattern of one essential zone: at least 40 mm² of red in a chosen view, face-on and at least
    3 mm across, inside the view's outline and clear of the legend."""
    from PIL import ImageChops, ImageDraw, ImageFilter

    fig = figure([(code, "essential")])
    views = chart.views_for(fig)
    assert any(chart.readable(code, v, True) for v in views), (code, views)
    mask, sc, k = render_mask(fig)
    x0, y0, x1, y1 = sc.legend
    # the legend's own red swatch is the only red it holds; nothing of the zone lies under it
    for view, (ox, oy) in zip(sc.views, sc.origins):
        s = geo()["views"][view]["scale"]
        for poly in views_of(code).get(view, {}).get("polygons", ()):
            for x, y in poly:
                assert not (x0 <= ox + x * s <= x1 and y0 <= oy + y * s <= y1), (code, view, "under the legend")
    ImageDraw.Draw(mask).rectangle((math.floor(x0 * k), math.floor(y0 * k), math.ceil(x1 * k), math.ceil(y1 * k)),
                                   fill=0)
    red_mm2 = count(mask) / (k / sc.factor) ** 2  # printed millimetres
    assert red_mm2 >= chart.ESSENTIAL_MM2 * 0.97, (code, views, red_mm2)  # anti-aliased rims counted out
    for view, (ox, oy) in zip(sc.views, sc.origins):
        v = geo()["views"][view]
        s = v["scale"]
        box = tuple(round(c * k) for c in (ox, oy, ox + v["width"] * s, oy + v["height"] * s))
        zone = mask.crop(box)
        if zone.getbbox() is None:
            continue
        body = raster_in_chart(sc, k, [[(ox + x * s, oy + y * s) for x, y in ring] for ring in v["outlines"]])
        assert ImageChops.subtract(zone, body.crop(box).filter(ImageFilter.MaxFilter(3))).getbbox() is None, (
            code, view, "outside the outline")
    # 3 mm across in some view: a square of 2.1 mm (the one inside a 3 mm disc) survives erosion
    eroded = mask
    for _ in range(round(1.05 * k / sc.factor)):
        eroded = eroded.filter(ImageFilter.MinFilter(3))
    assert eroded.getbbox() is not None, (code, views)


def raster_in_chart(sc, k, polygons):
    from PIL import Image, ImageDraw

    mask = Image.new("L", (math.ceil(sc.width * k) + 1, math.ceil(sc.height * k) + 1), 0)
    for poly in polygons:
        ImageDraw.Draw(mask).polygon([(x * k, y * k) for x, y in poly], fill=255)
    return mask


@pytest.mark.parametrize("extent", ["essential", "spillover"])
def test_zones_of_every_pattern_chosen_read(extent):
    for code in BODY_REGIONS:
        fig = figure([(code, extent)])
        views = chart.views_for(fig)
        assert any(chart.readable(code, v, extent == "essential") for v in views), code
        assert max(chart.print_across(code, v) for v in views) >= chart.MIN_ACROSS_MM


# ----------------------------------------------------------------------------- choosing views
@pytest.mark.parametrize(
    ("fig", "views"),
    [
        (EMPTY, ("front", "back")),
        (MASSETER, ("head-front", "head-lateral")),
        (figure([("cheek", "essential"), ("temple", "essential")]), ("head-lateral",)),
        (figure([("chest", "essential"), ("anterior-shoulder", "essential"), ("medial-elbow", "spillover")]),
         ("shoulder-arm",)),
        (figure([("palm", "essential"), ("thumb", "spillover")]), ("hand-palmar",)),
        (figure([("heel", "essential")]), ("foot-plantar",)),
    ],
)
def test_views_for(fig, views):
    assert chart.views_for(fig) == views
    assert chart.build_scene(fig).views == views


def test_a_lateral_pattern_is_shown_on_a_lateral_view():
    views = chart.views_for(GLUTEUS_MINIMUS)
    assert any(geo()["regions"]["lateral-thigh"].get(v, {}).get("oblique") is False for v in views), views
    assert "lateral" in views or "leg-lateral" in views


def test_the_close_up_whose_field_holds_the_pattern_wins_over_the_whole_body():
    fig = figure([("posterior-neck", "essential"), ("occiput", "spillover")])
    assert chart.views_for(fig) in {("head-back",), ("head-lateral",)}


def test_a_pattern_all_over_the_body_fits_the_text_width_and_still_reads():
    fig = figure([("temple", "essential"), ("heel", "essential"), ("thumb", "spillover"), ("lumbar", "essential")],
                 ["temple", "heel"])
    views = chart.views_for(fig)
    assert 1 < len(views) <= 4
    sc = chart.build_scene(fig)
    assert chart.print_size(fig)[0] <= chart.MAX_WIDTH_MM + 1e-9
    for code, essential in (("temple", True), ("heel", True), ("thumb", False), ("lumbar", True)):
        assert any(chart.readable(code, v, essential, sc.factor) for v in views), code


def test_every_sample_and_synthetic_chart_fits_one_page():
    for fig in list(sample_figures().values()) + list(SYNTHETIC.values()):
        width, height = chart.print_size(fig)
        assert width <= chart.MAX_WIDTH_MM and height <= 150, (fig.caption, width, height)


def test_the_whole_body_keeps_its_size_and_a_head_close_up_half_the_text_width():
    whole = chart.build_scene(EMPTY)
    body_h = geo()["views"]["front"]["height"] * geo()["views"]["front"]["scale"]
    assert 90 <= body_h <= 100  # the one-view chart of before printed the body 95-98 mm tall
    assert whole.height <= 110
    head = chart.build_scene(figure([("cheek", "essential")]))
    head_w = sum(geo()["views"][v]["width"] * geo()["views"][v]["scale"] for v in head.views)
    assert head.views == ("head-lateral",) and 0.3 * 170 <= head_w <= 0.5 * 170


def test_unknown_region_extent_and_view_are_refused():
    with pytest.raises(RenderError, match="unknown body region"):
        chart.to_svg(figure([("elbow-ish", "essential")]))
    with pytest.raises(RenderError, match="extent"):
        chart.to_svg(figure([("chest", "severe")]))
    with pytest.raises(UsageError, match="no chart view 'nape'"):
        chart.to_svg(figure([("chest", "essential")]), views=["nape"])


def test_forced_views_are_drawn_in_the_order_given():
    fig = figure([("chest", "essential")], ["chest"])
    sc = chart.build_scene(fig, ("back", "front"))
    assert sc.views == ("back", "front")
    assert [m.view for m in sc.marks] == ["front"]
    assert chart.build_scene(fig, ("head-back",)).marks == ()  # a view without the region: no X, the caption lists it


# ----------------------------------------------------------------------------- trigger point marks
def marks_apart(marks):
    for i, a in enumerate(marks):
        for b in marks[i + 1:]:
            if a.view == b.view:
                assert max(abs(a.x - b.x), abs(a.y - b.y)) >= scene_mod.X_APART - 1e-9, (a, b)


def mark_in_region(sc, mark):
    v = geo()["views"][mark.view]
    ox, oy = sc.origins[sc.views.index(mark.view)]
    s = v["scale"]
    point = ((mark.x - ox) / s, (mark.y - oy) / s)
    return any(inside(point, poly) for poly in views_of(mark.region)[mark.view]["polygons"])


@pytest.mark.parametrize("count_", [2, 3, 5])
@pytest.mark.parametrize("code", ["gluteal", "cheek", "posterior-neck", "thumb", "heel", "lateral-thigh"])
def test_points_in_one_region_each_get_their_own_x(code, count_):
    fig = figure([(code, "essential")], [code] * count_)
    sc = chart.build_scene(fig)
    assert len(sc.marks) == count_
    marks_apart(sc.marks)
    x0, y0, x1, y1 = sc.legend
    half = scene_mod.X_HALF + scene_mod.X_HALO_W / 2
    for mark in sc.marks:
        assert mark_in_region(sc, mark), mark
        assert mark.x + half < x0 or mark.x - half > x1 or mark.y + half < y0 or mark.y - half > y1, mark


def test_sample_marks_are_apart_inside_their_regions_and_every_point_has_one():
    for name, fig in sample_figures().items():
        sc = chart.build_scene(fig)
        assert len(sc.marks) == len(fig.trigger_points), name
        marks_apart(sc.marks)
        assert all(mark_in_region(sc, m) for m in sc.marks), name


def test_caption_and_alt_text_list_every_trigger_point():
    from tpkit.layout import chart_caption
    from tpkit.vocabulary import region_words

    assert chart_caption("Piriformis", ("gluteal", "gluteal")).endswith("trigger points marked X (gluteal \u00d72).")
    for name, fig in sample_figures().items():
        entry = json.loads((ENTRIES / f"{name}.json").read_text(encoding="utf-8"))
        points = entry.get("trigger_points", [])
        assert fig.trigger_points == tuple(p["region"] for p in points), name
        for region in set(fig.trigger_points):
            assert fig.alt_text.count(f"({region_words(region)})") == fig.trigger_points.count(region), name
            assert region_words(region) in fig.caption.rsplit("marked X", 1)[1], name


# ----------------------------------------------------------------------------- SVG
def golden_cases():
    cases = dict(SYNTHETIC)
    cases.update(sample_figures())
    return cases


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_svg_matches_golden(name, update_goldens):
    svg = chart.to_svg(golden_cases()[name])
    path = GOLDENS / f"{name}.svg"
    if update_goldens:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"golden {path.name} is missing: write it with --update-goldens and review it"
    assert svg == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended, rerun with --update-goldens and review the diff")


def test_no_stale_goldens():
    assert {p.stem for p in GOLDENS.glob("*.svg")} <= set(golden_cases())


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_svg_is_well_formed_and_self_contained(name):
    fig = SYNTHETIC[name]
    svg = chart.to_svg(fig)
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    assert len(root.get("viewBox").split()) == 4
    assert root.get("width").endswith("mm") and root.get("height").endswith("mm")
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text == (fig.alt_text or fig.caption or "Body chart")
    for element in root.iter():
        assert element.tag.split("}")[1] not in {"image", "script", "foreignObject", "use", "style"}
        for attr, value in element.attrib.items():
            assert "href" not in attr, attr
            if "url(" in value:
                assert value.startswith("url(#"), value
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    labels = [t.text for t in root.iter(f"{SVG_NS}text")]
    for view in chart.views_for(fig):
        assert geo()["views"][view]["label"] in labels
    assert {"Essential zone", "Spillover zone", "Trigger point"} <= set(labels)


def test_print_svg_carries_its_print_width():
    printed = chart.to_print_svg(MASSETER)
    width, height = chart.print_size(MASSETER)
    assert (printed.width_mm, printed.height_mm) == (width, height)
    root = ET.fromstring(printed.svg)
    assert float(root.get("width").removesuffix("mm")) == pytest.approx(width, abs=0.01)
    assert printed.svg == chart.to_svg(MASSETER).encode("utf-8")


def test_svg_draws_zones_in_their_colours_and_escapes_text():
    svg = chart.to_svg(MASSETER)
    root = ET.fromstring(svg)
    fills = [p.get("fill") for p in root.iter(f"{SVG_NS}polygon")]
    assert fills.count(chart.ESSENTIAL_RED) >= 2 + 1  # cheek and jaw (on each view) and the legend swatch
    assert any(f and f.startswith("url(#stipple") for f in fills)
    assert "&lt;&amp;&gt;" in svg


def test_print_svg_renders_in_typst_at_its_print_width(tmp_path):
    """The Typst engine (an independent SVG reader) embeds the chart at the width it asks for."""
    typst = pytest.importorskip("typst")
    pypdf = pytest.importorskip("pypdf")
    printed = chart.to_print_svg(MASSETER)
    (tmp_path / "chart.svg").write_bytes(printed.svg)
    (tmp_path / "main.typ").write_text(
        '#set page(width: auto, height: auto, margin: 0pt)\n'
        f'#image("chart.svg", width: {printed.width_mm:.3f}mm)\n', encoding="utf-8")
    pdf = pypdf.PdfReader(io.BytesIO(typst.compile(str(tmp_path / "main.typ"))))
    (page,) = pdf.pages
    assert float(page.mediabox.width) == pytest.approx(printed.width_mm / 25.4 * 72, abs=0.5)
    assert float(page.mediabox.height) == pytest.approx(printed.height_mm / 25.4 * 72, abs=0.5)
    assert "Essential zone" in page.extract_text()


# ----------------------------------------------------------------------------- PNG
def test_png_paints_zones_and_marks():
    from PIL import Image

    png = chart.to_png(SOLEUS)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    sc = chart.build_scene(SOLEUS)
    k = img.width / sc.width
    view = "foot-plantar" if "foot-plantar" in sc.views else sc.views[0]
    ox, oy = sc.origins[sc.views.index(view)]
    s = geo()["views"][view]["scale"]
    hx, hy = centroid(views_of("heel")[view]["polygons"][0])
    r, g, b = img.getpixel((round((ox + hx * s) * k), round((oy + hy * s) * k)))
    assert r > 170 and g < 90 and b < 90
    (mark,) = sc.marks
    assert max(img.getpixel((round(mark.x * k), round(mark.y * k)))) < 80  # the black X
    assert img.getpixel((1, 1)) == (255, 255, 255)


def test_png_size_dpi_and_no_metadata():
    from PIL import Image

    png = chart.to_png(GLUTEUS_MINIMUS, width_in=3.5)
    img = Image.open(io.BytesIO(png))
    assert img.width == 1050
    assert img.info["dpi"] == pytest.approx((300, 300), abs=0.1)
    chunks = []
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        chunks.append(png[pos + 4:pos + 8].decode("ascii"))
        pos += 12 + length
    assert set(chunks) <= {"IHDR", "pHYs", "IDAT", "IEND"}, chunks
    Image.open(io.BytesIO(png)).verify()
    default = Image.open(io.BytesIO(chart.to_png(GLUTEUS_MINIMUS)))
    assert default.width == round(chart.print_size(GLUTEUS_MINIMUS)[0] / 25.4 * 300)


def test_renders_are_deterministic():
    for fig in (GLUTEUS_MINIMUS, MASSETER, EMPTY):
        svg, png = chart.to_svg(fig), chart.to_png(fig)
        chart.load_geometry.cache_clear()
        chart.build_scene.cache_clear()
        geometry._choose.cache_clear()
        scene_mod._region_dots.cache_clear()
        assert chart.to_svg(fig) == svg
        assert chart.to_png(fig) == png


# ----------------------------------------------------------------------------- reportlab and files
def test_to_drawing_is_a_vector_drawing_at_print_size():
    from reportlab.graphics.shapes import Drawing, Polygon, String

    drawing = chart.to_drawing(MASSETER)
    assert isinstance(drawing, Drawing)
    width, height = chart.print_size(MASSETER)
    assert drawing.width == pytest.approx(width / 25.4 * 72)
    assert drawing.height == pytest.approx(height / 25.4 * 72)
    assert any(isinstance(s, Polygon) for s in drawing.contents)
    assert {s.text for s in drawing.contents if isinstance(s, String)} >= {"Essential zone", "Head and neck, side"}
    assert chart.to_drawing(MASSETER, 300.0).width == pytest.approx(300.0)


def test_write_chart_by_suffix(tmp_path):
    from PIL import Image

    svg = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.svg")
    assert svg.read_text(encoding="utf-8") == chart.to_svg(GLUTEUS_MINIMUS)
    png = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.PNG")
    assert Image.open(png).format == "PNG"
    pdf1 = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.pdf")
    pdf2 = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "b.pdf")
    assert pdf1.read_bytes().startswith(b"%PDF") and pdf1.read_bytes() == pdf2.read_bytes()
    forced = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "f.svg", ["lateral"])
    assert ">Right side<" in forced.read_text(encoding="utf-8")
    for bad in ("a.jpg", "a"):
        with pytest.raises(UsageError):
            chart.write_chart(GLUTEUS_MINIMUS, tmp_path / bad)
        assert not (tmp_path / bad).exists()


def test_importing_the_chart_stays_light():
    code = ("import sys, tpkit.chart; bad = {'reportlab', 'PIL', 'shapely'} & {m.split('.')[0] for m in sys.modules};"
            " print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "set()"
