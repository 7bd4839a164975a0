"""Server-side SVG line charts (no JavaScript, no CDN): the report renders offline."""

from __future__ import annotations

from html import escape

COLORS = ("#1f6feb", "#d9480f", "#2b8a3e", "#862e9c")


def line_chart(labels: list[str], series: dict[str, list[float | None]], target: float | None = None,
               title: str = "", width: int = 760, height: int = 260) -> str:
    """Rates (0..1) over periods; a dashed line marks the target; gaps (None) break the line."""
    left, right, top, bottom = 48, 16, 28, 36
    w, h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h * (1 - v)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + w}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{int(v * 100)}%</text>')
    step = max(1, n // 12)
    for i, lab in enumerate(labels):
        if i % step == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{top + h + 16}" font-size="10" text-anchor="middle">{escape(lab)}</text>')
    if target is not None:
        out.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + w}" y2="{y(target):.1f}" '
                   f'stroke="#c92a2a" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + w}" y="{y(target) - 4:.1f}" font-size="10" text-anchor="end" '
                   f'fill="#c92a2a">目标 {int(round(target * 100))}%</text>')
    for k, (name, values) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        runs, cur = [], []
        for i, v in enumerate(values):
            if v is None:
                if cur:
                    runs.append(cur)
                cur = []
            else:
                cur.append((x(i), y(v)))
        if cur:
            runs.append(cur)
        for run in runs:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
            out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"/>' for a, b in run]
        lx = left + 10 + 150 * k
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="3" fill="{color}"/>'
                   f'<text x="{lx + 14}" y="{height - 8}" font-size="11">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
