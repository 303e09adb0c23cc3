"""The schedule comparison of ``chart.py`` drawn as an RGB image with Pillow, for ComfyUI's IMAGE outputs.

Same layout as the SVG chart (``chart.ChartLayout``). Pillow rather than matplotlib because every
ComfyUI installation has Pillow and not every one has matplotlib, and a preview node should cost
milliseconds, not a figure's text layout.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .chart import MODEL_RANGE_COLOUR, ChartLayout, ScheduleComparison, model_range_labels

GRID_COLOUR = "#e5e7eb"
TEXT_COLOUR = "#111827"
DASH, GAP = 5, 4


def image(comparison: ScheduleComparison, width: int = 960, height: int = 380) -> Image.Image:
    """The chart as an RGB image: log-sigma axis, model range dashed and labelled, one line per curve."""
    layout = ChartLayout(comparison, width, height)
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font = _font(12)
    right_edge = width - layout.right
    for decade in layout.decades:
        level = layout.y(10 ** decade)
        draw.line([(layout.left, level), (right_edge, level)], fill=GRID_COLOUR)
        draw.text((layout.left - 6, level), f"{10 ** decade:g}", fill=TEXT_COLOUR, font=font, anchor="rm")
    for step in layout.step_ticks():
        draw.text((layout.x(step), height - layout.bottom + 6), str(step), fill=TEXT_COLOUR, font=font, anchor="mt")
    draw.text(((layout.left + right_edge) / 2, height - 4), "step", fill=TEXT_COLOUR, font=font, anchor="md")
    _vertical_text(picture, "sigma (log scale)", (14, layout.plot_middle_y), font)
    for label in model_range_labels(comparison):
        level = layout.y(label.sigma)
        _dashed_line(draw, layout.left, right_edge, level, MODEL_RANGE_COLOUR)
        anchor = "ld" if label.anchor == "left" else "rd"
        draw.text((layout.range_label_x(label), level - 3), label.text, fill=MODEL_RANGE_COLOUR, font=font,
                  anchor=anchor)
    for _, attribute, colour, stroke in comparison.curve_styles():
        points = layout.points(attribute)
        if len(points) > 1:
            draw.line(points, fill=colour, width=max(1, round(stroke)), joint="curve")
        for px, py in points:
            radius = stroke
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour)
    for index, (label, _, colour, _) in enumerate(comparison.curve_styles()):
        x = layout.legend_x(index)
        draw.rectangle([x, 8, x + 14, 12], fill=colour)
        draw.text((x + 18, 10), label, fill=TEXT_COLOUR, font=font, anchor="lm")
    if comparison.error:
        draw.text((width / 2, height / 2), "no valid schedule for these values", fill=MODEL_RANGE_COLOUR,
                  font=font, anchor="mm")
    return picture


def _font(size: int) -> Any:
    """Pillow's bundled scalable font (Pillow 10.1+), else its fixed bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has no size argument
        return ImageFont.load_default()


def _dashed_line(draw: ImageDraw.ImageDraw, start: float, end: float, level: float, colour: str) -> None:
    for x in range(math.floor(start), math.ceil(end), DASH + GAP):
        draw.line([(x, level), (min(x + DASH, end), level)], fill=colour)


def _vertical_text(picture: Image.Image, text: str, centre: tuple[float, float], font: Any) -> None:
    """Text turned a quarter to the left, centred on ``centre``."""
    box = ImageDraw.Draw(picture).textbbox((0, 0), text, font=font)
    label = Image.new("RGBA", (box[2] - box[0] + 2, box[3] - box[1] + 2), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((-box[0] + 1, -box[1] + 1), text, fill=TEXT_COLOUR, font=font)
    turned = label.rotate(90, expand=True)
    picture.paste(turned, (round(centre[0] - turned.width / 2), round(centre[1] - turned.height / 2)), turned)
