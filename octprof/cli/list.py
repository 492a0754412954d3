"""``octprof list``: the zoo's architectures and their conversion presets."""

from __future__ import annotations

import click

from octprof.cli.options import emit, format_option, handle_errors, output_option


@click.command("list")
@click.option("--filter", "pattern", default="*", show_default=True, help="fnmatch filter on names.")
@format_option
@output_option
@handle_errors
def list_(pattern: str, fmt: str | None, output: str | None) -> None:
    """The paper's architectures (use them with --arch); torchvision models are torchvision:NAME."""
    from octprof.zoo import get_entry, list_models

    rows = []
    for name in list_models(pattern):
        e = get_entry(name)
        rows.append(
            {
                "arch": name,
                "input_size": e.input_size,
                "vanilla": " ".join(e.vanilla),
                "stride_rule": e.stride_rule,
                "description": e.description,
            }
        )
    emit(rows, fmt, output)


list = list_
