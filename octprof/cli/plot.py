"""``octprof plot``: figures for papers and slides — accuracy vs. cost, relative cost vs. alpha, cost per path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from octprof.cli.options import ALPHA_GRID, check_emit, emit, handle_errors
from octprof.core import files

CONVENTION_CHOICES = ("paper_flops", "macs", "fvcore_flops")


def _common(default_convention: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Options every plot takes: output file, title, counting convention, size in inches, drawn data."""

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(
            [
                click.option(
                    "-o",
                    "--output",
                    required=True,
                    type=click.Path(dir_okay=False),
                    help="Figure file: .png, .svg or .pdf (written atomically).",
                ),
                click.option("--title", default=None, help="Figure title (default: says what is drawn)."),
                click.option(
                    "--convention",
                    type=click.Choice(CONVENTION_CHOICES),
                    default=default_convention,
                    show_default=True,
                    help="Counting convention of the cost axis.",
                ),
                click.option(
                    "--width", type=float, default=None, help="Width in inches (default 3.5: a paper column)."
                ),
                click.option("--height", type=float, default=None, help="Height in inches (default: per plot)."),
                click.option("--dpi", type=int, default=300, show_default=True, help="Resolution of .png output."),
                click.option(
                    "--data",
                    "data_path",
                    type=click.Path(dir_okay=False),
                    default=None,
                    help="Also write the drawn points / bars to this .csv or .json file.",
                ),
            ]
        ):
            f = opt(f)
        return f

    return deco


def _start(output: str, data_path: str | None, **inputs: str | None) -> None:
    """Before any work: refuse a figure format matplotlib cannot write, a --data file that cannot be written,
    and an output that is the same file as another output or an input (it would be overwritten)."""
    from octprof.plots import check_output

    check_output(output)
    files.check_output(output, "--output", {f"--{k}": v for k, v in inputs.items()})
    check_emit(data_path, None, inputs={"--output": output, **{f"--{k}": v for k, v in inputs.items()}}, param="--data")


def _finish(fig: Any, output: str, dpi: int, data_path: str | None) -> None:
    from octprof.plots import save

    save(fig, output, dpi=dpi)
    click.echo(f"wrote {output}", err=True)
    if data_path:
        data = fig.octprof_data
        emit(data.to_dict("records"), None, data_path, list(data.columns))


@click.group("plot")
def plot() -> None:
    """Figures sized for a paper column (3.5 in wide by default) as PNG, SVG or PDF."""


@plot.command("tradeoff")
@_common("paper_flops")
@click.option(
    "--results",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV with columns arch, alpha, top1 (optional: top5, label, input_size); octprof prices each model. "
    "Default: the paper's Figure 4 from its shipped accuracies.",
)
@click.option("--accuracy", type=click.Choice(["top1", "top5"]), default="top1", show_default=True)
@click.option("--input-size", default=None, help="Price every row at S or HxW instead of its own input size.")
@handle_errors
def tradeoff_cmd(
    output: str,
    title: str | None,
    convention: str,
    width: float | None,
    height: float | None,
    dpi: int,
    data_path: str | None,
    results: str | None,
    accuracy: str,
    input_size: str | None,
) -> None:
    """Accuracy against cost (log axis): one line per architecture, alpha by each point, alpha = 0 with a black edge."""
    from octprof.plots import tradeoff

    _start(output, data_path, results=results)
    fig = tradeoff(
        results,
        convention=convention,
        accuracy=accuracy,
        input_size=input_size,
        title=title,
        width=width,
        height=height,
    )
    _finish(fig, output, dpi, data_path)


@plot.command("gains")
@_common("macs")
@click.option(
    "--arch",
    "archs",
    multiple=True,
    help="Architecture (zoo name, torchvision:NAME, module:factory); repeatable.  None: Table 1's curves only.",
)
@click.option(
    "--alpha",
    type=ALPHA_GRID,
    default="0,0.125,0.25,0.5,0.75",
    show_default=True,
    help="Alpha grid of the networks' points.",
)
@click.option(
    "--bench",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV/JSON from octprof bench (arch, alpha, speedup): adds measured relative time 1/speedup.",
)
@click.option("--input-size", default=None, help="S or HxW (default: each model's).")
@handle_errors
def gains_cmd(
    output: str,
    title: str | None,
    convention: str,
    width: float | None,
    height: float | None,
    dpi: int,
    data_path: str | None,
    archs: tuple[str, ...],
    alpha: list[float],
    bench: str | None,
    input_size: str | None,
) -> None:
    """Relative FLOPs and feature-map memory against alpha: Table 1's curves and each network's points."""
    from octprof.plots import gains

    _start(output, data_path, bench=bench)
    fig = gains(
        list(archs),
        alpha,
        bench=bench,
        convention=convention,
        input_size=input_size,
        title=title,
        width=width,
        height=height,
    )
    _finish(fig, output, dpi, data_path)


@plot.command("breakdown")
@_common("paper_flops")
@click.option("--arch", required=True, help="Architecture (zoo name, torchvision:NAME, module:factory).")
@click.option("--alpha", type=float, default=0.5, show_default=True, help="The network alpha.")
@click.option(
    "--by",
    type=click.Choice(["stage", "layer"]),
    default="stage",
    show_default=True,
    help="One bar per stage, or per convolution (layer; every other op folded into one 'other' bar).",
)
@click.option(
    "--depth",
    type=int,
    default=None,
    help="With --by stage: dotted name components per stage (default: the first level with two or more stages, "
    "none holding 80% of the layers).",
)
@click.option("--input-size", default=None, help="S or HxW (default: the model's).")
@handle_errors
def breakdown_cmd(
    output: str,
    title: str | None,
    convention: str,
    width: float | None,
    height: float | None,
    dpi: int,
    data_path: str | None,
    arch: str,
    alpha: float,
    by: str,
    depth: int | None,
    input_size: str | None,
) -> None:
    """Stacked bars of cost per path (h2h, h2l, l2h, l2l, glue, vanilla conv, other) per stage or convolution."""
    from octprof.plots import breakdown

    _start(output, data_path)
    fig = breakdown(
        arch,
        alpha,
        by=by,
        depth=depth,
        convention=convention,
        input_size=input_size,
        title=title,
        width=width,
        height=height,
    )
    _finish(fig, output, dpi, data_path)
