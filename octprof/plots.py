"""Figures of octave gains, sized for a paper column: accuracy against cost, relative cost against α, and where
the cost of a network goes, path by path.

Every function returns a :class:`matplotlib.figure.Figure` (not managed by pyplot, so nothing leaks between
calls) and attaches what it draws as ``fig.octprof_data``, a DataFrame with one row per drawn point or bar
segment (its ``line`` or ``group``, ``x`` and ``y``), so that the numbers behind a figure can be checked and
exported.  :func:`save` writes a figure atomically.

- :func:`tradeoff` — top-1 accuracy against FLOPs (log scale), one line per architecture, α by each point,
  α = 0 in black.  By default the paper's Figure 4, from the shipped accuracies and octprof's own FLOPs.
- :func:`gains` — relative FLOPs and feature-map memory against α: Table 1's curves, networks' points and,
  with a benchmark file, measured relative time (1 / speedup).
- :func:`breakdown` — stacked bars of cost per path (H→H, H→L, L→H, L→L, glue, vanilla conv, other) per
  stage or per layer.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from octprof.core.errors import bad
from octprof.core.files import write_atomic
from octprof.core.gains import flops_ratio, memory_ratio
from octprof.core.inputs import check_arch, parse_grid, parse_input_size, size_text

__all__ = [
    "CATEGORIES",
    "COLUMN_WIDTH",
    "CONVENTIONS",
    "breakdown",
    "check_output",
    "gains",
    "paper_figure4",
    "read_bench",
    "read_results",
    "save",
    "stage_of",
    "tradeoff",
]

#: One column of a two-column paper, in inches.
COLUMN_WIDTH = 3.5
#: Counting conventions a figure can use, with the unit their totals are shown in.
CONVENTIONS: dict[str, str] = {"paper_flops": "FLOPs", "macs": "MACs", "fvcore_flops": "FLOPs"}
#: Breakdown categories, in stacking order: (name, paths of ``Analysis.rows`` it sums, colour).
CATEGORIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("h2h", ("h2h",), "#1f77b4"),
    ("h2l", ("h2l",), "#ff7f0e"),
    ("l2h", ("l2h",), "#2ca02c"),
    ("l2l", ("l2l",), "#9467bd"),
    ("glue", ("pool", "upsample", "add", "merge"), "#8c8c8c"),
    ("vanilla conv", ("conv",), "#8c564b"),
    ("other", ("high", "low", ""), "#d9d9d9"),
)
SAVE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
RESULT_COLUMNS: tuple[str, ...] = ("arch", "alpha", "top1")
OPTIONAL_RESULT_COLUMNS: tuple[str, ...] = ("top5", "label", "input_size")
BASELINE_COLOUR = "black"

_FONT = 7.0
_SMALL = 6.0
_TINY = 5.5
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)


# ------------------------------------------------------------------------------------------------------ common


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise bad("convention", convention, f"expected one of {', '.join(CONVENTIONS)}")
    return convention


def _check_size(width: float | None, height: float | None, default_height: float) -> tuple[float, float]:
    w = COLUMN_WIDTH if width is None else width
    h = default_height if height is None else height
    for name, v in (("width", w), ("height", h)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.5 <= v <= 50:
            raise bad(name, v, "expected a size in inches between 0.5 and 50")
    return float(w), float(h)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=150, layout="constrained")  # 150: legible inline in notebooks
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    return fig


def _style_axes(ax: Any) -> None:
    ax.tick_params(labelsize=_SMALL, width=0.6, length=2.5)
    ax.tick_params(which="minor", width=0.4, length=1.5)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    ax.grid(True, which="major", linewidth=0.4, alpha=0.35)


def _scale(counts: Any, unit: str) -> tuple[float, str]:
    """A power of 1000 that shows ``counts`` as numbers around 1–1000, and its prefixed unit."""
    top = max((abs(float(c)) for c in counts), default=0.0)
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if top >= div:
            return div, prefix + unit
    return 1.0, unit


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _arch_key(arch: str) -> str:
    return arch.strip()


@lru_cache(maxsize=64)
def _priced(arch: str, alphas: tuple[float, ...], input_size: Any) -> pd.DataFrame:
    from octprof.report import network_table

    return network_table([arch], list(alphas), input_size=input_size)


def _price(arch: str, alphas: Sequence[float], input_size: Any) -> pd.DataFrame:
    """``network_table`` rows for one architecture; named models (zoo, torchvision) are cached per process."""
    key = tuple(sorted({float(a) for a in alphas}))
    if ":" in arch and not arch.startswith("torchvision:"):  # a user's module may change between calls
        from octprof.report import network_table

        return network_table([arch], list(key), input_size=input_size)
    return _priced(arch, key, input_size).copy()


def check_output(path: str | os.PathLike[str]) -> str:
    """The format of a figure file named ``path`` (its extension); an extension matplotlib cannot write is a
    one-line error.  Call it before the work that makes the figure."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    supported = Figure().canvas.get_supported_filetypes()
    if not ext or ext not in supported:
        raise bad(
            "output",
            path,
            "expected .png, .svg or .pdf",
            f"matplotlib also writes {', '.join('.' + e for e in sorted(supported) if e not in SAVE_FORMATS)}",
        )
    return ext


def save(fig: Figure, path: str | os.PathLike[str], dpi: int = 300) -> str:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf; any other format matplotlib writes is accepted too)
    atomically: rendered in memory, written to a temporary file in the same folder and renamed over ``path``.
    Returns the path."""
    path = os.fspath(path)
    ext = check_output(path)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 2400:
        raise bad("dpi", dpi, "expected an integer between 10 and 2400")
    buf = io.BytesIO()
    # no dates or versions in the file: the same figure gives the same bytes
    meta = {
        "png": {"Software": None},
        "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
        "svg": {"Date": None},
    }.get(ext)
    fig.savefig(buf, format=ext, dpi=dpi, metadata=meta)
    write_atomic(path, buf.getvalue())
    return path


def _attach(fig: Figure, data: pd.DataFrame, **meta: Any) -> Figure:
    fig.octprof_data = data.reset_index(drop=True)  # type: ignore[attr-defined]
    fig.octprof_meta = meta  # type: ignore[attr-defined]
    return fig


# ---------------------------------------------------------------------------------------------------- reading


def _paper_rows() -> pd.DataFrame:
    try:
        from octprof.paper import paper_results
    except ImportError:  # the loader is optional: read the shipped file directly
        text = resources.files("octprof.data").joinpath("paper_results.csv").read_text(encoding="utf-8")
        return pd.read_csv(io.StringIO(text))
    return pd.DataFrame(paper_results())


def paper_figure4() -> pd.DataFrame:
    """The accuracies of the paper's Figure 4 (the ablation on ImageNet) as shipped in
    ``octprof/data/paper_results.csv``: columns arch, alpha, input_size, top1, top5, source."""
    df = _paper_rows()
    df = df[df["table"] == "Figure 4"]
    return df[["arch", "alpha", "input_size", "top1", "top5", "source"]].reset_index(drop=True)


def _float(value: Any, param: str, lo: float | None = None, hi: float | None = None, what: str = "a number") -> float:
    try:
        v = float(str(value).strip())
    except ValueError:
        raise bad(param, value, f"expected {what}") from None
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise bad(param, value, f"expected {what}")
    return v


def _read_table(source: Any, param: str, required: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV or JSON file (or a DataFrame) read as text columns, with the required columns checked."""
    expected = f"expected columns {', '.join(required)}" + (f" (optional: {', '.join(optional)})" if optional else "")
    if isinstance(source, pd.DataFrame):
        df = source.copy().astype(object).where(source.notna(), "")
        df.columns = [str(c).strip() for c in df.columns]
        name = "DataFrame"
    else:
        name = os.fspath(source)
        if not os.path.isfile(name):
            raise bad(param, name, "no such file")
        try:
            if name.lower().endswith(".json"):
                with open(name, encoding="utf-8") as fh:
                    doc = json.load(fh)
                if isinstance(doc, dict):
                    doc = doc.get("rows", doc.get("records"))
                if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
                    raise bad(param, name, f"expected a JSON list of records; {expected}")
                df = pd.DataFrame(doc).astype(object)
                df = df.where(df.notna(), "")
            else:
                df = pd.read_csv(name, dtype=str, keep_default_na=False, skipinitialspace=True, comment="#")
        except (pd.errors.EmptyDataError, json.JSONDecodeError, pd.errors.ParserError, UnicodeDecodeError) as e:
            msg = "the file is empty" if isinstance(e, pd.errors.EmptyDataError) else f"cannot parse it ({e})"
            raise bad(param, name, f"{msg}; {expected}".replace("\n", " ")) from None
        df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise bad(param, name, f"missing column(s) {', '.join(missing)}; {expected}")
    if df.empty:
        raise bad(param, name, f"no rows; {expected}")
    df.attrs["name"] = name
    return df


def read_results(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A user's accuracies: CSV (or DataFrame) with columns ``arch, alpha, top1`` and optionally ``top5``,
    ``label`` (the line a row belongs to; default its arch) and ``input_size`` (S or HxW; default the
    model's).  Returns the validated rows with typed columns; every problem is a one-line error naming the
    line."""
    df = _read_table(source, "results", RESULT_COLUMNS, OPTIONAL_RESULT_COLUMNS)
    name = df.attrs["name"]
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        where = f"results {name} line {i + 2}"
        arch = str(r["arch"]).strip()
        if not arch:
            raise bad(f"{where}: arch", r["arch"], "expected a zoo name, torchvision:NAME or module.path:factory")
        alpha = _float(r["alpha"], f"{where}: alpha", 0, 1, "a number in [0, 1]")
        top1 = _float(r["top1"], f"{where}: top1", 0, 100, "an accuracy in percent (a number in [0, 100])")
        top5_raw = str(r.get("top5", "")).strip()
        top5 = _float(top5_raw, f"{where}: top5", 0, 100, "an accuracy in percent or empty") if top5_raw else None
        size = parse_input_size(r.get("input_size", ""), f"{where}: input_size")
        label = str(r.get("label", "")).strip()
        rows.append(
            {
                "arch": arch,
                "alpha": alpha,
                "input_size": size,
                "top1": top1,
                "top5": top5,
                "label": label,
                "line_no": i + 2,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["name"] = name
    return out


def read_bench(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Measured speedups (CSV or JSON from ``octprof bench``, or a DataFrame) with at least the columns
    ``arch, alpha, speedup`` (speedup = vanilla time / octave time).  Adds ``rel_time`` = 1 / speedup."""
    df = _read_table(source, "bench", ("arch", "alpha", "speedup"))
    name = df.attrs["name"]
    out = []
    for i, r in enumerate(df.to_dict("records")):
        where = f"bench {name} row {i + 1}"
        speedup_raw = str(r["speedup"]).strip()
        if not speedup_raw:  # a row without a measurement (e.g. a failed run) is left out
            continue
        rec = dict(r)
        rec["arch"] = str(r["arch"]).strip()
        rec["alpha"] = _float(r["alpha"], f"{where}: alpha", 0, 1, "a number in [0, 1]")
        speedup = _float(speedup_raw, f"{where}: speedup", what="a positive number")
        if speedup <= 0:
            raise bad(f"{where}: speedup", r["speedup"], "expected a positive number")
        rec["speedup"] = speedup
        rec["rel_time"] = 1.0 / speedup
        out.append(rec)
    if not out:
        raise bad("bench", name, "no row has a speedup")
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------------- tradeoff

# Where a point's α label may go, tried in order: (dx, dy) in points and the text's alignment.
_LABEL_SPOTS: tuple[tuple[float, float, str, str], ...] = (
    (2.5, 1.5, "left", "bottom"),
    (2.5, -1.5, "left", "top"),
    (-2.5, 1.5, "right", "bottom"),
    (-2.5, -1.5, "right", "top"),
    (0.0, 3.5, "center", "bottom"),
    (0.0, -3.5, "center", "top"),
)


def _place_labels(fig: Figure, ax: Any, labels: Sequence[Any], lines: Sequence[Sequence[tuple[float, float]]]) -> None:
    """Move each α label to the first spot around its point that overlaps no other label, no point, no line
    and stays inside the axes (greedy, in drawing order); where every spot collides, the least-overlapping."""
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
    taken = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in points]
    q = 0.8 * fig.dpi / 72
    for line in lines:  # the lines, as small boxes every few pixels along each segment
        pix = [ax.transData.transform(p) for p in line]
        for (x0, y0), (x1, y1) in itertools.pairwise(pix):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / (2 * q)))
            for k in range(1, n):
                x, y = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
                taken.append(Bbox.from_extents(x - q, y - q, x + q, y + q))

    def overlap(a: Any, b: Any) -> float:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return w * h if w > 0 and h > 0 else 0.0

    for lb in labels:
        best: tuple[float, Any] | None = None
        for dx, dy, ha, va in _LABEL_SPOTS:
            lb.set_position((dx, dy))
            lb.set_ha(ha)
            lb.set_va(va)
            box = lb.get_window_extent(renderer)
            outside = box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1
            cost = sum(overlap(box, t) for t in taken) + (1e6 if outside else 0.0)
            if best is None or cost < best[0]:
                best = (cost, (dx, dy, ha, va, box))
            if cost == 0:
                break
        assert best is not None
        dx, dy, ha, va, box = best[1]
        lb.set_position((dx, dy))
        lb.set_ha(ha)
        lb.set_va(va)
        taken.append(box)


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
    for (arch, _), idx in groups.items():
        line_no = results.loc[idx[0], "line_no"] if "line_no" in results else None
        check_arch(arch, f"results {results.attrs.get('name', '')} line {line_no}: arch" if line_no else "arch")
        priced = _price(arch, results.loc[idx, "alpha"].tolist(), sizes[(arch, _)])
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
    α = 0 baseline in black), cost on a log axis in G``convention`` units.

    ``results``: None redraws the paper's Figure 4 from the shipped accuracies, pricing each model at its row's
    input size; otherwise a CSV (see :func:`read_results`) whose models octprof prices itself.
    ``accuracy``: ``top1`` or ``top5``.  ``input_size`` prices every row at this size instead (S or HxW).
    ``fig.octprof_data``: one row per point — line, arch, alpha, input_size, ``convention`` (the count), x
    (the count in G units, as drawn), y (the accuracy), baseline (α = 0)."""
    convention = _check_convention(convention)
    if accuracy not in ("top1", "top5"):
        raise bad("accuracy", accuracy, "expected top1 or top5")
    w, h = _check_size(width, height, 2.9)
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

    fig = _figure(w, h)
    ax = fig.add_subplot()
    _style_axes(ax)
    handles = []
    labels: list[Any] = []
    segments: list[list[tuple[float, float]]] = []
    for i, line in enumerate(order):
        pts = df[df["line"] == line].sort_values("alpha", kind="stable")
        colour = _colour(i)
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
        if not base.empty:
            ax.plot(base["x"], base["y"], "o", color=BASELINE_COLOUR, markersize=3.6, zorder=3)
        segments.append(list(zip(pts["x"], pts["y"], strict=True)))
        for _, p in pts[~pts["baseline"]].iterrows():  # the α = 0 points say their α by being black
            labels.append(
                ax.annotate(
                    f"{p['alpha']:g}",
                    (p["x"], p["y"]),
                    xytext=(2.5, 1.5),
                    textcoords="offset points",
                    fontsize=_TINY - 0.5,
                    color="#333333",
                    zorder=4,
                    annotation_clip=False,
                )
            )
    if df["baseline"].any():
        handles.append(
            Line2D([], [], linestyle="none", marker="o", color=BASELINE_COLOUR, markersize=3.6, label="α = 0 (vanilla)")
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
    ax.set_xlabel(f"{convention} ({unit}, {conv_name}; log scale)", fontsize=_FONT)
    ax.set_ylabel(f"{'top-1' if accuracy == 'top1' else 'top-5'} accuracy (%)", fontsize=_FONT)
    fig.suptitle(title if title is not None else default_title, fontsize=_FONT + 0.5)
    ncols = 3 if len(handles) > 4 else 2
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        fontsize=_TINY,
        frameon=False,
        handlelength=1.4,
        columnspacing=1.0,
        handletextpad=0.4,
    )
    _place_labels(fig, ax, labels, segments)
    cols = ["line", "arch", "alpha", "input_size", "x", "y", "baseline", "top1", "top5"]
    data = df.sort_index()[cols].assign(**{convention: df.sort_index()["count"].astype("int64")})
    data["input_size"] = [size_text(s) for s in data["input_size"]]
    return _attach(fig, data, kind="tradeoff", convention=convention, unit=unit, accuracy=accuracy, lines=order)


# ------------------------------------------------------------------------------------------------------ gains


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
    convention = _check_convention(convention)
    if isinstance(archs, str):
        archs = [archs]
    archs = list(dict.fromkeys(_arch_key(a) for a in archs))
    grid = parse_grid(alphas) if not isinstance(alphas, (list, tuple)) else parse_grid(list(alphas))
    w, h = _check_size(width, height, 4.2)
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
    for arch in archs:
        t = _price(arch, grid, size)
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

    fig = _figure(w, h)
    top, bottom = fig.subplots(2, 1, sharex=True)
    colours: dict[str, str] = {}
    for a in list(archs) + list(data.loc[data["source"] == "bench", "arch"]):
        colours.setdefault(a, _colour(len(colours)))
    handles = []
    for ax, panel in ((top, "flops"), (bottom, "memory")):
        _style_axes(ax)
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
            fontsize=_TINY - 0.5,
            color="#444444",
        )
        ax.set_ylim(0, 105)
        ax.set_xlim(-0.02, 1.02)
    top.set_ylabel(f"{convention} (% of α = 0)", fontsize=_FONT)
    bottom.set_ylabel("feature-map memory (% of α = 0)", fontsize=_FONT)
    bottom.set_xlabel("α (low-frequency share of channels)", fontsize=_FONT)
    fig.suptitle(title if title is not None else "Relative cost vs. α", fontsize=_FONT + 0.5)
    top.legend(handles=handles, loc="upper right", fontsize=_TINY, frameon=False, handlelength=1.6, labelspacing=0.3)
    return _attach(fig, data, kind="gains", convention=convention, archs=archs, alphas=grid)


# -------------------------------------------------------------------------------------------------- breakdown


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
) -> Figure:
    """Where the cost of ``arch`` at ``alpha`` goes: one horizontal stacked bar per stage (or layer, with
    ``by="layer"``; layers that cost nothing in ``convention`` are left out), in network order from the top,
    split into the categories of :data:`CATEGORIES` — the four octave paths, glue (pooling, upsampling and
    additions inside octave layers, merges), vanilla convolutions, and other ops (linear, BN, activations,
    pooling, per frequency or vanilla).
    ``arch`` may also be an :class:`octprof.analysis.Analysis` (then ``alpha`` and ``input_size`` are its own).
    ``fig.octprof_data``: one row per bar segment — group, category, value (the count), left and width (as
    drawn, in ``unit``)."""
    from octprof.analysis import Analysis, Network
    from octprof.core.layer import check_alpha

    convention = _check_convention(convention)
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
        an = Network(arch, size).analyze(alpha)
    rows = pd.DataFrame(an.rows)
    path_to_cat = {p: name for name, paths, _ in CATEGORIES for p in paths}
    unknown = sorted(set(rows["path"]) - set(path_to_cat))
    if unknown:  # a path this figure does not know: show it as 'other' rather than lose it
        path_to_cat.update(dict.fromkeys(unknown, "other"))
    rows["category"] = rows["path"].map(path_to_cat)
    if by == "stage":
        stages = stage_of(rows["layer"].tolist(), depth)
        rows["group"] = rows["layer"].map(stages)
    else:
        rows["group"] = rows["layer"]
    order = list(dict.fromkeys(rows["group"]))
    table = rows.pivot_table(
        index="group", columns="category", values=convention, aggfunc="sum", fill_value=0, sort=False
    )
    table = table.reindex(index=order, columns=[c for c, _, _ in CATEGORIES], fill_value=0)
    if by == "layer":
        table = table[table.sum(axis=1) > 0]
    if table.empty:
        raise bad("convention", convention, f"{arch} costs nothing in this convention")
    div, unit = _scale(table.sum(axis=1), CONVENTIONS[convention])
    n = len(table)
    w, h = _check_size(width, height, min(max(1.6, 0.75 + 0.13 * n), 40.0))

    fig = _figure(w, h)
    ax = fig.add_subplot()
    _style_axes(ax)
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
        ax.set_ylabel(".".join(shared) + ".*", fontsize=_SMALL)
    ax.set_yticks(y, labels=ticks, fontsize=_TINY if n > 12 else _SMALL)
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, max(left) * 1.04)
    conv_name = {
        "paper_flops": "paper convention",
        "macs": "multiply-accumulates",
        "fvcore_flops": "fvcore convention",
    }[convention]
    ax.set_xlabel(f"{convention} ({unit}, {conv_name})", fontsize=_FONT)
    what = "stage" if by == "stage" else "layer"
    fig.suptitle(
        title if title is not None else f"{arch} at α = {alpha:g}: cost per path and {what}", fontsize=_FONT + 0.5
    )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(7, len(handles)),
        fontsize=_TINY,
        frameon=False,
        handlelength=1.0,
        columnspacing=0.9,
        handletextpad=0.4,
    )
    data = pd.DataFrame(segs, columns=["group", "category", "value", "left", "width"])
    totals = {k: int(v) for k, v in table.sum(axis=1).items()}
    return _attach(
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
