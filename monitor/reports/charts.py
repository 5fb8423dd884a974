"""Charts as inline SVG (matplotlib, Agg backend): the HTML report stays one file.

The backend is chosen per figure (no ``pyplot``), so importing this module
touches no global matplotlib state and works without a display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def bar_chart_svg(labels: Sequence[str], values: Sequence[float], *, title: str,
                  xlabel: str, limit: float = 100.0) -> str:
    """Horizontal bars, first label on top; an ``<svg>`` element without the XML prolog."""
    height = 1.2 + 0.28 * max(len(labels), 1)
    figure = Figure(figsize=(7.5, height), dpi=96)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))[::-1]
    colours = ["#c0392b" if v < 70 else "#e67e22" if v < 90 else "#27ae60" for v in values]
    axes.barh(positions, values, color=colours)
    axes.set_yticks(positions, labels=[label[:40] for label in labels], fontsize=8)
    axes.set_xlim(0, limit)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]
