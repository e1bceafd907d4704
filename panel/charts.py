"""Charts drawn on the server as SVG: no script, no chart library, nothing from outside.

Each bar or point carries its series, label and value as ``data-*`` attributes and a ``<title>``
(a tooltip, and what a screen reader reads), so what is drawn can be checked against the
database. A series with a range (``low``, ``high``: the CO2 figures, whose emission factors'
sources differ) draws an error bar on each bar or point, with ``data-low`` and ``data-high``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 56
PALETTE = ("#2f6f4f", "#e07a2f", "#3b6ea8", "#9b4f96", "#c0392b", "#6b8e23")


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    values: Sequence[float]
    color: str = ""
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None


def _h(template: str, *args: object) -> str:
    """format_html with floats written to one decimal (SVG coordinates)."""
    return format_html(template, *[f"{a:.1f}" if isinstance(a, float) else a for a in args])


def _nice_max(value: float, *, whole: bool = True) -> float:
    """The top of the axis: four round steps at or above ``value`` (whole steps for counts)."""
    if value <= 0:
        return 4.0 if whole else 1.0
    raw = value / 4
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    for step in (1, 2, 2.5, 5, 10):
        tick = step * base
        if whole and not float(tick).is_integer():
            continue
        if tick >= raw:
            return tick * 4
    return 40 * base


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_label: str = "",
    kind: str = "bar",
) -> SafeString:
    """A bar chart (grouped bars per label) or a line chart, with axes, ticks and a legend."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    values = [float(v) for s in series for v in (*s.values, *(s.high or ()))]
    top = _nice_max(max(values, default=0.0), whole=all(v.is_integer() for v in values))
    n = max(len(labels), 1)
    slot = plot_w / n

    def y(value: float) -> float:
        return TOP + plot_h - (float(value) / top) * plot_h

    def error_bar(s: Series, i: int, label: str, x: float) -> str:
        """The range of the value at ``i``: a vertical line with caps (clipped to the axis)."""
        assert s.low is not None and s.high is not None
        low, high = float(s.low[i]), float(s.high[i])
        y_low, y_high = y(max(low, 0.0)), y(max(high, 0.0))
        tip = escape(f"{s.name} — {label} : {_fmt(low)} – {_fmt(high)}")
        return _h(
            '<g class="range" data-series="{}" data-label="{}" data-low="{}" data-high="{}">'
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#222" stroke-width="1.2"/>'
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#222" stroke-width="1.2"/>'
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#222" stroke-width="1.2"/>'
            "<title>{}</title></g>",
            s.key,
            label,
            _fmt(low),
            _fmt(high),
            x,
            x,
            y_low,
            y_high,
            x - 3.0,
            x + 3.0,
            y_low,
            y_low,
            x - 3.0,
            x + 3.0,
            y_high,
            y_high,
            tip,
        )

    parts: list[str] = [
        _h(
            '<svg xmlns="http://www.w3.org/2000/svg" class="panel-chart" id="{}" '
            'data-kind="{}" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title">',
            chart_id,
            kind,
            WIDTH,
            HEIGHT,
            chart_id,
        ),
        _h(
            '<title id="{}-title">{}</title>'
            '<text class="chart-title" x="{}" y="18" font-size="15" font-weight="600">{}</text>',
            chart_id,
            title,
            LEFT,
            title,
        ),
    ]
    # Horizontal grid and the y axis's ticks.
    for i in range(5):
        value = top * i / 4
        ty = y(value)
        parts.append(
            _h(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
                '<text class="tick" x="{}" y="{}" font-size="11" text-anchor="end">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                ty,
                ty,
                LEFT - 6,
                ty + 4,
                _fmt(round(value, 2)),
            )
        )
    if y_label:
        parts.append(
            _h(
                '<text class="axis-label" font-size="11" transform="translate(12,{}) '
                'rotate(-90)" text-anchor="middle">{}</text>',
                TOP + plot_h / 2,
                y_label,
            )
        )
    parts.append(
        _h(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#555"/>',
            LEFT,
            WIDTH - RIGHT,
            TOP + plot_h,
            TOP + plot_h,
        )
    )
    # The x axis's labels: every label when they fit, else every k-th.
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every:
            continue
        parts.append(
            _h(
                '<text class="x-label" x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>',
                LEFT + slot * (i + 0.5),
                TOP + plot_h + 16,
                label,
            )
        )
    # The data.
    groups = max(len(series), 1)
    bar_w = max(2.0, slot * 0.8 / groups)
    for s_index, s in enumerate(series):
        color = s.color or PALETTE[s_index % len(PALETTE)]
        points: list[tuple[float, float]] = []
        for i, (label, value) in enumerate(zip(labels, s.values, strict=True)):
            tip = escape(f"{s.name} — {label} : {_fmt(value)}")
            if kind == "bar":
                x = LEFT + slot * i + slot * 0.1 + bar_w * s_index
                height = TOP + plot_h - y(value)
                parts.append(
                    _h(
                        '<rect class="bar" data-series="{}" data-label="{}" data-value="{}" '
                        'x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}</title></rect>",
                        s.key,
                        label,
                        _fmt(value),
                        x,
                        y(value),
                        bar_w,
                        height,
                        color,
                        tip,
                    )
                )
                if s.low is not None and s.high is not None:
                    parts.append(error_bar(s, i, label, x + bar_w / 2))
                if value and bar_w >= 14 and s.low is None:
                    parts.append(
                        _h(
                            '<text class="value" x="{}" y="{}" font-size="10" '
                            'text-anchor="middle">{}</text>',
                            x + bar_w / 2,
                            y(value) - 3,
                            _fmt(value),
                        )
                    )
            else:
                cx, cy = LEFT + slot * (i + 0.5), y(value)
                points.append((cx, cy))
                parts.append(
                    _h(
                        '<circle class="point" data-series="{}" data-label="{}" data-value="{}" '
                        'cx="{}" cy="{}" r="3.5" fill="{}"><title>{}</title></circle>',
                        s.key,
                        label,
                        _fmt(value),
                        cx,
                        cy,
                        color,
                        tip,
                    )
                )
                if s.low is not None and s.high is not None:
                    parts.append(error_bar(s, i, label, cx))
        if kind == "line" and points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                _h('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>', path, color)
            )
    # The legend, under the x axis.
    x = float(LEFT)
    for s_index, s in enumerate(series):
        color = s.color or PALETTE[s_index % len(PALETTE)]
        parts.append(
            _h(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text class="legend" x="{}" y="{}" font-size="11">{}</text>',
                x,
                HEIGHT - 20,
                color,
                x + 14,
                HEIGHT - 11,
                s.name,
            )
        )
        x += 28 + 6.2 * len(str(s.name))
    parts.append("</svg>")
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every piece escaped above


def hbar_chart(
    *, chart_id: str, title: str, labels: Sequence[str], series: Series, label_width: int = 190
) -> SafeString:
    """Horizontal bars, one per label (long labels such as categories read better this way)."""
    row_h = 22
    height = TOP + max(len(labels), 1) * row_h + 24
    plot_w = WIDTH - label_width - RIGHT - 30
    values = [float(v) for v in series.values]
    top = _nice_max(max(values, default=0.0), whole=all(v.is_integer() for v in values))
    color = series.color or PALETTE[0]
    parts: list[str] = [
        _h(
            '<svg xmlns="http://www.w3.org/2000/svg" class="panel-chart" id="{}" data-kind="hbar" '
            'viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title">'
            '<title id="{}-title">{}</title>'
            '<text class="chart-title" x="{}" y="18" font-size="15" font-weight="600">{}</text>',
            chart_id,
            WIDTH,
            height,
            chart_id,
            chart_id,
            title,
            LEFT,
            title,
        )
    ]
    for i in range(5):
        value = top * i / 4
        x = label_width + plot_w * i / 4
        parts.append(
            _h(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
                '<text class="tick" x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>',
                x,
                x,
                TOP - 6,
                height - 24,
                x,
                height - 8,
                _fmt(round(value, 2)),
            )
        )
    for i, (label, value) in enumerate(zip(labels, series.values, strict=True)):
        y = TOP + i * row_h
        width = plot_w * float(value) / top
        parts.append(
            _h(
                '<text class="y-label" x="{}" y="{}" font-size="12" text-anchor="end">{}</text>'
                '<rect class="bar" data-series="{}" data-label="{}" data-value="{}" x="{}" y="{}" '
                'width="{}" height="{}" fill="{}"><title>{}</title></rect>'
                '<text class="value" x="{}" y="{}" font-size="11">{}</text>',
                label_width - 8,
                y + 14,
                label,
                series.key,
                label,
                _fmt(value),
                label_width,
                y + 3,
                width,
                row_h - 6,
                color,
                f"{label} : {_fmt(value)}",
                label_width + width + 4,
                y + 15,
                _fmt(value),
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every piece escaped above
