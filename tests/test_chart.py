"""The body chart: geometry data, the three renderers, and golden SVGs.

Goldens live in ``tests/goldens/chart/``. Rewrite them after an intended change
with ``TPKIT_UPDATE_GOLDENS=1 pytest tests/test_chart.py`` (or ``--update-goldens``
once conftest registers it); a missing golden is written and the test skipped.
"""

from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tpkit import chart
from tpkit.document import Figure, Zone
from tpkit.vocabulary import BODY_REGIONS

GOLDENS = Path(__file__).parent / "goldens" / "chart"
SVG_NS = "{http://www.w3.org/2000/svg}"
VIEWS = ("front", "back")
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
    [
        ("lateral-hip", "essential"),
        ("gluteal", "essential"),
        ("lateral-thigh", "essential"),
        ("posterior-thigh", "spillover"),
        ("lateral-leg", "spillover"),
    ],
    ["gluteal"],
    caption="Gluteus minimus referral pattern",
    alt_text="Back view: pain over the buttock, the outer hip and thigh; spillover down the back of the thigh "
    "and the outer leg.",
)
PECTORALIS_MAJOR = figure(
    [
        ("chest", "essential"),
        ("anterior-shoulder", "essential"),
        ("medial-elbow", "spillover"),
        ("anterior-arm", "spillover"),
        ("anterior-forearm", "spillover"),
        ("fingers", "spillover"),
    ],
    ["chest"],
    caption="Pectoralis major referral pattern",
    alt_text="Front view: pain over the chest and front of the shoulder, spillover down the inner arm.",
)
UPPER_TRAPEZIUS = figure(
    [
        ("posterior-neck", "essential"),
        ("temple", "essential"),
        ("occiput", "spillover"),
        ("jaw", "spillover"),
        ("eye", "spillover"),
    ],
    ["shoulder-top"],
    caption="Upper trapezius referral pattern",
    alt_text="Front and back views: pain up the side and back of the neck to the temple; spillover to the "
    "jaw, eye and occiput. <&> \"quoted\"",
)
EMPTY = figure(caption="", alt_text="")
GOLDEN_FIGURES = {
    "gluteus-minimus": GLUTEUS_MINIMUS,
    "pectoralis-major": PECTORALIS_MAJOR,
    "upper-trapezius": UPPER_TRAPEZIUS,
    "empty": EMPTY,
}


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


def region_polygons():
    geo = chart.load_geometry()
    for code, entry in geo["regions"].items():
        for view, view_entry in entry.items():
            for poly in view_entry["polygons"]:
                yield code, view, poly


def midline_x(view):
    return chart.load_geometry()["views"][view]["width"] / 2


def side_offset(code, view):
    """How far the region's centroid lies from the midline, positive towards the patient's right."""
    poly = chart.load_geometry()["regions"][code][view]["polygons"][0]
    x, _ = centroid(poly)
    return (midline_x(view) - x) if view == "front" else (x - midline_x(view))


# ----------------------------------------------------------------------------- geometry
def test_every_vocabulary_code_has_geometry():
    regions = chart.load_geometry()["regions"]
    assert set(regions) == set(BODY_REGIONS)
    for code in BODY_REGIONS:
        views = regions[code]
        assert views and set(views) <= set(VIEWS), code
        for view, entry in views.items():
            assert entry["polygons"], (code, view)
            for poly in entry["polygons"]:
                assert len(poly) >= 3, (code, view)
                assert abs(centroid(poly)[0]) > 0, (code, view)
            assert len(entry["point"]) == 2


def test_no_two_codes_share_a_shape():
    seen = {}
    for code, view, poly in region_polygons():
        key = (view, tuple(sorted(poly)))
        assert key not in seen or seen[key] == code, f"{code} and {seen.get(key)} share a shape on the {view}"
        seen[key] = code
    # nor a position: no two codes on one view with (nearly) the same centroid
    for view in VIEWS:
        cents = {
            code: centroid(entry[view]["polygons"][0])
            for code, entry in chart.load_geometry()["regions"].items()
            if view in entry
        }
        codes = sorted(cents)
        for i, a in enumerate(codes):
            for b in codes[i + 1:]:
                assert math.dist(cents[a], cents[b]) > 1.0, (view, a, b)


def test_every_region_lies_inside_its_view_outline():
    geo = chart.load_geometry()
    for code, view, poly in region_polygons():
        outline = geo["views"][view]["outline"]
        outside = [p for p in poly if not inside(p, outline)]
        assert not outside, f"{code} on the {view} leaves the body at {outside[:3]}"


def raster(geo, view: str, polygons, k: int = 4):
    """Polygons of a view, in chart units, filled into a mask ``k`` pixels per unit."""
    from PIL import Image, ImageDraw

    v = geo["views"][view]
    mask = Image.new("L", (v["width"] * k, v["height"] * k), 0)
    for poly in polygons:
        ImageDraw.Draw(mask).polygon([(x * k, y * k) for x, y in poly], fill=255)
    return mask


def region_masks(geo, view: str) -> dict:
    """Every region drawn on a view, as a mask (see ``raster``)."""
    return {code: raster(geo, view, entry[view]["polygons"]) for code, entry in geo["regions"].items()
            if view in entry}


def test_every_region_lies_inside_its_view_outline_raster():
    """The same, filled: no pixel of a region falls outside the body (catches edges that cross)."""
    from PIL import ImageChops

    geo = chart.load_geometry()
    for view in VIEWS:
        body = raster(geo, view, [geo["views"][view]["outline"]])
        for code, mask in region_masks(geo, view).items():
            leak = ImageChops.subtract(mask, body)
            assert leak.getbbox() is None, f"{code} on the {view} leaks outside the body at {leak.getbbox()}"


def test_regions_on_one_view_do_not_overlap():
    """Neighbours may share a border, but no region covers part of another."""
    from PIL import ImageChops, ImageFilter

    geo = chart.load_geometry()
    for view in VIEWS:
        masks = {code: (mask, mask.getbbox()) for code, mask in region_masks(geo, view).items()}
        codes = sorted(masks)
        for i, a in enumerate(codes):
            for b in codes[i + 1:]:
                (ma, ba), (mb, bb) = masks[a], masks[b]
                if ba[0] > bb[2] or bb[0] > ba[2] or ba[1] > bb[3] or bb[1] > ba[3]:
                    continue
                # the shared border rasterises into both; erode it away before looking
                common = ImageChops.multiply(ma, mb).filter(ImageFilter.MinFilter(3))
                assert common.getbbox() is None, f"{a} and {b} overlap on the {view} at {common.getbbox()}"


def test_trigger_point_lies_inside_its_region():
    for code, entry in chart.load_geometry()["regions"].items():
        for view, view_entry in entry.items():
            assert any(inside(view_entry["point"], poly) for poly in view_entry["polygons"]), (code, view)


def test_regions_sit_on_the_views_that_show_them():
    regions = chart.load_geometry()["regions"]
    for code in BODY_REGIONS:
        views = set(regions[code])
        if code.startswith("anterior-") or code in {"chest", "upper-abdomen", "lower-abdomen", "groin", "forehead",
                                                    "eye", "cheek", "jaw", "palm", "palmar-wrist", "dorsal-foot"}:
            assert views == {"front"}, code
        elif code.startswith("posterior-") or code in {"occiput", "scapular", "interscapular", "lumbar", "sacral",
                                                       "gluteal", "heel", "plantar-foot", "dorsal-hand",
                                                       "dorsal-wrist"}:
            assert views == {"back"}, code
        elif code.startswith(("lateral-", "medial-")):
            assert views == set(VIEWS), code


def test_one_sided_regions_are_on_the_patients_right():
    for code, entry in chart.load_geometry()["regions"].items():
        for view in entry:
            offset = side_offset(code, view)
            if code in MIDLINE:
                assert abs(offset) < 1.0, (code, view, offset)
            else:
                assert offset > 1.0, (code, view, offset)


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("lateral-shoulder", "anterior-shoulder"),
        ("lateral-elbow", "medial-elbow"),
        ("lateral-hip", "groin"),
        ("lateral-thigh", "anterior-thigh"),
        ("anterior-thigh", "medial-thigh"),
        ("lateral-knee", "anterior-knee"),
        ("anterior-knee", "medial-knee"),
        ("lateral-leg", "anterior-leg"),
        ("lateral-ankle", "medial-ankle"),
        ("thumb", "fingers"),
    ],
)
def test_lateral_regions_run_along_the_outer_edge(outer, inner):
    view = "front"
    assert side_offset(outer, view) > side_offset(inner, view)


def test_lateral_strips_touch_the_outline():
    geo = chart.load_geometry()
    for code in [c for c in BODY_REGIONS if c.startswith("lateral-")]:
        for view, entry in geo["regions"][code].items():
            outline = geo["views"][view]["outline"]
            near = min(math.dist(p, q) for p in entry["polygons"][0] for q in outline)
            assert near < 1.0, (code, view, near)


# ----------------------------------------------------------------------------- views
@pytest.mark.parametrize(
    ("fig", "views"),
    [
        (GLUTEUS_MINIMUS, ("back",)),
        (PECTORALIS_MAJOR, ("front",)),
        (UPPER_TRAPEZIUS, ("front", "back")),
        (EMPTY, ("front", "back")),
        (figure([("lateral-hip", "essential")]), ("front",)),
        (figure([("heel", "essential")], ["lateral-leg"]), ("back",)),
        (figure([("chest", "essential")], ["scapular"]), ("front", "back")),
    ],
)
def test_views_for(fig, views):
    assert chart.views_for(fig) == views
    assert chart._scene(fig).views == views


def test_unknown_region_is_refused():
    with pytest.raises(ValueError, match="unknown body region"):
        chart.to_svg(figure([("elbow-ish", "essential")]))
    with pytest.raises(ValueError, match="extent"):
        chart.to_svg(figure([("chest", "severe")]))


# ----------------------------------------------------------------------------- SVG
def update_requested(request) -> bool:
    if os.environ.get("TPKIT_UPDATE_GOLDENS") == "1":
        return True
    try:
        return bool(request.config.getoption("--update-goldens", default=False))
    except ValueError:
        return False


@pytest.mark.parametrize("name", sorted(GOLDEN_FIGURES))
def test_svg_matches_golden(name, request):
    svg = chart.to_svg(GOLDEN_FIGURES[name])
    path = GOLDENS / f"{name}.svg"
    if update_requested(request) or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8", newline="\n")
        if not update_requested(request):
            pytest.skip(f"golden {path.name} was missing and has been written")
        return
    assert svg == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended, rerun with TPKIT_UPDATE_GOLDENS=1"
    )


@pytest.mark.parametrize("name", sorted(GOLDEN_FIGURES))
def test_svg_is_well_formed_and_self_contained(name):
    fig = GOLDEN_FIGURES[name]
    svg = chart.to_svg(fig)
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    assert len(root.get("viewBox").split()) == 4
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
        assert view.capitalize() in labels
    assert {"Essential zone", "Spillover zone", "Trigger point"} <= set(labels)


def test_svg_draws_zones_in_their_colours():
    svg = chart.to_svg(GLUTEUS_MINIMUS)
    root = ET.fromstring(svg)
    fills = [p.get("fill") for p in root.iter(f"{SVG_NS}polygon")]
    assert fills.count(chart.ESSENTIAL_RED) >= 3 + 1  # three essential zones and the legend swatch
    assert any(f and f.startswith("url(#stipple") for f in fills)
    assert root.find(f".//{SVG_NS}pattern") is not None


def test_svg_escapes_text():
    svg = chart.to_svg(UPPER_TRAPEZIUS)
    assert "&lt;&amp;&gt;" in svg
    ET.fromstring(svg)


# ----------------------------------------------------------------------------- PNG
def png_pixel_at(png: bytes, fig, view, point):
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    scene = chart._scene(fig)
    ox, oy = scene.origins[scene.views.index(view)]
    k = img.width / scene.width
    return img.getpixel((round((point[0] + ox) * k), round((point[1] + oy) * k)))


def is_red(rgb) -> bool:
    r, g, b = rgb
    return r > 170 and g < 90 and b < 90


def test_png_paints_essential_zones_red_and_leaves_the_rest():
    png = chart.to_png(GLUTEUS_MINIMUS)
    regions = chart.load_geometry()["regions"]
    for code in ("lateral-hip", "lateral-thigh"):
        poly = regions[code]["back"]["polygons"][0]
        assert is_red(png_pixel_at(png, GLUTEUS_MINIMUS, "back", centroid(poly))), code
    # the gluteal centroid, away from the X at the trigger point
    gx, gy = centroid(regions["gluteal"]["back"]["polygons"][0])
    px, py = regions["gluteal"]["back"]["point"]
    probe = (gx, gy) if math.dist((gx, gy), (px, py)) > 6 else (px, py - 8)
    assert is_red(png_pixel_at(png, GLUTEUS_MINIMUS, "back", probe))
    # far from any zone: the head, the other (left) leg, and the background
    for point in [(110, 40), (85, 380), (5, 5)]:
        assert not is_red(png_pixel_at(png, GLUTEUS_MINIMUS, "back", point)), point


def test_png_marks_the_trigger_point_and_stipples_spillover():
    png = chart.to_png(GLUTEUS_MINIMUS)
    point = chart.load_geometry()["regions"]["gluteal"]["back"]["point"]
    r, g, b = png_pixel_at(png, GLUTEUS_MINIMUS, "back", point)
    assert max(r, g, b) < 80  # the black X
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    scene = chart._scene(GLUTEUS_MINIMUS)
    ox, oy = scene.origins[0]
    k = img.width / scene.width
    cx, cy = centroid(chart.load_geometry()["regions"]["posterior-thigh"]["back"]["polygons"][0])
    patch = [
        img.getpixel((round((cx + ox) * k) + dx, round((cy + oy) * k) + dy)) for dx in range(-12, 13) for dy in
        range(-12, 13)
    ]
    assert any(is_red(p) for p in patch)  # dots
    assert any(p[0] > 230 and 150 < p[1] < 225 for p in patch)  # light red between them


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
    Image.open(io.BytesIO(png)).verify()  # chunk CRCs and structure (tpkit writes the PNG itself)
    wide = Image.open(io.BytesIO(chart.to_png(GLUTEUS_MINIMUS, width_in=2.0)))
    assert wide.width == 600


def test_renders_are_deterministic():
    for fig in GOLDEN_FIGURES.values():
        svg, png = chart.to_svg(fig), chart.to_png(fig)
        chart.load_geometry.cache_clear()
        chart._region_dots.cache_clear()
        assert chart.to_svg(fig) == svg
        assert chart.to_png(fig) == png


# ----------------------------------------------------------------------------- reportlab
def test_to_drawing_is_a_vector_drawing_of_the_requested_width():
    from reportlab.graphics.shapes import Drawing, Polygon, String

    drawing = chart.to_drawing(UPPER_TRAPEZIUS, 300.0)
    assert isinstance(drawing, Drawing)
    assert drawing.width == pytest.approx(300.0)
    scene = chart._scene(UPPER_TRAPEZIUS)
    assert drawing.height == pytest.approx(300.0 * scene.height / scene.width)
    shapes = drawing.contents
    assert any(isinstance(s, Polygon) for s in shapes)
    assert {s.text for s in shapes if isinstance(s, String)} >= {"Front", "Back", "Essential zone"}


# ----------------------------------------------------------------------------- files
def test_write_chart_by_suffix(tmp_path):
    from PIL import Image

    svg = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.svg")
    assert svg.read_text(encoding="utf-8") == chart.to_svg(GLUTEUS_MINIMUS)
    png = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.PNG")
    assert Image.open(png).format == "PNG"
    pdf1 = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "a.pdf")
    pdf2 = chart.write_chart(GLUTEUS_MINIMUS, tmp_path / "b.pdf")
    data = pdf1.read_bytes()
    assert data.startswith(b"%PDF")
    assert data == pdf2.read_bytes()  # invariant: no timestamps, no random ids
    for bad in ("a.jpg", "a"):
        with pytest.raises(ValueError):
            chart.write_chart(GLUTEUS_MINIMUS, tmp_path / bad)


def test_importing_the_chart_stays_light():
    code = "import sys, tpkit.chart; bad = {'reportlab', 'PIL'} & {m.split('.')[0] for m in sys.modules}; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "set()"


def test_chart_size_gives_the_aspect_of_every_renderer():
    from PIL import Image

    for fig in (GLUTEUS_MINIMUS, UPPER_TRAPEZIUS):
        width, height = chart.chart_size(fig)
        root = ET.fromstring(chart.to_svg(fig))
        assert root.get("viewBox") == f"0 0 {width:g} {height:g}"
        drawing = chart.to_drawing(fig, 200.0)
        assert drawing.height == pytest.approx(200.0 * height / width)
        img = Image.open(io.BytesIO(chart.to_png(fig, width_in=2.0)))
        assert img.height == round(img.width * height / width)
