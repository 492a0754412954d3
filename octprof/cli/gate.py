"""``octprof gate``: recompute a baseline of octave gains and fail when one regresses beyond its tolerance."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from octprof.cli.options import ALPHA_GRID, check_emit, emit, format_option, handle_errors, output_option
from octprof.core.errors import bad
from octprof.core.files import locked

if TYPE_CHECKING:
    from octprof.gate import GateResult

COLUMNS = ("arch", "alpha", "input_size", "metric", "baseline", "current", "delta", "delta_pct", "tolerance", "status")


@click.command("gate")
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The baseline JSON file (e.g. baselines/zoo.json).",
)
@click.option(
    "--update",
    is_flag=True,
    help="Rewrite the baseline with today's numbers (atomically); with --arch/--zoo, add or replace entries "
    "(creating the file if needed).",
)
@click.option(
    "--arch",
    "archs",
    multiple=True,
    help="With --update: an architecture to record (zoo name, torchvision:NAME or module.path:factory); repeatable.",
)
@click.option("--zoo", is_flag=True, help="With --update: record every zoo architecture.")
@click.option(
    "--alpha",
    type=ALPHA_GRID,
    default="0,0.125,0.25,0.5,0.75",
    show_default=True,
    help="With --update and --arch/--zoo: the alpha grid to record.",
)
@click.option("--input-size", default=None, help="With --update and --arch/--zoo: S or HxW (default: each model's).")
@click.option("--all", "show_all", is_flag=True, help="List every check, not only the values that changed.")
@format_option
@output_option
@handle_errors
def gate(
    baseline_path: str,
    update: bool,
    archs: tuple[str, ...],
    zoo: bool,
    alpha: list[float],
    input_size: str | None,
    show_all: bool,
    fmt: str | None,
    output: str | None,
) -> None:
    """Recompute every (arch, alpha, input size) of a baseline and compare each metric with its tolerance.

    All metrics are costs: an increase beyond the tolerance is a regression and the command exits 1, naming
    each regressed (arch, alpha, metric).  Only the values that changed are listed (--all: every check)."""
    from octprof import gate as g

    adding = list(archs)
    if zoo:
        from octprof.zoo import list_models

        adding += [m for m in list_models() if m not in adding]
    if (adding or input_size) and not update:
        raise bad(
            "--arch/--zoo/--input-size",
            ", ".join(adding) or input_size,
            "only with --update",
            "they choose the entries --update records",
        )
    check_emit(output, fmt, inputs={"--baseline": baseline_path})
    if update:
        # one update at a time: a second --update waits, then reads what the first wrote (no lost update)
        with locked(baseline_path, "--baseline", notify=lambda msg: click.echo(msg, err=True)):
            n = _update(g, baseline_path, adding, alpha, input_size, show_all, fmt, output)
        click.echo(f"updated {baseline_path}: {n} entries", err=True)
        return
    result = g.check(baseline_path)
    _report(result, show_all, fmt, output)
    if not result.passed:
        raise click.ClickException(result.failure_message())


def _update(
    g: Any,
    baseline_path: str,
    adding: list[str],
    alpha: list[float],
    input_size: str | None,
    show_all: bool,
    fmt: str | None,
    output: str | None,
) -> int:
    """Recompute (and extend) the baseline and write it; the number of entries written."""
    exists = os.path.exists(baseline_path)
    if not exists and not adding:
        raise bad(
            "--baseline",
            baseline_path,
            "no such file; to create it, name what to record",
            "octprof gate --baseline FILE --update --arch NAME (or --zoo) [--alpha GRID]",
        )
    old = g.load(baseline_path, allow_empty=bool(adding)) if exists else None
    new = None
    if old is not None and old.entries:
        result = g.check(old)
        _report(result, show_all, fmt, output)
        new = result.current
    if adding:
        fresh = g.create(adding, alpha, input_size=input_size)
        new = g.merge(old if new is None else new, fresh) if old is not None else fresh
    g.save(new, baseline_path)
    return len(new.entries)


def _report(result: GateResult, show_all: bool, fmt: str | None, output: str | None) -> None:
    rows = result.rows if show_all else result.differences()
    if rows or output:
        emit(
            rows,
            fmt,
            output,
            COLUMNS,
            title=f"octprof gate: {result.baseline.source}",
            notes=[
                "every metric is a cost: regressed = increase beyond the tolerance (a number: absolute; N%: "
                "relative to the baseline)"
            ],
        )
    click.echo(result.summary(), err=True)
