"""The metric plot of the run page as SVG geometry: one point per measured attempt, failures marked, the baseline.

Drawn here rather than embedding `metric.png` because the PNG exists only once the run has ended, while the page is
re-rendered after every attempt. The axis is labelled only with recorded values (the lowest and highest measured
metric, and the baseline), so the plot shows no number that is not in the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copilot.execution.attempt import Attempt

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 84, 24, 20, 56
INSET = 14  # points stay clear of the axes
MAX_LABELS = 20  # attempt ids under the axis before they would overlap


@dataclass
class Mark:
    """One attempt on the x axis: its point (measured) or its failure mark."""

    attempt: Attempt
    x: float
    y: float | None
    best: bool = False
    labelled: bool = True
    """Whether the attempt's id is written under the axis (with many attempts, every few and the best)."""


@dataclass
class Chart:
    """SVG coordinates of the metric plot."""

    width: int
    height: int
    marks: list[Mark]
    line: str
    """The polyline through the measured points, as SVG `points`."""
    baseline_y: float | None
    labels: list[tuple[float, float]] = field(default_factory=list)
    """(y, recorded value) pairs labelling the axis."""
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT


def metric_chart(attempts: list[Attempt], baseline: float | None, best_id: str | None) -> Chart | None:
    """The plot of `attempts` in id order; None when there is no attempt yet."""
    if not attempts:
        return None
    values = [a.metric for a in attempts if a.metric is not None]
    recorded = values + ([baseline] if baseline is not None else [])
    low, high = (min(recorded), max(recorded)) if recorded else (0.0, 1.0)
    span = high - low
    bottom, top = HEIGHT - BOTTOM - INSET, TOP + INSET

    def y_of(value: float) -> float:
        if span == 0:
            return (top + bottom) / 2
        return round(bottom - (value - low) / span * (bottom - top), 1)

    left, right = LEFT + INSET * 2, WIDTH - RIGHT - INSET
    step = (right - left) / max(len(attempts) - 1, 1)
    every = -(-len(attempts) // MAX_LABELS)  # ceiling division
    marks = []
    for i, attempt in enumerate(attempts):
        x = round(left + (i * step if len(attempts) > 1 else (right - left) / 2), 1)
        value = attempt.metric
        best = attempt.id == best_id
        y = None if value is None else y_of(value)
        marks.append(Mark(attempt, x, y, best=best, labelled=best or i % every == 0))
    line = " ".join(f"{m.x},{m.y}" for m in marks if m.y is not None)
    labels: list[tuple[float, float]] = []
    for value in sorted({v for v in (low, high) if recorded}, reverse=True):
        labels.append((y_of(value), value))
    return Chart(width=WIDTH, height=HEIGHT, marks=marks, line=line,
                 baseline_y=None if baseline is None else y_of(baseline), labels=labels)
