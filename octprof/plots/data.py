"""Reading what figures draw besides octprof's own counts: the paper's Figure-4 accuracies, a user's results, and
``octprof bench`` files."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from importlib import resources
from typing import Any

import pandas as pd

from octprof.core.errors import bad
from octprof.core.inputs import parse_input_size
from octprof.plots.common import OPTIONAL_RESULT_COLUMNS, RESULT_COLUMNS


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
