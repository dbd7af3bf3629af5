"""Plots of report figures (matplotlib, Agg backend), as PNG bytes.

Each plot draws the rows of one or more :class:`~tamis.reports.evidence.FigureTable`, so a plot
shows nothing that is not also a figure with its query. PNGs are deterministic for the same data
(no timestamp in the metadata).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from tamis.reports.evidence import FigureTable

_PNG_META = {"Software": None}
COLORS = ("#2457a6", "#d08700", "#067647", "#b42318", "#6941c6", "#0e7090", "#5b6475")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:  # pragma: no cover - depends on the environment
        from tamis.errors import TamisError

        raise TamisError("reports need matplotlib: pip install 'tamis[reports]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata=_PNG_META)
    plt.close(fig)
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#5b6475", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def barh(
    table: FigureTable,
    label_col: str,
    value_cols: Sequence[str],
    title: str,
    xlabel: str = "",
) -> bytes:
    """Horizontal bars, one group per row of ``table`` and one bar per value column."""
    plt = _pyplot()
    labels = [str(v) for v in table.column(label_col)]
    fig, ax = plt.subplots(figsize=(7.5, max(2.2, 0.38 * max(1, len(labels)) * len(value_cols))))
    if not labels:
        _empty(ax, "nothing to show")
    else:
        height = 0.8 / len(value_cols)
        for k, col in enumerate(value_cols):
            values = [float(v or 0) for v in table.column(col)]
            ys = [i + k * height for i in range(len(labels))]
            ax.barh(ys, values, height=height, label=col, color=COLORS[k % len(COLORS)])
        ax.set_yticks([i + height * (len(value_cols) - 1) / 2 for i in range(len(labels))])
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        if len(value_cols) > 1:
            ax.legend(loc="lower right", frameon=False)
        ax.set_xlabel(xlabel)
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)


def lines_by_group(
    table: FigureTable, x_col: str, group_col: str, y_col: str, title: str, ylabel: str = ""
) -> bytes:
    """One line per group (e.g. per jurisdiction) of ``y`` over ``x``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    groups: dict[str, tuple[list[Any], list[float]]] = {}
    for x, g, y in zip(
        table.column(x_col), table.column(group_col), table.column(y_col), strict=True
    ):
        xs, ys = groups.setdefault(str(g), ([], []))
        xs.append(x)
        ys.append(float(y or 0))
    if not groups:
        _empty(ax, "no consent events")
    for k, (g, (xs, ys)) in enumerate(sorted(groups.items())):
        ax.plot(xs, ys, marker=".", label=g, color=COLORS[k % len(COLORS)])
    if groups:
        ax.legend(frameon=False, fontsize=8)
        fig.autofmt_xdate()
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)


def bars(table: FigureTable, x_col: str, y_col: str, title: str, ylabel: str = "") -> bytes:
    """Vertical bars (e.g. records by repetition level)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    xs = [str(v) for v in table.column(x_col)]
    if not xs:
        _empty(ax, "nothing to show")
    else:
        ax.bar(xs, [float(v or 0) for v in table.column(y_col)], color=COLORS[0])
        ax.set_yscale("log" if max(float(v or 0) for v in table.column(y_col)) > 1000 else "linear")
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(x_col)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)
