"""Network cost reports as pandas DataFrames: the Table-1 view of whole networks, per layer, per path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from octprof.core.grid import parse_grid
from octprof.core.netcost import RELATIVE_COLUMNS, TOTAL_COLUMNS


def network_table(
    archs: Sequence[Any] | Any,
    alphas: Any = (0.0, 0.125, 0.25, 0.5, 0.75),
    input_size: Any = None,
    batch: int = 1,
    vanilla: Sequence[str] = (),
    stride_rule: str | None = None,
    check: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    jobs: int = 1,
    options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per (architecture, α): totals in every convention and each total relative to α = 0 of the same
    architecture (``*_rel``, from a vanilla plan priced in the same call).  ``archs`` are zoo names,
    ``torchvision:NAME``, ``timm:NAME``, ``module.path:factory`` or modules.  ``check`` adds fvcore's and
    FlopCounterMode's counts on the real octave network and an ``agree`` column.  ``jobs`` > 1 prices the
    networks named by strings in that many processes (rows keep the order of ``archs``).  ``options``: more
    :class:`~octprof.analysis.Network` options (``odd_size``, ``temporal``, ``paths``, ``paths_for``).

    ``df.attrs["unpriced"]``: ops nothing priced, per target; ``df.attrs["conv_summary"]``: per (arch, α) the
    line "N of M convs octave; vanilla: ..."; ``df.attrs["traced_whole"]``: per arch the line "traced whole (why):
    modules — their N convs stay vanilla" (networks with submodules torch.fx could not trace into).
    """
    if isinstance(archs, (str,)) or not isinstance(archs, Sequence):
        archs = [archs]
    grid = parse_grid(alphas) if not isinstance(alphas, list) else parse_grid(list(alphas))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        from octprof.core.errors import bad

        raise bad("--jobs", jobs, "expected a positive number of processes")
    args = (grid, input_size, batch, tuple(vanilla), stride_rule, check, dict(options or {}))
    results: list[Any] = [None] * len(archs)
    # ``progress`` wraps an iterable of one step per (network, α); the steps are taken as the prices come in
    steps = iter(progress(range(len(archs) * len(grid)))) if progress else iter(())

    def step(n: int = 1) -> None:
        for _ in range(n):
            next(steps, None)

    step()  # a wrapped iterator counts a step when the next one is asked for: start it

    parallel = [i for i, a in enumerate(archs) if isinstance(a, str)] if jobs > 1 and len(archs) > 1 else []
    if parallel:
        import concurrent.futures as cf
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no forked torch threads
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(parallel)), mp_context=ctx) as pool:
            futures = {pool.submit(price_arch, archs[i], *args): i for i in parallel}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                step(len(grid))
    for i in range(len(archs)):
        if results[i] is None:
            results[i] = price_arch(archs[i], *args, on_alpha=step)
    step()  # past the last step: the bar closes
    rows: list[dict[str, Any]] = []
    unpriced: dict[tuple[str, str], int] = {}
    summaries: dict[tuple[str, float], str] = {}
    whole: dict[str, str] = {}
    for arch_rows, arch_unpriced, arch_summaries, arch_whole in results:
        rows += arch_rows
        unpriced.update(arch_unpriced)
        summaries.update(arch_summaries)
        whole.update(arch_whole)
    df = pd.DataFrame(rows)
    counts: dict[str, int] = {}
    for (_, target), k in unpriced.items():
        counts[target] = counts.get(target, 0) + k
    df.attrs["unpriced"] = counts  # per op target: how many ops no rule and no counter priced (over networks)
    df.attrs["conv_summary"] = summaries  # (arch, alpha) -> "41 of 53 convs octave; vanilla: ..."
    df.attrs["traced_whole"] = whole  # arch -> "traced whole (why): modules — their N convs stay vanilla"
    return df


def price_arch(
    arch: Any,
    grid: Sequence[float],
    input_size: Any,
    batch: int,
    vanilla: Sequence[str],
    stride_rule: str | None,
    check: bool,
    options: dict[str, Any] | None = None,
    on_alpha: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], int], dict[tuple[str, float], str], dict[str, str]]:
    """The rows of one architecture over ``grid`` (see :func:`network_table`), its unpriced ops, its one-line conv
    summaries and the line on its modules traced whole (if any); a top-level function so that worker processes can
    run it.  ``on_alpha`` is called after each α is priced (a progress bar's step)."""
    from octprof.analysis import Network

    net = Network(arch, input_size, batch, vanilla=vanilla, stride_rule=stride_rule, meta=not check, **(options or {}))
    base = net.analyze(0.0, strict_patterns=False).total(warn=False)
    rows: list[dict[str, Any]] = []
    unpriced: dict[tuple[str, str], int] = {}
    summaries: dict[tuple[str, float], str] = {}
    for a in grid:
        an = net.analyze(a)
        t = an.total(warn=False)
        for target, k in an.unpriced_counts().items():
            unpriced[(net.source.name, target)] = max(unpriced.get((net.source.name, target), 0), k)
        row: dict[str, Any] = {
            "arch": net.source.name,
            "alpha": a,
            "input_size": "x".join(str(d) for d in net.captured.input_shape[2:]),
            "batch": net.captured.input_shape[0],
        }
        row.update({c: t[c] for c in TOTAL_COLUMNS})
        for c in RELATIVE_COLUMNS:
            row[f"{c}_rel"] = t[c] / base[c] if base[c] else None  # exact; text tables show 4 decimals
        row["octave_layers"] = len(an.plan.octave_layers())
        row["merges"] = len(an.plan.merges)
        row["unpriced"] = len(an.plan.unpriced)
        row["unpriced_ops"] = ", ".join(f"{t} ×{k}" for t, k in sorted(an.unpriced_counts().items()))
        row["refused"] = len(an.plan.options.refuse)
        summaries[(net.source.name, a)] = an.conv_summary()
        if check:
            cc = an.crosscheck()
            row["fvcore"] = cc["fvcore"]
            row["flop_counter"] = cc["flop_counter_flops"]
            row["module_params"] = cc["module_params"]
            row["agree"] = cc["agree"]
        rows.append(row)
        if on_alpha is not None:
            on_alpha()
    from octprof.analysis import traced_whole_line

    line = traced_whole_line(net.captured)
    return rows, unpriced, summaries, {net.source.name: line} if line else {}


def layer_table(
    arch: Any,
    alpha: float,
    input_size: Any = None,
    batch: int = 1,
    vanilla: Sequence[str] = (),
    stride_rule: str | None = None,
    odd_size: str = "vanilla",
) -> pd.DataFrame:
    """One row per layer of ``arch`` at ``alpha``."""
    from octprof.analysis import Network

    net = Network(arch, input_size, batch, vanilla=vanilla, stride_rule=stride_rule, odd_size=odd_size)
    return net.analyze(alpha).by_layer()
