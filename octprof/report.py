"""Network cost reports as pandas DataFrames: the Table-1 view of whole networks, per layer, per path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from octprof.core.grid import parse_grid

TOTAL_COLUMNS: tuple[str, ...] = (
    "macs",
    "flops",
    "paper_flops",
    "fvcore_flops",
    "params",
    "act_elems",
    "act_bytes",
    "fmap_elems",
)
RELATIVE_COLUMNS: tuple[str, ...] = ("macs", "paper_flops", "fvcore_flops", "params", "act_elems", "fmap_elems")


def network_table(
    archs: Sequence[Any] | Any,
    alphas: Any = (0.0, 0.125, 0.25, 0.5, 0.75),
    input_size: Any = None,
    batch: int = 1,
    vanilla: Sequence[str] = (),
    stride_rule: str | None = None,
    check: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> pd.DataFrame:
    """One row per (architecture, α): totals in every convention and each total relative to α = 0 of the same
    architecture (``*_rel``, from a vanilla plan priced in the same call).  ``archs`` are zoo names,
    ``torchvision:NAME``, ``module.path:factory`` or modules.  ``check`` adds fvcore's and FlopCounterMode's
    counts on the real octave network and an ``agree`` column."""
    from octprof.analysis import Network

    if isinstance(archs, (str,)) or not isinstance(archs, Sequence):
        archs = [archs]
    grid = parse_grid(alphas) if not isinstance(alphas, list) else parse_grid(list(alphas))
    rows: list[dict[str, Any]] = []
    jobs = [(arch, a) for arch in archs for a in grid]
    it: Iterable[Any] = progress(jobs) if progress else jobs
    nets: dict[int, Any] = {}
    base: dict[int, dict[str, int]] = {}
    for arch, a in it:
        key = id(arch) if not isinstance(arch, str) else hash(arch)
        if key not in nets:
            nets[key] = Network(arch, input_size, batch, vanilla=vanilla, stride_rule=stride_rule, meta=not check)
            base[key] = nets[key].analyze(0.0, strict_patterns=False).total()
        net = nets[key]
        an = net.analyze(a)
        t = an.total()
        row: dict[str, Any] = {
            "arch": net.source.name,
            "alpha": a,
            "input_size": "x".join(str(d) for d in net.captured.input_shape[2:]),
            "batch": net.captured.input_shape[0],
        }
        row.update({c: t[c] for c in TOTAL_COLUMNS})
        for c in RELATIVE_COLUMNS:
            row[f"{c}_rel"] = round(t[c] / base[key][c], 4) if base[key][c] else None
        row["octave_layers"] = len(an.plan.octave_layers())
        row["merges"] = len(an.plan.merges)
        row["unpriced"] = len(an.plan.unpriced)
        if check:
            cc = an.crosscheck()
            row["fvcore"] = cc["fvcore"]
            row["flop_counter"] = cc["flop_counter_flops"]
            row["module_params"] = cc["module_params"]
            row["agree"] = cc["agree"]
        rows.append(row)
    return pd.DataFrame(rows)


def layer_table(
    arch: Any,
    alpha: float,
    input_size: Any = None,
    batch: int = 1,
    vanilla: Sequence[str] = (),
    stride_rule: str | None = None,
) -> pd.DataFrame:
    """One row per layer of ``arch`` at ``alpha``."""
    from octprof.analysis import Network

    return Network(arch, input_size, batch, vanilla=vanilla, stride_rule=stride_rule).analyze(alpha).by_layer()
