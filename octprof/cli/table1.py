"""``octprof table1``: the paper's Table 1 (relative FLOPs and memory of one layer) for any α grid."""

from __future__ import annotations

import click

from octprof.cli.options import ALPHA_GRID, emit, format_option, handle_errors, output_option
from octprof.core.gains import PAPER_ALPHAS, PAPER_TABLE1_SOURCE
from octprof.core.gains import table1 as table1_rows


@click.command("table1")
@click.option(
    "--alpha",
    type=ALPHA_GRID,
    default=",".join(f"{a:g}" for a in PAPER_ALPHAS),
    show_default=True,
    help="α grid: a list 0,0.125,0.5 or a range 0:1:0.125 (end included).",
)
@format_option
@output_option
@handle_errors
def table1(alpha: list[float], fmt: str | None, output: str | None) -> None:
    """Relative FLOPs 1 - 3/4 a(2 - a) and feature-map memory 1 - 3/4 a of an octave layer (Table 1).

    Pure closed form: needs no torch.  The formula is printed with one decimal next to the paper's
    printed value (the paper rounds; at a = 0.875 the memory formula gives 34.4 % where it printed 35)."""
    emit(
        table1_rows(alpha),
        fmt,
        output,
        title="Relative cost of an octave layer (alpha_in = alpha_out = alpha)",
        notes=[
            f"paper_*: {PAPER_TABLE1_SOURCE}, as printed (rounded to whole percent)",
            "flops_ratio_pct = 100 (1 - 3/4 a (2 - a)); memory_ratio_pct = 100 (1 - 3/4 a); "
            "limits for channels where int(a C) = a C",
        ],
    )
