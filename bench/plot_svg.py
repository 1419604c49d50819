"""Small hand-written SVG plots for the lmig benchmarks (standard library only).

    import plot_svg
    svg = plot_svg.plot(
        [plot_svg.Series("stop-copy", [(64, 30.1), (512, 240.5)], errors=[(29, 31), (230, 250)]),
         plot_svg.Series("TCP floor", [(64, 20), (512, 160)], style="lines", dashed=True)],
        x_label="resident size (MiB)", y_label="downtime (ms)", title="Downtime")
    plot_svg.write("out.svg", svg)

A series is a Series, a dict with the same fields, or a (name, points) pair.
Styles: "lines+markers" (default), "lines", "markers", "step" (a staircase
that holds each y until the next x: use it for CDFs). Axes are linear (from
zero unless told otherwise) or logarithmic (x_log / y_log).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence
from xml.sax.saxutils import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#17becf", "#bcbd22"]


@dataclass
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    style: str = "lines+markers"
    color: str | None = None
    dashed: bool = False
    errors: Sequence[tuple[float, float]] | None = None  # per point: (y_low, y_high)


def _as_series(s) -> Series:
    if isinstance(s, Series):
        return s
    if isinstance(s, dict):
        return Series(**s)
    name, points = s
    return Series(name, points)


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.3g}"


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10 * mag


class _Axis:
    def __init__(self, values: list[float], log: bool, from_zero: bool,
                 fixed: tuple[float, float] | None, target_ticks: int):
        self.log = log
        vals = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        if fixed:
            lo, hi = fixed
        elif not vals:
            lo, hi = (1.0, 10.0) if log else (0.0, 1.0)
        else:
            lo, hi = min(vals), max(vals)
        if log:
            lo = max(lo, 1e-300)
            if not fixed:
                lo = 10 ** math.floor(math.log10(lo) + 1e-9)
                hi = 10 ** math.ceil(math.log10(hi) - 1e-9)
            if hi <= lo:
                hi = lo * 10
            self.lo, self.hi = lo, hi
            decades = range(math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9) + 1)
            mults = (1,) if len(decades) > 4 else (1, 2, 5)
            self.ticks = [m * 10.0 ** d for d in decades for m in mults
                          if lo * (1 - 1e-9) <= m * 10.0 ** d <= hi * (1 + 1e-9)]
        else:
            if from_zero and not fixed:
                lo, hi = min(lo, 0.0), max(hi, 0.0)
            if hi <= lo:
                hi = lo + (abs(lo) if lo else 1.0)
            step = _nice_step(hi - lo, target_ticks)
            if not fixed:
                lo = math.floor(lo / step + 1e-9) * step
                hi = math.ceil(hi / step - 1e-9) * step
            self.lo, self.hi = lo, hi
            first = math.ceil(lo / step - 1e-9)
            n = int(math.floor(hi / step + 1e-9)) - first + 1
            self.ticks = [round((first + i) * step, 12) for i in range(max(n, 0))]

    def frac(self, v: float) -> float:
        if self.log:
            return (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def ok(self, v: float) -> bool:
        return math.isfinite(v) and (v > 0 or not self.log)


def plot(series: Iterable, x_label: str, y_label: str, title: str, *, subtitle: str | None = None,
         width: int = 720, height: int = 450, x_log: bool = False, y_log: bool = False,
         x_from_zero: bool = True, y_from_zero: bool = True,
         x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None,
         legend: str = "top-left") -> str:
    """Returns the SVG text of a plot of `series` (see the module docstring)."""
    ss = [_as_series(s) for s in series]
    xs = [p[0] for s in ss for p in s.points]
    ys = [p[1] for s in ss for p in s.points]
    ys += [e for s in ss if s.errors for pair in s.errors for e in pair]
    xa = _Axis(xs, x_log, x_from_zero, x_range, 8)
    ya = _Axis(ys, y_log, y_from_zero, y_range, 6)

    ml, mr, mt, mb = 78, 24, 58 if subtitle else 44, 56
    pw, ph = width - ml - mr, height - mt - mb

    def px(x: float) -> float:
        return ml + xa.frac(x) * pw

    def py(y: float) -> float:
        return mt + (1 - ya.frac(y)) * ph

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        f'font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{width / 2:.1f}" y="40" text-anchor="middle" font-size="11" '
                   f'fill="#555">{escape(subtitle)}</text>')
    # Grid, ticks and tick labels.
    out.append('<g stroke="#e3e3e3" stroke-width="1">')
    for t in xa.ticks:
        out.append(f'<line x1="{px(t):.1f}" y1="{mt}" x2="{px(t):.1f}" y2="{mt + ph}"/>')
    for t in ya.ticks:
        out.append(f'<line x1="{ml}" y1="{py(t):.1f}" x2="{ml + pw}" y2="{py(t):.1f}"/>')
    out.append('</g>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append('<g stroke="#333" stroke-width="1">')
    for t in xa.ticks:
        out.append(f'<line x1="{px(t):.1f}" y1="{mt + ph}" x2="{px(t):.1f}" y2="{mt + ph + 5}"/>')
    for t in ya.ticks:
        out.append(f'<line x1="{ml - 5}" y1="{py(t):.1f}" x2="{ml}" y2="{py(t):.1f}"/>')
    out.append('</g>')
    out.append('<g fill="#222">')
    for t in xa.ticks:
        out.append(f'<text x="{px(t):.1f}" y="{mt + ph + 19}" text-anchor="middle">{_fmt(t)}</text>')
    for t in ya.ticks:
        out.append(f'<text x="{ml - 8}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    out.append('</g>')
    out.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 14}" text-anchor="middle" '
               f'font-size="13">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(18 {mt + ph / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle" font-size="13">{escape(y_label)}</text>')

    # Data, clipped to the plot area.
    out.append(f'<clipPath id="plotarea"><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}"/>'
               f'</clipPath>')
    out.append('<g clip-path="url(#plotarea)">')
    for i, s in enumerate(ss):
        color = s.color or PALETTE[i % len(PALETTE)]
        pts = [(x, y) for x, y in s.points if xa.ok(x) and ya.ok(y)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if s.style in ("lines", "lines+markers", "step") and len(pts) > 1:
            coords = []
            for j, (x, y) in enumerate(pts):
                if s.style == "step" and j:
                    coords.append(f"{px(x):.1f},{py(pts[j - 1][1]):.1f}")
                coords.append(f"{px(x):.1f},{py(y):.1f}")
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} '
                       f'points="{" ".join(coords)}"/>')
        if s.errors:
            for (x, y), (lo, hi) in zip(s.points, s.errors):
                if not (xa.ok(x) and ya.ok(lo) and ya.ok(hi)):
                    continue
                X = px(x)
                out.append(f'<path d="M{X - 4:.1f},{py(lo):.1f}H{X + 4:.1f}M{X:.1f},{py(lo):.1f}'
                           f'V{py(hi):.1f}M{X - 4:.1f},{py(hi):.1f}H{X + 4:.1f}" '
                           f'stroke="{color}" stroke-width="1.2" fill="none"/>')
        if s.style in ("markers", "lines+markers"):
            for x, y in pts:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}" '
                           f'stroke="white" stroke-width="0.8"/>')
    out.append('</g>')

    # Legend.
    if ss:
        lw = 34 + 7 * max(len(s.name) for s in ss)
        lh = 8 + 18 * len(ss)
        lx = ml + 10 if legend.endswith("left") else ml + pw - lw - 10
        ly = mt + 10 if legend.startswith("top") else mt + ph - lh - 10
        out.append(f'<g><rect x="{lx}" y="{ly}" width="{lw}" height="{lh}" fill="white" '
                   f'fill-opacity="0.9" stroke="#bbb"/>')
        for i, s in enumerate(ss):
            color = s.color or PALETTE[i % len(PALETTE)]
            yy = ly + 13 + 18 * i
            if s.style != "markers":
                dash = ' stroke-dasharray="6 4"' if s.dashed else ""
                out.append(f'<line x1="{lx + 6}" y1="{yy}" x2="{lx + 26}" y2="{yy}" '
                           f'stroke="{color}" stroke-width="2"{dash}/>')
            if s.style in ("markers", "lines+markers"):
                out.append(f'<circle cx="{lx + 16}" cy="{yy}" r="3.5" fill="{color}"/>')
            out.append(f'<text x="{lx + 32}" y="{yy + 4}">{escape(s.name)}</text>')
        out.append('</g>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def write(path, svg: str) -> Path:
    """Writes svg to path (creating its directory); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(svg, encoding="utf-8")
    tmp.replace(p)
    return p


def write_plot(path, series: Iterable, x_label: str, y_label: str, title: str, **kw) -> Path:
    """plot() then write()."""
    return write(path, plot(series, x_label, y_label, title, **kw))
