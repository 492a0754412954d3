"""Where the cost of a network goes: stacked bars per stage or per convolution, split by path."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from octprof.core.errors import bad
from octprof.core.inputs import check_arch, parse_input_size
from octprof.plots.common import (
    CATEGORIES,
    CONVENTIONS,
    FONT,
    SMALL,
    TINY,
    attach,
    check_convention,
    check_size,
    new_figure,
    scale,
    style_axes,
)
from octprof.progress import progress

#: With ``by="layer"``: the bar that holds every op that is not a convolution.
OTHER = "other"


def stage_of(layers: Sequence[str], depth: int | None = None) -> dict[str, str]:
    """Map each layer name to its stage: the first ``depth`` dotted components of its name.

    ``depth`` None picks the smallest depth with at least two stages none of which holds 80 % of the layers
    (1 for ResNets: ``layer1`` … ``layer4``; 2 for ``features.*`` networks: ``features.denseblock1``,
    ``features.3``).
    Layers with no deeper name (``conv1``, ``fc``, ``features.norm5``) are grouped as ``stem`` before the
    first stage and ``head`` after the last; one between two stages keeps its own name."""
    names = list(dict.fromkeys(layers))
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise bad("depth", depth, "expected an integer >= 1")
    if depth is None:
        max_depth = max((n.count(".") + 1 for n in names), default=1)
        depth = 1
        for d in range(1, max_depth + 1):
            sizes: dict[str, int] = {}
            for n in names:
                if n.count(".") + 1 > d:
                    key = ".".join(n.split(".")[:d])
                    sizes[key] = sizes.get(key, 0) + 1
            depth = d
            if len(sizes) >= 2 and max(sizes.values()) < 0.8 * len(names):
                break
    prefix = {n: ".".join(n.split(".")[:depth]) if n.count(".") + 1 > depth else None for n in names}
    staged = [i for i, n in enumerate(names) if prefix[n] is not None]
    first, last = (staged[0], staged[-1]) if staged else (len(names), -1)
    out = {}
    for i, n in enumerate(names):
        if prefix[n] is not None:
            out[n] = prefix[n]
        elif i < first:
            out[n] = "stem"
        elif i > last:
            out[n] = "head"
        else:
            out[n] = n
    return out


def _shared_prefix(parts: Sequence[Sequence[str]]) -> list[str]:
    """The leading name components every one of ``parts`` shares."""
    out: list[str] = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        out.append(column[0])
    return out


def breakdown(
    arch: Any,
    alpha: float = 0.5,
    by: str = "stage",
    depth: int | None = None,
    convention: str = "paper_flops",
    input_size: Any = None,
    title: str | None = None,
    width: float | None = None,
    height: float | None = None,
    xmax: float | None = None,
) -> Figure:
    """Where the cost of ``arch`` at ``alpha`` goes: one horizontal stacked bar per stage (or per convolution,
    with ``by="layer"``: every other op is folded into one last bar, ``other``, and convolutions that cost
    nothing in ``convention`` are left out), in network order from the top, split into the categories of
    :data:`CATEGORIES` — the four octave paths, glue (pooling, upsampling and additions inside octave layers,
    merges), vanilla convolutions, and other ops (linear, BN, activations, pooling, per frequency or vanilla).
    The default height follows the number of bars.
    ``arch`` may also be an :class:`octprof.analysis.Analysis` (then ``alpha`` and ``input_size`` are its own).
    ``xmax``: fix the cost axis at [0, xmax] (a count in ``convention``; its unit follows from it), so that
    figures of several α compare by eye; a bar longer than ``xmax`` widens the axis.
    ``fig.octprof_data``: one row per bar segment — group, category, value (the count), left and width (as
    drawn, in ``unit``)."""
    from octprof.analysis import Analysis, Network
    from octprof.core.layer import check_alpha

    convention = check_convention(convention)
    if by not in ("stage", "layer"):
        raise bad("by", by, "expected stage or layer")
    if isinstance(arch, Analysis):
        an, alpha = arch, arch.alpha
        arch = arch.source.name
    else:
        alpha = check_alpha("alpha", alpha)
        if not isinstance(arch, str):
            raise bad("arch", arch, "expected a zoo name, torchvision:NAME, module.path:factory or an Analysis")
        check_arch(arch, "arch")
        size = parse_input_size(input_size, "input_size") if input_size is not None else None
        with progress(total=1, desc=f"pricing {arch}", unit="net") as bar:
            an = Network(arch, size).analyze(alpha)
            bar.update()
    rows = pd.DataFrame(an.rows)
    path_to_cat = {p: name for name, paths, _ in CATEGORIES for p in paths}
    unknown = sorted(set(rows["path"]) - set(path_to_cat))
    if unknown:  # a path this figure does not know: show it as 'other' rather than lose it
        path_to_cat.update(dict.fromkeys(unknown, "other"))
    rows["category"] = rows["path"].map(path_to_cat)
    if by == "stage":
        stages = stage_of(rows["layer"].tolist(), depth)
        rows["group"] = rows["layer"].map(stages)
    else:  # one bar per convolution; everything else (BN, activations, pooling, additions, linear) in 'other'
        convs = set(rows.loc[rows["op"].astype(str).str.startswith("conv"), "layer"])
        rows["group"] = [g if g in convs else OTHER for g in rows["layer"]]
    order = list(dict.fromkeys(rows["group"]))
    if OTHER in order:  # the folded bar goes last
        order = [g for g in order if g != OTHER] + [OTHER]
    table = rows.pivot_table(
        index="group", columns="category", values=convention, aggfunc="sum", fill_value=0, sort=False
    )
    table = table.reindex(index=order, columns=[c for c, _, _ in CATEGORIES], fill_value=0)
    if by == "layer":
        table = table[table.sum(axis=1) > 0]
    if table.empty:
        raise bad("convention", convention, f"{arch} costs nothing in this convention")
    if xmax is not None and (
        isinstance(xmax, bool) or not isinstance(xmax, (int, float)) or not math.isfinite(xmax) or xmax <= 0
    ):
        raise bad("xmax", xmax, "expected a positive count")
    div, unit = scale([xmax] if xmax is not None else table.sum(axis=1), CONVENTIONS[convention])
    n = len(table)
    per_bar = 0.13 if by == "stage" else 0.1
    w, h = check_size(width, height, min(max(1.6, 0.75 + per_bar * n), 40.0))

    fig = new_figure(w, h)
    ax = fig.add_subplot()
    style_axes(ax)
    ax.grid(False, axis="y")
    segs = []
    y = list(range(n))
    left = [0.0] * n
    handles = []
    for name, _, colour in CATEGORIES:
        vals = [float(v) / div for v in table[name]]
        if not any(vals):
            continue
        bars = ax.barh(y, vals, left=left, height=0.72, color=colour, edgecolor="white", linewidth=0.3, label=name)
        handles.append(bars)
        for g, l0, v, raw in zip(table.index, left, vals, table[name], strict=True):
            if raw:
                segs.append({"group": g, "category": name, "value": int(raw), "left": l0, "width": v})
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ticks = list(table.index)
    staged = [g for g in ticks if g not in ("stem", "head")]
    shared = _shared_prefix([g.split(".")[:-1] for g in staged]) if by == "stage" and staged else []
    if shared and all(g.count(".") >= len(shared) for g in staged):  # e.g. features.denseblock1 → denseblock1
        cut = len(".".join(shared)) + 1
        ticks = [g[cut:] if g in staged else g for g in ticks]
        ax.set_ylabel(".".join(shared) + ".*", fontsize=SMALL)
    ax.set_yticks(y, labels=ticks, fontsize=TINY if n > 12 else SMALL)
    if OTHER in ticks:
        ax.get_yticklabels()[ticks.index(OTHER)].set_fontstyle("italic")
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, max(max(left), xmax / div if xmax is not None else 0.0) * 1.04)
    conv_name = {
        "paper_flops": "paper convention",
        "macs": "multiply-accumulates",
        "fvcore_flops": "fvcore convention",
    }[convention]
    ax.set_xlabel(f"{convention} ({unit}, {conv_name})", fontsize=FONT)
    what = "stage" if by == "stage" else "convolution"
    fig.suptitle(
        title if title is not None else f"{arch} at α = {alpha:g}: cost per path and {what}", fontsize=FONT + 0.5
    )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(7, len(handles)),
        fontsize=TINY,
        frameon=False,
        handlelength=1.0,
        columnspacing=0.9,
        handletextpad=0.4,
    )
    data = pd.DataFrame(segs, columns=["group", "category", "value", "left", "width"])
    totals = {k: int(v) for k, v in table.sum(axis=1).items()}
    return attach(
        fig,
        data,
        kind="breakdown",
        convention=convention,
        unit=unit,
        scale=div,
        by=by,
        arch=arch,
        alpha=alpha,
        groups=list(table.index),
        totals=totals,
        total=int(sum(totals.values())),
    )
