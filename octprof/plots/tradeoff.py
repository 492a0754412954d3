"""Accuracy against cost (the paper's Figure 4 by default), with α labels placed so that none overlaps another."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from octprof.core.errors import bad
from octprof.core.inputs import check_arch, parse_input_size, size_text
from octprof.plots.common import (
    BASELINE_COLOUR,
    CONVENTIONS,
    FONT,
    TINY,
    attach,
    check_convention,
    check_size,
    new_figure,
    price,
    series_colour,
    style_axes,
)
from octprof.plots.data import paper_figure4, read_results
from octprof.progress import progress


def _label_spots() -> list[tuple[float, float, str, str]]:
    """Where a point's α label may go, nearest first: (dx, dy) in points from the point and the text's
    alignment.  Eight directions on rings of growing radius; from the second ring on a leader line is drawn."""
    spots: list[tuple[float, float, str, str]] = []
    for radius in LABEL_RINGS:
        for angle in (30, -30, 150, -150, 90, -90, 0, 180):
            dx, dy = radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
            ha = "left" if dx > 0.5 else "right" if dx < -0.5 else "center"
            va = "bottom" if dy > 0.5 else "top" if dy < -0.5 else "center"
            spots.append((round(dx, 3), round(dy, 3), ha, va))
    return spots


#: Distances (points) of the rings of label spots; beyond the first, a leader line joins label and point.
LABEL_RINGS: tuple[float, ...] = (3.0, 7.0, 11.0, 16.0, 22.0)


def _place_labels(fig: Figure, ax: Any, labels: Sequence[Any], lines: Sequence[Sequence[tuple[float, float]]]) -> None:
    """Move each α label to the nearest spot around its point that overlaps no other label, no point, no line
    and stays inside the axes (greedy, in drawing order).  Overlapping another label is never chosen while a
    spot without one exists; where every spot touches a point or a line, the least-overlapping one is taken.
    Labels away from their point get a thin leader line in the point's colour."""
    if not labels:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # runs the layout, so that data → pixel transforms are final
    renderer = canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    r = 2.5 * fig.dpi / 72
    points = [ax.transData.transform(lb.xy) for lb in labels]
    centres = [*points, *(ax.transData.transform(p) for line in lines for p in line)]  # α = 0 points too
    marks = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in centres]
    q = 0.8 * fig.dpi / 72
    strokes = []
    for line in lines:  # the lines, as small boxes every few pixels along each segment
        pix = [ax.transData.transform(p) for p in line]
        for (x0, y0), (x1, y1) in itertools.pairwise(pix):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / (2 * q)))
            for k in range(1, n):
                x, y = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
                strokes.append(Bbox.from_extents(x - q, y - q, x + q, y + q))

    def overlap(a: Any, b: Any) -> float:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return w * h if w > 0 and h > 0 else 0.0

    placed: list[Any] = []
    spots = _label_spots()
    far = 2.0 * (fig.dpi / 72) ** 2  # px² of clash worth one point further from the point
    for lb in labels:
        best: tuple[tuple[float, float], Any] | None = None
        for dx, dy, ha, va in spots:
            lb.set_position((dx, dy))
            lb.set_ha(ha)
            lb.set_va(va)
            box = lb.get_window_extent(renderer).padded(0.6)
            outside = box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1
            covered = sum(box.contains(x, y) for x, y in centres)  # a label never hides a point
            hard = sum(overlap(box, t) for t in placed) + 1e3 * covered + (1e6 if outside else 0.0)
            clash = 4 * sum(overlap(box, m) for m in marks) + sum(overlap(box, t) for t in strokes)
            cost = (hard, clash + far * math.hypot(dx, dy))  # a clash-free spot further out beats a close clash
            if best is None or cost < best[0]:
                best = (cost, (dx, dy, ha, va, box))
            if hard == 0 and clash == 0:
                break  # spots come nearest first: nothing clash-free is closer
        assert best is not None
        dx, dy, ha, va, box = best[1]
        lb.set_position((dx, dy))
        lb.set_ha(ha)
        lb.set_va(va)
        lb.arrow_patch.set_visible(math.hypot(dx, dy) > LABEL_RINGS[0] + 0.5)
        placed.append(box)


def _costs_for(results: pd.DataFrame, convention: str, input_size: Any) -> list[float]:
    """The ``convention`` count of every row, priced once per (arch, input size)."""
    costs: dict[int, float] = {}
    groups: dict[tuple[str, str], list[int]] = {}
    sizes: dict[tuple[str, str], Any] = {}
    for i, r in results.iterrows():
        size = input_size if input_size is not None else r["input_size"]
        key = (r["arch"], size_text(size))
        groups.setdefault(key, []).append(i)
        sizes[key] = size
    for (arch, _), idx in progress(list(groups.items()), desc="pricing", unit="net"):
        line_no = results.loc[idx[0], "line_no"] if "line_no" in results else None
        check_arch(arch, f"results {results.attrs.get('name', '')} line {line_no}: arch" if line_no else "arch")
        priced = price(arch, results.loc[idx, "alpha"].tolist(), sizes[(arch, _)])
        by_alpha = dict(zip(priced["alpha"].astype(float), priced[convention], strict=True))
        for i in idx:
            costs[i] = float(by_alpha[float(results.loc[i, "alpha"])])
    return [costs[i] for i in results.index]


def tradeoff(
    results: str | os.PathLike[str] | pd.DataFrame | None = None,
    convention: str = "paper_flops",
    accuracy: str = "top1",
    input_size: Any = None,
    title: str | None = None,
    width: float | None = None,
    height: float | None = None,
) -> Figure:
    """Accuracy against cost: one line per architecture through its α points (α written by each point, the
    α = 0 baseline in the series colour with a black edge), cost on a log axis in G``convention`` units.

    ``results``: None redraws the paper's Figure 4 from the shipped accuracies, pricing each model at its row's
    input size; otherwise a CSV (see :func:`read_results`) whose models octprof prices itself.
    ``accuracy``: ``top1`` or ``top5``.  ``input_size`` prices every row at this size instead (S or HxW).
    ``fig.octprof_data``: one row per point — line, arch, alpha, input_size, ``convention`` (the count), x
    (the count in G units, as drawn), y (the accuracy), baseline (α = 0)."""
    convention = check_convention(convention)
    if accuracy not in ("top1", "top5"):
        raise bad("accuracy", accuracy, "expected top1 or top5")
    w, h = check_size(width, height, 2.9)
    size = parse_input_size(input_size, "input_size") if input_size is not None else None
    if results is None:
        paper = paper_figure4()
        df = pd.DataFrame(
            {
                "arch": paper["arch"],
                "alpha": paper["alpha"].astype(float),
                "input_size": [parse_input_size(s) for s in paper["input_size"]],
                "top1": paper["top1"].astype(float),
                "top5": paper["top5"].astype(float),
                "label": "",
            }
        )
        df.attrs["name"] = "paper"
        default_title = "Figure 4 redrawn: accuracy vs. cost"
    else:
        df = read_results(results)
        default_title = "Accuracy vs. cost"
    if accuracy == "top5" and df["top5"].isna().all():
        raise bad("accuracy", accuracy, "the results have no top5 column (or it is empty)")
    df = df.copy()
    df["count"] = _costs_for(df, convention, size)
    if size is not None:
        df["input_size"] = [size] * len(df)
    # lines: a row's label, else its arch (with the input size when an arch appears at several sizes)
    multi = df.groupby("arch")["input_size"].agg(lambda s: len({size_text(v) for v in s}) > 1)
    df["line"] = [
        r["label"] or (f"{r['arch']} @ {size_text(r['input_size'])}" if multi[r["arch"]] else r["arch"])
        for _, r in df.iterrows()
    ]
    df = df[df[accuracy].notna()]
    div, unit = 1e9, "G" + CONVENTIONS[convention]
    df["x"] = df["count"] / div
    df["y"] = df[accuracy].astype(float)
    df["baseline"] = df["alpha"] == 0
    df = df.sort_values(["alpha"], kind="stable")
    order = list(dict.fromkeys(df.sort_index()["line"]))

    fig = new_figure(w, h)
    ax = fig.add_subplot()
    style_axes(ax)
    handles = []
    labels: list[Any] = []
    segments: list[list[tuple[float, float]]] = []
    for i, line in enumerate(order):
        pts = df[df["line"] == line].sort_values("alpha", kind="stable")
        colour = series_colour(i)
        (ln,) = ax.plot(
            pts["x"],
            pts["y"],
            "-",
            color=colour,
            linewidth=1.0,
            marker="o",
            markersize=3.2,
            markerfacecolor=colour,
            markeredgewidth=0,
            label=line,
            zorder=2,
        )
        handles.append(ln)
        base = pts[pts["baseline"]]
        if not base.empty:  # α = 0: the series' colour with a black edge, a little larger
            ax.plot(
                base["x"],
                base["y"],
                "o",
                color=colour,
                markeredgecolor=BASELINE_COLOUR,
                markeredgewidth=0.9,
                markersize=4.2,
                zorder=3,
            )
        segments.append(list(zip(pts["x"], pts["y"], strict=True)))
        for _, p in pts[~pts["baseline"]].iterrows():  # the α = 0 points say their α by their black edge
            labels.append(
                ax.annotate(
                    f"{p['alpha']:g}",
                    (p["x"], p["y"]),
                    xytext=(3.0, 1.5),
                    textcoords="offset points",
                    fontsize=TINY - 0.5,
                    color=colour,
                    zorder=4,
                    annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.4, "shrinkA": 0.5, "shrinkB": 2.2},
                )
            )
    if df["baseline"].any():
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                color="white",
                markeredgecolor=BASELINE_COLOUR,
                markeredgewidth=0.9,
                markersize=4.2,
                label="α = 0 (vanilla)",
            )
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if not df.empty:
        lo, hi = df["x"].min(), df["x"].max()
        ax.set_xlim(lo / 1.12, hi * 1.25)
    conv_name = {
        "paper_flops": "paper convention",
        "macs": "multiply-accumulates",
        "fvcore_flops": "fvcore convention",
    }[convention]
    ax.set_xlabel(f"{convention} ({unit}, {conv_name}; log scale)", fontsize=FONT)
    ax.set_ylabel(f"{'top-1' if accuracy == 'top1' else 'top-5'} accuracy (%)", fontsize=FONT)
    fig.suptitle(title if title is not None else default_title, fontsize=FONT + 0.5)
    ncols = 3 if len(handles) > 4 else 2
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        fontsize=TINY,
        frameon=False,
        handlelength=1.4,
        columnspacing=1.0,
        handletextpad=0.4,
    )
    _place_labels(fig, ax, labels, segments)
    cols = ["line", "arch", "alpha", "input_size", "x", "y", "baseline", "top1", "top5"]
    data = df.sort_index()[cols].assign(**{convention: df.sort_index()["count"].astype("int64")})
    data["input_size"] = [size_text(s) for s in data["input_size"]]
    return attach(fig, data, kind="tradeoff", convention=convention, unit=unit, accuracy=accuracy, lines=order)
