"""What every figure shares: sizes and fonts, the counting conventions, colours, pricing with a per-process
cache, writing a figure atomically, and the data a figure carries (``fig.octprof_data``)."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from octprof.core.errors import bad
from octprof.core.files import write_atomic

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

FONT = 7.0
SMALL = 6.0
TINY = 5.5
PALETTE = (
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


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise bad("convention", convention, f"expected one of {', '.join(CONVENTIONS)}")
    return convention


def check_size(width: float | None, height: float | None, default_height: float) -> tuple[float, float]:
    w = COLUMN_WIDTH if width is None else width
    h = default_height if height is None else height
    for name, v in (("width", w), ("height", h)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.5 <= v <= 50:
            raise bad(name, v, "expected a size in inches between 0.5 and 50")
    return float(w), float(h)


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=150, layout="constrained")  # 150: legible inline in notebooks
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    return fig


def style_axes(ax: Any) -> None:
    ax.tick_params(labelsize=SMALL, width=0.6, length=2.5)
    ax.tick_params(which="minor", width=0.4, length=1.5)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    ax.grid(True, which="major", linewidth=0.4, alpha=0.35)


def scale(counts: Any, unit: str) -> tuple[float, str]:
    """A power of 1000 that shows ``counts`` as numbers around 1–1000, and its prefixed unit."""
    top = max((abs(float(c)) for c in counts), default=0.0)
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if top >= div:
            return div, prefix + unit
    return 1.0, unit


def series_colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def arch_key(arch: str) -> str:
    return arch.strip()


@lru_cache(maxsize=64)
def _priced(arch: str, alphas: tuple[float, ...], input_size: Any) -> pd.DataFrame:
    from octprof.report import network_table

    return network_table([arch], list(alphas), input_size=input_size)


def price(arch: str, alphas: Sequence[float], input_size: Any) -> pd.DataFrame:
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


def attach(fig: Figure, data: pd.DataFrame, **meta: Any) -> Figure:
    fig.octprof_data = data.reset_index(drop=True)  # type: ignore[attr-defined]
    fig.octprof_meta = meta  # type: ignore[attr-defined]
    return fig
