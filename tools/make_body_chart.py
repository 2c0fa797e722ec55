"""Generate tpkit/data/body-chart.json, the body chart's geometry.

    python tools/make_body_chart.py tpkit/data/body-chart.json

The JSON is the source that tpkit reads; this script is how it was drawn (deterministic:
the same script writes the same bytes; needs shapely, ``pip install '.[tools]'``). This file
draws the whole-body front and back; body_chart_lateral.py the right side; body_chart_views.py
cuts the close-ups and writes the file. Edit the shapes, regenerate, look at the charts
(tpkit chart ... --out x.png --view NAME) and run tests/test_chart.py, which checks every
region against its view's outline, its neighbours and the numbers the view choice uses.

Everything is built in half-body coordinates (d, y): d is the distance from the
midline towards the patient's RIGHT side, y runs down. The front view shows the
patient's right on the viewer's left (x = CX - d), the back view on the
viewer's right (x = CX + d). The silhouette is mirror symmetric, so both views
share one outline.
"""

from __future__ import annotations

import bisect
import math
import sys

CX = 110.0
W, H = 220, 500
INSET = 0.2  # every region stays this far inside the outline (a close-up magnifies the gap up to 1.5 times)


# ----------------------------------------------------------------- curves
def hermite(knots):
    ys = [k[0] for k in knots]
    ds = [k[1] for k in knots]
    n = len(knots)
    m = []
    for i in range(n):
        if i == 0:
            m.append((ds[1] - ds[0]) / (ys[1] - ys[0]))
        elif i == n - 1:
            m.append((ds[-1] - ds[-2]) / (ys[-1] - ys[-2]))
        else:
            m.append((ds[i + 1] - ds[i - 1]) / (ys[i + 1] - ys[i - 1]))

    def f(y):
        if y <= ys[0]:
            return ds[0] + m[0] * (y - ys[0])
        if y >= ys[-1]:
            return ds[-1] + m[-1] * (y - ys[-1])
        i = bisect.bisect_right(ys, y) - 1
        h = ys[i + 1] - ys[i]
        t = (y - ys[i]) / h
        h00 = 2 * t**3 - 3 * t**2 + 1
        h10 = t**3 - 2 * t**2 + t
        h01 = -2 * t**3 + 3 * t**2
        h11 = t**3 - t**2
        return h00 * ds[i] + h10 * h * m[i] + h01 * ds[i + 1] + h11 * h * m[i + 1]

    return f


def catmull_rom(points, sub=4):
    """Centripetal Catmull-Rom through points (open chain); returns dense points
    and the dense index of every control point."""
    pts = list(points)
    out = []
    index = []
    n = len(pts)
    for i in range(n - 1):
        p0 = pts[i - 1] if i > 0 else (2 * pts[0][0] - pts[1][0], 2 * pts[0][1] - pts[1][1])
        p1, p2 = pts[i], pts[i + 1]
        p3 = pts[i + 2] if i + 2 < n else (2 * pts[-1][0] - pts[-2][0], 2 * pts[-1][1] - pts[-2][1])
        index.append(len(out))
        seg = _cr_segment(p0, p1, p2, p3, sub)
        out.extend(seg[:-1])
    index.append(len(out))
    out.append(pts[-1])
    return out, index


def _cr_segment(p0, p1, p2, p3, sub, alpha=0.5):
    def tj(ti, a, b):
        return ti + max(math.dist(a, b), 1e-6) ** alpha

    t0 = 0.0
    t1 = tj(t0, p0, p1)
    t2 = tj(t1, p1, p2)
    t3 = tj(t2, p2, p3)
    res = []
    for k in range(sub + 1):
        t = t1 + (t2 - t1) * k / sub
        a1 = _lerp(p0, p1, (t1 - t) / (t1 - t0), (t - t0) / (t1 - t0))
        a2 = _lerp(p1, p2, (t2 - t) / (t2 - t1), (t - t1) / (t2 - t1))
        a3 = _lerp(p2, p3, (t3 - t) / (t3 - t2), (t - t2) / (t3 - t2))
        b1 = _lerp(a1, a2, (t2 - t) / (t2 - t0), (t - t0) / (t2 - t0))
        b2 = _lerp(a2, a3, (t3 - t) / (t3 - t1), (t - t1) / (t3 - t1))
        c = _lerp(b1, b2, (t2 - t) / (t2 - t1), (t - t1) / (t2 - t1))
        res.append(c)
    return res


def _lerp(a, b, wa, wb):
    return (a[0] * wa + b[0] * wb, a[1] * wa + b[1] * wb)


def smooth(points, sub=6):
    return catmull_rom(points, sub)[0]


# ----------------------------------------------------------------- body model
# Arm axis (d of the limb centre line).
def arm_axis(y):
    if y <= 190:
        return 50.0 + (y - 102.0) * 16.0 / 88.0
    return 66.0 + (y - 190.0) * 10.0 / 62.0


ARM_H_OUT = hermite([(112, 10.5), (122, 12.4), (135, 12.6), (150, 12.0), (166, 11.0), (180, 10.2),
                     (191, 10.9), (200, 11.3), (210, 11.8), (224, 10.6), (238, 9.0), (252, 7.8)])
ARM_H_IN = hermite([(122, 12.6), (135, 12.2), (150, 11.7), (166, 10.9), (180, 10.4), (190, 11.3),
                    (198, 11.0), (210, 11.2), (224, 9.8), (238, 8.2), (252, 7.0)])


def arm_out(y):
    return arm_axis(y) + ARM_H_OUT(y)


def arm_in(y):
    return arm_axis(y) - ARM_H_IN(y)


# Outer edge of trunk and leg (virtual above the armpit: the line from the
# clavicle's outer third to the axilla, used only to bound regions).
BODY_OUT = hermite([
    (92, 38.6), (100, 39.3), (110, 40.2), (118, 40.9), (124.5, 41.2), (132, 40.6), (142, 39.6), (156, 37.4),
    (170, 35.0), (182, 33.6), (192, 33.9), (202, 35.6), (214, 39.2), (226, 42.4), (238, 44.1), (250, 44.4),
    (262, 43.5), (280, 41.3), (300, 38.2), (318, 34.8), (332, 32.0), (342, 31.2), (352, 31.8), (364, 33.0),
    (376, 33.2), (390, 31.4), (406, 28.0), (422, 25.0), (436, 23.4), (446, 24.0), (452, 23.2),
])
# Inner edge of the leg (0 = the crotch).
LEG_IN = hermite([
    (250, 0.0), (253, 2.0), (258, 3.3), (270, 4.0), (290, 4.5), (310, 5.2), (326, 5.9), (336, 5.3),
    (344, 5.2), (352, 5.9), (360, 5.3), (370, 5.0), (384, 6.2), (400, 8.6), (418, 10.6), (432, 11.4),
    (440, 10.6), (446, 10.8), (452, 11.6),
])


FOLD_Y = hermite([(0.0, 258.0), (0.1, 263.0), (0.2, 266.0), (0.35, 268.3), (0.5, 268.5), (0.65, 266.6),
                  (0.8, 262.5)])
ING = [(30.0, 229.0), (23.0, 235.5), (16.0, 241.0), (9.5, 245.2), (4.0, 247.6), (0.6, 248.6)]


# hand (offsets from the arm axis at the wrist): index, middle, ring, little finger
FINGER_TIPS = [(7.9, 300.8, 2.2), (3.4, 303.6, 2.2), (-1.2, 302.2, 2.1), (-5.6, 297.8, 2.0)]
FINGER_NOTCH = [5.7, 1.1, -3.4]
FINGER_WEB = [290.0, 290.2, 289.4]  # how far up the gaps between the fingers reach


def hand_pt(dx, y):
    """A hand point: offset from the wrist axis, the hand continuing the forearm's slant."""
    return (arm_axis(252) + dx + (y - 252.0) * 0.12, y)


TOES = [(26.0, 484.0, 1.6), (23.2, 486.6, 1.6), (20.3, 488.4, 1.6), (17.2, 489.6, 1.7), (12.9, 491.6, 2.6)]


def toe_notch(i):
    return (TOES[i][0] + TOES[i + 1][0]) / 2 + (0.6 if i == 3 else 0)


def hip_width(y):
    """Width of the lateral-hip strip: 8, narrowing to the lateral-thigh strip (a fifth of the thigh) below."""
    return min(8.0, 0.2 * (BODY_OUT(y) - body_in(y) - 2 * INSET))


def body_in(y):
    return 0.0 if y <= 250 else max(0.0, LEG_IN(y))


HEAD_CY, HEAD_A, HEAD_B = 37.0, 19.8, 29.0
HEAD_LOW = hermite([(37, 19.8), (44, 19.6), (50, 19.1), (55, 18.1), (59, 16.4), (62.5, 14.2),
                    (65.5, 12.2), (68.5, 11.3), (74, 11.2), (80, 11.8), (84, 12.7), (88, 13.6), (92, 14.0)])


def head_out(y):
    """Half width of skull, face and neck (ears excluded)."""
    if y <= HEAD_CY:
        v = (HEAD_CY - y) / HEAD_B
        return HEAD_A * math.sqrt(max(0.0, 1 - v * v))
    return HEAD_LOW(y)


def samples(y0, y1, step):
    n = max(1, round(abs(y1 - y0) / step))
    return [y0 + (y1 - y0) * k / n for k in range(n + 1)]


# ----------------------------------------------------------------- contour
class Contour:
    def __init__(self):
        self.ctrl = []
        self.names = {}

    def add(self, p, name=None):
        if name:
            self.names[name] = len(self.ctrl)
        self.ctrl.append((float(p[0]), float(p[1])))

    def build(self, sub=4):
        self.dense, idx = catmull_rom(self.ctrl, sub)
        self.at = {name: idx[i] for name, i in self.names.items()}

    def piece(self, a, b):
        i, j = self.at[a], self.at[b]
        if i <= j:
            return self.dense[i:j + 1]
        return self.dense[j:i + 1][::-1]

    def normal(self, k):
        p = self.dense[max(k - 1, 0)]
        q = self.dense[min(k + 1, len(self.dense) - 1)]
        tx, ty = q[0] - p[0], q[1] - p[1]
        ln = math.hypot(tx, ty) or 1.0
        return (-ty / ln, tx / ln)  # inward

    def inset(self, a, b, w=INSET):
        i, j = self.at[a], self.at[b]
        ks = range(i, j + 1) if i <= j else range(i, j - 1, -1)
        res = []
        for k in ks:
            n = self.normal(k)
            p = self.dense[k]
            res.append((p[0] + n[0] * w, p[1] + n[1] * w))
        return res


def build_contour():
    c = Contour()
    # head: top of skull to the ear
    for k in range(0, 13):
        t = math.radians(80 * k / 12)
        y = HEAD_CY - HEAD_B * math.cos(t)
        c.add((HEAD_A * math.sin(t), y), name={0: "top", 5: "vertex_end", 10: "temple_lo"}.get(k))
    # (k=12 gives y = 37 - 29 cos 80deg = 31.96)
    c.add((21.2, 32.8), "ear_top")
    c.add((22.9, 35.6))
    c.add((23.4, 40.0))
    c.add((22.8, 45.0))
    c.add((21.3, 49.0))
    c.add((19.3, 51.2), "ear_bottom")
    for y in (54.5, 58.0, 61.5, 64.5, 67.5, 71.0, 76.0, 80.5):
        c.add((head_out(y), y))
    c.add((12.9, 84.0), "neck_base")
    c.add((16.2, 86.6))
    c.add((22.0, 88.7))
    c.add((29.0, 90.2))
    c.add((36.0, 91.7))
    c.add((42.5, 93.4))
    c.add((48.0, 95.3))
    c.add((52.4, 97.8), "acromion")
    c.add((56.2, 101.0))
    c.add((59.2, 105.6))
    c.add((61.3, 111.0))
    for y in samples(116, 252, 4):
        name = {132.0: "arm_132", 180.0: "arm_180", 204.0: "arm_204", 244.0: "wrist_top"}.get(round(y, 6))
        c.add((arm_out(y), y), name)
    # hand, palm facing forward, thumb on the outer (radial) side
    c.add(hand_pt(8.6, 256.5), "palm_top_out")
    c.add(hand_pt(10.2, 260.5), "thumb_base")
    for p in [(12.4, 265.0), (14.4, 270.0), (15.9, 275.0), (16.6, 279.2), (16.2, 282.6), (14.8, 284.4),
              (13.0, 284.0), (11.9, 281.2), (11.1, 277.8), (10.4, 275.3), (9.8, 274.3)]:
        c.add(hand_pt(*p))
    c.add(hand_pt(9.4, 274.6), "thumb_web")
    c.add(hand_pt(9.7, 278.0))
    c.add(hand_pt(10.1, 282.0), "fingers_out")
    c.add(hand_pt(10.4, 289.0))
    c.add(hand_pt(10.2, 295.5))
    for i, (dx, ty, r) in enumerate(FINGER_TIPS):
        # separate fingers down to the web (a mitten would not read as a hand on the close-up)
        if i > 0:
            c.add(hand_pt(dx + r * 0.86, FINGER_WEB[i - 1] + 2.0))
        c.add(hand_pt(dx + r * 0.9, ty - 3.0))
        c.add(hand_pt(dx + r * 0.75, ty - 0.7))
        c.add(hand_pt(dx, ty))
        c.add(hand_pt(dx - r * 0.75, ty - 0.7))
        c.add(hand_pt(dx - r * 0.9, ty - 3.0))
        if i + 1 < len(FINGER_TIPS):
            c.add(hand_pt(dx - r * 0.86, FINGER_WEB[i] + 2.0))
            c.add(hand_pt(FINGER_NOTCH[i], FINGER_WEB[i]))
    c.add(hand_pt(-8.0, 293.0))
    c.add(hand_pt(-8.5, 287.0))
    c.add(hand_pt(-8.7, 282.0), "fingers_in")
    c.add(hand_pt(-9.0, 275.0))
    c.add(hand_pt(-8.9, 267.5))
    c.add(hand_pt(-8.2, 261.0))
    c.add(hand_pt(-7.5, 256.5), "palm_top_in")
    for y in samples(252, 128, 4):
        name = {244.0: "wrist_top_in", 204.0: "arm_in_204", 180.0: "arm_in_180"}.get(round(y, 6))
        c.add((arm_in(y), y), name)
    c.add((41.6, 124.3), "axilla")
    for y in samples(128, 444, 4):
        name = {212.0: "hip_top", 264.0: "thigh_top", 328.0: "knee_top", 352.0: "knee_bottom",
                436.0: "ankle_top_out"}.get(round(y, 6))
        c.add((BODY_OUT(y), y), name)
    # foot: pointing down, big toe on the inner side
    c.add((24.3, 449.0))
    c.add((24.2, 453.0), "heel_out")
    c.add((25.2, 459.0))
    c.add((26.4, 466.0), "sole_out")
    c.add((27.3, 473.0))
    c.add((27.6, 479.0), "toes_out")
    toes = TOES
    for i, (dx, ty, r) in enumerate(toes):
        c.add((dx + r * 0.9, ty - 0.7))
        c.add((dx, ty))
        c.add((dx - r * 0.9, ty - 0.7))
        if i + 1 < len(toes):
            c.add((toe_notch(i), ty - 1.0))
    c.add((10.5, 488.0))
    c.add((10.1, 483.0), "toes_in")
    c.add((10.0, 476.0))
    c.add((10.1, 466.0), "sole_in")
    c.add((10.5, 459.0))
    c.add((11.2, 453.0), "heel_in")
    for y in samples(448, 256, 4):
        name = {436.0: "ankle_top_in", 352.0: "knee_bottom_in", 328.0: "knee_top_in", 264.0: "thigh_top_in"}.get(
            round(y, 6))
        c.add((LEG_IN(y), y), name)
    c.add((1.1, 251.2))
    c.add((0.0, 250.0), "crotch")
    c.build(4)
    return c


# ----------------------------------------------------------------- region helpers
def strip_pt(y, u, lo, hi):
    a = lo(y) + INSET
    b = hi(y) - INSET
    return (a + u * (b - a), y)


def strip_poly(uv, lo, hi, step=1.5):
    """Polygon given in (u, y) on the strip between lo(y) and hi(y), densified."""
    pts = []
    n = len(uv)
    for i in range(n):
        (u0, y0), (u1, y1) = uv[i], uv[(i + 1) % n]
        k = max(1, math.ceil(max(abs(y1 - y0), abs(u1 - u0) * 30) / step))
        for j in range(k):
            t = j / k
            pts.append(strip_pt(y0 + (y1 - y0) * t, u0 + (u1 - u0) * t, lo, hi))
    return pts


def band(y0, y1, u0, u1, lo, hi):
    return strip_poly([(u0, y0), (u1, y0), (u1, y1), (u0, y1)], lo, hi)


def edge_band(y0, y1, width, lo, hi, outer=True, step=2.0):
    """A strip of constant width along the inner or outer edge."""
    ys = samples(y0, y1, step)
    w = width if callable(width) else (lambda y: width)
    if outer:
        a = [(hi(y) - INSET, y) for y in ys]
        b = [(hi(y) - INSET - w(y), y) for y in ys]
    else:
        a = [(lo(y) + INSET, y) for y in ys]
        b = [(lo(y) + INSET + w(y), y) for y in ys]
    return a + b[::-1]


def ellipse(cx, cy, rx, ry, n=28):
    return [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)]


def lateral_offset(pts, w):
    """Offset an open polyline by w to its left (inward for our contour direction)."""
    res = []
    for k in range(len(pts)):
        p = pts[max(k - 1, 0)]
        q = pts[min(k + 1, len(pts) - 1)]
        tx, ty = q[0] - p[0], q[1] - p[1]
        ln = math.hypot(tx, ty) or 1.0
        res.append((pts[k][0] - ty / ln * w, pts[k][1] + tx / ln * w))
    return res


# ----------------------------------------------------------------- regions
def build_regions(c):
    R = {}  # code -> {view: [polygons in (d, y)]}

    def put(code, views, *polys):
        R.setdefault(code, {})
        for v in views:
            R[code][v] = [list(p) for p in polys]

    FB = ("front", "back")
    hin = lambda y: 0.0  # noqa: E731
    hout = head_out
    ain, aout = arm_in, arm_out
    bin_, bout = body_in, BODY_OUT

    # ---- head and neck
    vertex_half = c.inset("top", "vertex_end")
    vy = vertex_half[-1][1]
    vertex = vertex_half + [(vertex_half[-1][0] * 0.5, vy + 0.6), (0.0, vy + 0.8)]
    put("vertex", FB, vertex + [(-p[0], p[1]) for p in reversed(vertex[1:-1])])
    # forehead and temple meet along a curve, the forehead's lower edge arches over the brow
    # (strip coordinates: u = 0 at the midline, 1 at the side of the head)
    border = [(0.56, vy + 1.0), (0.59, 19.0), (0.63, 24.0), (0.66, 28.0), (0.68, 31.6)]
    arch = [(0.55, 31.2), (0.4, 30.7), (0.25, 30.6), (0.1, 30.9), (0.0, 31.1)]
    put("forehead", ("front",), strip_poly([(0, vy + 1.4)] + border + arch, hin, hout))
    temple = border + [(1.0, 32.6), (1.0, 30), (1.0, 26), (1.0, 22), (0.97, vy + 0.4)]
    put("temple", ("front",), strip_poly(temple, hin, hout))
    put("eye", ("front",), ellipse(8.8, 38.4, 5.5, 3.4))
    ear = c.inset("ear_top", "ear_bottom") + [(18.0, 49.6), (17.9, 41.0), (18.3, 33.6)]
    put("ear", FB, ear)
    # jaw: a band along the lower border of the mandible
    jaw_top = [(0.6, 62.6), (5.0, 62.2), (9.5, 60.6), (13.2, 58.0), (16.0, 54.8), (17.8, 51.6)]
    jaw_edge = [p for p in c.dense[c.at["ear_bottom"]:c.at["neck_base"] + 1] if p[1] <= 66.2]
    jaw_edge = lateral_offset(jaw_edge, INSET)
    chin = [(10.2, 67.4), (6.0, 69.0), (0.6, 69.8)]
    put("jaw", ("front",), jaw_top + jaw_edge + chin)
    # under the eye, along the face's side and the jaw, and in along the nasolabial fold
    cheek = [(4.6, 44.2), (8.6, 43.0), (13.0, 43.0), (16.2, 43.8)] + [(hout(y) - 1.4, y) for y in (45, 47, 49)] + [
        (17.6, 51.2), (16.0, 54.2), (13.2, 57.4), (9.5, 60.0), (6.4, 60.6), (5.6, 57.6), (4.8, 53.0), (4.1, 48.4)]
    put("cheek", ("front",), cheek)
    clav = [(0.6, 92.0), (6.0, 92.2), (12.0, 92.9), (18.0, 93.8), (24.0, 94.9), (30.0, 96.0), (36.0, 97.1),
            (40.0, 98.0), (44.0, 99.0)]
    neck_side = [(hout(y) - INSET, y) for y in (70, 74, 78, 82)]
    st_in = c.inset("neck_base", "neck_base")[0]
    put("anterior-neck", ("front",), chin[::-1] + [(10.9, 67.2)] + neck_side + [st_in, (12.8, 92.8)]
        + clav[:3][::-1])
    occ = [(0.0, 29.5), (0.45, 30.0), (0.75, 31.6), (0.9, 36.0), (0.93, 42.0), (0.88, 48.0), (0.78, 54.0),
           (0.55, 58.0), (0.25, 59.6), (0.0, 60.0)]
    put("occiput", ("back",), strip_poly(occ, hin, hout))
    post_neck = [(0.6, 61.6), (7.0, 61.2), (12.0, 60.4)] + [(hout(y) - INSET, y) for y in samples(61, 82, 3)] + [
        st_in, (12.8, 92.8)] + clav[:3][::-1]
    put("posterior-neck", ("back",), post_neck)

    # ---- shoulder
    lat_sh_outer = c.inset("acromion", "arm_132")
    lat_sh_inner = c.inset("acromion", "arm_132", INSET + 6.2)
    put("lateral-shoulder", FB, lat_sh_outer + lat_sh_inner[::-1])
    sh_top = c.inset("neck_base", "acromion") + [lat_sh_inner[0]] + [p for p in clav[::-1] if 12.5 < p[0] < 47] + [
        (12.8, 92.8)]
    put("shoulder-top", FB, sh_top)
    # deltoid front/back: clavicle/acromion down to y 132, medially the deltopectoral line
    delto = [(38.0, 97.55)] + [p for p in clav if p[0] > 38] + lat_sh_inner + [
        (arm_in(132) + INSET, 132.0), (44.8, 122.0), (42.2, 112.0), (39.4, 104.0), (38.6, 100.5)]
    put("anterior-shoulder", ("front",), delto)
    put("posterior-shoulder", ("back",), delto)

    # ---- arm (u: 0 inner, 1 outer)
    upper_arm = [(arm_in(132) + INSET, 132.0), lat_sh_inner[-1], lat_sh_outer[-1]] + [
        (arm_out(y) - INSET, y) for y in samples(134, 180, 2)] + [(arm_in(y) + INSET, y) for y in samples(180, 134, 2)]
    put("anterior-arm", ("front",), upper_arm)
    put("posterior-arm", ("back",), upper_arm)
    put("lateral-elbow", FB, strip_poly([(0.6, 180), (1, 180), (1, 204), (0.6, 204), (0.52, 192)], ain, aout))
    put("medial-elbow", FB, strip_poly([(0, 180), (0.4, 180), (0.48, 192), (0.4, 204), (0, 204)], ain, aout))
    put("anterior-forearm", ("front",), band(204, 244, 0, 1, ain, aout))
    put("posterior-forearm", ("back",), band(204, 244, 0, 1, ain, aout))
    wrist = c.inset("wrist_top", "palm_top_out") + c.inset("palm_top_in", "wrist_top_in")
    put("palmar-wrist", ("front",), wrist)
    put("dorsal-wrist", ("back",), wrist)
    hand = c.inset("palm_top_out", "thumb_base") + c.inset("thumb_web", "fingers_out") + c.inset(
        "fingers_in", "palm_top_in")
    put("palm", ("front",), hand)
    put("dorsal-hand", ("back",), hand)
    put("thumb", FB, c.inset("thumb_base", "thumb_web"))
    put("fingers", FB, c.inset("fingers_out", "fingers_in"))

    # ---- trunk (u: 0 midline, 1 side)
    chest_low = lambda u: 158.0 - 6.0 * u * u  # noqa: E731
    deltopectoral = [(38.0, 97.55), (38.5, 103.0), (39.4, 110.0), (40.2, 117.0), (40.5, 122.0)]
    chest = [p for p in clav if p[0] < 38.0] + deltopectoral + [
        (bout(y) - INSET, y) for y in samples(124.5, chest_low(1), 3)] + [
        strip_pt(chest_low(u), u, bin_, bout) for u in (0.8, 0.6, 0.4, 0.2, 0.0)]
    put("chest", ("front",), chest)
    put("upper-abdomen", ("front",), strip_poly([(0, chest_low(0))] + [(u, chest_low(u)) for u in (0.25, 0.5, 0.75, 1.0)]
                                                + [(1, 196), (0, 196)], bin_, bout))
    # inguinal ligament, from the ASIS to the pubis
    hip_w = 8.0
    hip_top = 208.0
    ing = [(bout(222) - INSET - hip_w, 222.0)] + ING
    lowab = [(0.6, 196.0)] + [strip_pt(196, u, bin_, bout) for u in (0.5, 1.0)] + [
        (bout(y) - INSET, y) for y in (200, 204, hip_top)] + [
        (bout(y) - INSET - hip_w, y) for y in samples(hip_top, 222, 2)][:-1] + ing
    put("lower-abdomen", ("front",), lowab)
    groin_edge = lambda u: 259.0 - 16.0 * u  # noqa: E731
    groin_low = [strip_pt(groin_edge(u), u, bin_, bout) for u in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    groin_out = [(bout(y) - INSET - hip_w, y) for y in samples(222, groin_edge(0.8), 2.5)]
    groin_med = [(LEG_IN(y) + INSET, y) for y in (251.0, 253.0, 255.0, 257.0)]
    put("groin", ("front",), ing + groin_med + groin_low + groin_out[::-1][1:-1])
    put("lateral-hip", FB, edge_band(hip_top, 264, hip_width, bin_, bout))

    spine = 1.4
    scap = [(16.6, 99.6), (24.0, 98.6), (31.0, 98.6), (36.4, 99.6), (39.0, 103.0), (39.4, 109.0), (38.0, 118.0),
            (35.4, 128.0), (31.8, 138.0), (27.6, 146.5), (24.2, 152.5), (21.6, 150.5), (19.0, 143.0),
            (17.0, 132.0), (15.9, 120.0), (15.6, 109.0)]
    put("scapular", ("back",), scap)
    inter = [(spine, 96.0), (12.0, 96.8), (14.6, 100.5), (14.4, 110.0), (14.6, 121.0), (15.9, 132.0),
             (17.8, 143.0), (19.8, 150.5), (spine, 150.5)]
    put("interscapular", ("back",), inter)
    # sacrum and the iliac crest
    sac_half = [(12.4, 214.0), (11.4, 222.0), (9.4, 230.0), (6.4, 238.0), (3.0, 244.0), (0.0, 247.0)]
    sac = [(0.0, 212.6)] + sac_half
    put("sacral", ("back",), sac + [(-p[0], p[1]) for p in reversed(sac[1:-1])])
    crest = [(13.6, 213.6), (19.0, 210.4), (24.0, 208.8), (bout(hip_top) - INSET - hip_w, hip_top)]
    lumbar = [(spine, 172.0)] + [strip_pt(172, u, bin_, bout) for u in (0.4, 0.7)] + [
        strip_pt(y, 0.7, bin_, bout) for y in (180, 190, 200)] + crest[::-1] + [(12.4, 212.4), (spine, 212.4)]
    put("lumbar", ("back",), lumbar)
    fold = [strip_pt(FOLD_Y(u / 20), u / 20, bin_, bout) for u in range(16, -1, -1)] + [(2.2, 251.6), (1.2, 248.6)]
    glut = [(13.4, 215.0)] + crest[1:] + [(bout(y) - INSET - hip_width(y), y) for y in samples(hip_top, 262.5, 3)][1:-1] + fold + [
        (3.8, 245.0), (7.2, 238.6), (10.2, 230.4), (12.2, 222.2)]
    put("gluteal", ("back",), glut)

    # ---- thigh, knee, leg (u: 0 inner edge, 1 outer edge)
    ant_thigh = [(u, groin_edge(u)) for u in (0.2, 0.35, 0.5, 0.65, 0.8)] + [(0.8, 264.0), (0.8, 328.0), (0.2, 328.0)]
    put("anterior-thigh", ("front",), strip_poly(ant_thigh, bin_, bout))
    put("lateral-thigh", FB, strip_poly([(0.8, 264), (1.0, 264), (1.0, 328), (0.8, 328)], bin_, bout))
    put("medial-thigh", ("front",), strip_poly([(0.0, groin_edge(0)), (0.2, groin_edge(0.2)), (0.2, 328), (0.0, 328)],
                                               bin_, bout))
    put("medial-thigh", ("back",), strip_poly([(u / 10, FOLD_Y(u / 10)) for u in (0, 1, 2)] + [(0.2, 328), (0.0, 328)],
                                              bin_, bout))
    put("posterior-thigh", ("back",), strip_poly([(u / 20, FOLD_Y(u / 20)) for u in range(4, 17)] + [(0.8, 328),
                                                 (0.2, 328)], bin_, bout))
    # the front of the knee: round the kneecap; the back: the diamond of the popliteal fossa
    from shapely.geometry import Polygon as Shape

    knee = Shape(strip_poly([(0.2, 328), (0.8, 328), (0.8, 352), (0.2, 352)], bin_, bout))
    kx = (LEG_IN(340) + BODY_OUT(340)) / 2
    kneecap = Shape(ellipse(kx, 340.0, 9.5, 12.2, 48)).intersection(knee)
    put("anterior-knee", ("front",), list(kneecap.exterior.coords)[:-1])
    fossa = Shape(smooth([(kx, 328.2), (kx + 7.0, 333.5), (kx + 8.6, 340.5), (kx + 6.6, 347.0), (kx, 351.8),
                          (kx - 6.6, 347.0), (kx - 8.6, 340.5), (kx - 7.0, 333.5), (kx, 328.2)], 4)).intersection(knee)
    put("posterior-knee", ("back",), list(fossa.exterior.coords)[:-1])
    put("lateral-knee", FB, strip_poly([(0.8, 328), (1.0, 328), (1.0, 352), (0.8, 352)], bin_, bout))
    put("medial-knee", FB, strip_poly([(0.0, 328), (0.2, 328), (0.2, 352), (0.0, 352)], bin_, bout))
    put("anterior-leg", ("front",), strip_poly([(0.2, 352), (0.78, 352), (0.78, 434), (0.2, 434)], bin_, bout))
    put("posterior-leg", ("back",), strip_poly([(0.05, 352), (0.78, 352), (0.78, 430), (0.5, 436), (0.05, 430)],
                                               bin_, bout))
    put("lateral-leg", FB, strip_poly([(0.78, 352), (1.0, 352), (1.0, 436), (0.78, 436)], bin_, bout))
    lat_ank = [(bout(y) - INSET, y) for y in samples(438, 452, 2)]
    lat_ank = lat_ank + [(p[0] - 4.6 * math.sin(math.pi * (p[1] - 438) / 14) - 0.4, p[1]) for p in lat_ank[::-1]]
    put("lateral-ankle", FB, lat_ank)
    med_ank = [(LEG_IN(y) + INSET, y) for y in samples(434, 449, 2)]
    med_ank = med_ank + [(p[0] + 4.6 * math.sin(math.pi * (p[1] - 434) / 15) + 0.4, p[1]) for p in med_ank[::-1]]
    put("medial-ankle", FB, med_ank)
    foot_top = c.inset("heel_out", "toes_out") + c.inset("toes_in", "heel_in")
    put("dorsal-foot", ("front",), foot_top)
    put("heel", ("back",), c.inset("heel_out", "sole_out") + c.inset("sole_in", "heel_in"))
    put("plantar-foot", ("back",), c.inset("sole_out", "toes_out") + c.inset("toes_in", "sole_in"))
    put("toes", FB, c.inset("toes_out", "toes_in"))
    return R


# ----------------------------------------------------------------- details (thin interior lines)
def build_details(c):
    front, back = [], []
    both = []
    # fingers
    for i, n in enumerate(FINGER_NOTCH):
        both.append(smooth([hand_pt(n, FINGER_WEB[i] - 0.3), hand_pt(n + 0.05, FINGER_WEB[i] - 2.5),
                            hand_pt(n + 0.05, 285.5)]))
    # toes
    for i in range(len(TOES) - 1):
        d0, y0 = toe_notch(i), TOES[i][1] - 1.3
        both.append([(d0, y0), (d0 + 0.15, y0 - 3.5)])
    # ear
    both.append(smooth([(20.0, 35.5), (21.6, 38.5), (21.6, 43.5), (20.2, 47.0)]))
    # face: brow, eyelids, nose, mouth (they show on the head close-up)
    front.append(smooth([(3.4, 33.6), (8.0, 32.6), (12.6, 33.4), (14.6, 34.6)]))
    front.append(smooth([(4.6, 38.6), (8.6, 37.0), (12.6, 38.4)]))
    front.append(smooth([(4.6, 38.6), (8.6, 39.8), (12.6, 38.4)]))
    front.append(smooth([(1.6, 39.5), (2.2, 44.5), (3.6, 49.0), (2.4, 50.4), (0.0, 50.8)]))
    front.append(smooth([(6.0, 56.2), (3.0, 56.9), (0.0, 56.6)]))
    front.append(smooth([(4.2, 57.6), (2.0, 58.6), (0.0, 58.8)]))
    # back: the hairline at the nape
    back.append(smooth([(0.0, 60.2), (6.0, 59.4), (11.5, 57.0), (15.2, 54.0)]))
    # front: chin, clavicles, pectoral line, navel, inguinal line, kneecap, elbow crease
    front.append(smooth([(15.6, 59.6), (12.6, 64.2), (8.0, 68.0), (0.0, 69.8)]))
    front.append(smooth([(3.0, 92.0), (12.0, 92.9), (24.0, 94.9), (36.0, 97.1), (42.0, 98.3)]))
    front.append(smooth([(36.5, 135.0), (30.0, 144.0), (20.0, 148.0), (8.0, 146.5)]))
    front.append(smooth([(33.0, 221.0)] + ING[:-2]))
    kx = (LEG_IN(340) + BODY_OUT(340)) / 2
    front.append(ellipse(kx, 339.5, 6.2, 7.6, 24) + [ellipse(kx, 339.5, 6.2, 7.6, 24)[0]])
    front.append(smooth([(arm_axis(190) - 4, 190.5), (arm_axis(190), 191.8), (arm_axis(190) + 4, 190.5)]))
    front.append(smooth([(0.0, 150.0), (0.0, 172.0)]))  # linea alba (short)
    navel = ellipse(0.0, 195.0, 1.3, 1.6, 12)
    front.append(navel + [navel[0]])
    # back: spine, scapulae, gluteal cleft and folds, knee crease, ankle tendon
    back.append([(0.0, 96.0), (0.0, 212.0)])
    back.append(smooth([(16.0, 104.0), (15.6, 118.0), (17.0, 131.0), (19.8, 143.0), (24.0, 152.0), (27.8, 146.0),
                        (32.4, 137.0)]))
    back.append(smooth([(16.5, 106.5), (28.0, 103.2), (40.5, 99.8), (47.5, 98.6)]))  # spine of scapula
    back.append([(0.0, 228.0), (0.0, 250.0)])
    back.append([strip_pt(FOLD_Y(u / 20), u / 20, body_in, BODY_OUT) for u in range(1, 15)])
    back.append(smooth([(LEG_IN(341) + 5, 341.5), (kx, 342.3), (BODY_OUT(341) - 5, 341.5)]))
    back.append(smooth([(c_ := (LEG_IN(420) + BODY_OUT(420)) / 2, 418.0), (c_ + 0.2, 448.0)]))
    back.append(smooth([(arm_axis(188) - 2.5, 186.5), (arm_axis(188), 188.6), (arm_axis(188) + 2.5, 186.5)]))
    return front, back, both


# ----------------------------------------------------------------- geometry helpers
def area(poly):
    s = 0.0
    for i in range(len(poly)):
        x0, y0 = poly[i]
        x1, y1 = poly[(i + 1) % len(poly)]
        s += x0 * y1 - x1 * y0
    return s / 2


def seg_dist(p, a, b):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    L = dx * dx + dy * dy
    t = 0 if L == 0 else max(0, min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / L))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def simplify(points, eps, closed=True):
    """Douglas-Peucker: drop points that lie within eps of the line through their neighbours."""
    pts = list(points)
    if closed:
        # split at the two points farthest apart so each half is an open chain
        far = max(range(len(pts)), key=lambda i: math.dist(pts[0], pts[i]))
        a = simplify(pts[:far + 1], eps, closed=False)
        b = simplify(pts[far:] + [pts[0]], eps, closed=False)
        return a[:-1] + b[:-1]
    if len(pts) < 3:
        return pts
    i_max, d_max = 0, -1.0
    for i in range(1, len(pts) - 1):
        d = seg_dist(pts[i], pts[0], pts[-1])
        if d > d_max:
            i_max, d_max = i, d
    if d_max <= eps:
        return [pts[0], pts[-1]]
    return simplify(pts[:i_max + 1], eps, False)[:-1] + simplify(pts[i_max:], eps, False)


def dedupe(poly, eps=0.05):
    out = []
    for p in poly:
        if not out or math.dist(p, out[-1]) > eps:
            out.append(p)
    if len(out) > 2 and math.dist(out[0], out[-1]) <= eps:
        out.pop()
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    import body_chart_views

    body_chart_views.main(sys.argv[1])
