"""``octprof paper``: every count the paper publishes, next to octprof's, with the difference."""

from __future__ import annotations

import click

from octprof.cli.options import emit, format_option, handle_errors, output_option, progress_bar


@click.command("paper")
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Only this table: 2, 5, 6, 7 (or 'Table 2') or README (the official code's counts). Repeatable.",
)
@format_option
@output_option
@handle_errors
def paper(tables: tuple[str, ...], fmt: str | None, output: str | None) -> None:
    """The paper's published GFLOPs and parameters (Tables 2, 5, 6, 7) next to octprof's counts.

    status: ok = within the paper's rounding in the paper's convention (paper_flops); ok (macs_pool) = within
    rounding when activations are not counted; explained = a known difference, said in 'why'."""
    from octprof.paper import compare, table_name

    names = tuple(dict.fromkeys(table_name(t) for t in tables))
    rows = compare(names or None, progress=lambda r: progress_bar(r, "paper"))
    cols = [
        "table",
        "arch",
        "alpha",
        "input_size",
        "metric",
        "published",
        "octprof",
        "macs",
        "macs_pool",
        "diff",
        "rounding",
        "status",
        "why",
    ]
    ok = sum(r["status"].startswith("ok") for r in rows)
    emit(
        rows,
        fmt,
        output,
        columns=cols,
        notes=[
            f"{ok} of {len(rows)} published counts agree within the paper's rounding; the rest are explained",
            "octprof = paper_flops (GFLOPs) or params (M); macs = multiply-accumulates only; "
            "macs_pool = macs + pooling",
            "sources: the 'source' field of octprof/data/paper_results.csv (Chen et al. 2019 and the official README)",
        ],
    )
