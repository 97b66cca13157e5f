"""Where to write each point's name on a small scatter so that no two names overlap.

Q4 names its ten artists beside their points; artists with the same number of films and
close revenues would write their names over each other. Vega-Lite places text where it is
told, so the places are chosen here, greedily: each name (the points in order) takes the first
of a few spots around its point (right, left, above, below) that overlaps no point and no name
already placed, else the spot that overlaps least. Sizes are estimated in pixels (an average
character width at the chart's font size), then turned back into data units for the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHAR_WIDTH = 6.2  # px, average, at an 11 px sans-serif font
LINE = 12.0  # px, a label's height
POINT = 7.0  # px, half the side of the box a point occupies
# (dx, dy, align): the spots tried around a point, in pixels, the text's anchor side.
SPOTS = (
    (10.0, 0.0, "left"),
    (-10.0, 0.0, "right"),
    (6.0, -LINE, "left"),
    (6.0, LINE, "left"),
    (-6.0, -LINE, "right"),
    (-6.0, LINE, "right"),
    (4.0, -1.6 * LINE, "left"),
    (4.0, 1.6 * LINE, "left"),
    (-4.0, -1.6 * LINE, "right"),
    (-4.0, 1.6 * LINE, "right"),
)

Box = tuple[float, float, float, float]  # left, top, right, bottom, in pixels


@dataclass(frozen=True)
class Frame:
    """A chart's plot area: its size in pixels and the data domains its axes span."""

    width: float
    height: float
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]

    def to_pixels(self, x: float, y: float) -> tuple[float, float]:
        """Data to pixels (y grows downwards, as on screen)."""
        (x0, x1), (y0, y1) = self.x_domain, self.y_domain
        return (x - x0) / (x1 - x0) * self.width, self.height - (y - y0) / (y1 - y0) * self.height

    def to_data(self, px: float, py: float) -> tuple[float, float]:
        """Pixels back to data."""
        (x0, x1), (y0, y1) = self.x_domain, self.y_domain
        return x0 + px / self.width * (x1 - x0), y0 + (self.height - py) / self.height * (y1 - y0)


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)


def _label_box(px: float, py: float, text: str, spot: tuple[float, float, str]) -> Box:
    dx, dy, align = spot
    width = CHAR_WIDTH * len(text)
    left = px + dx if align == "left" else px + dx - width
    return (left, py + dy - LINE / 2, left + width, py + dy + LINE / 2)


def place(points: Sequence[tuple[float, float, str]], frame: Frame) -> list[tuple[float, float, str]]:
    """For each ``(x, y, text)``: the label's anchor ``(x, y)`` in data units and its align."""
    pixels = [frame.to_pixels(x, y) for x, y, _ in points]
    taken: list[Box] = [(px - POINT, py - POINT, px + POINT, py + POINT) for px, py in pixels]
    placed = []
    for (px, py), (_, _, text) in zip(pixels, points, strict=True):

        def cost(spot: tuple[float, float, str], px: float = px, py: float = py, text: str = text) -> float:
            box = _label_box(px, py, text, spot)
            outside = max(0.0, -box[0]) + max(0.0, -box[1]) + max(0.0, box[3] - frame.height)
            return sum(_overlap(box, other) for other in taken) + outside * LINE

        spot = min(SPOTS, key=cost)  # the first spot of least cost: the first free one if any
        taken.append(_label_box(px, py, text, spot))
        x, y = frame.to_data(px + spot[0], py + spot[1])
        placed.append((x, y, spot[2]))
    return placed
