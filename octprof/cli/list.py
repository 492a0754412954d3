"""``octprof list``: the zoo's architectures and their conversion presets."""

from __future__ import annotations

import click

from octprof.cli.columns import columns_option, footnotes, is_data_format, select_columns
from octprof.cli.options import emit, format_option, handle_errors, output_option
from octprof.core.inputs import size_text

COLUMNS = ("arch", "input_size", "description")
PRESETS: dict[str, tuple[str, ...]] = {"preset": ("arch", "vanilla", "stride_rule", "stride_pool")}
DEFINITIONS = (
    (("vanilla", "stride_pool"), "vanilla / stride_pool: fnmatch patterns over module names (see README)"),
    ("source", "source = the file of the official code (facebookresearch/OctConv) the preset follows"),
)


@click.command("list")
@click.option("--filter", "pattern", default="*", show_default=True, help="fnmatch filter on names.")
@columns_option(PRESETS, "--columns preset or --columns all")
@format_option
@output_option
@handle_errors
def list_(pattern: str, columns_text: str | None, fmt: str | None, output: str | None) -> None:
    """The paper's architectures (use them with --arch); torchvision models are torchvision:NAME, timm models
    timm:NAME.  Reads the zoo's presets only: builds no network."""
    from octprof.zoo import get_entry, list_models

    rows = []
    for name in list_models(pattern):
        e = get_entry(name)
        rows.append(
            {
                "arch": name,
                "input_size": size_text(e.input_size),
                "vanilla": " ".join(e.vanilla),
                "stride_rule": e.stride_rule,
                "stride_pool": " ".join(e.stride_pool),
                "description": e.description,
                "source": e.source,
            }
        )
    available = ["arch", "input_size", "vanilla", "stride_rule", "stride_pool", "description", "source"]
    cols = select_columns(columns_text, available, COLUMNS, PRESETS, data=is_data_format(fmt, output))
    emit(rows, fmt, output, cols, notes=footnotes(cols, DEFINITIONS))


list = list_
