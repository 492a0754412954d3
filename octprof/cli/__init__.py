"""octprof's command line: thin click commands over the library."""

from __future__ import annotations

import click

from octprof import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="octprof")
def main() -> None:
    """Exact FLOPs, memory and latency of Octave Convolution (OctConv) networks."""


# One line per command module; each module defines a click command named like the module.  Command modules
# import torch, pandas and matplotlib only inside their functions, so that `octprof table1` stays light.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("octprof.cli.table1", "table1"),
    ("octprof.cli.layer", "layer"),
    ("octprof.cli.gate", "gate"),
    ("octprof.cli.plot", "plot"),
    ("octprof.cli.table", "table"),
    ("octprof.cli.list", "list"),
    ("octprof.cli.paper", "paper"),
    ("octprof.cli.bench", "bench"),
    ("octprof.cli.calibrate", "calibrate"),
)


def _register() -> None:
    import importlib

    for module, name in COMMANDS:
        main.add_command(getattr(importlib.import_module(module), name))


_register()

__all__ = ["main"]
