"""The CLI helpers: options and helpers shared by octprof's commands (commands import them from here, never from
each other), and the one place where library errors become CLI errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from octprof.core.errors import OctprofError
from octprof.core.files import STDOUT, check_output, write_atomic
from octprof.core.fmt import FORMATS, format_for_path, render
from octprof.core.inputs import parse_grid


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
        help="Write to FILE (atomically; through a symlink to its target; - for standard output) instead of the "
        "terminal.  Its extension sets the format: .csv, .json, .md, .tex, .txt or none (a table).",
    )(f)


def memory_format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--channels-last/--nchw",
        "channels_last",
        default=None,
        help="Memory format of models and inputs (default: channels-last on CPU, where octave networks' pooling "
        "and upsampling are much faster; NCHW on CUDA).",
    )(f)


def busy_notes(threads: int) -> list[str]:
    """The busy-machine warning for a timed run (any thread count): printed on stderr now, and returned as a note
    for the results, which outlive the terminal."""
    from octprof.measure import busy_warning

    warning = busy_warning(threads)
    if not warning:
        return []
    click.echo(f"warning: {warning}", err=True)
    return [f"warning: {warning}"]


def check_emit(
    output: str | None,
    fmt: str | None,
    default: str = "table",
    inputs: dict[str, Any] | None = None,
    param: str = "--output",
) -> None:
    """Fail before any work when ``output`` cannot be written, its extension names no format (or another one
    than ``--format``), or it is the same file as one of ``inputs`` (``{"--baseline": path}``)."""
    if output is None:
        return
    check_output(output, param, inputs)
    format_for_path(output, default, fmt, param)


def emit(
    records: Sequence[dict[str, Any]],
    fmt: str | None,
    output: str | None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Render ``records`` and print them, or write them to ``output`` atomically (``-``: standard output)."""
    fmt = format_for_path(output, "table", fmt) if output else fmt or "table"
    text = render(records, fmt, columns=columns, title=title, notes=notes)
    if output and output != STDOUT:
        write_atomic(output, text)
        click.echo(f"wrote {len(records)} rows to {output}", err=True)
    else:
        click.echo(text, nl=False)


def emit_results(df: Any, fmt: str | None, output: str | None, title: str, notes: Sequence[str] = ()) -> None:
    """Like :func:`emit`, for measurements (a DataFrame with ``attrs["machine"]``): the machine description goes
    with the rows (CSV comment lines, a JSON object ``{machine, notes, rows}`` in a file, notes in text)."""
    from octprof.measure import results_text, write_results

    if output and output != STDOUT:
        write_results(df, output, fmt, title=title, notes=notes)
        click.echo(f"wrote {len(df)} rows to {output}", err=True)
        return
    click.echo(results_text(df, fmt or "table", title=title, notes=notes, json_records=True), nl=False)


def handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a library error into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if kwargs.get("output") is not None and "fmt" in kwargs:  # a bad --output fails before any work
                check_emit(kwargs["output"], kwargs["fmt"])
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


def unpriced_notes(counts: dict[str, int], notes: list[str], strict: bool) -> None:
    """Ops nothing priced: one line on stderr and a note in every output format; an error under ``--strict``."""
    if not counts:
        return
    from octprof.analysis import unpriced_message

    msg = unpriced_message(counts)
    if strict:
        raise click.ClickException(f"--strict: {msg}")
    click.echo(f"warning: {msg}", err=True)
    notes.append(msg)


def traced_whole_notes(lines: dict[str, str], notes: list[str]) -> None:
    """Submodules torch.fx could not trace into, traced whole: one line on stderr per network, and a note."""
    for arch, line in lines.items():
        msg = f"{arch}: {line}" if arch else line
        click.echo(f"warning: {msg}", err=True)
        notes.append(msg)


def fail_if_disagree(df: Any, what: str) -> None:
    """After the output is written: exit 1 naming every (arch, α) row whose ``agree`` is false."""
    if not df["agree"].all():
        bad_rows = df[~df["agree"]]
        raise click.ClickException(
            f"cross-check: the closed form and {what} disagree for "
            + ", ".join(f"{r.arch} alpha={r.alpha:g}" for r in bad_rows.itertuples())
        )
