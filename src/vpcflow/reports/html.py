"""One standalone HTML page: a report's table and three charts, as inline SVG - nothing to fetch,
so the page opens offline and can be mailed as one file."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from vpcflow.reports.base import Result
from vpcflow.reports.overview import Overview

ACCEPT, REJECT, BAR = "#2f855a", "#c53030", "#2b6cb0"
MAX_TABLE_ROWS = 1000

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1a202c;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.note{color:#4a5568;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem}th,td{border-bottom:1px solid #e2e8f0;padding:.25rem .6rem;text-align:left}
th{background:#f7fafc}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:2rem}svg text{font-size:11px;fill:#2d3748}
"""


def _esc(value) -> str:
    return html.escape("-" if value is None else str(value))


def _when(epoch: int, bucket: int) -> str:
    when = datetime.fromtimestamp(epoch, UTC)
    return f"{when:%Y-%m-%d}" if bucket >= 86400 else f"{when:%m-%d %H:%M}"


def timeline_svg(overview: Overview, width: int = 760, height: int = 220) -> str:
    points = overview.timeline
    if not points:
        return "<p class='note'>no records in this period</p>"
    left, bottom, top = 50, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(max(p["accept"], p["reject"]) for p in points) or 1
    step = plot_w / max(len(points), 1)
    bar = max(step / 2 - 1, 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' aria-label='accepted and rejected records over time'>"
    ]
    for i, p in enumerate(points):
        x = left + i * step
        for offset, key, colour in ((0, "accept", ACCEPT), (bar, "reject", REJECT)):
            h = plot_h * p[key] / peak
            parts.append(
                f"<rect x='{x + offset:.1f}' y='{top + plot_h - h:.1f}' width='{bar:.1f}' height='{h:.1f}' fill='{colour}'><title>{_when(p['start'], overview.bucket)} {key}: {p[key]}</title></rect>"
            )
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(
            f"<line x1='{left}' x2='{width - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e2e8f0'/><text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end'>{int(peak * frac)}</text>"
        )
    for i, anchor in sorted({0: "start", len(points) // 2: "middle", len(points) - 1: "end"}.items()):
        x = left + i * step + (bar * 2 if anchor == "end" else 0)
        parts.append(
            f"<text x='{x:.1f}' y='{height - 10}' text-anchor='{anchor}'>{_when(points[i]['start'], overview.bucket)}</text>"
        )
    parts.append(
        f"<rect x='{width - 170}' y='2' width='10' height='10' fill='{ACCEPT}'/><text x='{width - 155}' y='11'>ACCEPT</text>"
    )
    parts.append(
        f"<rect x='{width - 95}' y='2' width='10' height='10' fill='{REJECT}'/><text x='{width - 80}' y='11'>REJECT</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(rows: list[dict], label: str, value: str, title: str, width: int = 370) -> str:
    if not rows:
        return "<p class='note'>no records</p>"
    row_h, left = 20, 150
    height = row_h * len(rows) + 10
    peak = max(r[value] for r in rows) or 1
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' aria-label='{_esc(title)}'>"
    ]
    for i, r in enumerate(rows):
        y = 5 + i * row_h
        w = (width - left - 60) * r[value] / peak
        parts.append(f"<text x='{left - 6}' y='{y + 13}' text-anchor='end'>{_esc(r[label])}</text>")
        parts.append(f"<rect x='{left}' y='{y + 2}' width='{w:.1f}' height='{row_h - 6}' fill='{BAR}'/>")
        parts.append(f"<text x='{left + w + 4:.1f}' y='{y + 13}'>{r[value]}</text>")
    parts.append("</svg>")
    return "".join(parts)


def table_html(result: Result) -> str:
    rows = result.table.slice(0, MAX_TABLE_ROWS).to_pylist()
    if not rows:
        return "<p class='note'>(no rows)</p>"
    names = result.table.schema.names
    numeric = {
        f.name
        for f in result.table.schema
        if str(f.type).startswith(("int", "uint", "double", "float", "decimal"))
    }
    head = "".join(f"<th>{_esc(n)}</th>" for n in names)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='{'n' if n in numeric else ''}'>{_esc(r[n])}</td>" for n in names)
        + "</tr>"
        for r in rows
    )
    more = (
        f"<p class='note'>{result.table.num_rows - MAX_TABLE_ROWS} more rows: use --output csv</p>"
        if result.table.num_rows > MAX_TABLE_ROWS
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def page(result: Result, overview: Overview, *, lake: str, period_text: str) -> str:
    sources = [{**r, "label": f"{r['source']} ({r['country'] or '-'})"} for r in overview.top_sources]
    notes = "".join(f"<p class='note'>{_esc(n)}</p>" for n in result.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vpcflow: {_esc(result.title)}</title>
<style>{STYLE}</style></head><body>
<h1>{_esc(result.title)}</h1>
<p class="note">Lake {_esc(lake)} &middot; {_esc(period_text)}</p>
<h2>Accepted and rejected records over time</h2>
<p class="note">records per {overview.bucket // 60} minutes</p>
{timeline_svg(overview)}
<div class="charts">
<div><h2>Top sources (records)</h2>{bars_svg(sources, "label", "records", "top sources")}</div>
<div><h2>Source countries (records)</h2>{bars_svg(overview.countries, "country", "records", "countries")}</div>
</div>
<h2>{_esc(result.name)}</h2>{notes}
{table_html(result)}
</body></html>
"""


def write_page(path: str | Path, result: Result, overview: Overview, *, lake: str, period_text: str) -> None:
    Path(path).write_text(page(result, overview, lake=lake, period_text=period_text), encoding="utf-8")
