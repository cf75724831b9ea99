"""Small inline SVG charts for the HTML report: a histogram of scores, bars of booleans and labels (one or two
runs side by side), and the spread of each record's values across runs. Presentation attributes only (no
``style``), so the report's content security policy needs no inline styles."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT = 320, 150
_MARGIN = 24
COLOURS = ("#4269d0", "#efb118")  # run A (or the only run), run B
_BINS = 20
_LABELS = 12  # most frequent labels drawn; the rest are summed as "other"


def _svg(body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">'
            f"<title>{html.escape(title)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 10) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="#444">'
            f"{html.escape(text)}</text>")


def _bars(groups: Sequence[str], series: Sequence[Sequence[float]], title: str) -> str:
    """Grouped vertical bars: one group per label, one bar per series (run)."""
    peak = max((v for s in series for v in s), default=0) or 1
    inner_w, inner_h = WIDTH - 2 * _MARGIN, HEIGHT - 2 * _MARGIN
    group_w = inner_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    body = [f'<line x1="{_MARGIN}" y1="{HEIGHT - _MARGIN}" x2="{WIDTH - _MARGIN}" y2="{HEIGHT - _MARGIN}" '
            'stroke="#999"/>', _text(2, _MARGIN - 8, f"max {peak:g}", "start", 9)]
    for g, label in enumerate(groups):
        for s, values in enumerate(series):
            value = values[g]
            h = inner_h * value / peak
            x = _MARGIN + g * group_w + group_w * 0.1 + s * bar_w
            body.append(f'<rect x="{x:.1f}" y="{HEIGHT - _MARGIN - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                        f'height="{h:.1f}" fill="{COLOURS[s % 2]}"><title>{html.escape(label)}: {value:g}</title>'
                        "</rect>")
        if len(groups) <= 12:
            body.append(_text(_MARGIN + (g + 0.5) * group_w, HEIGHT - _MARGIN + 12, label[:12], size=9))
    return _svg(body, title)


def distribution(name: str, kind: str, runs: Sequence[Sequence[Any]]) -> str:
    """The distribution of one metric's record values in one or two runs."""
    runs = [[v for v in values if v is not None] for values in runs]
    title = f"{name}: distribution of record values"
    if kind == "categorical":
        counts = [Counter(str(v) for v in values) for values in runs]
        labels = [label for label, _ in (counts[0] + (counts[1] if len(counts) > 1 else Counter())).most_common()]
        shown, rest = labels[:_LABELS], labels[_LABELS:]
        groups = shown + (["other"] if rest else [])
        series = [[float(c[label]) for label in shown] + ([float(sum(c[r] for r in rest))] if rest else [])
                  for c in counts]
        return _bars(groups, series, title)
    numbers = [[float(v) for v in values] for values in runs]
    if kind == "boolean" and all(v in (0.0, 1.0) for values in numbers for v in values):
        return _bars(["false", "true"], [[float(values.count(0.0)), float(values.count(1.0))] for values in numbers],
                     title)
    everything = [v for values in numbers for v in values]
    if not everything:
        return _svg([_text(WIDTH / 2, HEIGHT / 2, "no values")], title)
    low, high = min(everything), max(everything)
    width = (high - low) / _BINS or 1.0
    series = []
    for values in numbers:
        bins = [0.0] * _BINS
        for v in values:
            bins[min(int((v - low) / width), _BINS - 1)] += 1
        series.append(bins)
    groups = [f"{low + i * width:.3g}" for i in range(_BINS)]
    chart = _bars(groups, series, title)
    axis = _text(_MARGIN, HEIGHT - 6, f"{low:.3g}", "start", 9) + _text(WIDTH - _MARGIN, HEIGHT - 6, f"{high:.3g}",
                                                                        "end", 9)
    return chart.replace("</svg>", axis + "</svg>")


def spread(name: str, deviations: Sequence[float], threshold_count: int) -> str:
    """Each record's standard deviation across runs, largest first: how much the runs disagree."""
    ordered = sorted((d for d in deviations if d is not None and math.isfinite(d)), reverse=True)
    title = f"{name}: standard deviation across runs per record ({threshold_count} high-variance)"
    if not ordered:
        return _svg([_text(WIDTH / 2, HEIGHT / 2, "no values")], title)
    peak = ordered[0] or 1.0
    inner_w, inner_h = WIDTH - 2 * _MARGIN, HEIGHT - 2 * _MARGIN
    kept = ordered[:: max(1, len(ordered) // 400)]  # at most ~400 points: the shape, not every record
    step = inner_w / len(kept)
    points = " ".join(f"{_MARGIN + i * step:.1f},{HEIGHT - _MARGIN - inner_h * d / peak:.1f}"
                      for i, d in enumerate(kept))
    body = [f'<polyline points="{points}" fill="none" stroke="{COLOURS[0]}" stroke-width="1.5"/>',
            f'<line x1="{_MARGIN}" y1="{HEIGHT - _MARGIN}" x2="{WIDTH - _MARGIN}" y2="{HEIGHT - _MARGIN}" '
            'stroke="#999"/>', _text(2, _MARGIN - 8, f"max {peak:.3g}", "start", 9),
            _text(WIDTH / 2, HEIGHT - 6, f"{len(ordered)} records, largest spread first", size=9)]
    return _svg(body, title)
