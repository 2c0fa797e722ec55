"""The referral-pattern body chart: the parts of the body a pattern concerns, zones painted on.

``geometry`` reads the drawing (``tpkit/data/body-chart.json``: whole-body front, back
and right-lateral views and magnified close-ups of head, shoulder and arm, trunk, leg,
knee, hand and foot) and chooses the views a figure needs; ``scene`` lays them out in
millimetres at print size with a legend and one X per trigger point; ``render`` paints
that scene as SVG, PNG or a reportlab drawing. Writers size the chart with
``print_size``; an engine that embeds SVG takes ``to_print_svg``.
"""

from tpkit.chart.geometry import (
    ESSENTIAL_MM2, MAX_WIDTH_MM, MIN_ACROSS_MM, load_geometry, print_across, print_area, readable, view_names,
    views_for,
)
from tpkit.chart.render import (
    PrintSVG, chart_size, print_size, reportlab_shapes, to_drawing, to_png, to_print_svg, to_svg, write_chart,
)
from tpkit.chart.scene import ESSENTIAL_RED, Mark, Scene, build_scene

__all__ = [
    "ESSENTIAL_MM2", "ESSENTIAL_RED", "MAX_WIDTH_MM", "MIN_ACROSS_MM", "Mark", "PrintSVG", "Scene", "build_scene",
    "chart_size",
    "load_geometry", "print_across", "print_area", "print_size", "readable", "reportlab_shapes",
    "to_drawing", "to_png", "to_print_svg", "to_svg", "view_names", "views_for", "write_chart",
]
