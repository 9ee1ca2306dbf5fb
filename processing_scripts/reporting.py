"""Self-contained HTML reports: one file, charts embedded as base64 PNG, no scripts, no network.

A report has to open from an S3 download or an e-mail attachment years later, so nothing is linked.
Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global
state shared between reports in one process).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.7rem; text-align: left; }
th { background: #f3f3f3; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
"""


def new_figure(width: float = 6.0, height: float = 4.5) -> Figure:
    """A figure attached to the Agg canvas, ready for :func:`figure_html`."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_html(figure: Figure, alt: str) -> str:
    """``<img>`` with the figure inlined as a PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def table_html(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain table; numbers are right-aligned and shown with up to 6 significant digits."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def facts_html(rows: Iterable[tuple[str, object]]) -> str:
    """A label/value table: each label is its row's header, so there is no empty column-header row."""
    body = "".join(
        f'<tr><th scope="row">{html.escape(label)}</th>{_cell(value)}</tr>' for label, value in rows
    )
    return f"<table><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{html.escape(str(value))}</td>"
    return f'<td class="number">{value:.6g}</td>'


def section_html(heading: str, *parts: str) -> str:
    """A titled section holding already-rendered HTML parts."""
    return f"<section><h2>{html.escape(heading)}</h2>{''.join(parts)}</section>"


def page_html(title: str, *parts: str) -> str:
    """The complete document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>\n"
    )
