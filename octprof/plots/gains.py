"""Relative cost and feature-map memory against α: Table 1's curves, networks' points, measured time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from octprof.core.gains import flops_ratio, memory_ratio
from octprof.core.inputs import check_arch, parse_grid, parse_input_size
from octprof.plots.common import (
    FONT,
    TINY,
    arch_key,
    attach,
    check_convention,
    check_size,
    new_figure,
    price,
    series_colour,
    style_axes,
)
from octprof.plots.data import read_bench
from octprof.progress import progress


def gains(
    archs: Sequence[str] | str = (),
    alphas: Any = (0.0, 0.125, 0.25, 0.5, 0.75),
    bench: str | os.PathLike[str] | pd.DataFrame | None = None,
    convention: str = "macs",
    input_size: Any = None,
    title: str | None = None,
    width: float | None = None,
    height: float | None = None,
) -> Figure:
    """Relative cost against α, in percent of α = 0, in two panels sharing the α axis.

    Top: Table 1's FLOPs curve 100·(1 − ¾α(2 − α)) of one octave layer, each network's ``{convention}_rel``
    and, with ``bench``, measured relative time 100 / speedup (× markers).  Bottom: Table 1's memory curve
    100·(1 − ¾α) and each network's ``fmap_elems_rel``.
    ``fig.octprof_data``: one row per point — panel (``flops`` or ``memory``), line, source (``table1``,
    ``octprof``, ``bench``), arch, x (α), y (percent)."""
    convention = check_convention(convention)
    if isinstance(archs, str):
        archs = [archs]
    archs = list(dict.fromkeys(arch_key(a) for a in archs))
    grid = parse_grid(alphas) if not isinstance(alphas, (list, tuple)) else parse_grid(list(alphas))
    w, h = check_size(width, height, 4.2)
    size = parse_input_size(input_size, "input_size") if input_size is not None else None
    bench_df = read_bench(bench) if bench is not None else None
    for a in archs:
        check_arch(a, "arch")
    rows: list[dict[str, Any]] = []
    curve = [i / 100 for i in range(101)]
    rows += [
        {"panel": "flops", "line": "Table 1", "source": "table1", "arch": "", "x": a, "y": 100 * flops_ratio(a)}
        for a in curve
    ]
    rows += [
        {"panel": "memory", "line": "Table 1", "source": "table1", "arch": "", "x": a, "y": 100 * memory_ratio(a)}
        for a in curve
    ]
    for arch in progress(archs, desc="pricing", unit="net"):
        t = price(arch, grid, size)
        for _, r in t.iterrows():
            rows.append(
                {
                    "panel": "flops",
                    "line": arch,
                    "source": "octprof",
                    "arch": arch,
                    "x": float(r["alpha"]),
                    "y": 100 * float(r[f"{convention}_rel"]),
                }
            )
            rows.append(
                {
                    "panel": "memory",
                    "line": arch,
                    "source": "octprof",
                    "arch": arch,
                    "x": float(r["alpha"]),
                    "y": 100 * float(r["fmap_elems_rel"]),
                }
            )
    if bench_df is not None:
        has_device = "device" in bench_df.columns
        for _, r in bench_df.iterrows():
            dev = f", {r['device']}" if has_device and str(r["device"]).strip() else ""
            rows.append(
                {
                    "panel": "flops",
                    "line": f"{r['arch']} time{dev}",
                    "source": "bench",
                    "arch": r["arch"],
                    "x": float(r["alpha"]),
                    "y": 100 * float(r["rel_time"]),
                }
            )
    data = pd.DataFrame(rows)

    fig = new_figure(w, h)
    top, bottom = fig.subplots(2, 1, sharex=True)
    colours: dict[str, str] = {}
    for a in list(archs) + list(data.loc[data["source"] == "bench", "arch"]):
        colours.setdefault(a, series_colour(len(colours)))
    handles = []
    for ax, panel in ((top, "flops"), (bottom, "memory")):
        style_axes(ax)
        d = data[data["panel"] == panel]
        c = d[d["source"] == "table1"]
        (t1,) = ax.plot(
            c["x"], c["y"], "-", color="#444444", linewidth=1.0, zorder=1, label="Table 1 (one layer, α_in = α_out)"
        )
        for arch in archs:
            p = d[(d["source"] == "octprof") & (d["arch"] == arch)]
            (ln,) = ax.plot(
                p["x"],
                p["y"],
                "o",
                linestyle=(0, (2, 1.5)),
                linewidth=0.6,
                color=colours[arch],
                markersize=3.2,
                label=arch,
                zorder=2,
            )
            if panel == "flops":
                handles.append(ln)
        b = d[d["source"] == "bench"]
        for line, p in b.groupby("line", sort=False):
            ax.plot(
                p["x"],
                p["y"],
                "x",
                color=colours[p["arch"].iloc[0]],
                markersize=4,
                markeredgewidth=1.0,
                label=line,
                zorder=3,
            )
        if panel == "flops":
            handles.insert(0, t1)
            if not b.empty:
                handles.append(
                    Line2D(
                        [],
                        [],
                        linestyle="none",
                        marker="x",
                        color="#444444",
                        markersize=4,
                        markeredgewidth=1.0,
                        label="measured time (1 / speedup)",
                    )
                )
        formula = "100 (1 − ¾α(2 − α))" if panel == "flops" else "100 (1 − ¾α)"
        at = 0.97
        y_at = 100 * (flops_ratio(at) if panel == "flops" else memory_ratio(at))
        ax.annotate(
            formula,
            (at, y_at),
            xytext=(0, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=TINY - 0.5,
            color="#444444",
        )
        ax.set_ylim(0, 105)
        ax.set_xlim(-0.02, 1.02)
    top.set_ylabel(f"{convention} (% of α = 0)", fontsize=FONT)
    bottom.set_ylabel("feature-map memory (% of α = 0)", fontsize=FONT)
    bottom.set_xlabel("α (low-frequency share of channels)", fontsize=FONT)
    fig.suptitle(title if title is not None else "Relative cost vs. α", fontsize=FONT + 0.5)
    top.legend(handles=handles, loc="upper right", fontsize=TINY, frameon=False, handlelength=1.6, labelspacing=0.3)
    return attach(fig, data, kind="gains", convention=convention, archs=archs, alphas=grid)
