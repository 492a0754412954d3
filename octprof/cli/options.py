"""Options shared by octprof's commands, and the one place where library errors become CLI errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from octprof.core.errors import OctprofError
from octprof.core.fmt import FORMATS, format_for_path, render, write_atomic
from octprof.core.grid import parse_grid


class AlphaGrid(click.ParamType):
    """An α grid: a list ``0,0.125,0.5`` or an inclusive range ``0:1:0.125``."""

    name = "GRID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[float]:
        if isinstance(value, list):
            return value
        try:
            return parse_grid(value, name=f"--{param.name}" if param and param.name else "alpha")
        except OctprofError as e:
            self.fail(str(e).split(": ", 1)[-1], param, ctx)


ALPHA_GRID = AlphaGrid()


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format (default: from --output's extension, else table). json: a list of records.",
    )(f)


def output_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=False),
        default=None,
        help="Write to FILE (atomically) instead of the terminal.",
    )(f)


def emit(
    records: Sequence[dict[str, Any]],
    fmt: str | None,
    output: str | None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Render ``records`` and print them or write them to ``output`` atomically."""
    if fmt is None:
        fmt = format_for_path(output) if output else "table"
    text = render(records, fmt, columns=columns, title=title, notes=notes)
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {len(records)} rows to {output}", err=True)
    else:
        click.echo(text, nl=False)


def handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a library error into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except (OctprofError, ValueError, OSError) as e:
            if os.environ.get("OCTPROF_DEBUG"):
                raise
            raise click.ClickException(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as e:  # an octprof bug: still one line, the traceback on request
            if os.environ.get("OCTPROF_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                "(set OCTPROF_DEBUG=1 for the traceback; please report it)"
            ) from None

    return wrapper
