"""``octprof paper``: every count the paper publishes, next to octprof's, with the difference."""

from __future__ import annotations

from typing import Any

import click

from octprof.cli.columns import columns_option, footnotes, is_data_format, select_columns
from octprof.cli.options import emit, format_option, handle_errors, output_option

COLUMNS = ("table", "arch", "alpha", "metric", "published", "octprof", "macs_pool", "diff", "status")
PRESETS: dict[str, tuple[str, ...]] = {
    "counts": ("table", "arch", "alpha", "input_size", "metric", "published", "octprof", "macs", "macs_pool"),
}
PUBLISHED_COLUMNS = ("table", "arch", "alpha", "input_size", "gflops", "params_m", "top1", "top5")
DEFINITIONS: tuple[tuple[str | tuple[str, ...], str], ...] = (
    ("octprof", "octprof = octprof's paper_flops (GFLOPs rows, 1e9) or params (params rows, 1e6)"),
    ("macs", "macs = multiply-accumulates only (1e9)"),
    ("macs_pool", "macs_pool = macs + pooling (1e9), the convention of the small models' published MFLOPs"),
    (("diff", "rounding"), "diff = octprof - published; rounding = half a unit of the published count's last digit"),
    (
        "status",
        "status: ok = within the paper's rounding; ok (macs_pool) = within rounding when activations are not "
        "counted; explained [n] = a known difference, footnote n",
    ),
    ("source", "source = where the published count was read"),
    (("gflops", "params_m"), "gflops / params_m = the published GFLOPs / millions of parameters"),
    (("top1", "top5"), "top1 / top5 = the published ImageNet accuracy (%)"),
)


@click.command("paper")
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Only this table: 2, 5, 6, 7 (or 'Table 2') or README (the official code's counts). Repeatable.",
)
@click.option(
    "--published",
    is_flag=True,
    help="Only the published numbers (GFLOPs, parameters, accuracy) with their source; prices nothing.",
)
@click.option("--explain", is_flag=True, help="Add the explanation of each difference as a 'why' column.")
@columns_option(PRESETS, "--columns counts,status or --columns all")
@format_option
@output_option
@handle_errors
def paper(
    tables: tuple[str, ...],
    published: bool,
    explain: bool,
    columns_text: str | None,
    fmt: str | None,
    output: str | None,
) -> None:
    """The paper's published GFLOPs and parameters (Tables 2, 5, 6, 7) next to octprof's counts.

    status: ok = within the paper's rounding in the paper's convention (paper_flops); ok (macs_pool) = within
    rounding when activations are not counted; explained [n] = a known difference, said in footnote n (or in a
    'why' column with --explain).  --published lists what the paper prints without pricing anything."""
    from octprof.paper import paper_results, table_name

    # 2, 'table 2', 'Table 2' name one table; --published also lists tables of accuracies only (Figure 4)
    known = list(dict.fromkeys(r["table"] for r in paper_results())) if published else None
    tables = tuple(dict.fromkeys(table_name(t, allowed=known) for t in tables))
    if published:
        rows = [r for r in paper_results() if not tables or r["table"] in tables]
        avail = [*PUBLISHED_COLUMNS, "source", "notes"]
        cols = select_columns(columns_text, avail, PUBLISHED_COLUMNS, data=is_data_format(fmt, output))
        notes = [*footnotes(cols, DEFINITIONS), _SOURCES]
        emit(rows, fmt, output, cols, notes=notes)
        return
    from octprof.paper import compare
    from octprof.progress import progress

    rows = compare(tables or None, progress=lambda r: progress(r, total=len(r), desc="paper", unit="count"))
    if not rows:
        raise click.ClickException(f"--table: no published counts (GFLOPs or parameters) in {', '.join(tables)}")
    cols, notes = _report(rows, columns_text, explain, is_data_format(fmt, output))
    emit(rows, fmt, output, cols, notes=notes)


_SOURCES = "sources: the 'source' field of octprof/data/paper_results.csv (Chen et al. 2019 and the official README)"


def _report(rows: list[dict[str, Any]], columns: str | None, explain: bool, data: bool) -> tuple[list[str], list[str]]:
    """Columns and footnotes; each distinct explanation is numbered once and its number put in the status."""
    numbers: dict[str, int] = {}
    for r in rows:
        if r["why"]:
            n = numbers.setdefault(r["why"], len(numbers) + 1)
            if r["status"] == "explained":
                r["status"] = f"explained [{n}]"
    avail = list(rows[0])
    default = [*COLUMNS, "why"] if explain else COLUMNS
    cols = select_columns(columns, list(dict.fromkeys(avail)), default, PRESETS, data=data)
    if explain and "why" not in cols:
        cols.append("why")
    ok = sum(r["status"].startswith("ok") for r in rows)
    explained = sum(r["status"].startswith("explained") for r in rows)
    differ = len(rows) - ok - explained
    summary = f"{ok} of {len(rows)} published counts agree within the paper's rounding"
    rest = [f"{explained} explained"] if explained else []
    rest += [f"{differ} differ without a known reason"] if differ else []
    notes = [summary + ("; " + ", ".join(rest) if rest else "")]
    notes += footnotes(cols, DEFINITIONS)
    if "why" not in cols:
        notes += [f"[{n}] {why}" for why, n in numbers.items()]
    notes.append(_SOURCES)
    return cols, notes
