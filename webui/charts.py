"""Small charts drawn on the server as SVG: no script, no style attribute (the CSP allows neither), only
presentation attributes. Every chart has a title for screen readers and sits beside a table holding
the same figures; a hidden figure is simply not drawn.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from elevflow.engine.oversight.quality import Cell

COLOURS = ("#0b4f9c", "#b3541e", "#1e6b34", "#6b2d8f", "#8a6d00")  # ≥ 4.5:1 on white
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")  # so lines differ without colour too


def trend(ident: str, title: str, labels: list[str], series: list[tuple[str, list[Cell]]]) -> Markup:
    """Lines over the terms, one per series, with a legend."""
    width, height, left, right, top, bottom = 640, 260, 40, 16, 16, 86
    values = [c.value for _, cells in series for c in cells if c.value is not None]
    top_value = max([*values, 1])
    step = (width - left - right) / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}">{escape(title)}</title>']
    for v in sorted({0, top_value, round(top_value / 2)}):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     'stroke="#d0d5dd"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#3b4351">{v:g}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#3b4351">{escape(label)}</text>')
    for n, (name, cells) in enumerate(series):
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        run: list[str] = []
        for i, cell in enumerate([*cells, Cell(None)]):
            if cell.value is not None:
                run.append(f"{x(i):.1f},{y(cell.value):.1f}")
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(cell.value):.1f}" r="3" fill="{colour}"/>')
            elif run:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                             f'stroke-width="2" stroke-dasharray="{dash}"/>')
                run = []
        ly = height - bottom + 34 + (n // 2) * 16
        lx = left + (n % 2) * 300
        parts.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="{dash}"/>'
                     f'<text x="{lx + 30}" y="{ly}" font-size="12" '
                     f'fill="#1b1f24">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(ident: str, title: str, rows: list[tuple[str, Cell, Cell]], unit: str) -> Markup:
    """Horizontal bars of medians, with the 90th percentile as a thin whisker."""
    width, left, right, row_height = 640, 300, 60, 26
    height = 20 + row_height * len(rows)
    values = [c.value for _, m, p in rows for c in (m, p) if c.value is not None]
    top_value = max([*values, 1])
    scale = (width - left - right) / top_value
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}">{escape(title)}</title>']
    for i, (label, median, p90) in enumerate(rows):
        cy = 16 + i * row_height
        parts.append(f'<text x="{left - 8}" y="{cy + 4}" text-anchor="end" font-size="12" '
                     f'fill="#1b1f24">{escape(label)}</text>')
        if median.value is not None:
            bar = max(median.value * scale, 1)
            parts.append(f'<rect x="{left}" y="{cy - 8}" width="{bar:.1f}" height="16" fill="#0b4f9c"/>')
        if p90.value is not None:
            px = left + p90.value * scale
            parts.append(f'<line x1="{left}" x2="{px:.1f}" y1="{cy}" y2="{cy}" stroke="#1b1f24"/>'
                         f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{cy - 6}" y2="{cy + 6}" stroke="#1b1f24"/>')
        if median.value is not None:
            end = left + max(median.value, p90.value or 0) * scale
            parts.append(f'<text x="{end + 6:.1f}" y="{cy + 4}" font-size="11" fill="#3b4351">'
                         f'{median.value:g} {escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
