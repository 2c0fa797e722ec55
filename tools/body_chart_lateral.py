"""The whole-body right-lateral view of the body chart (used by make_body_chart.py).

The patient stands facing the viewer's right, right side towards the viewer, the
right elbow bent to a right angle with the thumb up, so that the forearm and hand
hide neither the hip nor the thigh and their back (extensor) surface faces the viewer.
Units and height match the front and back views (y 0..500, the same levels for
chin, shoulder, crotch, knee and ankle).

The silhouette is drawn as a front edge and a back edge (functions of y) for neck,
trunk and leg, plus explicit curves for head and foot; the arm is a second outline
drawn over the trunk. Regions are bands between the two edges (u = 0 at the back,
1 at the front), cut with shapely so that they stay inside the outline and never
overlap.
"""

from __future__ import annotations

import math

from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

W, H = 150, 500

# front and back edges of neck, trunk and leg: (y, x) knots
FRONT = [(70, 83.5), (76, 80.0), (84, 79.0), (92, 80.5), (100, 85.0), (112, 89.5), (126, 91.5), (140, 90.5),
         (152, 87.0), (166, 86.0), (182, 88.5), (198, 90.0), (214, 89.0), (228, 86.5), (240, 85.0), (252, 87.5),
         (266, 88.0), (290, 86.0), (314, 82.5), (330, 80.0), (340, 82.5), (350, 81.0), (360, 78.0), (380, 78.5),
         (400, 77.0), (420, 74.5), (436, 72.5), (444, 73.0)]
BACK = [(62, 58.5), (72, 60.5), (84, 58.5), (96, 53.0), (110, 49.0), (126, 48.0), (146, 49.5), (166, 52.0),
        (182, 54.5), (196, 53.0), (210, 47.5), (226, 43.0), (240, 43.5), (252, 47.5), (262, 52.0), (290, 54.0),
        (314, 56.5), (330, 58.5), (344, 57.5), (356, 54.0), (372, 51.5), (390, 53.0), (410, 57.5), (428, 60.5),
        (440, 60.5), (448, 59.0)]


def _interp(knots):
    from make_body_chart import hermite

    return hermite([(y, x) for y, x in knots])


front = _interp(FRONT)
back = _interp(BACK)

# the upper arm: front and back edges (the forearm runs forward from the elbow)
ARM_FRONT = [(100, 74.0), (108, 79.5), (120, 80.5), (140, 78.5), (160, 77.5), (172, 78.0), (180, 79.0)]
ARM_BACK = [(100, 60.0), (108, 57.0), (122, 56.0), (140, 56.5), (160, 57.0), (176, 57.0), (186, 57.5)]
arm_front = _interp(ARM_FRONT)
arm_back = _interp(ARM_BACK)


def samples(y0, y1, step):
    n = max(1, round(abs(y1 - y0) / step))
    return [y0 + (y1 - y0) * k / n for k in range(n + 1)]


def head_curve():
    """From the back of the neck over the skull and face to the throat (clockwise, x grows to the face)."""
    from make_body_chart import smooth

    pts = [(58.5, 62), (56.0, 58.0), (51.5, 52.0), (48.8, 43.0), (48.5, 32.0), (51.5, 21.0), (58.0, 12.5),
           (67.0, 8.0), (77.0, 7.5), (86.0, 12.0), (91.5, 20.5), (93.0, 30.0), (93.8, 35.5), (93.2, 38.5),
           (96.0, 44.0), (99.2, 48.5), (97.0, 50.5), (93.6, 51.2), (94.6, 54.0), (93.2, 56.2), (94.2, 58.5),
           (92.6, 61.2), (92.4, 64.5), (90.0, 67.2), (86.0, 68.4), (83.5, 70.0)]
    return smooth(pts, 6)


def foot_curve():
    """From the front of the ankle over the instep, toes, sole and heel to the Achilles tendon."""
    from make_body_chart import smooth

    pts = [(73.0, 444.0), (78.0, 452.0), (88.0, 459.5), (100.0, 466.0), (110.0, 470.5), (116.5, 474.0),
           (118.0, 478.0), (115.5, 481.0), (104.0, 481.5), (88.0, 480.5), (76.0, 478.5), (66.0, 481.0),
           (57.0, 480.5), (52.5, 475.5), (53.5, 466.0), (56.5, 456.0), (59.0, 448.0)]
    return smooth(pts, 6)


def body_outline():
    ring = head_curve()
    ring += [(front(y), y) for y in samples(71, 443, 2)]
    ring += foot_curve()
    ring += [(back(y), y) for y in samples(447, 63, 2)]
    return ring


def arm_outline():
    from make_body_chart import smooth

    pts = [(60.0, 100.0), (63.0, 95.5), (68.5, 94.0), (72.5, 96.0), (74.0, 100.0), (79.5, 108.0), (80.5, 120.0),
           (78.5, 140.0), (77.5, 160.0), (78.5, 172.0), (84.0, 176.5), (96.0, 178.0), (108.0, 179.8),
           (117.0, 181.0), (121.0, 179.0), (125.5, 174.5), (129.5, 172.5), (131.5, 174.0), (129.0, 178.5),
           (126.5, 182.5), (131.0, 183.0), (137.5, 184.5), (141.5, 188.0), (140.5, 192.0), (135.0, 194.0),
           (127.0, 195.0), (118.0, 195.0), (106.0, 196.5), (92.0, 197.5), (79.0, 198.5), (68.0, 198.5),
           (61.0, 195.0), (57.5, 188.0), (57.0, 170.0), (57.0, 150.0), (56.2, 130.0), (56.5, 115.0), (58.0, 105.0)]
    return smooth(pts + pts[:1], 6)[:-1]


def rounded(points, rounds=3):
    """A polygon with its corners cut (Chaikin): head regions read as curved areas, not plates."""
    pts = list(points)
    for _ in range(rounds):
        nxt = []
        for i, a in enumerate(pts):
            b = pts[(i + 1) % len(pts)]
            nxt += [(0.75 * a[0] + 0.25 * b[0], 0.75 * a[1] + 0.25 * b[1]),
                    (0.25 * a[0] + 0.75 * b[0], 0.25 * a[1] + 0.75 * b[1])]
        pts = nxt
    return Polygon(pts)


def _oval(cx, cy, rx, ry, n=40):
    return [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)]


def band(lo, hi, y0, y1, u0, u1, step=1.5):
    """The part of the strip between lo(y) and hi(y) with u0 <= u <= u1 (u = 0 at lo, 1 at hi)."""
    ys = samples(y0, y1, step)
    a = [(lo(y) + u0 * (hi(y) - lo(y)), y) for y in ys]
    b = [(lo(y) + u1 * (hi(y) - lo(y)), y) for y in ys]
    return Polygon(a + b[::-1])


def regions(inset=0.2):
    """code -> (shapely polygon in view units, oblique?), every one inside the outline, none overlapping."""
    body = Polygon(body_outline()).buffer(0)
    arm = Polygon(arm_outline()).buffer(0)
    inner_body = body.buffer(-inset).difference(arm.buffer(inset))
    inner_arm = arm.buffer(-inset)

    R: dict[str, tuple] = {}

    def put(code, shape, within, oblique=False):
        shape = shape.intersection(within)
        taken = unary_union([g for g, _ in R.values()]) if R else None
        if taken is not None:
            shape = shape.difference(taken.buffer(0.05))
        R[code] = (shape, oblique)

    # head (x grows towards the face)
    put("ear", Point(63.0, 44.0).buffer(1.0).union(rounded([(60.5, 36), (65.5, 35.5), (67.5, 40), (67, 48.5),
                                                             (64.5, 52.5), (60.5, 51.5), (59.5, 44)])), inner_body)
    put("eye", rounded([(83.5, 34.5), (90.5, 33.8), (92.4, 37.0), (90.8, 41.5), (84.5, 41.6), (82.4, 38.0)]),
        inner_body, oblique=True)
    # the temple: the fan above the cheekbone, between the eye's outer corner and the ear
    put("temple", rounded([(64.0, 24.0), (72.0, 19.5), (80.0, 20.0), (86.0, 26.0), (85.0, 34.0), (82.4, 38.4),
                           (72.0, 39.4), (66.6, 38.2), (63.5, 32.0)]), inner_body)
    put("forehead", Polygon([(76, 5), (100, 5), (100, 35), (92.6, 33), (85, 25.5), (79, 19), (80, 14)]), inner_body,
        oblique=True)
    put("vertex", rounded([(44, -4), (84, -4), (84, 12), (78, 18.5), (66, 21.5), (52, 17.0), (44, 12)], 2),
        inner_body, oblique=True)
    put("occiput", Polygon([(40, 10), (54, 16), (64.5, 23), (63.5, 33), (60, 35.5), (58.5, 52), (54, 62),
                            (40, 62)]), inner_body, oblique=True)
    put("jaw", rounded([(61, 53.5), (66.5, 52.0), (74, 58.5), (86, 61.5), (93, 61), (101, 61), (101, 73),
                        (86, 70.5), (74, 66.0), (63.5, 61.5)], 2), inner_body)
    put("cheek", Polygon([(66.6, 38.2), (72.0, 39.4), (82.4, 38.4), (84.5, 41.8), (93, 44), (95, 50), (96, 66),
                          (74, 64), (64, 56), (66.5, 52.5)]), inner_body)
    put("posterior-neck", Polygon([(40, 54), (58, 52), (64.5, 61.5), (70, 64), (69, 92), (40, 92)]), inner_body)
    put("anterior-neck", Polygon([(70, 64), (100, 66), (100, 93), (69, 92)]), inner_body)
    # arm (u = 0 at the back edge, 1 at the front)
    shoulder_cap = Polygon([(50, 90), (84, 90), (84, 130), (50, 130)])
    put("lateral-shoulder", shoulder_cap.intersection(band(arm_back, arm_front, 99, 128, 0.22, 0.78))
        .union(Polygon([(60, 92), (75, 92), (75, 100), (60, 100)])), inner_arm)
    put("anterior-shoulder", band(arm_back, arm_front, 96, 128, 0.78, 1.3), inner_arm, oblique=True)
    put("posterior-shoulder", band(arm_back, arm_front, 96, 128, -0.3, 0.22), inner_arm, oblique=True)
    put("anterior-arm", band(arm_back, arm_front, 128, 170, 0.5, 1.3), inner_arm, oblique=True)
    put("posterior-arm", band(arm_back, arm_front, 128, 170, -0.3, 0.5), inner_arm, oblique=True)
    put("lateral-elbow", Polygon([(50, 168), (86, 168), (86, 205), (50, 205)]), inner_arm)
    put("posterior-forearm", Polygon([(86, 168), (115, 168), (115, 205), (86, 205)]), inner_arm)
    put("dorsal-wrist", Polygon([(115, 168), (121, 168), (121, 205), (115, 205)]), inner_arm)
    put("thumb", Polygon([(121, 165), (134, 165), (134, 180), (127.5, 183.2), (121, 181.5)]), inner_arm,
        oblique=True)
    put("fingers", Polygon([(132, 165), (150, 165), (150, 205), (132, 205)]), inner_arm, oblique=True)
    put("dorsal-hand", Polygon([(121, 165), (132, 165), (132, 205), (121, 205)]), inner_arm)
    # trunk (u = 0 at the back, 1 at the front)
    put("shoulder-top", band(back, front, 86, 100, 0.2, 0.8).union(Polygon([(54, 88), (76, 88), (78, 99),
                                                                           (52, 99)])), inner_body, oblique=True)
    put("chest", band(back, front, 96, 160, 0.6, 1.3), inner_body, oblique=True)
    put("scapular", band(back, front, 98, 156, -0.3, 0.4), inner_body, oblique=True)
    put("upper-abdomen", band(back, front, 160, 196, 0.62, 1.3), inner_body, oblique=True)
    put("lumbar", band(back, front, 160, 208, -0.3, 0.38), inner_body, oblique=True)
    put("lower-abdomen", band(back, front, 196, 234, 0.7, 1.3), inner_body, oblique=True)
    # the buttock's rounded side behind, the outer hip round the greater trochanter in front of it
    trochanter = Point(68.5, 240.0).buffer(1.0).union(Polygon(_oval(68.5, 238.0, 12.5, 25.0)))
    put("lateral-hip", trochanter, inner_body)
    put("gluteal", Polygon([(30, 205), (50, 205), (60, 210), (64, 224), (60, 240), (58, 262), (30, 262)]),
        inner_body)
    put("groin", band(back, front, 230, 262, 0.8, 1.3), inner_body, oblique=True)
    # thigh, knee, leg
    put("posterior-thigh", band(back, front, 262, 330, -0.3, 0.25), inner_body, oblique=True)
    put("anterior-thigh", band(back, front, 250, 330, 0.75, 1.3), inner_body, oblique=True)
    put("lateral-thigh", band(back, front, 262, 330, 0.25, 0.75), inner_body)
    put("posterior-knee", band(back, front, 330, 354, -0.3, 0.22), inner_body, oblique=True)
    put("anterior-knee", band(back, front, 330, 354, 0.78, 1.3), inner_body, oblique=True)
    put("lateral-knee", band(back, front, 330, 354, 0.22, 0.78), inner_body)
    put("posterior-leg", band(back, front, 354, 440, -0.3, 0.3), inner_body, oblique=True)
    put("anterior-leg", band(back, front, 354, 436, 0.72, 1.3), inner_body, oblique=True)
    put("lateral-ankle", Point(66.5, 446.0).buffer(5.2), inner_body)
    put("lateral-leg", band(back, front, 354, 440, 0.3, 0.72), inner_body)
    put("heel", Polygon([(40, 452), (62, 452), (67, 470), (64, 490), (40, 490)]), inner_body)
    put("toes", Polygon([(104, 462), (130, 462), (130, 490), (104, 490)]), inner_body)
    put("plantar-foot", Polygon([(62, 475.5), (104, 476.5), (104, 490), (62, 490)]), inner_body, oblique=True)
    put("dorsal-foot", Polygon([(62, 440), (104, 440), (104, 476.5), (62, 475.5)]), inner_body, oblique=True)
    return R, body, arm


def details():
    """Thin interior lines: the ear's rim, the eye, nostril and mouth, the jaw's angle, kneecap, malleolus, toes."""
    from make_body_chart import smooth

    lines = [
        smooth([(61.5, 38.0), (63.5, 36.8), (65.8, 38.6), (66.2, 44.0), (64.4, 49.5), (62.4, 50.5)]),
        smooth([(85.5, 37.6), (88.0, 36.4), (90.8, 37.4)]),
        smooth([(85.5, 37.6), (88.0, 38.8), (90.8, 37.4)]),
        smooth([(84.0, 34.2), (88.0, 33.0), (92.0, 33.8)]),
        smooth([(93.4, 48.6), (95.0, 49.0)]),
        smooth([(90.8, 55.2), (93.6, 55.0)]),
        smooth([(62.0, 52.5), (66.5, 58.5), (74.0, 62.8), (84.0, 65.2)]),
        smooth([(80.5, 335.0), (83.0, 341.0), (81.0, 349.0)]),
        smooth([(64.0, 443.0), (66.5, 441.5), (69.0, 443.5), (68.5, 448.5), (65.5, 449.5), (63.5, 447.0)]),
        smooth([(109.0, 473.0), (111.5, 476.0), (110.0, 480.5)]),
        smooth([(80.5, 178.0), (78.0, 182.0), (77.5, 186.0)]),
        smooth([(132.0, 184.0), (133.0, 189.0), (132.0, 194.0)]),
        smooth([(126.8, 182.6), (124.0, 186.0)]),
    ]
    return lines
