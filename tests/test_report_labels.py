"""Names on Q4's scatter: placed so that no two overlap, nor cover a point."""

from __future__ import annotations

import itertools

from movielake.analysis.report import labels


def boxes(points: list[tuple[float, float, str]], frame: labels.Frame) -> list[labels.Box]:
    placed = labels.place(points, frame)
    found = []
    for (x, y, align), (_, _, text) in zip(placed, points, strict=True):
        px, py = frame.to_pixels(x, y)
        width = labels.CHAR_WIDTH * len(text)
        left = px if align == "left" else px - width
        found.append((left, py - labels.LINE / 2, left + width, py + labels.LINE / 2))
    return found


def test_names_of_crowded_points_do_not_overlap_each_other_or_the_points() -> None:
    # Artists of equal film counts and close revenues, as the demo's Q4 has them.
    points = [
        (4.0, 140.0, "Iris Almeida"),
        (4.0, 30.0, "Joao Almeida"),
        (5.0, 145.0, "Karin Almeida"),
        (5.0, 125.0, "Gina Almeida"),
        (5.0, 36.0, "Felipe Almeida"),
        (10.0, 84.0, "Carla Almeida"),
        (10.0, 75.0, "Bruno Almeida"),
        (11.0, 46.0, "Elena Almeida"),
    ]
    frame = labels.Frame(740, 300, (2.0, 27.0), (0.0, 520.0))

    placed = boxes(points, frame)

    for a, b in itertools.combinations(placed, 2):
        assert labels._overlap(a, b) == 0, (a, b)
    for x, y, _ in points:
        px, py = frame.to_pixels(x, y)
        dot = (px - 4, py - 4, px + 4, py + 4)
        assert all(labels._overlap(dot, box) == 0 for box in placed)


def test_a_lone_point_is_named_on_its_right() -> None:
    frame = labels.Frame(100, 100, (0.0, 10.0), (0.0, 10.0))
    ((x, y, align),) = labels.place([(5.0, 5.0, "Ana")], frame)
    assert align == "left" and x > 5.0 and y == 5.0
