"""octprof's command line: thin click commands over the library."""

from __future__ import annotations

import click

from octprof import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="octprof")
def main() -> None:
    """Exact FLOPs, memory and latency of Octave Convolution (OctConv) networks."""


def _register() -> None:
    from octprof.cli import layer, table1

    main.add_command(table1.table1)
    main.add_command(layer.layer)


_register()

__all__ = ["main"]
